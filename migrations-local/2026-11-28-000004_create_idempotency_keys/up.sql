-- Idempotency keys of accepted send requests, per tenant.
CREATE TABLE idempotency_keys (
    tenant_id TEXT NOT NULL,
    key TEXT NOT NULL,
    message_id UUID NOT NULL,
    request_hash TEXT NOT NULL,
    missing_staff_ids JSONB NOT NULL DEFAULT '[]',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);
