#!/usr/bin/env bash
# 60_half_open_syn_recv — flood { tcp-half-open } counts the sessions whose
# server answered (SYN-ACK) but whose handshake never completed (conntrack
# SYN_RECV: not yet IPS_ASSURED, so sluiced's status-filtered dump still
# returns them, src/kernel/conntrack.h ct_stream_open_status): the client's
# final ACKs are dropped in its own namespace, so the gateway sees SYN and
# SYN-ACK only; the source is put into flood_half_open4 and its new SYNs
# are dropped in the kernel.
. "$(dirname "$0")/lib.sh"
kt_up
conf=$(conf_with 'flood { tcp-connect-rate 100000/min tcp-concurrent 100 tcp-half-open 5 udp-rate 1000/s }')
kt_start "$conf" || kt_done
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
# the client's handshake-ending ACKs (ACK alone) to the server never leave
lab_exec "$LAB_CLI" nft -f - <<EOF || kt_fail "ACK drop not installed"
table inet noack {
	chain output {
		type filter hook output priority 0;
		ip saddr $LAB_CLI4 ip daddr $LAB_SRV4 tcp dport 80 tcp flags & (syn | ack | fin | rst) == ack drop
	}
}
EOF
in_set() { lab_exec "$LAB_GW" nft list set inet sluice flood_half_open4 | grep -qw -- "$1"; }
ct_n() { lab_exec "$LAB_GW" conntrack -L -p tcp --src "$1" --state "$2" 2>/dev/null | grep -c .; }
knt() { lab_exec "$LAB_GW" nft list counter inet sluice flood_tcp_half_open | awk '/packets/ { print $2 }'; }

burst "$LAB_CLI" "$LAB_SRV4" 80 10 25 "$LAB_CLI4" >/dev/null &
lab_register_pid $!
n=0
for i in $(seq 75); do # up to 15 s
	n=$(ct_n "$LAB_CLI4" SYN_RECV)
	[ "$n" -ge 10 ] && break
	sleep 0.2
done
[ "$n" -ge 6 ] && kt_ok "carol holds $n sessions in SYN_RECV at the gateway (SYN-ACK seen, final ACK not)" ||
	kt_fail "SYN_RECV entries of carol: $n ($(ct_n "$LAB_CLI4" ESTABLISHED) established)"
inset=no
for i in $(seq 150); do # up to 30 s
	in_set "$LAB_CLI4" && { inset=yes; break; }
	sleep 0.2
done
[ "$inset" = yes ] && kt_ok "carol with $(ct_n "$LAB_CLI4" SYN_RECV) SYN_RECV sessions is in flood_half_open4" ||
	kt_fail "carol is not in flood_half_open4 ($(ct_n "$LAB_CLI4" SYN_RECV) SYN_RECV): $(lab_exec "$LAB_GW" nft list set inet sluice flood_half_open4)"
k0=$(knt)
# (the ACK drop stays: were it lifted, the SYN_RECV sessions would complete
# and carol would leave the set at the next pass)
got=$(burst "$LAB_CLI" "$LAB_SRV4" 80 3 2 "$LAB_CLI4")
k1=$(knt)
[ "$got" = 0 ] && [ "$k1" -gt "$k0" ] &&
	kt_ok "carol's new SYNs are dropped ($got of 3 established, flood_tcp_half_open $k0 -> $k1)" ||
	kt_fail "carol while limited: $got of 3 established, flood_tcp_half_open $k0 -> $k1"
out=$(ctl floods)
echo "$out" | grep -q "^$LAB_CLI4 .*tcp-half-open" &&
	kt_ok "sluicectl floods: $(echo "$out" | grep "^$LAB_CLI4 " | tr -s ' ')" || kt_fail "floods: $out"
kt_done
