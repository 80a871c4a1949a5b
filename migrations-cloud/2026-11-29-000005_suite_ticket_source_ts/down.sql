ALTER TABLE suite_tickets DROP COLUMN source_ts;
