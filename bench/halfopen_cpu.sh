#!/usr/bin/env bash
# halfopen_cpu.sh — what flood { tcp-half-open } costs sluiced on a gateway
# with a large, idle conntrack table: N established TCP sessions
# (bench/ct_fill: ESTABLISHED and IPS_ASSURED, as a completed handshake
# leaves them; timeout 600 s) in the lab gateway's namespace, the
# default flood limits (tcp-half-open 80), no traffic; sluiced's CPU
# (utime+stime from /proc/PID/stat) over SECONDS, after a settling pause,
# and the same with the limit off (tcp-half-open 0) for reference.
# Processes are stopped by the pids this script started.
#   [CT_FILL=path] bench/halfopen_cpu.sh [BUILD_DIR] [N] [SECONDS]
# (CT_FILL: the ct_fill to use, e.g. this tree's for an older BUILD_DIR.)
set -uo pipefail
B=$(cd "${1:-build}" && pwd); N=${2:-100000}; SECS=${3:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FILL=${CT_FILL:-$B/bench/ct_fill}
. "$ROOT/tests/lab/lab.sh"
trap 'lab_down >/dev/null 2>&1' EXIT
lab_up >/dev/null || exit 1
SOCK=$LAB_TMP/ctl.sock
base='network clients { 198.18.1.0/24 }
network servers { 198.18.2.0/24 }
protocol web tcp 80
rule "web" allow web from clients to servers'
printf '%s\n' "$base" >"$LAB_TMP/on.conf"
printf '%s\nflood { tcp-half-open 0 }\n' "$base" >"$LAB_TMP/off.conf"
TCK=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
sys() { awk '{ print $15 }' "/proc/$1/stat"; } # of which in the kernel (the dump's walk)
lab_exec "$LAB_GW" sysctl -qw net.netfilter.nf_conntrack_max=$((N * 2 + 65536)) 2>/dev/null
out=$(lab_exec "$LAB_GW" "$FILL" "$N" 198.18.1.10 "$LAB_SRV4" 80 0x40020000) || { echo "$out"; exit 1; }
echo "$out"
have=$(lab_exec "$LAB_GW" conntrack -C)
assured=$(lab_exec "$LAB_GW" conntrack -L -p tcp --status ASSURED 2>/dev/null | grep -c ESTABLISHED)
printf '%s conntrack entries (idle, ESTABLISHED, %s of them ASSURED); sluiced CPU over %s s\n' "$have" "$assured" "$SECS"
for m in on off; do
	rm -f "$SOCK"
	SPID=$(LAB_SPAWN_LOG=$LAB_TMP/sluiced.log lab_spawn "$LAB_GW" "$B/src/sluiced/sluiced" -f -c "$LAB_TMP/$m.conf" -s "$SOCK")
	for i in $(seq 100); do "$B/src/sluicectl/sluicectl" -s "$SOCK" status >/dev/null 2>&1 && break; sleep 0.1; done
	sleep 5 # the start: adoption of the table, the first count
	c0=$(cpu "$SPID"); s0=$(sys "$SPID"); t0=$(date +%s.%N)
	sleep "$SECS"
	c1=$(cpu "$SPID"); s1=$(sys "$SPID"); t1=$(date +%s.%N)
	awk -v m="$m" -v c=$((c1 - c0)) -v s=$((s1 - s0)) -v t="$TCK" -v a="$t0" -v b="$t1" \
		'BEGIN { printf "tcp-half-open %-3s sluiced CPU %6.2f s in %.1f s (%.1f %% of one core; %.2f s of it in the kernel)\n", m == "on" ? "80" : "0", c / t, b - a, c / t / (b - a) * 100, s / t }'
	lab_kill "$SPID"
	printf '  conntrack entries after: %s\n' "$(lab_exec "$LAB_GW" conntrack -C)"
done
