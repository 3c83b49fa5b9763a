#!/bin/sh
# Runs once, when the db container initialises its volume: the app's roles (ops/roles.sql),
# with the passwords the compose file requires. psql quotes them in the SQL; the compose file
# also puts them into URLs as they are, so they must be URL-safe there.
set -eu
for var in APP_MIGRATOR_PASSWORD APP_RUNTIME_PASSWORD; do
    eval "value=\${$var:?$var is required}"
    case "$value" in
        *[!A-Za-z0-9._~-]*)
            echo "$var may hold only letters, digits and . _ ~ - (docker-compose.yml puts it into URLs); choose another" >&2
            exit 1 ;;
    esac
done
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v database="$POSTGRES_DB" -v migrator=app_migrator -v runtime=app_runtime \
    -v migrator_password="$APP_MIGRATOR_PASSWORD" -v runtime_password="$APP_RUNTIME_PASSWORD" \
    -f /ops/roles.sql
