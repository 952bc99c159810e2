#!/usr/bin/env bash
# decide_rate.sh — sessions per second decided in user space by sluiced,
# with the bare NFQUEUE loop (bench/nfq_bare, same kernel ruleset) measured
# in the same run as the baseline:
#   bare        the queue answered by nfq_bare: no decision at all
#   cached      a rule needing the user (address table, groups given) and the
#               destination's name (resolved ahead of time): no I/O
#   cold-ldap   the user's groups from slapd on every session (cache off)
#   cold-dns    the destination's name by PTR + A from dnsmasq every session
#               (cache off; the address is not prefetched)
# then the largest number of pending decisions held with the directory
# stopped (SIGSTOP), and resident memory per pending decision.
#   bench/decide_rate.sh [BUILD_DIR] [SECONDS] [ROUNDS] [HOLD_N]
set -uo pipefail
B=$(cd "${1:-build}" && pwd); SECS=${2:-3}; ROUNDS=${3:-3}; HOLD=${4:-20000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
bench_lab_up "$B" "dns ldap"
head='network clients { 198.18.1.0/24 }
network servers { 198.18.2.0/24 }
users staff { group staff }
protocol web tcp 80
decisions { slots 100000 per-source 100000 deadline 60s }
flood { tcp-connect-rate 0 udp-rate 0 tcp-concurrent 0 }
queue { watchdog 120s length 65536 buffer 65536 }'
mk() { # mk NAME RULE [EXTRA]
	printf '%s\n%s\n%s\n' "$head" "$2" "${3:-}" >"$LAB_TMP/$1.conf"
}
mk cached 'domains sites { www.lab.sluice.test }
rule "r" allow web from clients to sites users staff' \
	'resolver { servers 198.18.3.2 }'
mk cold-ldap 'rule "r" allow web from clients to servers users staff' \
	'directory ldap { uri "ldap://198.18.4.2:389" base "dc=lab,dc=sluice,dc=test" cache-ttl 0 timeout 60s }'
mk cold-dns 'domains names { *.lab.sluice.test }
rule "r" allow web from clients to names' \
	'resolver { servers 198.18.3.2 cache 0 timeout 2s }'
start() { bench_start_sluiced "$B" "$1"; }
# Processes are stopped by the pids this script started (lab_kill: TERM,
# then KILL after 2 s), never by name.
SLUICED_PID=; BARE_PID=
stop_all() {
	[ -n "$SLUICED_PID$BARE_PID" ] && lab_kill $SLUICED_PID $BARE_PID
	SLUICED_PID=; BARE_PID=
	lab_exec "$LAB_GW" nft delete table inet sluice 2>/dev/null
	for t in iptables-nft ip6tables-nft; do lab_exec "$LAB_GW" $t -F; lab_exec "$LAB_GW" $t -X; done 2>/dev/null
}
setup() {
	stop_all
	case $1 in
	bare) start "$LAB_TMP/cached.conf"; kill_now "$SLUICED_PID"; SLUICED_PID=
		BARE_PID=$(lab_spawn "$LAB_GW" "$B/bench/nfq_bare" 0 --mark 0x40000000/0xc0000000); sleep 0.3 ;;
	cached) start "$LAB_TMP/cached.conf"; $CTL identity add "$LAB_CLI4" carol --groups staff >/dev/null; sleep 0.5 ;;
	cold-ldap) start "$LAB_TMP/cold-ldap.conf"; $CTL identity add "$LAB_CLI4" carol >/dev/null ;;
	cold-dns) start "$LAB_TMP/cold-dns.conf" ;;
	esac
}
target() { echo "$LAB_SRV4"; }
measure() { # measure MODE PARALLEL → "rate median p99"
	lab_exec "$LAB_GW" conntrack -F >/dev/null 2>&1
	lab_exec "$LAB_CLI" "$B/bench/connrate" client "$(target "$1")" 80 --parallel "$2" --seconds "$SECS" --conns 2000000 |
		awk '{for (i=1;i<NF;i++) { if ($i=="rate") r=$(i+1); if ($i=="median") m=$(i+1); if ($i=="p99") p=$(i+1) } } END { sub("/s","",r); print r, m, p }'
}
# cold-dns: the policy names *.lab.sluice.test (a suffix: nothing is
# resolved ahead) and the resolver caches nothing: every session asks PTR and
# A of www (198.18.2.2)
declare -A R
modes="bare cached cold-ldap cold-dns"
for round in $(seq "$ROUNDS"); do
	for m in $modes; do setup "$m"; for p in 1 4; do R[$m.$p.$round]=$(measure "$m" $p); done; done
done
med() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
col() { for r in $(seq "$ROUNDS"); do echo "${R[$1.$2.$r]}" | awk -v c="$3" '{print $c}'; done | med; }
echo "sessions/s decided in user space (median of $ROUNDS rounds of ${SECS}s; connect latency median/p99 us)"
printf '%-10s %12s %14s %12s %14s %10s\n' setup "1 client/s" "lat 1" "4 clients/s" "lat 4" "vs bare(4)"
for m in $modes; do
	printf '%-10s %12s %14s %12s %14s %10s\n' "$m" "$(col $m 1 1)" "$(col $m 1 2)/$(col $m 1 3)" \
		"$(col $m 4 1)" "$(col $m 4 2)/$(col $m 4 3)" \
		"$(awk -v a="$(col $m 4 1)" -v b="$(col bare 4 1)" 'BEGIN{printf "%.2f", a/b}')"
done

# held decisions: the directory stopped, HOLD sessions opened at once
setup cold-ldap
pid=$SLUICED_PID
rss0=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
kill -STOP "$PEERS_LDAP_PID"
lab_exec "$LAB_CLI" python3 - "$LAB_SRV4" "$HOLD" <<'PY' &
import resource, socket, sys, time
dst, n = sys.argv[1], int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
n = min(n, hard - 200)
socks = []
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect((dst, 80))
    except BlockingIOError:
        pass
    except OSError:
        s.close(); continue
    socks.append(s)
time.sleep(12)
PY
py=$!
maxp=0
for i in $(seq 40); do
	p=$($CTL status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["pending"])')
	[ "$p" -gt "$maxp" ] && maxp=$p
	sleep 0.25
done
rss1=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
kill -CONT "$PEERS_LDAP_PID"
wait "$py" 2>/dev/null
stop_all
echo "directory stopped, $HOLD sessions opened at once (capped by the fd limit): $maxp decisions pending at most;"
echo "sluiced resident memory $rss0 -> $rss1 KiB: $(awk -v a="$rss0" -v b="$rss1" -v n="$maxp" 'BEGIN { if (n) printf "%.0f", (b-a)*1024/n; else print "-" }') bytes per pending decision"
