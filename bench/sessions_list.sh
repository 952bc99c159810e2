#!/usr/bin/env bash
# sessions_list.sh — `sluicectl sessions` on a gateway whose conntrack
# table holds N allowed sessions: sluiced (examples/lab.conf's policy) in a
# network namespace of its own, N entries made there over ctnetlink
# (tests/lab/ct_fill.py, ct mark "allowed by rule 1", made after sluiced's
# start: a first start re-decides what it finds); `sluicectl sessions
# --json` ROUNDS times, each with a `status` asked 50 ms after it starts;
# prints how long each took and how many sessions the list had. With
# BEFORE_BUILD, the same for that build in the same run, alternating.
#   bench/sessions_list.sh [BUILD_DIR] [N] [ROUNDS] [BEFORE_BUILD_DIR]
# sluiced is stopped by the pid this script started.
set -uo pipefail
B=$(cd "${1:-build}" && pwd); N=${2:-200000}; ROUNDS=${3:-3}; BEFORE=${4:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$(dirname "$0")/ns.sh"
ns_up sesslist
run() { # run BUILD LABEL
	rm -f "$D"/ctl.sock*
	ns_sluiced "$1" "$ROOT/examples/lab.conf"
	# after the start: sluiced's first start re-decides what it finds
	ip netns exec "$NS" conntrack -F >/dev/null 2>&1
	ip netns exec "$NS" python3 "$ROOT/tests/lab/ct_fill.py" "$N" 0x40010000 3600 >/dev/null &&
		ns_list_probe "$1" "$2" sessions sessions sessions
	ns_sluiced_stop
}
for r in $(seq "$ROUNDS"); do
	[ -n "$BEFORE" ] && run "$(cd "$BEFORE" && pwd)" before
	run "$B" this
done
