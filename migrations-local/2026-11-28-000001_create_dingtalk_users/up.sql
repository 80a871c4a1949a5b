-- DingTalk users the edge has learned from the cloud, one row per (corp, org user id).
CREATE TABLE dingtalk_users (
    id BIGSERIAL PRIMARY KEY,
    corp_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    union_id TEXT NOT NULL,
    open_id TEXT NOT NULL,
    nick TEXT NOT NULL,
    email TEXT,
    avatar_url TEXT,
    mobile TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT dingtalk_users_corp_user_key UNIQUE (corp_id, user_id)
);
