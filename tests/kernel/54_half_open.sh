#!/usr/bin/env bash
# 54_half_open — flood { tcp-half-open }: a source holding more unanswered
# TCP sessions than the limit (SYNs to a server address that drops them)
# is put into flood_half_open4/6 by sluiced and its further SYNs are
# dropped in the kernel (counter flood_tcp_half_open), IPv6 sources by /64;
# another source goes on; a source with many answered sessions (below
# tcp-concurrent) is not limited; an exception never is; a source leaves
# the set when its unanswered sessions are gone; flood_tcp4/6 look the set
# up only while it has elements (sluiced takes the lookup out and back).
. "$(dirname "$0")/lib.sh"
kt_up
conf=$(conf_with "computers trusted { $LAB_CLI4B }" \
	'flood { tcp-connect-rate 100000/min tcp-concurrent 100 tcp-half-open 5 udp-rate 1000/s exceptions trusted }')
# unanswered sessions end 10 s after their last SYN (default 120 s), so the
# leaving is seen within the test; a client's SYN retransmits (1, 3, 7, 15 s)
# keep its entry from its first SYN to 25 s
lab_exec "$LAB_GW" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_syn_sent=10
kt_start "$conf" || kt_done
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
ctl identity add "$LAB_CLI6" carol --groups staff >/dev/null
ctl identity add "$LAB_CLI6B" carol --groups staff >/dev/null
ctl identity add "$LAB_CLI4B" alice >/dev/null
# the server drops every SYN to its second addresses: nobody answers there
lab_exec "$LAB_SRV" nft -f - <<EOF || kt_fail "black hole not installed"
table inet blackhole {
	chain input {
		type filter hook input priority 0;
		ip daddr $LAB_SRV4B tcp dport 80 drop
		ip6 daddr $LAB_SRV6B tcp dport 80 drop
	}
}
EOF

