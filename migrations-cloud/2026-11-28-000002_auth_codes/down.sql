DROP INDEX auth_codes_expires_at;
DROP TABLE auth_codes;
