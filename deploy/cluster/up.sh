#!/usr/bin/env bash
# Brings up the production topology on this machine, without Docker, from a clean
# state (settings and ports: lib.sh):
#
#   PostgreSQL     a private instance (initdb in $AFTERSALES_CLUSTER_DIR/pgdata, its own
#                  port) holding Temporal's store, set up by temporal-sql-tool
#   Temporal       the server of the version the product embeds, as four processes
#                  (frontend, history, matching, worker) from one config file
#   MariaDB        the machine's own server, for the read model in a database of its own
#                  (aftersales_cluster, recreated empty); started if it was down
#   aftersales     migrate, temporal-setup, then providers, api-1, api-2, worker-1 and
#                  worker-2, the workers reaching the providers over HTTP
#
# Every long-running process gets a pid file in $AFTERSALES_CLUSTER_DIR/pids and a log
# in $AFTERSALES_CLUSTER_DIR/logs; cluster.env there names the endpoints, keys and
# files (deploy/cluster/cluster_test.go reads it). down.sh stops what this started;
# if anything here fails, what it had started is stopped again.
set -euo pipefail
# shellcheck source=deploy/cluster/lib.sh
. "$(dirname "$0")/lib.sh"
export DEBIAN_FRONTEND=noninteractive

begin=$SECONDS
PROC="$CLUSTER_SRC/proc.sh"
NAMES="temporal-history temporal-matching temporal-frontend temporal-worker providers api-1 api-2 worker-1 worker-2"

for n in $NAMES postgres; do
	if pid=$(pid_of "$n"); then
		die "$n of a cluster in $RUN still runs (pid $pid): run deploy/cluster/down.sh first"
	fi
done
for p in $T_FRONTEND $T_HISTORY $T_MATCHING $T_WORKER $T_HTTP $((T_MEMBER)) $((T_MEMBER + 1)) $((T_MEMBER + 2)) \
	$((T_MEMBER + 6)) $PG_PORT $API1_PORT $API2_PORT $PROVIDERS_PORT $WORKER1_METRICS $WORKER2_METRICS; do
	port_free "$p" || die "port $p is taken: choose other ports (AFTERSALES_CLUSTER_TEMPORAL_PORT, AFTERSALES_CLUSTER_PG_PORT, AFTERSALES_CLUSTER_HTTP_PORT)"
done

if ! command -v curl >/dev/null 2>&1; then
	say "installing curl (apt-get): readiness is checked over HTTP"
	$SUDO apt-get update
	$SUDO apt-get install -y --no-install-recommends curl
fi

completed=""
cleanup() {
	if [ -z "$completed" ]; then
		echo "up.sh failed: stopping what it started (logs stay in $LOGS)" >&2
		"$CLUSTER_SRC/down.sh" >&2 || true
	fi
}
trap cleanup EXIT

# A clean state: the previous run's data goes (its logs too; the binaries stay).
rm -rf "$RUN/pgdata" "$RUN/pgsock" "$LOGS" "$PIDS" "$CMDS" "$RUN/config" "$RUN/secrets" "$RUN/providers" \
	"$RUN/cluster.env" "$RUN/started-mariadb"
mkdir -p "$RUN" "$LOGS" "$PIDS" "$CMDS" "$RUN/config" "$RUN/secrets" "$RUN/providers"
chmod 755 "$RUN"
say "cluster directory $RUN (logs in $LOGS)"

"$CLUSTER_SRC/build.sh"
TBIN=$(temporal_bin_dir)
AFTERSALES=$RUN/bin/aftersales

# ---------------------------------------------------------------------------
# PostgreSQL: Temporal's store.
if [ -z "$(pg_bin)" ] || [ ! -x "$(pg_bin)/initdb" ]; then
	say "installing PostgreSQL (apt-get)"
	$SUDO apt-get update
	$SUDO apt-get install -y --no-install-recommends postgresql
