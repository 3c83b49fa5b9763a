-- no-transaction
CREATE INDEX CONCURRENTLY accounts_id_email_idx ON accounts (id, email);
