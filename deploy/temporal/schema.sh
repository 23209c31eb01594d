#!/bin/sh
# One-shot (temporal-schema service, temporalio/admin-tools image): creates Temporal's
# two PostgreSQL databases if missing and applies every pending schema version, so it
# is safe to re-run, and upgrading the server image upgrades the schema on the next
# `docker compose up`. Connection settings come from SQL_PLUGIN, SQL_HOST, SQL_PORT,
# SQL_USER and SQL_PASSWORD, which temporal-sql-tool reads itself. deploy/cluster/up.sh
# runs the same three steps with the same schemas.
set -eu

# The database's healthcheck can answer before the server is ready for every
# client on a cold start: retry the first connection for a while.
tries=0
until temporal-sql-tool --db "${TEMPORAL_DBNAME:-temporal}" create-database; do
	tries=$((tries + 1))
	if [ "$tries" -ge 30 ]; then
		echo "temporal-schema: PostgreSQL at ${SQL_HOST}:${SQL_PORT} refused us 30 times" >&2
		exit 1
	fi
	sleep 2
done

for spec in "${TEMPORAL_DBNAME:-temporal}=postgresql/v12/temporal" \
	"${TEMPORAL_VISIBILITY_DBNAME:-temporal_visibility}=postgresql/v12/visibility"; do
	db=${spec%%=*}
	schema=${spec#*=}
	temporal-sql-tool --db "$db" create-database
	temporal-sql-tool --db "$db" setup-schema -v 0.0
	temporal-sql-tool --db "$db" update-schema --schema-name "$schema"
done
echo "temporal-schema: databases up to date"