fi
PGBIN=$(pg_bin)
mkdir -p "$RUN/pgdata" "$RUN/pgsock"
if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$RUN/pgdata" "$RUN/pgsock" "$LOGS"; fi
say "PostgreSQL $("$PGBIN/postgres" --version | awk '{ print $NF }') on 127.0.0.1:$PG_PORT"
as_pg "$PGBIN/initdb" -D "$RUN/pgdata" -U postgres --auth=trust --encoding=UTF8 --no-locale >"$LOGS/initdb.log" 2>&1 ||
	{ cat "$LOGS/initdb.log" >&2; die "initdb failed"; }
as_pg "$PGBIN/pg_ctl" -D "$RUN/pgdata" -l "$LOGS/postgres.log" -w -t 60 \
	-o "-p $PG_PORT -k $RUN/pgsock -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
head -n 1 "$RUN/pgdata/postmaster.pid" >"$PIDS/postgres.pid"
"$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -q \
	-c "CREATE USER temporal WITH PASSWORD 'temporal' CREATEDB"

say "Temporal's databases (temporal, temporal_visibility) by temporal-sql-tool"
sqltool() {
	"$TBIN/temporal-sql-tool" --plugin postgres12 --ep 127.0.0.1 -p "$PG_PORT" -u temporal --pw temporal "$@"
}
for spec in temporal=postgresql/v12/temporal temporal_visibility=postgresql/v12/visibility; do
	db=${spec%%=*}
	{
		sqltool --db "$db" create-database
		sqltool --db "$db" setup-schema -v 0.0
		sqltool --db "$db" update-schema --schema-name "${spec#*=}"
	} >>"$LOGS/temporal-sql-tool.log" 2>&1 || { tail -n 30 "$LOGS/temporal-sql-tool.log" >&2; die "temporal-sql-tool failed on $db"; }
done

# ---------------------------------------------------------------------------
# Temporal: four services from one config file.
cat >"$RUN/config/dynamicconfig.yaml" <<'EOF'
# Workflow ids are derived from ticket ids and stay well under this limit.
limit.maxIDLength:
  - value: 255
    constraints: {}
EOF
cat >"$RUN/config/temporal.yaml" <<EOF
# Written by deploy/cluster/up.sh: one config for the four Temporal services, each
# started as a process of its own (temporal-server start --service NAME).
log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 4
  datastores:
    default:
      sql:
        pluginName: postgres12
        databaseName: temporal
        connectAddr: "127.0.0.1:$PG_PORT"
        connectProtocol: tcp
        user: temporal
        password: temporal
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: 1h
    visibility:
      sql:
        pluginName: postgres12
        databaseName: temporal_visibility
        connectAddr: "127.0.0.1:$PG_PORT"
        connectProtocol: tcp
        user: temporal
        password: temporal
        maxConns: 4
        maxIdleConns: 4
        maxConnLifetime: 1h
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
services:
  frontend:
    rpc: {grpcPort: $T_FRONTEND, membershipPort: $T_MEMBER, httpPort: $T_HTTP, bindOnIP: 127.0.0.1}
  history:
    rpc: {grpcPort: $T_HISTORY, membershipPort: $((T_MEMBER + 1)), bindOnIP: 127.0.0.1}
  matching:
    rpc: {grpcPort: $T_MATCHING, membershipPort: $((T_MEMBER + 2)), bindOnIP: 127.0.0.1}
  worker:
    rpc: {grpcPort: $T_WORKER, membershipPort: $((T_MEMBER + 6)), bindOnIP: 127.0.0.1}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:$T_FRONTEND"
dcRedirectionPolicy:
  policy: noop
archival:
  history: {state: disabled}
  visibility: {state: disabled}
namespaceDefaults:
  archival:
    history: {state: disabled}
    visibility: {state: disabled}
publicClient:
  hostPort: "127.0.0.1:$T_FRONTEND"
dynamicConfigClient:
  filepath: "$RUN/config/dynamicconfig.yaml"
  pollInterval: 10s
EOF

