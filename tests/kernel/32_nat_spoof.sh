#!/usr/bin/env bash
# 32_nat_spoof — networks bound to interfaces and nat rules, IPv4 and IPv6:
# a client's session to the external side arrives with the gateway's
# address (masquerade) or the via address (enhanced NAT); the access rules
# still decide (NAT opens nothing); a packet whose source does not belong
# on the interface it arrived on is dropped before conntrack and counted
# (packets_spoofed), a count a reload does not take back.
. "$(dirname "$0")/lib.sh"
kt_up
# the servers' side is external (bound to no network): srv0
VIA4=198.18.2.9
ip -n "$LAB_GW" addr add "$VIA4/32" dev srv0
# a server that answers with the address it sees the session from
lab_spawn "$LAB_SRV" timeout 120 socat TCP4-LISTEN:8081,reuseaddr,fork \
	SYSTEM:'echo peer $SOCAT_PEERADDR' >/dev/null
lab_spawn "$LAB_SRV" timeout 120 socat TCP6-LISTEN:8081,ipv6only=1,reuseaddr,fork \
	SYSTEM:'echo peer $SOCAT_PEERADDR' >/dev/null
conf=$LAB_TMP/nat.conf
cat >"$conf" <<EOF
network clients { 198.18.1.0/24 2001:db8:1::/64 } on cli0
network infra   { 198.18.3.0/24 2001:db8:3::/64 } on dns0
network dir     { 198.18.4.0/24 2001:db8:4::/64 } on dir0
protocol seen tcp 8081
protocol ssh tcp 22
protocol ping icmp echo-request
protocol ping6 icmpv6 echo-request
nat clients to external
nat infra to external via $VIA4
rule "seen"  allow seen from { clients infra } to external
rule "ping"  allow { ping ping6 } from any to any
EOF
"$SLUICECTL" check -c "$conf" >/dev/null && kt_ok "the policy checks clean" || kt_fail "check: $("$SLUICECTL" check -c "$conf" 2>&1)"
kt_start "$conf" || kt_done

seen() { # seen NS ADDR [BIND]: the peer address the server reports
	local a=$2 opt=""
	case $a in *:*) a="[$a]" ;; esac
	[ -n "${3:-}" ] && opt=",bind=$3"
	lab_exec "$1" timeout 5 socat -T 2 - "TCP:$a:8081,connect-timeout=2$opt" </dev/null 2>/dev/null |
		sed -n 's/^peer //p' | tr -d '[]' |
		python3 -c 'import ipaddress,sys; [print(ipaddress.ip_address(l.strip())) for l in sys.stdin if l.strip()]'
}
s=$(seen "$LAB_CLI" "$LAB_SRV4")
[ "$s" = "$LAB_GW_SRV4" ] && kt_ok "IPv4 client masqueraded: the server sees $s" ||
	kt_fail "IPv4 masquerade: the server sees '$s', want $LAB_GW_SRV4"
s=$(seen "$LAB_CLI" "$LAB_SRV6")
[ "$s" = "$LAB_GW_SRV6" ] && kt_ok "IPv6 client masqueraded: the server sees $s" ||
	kt_fail "IPv6 masquerade: the server sees '$s', want $LAB_GW_SRV6"
s=$(seen "$LAB_DNS" "$LAB_SRV4")
[ "$s" = "$VIA4" ] && kt_ok "infra leaves via $VIA4 (snat)" ||
	kt_fail "nat via: the server sees '$s', want $VIA4"
s=$(seen "$LAB_DNS" "$LAB_SRV6")
[ "$s" = "$LAB_DNS6" ] && kt_ok "infra's IPv6 is routed (via is IPv4): the server sees $s" ||
	kt_fail "IPv6 of infra: the server sees '$s', want $LAB_DNS6"
expect_talk "NAT opens nothing: ssh from a client is still denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 22
expect_talk "NAT opens nothing (IPv6)" 0 "$LAB_CLI" TCP6 "$LAB_SRV6" 22
out=$("$SLUICECTL" check -c "$conf" --flow "tcp $LAB_CLI4:40000 -> $LAB_SRV4:8081" 2>&1)
echo "$out" | grep -q "nat clients to external" && kt_ok "sluicectl check names the nat rule" ||
	kt_fail "check --flow: $out"

