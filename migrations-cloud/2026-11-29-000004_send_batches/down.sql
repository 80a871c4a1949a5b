DROP INDEX send_batches_created_at;
DROP TABLE send_batches;
