DROP INDEX jobs_running_locked_until_idx;

ALTER TABLE jobs
    DROP COLUMN locked_until,
    DROP COLUMN locked_by;
