ALTER TABLE accounts ADD COLUMN email text;
CREATE INDEX accounts_email_idx ON accounts (email);
