-- Least-privilege roles for the app. Run once per database as a superuser, with psql, after
-- replacing the {placeholders} (names: lowercase letters, digits, underscores; passwords: no
-- quotes or dollar signs). `cargo xtask db-up` does this for development.
--
--   {migrator}: owns the schema; only `migrate` connects as it (MIGRATION_DATABASE_URL).
--   {runtime}:  reads and writes rows, nothing else; the api and workers (DATABASE_URL).

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{migrator}') THEN
        CREATE ROLE "{migrator}" LOGIN PASSWORD '{migrator_password}';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{runtime}') THEN
        CREATE ROLE "{runtime}" LOGIN PASSWORD '{runtime_password}';
    END IF;
END
$$;
ALTER DATABASE "{database}" OWNER TO "{migrator}";
REVOKE ALL ON DATABASE "{database}" FROM PUBLIC;
GRANT CONNECT ON DATABASE "{database}" TO "{runtime}";

\connect "{database}"

-- The schema belongs to the migrator, and nobody else creates anything in it.
ALTER SCHEMA public OWNER TO "{migrator}";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO "{runtime}";

-- Rows of the tables and sequences that exist now, and of those the migrator creates later.
-- Default privileges cover only objects the migrator itself creates: every migration must
-- run as the migrator, or the runtime role gets "permission denied" on its tables.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{runtime}";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{runtime}";
ALTER DEFAULT PRIVILEGES FOR ROLE "{migrator}" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{runtime}";
ALTER DEFAULT PRIVILEGES FOR ROLE "{migrator}" IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO "{runtime}";

-- `migrate` writes its own tables alone: as it creates the migration history and the audit
-- trail, it revokes the write privileges the defaults above hand out, so the runtime role can
-- read them (the schema gate reads the history) but never write them.
-- On a database migrated before this script ran, the grant above reached them too: take that back.
DO $$
DECLARE owned text;
BEGIN
    FOREACH owned IN ARRAY ARRAY['_sqlx_migrations', '_migrate_runs', '_migrate_steps'] LOOP
        IF to_regclass(owned) IS NOT NULL THEN
            EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %I FROM %I', owned, '{runtime}');
        END IF;
    END LOOP;
END
$$;
