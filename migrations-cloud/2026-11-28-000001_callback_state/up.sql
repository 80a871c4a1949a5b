-- State received through DingTalk event callbacks: suite tickets, corp authorizations and a log
-- of received events (for dedup; never the payload itself, which can carry secrets).
CREATE TABLE suite_tickets (
    suite_key  TEXT PRIMARY KEY NOT NULL,
    ticket     TEXT NOT NULL,
    corp_id    TEXT,
    updated_at BIGINT NOT NULL -- unix milliseconds
);

CREATE TABLE corp_authorizations (
    corp_id           TEXT PRIMARY KEY NOT NULL,
    corp_name         TEXT NOT NULL,
    agent_id          BIGINT,
    status            TEXT NOT NULL CHECK (status IN ('active', 'relieved')),
    permanent_code    TEXT,   -- secret, never leaves this database
    ch_permanent_code TEXT,   -- secret, never leaves this database
    updated_at        BIGINT NOT NULL -- unix milliseconds
);

CREATE TABLE events (
    dedup_key   TEXT PRIMARY KEY NOT NULL, -- hex SHA-256 of the decrypted message
    event_type  TEXT NOT NULL,
    received_at BIGINT NOT NULL -- unix milliseconds
);
CREATE INDEX events_received_at ON events (received_at);
