#!/bin/sh
# One-shot (temporal-setup service, temporalio/admin-tools image), after the server is
# up: creates the namespace if missing and registers the product's custom search
# attributes, given as NAME=Type arguments (Type: Keyword, Text, Int, Double, Bool,
# Datetime, KeywordList). Safe to re-run: existing attributes of the same type are
# left alone, and a clash of types fails loudly.
set -eu

address=${TEMPORAL_ADDRESS:-temporal:7233}
namespace=${TEMPORAL_NAMESPACE:-default}
retention=${TEMPORAL_NAMESPACE_RETENTION:-168h}

# Dial the server by IPv4 address, as Temporal's own compose samples do: the CLI has
# been seen to fail on the bare service name. Falls back to the name.
host=${address%:*}
port=${address##*:}
ip=$(getent ahosts "$host" 2>/dev/null | awk '/STREAM/ && $1 ~ /^[0-9.]+$/ { print $1; exit }' || true)
if [ -n "$ip" ]; then
	address="$ip:$port"
fi

# retry CMD...: run CMD until it succeeds, 60 times 2 s at most.
retry() {
	n=0
	until "$@"; do
		n=$((n + 1))
		if [ "$n" -ge 60 ]; then
			echo "temporal-setup: giving up on: $*" >&2
			return 1
		fi
		sleep 2
	done
}

retry temporal operator cluster health --address "$address"

if ! temporal operator namespace describe --namespace "$namespace" --address "$address" >/dev/null 2>&1; then
	echo "temporal-setup: creating namespace $namespace (retention $retention)"
	# shellcheck disable=SC2016 # expanded by the inner sh
	retry sh -c 'temporal operator namespace describe --namespace "$1" --address "$2" >/dev/null 2>&1 ||
		temporal operator namespace create --namespace "$1" --retention "$3" --address "$2"' \
		sh "$namespace" "$address" "$retention"
fi

# NAME=Type arguments to --name NAME --type Type flags (names and types never hold
# spaces, so one string split by the shell is enough in POSIX sh).
flags=""
names=""
for spec in "$@"; do
	case $spec in
	*=*) ;;
	*)
		echo "temporal-setup: argument $spec is not NAME=Type" >&2
		exit 2
		;;
	esac
	flags="$flags --name ${spec%%=*} --type ${spec#*=}"
	names="$names ${spec%%=*}"
done
if [ -z "$names" ]; then
	echo "temporal-setup: no search attributes given" >&2
	exit 2
fi

have_all() {
	list=$(temporal operator search-attribute list --namespace "$namespace" --address "$address") || return 1
	for name in $names; do
		printf '%s\n' "$list" | grep -qw -- "$name" || return 1
	done
}
if have_all; then
	echo "temporal-setup: namespace $namespace already has search attributes:$names"
	exit 0
fi

# shellcheck disable=SC2086 # $flags is split on purpose
retry temporal operator search-attribute create --namespace "$namespace" --address "$address" $flags

# The frontend reads a namespace's search attributes from its namespace cache, which
# refreshes every 10 s: a workflow started before then would be refused for naming
# an unknown attribute. Wait until the list has them all, then one refresh more.
retry have_all
sleep "${TEMPORAL_SETUP_SETTLE:-11}"
echo "temporal-setup: namespace $namespace has search attributes:$names"
