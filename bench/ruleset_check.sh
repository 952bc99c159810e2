#!/usr/bin/env bash
# ruleset_check.sh — what one check of the ruleset watch costs while the
# flood meters are full: table inet sluice of examples/lab.conf (default
# flood limits) in a network namespace of its own, flood_tcp_rate4 filled
# with N elements (as N flooding sources leave it), then `rs_tool check`
# (ruleset_check: the nft side and the two xt families, as sluiced's check
# runs them) REPS times; prints the median and the spread of its wall
# time and of its CPU time (user + system, children included). With
# BEFORE_BUILD, the same with that build's rs_tool on the same table, the
# two alternating.
#   bench/ruleset_check.sh [BUILD_DIR] [N] [REPS] [BEFORE_BUILD_DIR]
set -uo pipefail
B=$(cd "${1:-build}" && pwd); N=${2:-65535}; REPS=${3:-10}; BEFORE=${4:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NS=rscheck$$
D=$(mktemp -d /tmp/ruleset_check.XXXXXX)
cleanup() { ip netns del "$NS" 2>/dev/null; rm -rf "$D"; }
trap cleanup EXIT
ip netns add "$NS" && ip netns exec "$NS" ip link set lo up || exit 1
in_ns() { ip netns exec "$NS" "$@"; }
in_ns "$B/src/kernel/rs_tool" install "$ROOT/examples/lab.conf" >/dev/null || { echo "install failed" >&2; exit 1; }
python3 - "$N" >"$D/fill.nft" <<'PY'
import sys
n = int(sys.argv[1])
for a in range(0, n, 8192):
    print("add element inet sluice flood_tcp_rate4 {",
          ",".join("198.19.%d.%d" % (i >> 8, i & 255) for i in range(a, min(n, a + 8192))), "}")
PY
in_ns nft -f "$D/fill.nft" || { echo "fill failed" >&2; exit 1; }
echo "flood_tcp_rate4: $N elements"
# one check: "wall_ms cpu_ms" (cpu: the process and its children)
one() {
	python3 - "$1" "$NS" <<'PY'
import os, resource, subprocess, sys, time
t0 = time.monotonic(); c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
rc = subprocess.run(["ip", "netns", "exec", sys.argv[2], sys.argv[1], "check"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
c1 = resource.getrusage(resource.RUSAGE_CHILDREN); t1 = time.monotonic()
cpu = (c1.ru_utime - c0.ru_utime + c1.ru_stime - c0.ru_stime) * 1e3
print("%.1f %.1f %d" % ((t1 - t0) * 1e3, cpu, rc))
PY
}
declare -A W C
for r in $(seq "$REPS"); do
	[ -n "$BEFORE" ] && W[before]+="$(one "$BEFORE/src/kernel/rs_tool")"$'\n'
	W[this]+="$(one "$B/src/kernel/rs_tool")"$'\n'
done
for k in ${BEFORE:+before} this; do
	printf '%s' "${W[$k]}" | awk -v k="$k" 'NF { w[NR] = $1; c[NR] = $2; bad += ($3 != 0) }
		function med(a, n,  i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
		END { n = NR; printf "%-7s check: median %.0f ms wall, %.0f ms CPU over %d runs (%d said not intact)\n", k, med(w, n), med(c, n), n, bad }'
done
