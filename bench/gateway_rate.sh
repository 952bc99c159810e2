#!/usr/bin/env bash
# gateway_rate.sh — new TCP sessions per second through the lab gateway, in
# one run, for four set-ups:
#   none     no firewall on the gateway (no conntrack either)
#   conntrack  a one-rule nft table that only tracks and accepts: the cost
#            of connection tracking alone, which every stateful firewall pays
#   kernel   sluiced running a header-only policy: the kernel decides
#   bare     the same kernel ruleset as "sluiced", the queue answered by
#            bench/nfq_bare (a minimal NFQUEUE accept loop): the baseline
#   sluiced  sluiced deciding each SYN in user space (a users rule, the
#            identity from its address table)
#   kernel.rpoff  "kernel" with `spoofing { reverse-path off }`: beside
#            "kernel", the cost of the reverse-path check (one FIB lookup
#            per packet in prerouting; MODES adds it)
#   sluiced.ho  the same with flood { tcp-half-open } at its default (80):
#            sluiced then reads the whole conntrack table once a second
#            (src/sluiced/halfopen.c); every other set-up runs with all
#            flood limits off, as the bare loop has none (MODES adds it)
# each with 1 and 4 parallel clients (connect + RST close, bench/connrate).
# Rounds interleave the set-ups; the table shows medians and the ratios the
# issue asks for (kernel/none, sluiced/bare), also as the median of the
# per-round ratios. MODES="bare sluiced" runs a subset.
# BEFORE=DIR: another build (an older tree) for before/after in one run:
# kernel, bare and sluiced each also run with that build's sluiced and
# ruleset, right after their own in every round (modes "kernel@before",
# ...); the client, server and bench/nfq_bare are this build's for both.
# RATE=R: each set-up is also measured at an offered load of R new
# sessions/s (4 clients, bench/connrate --rate): achieved sessions/s and
# failed connects (a dropped SYN fails after 3 s) at the same load.
#   [BEFORE=DIR] [RATE=R] bench/gateway_rate.sh [BUILD_DIR] [SECONDS_PER_RUN] [ROUNDS]
set -uo pipefail
B=$(cd "${1:-build}" && pwd); SECS=${2:-4}; ROUNDS=${3:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
lab_up >/dev/null || exit 1
lab_spawn "$LAB_SRV" "$B/bench/connrate" server "$LAB_SRV4" 80 --threads 2 >/dev/null
SOCK=$LAB_TMP/ctl.sock
BEFORE=${BEFORE:+$(cd "$BEFORE" && pwd)}
base='network clients { 198.18.1.0/24 }
network servers { 198.18.2.0/24 }
protocol web tcp 80
decisions { slots 4096 per-source 4096 }'
flood='flood { tcp-connect-rate 0 udp-rate 0 tcp-concurrent 0 tcp-half-open 0 }'
floodho='flood { tcp-connect-rate 0 udp-rate 0 tcp-concurrent 0 }'
confs() { # confs BUILD SUFFIX: kernel$SUFFIX.conf and user$SUFFIX.conf for
	# BUILD's sluiced; the flood limits off where BUILD has them (a tree
	# without `flood { }` has no such limits)
	local b=$1 x=$2 f=$flood fho=$floodho
	printf '%s\n%s\nrule "web" allow web from clients to servers\n' "$base" "$f" >"$LAB_TMP/probe.conf"
	if ! "$b/src/sluicectl/sluicectl" check -c "$LAB_TMP/probe.conf" >/dev/null 2>&1; then
		f=$fho # a tree without tcp-half-open
		printf '%s\n%s\nrule "web" allow web from clients to servers\n' "$base" "$f" >"$LAB_TMP/probe.conf"
		"$b/src/sluicectl/sluicectl" check -c "$LAB_TMP/probe.conf" >/dev/null 2>&1 ||
			{ f= fho=; echo "$b: no flood { } (no flood limits to turn off)" >&2; }
	fi
	printf '%s\n%s\nrule "web" allow web from clients to servers\n' "$base" "$f" >"$LAB_TMP/kernel$x.conf"
	printf '%s\n%s\nspoofing { reverse-path off }\nrule "web" allow web from clients to servers\n' "$base" "$f" >"$LAB_TMP/kernelrpoff$x.conf"
	printf '%s\n%s\nusers staff { group staff }\nrule "staff web" allow web from clients to servers users staff\n' \
		"$base" "$f" >"$LAB_TMP/user$x.conf"
	printf '%s\n%s\nusers staff { group staff }\nrule "staff web" allow web from clients to servers users staff\n' \
		"$base" "$fho" >"$LAB_TMP/userho$x.conf"
}
confs "$B" ""
[ -n "$BEFORE" ] && confs "$BEFORE" "@before"
SB=$B # the build whose sluiced runs (setup)

start_sluiced() { bench_start_sluiced "$SB" "$1"; }
# Processes are stopped by the pids this script started (lab_kill: TERM,
# then KILL after 2 s), never by name.
SLUICED_PID=; BARE_PID=
stop_all() {
	[ -n "$SLUICED_PID$BARE_PID" ] && lab_kill $SLUICED_PID $BARE_PID
	SLUICED_PID=; BARE_PID=
	lab_exec "$LAB_GW" nft delete table inet sluice 2>/dev/null
	lab_exec "$LAB_GW" nft delete table inet ctonly 2>/dev/null
	for t in iptables-nft ip6tables-nft; do
		lab_exec "$LAB_GW" $t -F 2>/dev/null; lab_exec "$LAB_GW" $t -X 2>/dev/null
	done
	lab_exec "$LAB_GW" conntrack -F >/dev/null 2>&1
}
setup() { # setup MODE: MODE@before runs BEFORE's sluiced and ruleset
	stop_all
	local x=""
	SB=$B
	case $1 in *@before) SB=$BEFORE x=@before ;; esac
	case ${1%@before} in
	none) ;;
	conntrack) lab_exec "$LAB_GW" nft -f - <<'NFT'
