#!/usr/bin/env bash
# cached_rate.sh — new TCP sessions/s decided in user space from CACHED
# answers only, each kind beside the bare NFQUEUE loop in the same run, and
# OpenSnitch (Debian's opensnitchd, an allow-all rule) as the peer:
#   bare        the queue answered by bench/nfq_bare (same kernel ruleset,
#               forwarded and the gateway's own sessions): no decision
#   table       forwarded, `users staff`, the address table gives user and
#               groups: no lookup at all
#   groups      forwarded, `users staff`, the table gives the user only; the
#               groups from the directory, cached (cache-ttl 600s) after the
#               first session
#   name        forwarded, a rule to a domain set whose exact name was
#               resolved ahead of time (the address's name is cached)
#   uid         the gateway's own sessions (connrate run in the gateway's
#               namespace as root), `users roots { user root }`: uid 0 →
#               user and groups by NSS, cached after the first session
#   opensnitch  opensnitchd in the gateway's namespace (its own config and
#               rules folder, an allow-all rule), the gateway's own sessions
#               (OpenSnitch filters the host's own connections only)
# Forwarded kinds compare with bare/forwarded, uid and opensnitch with
# bare/local. Every flood limit is off, tcp-half-open too (its once-a-
# second read of the whole conntrack table is the main thread's, not the
# decision's; bench/gateway_rate.sh measures it as mode sluiced.ho). Sequential connects (1 client) and 4 clients; medians of
# ROUNDS interleaved rounds of SECS seconds; ratios of the medians and the
# median of the per-round ratios.
#   bench/cached_rate.sh [BUILD_DIR] [SECONDS] [ROUNDS]
# As root; builds its own namespace lab (dnsmasq, slapd); stops what it
# started by pid. MODES="bare uid" runs a subset (bare always runs).
# OpenSnitch: installed with apt-get when missing (its service is not
# started: a policy-rc.d refuses it during the install); skipped with a
# note when it cannot be installed or does not start.
set -uo pipefail
B=$(cd "${1:-build}" && pwd); SECS=${2:-3}; ROUNDS=${3:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODES=${MODES:-"table groups name uid opensnitch"}
case " $MODES " in *" bare "*) ;; *) MODES="bare $MODES" ;; esac

# ---- OpenSnitch: install when missing (not a CI dependency) --------------
want_os=0; case " $MODES " in *" opensnitch "*) want_os=1 ;; esac
if [ $want_os = 1 ] && ! command -v opensnitchd >/dev/null; then
	prc=/usr/sbin/policy-rc.d made_prc=0
	if [ ! -e $prc ]; then printf '#!/bin/sh\nexit 101\n' >$prc; chmod 755 $prc; made_prc=1; fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends opensnitch >/dev/null 2>&1 ||
		{ apt-get update >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends opensnitch >/dev/null 2>&1; }
	[ $made_prc = 1 ] && rm -f $prc
fi
if [ $want_os = 1 ] && ! command -v opensnitchd >/dev/null; then
	echo "opensnitch: not installed (apt-get failed); skipped"; MODES=${MODES/opensnitch/}
fi

. "$ROOT/bench/lib.sh"
bench_lab_up "$B" "dns ldap"
head='network clients { 198.18.1.0/24 }
network servers { 198.18.2.0/24 }
users staff { group staff }
users roots { user root }
domains sites { www.lab.sluice.test }
protocol web tcp 80
decisions { slots 100000 per-source 100000 deadline 60s }
flood { tcp-connect-rate 0 udp-rate 0 tcp-concurrent 0 tcp-half-open 0 }
queue { watchdog 120s length 65536 buffer 65536 }
resolver { servers 198.18.3.2 }
directory ldap { uri "ldap://198.18.4.2:389" base "dc=lab,dc=sluice,dc=test" cache-ttl 600s timeout 60s }'
mk() { printf '%s\n%s\n' "$head" "$2" >"$LAB_TMP/$1.conf"; }
mk users 'rule "r" allow web from clients to servers users staff'
mk name 'rule "r" allow web from clients to sites'
mk uid 'rule "r" allow web from localhost to servers users roots'
mk bare 'rule "r" allow web from clients to servers users staff
rule "l" allow web from localhost to servers users roots'

