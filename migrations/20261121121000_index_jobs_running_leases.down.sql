-- no-transaction
DROP INDEX CONCURRENTLY jobs_running_locked_until_idx;
