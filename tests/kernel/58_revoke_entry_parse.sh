#!/usr/bin/env bash
# 58_revoke_entry_parse — revocation reads each conntrack entry of the dump
# itself (libmnl, src/kernel/conntrack.c entry_parse): every family and
# protocol is read right, as the judgment shows. Entries made with
# conntrack(8), all marked ALLOW by rule "bulk" (rule id 2: 0x40020000), then
# a reload whose "bulk" allows only ICMPv6 echo: IPv6 TCP and IPv4 ICMP
# entries are cut (their addresses, ports and types read), an IPv4 TCP entry
# to port 80 moves to rule "r" (id 1: 0x40010000; its port read), an IPv6
# UDP entry to 5301 moves to rule "u" (id 3), the ICMPv6 echo stays "bulk"
# (its type read). A GRE entry with keys (PPTP's) and a UDP-Lite one are
# cut: the tuple that names them to the kernel has their keys and ports.
. "$(dirname "$0")/lib.sh"
kt_up
conf=$LAB_TMP/parse.conf
write_conf() { # $1: the protocols of "bulk"
	cat >"$conf" <<EOF
network clients { 198.18.1.0/24 2001:db8:1::/64 }
network servers { 198.18.2.0/24 2001:db8:2::/64 }
protocol web tcp 80
protocol bulk tcp 9000
protocol echo udp 5301
protocol ping icmp echo-request
protocol ping6 icmpv6 echo-request
rule "r"    allow web from clients to servers
rule "bulk" allow $1 from clients to servers
rule "u"    allow echo from clients to servers
EOF
}
write_conf "{ bulk ping ping6 }"
kt_start "$conf" || kt_done
M=0x40020000
ins() { lab_exec "$LAB_GW" conntrack -I "$@" -m "$M" >/dev/null 2>&1 || kt_fail "conntrack -I $*"; }
ins -p tcp -s 2001:db8:1::2 -d 2001:db8:2::2 --sport 1000 --dport 9000 --state ESTABLISHED -t 300 -u SEEN_REPLY
ins -p tcp -s 2001:db8:1::2 -d 2001:db8:2::2 --sport 1001 --dport 9000 --state ESTABLISHED -t 300 -u SEEN_REPLY
ins -p icmp -s 198.18.1.2 -d 198.18.2.2 --icmp-type 8 --icmp-code 0 --icmp-id 41 -t 30
ins -p tcp -s 198.18.1.2 -d 198.18.2.2 --sport 1002 --dport 80 --state ESTABLISHED -t 300 -u SEEN_REPLY
ins -p udp -s 2001:db8:1::2 -d 2001:db8:2::2 --sport 1003 --dport 5301 -t 300
ins -p icmpv6 -s 2001:db8:1::2 -d 2001:db8:2::2 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 42 -t 30
ins -p gre -s 198.18.1.2 -d 198.18.2.2 --srckey 3 --dstkey 4 -t 300
ins -p udplite -s 198.18.1.2 -d 198.18.2.2 --sport 1004 --dport 7000 -t 300
n=$(lab_exec "$LAB_GW" conntrack -L -m "$M" 2>/dev/null | grep -c .)
[ "$n" = 8 ] && kt_ok "8 entries of rule bulk" || kt_fail "$n entries of rule bulk, want 8"
write_conf "ping6"
out=$(ctl reload 2>&1)
kt_ok "reload: $(tr '\n' ' ' <<<"$out")"
for i in $(seq 100); do grep -q 'revocation (generation [0-9]*):' "$LAB_TMP/sluiced.log" && break; sleep 0.1; done
l=$(grep 'revocation (generation [0-9]*):' "$LAB_TMP/sluiced.log" | tail -1)
grep -q ': 8 sessions judged, 5 cut' <<<"$l" && kt_ok "$l" || kt_fail "walk: '$l' (want 8 judged, 5 cut)"
ls=$(lab_exec "$LAB_GW" conntrack -L 2>/dev/null)
has() { grep -- "$1" <<<"$ls" | grep -q "mark=$(($2))"; }
! grep -q 'dport=9000' <<<"$ls" && kt_ok "IPv6 TCP to 9000 cut" || kt_fail "IPv6 TCP kept: $(grep dport=9000 <<<"$ls")"
! grep -q '^icmp .*id=41' <<<"$ls" && kt_ok "IPv4 ICMP echo cut" || kt_fail "IPv4 ICMP kept: $(grep 'id=41' <<<"$ls")"
has 'sport=1002 dport=80' 0x40010000 && kt_ok "IPv4 TCP to 80 moved to rule r" || kt_fail "IPv4 TCP: $(grep 'dport=80 ' <<<"$ls")"
has 'sport=1003 dport=5301' 0x40030000 && kt_ok "IPv6 UDP to 5301 moved to rule u" || kt_fail "IPv6 UDP: $(grep 'dport=5301' <<<"$ls")"
has 'type=128 code=0 id=42' 0x40020000 && kt_ok "ICMPv6 echo kept under bulk" || kt_fail "ICMPv6: $(grep 'id=42' <<<"$ls")"
! grep -q '^gre ' <<<"$ls" && kt_ok "GRE with keys cut" || kt_fail "GRE with keys kept: $(grep '^gre ' <<<"$ls")"
! grep -q '^udplite ' <<<"$ls" && kt_ok "UDP-Lite cut" || kt_fail "UDP-Lite kept: $(grep '^udplite ' <<<"$ls")"
kt_done
