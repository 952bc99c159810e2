#!/usr/bin/env bash
# reload_scale.sh — reload at scale: the time `sluicectl reload`
# takes with N established sessions in conntrack, every one re-judged by
# the new policy (revocation on), and the decision latency of new sessions
# meanwhile, against the same measure without a reload, in the same run.
#   bench/reload_scale.sh [BUILD_DIR] [N] [ROUNDS] [SECONDS]
# The N sessions (bench/ct_fill: ESTABLISHED, marked ALLOW by rule "bulk")
# stay allowed: the figure is the walk, not the deletes. New sessions are
# TCP connects (bench/connrate, 2 clients) to a rule that needs the user
# (address table): each one's SYN is decided by sluiced; the latency is the
# connect time, median and p99 in µs; dec99 is the bound of the p99 bucket
# of sluiced's own decision-latency histogram over the same window (µs).
# raw p50/p99(n): the percentiles (nearest rank) of the decisions' own
# latencies, one by one, from sluiced's firewall log (`latency_ms`, µs
# resolution: from the packet's arrival to its verdict), of rule "r", n
# decisions — without a reload: the whole window; with one: from the
# reload's start to the end of its revocation walk (the walk's duration
# from sluiced's log). With a reload: the reload starts 0.5 s into the window.
set -uo pipefail
B=$(cd "${1:-build}" && pwd); N=${2:-200000}; ROUNDS=${3:-3}; SECS=${4:-4}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
bench_lab_up "$B"
conf=$LAB_TMP/reload.conf
cat >"$conf" <<'EOF'
network clients { 198.18.1.0/24 }
network servers { 198.18.2.0/24 }
users staff { group staff }
protocol web tcp 80
protocol bulk tcp 9000
rule "r"    allow web from clients to servers users staff
rule "bulk" allow bulk from clients to servers
decisions { slots 100000 per-source 100000 deadline 60s }
flood { tcp-connect-rate 0 udp-rate 0 tcp-concurrent 0 }
queue { watchdog 120s length 65536 buffer 65536 }
EOF
echo "log { format json file \"$LAB_TMP/fw.log\" }" >>"$conf"
rm -f "$SOCK"
LAB_SPAWN_LOG=$LAB_TMP/sluiced.log lab_spawn "$LAB_GW" "$B/src/sluiced/sluiced" -f -c "$conf" -s "$SOCK" >/dev/null
for i in $(seq 50); do $CTL status >/dev/null 2>&1 && break; sleep 0.1; done
$CTL status >/dev/null 2>&1 || { echo "sluiced did not start" >&2; exit 1; }
$CTL identity add "$LAB_CLI4" carol --groups staff >/dev/null
now_ms() { date +%s%3N; }
# sluiced's own decision latency histogram (cumulative buckets), saved to
# FILE; hp99 A B: the p99 bucket bound (µs) of the decisions between two
# snapshots — the decision alone, without the clients' and server's
# scheduling in the connect time
hist() { $CTL counters --json >"$1"; }
hp99() {
	python3 - "$1" "$2" <<'PY'
import json, sys
a, b = (json.load(open(f))["counters"]["decision_latency_seconds"]["buckets"] for f in sys.argv[1:3])
les = sorted(b, key=lambda k: float("inf") if k == "+Inf" else float(k))
d = [b[k] - a.get(k, 0) for k in les]
tot = d[-1]
for k, c in zip(les, d):
    if tot and c >= 0.99 * tot:
        print("inf" if k == "+Inf" else "%g" % (float(k) * 1e6)); break
else:
    print("-")
PY
}
# rawp99 FROM_MS TO_MS: "p50/p99(n)" of the decisions of rule "r" logged
# between two wall-clock times (ms since the epoch), in µs
rawp99() {
	python3 - "$LAB_TMP/fw.log" "$1" "$2" <<'PY'
import json, sys
from datetime import datetime
a, b = int(sys.argv[2]), int(sys.argv[3])
lat = []
for line in open(sys.argv[1]):
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if r.get("event") != "decided" or r.get("rule") != "r" or r.get("latency_ms") is None:
        continue
    t = datetime.strptime(r["time"], "%Y-%m-%dT%H:%M:%S.%fZ") - datetime(1970, 1, 1)
    if a <= t.total_seconds() * 1000 < b:
        lat.append(r["latency_ms"] * 1000)
lat.sort()
if not lat:
    print("-/-(0)"); sys.exit()
q = lambda p: lat[max(0, -(-len(lat) * p // 100) - 1)]
print("%d/%d(%d)" % (round(q(50)), round(q(99)), len(lat)))
PY
}
# walk_ms N: the duration (ms) of the Nth revocation walk sluiced logged
# (waits for it, at most 30 s)
walk_ms() {
	local i
	for i in $(seq 300); do
		if [ "$(grep -c "revocation (generation [0-9]*):" "$LAB_TMP/sluiced.log")" -ge "$1" ]; then
			grep "revocation (generation [0-9]*):" "$LAB_TMP/sluiced.log" | sed -n "$1p" | sed 's/.* \([0-9]*\) ms$/\1/'
			return
		fi
		sleep 0.1
	done
	echo 0
}
# the same reload with an empty table, for comparison (same run)
empty=""
for r in 1 2 3; do
	t0=$(now_ms); $CTL reload >/dev/null 2>&1; t1=$(now_ms); empty="$empty $((t1 - t0))"
done
# rule "bulk" is rule index 1: mark ALLOW (0x40000000) | id 2 << 16
lab_exec "$LAB_GW" "$B/bench/ct_fill" "$N" 198.18.1.10 "$LAB_SRV4" 9000 0x40020000 || exit 1
measure() { # → "median p99"
	lab_exec "$LAB_CLI" "$B/bench/connrate" client "$LAB_SRV4" 80 --parallel 2 --seconds "$SECS" --conns 2000000 |
		awk '{for (i=1;i<NF;i++) { if ($i=="median") m=$(i+1); if ($i=="p99") p=$(i+1) } } END { print m, p }'
}
echo "reload with an empty conntrack table: ms$empty; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "reload with $N sessions in conntrack ($(lab_exec "$LAB_GW" conntrack -C) entries at the start); connect latency median/p99 us over ${SECS}s, 2 clients"
printf '%-5s %9s %7s %13s %13s %7s %8s %8s %17s %17s %9s\n' round reload_ms walk_ms "lat no rel" "lat reload" p99_rat "dec99 no" "dec99 rel" "raw no p50/p99(n)" "raw walk p50/p99(n)" raw_ratio
nwalks=$(grep -c "revocation (generation [0-9]*):" "$LAB_TMP/sluiced.log")
for r in $(seq "$ROUNDS"); do
	hist "$LAB_TMP/h0"
	b0=$(now_ms)
	base=$(measure)
	b1=$(now_ms)
	hist "$LAB_TMP/h1"
	tmp=$LAB_TMP/m.$r
	( measure >"$tmp" ) &
	mpid=$!
	sleep 0.5
	t0=$(now_ms)
	ans=$($CTL reload 2>&1 | tr '\n' ' ')
	t1=$(now_ms)
	wait "$mpid"
	hist "$LAB_TMP/h2"
	with=$(cat "$tmp")
	ratio=$(awk -v a="${with#* }" -v b="${base#* }" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
	nwalks=$((nwalks + 1))
	wm=$(walk_ms "$nwalks")
	rn=$(rawp99 "$b0" "$b1"); rw=$(rawp99 "$t0" "$((t0 + wm))")
	rr=$(awk -v a="$rw" -v b="$rn" 'BEGIN { split(a, x, "[/(]"); split(b, y, "[/(]"); printf "%.2f", y[2] ? x[2] / y[2] : 0 }')
	printf '%-5s %9s %7s %13s %13s %7s %8s %8s %17s %17s %9s\n' "$r" "$((t1 - t0))" "$wm" "${base% *}/${base#* }" "${with% *}/${with#* }" "$ratio" \
		"$(hp99 "$LAB_TMP/h0" "$LAB_TMP/h1")" "$(hp99 "$LAB_TMP/h1" "$LAB_TMP/h2")" "$rn" "$rw" "$rr"
	echo "      reload answer: $ans"
	# the entries stay (allowed): top up what expired or was cut
	lab_exec "$LAB_GW" conntrack -C
done
grep "revocation (generation" "$LAB_TMP/sluiced.log" | sed 's/^[0-9:.]* sluiced: /  /'
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
