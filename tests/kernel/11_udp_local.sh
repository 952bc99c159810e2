#!/usr/bin/env bash
# 11_udp_local — UDP sessions are "one minute of activity" (here: the
# configured udp-timeout): a session of many datagrams crosses once and ends
# after the idle time; ICMP sessions likewise (the gateway namespace's icmp
# sysctls, restored on a clean stop; other namespaces untouched); the
# gateway's own traffic (output and input hooks) is `localhost` to the
# policy, decided by the kernel or the service.
. "$(dirname "$0")/lib.sh"
kt_up
gw_before=$(icmp_sysctls "$LAB_GW"); cli_before=$(icmp_sysctls "$LAB_CLI")
conf=$(conf_with 'queue { udp-timeout 3s }' \
	'rule "to the gateway" allow web from clients to localhost users staff')
kt_start "$conf" || kt_done
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
ctl identity add "$LAB_CLI6" carol --groups staff >/dev/null

queued_by "UDP IPv4 (staff voice): 5 datagrams, one crossing" 1 \
	expect_talk "UDP IPv4 echo works" 5 "$LAB_CLI" UDP4 "$LAB_SRV4" 5301
queued_by "UDP IPv6: one crossing" 1 \
	expect_talk "UDP IPv6 echo works" 5 "$LAB_CLI" UDP6 "$LAB_SRV6" 5301

# one fixed source port: the same 5-tuple is the same session while active
sport=40123
queued_by "first burst from :$sport" 1 \
	expect_talk "first burst" 5 "$LAB_CLI" UDP4 "$LAB_SRV4" "5301,sourceport=$sport,reuseaddr"
queued_by "second burst 1 s later: same session, not queued" 0 \
	expect_talk "second burst" 5 "$LAB_CLI" UDP4 "$LAB_SRV4" "5301,sourceport=$sport,reuseaddr"
n=$(lab_exec "$LAB_GW" conntrack -L -p udp --sport $sport 2>/dev/null | grep -c "dport=5301")
[ "$n" -ge 1 ] && kt_ok "the session is in conntrack" || kt_fail "no conntrack entry"
t=$(lab_exec "$LAB_GW" conntrack -L -p udp --sport $sport 2>/dev/null | awk '/dport=5301/ {print $3; exit}')
[ -n "$t" ] && [ "$t" -le 3 ] && kt_ok "its timeout is the udp-timeout (${t}s left <= 3)" ||
	kt_fail "conntrack timeout '$t', want <= 3"

# ICMP: one echo each way, then the same idle time
[ "$(icmp_sysctls "$LAB_GW")" = "3 3" ] && kt_ok "gateway icmp/icmpv6 timeouts: 3 3 (were $gw_before)" ||
	kt_fail "gateway icmp timeouts '$(icmp_sysctls "$LAB_GW")', want '3 3'"
[ "$(icmp_sysctls "$LAB_CLI")" = "$cli_before" ] && kt_ok "another namespace keeps its own ($cli_before)" ||
	kt_fail "client namespace icmp timeouts changed: $(icmp_sysctls "$LAB_CLI")"
lab_exec "$LAB_CLI" ping -c1 -W2 "$LAB_SRV4" >/dev/null && lab_exec "$LAB_CLI" ping -6 -c1 -W2 "$LAB_SRV6" >/dev/null &&
	kt_ok "ping IPv4 and IPv6" || kt_fail "ping"
for fam in icmp icmpv6; do
	t=$(lab_exec "$LAB_GW" conntrack -L -p $fam 2>/dev/null | awk '{print $3; exit}')
	[ -n "$t" ] && [ "$t" -le 3 ] && kt_ok "$fam session timeout ${t}s left <= 3" ||
		kt_fail "$fam conntrack timeout '$t', want <= 3"
done
sleep 4
n=$(lab_exec "$LAB_GW" conntrack -L -p udp --sport $sport 2>/dev/null | grep -c "dport=5301")
[ "$n" -eq 0 ] && kt_ok "after 4 s idle the session is gone" || kt_fail "session still there after idle"
n=$(lab_exec "$LAB_GW" conntrack -L 2>/dev/null | grep -c "^icmp")
[ "$n" -eq 0 ] && kt_ok "after 4 s idle the ICMP sessions are gone" || kt_fail "$n ICMP sessions still there after idle"
queued_by "a burst after the idle time is a new session" 1 \
	expect_talk "third burst" 5 "$LAB_CLI" UDP4 "$LAB_SRV4" "5301,sourceport=$sport,reuseaddr"

# the gateway's own traffic: output to servers' web is "gateway web" (kernel)
queued_by "gateway to server web: kernel allows (output hook)" 0 \
	expect_talk "gateway's web session works" 5 "$LAB_GW" TCP4 "$LAB_SRV4" 80
queued_by "gateway to server ssh: kernel denies" 0 \
	expect_talk "gateway's ssh is denied" 0 "$LAB_GW" TCP4 "$LAB_SRV4" 22
# input hook: a client to the gateway needs the user (rule 1 and the added rule)
lab_spawn "$LAB_GW" timeout 60 socat TCP4-LISTEN:8080,reuseaddr,fork EXEC:cat >/dev/null
lab_spawn "$LAB_GW" timeout 60 socat TCP6-LISTEN:8080,ipv6only=1,reuseaddr,fork EXEC:cat >/dev/null
sleep 0.3
queued_by "carol to the gateway's web (input hook): one crossing" 1 \
	expect_talk "carol reaches the gateway" 5 "$LAB_CLI" TCP4 "$LAB_GW_CLI4" 8080
queued_by "carol to the gateway, IPv6" 1 \
	expect_talk "carol reaches the gateway (IPv6)" 5 "$LAB_CLI" TCP6 "$LAB_GW_CLI6" 8080
ctl identity del "$LAB_CLI4" >/dev/null
queued_by "unidentified client to the gateway" 1+ \
	expect_talk "an unidentified client cannot reach the gateway" 0 "$LAB_CLI" TCP4 "$LAB_GW_CLI4" 8080

# a reload applies a new udp-timeout to ICMP too; a clean stop puts the
# namespace's ICMP timeouts back
sed -i 's/udp-timeout 3s/udp-timeout 5s/' "$conf"
ctl reload >/dev/null && [ "$(icmp_sysctls "$LAB_GW")" = "5 5" ] && kt_ok "reload to udp-timeout 5s: icmp timeouts 5 5" ||
	kt_fail "after reload: $(icmp_sysctls "$LAB_GW"), want '5 5'"
kt_stop
[ "$(icmp_sysctls "$LAB_GW")" = "$gw_before" ] && kt_ok "clean stop restored the icmp timeouts ($gw_before)" ||
	kt_fail "after stop: $(icmp_sysctls "$LAB_GW"), want $gw_before"
kt_done
