ALTER TABLE jobs
    DROP COLUMN locked_until,
    DROP COLUMN locked_by;
