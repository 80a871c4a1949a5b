DROP INDEX idempotency_records_created_at;
DROP TABLE idempotency_records;
