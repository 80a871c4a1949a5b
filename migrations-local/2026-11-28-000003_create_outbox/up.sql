-- The durable outbox: one row per delivery to make (a message to one corp, or an IAM webhook).
-- The row id is the Idempotency-Key sent to the cloud.
CREATE TABLE outbox (
    id UUID PRIMARY KEY,
    message_id UUID NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('send', 'iam')),
    corp_id TEXT NOT NULL,
    payload JSONB NOT NULL,
    request_id TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_error TEXT,
    task_ids BIGINT[] NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX outbox_message_id_idx ON outbox (message_id);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE status = 'pending';