# register NAME READY CMD...: what proc.sh runs to start NAME, and how it tells
# that NAME is ready ("http URL" or "port N").
register() {
	local name=$1 readiness=$2
	shift 2
	printf '%q ' "$@" >"$CMDS/$name"
	echo "$readiness" >"$CMDS/$name.ready"
}
for svc in history matching frontend worker; do
	case $svc in
	history) ready="port $T_HISTORY" ;;
	matching) ready="port $T_MATCHING" ;;
	frontend) ready="http http://127.0.0.1:$T_HTTP/api/v1/cluster-info" ;;
	worker) ready="port $T_WORKER" ;;
	esac
	register "temporal-$svc" "$ready" "$TBIN/temporal-server" --config-file "$RUN/config/temporal.yaml" --allow-no-auth start --service "$svc"
done
say "Temporal $(temporal_version): frontend 127.0.0.1:$T_FRONTEND (HTTP $T_HTTP), history :$T_HISTORY, matching :$T_MATCHING, worker :$T_WORKER"
for svc in history matching frontend worker; do
	"$PROC" start "temporal-$svc"
done

# ---------------------------------------------------------------------------
# MariaDB: the read model.
if ! command -v mariadbd >/dev/null 2>&1 && ! command -v mysqld >/dev/null 2>&1 &&
	[ ! -x /usr/sbin/mariadbd ] && [ ! -x /usr/sbin/mysqld ]; then
	say "installing mariadb-server (apt-get)"
	$SUDO apt-get update
	$SUDO apt-get install -y --no-install-recommends mariadb-server mariadb-client
fi
if ! mariadb_up; then
	say "starting MariaDB (down.sh stops it again)"
	if ! $SUDO service mariadb start >/dev/null; then
		say "service mariadb start failed; starting mysqld_safe directly"
		$SUDO mkdir -p /run/mysqld
		$SUDO chown mysql:mysql /run/mysqld
		$SUDO sh -c "nohup mysqld_safe --user=mysql >'$LOGS/mysqld_safe.log' 2>&1 &"
	fi
	for _ in $(seq 1 300); do
		mariadb_up && break
		sleep 0.2
	done
	mariadb_up || die "MariaDB did not start"
	touch "$RUN/started-mariadb"
