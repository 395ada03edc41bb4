#!/bin/sh
# Runs once, when the postgres container creates its cluster: a read-only role for Grafana's
# PostgreSQL datasource (dashboards only SELECT).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v reader_password="${GRAFANA_DB_PASSWORD:-grafana}" <<'EOSQL'
CREATE ROLE grafana_reader LOGIN PASSWORD :'reader_password';
GRANT pg_read_all_data TO grafana_reader;
EOSQL
