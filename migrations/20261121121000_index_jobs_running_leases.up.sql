-- no-transaction
-- Workers look for expired leases. CONCURRENTLY, so that writes to jobs go on while it builds;
-- if it fails, migrate names the INVALID index it left and how to drop it.
CREATE INDEX CONCURRENTLY jobs_running_locked_until_idx ON jobs (locked_until) WHERE status = 'running';
