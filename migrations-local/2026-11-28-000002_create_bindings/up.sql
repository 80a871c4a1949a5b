-- A local staff member of a tenant bound to one DingTalk user; a DingTalk user is bound to at
-- most one staff per tenant.
CREATE TABLE bindings (
    tenant_id TEXT NOT NULL,
    staff_id TEXT NOT NULL,
    corp_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    bound_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, staff_id),
    CONSTRAINT bindings_tenant_dingtalk_user_key UNIQUE (tenant_id, corp_id, user_id),
    CONSTRAINT bindings_dingtalk_user_fkey FOREIGN KEY (corp_id, user_id)
        REFERENCES dingtalk_users (corp_id, user_id)
);
