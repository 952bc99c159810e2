#!/usr/bin/env bash
# flood_profile.sh — figure A taken apart by the kernel's profiler: where
# the flood limits' cost on the kernel-decided session rate goes. sluiced
# with flood_bench.sh's header-only policy, flood limits off (all four 0)
# and on (all four, never refusing), switched by reload; in each run
# bench/connrate's 4 clients from one address (the costliest kind of
# figure A) and `perf record -a` over SECONDS in the middle of it. Counts
# the samples of the packet path (the processes connrate and
# ksoftirqd/N: the clients', the server's and the gateway's softirq
# work) per 1,000 sessions, by group of kernel functions, off against
# on, summed over the rounds; and sluiced's own CPU (utime + stime) per
# 1,000 sessions. Needs perf (Debian: linux-perf) and root.
#   bench/flood_profile.sh [BUILD_DIR] [SECONDS] [ROUNDS]
set -uo pipefail
B=$(cd "${1:-build}" && pwd); SECS=${2:-8}; ROUNDS=${3:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
command -v perf >/dev/null || { echo "flood_profile: perf is not installed" >&2; exit 1; }
. "$ROOT/bench/lib.sh"
trap 'lab_down >/dev/null 2>&1' EXIT
bench_lab_up "$B"
base=$(bench_web_policy)
printf '%s\nflood { %s }\n' "$base" "$BENCH_FLOOD_OFF" >"$LAB_TMP/off.conf"
printf '%s\nflood { %s }\n' "$base" "$BENCH_FLOOD_ON" >"$LAB_TMP/on.conf"
cp "$LAB_TMP/off.conf" "$LAB_TMP/cur.conf"
bench_start_sluiced "$B" "$LAB_TMP/cur.conf"
cpu() { awk '{print $14 + $15}' "/proc/$SLUICED_PID/stat"; } # clock ticks
HZ=$(getconf CLK_TCK)
for round in $(seq "$ROUNDS"); do
	order="off on"; [ $((round % 2)) = 0 ] && order="on off"
	for m in $order; do
		cp "$LAB_TMP/$m.conf" "$LAB_TMP/cur.conf"
		"$B/src/sluicectl/sluicectl" -s "$SOCK" reload >/dev/null || echo "reload to $m failed" >&2
		sleep 1
		lab_exec "$LAB_GW" conntrack -F >/dev/null 2>&1
		lab_exec "$LAB_CLI" "$B/bench/connrate" client "$LAB_SRV4" 80 --parallel 4 --seconds $((SECS + 4)) \
			--conns 20000000 >"$LAB_TMP/rate.$m.$round" &
		cp=$!
		sleep 2
		c0=$(cpu)
		perf record -a -q -o "$LAB_TMP/perf.$m.$round" -- sleep "$SECS" >/dev/null 2>&1
		c1=$(cpu)
		wait "$cp"
		rate=$(awk '{for (i=1;i<NF;i++) if ($i=="rate") print $(i+1)+0}' "$LAB_TMP/rate.$m.$round")
		perf report -i "$LAB_TMP/perf.$m.$round" --comms connrate,ksoftirqd/0,ksoftirqd/1,ksoftirqd/2,ksoftirqd/3 \
			--sort sym -g none --stdio -n 2>/dev/null | awk -v m="$m" -v s="$((rate * SECS))" -v c="$((c1 - c0))" \
			'/%/ && NF >= 4 { print m, s, c, $2, $4 }' >>"$LAB_TMP/samples"
	done
done
python3 - "$LAB_TMP/samples" "$HZ" <<'PY'
import re, sys
groups = [("ct count (nf_conncount, connlimit)", r"conncount|connlimit"),
          ("dynamic sets (both limits), limit", r"^nft_dynset|^nft_rhash|^nft_limit|^jhash"),
          ("nft_do_chain (rules interpreted)", r"^nft_do_chain$"),
          ("conntrack dump (the half-open pass)", r"^ctnetlink_|^ctnetlink"),
          ("conntrack lookups", r"^__nf_conntrack_find_get$|^hash_conntrack_raw$"),
          ("spin locks", r"spin_lock|spin_unlock|queued_spin")]
tot = {}; grp = {}; sess = {}; cpu = {}
seen = set()
for line in open(sys.argv[1]):
    m, s, c, n, sym = line.split()
    key = (m, s, c)
    if key not in seen:
        seen.add(key)
        sess[m] = sess.get(m, 0) + int(s)
        cpu[m] = cpu.get(m, 0) + int(c)
    tot[m] = tot.get(m, 0) + int(n)
    for g, rx in groups:
        if re.search(rx, sym):
            grp[(m, g)] = grp.get((m, g), 0) + int(n)
            break
hz = int(sys.argv[2])
k = lambda m, v: 1000.0 * v / sess[m] if sess.get(m) else 0.0
print("samples of the packet path per 1,000 sessions (4 clients, 1 address; perf, 4 kHz cpu-clock), off / on / on - off")
for g, _ in groups:
    a, b = k("off", grp.get(("off", g), 0)), k("on", grp.get(("on", g), 0))
    print("  %-40s %7.2f %7.2f %+7.2f" % (g, a, b, b - a))
a, b = k("off", tot.get("off", 0)), k("on", tot.get("on", 0))
print("  %-40s %7.2f %7.2f %+7.2f  (%+.1f %%)" % ("all", a, b, b - a, 100 * (b - a) / a if a else 0))
a, b = k("off", cpu.get("off", 0)) * 1000 / hz, k("on", cpu.get("on", 0)) * 1000 / hz
print("sluiced's CPU per 1,000 sessions: off %.2f ms, on %.2f ms" % (a, b))
print("sessions: off %d, on %d" % (sess.get("off", 0), sess.get("on", 0)))
PY
