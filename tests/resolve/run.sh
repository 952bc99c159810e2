#!/bin/bash
# run.sh BUILD_DIR — the resolver against a real dnsmasq on loopback.
#
# Starts dnsmasq on 127.0.0.1 and ::1, a free high port, --no-resolv
# --no-hosts, with the records below and a query log (keep-in-foreground,
# not no-daemon: in debug mode dnsmasq answers TCP in its only process and
# stops answering UDP while a TCP client keeps its connection open); runs resolve_lab
# natively, then under valgrind (leaks, and the free-with-lookups-in-flight
# path). dnsmasq is killed by pid on every exit path. Needs root (SO_MARK).
set -u
BUILD=${1:?usage: run.sh BUILD_DIR}
LAB=$BUILD/tests/resolve/resolve_lab
[ -x "$LAB" ] || LAB=$BUILD/resolve_lab
[ -x "$LAB" ] || { echo "run.sh: no resolve_lab in $BUILD" >&2; exit 2; }
TMP=$(mktemp -d /tmp/sluice-resolve.XXXXXX)
DNS_PID=

cleanup() {
  stop_dns
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# a free port: bounded search from a random start
PORT=
for _ in $(seq 50); do
  p=$(( 20000 + RANDOM % 30000 ))
  if ! ss -Hlnu "sport = :$p" | grep -q . && ! ss -Hlnt "sport = :$p" | grep -q .; then
    PORT=$p; break
  fi
done
[ -n "$PORT" ] || { echo "run.sh: no free port" >&2; exit 2; }

cat > "$TMP/dnsmasq.conf" <<CONF
port=$PORT
listen-address=127.0.0.1,::1
bind-interfaces
no-resolv
no-hosts
keep-in-foreground
log-queries
log-facility=LOG
local-ttl=600
local=/example/
local=/10.18.198.in-addr.arpa/
local=/11.18.198.in-addr.arpa/
local=/0.1.0.0.8.b.d.0.1.0.0.2.ip6.arpa/
local=/1.1.0.0.8.b.d.0.1.0.0.2.ip6.arpa/
# forward-confirmed
host-record=good.example,198.18.10.1
# spoofed: the PTR names good.example, which resolves elsewhere
ptr-record=11.10.18.198.in-addr.arpa,good.example
# two PTRs, only the second resolves back
host-record=ok2.example,198.18.10.12
ptr-record=12.10.18.198.in-addr.arpa,bad.example
ptr-record=12.10.18.198.in-addr.arpa,ok2.example
# 198.18.10.20: no PTR at all
host-record=many.example,198.18.10.50
host-record=short.example,198.18.10.30,2
host-record=later.example,198.18.10.60
host-record=v6.example,2001:db8:10::1
ptr-record=1.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.8.b.d.0.1.0.0.2.ip6.arpa,good.example
host-record=pf1.example,198.18.10.40,2001:db8:10::40
host-record=pf2.example,198.18.10.40
host-record=pfs.example,198.18.10.41,2
local=/12.18.198.in-addr.arpa/
# names: every confirmed name, bounds never negative
# three PTR names, all resolving back
ptr-record=100.12.18.198.in-addr.arpa,a3.example
ptr-record=100.12.18.198.in-addr.arpa,a1.example
ptr-record=100.12.18.198.in-addr.arpa,a2.example
host-record=a1.example,198.18.12.100
host-record=a2.example,198.18.12.100
host-record=a3.example,198.18.12.100
# a CNAME chain: the PTR name is an alias of an alias of the target
cname=alias1.example,alias2.example
cname=alias2.example,target.example
host-record=target.example,198.18.12.110
ptr-record=110.12.18.198.in-addr.arpa,alias1.example
CONF
# round-robin: 40 addresses for one name (over 512 bytes: TCP), the 35th
# has the name as its PTR; 20 PTR names that exist nowhere (past the
# bound of 16); 20 PTR names that all resolve back
{
  for i in $(seq 1 40); do echo "host-record=rr40.example,198.18.12.$i"; done
  for i in $(seq 1 20); do echo "ptr-record=101.12.18.198.in-addr.arpa,nx$i.example"; done
  for i in $(seq 1 20); do
    echo "ptr-record=102.12.18.198.in-addr.arpa,m$i.example"
    echo "host-record=m$i.example,198.18.12.102"
  done
} >> "$TMP/dnsmasq.conf"

# start_dns LOG — dnsmasq with a fresh query log; sets DNS_PID.
start_dns() {
  sed "s|^log-facility=.*|log-facility=$1|" "$TMP/dnsmasq.conf" > "$TMP/run.conf"
  dnsmasq --conf-file="$TMP/run.conf" >"$TMP/dnsmasq.out" 2>&1 &
  DNS_PID=$!
  local up=
  for _ in $(seq 50); do
    if ss -Hlnu "sport = :$PORT" | grep -q 127.0.0.1; then up=1; break; fi
    kill -0 "$DNS_PID" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$up" ] || { echo "run.sh: dnsmasq did not start" >&2; cat "$TMP/dnsmasq.out" >&2; exit 2; }
  echo "dnsmasq pid $DNS_PID on 127.0.0.1/::1 port $PORT"
}
stop_dns() {
  [ -n "$DNS_PID" ] || return 0
  kill -CONT "$DNS_PID" 2>/dev/null
  kill -TERM "$DNS_PID" 2>/dev/null
  for _ in $(seq 20); do kill -0 "$DNS_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$DNS_PID" 2>/dev/null
  wait "$DNS_PID" 2>/dev/null
  DNS_PID=
}

rc=0
echo "== native"
start_dns "$TMP/queries-native.log"
timeout 120 "$LAB" "$PORT" "$DNS_PID" "$TMP/queries-native.log" || rc=1
stop_dns
echo "== valgrind"
start_dns "$TMP/queries-vg.log"
if command -v valgrind >/dev/null; then
  timeout 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=3 \
    "$LAB" "$PORT" "$DNS_PID" "$TMP/queries-vg.log" --slow || rc=1
else
  echo "valgrind missing"; rc=1
fi
stop_dns
[ $rc = 0 ] && echo "run.sh: PASS" || echo "run.sh: FAIL"
exit $rc