start() { bench_start_sluiced "$B" "$1"; }
SLUICED_PID=; BARE_PID=; OS_PID=
flush_fw() {
	lab_exec "$LAB_GW" nft delete table inet sluice 2>/dev/null
	for t in iptables-nft ip6tables-nft; do
		for tb in filter mangle; do lab_exec "$LAB_GW" $t -t $tb -F; lab_exec "$LAB_GW" $t -t $tb -X; done
	done 2>/dev/null
}
stop_all() {
	[ -n "$SLUICED_PID$BARE_PID$OS_PID" ] && lab_kill $SLUICED_PID $BARE_PID $OS_PID
	SLUICED_PID=; BARE_PID=; OS_PID=
	flush_fw
}

# OpenSnitch 1.5 reads /etc/opensnitchd/default-config.json (no option for
# another file): it runs in a mount namespace of its own in which a private
# folder is bound over /etc/opensnitchd; rules in a private folder too.
OSDIR=$LAB_TMP/opensnitch
mkdir -p "$OSDIR/etc" "$OSDIR/rules"
cat >"$OSDIR/etc/default-config.json" <<EOF
{
    "Server": { "Address": "unix://$OSDIR/ui.sock", "LogFile": "$OSDIR/opensnitchd.log" },
    "DefaultAction": "deny",
    "DefaultDuration": "once",
    "InterceptUnknown": false,
    "ProcMonitorMethod": "${OS_METHOD:-proc}",
    "LogLevel": 3,
    "Firewall": "iptables",
    "Stats": { "MaxEvents": 150, "MaxStats": 25 }
}
EOF
[ -f /etc/opensnitchd/system-fw.json ] && cp /etc/opensnitchd/system-fw.json "$OSDIR/etc/"
cat >"$OSDIR/rules/000-allow-all.json" <<'EOF'
{
  "created": "2026-11-30T00:00:00Z",
  "updated": "2026-11-30T00:00:00Z",
  "name": "000-allow-all",
  "enabled": true,
  "precedence": true,
  "action": "allow",
  "duration": "always",
  "operator": { "type": "simple", "operand": "true", "sensitive": false, "data": "", "list": [] }
}
EOF
start_os() {
	OS_PID=$(LAB_SPAWN_LOG=$OSDIR/stdout.log lab_spawn "$LAB_GW" unshare -m --propagation private \
		sh -c 'mount --bind "$1/etc" /etc/opensnitchd && exec opensnitchd -rules-path "$1/rules" -queue-num 0 -important' sh "$OSDIR")
	for i in $(seq 100); do
		lab_exec "$LAB_GW" iptables -t mangle -S OUTPUT 2>/dev/null | grep -q NFQUEUE && { sleep 0.5; return 0; }
		kill -0 "$OS_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "opensnitchd did not install its queue rule; log:" >&2; tail -5 "$OSDIR/stdout.log" "$OSDIR/opensnitchd.log" >&2
	return 1
}

