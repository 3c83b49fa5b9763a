#!/bin/sh
# Runs once, when the db container initialises its volume: the app's roles (ops/roles.sql),
# with the passwords the compose file requires. They go into URLs and into ops/roles.sql as
# they are, so they are refused unless made of URL-safe characters.
set -eu
for var in APP_MIGRATOR_PASSWORD APP_RUNTIME_PASSWORD; do
    eval "value=\${$var:?$var is required}"
    case "$value" in
        *[!A-Za-z0-9._~-]*)
            echo "$var may hold only letters, digits and . _ ~ - (it goes into URLs); choose another" >&2
            exit 1 ;;
    esac
done
sed -e "s/{migrator}/app_migrator/g" \
    -e "s/{migrator_password}/${APP_MIGRATOR_PASSWORD}/g" \
    -e "s/{runtime}/app_runtime/g" \
    -e "s/{runtime_password}/${APP_RUNTIME_PASSWORD}/g" \
    -e "s/{database}/${POSTGRES_DB}/g" \
    /ops/roles.sql \
  | psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres
