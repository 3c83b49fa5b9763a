#!/bin/sh
# Runs once, when the db container initialises its volume: the app's roles (ops/roles.sql),
# with the development passwords unless APP_MIGRATOR_PASSWORD / APP_RUNTIME_PASSWORD are set.
set -eu
sed -e "s/{migrator}/app_migrator/g" \
    -e "s/{migrator_password}/${APP_MIGRATOR_PASSWORD:-app_migrator}/g" \
    -e "s/{runtime}/app_runtime/g" \
    -e "s/{runtime_password}/${APP_RUNTIME_PASSWORD:-app_runtime}/g" \
    -e "s/{database}/${POSTGRES_DB}/g" \
    /ops/roles.sql \
  | psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres
