-- A worker leases the job it runs; when a worker dies, its job is picked up again after the
-- lease expires instead of staying `running` forever.
ALTER TABLE jobs
    ADD COLUMN locked_by    TEXT,
    ADD COLUMN locked_until TIMESTAMPTZ;
