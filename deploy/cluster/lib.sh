# shellcheck shell=bash
# Settings and helpers shared by build.sh, up.sh, down.sh and proc.sh (sourced, not
# run). Every setting is an environment variable with a default:
#
#   AFTERSALES_CLUSTER_DIR            /tmp/aftersales-cluster  state, logs, pid files, cluster.env
#   AFTERSALES_CLUSTER_TEMPORAL_PORT  17233  Temporal frontend gRPC; the other services
#                                            use the ports just above it (see below)
#   AFTERSALES_CLUSTER_PG_PORT        17432  the PostgreSQL instance holding Temporal's store
#   AFTERSALES_CLUSTER_HTTP_PORT      18080  api-1; api-2 is +1, providers +10, worker
#                                            metrics +20 and +21
#   AFTERSALES_CLUSTER_MYSQL_PORT     3306   the local MariaDB (the read model)
#   AFTERSALES_CLUSTER_NAMESPACE      aftersales
#   AFTERSALES_CLUSTER_SIM_DELAY      300ms  how long the simulated providers take per event
#   XDG_CACHE_HOME                    ~/.cache  the Temporal binaries are cached under
#                                            $XDG_CACHE_HOME/aftersales-cluster/<version>-<hash>/

CLUSTER_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$CLUSTER_SRC/../.." && pwd)

RUN=${AFTERSALES_CLUSTER_DIR:-/tmp/aftersales-cluster}
LOGS=$RUN/logs
PIDS=$RUN/pids
CMDS=$RUN/cmd

T_PORT=${AFTERSALES_CLUSTER_TEMPORAL_PORT:-17233}
T_FRONTEND=$T_PORT
T_HISTORY=$((T_PORT + 1))
T_MATCHING=$((T_PORT + 2))
T_WORKER=$((T_PORT + 6))
T_HTTP=$((T_PORT + 10))
T_MEMBER=$((T_PORT + 700)) # membership (ringpop): +0 frontend, +1 history, +2 matching, +6 worker
PG_PORT=${AFTERSALES_CLUSTER_PG_PORT:-17432}
HTTP_PORT=${AFTERSALES_CLUSTER_HTTP_PORT:-18080}
API1_PORT=$HTTP_PORT
API2_PORT=$((HTTP_PORT + 1))
PROVIDERS_PORT=$((HTTP_PORT + 10))
WORKER1_METRICS=$((HTTP_PORT + 20))
WORKER2_METRICS=$((HTTP_PORT + 21))
MYSQL_PORT=${AFTERSALES_CLUSTER_MYSQL_PORT:-3306}
NAMESPACE=${AFTERSALES_CLUSTER_NAMESPACE:-aftersales}
SIM_DELAY=${AFTERSALES_CLUSTER_SIM_DELAY:-300ms}

MYSQL_DB=aftersales_cluster
MYSQL_USER=aftersales_cluster
MYSQL_PASSWORD=aftersales-cluster
DATABASE_URL="mysql://$MYSQL_USER:$MYSQL_PASSWORD@tcp(127.0.0.1:$MYSQL_PORT)/$MYSQL_DB?parseTime=true"

# The Temporal server version: the one the product's go.mod embeds, which the
# build module pins too (build.sh refuses a mismatch).
temporal_version() { awk '$1 == "go.temporal.io/server" { print $2; exit }' "$REPO_ROOT/go.mod"; }

# The cache key of the Temporal binaries: the version, the build module's go.sum and
# the Go toolchain.
temporal_bin_dir() {
	local sum
	sum=$( (cat "$CLUSTER_SRC/temporal/go.mod" "$CLUSTER_SRC/temporal/go.sum"; go env GOVERSION) | sha256sum | cut -c1-12)
	echo "${XDG_CACHE_HOME:-$HOME/.cache}/aftersales-cluster/$(temporal_version)-$sum"
}

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

say() { printf '==> %s\n' "$*"; }
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# pg_bin: the newest installed PostgreSQL's bin directory (Debian keeps them apart).
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

# as_pg CMD...: PostgreSQL refuses to run as root; as root, run CMD as postgres.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

mariadb_up() { $SUDO mysqladmin --protocol=socket ping --silent >/dev/null 2>&1; }
mysql_root() { $SUDO mysql --protocol=socket "$@"; }

# pid_of NAME: the pid in NAME's pid file, if that process is alive and is ours
# (its command line names the run directory, so a recycled pid is never taken).
pid_of() {
	local f=$PIDS/$1.pid pid
	[ -f "$f" ] || return 1
	pid=$(cat "$f")
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$RUN/" || return 1
	echo "$pid"
}

# wait_until SECONDS PID CMD...: until CMD succeeds, polling five times a second;
# fails after SECONDS, or early when PID (if not empty) dies.
wait_until() {
	local secs=$1 pid=$2 i
	shift 2
	for ((i = 0; i < secs * 5; i++)); do
		if "$@"; then
			return 0
		fi
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		sleep 0.2
	done
	return 1
}

# http_ok URL: URL answers 2xx.
http_ok() { curl -fsS --max-time 2 -o /dev/null "$1" 2>/dev/null; }

# port_open PORT: something listens on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_http URL SECONDS [PID]: until URL answers 2xx; fails early when PID dies.
wait_http() { wait_until "$2" "${3:-}" http_ok "$1"; }

# wait_port PORT SECONDS [PID]: until something listens on 127.0.0.1:PORT.
wait_port() { wait_until "$2" "${3:-}" port_open "$1"; }

# port_free PORT: nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
