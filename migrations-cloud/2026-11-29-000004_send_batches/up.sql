-- The DingTalk task id of every batch of a keyed send, recorded as soon as DingTalk accepted the
-- batch, so a retry with the same Idempotency-Key and body sends only the batches not yet
-- accepted. Kept 24 hours, like idempotency_records.
CREATE TABLE send_batches (
    edge_id      TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    request_hash TEXT NOT NULL,   -- hex SHA-256 of the canonical request body
    batch_index  INTEGER NOT NULL, -- 0-based position of the batch in the request
    task_id      BIGINT NOT NULL, -- DingTalk's task id for the batch
    created_at   BIGINT NOT NULL, -- unix milliseconds
    PRIMARY KEY (edge_id, idem_key, request_hash, batch_index)
);
CREATE INDEX send_batches_created_at ON send_batches (created_at);
