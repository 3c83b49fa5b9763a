-- Least-privilege roles for the app. Run once per database as a superuser, with psql, giving
-- the names and passwords as variables; psql quotes each value, so any password works:
--
--   psql -v ON_ERROR_STOP=1 -v database=app -v migrator=app_migrator -v runtime=app_runtime \
--        -v migrator_password="$APP_MIGRATOR_PASSWORD" -v runtime_password="$APP_RUNTIME_PASSWORD" \
--        -f ops/roles.sql
--
--   migrator: owns the schema; only `migrate` connects as it (MIGRATION_DATABASE_URL).
--   runtime:  reads and writes rows, nothing else; the api and workers (DATABASE_URL).
-- `cargo xtask db-up` does this for development.

-- psql substitutes no variable inside a dollar-quoted block: the values reach the blocks
-- below through settings of this session.
SET app_roles.migrator = :'migrator';
SET app_roles.migrator_password = :'migrator_password';
SET app_roles.runtime = :'runtime';
SET app_roles.runtime_password = :'runtime_password';
DO $$
DECLARE role text;
BEGIN
    FOREACH role IN ARRAY ARRAY['migrator', 'runtime'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = current_setting('app_roles.' || role)) THEN
            EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', current_setting('app_roles.' || role),
                           current_setting('app_roles.' || role || '_password'));
        END IF;
    END LOOP;
END
$$;
ALTER DATABASE :"database" OWNER TO :"migrator";
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"database" TO :"runtime";

\connect :"database"
SET app_roles.runtime = :'runtime';

-- The schema belongs to the migrator, and nobody else creates anything in it.
ALTER SCHEMA public OWNER TO :"migrator";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"runtime";

-- Rows of the tables and sequences that exist now, and of those the migrator creates later, in
-- `public` and in every schema it creates (a history table in a schema of its own included).
-- Default privileges cover only objects the migrator itself creates: every migration must
-- run as the migrator, or the runtime role gets "permission denied" on its tables.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"runtime";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"runtime";
ALTER DEFAULT PRIVILEGES FOR ROLE :"migrator" GRANT USAGE ON SCHEMAS TO :"runtime";
ALTER DEFAULT PRIVILEGES FOR ROLE :"migrator"
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"runtime";
ALTER DEFAULT PRIVILEGES FOR ROLE :"migrator" GRANT USAGE, SELECT ON SEQUENCES TO :"runtime";

-- `migrate` writes its own tables alone: as it creates the migration history and the audit
-- trail, it revokes the write privileges the defaults above hand out, so the runtime role can
-- read them (the schema gate reads the history) but never write them.
-- On a database migrated before this script ran, the grant above reached them too: take that back.
DO $$
DECLARE owned text;
BEGIN
    FOREACH owned IN ARRAY ARRAY['_sqlx_migrations', '_migrate_runs', '_migrate_steps'] LOOP
        IF to_regclass(owned) IS NOT NULL THEN
            EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %I FROM %I', owned,
                           current_setting('app_roles.runtime'));
        END IF;
    END LOOP;
END
$$;
