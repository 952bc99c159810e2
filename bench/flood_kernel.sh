#!/usr/bin/env bash
# flood_kernel.sh — figure A's kernel part alone (issue 15): what the flood
# limits' statements cost the kernel-decided session rate by themselves,
# as sluiced generates them (src/kernel/ruleset.c: decide_new's dispatch,
# flood_tcp4's tcp-connect-rate meter, flood_tcp_concurrent4's `ct
# count`). sluiced installs the "on" ruleset of bench/flood_bench.sh (all
# four limits, never refusing) and is then killed: the kernel decides
# every session of the header-only policy without it, and nothing of
# sluiced's runs (no tcp-half-open pass, no counters read). Between runs
# one `nft -f` transaction puts a variant in place:
#   none   decide_new's two dispatch rules taken out (limits off)
#   dispatch  the dispatch alone: flood_tcp4 returns at once
#   meter  the dispatch and tcp-connect-rate's meter, no `ct count`
#   count  the dispatch and tcp-concurrent's `ct count`, no meter
#   both   the dispatch, the meter and `ct count`: what sluiced installs
#          (tcp-half-open's lookup aside: sluiced takes it out while
#          flood_half_open4 is empty)
# and shapes tried, not what sluiced installs:
#   merged the meter and `ct count` in one rule of flood_tcp4 (no goto
#          into flood_tcp_concurrent4)
#   lean_merged  merged, and decide_new's TCP dispatch rule alone (the
#          non-TCP one taken out)
#   elem2  one dynamic set whose elements hold both the limit and `ct
#          count` (one lookup a SYN); sluiced cannot use it: such an
#          element cannot time out, and it is dropped, its rate state with
#          it, whenever its count falls to 0
# bench/connrate as in flood_bench.sh; the variants' order alternates by
# round. Prints, per kind of client and variant, the median rate and the
# cost against none (median of the per-round ratios; mean +- s.e.).
#   bench/flood_kernel.sh [BUILD_DIR] [SECONDS_PER_RUN] [ROUNDS]
# Environment: KINDS (default "4": 4 clients from one address; also 1,
# 4s), VARIANTS (default "none meter count both", none first; also
# dispatch, merged, lean_merged, elem2), SHOW=1
# prints each variant's rules as it is put in place.
set -uo pipefail
B=$(cd "${1:-build}" && pwd); SECS=${2:-3}; ROUNDS=${3:-15}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
trap 'lab_down >/dev/null 2>&1' EXIT
bench_lab_up "$B"
KINDS=${KINDS:-4}
VARIANTS=${VARIANTS:-none meter count both}
printf '%s\nflood { %s }\n' "$(bench_web_policy)" "$BENCH_FLOOD_ON" >"$LAB_TMP/on.conf"
bench_start_sluiced "$B" "$LAB_TMP/on.conf"
kill_now "$SLUICED_PID"
T="inet sluice"
nftq() { lab_exec "$LAB_GW" nft "$@"; }
# the generated rules, as nft lists them
DISPATCH_TCP=$(nftq list chain $T decide_new | grep 'per-source TCP limits' | sed 's/^[[:space:]]*//')
DISPATCH_UDP=$(nftq list chain $T decide_new | grep 'per-source udp-rate' | sed 's/^[[:space:]]*//')
chain_rules() { nftq list chain $T "$1" | sed -n '/^[[:space:]]*chain /,/^[[:space:]]*}/p' | sed '1d;$d; s/^[[:space:]]*//' | grep -v '@flood_half_open4'; }
RATE=$(chain_rules flood_tcp4)
CONC=$(chain_rules flood_tcp_concurrent4)
[ -n "$DISPATCH_TCP" ] && [ -n "$DISPATCH_UDP" ] && grep -q 'limit rate' <<<"$RATE" && grep -q 'ct count' <<<"$CONC" ||
	{ echo "the generated flood rules were not found" >&2; exit 1; }
