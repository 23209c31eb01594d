#!/usr/bin/env bash
# Stops what up.sh started, by pid file only: the aftersales processes, the four
# Temporal services, the private PostgreSQL instance, and MariaDB only if up.sh was
# the one that started it. The data, logs and cluster.env stay in
# $AFTERSALES_CLUSTER_DIR until the next up.sh. Safe to run twice.
set -euo pipefail
# shellcheck source=deploy/cluster/lib.sh
. "$(dirname "$0")/lib.sh"

PROC="$CLUSTER_SRC/proc.sh"
[ -d "$RUN" ] || {
	echo "nothing to stop: no $RUN"
	exit 0
}
# Clients first, then the server from the front.
for n in worker-1 worker-2 api-1 api-2 providers temporal-frontend temporal-worker temporal-matching temporal-history; do
	if [ -f "$PIDS/$n.pid" ]; then
		"$PROC" stop "$n"
	fi
done

if pid_of postgres >/dev/null; then
	as_pg "$(pg_bin)/pg_ctl" -D "$RUN/pgdata" -m fast -w -t 60 stop >/dev/null
	echo "postgres stopped"
fi
rm -f "$PIDS/postgres.pid"

if [ -f "$RUN/started-mariadb" ]; then
	$SUDO mysqladmin --protocol=socket shutdown
	rm -f "$RUN/started-mariadb"
	echo "MariaDB stopped (up.sh had started it)"
fi
echo "cluster down; logs in $LOGS"
