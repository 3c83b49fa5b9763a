-- A worker leases the job it runs; when a worker dies, its job is picked up again after the
-- lease expires instead of staying `running` forever.
ALTER TABLE jobs
    ADD COLUMN locked_by    TEXT,
    ADD COLUMN locked_until TIMESTAMPTZ;

CREATE INDEX jobs_running_locked_until_idx ON jobs (locked_until) WHERE status = 'running';
