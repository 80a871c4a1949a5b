-- Final answers of send requests by (edge, Idempotency-Key), kept 24 hours.
CREATE TABLE idempotency_records (
    edge_id         TEXT NOT NULL,
    idem_key        TEXT NOT NULL,
    request_hash    TEXT NOT NULL, -- hex SHA-256 of the canonical request body
    response_status INTEGER NOT NULL,
    response_body   TEXT NOT NULL, -- the JSON answer
    created_at      BIGINT NOT NULL, -- unix milliseconds
    PRIMARY KEY (edge_id, idem_key)
);
CREATE INDEX idempotency_records_created_at ON idempotency_records (created_at);
