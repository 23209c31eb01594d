#!/usr/bin/env bash
# One process of the cluster that up.sh started, by name (temporal-frontend,
# temporal-history, temporal-matching, temporal-worker, providers, api-1, api-2,
# worker-1, worker-2):
#
#   proc.sh start NAME        start it again as up.sh did (same command, same log,
#                             appended) and wait until it is ready
#   proc.sh signal NAME SIG   send SIG (KILL, TERM, ...) to it and wait until it has
#                             exited; prints how long that took
#   proc.sh stop NAME         TERM, then KILL after 60 s; forgets its pid file
#   proc.sh status            every process: pid, or "down"
#
# It only ever signals the pid in NAME's pid file, and only when that process's
# command line names the cluster's directory.
set -euo pipefail
# shellcheck source=deploy/cluster/lib.sh
. "$(dirname "$0")/lib.sh"

usage() { die "usage: proc.sh start NAME | signal NAME SIG | stop NAME | status"; }

# ready NAME PID: waits (bounded) until NAME answers as its .ready file says.
ready() {
	local name=$1 pid=$2 kind arg
	read -r kind arg <"$CMDS/$name.ready"
	case $kind in
	http) wait_http "$arg" 180 "$pid" ;;
	port) wait_port "$arg" 180 "$pid" ;;
	*) die "$name: unknown readiness $kind" ;;
	esac
}

start() {
	local name=$1 pid
	[ -f "$CMDS/$name" ] || die "no process named $name (up.sh writes $CMDS/$name)"
	if pid=$(pid_of "$name"); then
		die "$name is already running (pid $pid)"
	fi
	local -a cmd
	eval "cmd=($(cat "$CMDS/$name"))"
	printf '\n==== %s start %s\n' "$(date -u +%FT%TZ)" "$name" >>"$LOGS/$name.log"
	# A session of its own: a terminal's Ctrl-C or the caller's exit leaves it running.
	setsid "${cmd[@]}" >>"$LOGS/$name.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$PIDS/$name.pid"
	if ! ready "$name" "$pid"; then
		echo "$name (pid $pid) did not become ready; the end of $LOGS/$name.log:" >&2
		tail -n 30 "$LOGS/$name.log" >&2
		exit 1
	fi
	echo "$name ready (pid $pid)"
}

# alive PID: PID runs (a zombie, exited and not yet reaped by its parent, does not).
alive() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

# wait_gone PID SECONDS: until PID has exited.
wait_gone() {
	local pid=$1 secs=$2 i
	for ((i = 0; i < secs * 10; i++)); do
		alive "$pid" || return 0
		sleep 0.1
	done
	return 1
}

signal() {
	local name=$1 sig=$2 pid t0
	pid=$(pid_of "$name") || die "$name is not running"
	t0=$EPOCHREALTIME
	kill -s "$sig" "$pid"
	if ! wait_gone "$pid" 120; then
		die "$name (pid $pid) still runs 120 s after SIG$sig"
	fi
	rm -f "$PIDS/$name.pid"
	awk -v n="$name" -v p="$pid" -v s="$sig" -v a="$t0" -v b="$EPOCHREALTIME" \
		'BEGIN { printf "%s (pid %s) exited %.1f s after SIG%s\n", n, p, b - a, s }'
}

stop() {
	local name=$1 pid
	if ! pid=$(pid_of "$name"); then
		rm -f "$PIDS/$name.pid"
		return 0
	fi
	kill -s TERM "$pid" 2>/dev/null || true
	if ! wait_gone "$pid" 60; then
		echo "$name (pid $pid) still runs 60 s after SIGTERM: SIGKILL" >&2
		kill -s KILL "$pid" 2>/dev/null || true
		wait_gone "$pid" 10 || true
	fi
	rm -f "$PIDS/$name.pid"
	echo "$name stopped"
}

status() {
	local f name pid
	for f in "$CMDS"/*.ready; do
		[ -e "$f" ] || continue
		name=$(basename "$f" .ready)
		if pid=$(pid_of "$name"); then
			printf '%-18s pid %s\n' "$name" "$pid"
		else
			printf '%-18s down\n' "$name"
		fi
	done
}

[ $# -ge 1 ] || usage
case $1 in
start) [ $# -eq 2 ] || usage && start "$2" ;;
signal) [ $# -eq 3 ] || usage && signal "$2" "$3" ;;
stop) [ $# -eq 2 ] || usage && stop "$2" ;;
status) status ;;
*) usage ;;
esac
