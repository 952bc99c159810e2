#!/usr/bin/env bash
# halfopen_rate.sh — what flood { tcp-half-open } costs at a high session
# rate: the kernel-decided new TCP sessions/s of one bench/connrate client
# through the lab gateway and sluiced's CPU (utime+stime from /proc/PID/stat,
# and the part in the kernel) over each run, with tcp-half-open 80 (the
# default: a conntrack dump a second) and 0 (no dump), ROUNDS rounds of
# SECONDS each, in alternating order; conntrack is flushed before each run,
# so the table holds what the run itself made (its TIME_WAIT sessions).
# The other limits are set so high they never refuse.
# Processes are stopped by the pids this script started.
#   bench/halfopen_rate.sh [BUILD_DIR] [SECONDS] [ROUNDS]
set -uo pipefail
B=$(cd "${1:-build}" && pwd); SECS=${2:-4}; ROUNDS=${3:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
trap 'lab_down >/dev/null 2>&1' EXIT
bench_lab_up "$B"
base=$(bench_web_policy)
lim='tcp-connect-rate 100000000/min tcp-concurrent 1000000 udp-rate 1000000/s'
printf '%s\nflood { %s tcp-half-open 80 }\n' "$base" "$lim" >"$LAB_TMP/80.conf"
printf '%s\nflood { %s tcp-half-open 0 }\n' "$base" "$lim" >"$LAB_TMP/0.conf"
TCK=$(getconf CLK_TCK)
stat2() { awk '{ print $14 + $15, $15 }' "/proc/$1/stat"; }
printf '%-14s %5s %12s %14s %10s\n' tcp-half-open round "sessions/s" "sluiced CPU" "in kernel"
for r in $(seq "$ROUNDS"); do
	order="80 0"; [ $((r % 2)) = 0 ] && order="0 80"
	for m in $order; do
		bench_start_sluiced "$B" "$LAB_TMP/$m.conf"
		lab_exec "$LAB_GW" conntrack -F >/dev/null 2>&1
		sleep 1
		read -r c0 s0 < <(stat2 "$SLUICED_PID")
		rate=$(lab_exec "$LAB_CLI" "$B/bench/connrate" client "$LAB_SRV4" 80 --parallel 1 \
			--seconds "$SECS" --conns 2000000 |
			awk '{for (i=1;i<NF;i++) if ($i=="rate") r=$(i+1)} END { sub("/s","",r); print r }')
		read -r c1 s1 < <(stat2 "$SLUICED_PID")
		awk -v m="$m" -v r="$r" -v rate="$rate" -v c=$((c1 - c0)) -v s=$((s1 - s0)) -v t="$TCK" -v d="$SECS" \
			'BEGIN { printf "%-14s %5s %12s %13.1f%% %9.1f%%\n", m, r, rate, c / t / d * 100, s / t / d * 100 }'
		lab_kill "$SLUICED_PID"
	done
done
printf 'conntrack entries at the end of the last run: %s\n' "$(lab_exec "$LAB_GW" conntrack -C)"
