-- The DingTalk timestamp (ms) of the push a stored suite ticket came from: SyncHTTP
-- `gmt_modified` or the legacy `TimeStamp`, 0 when the push had none. A ticket is only replaced
-- by one whose timestamp is not older, so a late re-push cannot roll back a newer ticket.
ALTER TABLE suite_tickets ADD COLUMN source_ts BIGINT NOT NULL DEFAULT 0;
