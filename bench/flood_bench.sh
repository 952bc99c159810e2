#!/usr/bin/env bash
# flood_bench.sh — the flood figures, in one run:
#  A. the cost of the flood limits on the kernel-decided session rate:
#     sluiced with a header-only policy, flood limits off (all four 0: no
#     flood chain, no half-open pass) vs on (all four so high they never
#     refuse: every SYN pays the half-open lookup, the rate meter and `ct
#     count`, and sluiced counts half-open sessions once a second),
#     bench/connrate with 1 client, 4 clients from one address (its meter
#     and count shared by the four) and 4 clients from 4 addresses (a
#     gateway's many sources); target: <= 3 % fewer. Kind 4x (not run by
#     default): 4 clients from one address that is in `exceptions`, with
#     the default limits for everyone else: what a source that
#     legitimately opens that many sessions costs when configured so.
#  B. a legitimate client's connect p99 (bench/connlat.py, 5 connects/s from
#     198.18.1.3) with the default limits, alone and while 1,000 other
#     sources (198.18.64.0/22, spoofed, bench/pktflood in C) flood SYNs at the
#     server through the gateway, measured once the flood's sources are
#     being limited; target: <= 2 x its p99 without the flood.
# Processes are stopped by the pids this script started.
#   bench/flood_bench.sh [BUILD_DIR] [SECONDS_PER_RUN] [ROUNDS] [FLOOD_PPS]
# Environment, to take A apart: FLOOD_ON the flood { } body of "on" (default:
# all four limits, never refusing), KINDS the kinds of A (default "1 4 4s";
# also 4x),
# ONLY_A=1 skips B, SETTLE=S waits S seconds after each reload of A before
# measuring (default 0).
set -uo pipefail
B=$(cd "${1:-build}" && pwd); SECS=${2:-4}; ROUNDS=${3:-7}; PPS=${4:-20000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
trap 'lab_down >/dev/null 2>&1' EXIT
bench_lab_up "$B"
base=$(bench_web_policy "198.18.1.0/24 198.18.64.0/22")
printf '%s\nflood { %s }\n' "$base" "$BENCH_FLOOD_OFF" >"$LAB_TMP/off.conf"
ON=${FLOOD_ON:-$BENCH_FLOOD_ON}
KINDS=${KINDS:-1 4 4s}
printf '%s\nflood { %s }\n' "$base" "$ON" >"$LAB_TMP/on.conf"
printf '%s\n' "$base" >"$LAB_TMP/default.conf"
# kind 4x's "on": the default limits, the client's address an exception
printf '%s\nnetwork heavy { %s }\nflood { exceptions heavy }\n' "$base" "$LAB_CLI4" >"$LAB_TMP/onx.conf"
SPID=
start_sluiced() { bench_start_sluiced "$B" "$1"; SPID=$SLUICED_PID; }
stop_sluiced() {
	[ -n "$SPID" ] && lab_kill "$SPID"
	SPID=
	lab_exec "$LAB_GW" conntrack -F >/dev/null 2>&1
}
# the client's two more addresses: 4 clients from 4 sources
bench_four_sources
measure() { # measure 1|4|4s|4x: prints "rate median_us p99_us"
	bench_connrate_kind "$B" "${1%x}" "$SECS"
}
med() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

# --- A: rate, limits off vs on: one sluiced, switched by reload before
# each measurement (the table updated in place), off and on back to back
# for each kind of client, the order alternating by round: a pair's two
# runs are seconds apart, so the host's drift between them is small
declare -A R
cp "$LAB_TMP/off.conf" "$LAB_TMP/cur.conf"
start_sluiced "$LAB_TMP/cur.conf"
for round in $(seq "$ROUNDS"); do
	order="off on"; [ $((round % 2)) = 0 ] && order="on off"
	for p in $KINDS; do
		for m in $order; do
			conf=$m; [ "$p" = 4x ] && [ "$m" = on ] && conf=onx
			cp "$LAB_TMP/$conf.conf" "$LAB_TMP/cur.conf"
			"$B/src/sluicectl/sluicectl" -s "$SOCK" reload >/dev/null || echo "reload to $m failed" >&2
			sleep "${SETTLE:-0}"
			R[$m.$p.$round]=$(measure $p)
		done
	done
done
stop_sluiced
declare -A LABEL=([1]="1 client" [4]="4 clients, 1 address" [4s]="4 clients, 4 addresses"
	[4x]="4 cl., 1 addr., exception")
col() { # col MODE P FIELD: the median over the rounds of field FIELD (1 rate, 2 median, 3 p99)
	for r in $(seq "$ROUNDS"); do echo "${R[$1.$2.$r]}" | awk -v f="$3" '{print $f}'; done | med
}
echo "A. kernel-decided new TCP sessions/s, flood limits off (none) and on (never refusing); median of $ROUNDS rounds of ${SECS}s"
[ -n "${FLOOD_ON:-}" ] && echo "   on: flood { $ON }"
printf '%-24s %10s %10s %14s %14s %8s %s\n' clients "off/s" "on/s" "off lat us" "on lat us" "on/off" "(median per-round ratio; cost)"
for p in $KINDS; do
	per=$(for r in $(seq "$ROUNDS"); do
		a=$(echo "${R[on.$p.$r]}" | awk '{print $1}'); b=$(echo "${R[off.$p.$r]}" | awk '{print $1}')
		awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.3f\n", a / b }'
	done | med)
	ratios=$(for r in $(seq "$ROUNDS"); do
		a=$(echo "${R[on.$p.$r]}" | awk '{print $1}'); b=$(echo "${R[off.$p.$r]}" | awk '{print $1}')
		awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.3f ", a / b }'; done)
	# the mean too: a half-open pass (every 1 to 5 s) lands in some
	# rounds and not others, which a median alone would leave out
	echo "  ${LABEL[$p]}: per-round on/off $ratios; $(echo "$ratios" | tr ' ' '\n' |
		awk 'NF { n++; s += $1; q += $1 * $1 } END { m = s / n; v = n > 1 ? (q - n * m * m) / (n - 1) : 0
			printf "mean cost %.1f %% +- %.1f (s.e.)", (1 - m) * 100, sqrt(v > 0 ? v : 0) / sqrt(n) * 100 }')" >>"$LAB_TMP/rounds"
	off=$(col off $p 1); on=$(col on $p 1)
	awk -v a="$on" -v b="$off" -v r="$per" -v l="${LABEL[$p]}" -v lo="$(col off $p 2)/$(col off $p 3)" -v ln="$(col on $p 2)/$(col on $p 3)" \
		'BEGIN { printf "%-24s %10d %10d %14s %14s %8.3f (%s; cost %.1f %%)\n", l, b, a, lo, ln, a/b, r, (1-r)*100 }'
done
cat "$LAB_TMP/rounds"

[ "${ONLY_A:-0}" = 1 ] && exit 0
# --- B: a legitimate client's p99 under a SYN flood from 1,000 sources
# (3 rounds at most: each is two runs of 4 x SECONDS)
BROUNDS=$((ROUNDS < 3 ? ROUNDS : 3))
lab_exec "$LAB_GW" ip route add 198.18.64.0/22 via "$LAB_CLI4" 2>/dev/null
start_sluiced "$LAB_TMP/default.conf"
lat() { lab_exec "$LAB_CLI" python3 "$ROOT/bench/connlat.py" "$LAB_SRV4" 80 "$LAB_CLI4B" 0.2 "$1"; }
LSECS=$((SECS * 4))
declare -A L W
for round in $(seq "$BROUNDS"); do
	lab_exec "$LAB_GW" conntrack -F >/dev/null 2>&1
	L[alone.$round]=$(lat "$LSECS")
	FPID=$(lab_spawn "$LAB_CLI" "$B/bench/pktflood" syn "$LAB_SRV4" 80 198.18.64.1 1000 "$PPS" $((LSECS + 40)))
	# the flood's steady state: its sources are being limited (each soon
	# exceeds the connect rate or holds 160 half-open sessions)
	for i in $(seq 60); do
		n=$("$B/src/sluicectl/sluicectl" -s "$SOCK" counters --json |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"]["flood_sources_limited"])')
		[ "$n" -ge 900 ] && break
		sleep 0.5
	done
	W[$round]="$n sources limited after $((i / 2)) s"
	L[flood.$round]=$(lat "$LSECS")
	lab_kill "$FPID"
	sleep 1
done
limited=$("$B/src/sluicectl/sluicectl" -s "$SOCK" floods | tail -1)
cnt=$("$B/src/sluicectl/sluicectl" -s "$SOCK" counters --json | python3 -c 'import json,sys; c=json.load(sys.stdin)["counters"]; print(" ".join(f"{k} {c[k]}" for k in sorted(c) if k.startswith("packets_flood_")))')
stop_sluiced
echo "B. legitimate client (5 connects/s, ${LSECS}s per run, default limits) alone and during a SYN flood of $PPS/s from 1000 sources"
for k in alone flood; do
	p99=$(for r in $(seq "$BROUNDS"); do echo "${L[$k.$r]}" | awk '{print $8}'; done | med)
	md=$(for r in $(seq "$BROUNDS"); do echo "${L[$k.$r]}" | awk '{print $6}'; done | med)
	okc=$(for r in $(seq "$BROUNDS"); do echo "${L[$k.$r]}" | awk '{print $4 "/" $2}'; done | tr '\n' ' ')
	printf '%-6s median %8s us  p99 %8s us  (connects ok per round: %s)\n' "$k" "$md" "$p99" "$okc"
	eval "P_$k=$p99"
done
awk -v f="$P_flood" -v a="$P_alone" 'BEGIN { if (a > 0) printf "p99 flood/alone = %.2f\n", f / a }'
echo "flood warm-up per round: ${W[*]}"
echo "flood state at the end: $limited; $cnt"
