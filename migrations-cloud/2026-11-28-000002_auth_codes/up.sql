-- One-time user records handed to exactly one edge, keyed by the SHA-256 of the auth code.
CREATE TABLE auth_codes (
    code_hash  TEXT PRIMARY KEY NOT NULL, -- hex SHA-256 of the one-time code
    edge_id    TEXT NOT NULL,
    user_json  TEXT NOT NULL,             -- the EdgeUser as JSON
    created_at BIGINT NOT NULL,           -- unix milliseconds
    expires_at BIGINT NOT NULL,           -- unix milliseconds
    taken_at   BIGINT                     -- unix milliseconds; NULL while unused
);
CREATE INDEX auth_codes_expires_at ON auth_codes (expires_at);
