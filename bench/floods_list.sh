#!/usr/bin/env bash
# floods_list.sh — `sluicectl floods` during a flood from N sources:
# sluiced (examples/lab.conf's policy and its default flood limits) in a
# network namespace of its own, flood_limited4 filled with N sources (as
# N flooding sources leave it); `sluicectl floods --json` ROUNDS times,
# each with a `status` asked 50 ms after it starts; prints how long each
# took and how many sources the list had. With BEFORE_BUILD, the same for
# that build in the same run, alternating.
#   bench/floods_list.sh [BUILD_DIR] [N] [ROUNDS] [BEFORE_BUILD_DIR]
# sluiced is stopped by the pid this script started.
set -uo pipefail
B=$(cd "${1:-build}" && pwd); N=${2:-65535}; ROUNDS=${3:-3}; BEFORE=${4:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$(dirname "$0")/ns.sh"
ns_up floodlist
python3 - "$N" >"$D/fill.nft" <<'PY'
import sys
n = int(sys.argv[1])
for a in range(0, n, 8192):
    print("add element inet sluice flood_limited4 {",
          ",".join("198.19.%d.%d timeout 10m" % (i >> 8, i & 255) for i in range(a, min(n, a + 8192))), "}")
PY
run() { # run BUILD LABEL
	rm -f "$D"/ctl.sock*
	ns_sluiced "$1" "$ROOT/examples/lab.conf"
	ip netns exec "$NS" nft -f "$D/fill.nft" && ns_list_probe "$1" "$2" floods floods sources ||
		echo "fill failed" >&2
	ns_sluiced_stop
}
for r in $(seq "$ROUNDS"); do
	[ -n "$BEFORE" ] && run "$(cd "$BEFORE" && pwd)" before
	run "$B" this
done
