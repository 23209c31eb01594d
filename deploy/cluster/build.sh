#!/usr/bin/env bash
# Builds what the cluster runs: the Temporal server and its SQL tool from the small
# module in deploy/cluster/temporal (cached under
# ${XDG_CACHE_HOME:-~/.cache}/aftersales-cluster/<version>-<hash>/, so only the first
# run pays the ~5 minutes), and the aftersales binary of this checkout into
# $AFTERSALES_CLUSTER_DIR/bin (Go's build cache makes that quick after the first time).
# Prints nothing but progress; up.sh runs it.
set -euo pipefail
# shellcheck source=deploy/cluster/lib.sh
. "$(dirname "$0")/lib.sh"

want=$(temporal_version)
[ -n "$want" ] || die "no go.temporal.io/server in $REPO_ROOT/go.mod"
pinned=$(awk '$1 == "go.temporal.io/server" { print $2; exit }' "$CLUSTER_SRC/temporal/go.mod")
if [ "$pinned" != "$want" ]; then
	die "deploy/cluster/temporal/go.mod pins go.temporal.io/server $pinned but the product embeds $want: run
  (cd deploy/cluster/temporal && go get go.temporal.io/server@$want && go mod tidy)"
fi

bin=$(temporal_bin_dir)
if [ -x "$bin/temporal-server" ] && [ -x "$bin/temporal-sql-tool" ]; then
	say "Temporal $want: cached in $bin"
else
	say "building Temporal $want server and SQL tool into $bin (the first time takes minutes)"
	mkdir -p "$bin"
	tmp=$(mktemp -d "$bin/.build.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	start=$SECONDS
	(cd "$CLUSTER_SRC/temporal" &&
		go build -o "$tmp/temporal-server" go.temporal.io/server/cmd/server &&
		go build -o "$tmp/temporal-sql-tool" go.temporal.io/server/cmd/tools/sql)
	mv "$tmp/temporal-server" "$tmp/temporal-sql-tool" "$bin/"
	say "built in $((SECONDS - start)) s"
fi

mkdir -p "$RUN/bin"
say "building aftersales into $RUN/bin"
(cd "$REPO_ROOT" && go build -o "$RUN/bin/aftersales" ./cmd/aftersales)
