#!/usr/bin/env bash
# 19_icmp — ICMP and ICMPv6 sessions, forwarded and local, allowed and
# denied: an echo session that needs the user crosses to sluiced once (its
# first request) and is allowed or denied by who sends it; echo sessions
# decided by header-only rules never cross; the gateway's own pings go
# through the input and output hooks; ICMP errors about an allowed session
# reach the client (related to it) without crossing.
. "$(dirname "$0")/lib.sh"
kt_up
conf=$LAB_TMP/icmp.conf
cat >"$conf" <<'EOF'
network clients { 198.18.1.0/24 2001:db8:1::/64 }
network servers { 198.18.2.0/24 2001:db8:2::/64 }
network infra   { 198.18.3.0/24 2001:db8:3::/64 }
users staff { group staff }
protocol ping  icmp echo-request
protocol ping6 icmpv6 echo-request
protocol probe udp 5399
rule "staff ping"  allow { ping ping6 } from clients to servers users staff
rule "staff probe" allow probe from clients to servers users staff
rule "ping infra"  allow { ping ping6 } from any to infra
rule "ping gw"     allow { ping ping6 } from clients to localhost
EOF
kt_start "$conf" || kt_done
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
ctl identity add "$LAB_CLI6" carol --groups staff >/dev/null

# ping_ok NS ARGS...: three echo requests of one session (one ICMP id)
ping_ok() { local ns=$1; shift; lab_exec "$ns" ping -c 3 -i 0.2 -W 1 "$@" >/dev/null 2>&1; }
ping_no() { local ns=$1; shift; ! lab_exec "$ns" ping -c 1 -W 1 "$@" >/dev/null 2>&1; }

# forwarded, needing the user: one crossing per echo session
queued_by "carol pings a server (IPv4): 3 echoes, one crossing" 1 \
	kt_check "carol's ping to $LAB_SRV4 is answered" ping_ok "$LAB_CLI" "$LAB_SRV4"
queued_by "carol pings a server (IPv6): one crossing" 1 \
	kt_check "carol's ping to $LAB_SRV6 is answered" ping_ok "$LAB_CLI" -6 "$LAB_SRV6"
queued_by "an unidentified client's ping crosses, then is denied" 1+ \
	kt_check "ping from $LAB_CLI4B (nobody) is dropped" ping_no "$LAB_CLI" -I "$LAB_CLI4B" "$LAB_SRV4"
queued_by "the same over IPv6" 1+ \
	kt_check "ping from $LAB_CLI6B (nobody) is dropped" ping_no "$LAB_CLI" -6 -I "$LAB_CLI6B" "$LAB_SRV6"
out=$(ctl sessions)
# (a session is two lines: addresses, then rule, user and name)
echo "$out" | tr '\n' ' ' | grep -q "icmp [^ ]* -> [^ ]* type 8 .*rule staff ping *user carol" && kt_ok "sessions lists carol's icmp session under 'staff ping'" ||
	kt_fail "sessions: $out"

# forwarded, header-only: the kernel decides, nothing crosses
queued_by "a client pings infra: the kernel allows" 0 \
	kt_check "ping to $LAB_DNS4 is answered" ping_ok "$LAB_CLI" "$LAB_DNS4"
queued_by "the same over IPv6" 0 \
	kt_check "ping to $LAB_DNS6 is answered" ping_ok "$LAB_CLI" -6 "$LAB_DNS6"
queued_by "a server pings a client: no rule, the kernel denies" 0 \
	kt_check "ping from a server to $LAB_CLI4 is dropped" ping_no "$LAB_SRV" "$LAB_CLI4"
queued_by "the same over IPv6" 0 \
	kt_check "ping from a server to $LAB_CLI6 is dropped" ping_no "$LAB_SRV" -6 "$LAB_CLI6"

# local: to the gateway (input hook) and from it (output hook)
queued_by "a client pings the gateway: the kernel allows (input)" 0 \
	kt_check "ping to $LAB_GW_CLI4 is answered" ping_ok "$LAB_CLI" "$LAB_GW_CLI4"
queued_by "the same over IPv6" 0 \
	kt_check "ping to $LAB_GW_CLI6 is answered" ping_ok "$LAB_CLI" -6 "$LAB_GW_CLI6"
queued_by "the DNS host pings the gateway: no rule, denied (input)" 0 \
	kt_check "ping from the DNS host to the gateway is dropped" ping_no "$LAB_DNS" "$LAB_GW_DNS4"
queued_by "the gateway pings a client: no rule, denied (output)" 0 \
	kt_check "ping from the gateway to $LAB_CLI4 is dropped" ping_no "$LAB_GW" "$LAB_CLI4"
queued_by "the same over IPv6" 0 \
	kt_check "ping from the gateway to $LAB_CLI6 is dropped" ping_no "$LAB_GW" -6 "$LAB_CLI6"

# an ICMP error about an allowed session: carol's UDP probe to a closed port
# is allowed (one crossing); the server's port-unreachable is related to it
# and reaches her socket as ECONNREFUSED, without crossing.
probe() { # probe NS FAMILY ADDR: prints what a connected UDP socket hears back
	lab_exec "$1" python3 - "$2" "$3" <<'PY'
import socket, sys
fam = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(1.5)
s.connect((sys.argv[2], 5399))
s.send(b"x")
try:
    s.recv(100)
    print("answer")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")
PY
}
before=$(qseq)
got=$(probe "$LAB_CLI" 4 "$LAB_SRV4")
[ "$got" = refused ] && kt_ok "IPv4: the port-unreachable error reached carol (related)" ||
	kt_fail "IPv4 probe to a closed port: $got, want refused"
got=$(probe "$LAB_CLI" 6 "$LAB_SRV6")
[ "$got" = refused ] && kt_ok "IPv6: the port-unreachable error reached carol (related)" ||
	kt_fail "IPv6 probe to a closed port: $got, want refused"
n=$(( $(qseq) - before ))
[ "$n" -eq 2 ] && kt_ok "two probe sessions crossed once each; their ICMP errors did not cross" ||
	kt_fail "probes: queued $n, want 2"
kt_done