# in_set FAM ADDR: ADDR is an element of flood_half_open FAM
in_set() {
	lab_exec "$LAB_GW" nft list set inet sluice "flood_half_open$1" | grep -qw -- "$2"
}
# wait_set FAM ADDR yes|no: polls up to 30 s for ADDR to be in (out of) it
wait_set() {
	local i
	for i in $(seq 150); do
		if in_set "$1" "$2"; then [ "$3" = yes ] && return 0
		else [ "$3" = no ] && return 0; fi
		sleep 0.2
	done
	return 1
}
knt() { lab_exec "$LAB_GW" nft list counter inet sluice flood_tcp_half_open | awk '/packets/ { print $2 }'; }
# lookup FAM: flood_tcpFAM looks flood_half_openFAM up (1) or not (0)
lookup() { lab_exec "$LAB_GW" nft list chain inet sluice "flood_tcp$1" | grep -c "@flood_half_open$1 "; }
# wait_lookup FAM 0|1: polls up to 15 s (passes are 1 to 5 s apart)
wait_lookup() {
	local i
	for i in $(seq 75); do
		[ "$(lookup "$1")" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}
# no source over the limit yet: a pass takes the lookups out, so a SYN
# pays for none (the ruleset installs them: a reload may find sources over)
wait_lookup 4 0 && wait_lookup 6 0 &&
	kt_ok "no source over tcp-half-open: flood_tcp4/6 look nothing up" ||
	kt_fail "flood_tcp4 with an empty set: $(lab_exec "$LAB_GW" nft list chain inet sluice flood_tcp4)"
# ct_n SRC STATE: conntrack entries of SRC in STATE
ct_n() { lab_exec "$LAB_GW" conntrack -L -p tcp --src "$1" --state "$2" 2>/dev/null | grep -c .; }
# wait_ct SRC STATE N: polls up to 15 s for N entries
wait_ct() {
	local i
	for i in $(seq 75); do
		[ "$(ct_n "$1" "$2")" -ge "$3" ] && return 0
		sleep 0.2
	done
	return 1
}

# --- meanwhile: carol (v4) holds 12 answered sessions (over 5, below
# tcp-concurrent 100), alice (an exception) 10 unanswered ones
burst "$LAB_CLI" "$LAB_SRV4" 80 12 14 "$LAB_CLI4" >"$LAB_TMP/answered" &
bp=$!
lab_register_pid $bp
wait_ct "$LAB_CLI4" ESTABLISHED 12 || kt_fail "carol's 12 sessions: $(ct_n "$LAB_CLI4" ESTABLISHED) established"
burst "$LAB_CLI" "$LAB_SRV4B" 80 10 20 "$LAB_CLI4B" >/dev/null &
lab_register_pid $!
wait_ct "$LAB_CLI4B" SYN_SENT 10 || kt_fail "alice's 10 SYNs: $(ct_n "$LAB_CLI4B" SYN_SENT) in conntrack"

# --- IPv6 by /64: carol's v6 address sends 10 SYNs nobody answers; the
# pass that puts its /64 into the set saw the sessions above as well
burst "$LAB_CLI" "$LAB_SRV6B" 80 10 10 "$LAB_CLI6" >/dev/null &
lab_register_pid $!
wait_set 6 "2001:db8:1::" yes && kt_ok "the /64 2001:db8:1:: with $(ct_n "$LAB_CLI6" SYN_SENT) unanswered sessions is in flood_half_open6" ||
	kt_fail "flood_half_open6: $(lab_exec "$LAB_GW" nft list set inet sluice flood_half_open6)"
k6=$(knt)
got=$(burst "$LAB_CLI" "$LAB_SRV6" 80 1 2 "$LAB_CLI6B")
k6b=$(knt)
[ "$got" = 0 ] && [ "$k6b" -gt "$k6" ] &&
	kt_ok "another address of the /64 ($LAB_CLI6B, allowed by its rule) is limited too (flood_tcp_half_open $k6 -> $k6b)" ||
	kt_fail "$LAB_CLI6B: $got connected while its /64 is limited, flood_tcp_half_open $k6 -> $k6b"
if in_set 4 "$LAB_CLI4"; then
	kt_fail "carol with answered sessions was put into flood_half_open4"
else
	est=$(ct_n "$LAB_CLI4" ESTABLISHED)
	[ "$est" -ge 12 ] && kt_ok "carol (v4) with $est answered sessions (tcp-half-open 5) is not limited" ||
		kt_fail "carol's answered sessions ended too early to tell ($est left)"
fi
expect_talk "carol (v4) opens one more answered session meanwhile" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80 "$LAB_CLI4"
# (its sessions were there, unanswered, from before the /64's pass to now)
if in_set 4 "$LAB_CLI4B"; then
	kt_fail "the exception $LAB_CLI4B was put into flood_half_open4"
else
	ho=$(ct_n "$LAB_CLI4B" SYN_SENT)
	[ "$ho" -gt 5 ] && kt_ok "the exception $LAB_CLI4B with $ho unanswered sessions is not limited" ||
		kt_fail "the exception's unanswered sessions ended too early to tell ($ho left)"
fi
expect_talk "the exception goes on" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80 "$LAB_CLI4B"
wait $bp
[ "$(cat "$LAB_TMP/answered")" = 12 ] && kt_ok "all 12 of carol's answered sessions were established" ||
	kt_fail "answered sessions established: $(cat "$LAB_TMP/answered")"

# --- IPv4: carol sends 10 SYNs nobody answers
k0=$(knt)
burst "$LAB_CLI" "$LAB_SRV4B" 80 10 8 "$LAB_CLI4" >/dev/null &
lab_register_pid $!
wait_set 4 "$LAB_CLI4" yes && kt_ok "carol with $(ct_n "$LAB_CLI4" SYN_SENT) unanswered sessions is in flood_half_open4" ||
	kt_fail "carol is not in flood_half_open4: $(lab_exec "$LAB_GW" nft list set inet sluice flood_half_open4)"
[ "$(lookup 4)" = 1 ] && kt_ok "flood_tcp4 looks flood_half_open4 up while carol is in it" ||
	kt_fail "carol in the set, flood_tcp4: $(lab_exec "$LAB_GW" nft list chain inet sluice flood_tcp4)"
s=$(counter flood_half_open_sources)
[ "$s" -ge 1 ] && kt_ok "the gauge flood_half_open_sources: $s" || kt_fail "flood_half_open_sources $s while carol is in the set"
got=$(burst "$LAB_CLI" "$LAB_SRV4" 80 3 2 "$LAB_CLI4")
k1=$(knt)
[ "$got" = 0 ] && [ "$k1" -gt "$k0" ] &&
	kt_ok "carol's new SYNs to an answering server are dropped ($got of 3 established, flood_tcp_half_open $k0 -> $k1)" ||
	kt_fail "carol while limited: $got of 3 established, flood_tcp_half_open $k0 -> $k1"
expect_talk "alice (another source) goes on meanwhile" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80 "$LAB_CLI4B"
out=$(ctl floods)
echo "$out" | grep -q "^$LAB_CLI4 .*tcp-half-open ([0-9]* unanswered)" &&
	kt_ok "sluicectl floods: $(echo "$out" | grep "^$LAB_CLI4 " | tr -s ' ')" || kt_fail "floods: $out"
ctl floods --json | python3 -c 'import json,sys; f=json.load(sys.stdin)["floods"]; assert any(x["source"]=="'"$LAB_CLI4"'" and x["reason"]=="tcp-half-open" and x["half_open"]>5 for x in f)' &&
	kt_ok "floods --json: reason tcp-half-open with the count" || kt_fail "floods --json: $(ctl floods --json)"
c=$(counter packets_flood_tcp_half_open)
[ "$c" -ge "$((k1 - k0))" ] && [ "$c" -gt 0 ] && kt_ok "counters: packets_flood_tcp_half_open $c" ||
	kt_fail "counters: packets_flood_tcp_half_open $c (the kernel's rose $k0 -> $k1)"

# --- leaving: carol's unanswered sessions end (10 s after their last SYN)
if wait_set 4 "$LAB_CLI4" no; then
	kt_ok "carol left flood_half_open4 once her unanswered sessions ended ($(ct_n "$LAB_CLI4" SYN_SENT) left)"
	expect_talk "carol connects again" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80 "$LAB_CLI4"
	wait_lookup 4 0 && kt_ok "the set empty again: flood_tcp4's lookup is out" ||
		kt_fail "flood_tcp4 after the set emptied: $(lab_exec "$LAB_GW" nft list chain inet sluice flood_tcp4)"
	# a reload installs the lookup again; the next pass, knowing that,
	# takes it out
	ctl reload >/dev/null || kt_fail "reload"
	wait_lookup 4 0 && wait_lookup 6 0 && kt_ok "after a reload the lookups go out again" ||
		kt_fail "after a reload: $(lab_exec "$LAB_GW" nft list chain inet sluice flood_tcp4)"
else
	kt_fail "carol still in flood_half_open4: $(ct_n "$LAB_CLI4" SYN_SENT) unanswered"
fi
kt_done
