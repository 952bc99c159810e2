#!/usr/bin/env bash
# flood_rate.sh — what a flood from one source costs, with the flood limits
# off and at their defaults: bench/pktflood (C, raw socket, sendmmsg) sends
# SYNs to tcp/80, then UDP datagrams to udp/5301 (each packet a new
# session) from the client 198.18.1.2 through the gateway to the server,
# under a policy whose rule needs a user (so every new session that gets
# past the kernel crosses to sluiced; the client is identified and
# allowed). Per run: packets/s offered (what pktflood sent), queued (reached
# sluiced: the queue's id sequence), passed (reached the server: an nft
# counter in the server's namespace), refused by the flood limits (their
# nft counters), and sluiced's CPU (utime+stime over the run, % of one core).
# Processes are stopped by the pids this script started.
# One source has 64,000 source ports: keep PPS x SECONDS below that, or
# later packets ride the sessions of earlier ones (counted passed, not queued).
#   bench/flood_rate.sh [BUILD_DIR] [SECONDS] [PPS]
set -uo pipefail
B=$(cd "${1:-build}" && pwd); SECS=${2:-3}; PPS=${3:-20000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/tests/lab/lab.sh"
trap 'lab_down >/dev/null 2>&1' EXIT
lab_up >/dev/null || exit 1
SOCK=$LAB_TMP/ctl.sock
ctl() { "$B/src/sluicectl/sluicectl" -s "$SOCK" "$@"; }
base='network clients { 198.18.1.0/24 }
network servers { 198.18.2.0/24 }
users staff { group staff }
protocol web tcp 80
protocol voice udp 5301
rule "staff" allow { web voice } from clients to servers users staff
decisions { slots 4096 per-source 4096 deny-memory 0 }'
printf '%s\nflood { tcp-connect-rate 0 tcp-concurrent 0 udp-rate 0 }\n' "$base" >"$LAB_TMP/off.conf"
printf '%s\n' "$base" >"$LAB_TMP/default.conf"
# the server counts what reaches it
lab_exec "$LAB_SRV" nft -f - <<'NFT'
table inet fb {
	chain in {
		type filter hook input priority 0; policy accept;
		tcp dport 80 tcp flags & (syn | ack) == syn counter name c_syn
		udp dport 5301 counter name c_udp
	}
	counter c_syn {}
	counter c_udp {}
}
NFT
srv_count() { lab_exec "$LAB_SRV" nft list counter inet fb "$1" | awk '/packets/ { print $2 }'; }
qseq() { lab_exec "$LAB_GW" awk '$1 == 0 { print $8; f = 1 } END { if (!f) print 0 }' /proc/net/netfilter/nfnetlink_queue; }
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
counter() { ctl counters --json | python3 -c "import json,sys; print(json.load(sys.stdin)['counters']['$1'])"; }
TCK=$(getconf CLK_TCK)

printf 'flood from one source, %s s per run, %s packets/s asked\n' "$SECS" "$PPS"
printf '%-6s %-8s %10s %10s %10s %12s %10s\n' flood limits offered/s queued/s passed/s "refused/s" "sluiced CPU"
for limits in off default; do
	rm -f "$SOCK"
	SPID=$(LAB_SPAWN_LOG=$LAB_TMP/sluiced.log lab_spawn "$LAB_GW" "$B/src/sluiced/sluiced" -f -c "$LAB_TMP/$limits.conf" -s "$SOCK")
	for i in $(seq 50); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done
	ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
	for kind in syn udp; do
		port=80; [ $kind = udp ] && port=5301
		name=c_$kind; rc=packets_flood_tcp_rate
		[ $kind = udp ] && rc=packets_flood_udp_rate
		lab_exec "$LAB_GW" conntrack -F >/dev/null 2>&1
		q0=$(qseq); p0=$(srv_count "$name"); c0=$(cpu "$SPID"); r0=$(counter $rc)
		[ $kind = syn ] && r0=$((r0 + $(counter packets_flood_tcp_concurrent)))
		out=$(lab_exec "$LAB_CLI" "$B/bench/pktflood" $kind "$LAB_SRV4" $port "$LAB_CLI4" 1 "$PPS" "$SECS")
		sleep 0.5 # the last verdicts
		q1=$(qseq); p1=$(srv_count "$name"); c1=$(cpu "$SPID"); r1=$(counter $rc)
		[ $kind = syn ] && r1=$((r1 + $(counter packets_flood_tcp_concurrent)))
		el=$(awk '{ print $4 }' <<<"$out"); off=$(awk '{ print $6 }' <<<"$out")
		awk -v k=$kind -v l=$limits -v o="$off" -v e="$el" -v q=$((q1 - q0)) -v p=$((p1 - p0)) \
			-v r=$((r1 - r0)) -v c=$((c1 - c0)) -v t="$TCK" \
			'BEGIN { printf "%-6s %-8s %10d %10d %10d %12d %9.1f%%\n", k, l, o, q / e, p / e, r / e, c / t / e * 100 }'
	done
	lab_kill "$SPID"
done
