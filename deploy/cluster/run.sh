#!/usr/bin/env bash
# The cluster test from nothing: up.sh, then deploy/cluster/cluster_test.go against
# the cluster (scenarios through both APIs, a bench through both with every kind
# of process killed and restarted, the provider's ledger against the read model,
# the README's visibility queries), then down.sh whatever happened. Prints the
# fault table and the wall time; exits non-zero when anything failed.
set -euo pipefail
# shellcheck source=deploy/cluster/lib.sh
. "$(dirname "$0")/lib.sh"

begin=$SECONDS
trap '"$CLUSTER_SRC/down.sh" || true; say "cluster test: $((SECONDS - begin)) s in all"' EXIT
"$CLUSTER_SRC/up.sh"
up=$SECONDS
say "go test ./deploy/cluster (AFTERSALES_CLUSTER_ENV=$RUN/cluster.env)"
rm -f "$RUN/test.rc"
{
	rc=0
	(cd "$REPO_ROOT" && AFTERSALES_CLUSTER_ENV="$RUN/cluster.env" go test ./deploy/cluster -run '^TestCluster$' -count=1 -v -timeout 20m) 2>&1 || rc=$?
	echo "$rc" >"$RUN/test.rc"
} | tee "$LOGS/cluster-test.log" | grep --line-buffered -E '^(=== RUN|\s*--- |PASS|FAIL|ok|panic)|cluster_test.go|^\s*\|' || true
status=$(cat "$RUN/test.rc" 2>/dev/null || echo 1)
say "cluster up in $((up - begin)) s, test $((SECONDS - up)) s; full output in $LOGS/cluster-test.log"
if [ -f "$RUN/fault-table.md" ]; then
	cat "$RUN/fault-table.md"
fi
exit "$status"