spoofed() { ctl counters --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"]["packets_spoofed"])'; }
ct_from() { lab_exec "$LAB_GW" conntrack -L -s "$1" 2>/dev/null | grep -c . ; }
# the client forges addresses: infra's (bound to dns0), an external one,
# IPv6 likewise; the server forges a client's address
ip -n "$LAB_CLI" addr add 198.18.3.77/32 dev gw0
ip -n "$LAB_CLI" addr add 198.18.9.9/32 dev gw0
ip -n "$LAB_CLI" -6 addr add 2001:db8:3::77/128 dev gw0 nodad preferred_lft 0
ip -n "$LAB_SRV" addr add 198.18.1.77/32 dev gw0
ip -n "$LAB_SRV" -6 addr add 2001:db8:1::77/128 dev gw0 nodad preferred_lft 0
n0=$(spoofed)
for spec in "$LAB_CLI $LAB_SRV4 198.18.3.77" "$LAB_CLI $LAB_SRV4 198.18.9.9" \
	"$LAB_CLI $LAB_SRV6 2001:db8:3::77" "$LAB_SRV $LAB_CLI4 198.18.1.77" \
	"$LAB_SRV $LAB_CLI6 2001:db8:1::77"; do
	set -- $spec
	s=$(seen "$1" "$2" "$3")
	[ -z "$s" ] && kt_ok "forged source $3 from $1 gets nowhere" || kt_fail "forged $3: server saw '$s'"
	c=$(ct_from "$3")
	[ "$c" = 0 ] && kt_ok "no conntrack entry for $3 (dropped before conntrack)" ||
		kt_fail "$c conntrack entries from $3"
done
# stats are read on the service's tick: wait for the count, bounded
for i in $(seq 40); do
	n1=$(spoofed); [ "$((n1 - n0))" -ge 5 ] && break; sleep 0.25
done
[ "$((n1 - n0))" -ge 5 ] && kt_ok "packets_spoofed counted them ($n0 -> $n1)" ||
	kt_fail "packets_spoofed $n0 -> $n1, want at least 5 more"
k=$(lab_exec "$LAB_GW" nft list chain inet sluice spoofed | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
[ "${k:-0}" -ge 5 ] && kt_ok "the kernel's spoofed counter: $k" || kt_fail "nft spoofed counter: '$k'"
# a reload replaces the kernel table (its counter starts again at 0):
# packets_spoofed never goes back, and counts on from there
ctl reload >/dev/null || kt_fail "reload failed"
n2=$(spoofed)
k2=$(lab_exec "$LAB_GW" nft list chain inet sluice spoofed | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
[ "$n2" -ge "$n1" ] && kt_ok "after a reload packets_spoofed $n1 -> $n2 (the new table's counter: ${k2:-none})" ||
	kt_fail "packets_spoofed went back on reload: $n1 -> $n2 (the new table's counter: ${k2:-none})"
s=$(seen "$LAB_CLI" "$LAB_SRV4" 198.18.9.9)
for i in $(seq 40); do
	n3=$(spoofed); [ "$n3" -gt "$n2" ] && break; sleep 0.25
done
[ "$n3" -gt "$n2" ] && kt_ok "a forged packet after the reload adds to it: $n2 -> $n3" ||
	kt_fail "packets_spoofed after the reload: $n2 -> $n3, want more"
# the genuine addresses still pass (no false positive), both families
s=$(seen "$LAB_CLI" "$LAB_SRV4" "$LAB_CLI4B")
[ "$s" = "$LAB_GW_SRV4" ] && kt_ok "a client's own second address passes" || kt_fail "genuine $LAB_CLI4B: '$s'"
lab_exec "$LAB_CLI" ping -c 2 -i 0.2 -W 1 "$LAB_GW_CLI4" >/dev/null && kt_ok "ping to the gateway passes" || kt_fail "ping gateway"
lab_exec "$LAB_CLI" ping -6 -c 2 -i 0.2 -W 1 "$LAB_GW_CLI6" >/dev/null && kt_ok "ping6 to the gateway passes (ND from link-local)" || kt_fail "ping6 gateway"
kt_done