table inet ctonly {
	chain forward { type filter hook forward priority 0; policy accept; ct state established,related accept; ct state new accept; }
}
NFT
		;;
	kernel) start_sluiced "$LAB_TMP/kernel$x.conf" ;;
	kernel.rpoff) start_sluiced "$LAB_TMP/kernelrpoff$x.conf" ;;
	sluiced|sluiced.ho)
		local c=user; [ "${1%@before}" = sluiced.ho ] && c=userho
		start_sluiced "$LAB_TMP/$c$x.conf"
		"$SB/src/sluicectl/sluicectl" -s "$SOCK" identity add "$LAB_CLI4" carol --groups staff >/dev/null ;;
	bare) # the same ruleset, left behind by a killed sluiced, answered by nfq_bare
		start_sluiced "$LAB_TMP/user$x.conf"
		kill_now "$SLUICED_PID"; SLUICED_PID=
		BARE_PID=$(lab_spawn "$LAB_GW" "$B/bench/nfq_bare" 0 --mark 0x40000000/0xc0000000 --range 128)
		sleep 0.3 ;;
	esac
}
measure() { # measure PARALLEL [RATE]: prints "rate median_us p99_us errors"
	lab_exec "$LAB_GW" conntrack -F >/dev/null 2>&1
	lab_exec "$LAB_CLI" "$B/bench/connrate" client "$LAB_SRV4" 80 --parallel "$1" \
		--seconds "$SECS" --conns 2000000 ${2:+--rate "$2"} |
		awk '{for (i=1;i<NF;i++) { if ($i=="rate") r=$(i+1); if ($i=="median") m=$(i+1); if ($i=="p99") p=$(i+1); if ($i=="errors") e=$(i+1) } } END { sub("/s","",r); print r, m, p, e }'
}
declare -A R
dmodes="none conntrack kernel bare sluiced"
[ -n "$BEFORE" ] && dmodes="none conntrack kernel kernel@before bare bare@before sluiced sluiced@before"
modes=${MODES:-$dmodes}
RATE=${RATE:-}
cols="1 4${RATE:+ r}"
for round in $(seq "$ROUNDS"); do
	for m in $modes; do
		setup "$m"
		for p in 1 4; do R[$m.$p.$round]=$(measure $p); done
		[ -n "$RATE" ] && R[$m.r.$round]=$(measure 4 "$RATE")
	done