setup() {
	stop_all
	case $1 in
	bare) start "$LAB_TMP/bare.conf"; kill_now "$SLUICED_PID"; SLUICED_PID=
		BARE_PID=$(lab_spawn "$LAB_GW" "$B/bench/nfq_bare" 0 --mark 0x40000000/0xc0000000); sleep 0.3 ;;
	table) start "$LAB_TMP/users.conf"; $CTL identity add "$LAB_CLI4" carol --groups staff >/dev/null ;;
	groups) start "$LAB_TMP/users.conf"; $CTL identity add "$LAB_CLI4" carol >/dev/null ;;
	name) start "$LAB_TMP/name.conf" ;;
	uid) start "$LAB_TMP/uid.conf" ;;
	opensnitch) start_os || return 1 ;;
	esac
	# one session first: the cached kinds measure the cache, not the miss
	lab_exec "$(client_ns "$1")" "$B/bench/connrate" client "$LAB_SRV4" 80 --seconds 0.3 --conns 1 >/dev/null 2>&1
	sleep 0.3
}
client_ns() { case $1 in uid|opensnitch|bare.l) echo "$LAB_GW" ;; *) echo "$LAB_CLI" ;; esac; }
measure() { # measure MODE PARALLEL → "rate median p99"
	lab_exec "$LAB_GW" conntrack -F >/dev/null 2>&1
	lab_exec "$(client_ns "$1")" "$B/bench/connrate" client "$LAB_SRV4" 80 --parallel "$2" --seconds "$SECS" --conns 2000000 |
		awk '{for (i=1;i<NF;i++) { if ($i=="rate") r=$(i+1); if ($i=="median") m=$(i+1); if ($i=="p99") p=$(i+1) } } END { sub("/s","",r); print r+0, m, p }'
}
declare -A R W
rows=()
for m in $MODES; do [ $m = bare ] && rows+=(bare.f bare.l) || rows+=($m); done
for round in $(seq "$ROUNDS"); do
	for m in $MODES; do
		if ! setup "$m"; then
			for p in 1 4; do R[$m.$p.$round]="0 - -"; done; continue
		fi
		if [ $m = bare ]; then
			for p in 1 4; do R[bare.f.$p.$round]=$(measure bare.f $p); R[bare.l.$p.$round]=$(measure bare.l $p); done
		else
			for p in 1 4; do R[$m.$p.$round]=$(measure "$m" $p); done
			# how the questions were answered (the last round's)
			[ -n "$SLUICED_PID" ] && W[$m]=$($CTL counters --json 2>/dev/null | python3 -c '
import json, sys
c = json.load(sys.stdin); c = c.get("counters", c)
g = lambda k: int(c.get(k, 0) or 0)
print("%d of %d sessions decided at once; %d questions answered on the worker; identity cache hits %d" % (
    g("sessions_decided_at_once"), g("sessions_service_decided"),
    g("lookups_answered_on_worker"), g("identity_cache_hits")))' 2>/dev/null)
		fi
	done
done
stop_all
base() { case $1 in uid|opensnitch|bare.l) echo bare.l ;; *) echo bare.f ;; esac; }
med() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
col() { for r in $(seq "$ROUNDS"); do echo "${R[$1.$2.$r]}" | awk -v c="$3" '{print $c}'; done | med; }
pr() { # per-round ratio median
	for r in $(seq "$ROUNDS"); do
		awk -v a="$(echo "${R[$1.$2.$r]}" | awk '{print $1}')" -v b="$(echo "${R[$(base $1).$2.$r]}" | awk '{print $1}')" \
			'BEGIN { if (b > 0) printf "%.3f\n", a/b; else print 0 }'
	done | med
}
echo "new TCP sessions/s decided from cached answers (median of $ROUNDS rounds of ${SECS}s; connect latency median/p99 us)"
printf '%-11s %11s %13s %11s %13s   %-22s %-22s\n' setup "1 client/s" "lat 1" "4 clients/s" "lat 4" "vs bare, 1 (per round)" "vs bare, 4 (per round)"
for m in "${rows[@]}"; do
	b=$(base $m)
	printf '%-11s %11s %13s %11s %13s   %-22s %-22s\n' "$m" "$(col $m 1 1)" "$(col $m 1 2)/$(col $m 1 3)" \
		"$(col $m 4 1)" "$(col $m 4 2)/$(col $m 4 3)" \
		"$(awk -v a="$(col $m 1 1)" -v b="$(col $b 1 1)" 'BEGIN{printf "%.2f", b ? a/b : 0}') ($(pr $m 1))" \
		"$(awk -v a="$(col $m 4 1)" -v b="$(col $b 4 1)" 'BEGIN{printf "%.2f", b ? a/b : 0}') ($(pr $m 4))"
done
for m in $MODES; do [ -n "${W[$m]:-}" ] && printf '%-11s %s\n' "$m" "${W[$m]}"; done
echo "(bare.f: forwarded, the baseline of table, groups, name; bare.l: the gateway's own, the baseline of uid and opensnitch)"