RATE_STMT=$(head -1 <<<"$RATE" | sed -n 's/.*{ @nh,96,32 \(limit rate [^}]*\) }.*/\1/p')
COUNT_STMT=$(head -1 <<<"$CONC" | sed -n 's/.*{ @nh,96,32 \(ct count [0-9]*\) }.*/\1/p')
[ -n "$RATE_STMT" ] && [ -n "$COUNT_STMT" ] || { echo "the limits' statements were not found" >&2; exit 1; }
# elem2's set: no timeout (an element with `ct count` cannot have one)
nftq add set $T flood_tcp_both4 "{ type ipv4_addr; size 65536; flags dynamic; }" || exit 1
variant() { # variant NAME: one transaction
	local h p s
	p=$(nftq -a list chain $T decide_new | grep 'ct timeout set "udp_session"' | sed 's/.*# handle //')
	s=$(for h in $(nftq -a list chain $T decide_new | grep 'per-source' | sed 's/.*# handle //'); do
		echo "delete rule $T decide_new handle $h"; done)
	if [ "$1" != none ]; then
		[ "$1" = lean_merged ] || s+=$'\n'"add rule $T decide_new position $p $DISPATCH_UDP"
		s+=$'\n'"add rule $T decide_new position $p $DISPATCH_TCP"
	fi
	s+=$'\n'"flush chain $T flood_tcp4"$'\n'"flush chain $T flood_tcp_concurrent4"
	local r
	case $1 in
	none|both) r=$RATE ;;
	meter) r=${RATE/goto flood_tcp_concurrent4/return} ;;
	count) r="goto flood_tcp_concurrent4" ;;
	dispatch) r="return" ;;
	merged|lean_merged) r=${RATE/goto flood_tcp_concurrent4/$(head -1 <<<"$CONC" | sed 's/ return$//') return} ;;
	elem2) r="add @flood_tcp_both4 { @nh,96,32 $RATE_STMT $COUNT_STMT } return" ;;
	esac
	local c=$CONC
	case $1 in merged|lean_merged|elem2) c=return ;; esac
	while IFS= read -r l; do s+=$'\n'"add rule $T flood_tcp4 $l"; done <<<"$r"
	while IFS= read -r l; do s+=$'\n'"add rule $T flood_tcp_concurrent4 $l"; done <<<"$c"
	nftq -f - <<<"$s"
}
bench_four_sources
measure() { # measure 1|4|4s: the rate
	bench_connrate_kind "$B" "$1" "$SECS" | awk '{print $1}'
}
declare -A R
for round in $(seq "$ROUNDS"); do
	order=$VARIANTS; [ $((round % 2)) = 0 ] && order=$(tr ' ' '\n' <<<"$VARIANTS" | tac | tr '\n' ' ')
	for p in $KINDS; do
		for v in $order; do
			variant "$v" || { echo "variant $v not installed" >&2; exit 1; }
			[ -n "${SHOW:-}" ] && { echo "== $v"; nftq list chain $T decide_new | grep -c per-source; nftq list chain $T flood_tcp4 | grep -v "^table\|^}\|chain\|^\t}"; }
			R[$v.$p.$round]=$(measure "$p")
		done
	done
done
declare -A LABEL=([1]="1 client" [4]="4 clients, 1 address" [4s]="4 clients, 4 addresses")
first=${VARIANTS%% *}
echo "A, the kernel alone (sluiced stopped): new TCP sessions/s per variant of the flood statements; $ROUNDS rounds of ${SECS}s"
for p in $KINDS; do
	for v in $VARIANTS; do
		for r in $(seq "$ROUNDS"); do echo "${R[$v.$p.$r]} ${R[$first.$p.$r]}"; done |
			python3 -c '
import statistics as st, sys
l, v, f = sys.argv[1:4]
pairs = [tuple(map(float, x.split())) for x in sys.stdin if x.strip()]
rate = [a for a, _ in pairs]
q = [a / b for a, b in pairs if b > 0]
se = st.stdev(q) / len(q) ** 0.5 if len(q) > 1 else 0
print("%-24s %-6s median %6d/s  cost vs %s: median %5.1f %%  mean %5.1f +- %.1f %% (s.e.)"
      % (l, v, st.median(rate), f, (1 - st.median(q)) * 100, (1 - st.mean(q)) * 100, se * 100))' "${LABEL[$p]}" "$v" "$first"
	done
done