fi
say "MariaDB $(mysql_root -N -B -e 'SELECT VERSION()'): database $MYSQL_DB (recreated empty)"
mysql_root <<SQL
DROP DATABASE IF EXISTS \`$MYSQL_DB\`;
CREATE DATABASE \`$MYSQL_DB\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER IF NOT EXISTS '$MYSQL_USER'@'127.0.0.1' IDENTIFIED BY '$MYSQL_PASSWORD';
CREATE USER IF NOT EXISTS '$MYSQL_USER'@'localhost' IDENTIFIED BY '$MYSQL_PASSWORD';
GRANT ALL PRIVILEGES ON \`$MYSQL_DB\`.* TO '$MYSQL_USER'@'127.0.0.1';
GRANT ALL PRIVILEGES ON \`$MYSQL_DB\`.* TO '$MYSQL_USER'@'localhost';
FLUSH PRIVILEGES;
SQL

# ---------------------------------------------------------------------------
# aftersales: schema, Temporal setup, then the processes.
temporal=(--temporal-address "127.0.0.1:$T_FRONTEND" --temporal-namespace "$NAMESPACE")
say "aftersales migrate"
"$AFTERSALES" migrate --database-url "$DATABASE_URL" 2>&1 | tee -a "$LOGS/migrate.log"
say "aftersales temporal-setup (namespace $NAMESPACE)"
"$AFTERSALES" temporal-setup "${temporal[@]}" 2>&1 | tee -a "$LOGS/temporal-setup.log"

# Secrets of this cluster only: API keys, webhook secrets, provider keys.
rand() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
for p in courier payment; do
	printf 'whsec_%s\n' "$(head -c 32 /dev/urandom | base64)" >"$RUN/secrets/webhook-$p.secret"
done
COURIER_KEY=ck-$(rand 12) PAYMENT_KEY=pk-$(rand 12)
cat >"$RUN/secrets/keys.json" <<EOF
[
  {"key": "buyer-$(rand 12)", "role": "buyer", "subject": "buyer-1"},
  {"key": "seller-$(rand 12)", "role": "seller", "subject": "shop-1"},
  {"key": "platform-$(rand 12)", "role": "platform", "subject": "agent-1"},
  {"key": "admin-$(rand 12)", "role": "admin", "subject": "admin"}
]
EOF
chmod 600 "$RUN/secrets/"*

secrets=(--courier-webhook-secret-file "$RUN/secrets/webhook-courier.secret" --payment-webhook-secret-file "$RUN/secrets/webhook-payment.secret")
register providers "http http://127.0.0.1:$PROVIDERS_PORT/healthz" \
	"$AFTERSALES" providers --http "127.0.0.1:$PROVIDERS_PORT" --webhook-url "http://127.0.0.1:$API1_PORT" \
	--courier-key "$COURIER_KEY" --payment-key "$PAYMENT_KEY" "${secrets[@]}" --sim-delay "$SIM_DELAY" \
	--courier-ledger-file "$RUN/providers/courier.json" --payment-ledger-file "$RUN/providers/payment.json"
for i in 1 2; do
	port=$API1_PORT
	[ "$i" = 2 ] && port=$API2_PORT
	# The bench is one principal sending for many: a limit far above the default.
	register "api-$i" "http http://127.0.0.1:$port/readyz" \
		"$AFTERSALES" api --http "127.0.0.1:$port" "${temporal[@]}" --database-url "$DATABASE_URL" --keys "$RUN/secrets/keys.json" "${secrets[@]}" \
		--rate-limit 5000 --rate-burst 5000
	metrics=$WORKER1_METRICS
	[ "$i" = 2 ] && metrics=$WORKER2_METRICS
	register "worker-$i" "http http://127.0.0.1:$metrics/metrics" \
		"$AFTERSALES" worker "${temporal[@]}" --database-url "$DATABASE_URL" --metrics-addr "127.0.0.1:$metrics" \
		--courier http --courier-url "http://127.0.0.1:$PROVIDERS_PORT/courier" --courier-key "$COURIER_KEY" \
		--payment http --payment-url "http://127.0.0.1:$PROVIDERS_PORT/payment" --payment-key "$PAYMENT_KEY"
done
say "aftersales providers :$PROVIDERS_PORT, api :$API1_PORT and :$API2_PORT, workers (metrics :$WORKER1_METRICS, :$WORKER2_METRICS)"
for n in providers api-1 api-2 worker-1 worker-2; do
	"$PROC" start "$n"
done

cat >"$RUN/cluster.env" <<EOF
# Written by deploy/cluster/up.sh (KEY='value', for a shell to source): what the cluster test (and you) need to reach it.
RUN_DIR='$RUN'
PROC='$PROC'
AFTERSALES_BIN='$AFTERSALES'
API_1='http://127.0.0.1:$API1_PORT'
API_2='http://127.0.0.1:$API2_PORT'
PROVIDERS_URL='http://127.0.0.1:$PROVIDERS_PORT'
COURIER_KEY='$COURIER_KEY'
PAYMENT_KEY='$PAYMENT_KEY'
KEYS_FILE='$RUN/secrets/keys.json'
COURIER_WEBHOOK_SECRET_FILE='$RUN/secrets/webhook-courier.secret'
PAYMENT_WEBHOOK_SECRET_FILE='$RUN/secrets/webhook-payment.secret'
PAYMENT_LEDGER_FILE='$RUN/providers/payment.json'
DATABASE_URL='$DATABASE_URL'
TEMPORAL_ADDRESS='127.0.0.1:$T_FRONTEND'
TEMPORAL_NAMESPACE='$NAMESPACE'
EOF
completed=yes
say "cluster up in $((SECONDS - begin)) s; endpoints in $RUN/cluster.env, logs in $LOGS"
"$PROC" status
