#!/usr/bin/env bash
# 30_names_every — a destination is known by every name it has,
# and a bound never makes "no such name". Against a real dnsmasq (its own,
# keep-in-foreground: in no-daemon mode dnsmasq serves a TCP client in its
# only process and stops answering UDP meanwhile) in the DNS namespace:
#   - the 36th of 40 round-robin addresses of a prefetched work name, whose
#     PTR names an unrelated CDN host (a CDN's shape): allowed by the name;
#   - an address with two confirmed PTR names, the work site second: allowed;
#   - an address shared by a blocked and a work name: denied by the first
#     rule, the blocked name logged;
#   - an address with 20 confirmed PTR names, none a work site: the first 16
#     are checked, so the set is partial and "no ads" cannot be ruled out:
#     denied by the deadline, never by "no name" — and the one with no name
#     at all is denied at once by the default.
. "$(dirname "$0")/lib.sh"
. "$KT_ROOT/tests/lab/peers.sh"
kt_up
N=$LAB_TMP/names
mkdir -p "$N"
for i in 45 51 52 53 54; do
	lab_exec "$LAB_SRV" ip addr add 198.18.2.$i/24 dev gw0 || kt_fail "address .$i"
done
{
	printf 'no-resolv\nno-hosts\nkeep-in-foreground\nbind-interfaces\n'
	printf 'listen-address=%s\nport=53\nlocal-ttl=30\nlog-queries\nlog-facility=%s/queries.log\n' "$LAB_DNS4" "$N"
	printf 'local=/lab.sluice.test/\nlocal=/2.18.198.in-addr.arpa/\n'
	for i in $(seq 10 49); do echo "host-record=rr40.work.lab.sluice.test,198.18.2.$i"; done
	echo "ptr-record=45.2.18.198.in-addr.arpa,edge45.cdn.lab.sluice.test"
	echo "host-record=edge45.cdn.lab.sluice.test,198.18.2.45"
	echo "ptr-record=51.2.18.198.in-addr.arpa,other.lab.sluice.test"
	echo "ptr-record=51.2.18.198.in-addr.arpa,www.work.lab.sluice.test"
	echo "host-record=other.lab.sluice.test,198.18.2.51"
	echo "host-record=www.work.lab.sluice.test,198.18.2.51"
	echo "host-record=ads.lab.sluice.test,198.18.2.52"
	echo "host-record=shop.work.lab.sluice.test,198.18.2.52"
	echo "ptr-record=52.2.18.198.in-addr.arpa,nothing.lab.sluice.test"
	for i in $(seq 1 20); do
		echo "ptr-record=53.2.18.198.in-addr.arpa,x$i.other.lab.sluice.test"
		echo "host-record=x$i.other.lab.sluice.test,198.18.2.53"
	done
} >"$N/dnsmasq.conf"
peers_dnsmasq "$N/dnsmasq.conf" || { kt_fail "dnsmasq did not start"; kt_done; }
cat >"$N/sluice.conf" <<CONF
network clients { 198.18.1.0/24 2001:db8:1::/64 }
network infra   { 198.18.3.0/24 2001:db8:3::/64 }
domains blocked { ads.lab.sluice.test }
domains work    { *.work.lab.sluice.test rr40.work.lab.sluice.test shop.work.lab.sluice.test }
protocol web tcp 80
protocol dns udp 53
rule "no ads"  deny  web from clients to blocked
rule "work"    allow web from clients to work
rule "lookups" allow dns from localhost to infra
resolver  { servers $LAB_DNS4 timeout 500ms negative-ttl 5s }
decisions { slots 4096 per-source 256 deadline 2s }
log { format json file "$N/fw.log" }
CONF
kt_start "$N/sluice.conf" || kt_done
# the prefetch of rr40 (40 addresses: over TCP) is in
for i in $(seq 50); do
	grep -q "query\[A\] rr40.work.lab.sluice.test" "$N/queries.log" 2>/dev/null && break
	sleep 0.1
done
sleep 1
expect_talk "the 36th of 40 addresses of a prefetched work name (PTR: a CDN host) is allowed" \
	5 "$LAB_CLI" TCP4 198.18.2.45 80
expect_talk "two confirmed PTR names, the work site second: allowed" 5 "$LAB_CLI" TCP4 198.18.2.51 80
expect_talk "a blocked and a work name share the address: denied" 0 "$LAB_CLI" TCP4 198.18.2.52 80
expect_talk "20 PTR names, none a work site (16 checked): denied" 0 "$LAB_CLI" TCP4 198.18.2.53 80
expect_talk "no name at all: denied" 0 "$LAB_CLI" TCP4 198.18.2.54 80
sleep 0.5
python3 - "$N/fw.log" <<'PY' && kt_ok "the log: who decided, by which name, and why" || kt_fail "log records: $(cat "$N/fw.log")"
import json, sys
recs = {}
for l in open(sys.argv[1]):
    r = json.loads(l)
    recs.setdefault(r["destination"].split(":")[0], []).append(r)
def one(addr):
    return recs[addr][-1]
r = one("198.18.2.45"); assert r["action"] == "allow" and r["rule"] == "work" and r["name"] == "rr40.work.lab.sluice.test", r
r = one("198.18.2.51"); assert r["action"] == "allow" and r["name"] == "www.work.lab.sluice.test", r
r = one("198.18.2.52"); assert r["action"] == "deny" and r["rule"] == "no ads" and r["name"] == "ads.lab.sluice.test", r
r = one("198.18.2.53"); assert r["action"] == "deny" and r["reason"] == "deadline", r
r = one("198.18.2.54"); assert r["action"] == "deny" and r["reason"] == "default", r
PY
b=$(ctl counters --json | python3 -c "import json,sys; print(json.load(sys.stdin)['counters']['dns_names_bounded'])")
[ "$b" -ge 1 ] && kt_ok "dns_names_bounded counts the cut lookup ($b)" || kt_fail "dns_names_bounded $b"
n=$(grep -c "query\[A\] x[0-9]*.other.lab.sluice.test" "$N/queries.log")
[ "$n" -eq 16 ] && kt_ok "16 of 20 PTR names were checked" || kt_fail "$n forward queries for the 20 PTR names"
kt_done