done
stop_all
med() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
echo "new TCP sessions/s through the gateway (median of $ROUNDS rounds of ${SECS}s; connect latency median/p99 in us)"
printf '%-15s %12s %16s %12s %16s' setup "1 client/s" "lat 1 (us)" "4 clients/s" "lat 4 (us)"
[ -n "$RATE" ] && printf ' %12s %8s %16s' "at $RATE/s" "failed" "lat (us)"
echo
declare -A M
for m in $modes; do
	row=""
	for p in $cols; do
		rate=$(for r in $(seq "$ROUNDS"); do echo "${R[$m.$p.$r]}" | awk '{print $1}'; done | med)
		lm=$(for r in $(seq "$ROUNDS"); do echo "${R[$m.$p.$r]}" | awk '{print $2}'; done | med)
		lp=$(for r in $(seq "$ROUNDS"); do echo "${R[$m.$p.$r]}" | awk '{print $3}'; done | med)
		M[$m.$p]=$rate
		if [ "$p" = r ]; then # failed connects: the sum over rounds
			fe=$(for r in $(seq "$ROUNDS"); do echo "${R[$m.$p.$r]}" | awk '{print $4}'; done | awk '{s += $1} END {print s + 0}')
			row+=$(printf ' %12s %8s %16s' "$rate" "$fe" "$lm/$lp")
		else
			row+=$(printf ' %12s %16s' "$rate" "$lm/$lp")
		fi
	done
	printf '%-15s%s\n' "$m" "$row"
done
[ -n "$RATE" ] && echo "(at $RATE/s: achieved sessions/s, median of rounds; failed: connects that failed, all rounds)"
# ratios of the medians, and the median of the per-round ratios (each
# round runs every set-up back to back: pairs within a round share the
# machine's mood, which on a shared, noisy host moves more than the effect)
rr() { # rr A B P: median over rounds of A/B at P clients
	for r in $(seq "$ROUNDS"); do
		a=$(echo "${R[$1.$3.$r]:-}" | awk '{print $1}'); b=$(echo "${R[$2.$3.$r]:-}" | awk '{print $1}')
		[ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.3f\n", a / b }'
	done | med
}
has() { case " $modes " in *" $1 "*) return 0 ;; esac; return 1; }
for p in 1 4; do
	line="$p client(s):"
	if has kernel && has none; then
		line+=$(awk -v k="${M[kernel.$p]}" -v n="${M[none.$p]}" 'BEGIN { printf " kernel/none = %.2f", k/n }')
		line+=" (per round $(rr kernel none $p))"
	fi
	if has kernel && has conntrack; then
		line+=$(awk -v k="${M[kernel.$p]}" -v c="${M[conntrack.$p]}" 'BEGIN { printf "  kernel/conntrack = %.2f", k/c }')
		line+=" (per round $(rr kernel conntrack $p))"
	fi
	if has kernel && has kernel.rpoff; then
		line+=$(awk -v k="${M[kernel.$p]}" -v o="${M[kernel.rpoff.$p]}" 'BEGIN { printf "  kernel/kernel.rpoff = %.3f", k/o }')
		line+=" (per round $(rr kernel kernel.rpoff $p))"
	fi
	if has sluiced && has bare; then
		line+=$(awk -v s="${M[sluiced.$p]}" -v b="${M[bare.$p]}" 'BEGIN { printf "  sluiced/bare = %.2f", s/b }')
		line+=" (per round $(rr sluiced bare $p))"
	fi
	if has sluiced.ho && has bare; then
		line+=$(awk -v s="${M[sluiced.ho.$p]}" -v b="${M[bare.$p]}" 'BEGIN { printf "  sluiced.ho/bare = %.2f", s/b }')
		line+=" (per round $(rr sluiced.ho bare $p))"
	fi
	[ "$line" != "$p client(s):" ] && echo "$line"
done
# before/after: each set-up against the same set-up with BEFORE's build
for p in $cols; do
	line=""
	for m in kernel bare sluiced sluiced.ho; do
		has "$m" && has "$m@before" || continue
		line+=$(awk -v a="${M[$m.$p]}" -v b="${M[$m@before.$p]}" -v m="$m" 'BEGIN { if (b > 0) printf "  %s after/before = %.2f", m, a/b }')
		line+=" (per round $(rr "$m" "$m@before" "$p"))"
	done
	[ -n "$line" ] && echo "$([ "$p" = r ] && echo "at $RATE/s" || echo "$p client(s)"):$line"
done
exit 0 # (the last test above fails when there is no before/after line)
