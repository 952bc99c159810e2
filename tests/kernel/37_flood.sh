#!/usr/bin/env bash
# 37_flood — flood mitigation in the kernel: per-source limits
# (flood { tcp-concurrent tcp-connect-rate udp-rate exceptions }) refuse a
# flooding source before anything is queued, IPv6 sources counted by /64,
# while other sources go on; `sluicectl floods` lists the limited sources,
# the counters and the default alert see them; an exception is never limited,
# nor are the gateway's own sessions; with udp-rate alone TCP never meets the
# UDP meter and UDP is still cut.
. "$(dirname "$0")/lib.sh"
kt_up
conf=$(conf_with 'flood { tcp-connect-rate 600/min tcp-concurrent 20 udp-rate 50/s exceptions infra }' \
	"log { format json file \"$LAB_TMP/fw.log\" }")
kt_start "$conf" || kt_done
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
ctl identity add "$LAB_CLI4B" alice >/dev/null


# --- concurrent sessions: carol may hold 20 at once, alice goes on
got=$(burst "$LAB_CLI" "$LAB_SRV4" 80 30 8 "" 0.2)
[ "$got" = 20 ] && kt_ok "tcp-concurrent 20: 20 of 30 of carol's sessions were established" ||
	kt_fail "tcp-concurrent: $got of 30 established, want 20"
[ "$(lab_exec "$LAB_GW" nft list counter inet sluice flood_tcp_concurrent | awk '/packets/ { print $2 }')" -gt 0 ] &&
	kt_ok "the flood_tcp_concurrent counter moved" || kt_fail "flood_tcp_concurrent did not move"
sleep 1
expect_talk "alice (another source) goes on meanwhile" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 22 "$LAB_CLI4B"

# --- connect rate: a SYN flood from the client's address is cut at 600/min (bursts of 60)
q0=$(qseq)
burst "$LAB_CLI" "$LAB_SRV4" 22 300 1 >/dev/null
q=$(( $(qseq) - q0 ))
[ "$q" -le 130 ] && kt_ok "of 300 SYNs, $q crossed to sluiced (the limit cut the rest before the queue)" ||
	kt_fail "$q of 300 SYNs were queued, want <= 130"
out=$(ctl floods)
echo "$out" | grep -q "^$LAB_CLI4 " && kt_ok "sluicectl floods lists $LAB_CLI4" || kt_fail "floods: $out"
ctl floods --json | python3 -c 'import json,sys; f=json.load(sys.stdin)["floods"]; assert any(x["source"]=="'"$LAB_CLI4"'" and x["refused"]>0 for x in f)' &&
	kt_ok "floods --json: the source with its refused count" || kt_fail "floods --json: $(ctl floods --json)"
echo "$out" | grep -q "^$LAB_CLI4B " && kt_fail "alice's address is listed" || kt_ok "alice's address is not limited"
expect_talk "alice still goes on during the flood" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 22 "$LAB_CLI4B"

# --- IPv6: sources counted by /64: another address of the prefix is limited too
burst "$LAB_CLI" "$LAB_SRV6" 22 300 1 "$LAB_CLI6" >/dev/null
ctl floods | grep -q "^2001:db8:1::/64 " && kt_ok "floods lists the IPv6 source as its /64" ||
	kt_fail "floods: $(ctl floods)"
got=$(burst "$LAB_CLI" "$LAB_SRV6" 22 1 2 "$LAB_CLI6B")
[ "$got" = 0 ] && kt_ok "another address of the same /64 is limited too" ||
	kt_fail "$LAB_CLI6B connected ($got) while its /64 is limited"
expect_talk "IPv4 alice is unaffected" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 22 "$LAB_CLI4B"

# --- exceptions: the dns host (network infra) is never limited
burst "$LAB_DNS" "$LAB_SRV4" 22 300 1 >/dev/null
ctl floods | grep -q "^$LAB_DNS4 " && kt_fail "the exception $LAB_DNS4 was limited" ||
	kt_ok "the exception $LAB_DNS4 was not limited"
burst "$LAB_DNS" "$LAB_SRV6" 22 300 1 "$LAB_DNS6" >/dev/null
ctl floods | grep -q "^2001:db8:3::/64 " && kt_fail "the exception $LAB_DNS6 was limited" ||
	kt_ok "the exception $LAB_DNS6 (IPv6) was not limited"

# --- the gateway's own sessions (output hook) are never limited: 50 at
# once where a client may hold 20
got=$(burst "$LAB_GW" "$LAB_SRV4" 80 50 2)
[ "$got" = 50 ] && kt_ok "the gateway's own 50 sessions at once were all established" ||
	kt_fail "the gateway's own sessions: $got of 50 established (limited?)"
ctl floods | grep -q "^$LAB_GW_SRV4 " && kt_fail "the gateway's address $LAB_GW_SRV4 was limited" ||
	kt_ok "the gateway's address was not limited"

# --- counters and the default alert
sleep 2.5
r=$(counter packets_flood_tcp_rate); l=$(counter flood_sources_limited)
[ "$r" -gt 0 ] && [ "$l" -ge 2 ] && kt_ok "counters: packets_flood_tcp_rate $r, flood_sources_limited $l" ||
	kt_fail "counters: packets_flood_tcp_rate $r flood_sources_limited $l"
ctl alerts | grep -q "flood-source-limited.*firing" && kt_ok "the default alert flood-source-limited fired" ||
	kt_fail "alerts: $(ctl alerts)"

# --- the firewall log: one start per limited source, not every packet
n=$(grep -c '"reason":"flood-start"' "$LAB_TMP/fw.log")
s4=$(grep '"reason":"flood-start"' "$LAB_TMP/fw.log" | grep -c "\"client\":\"$LAB_CLI4\"")
[ "$n" -eq 2 ] && [ "$s4" -eq 1 ] && kt_ok "firewall log: $n flood-start records ($LAB_CLI4 once, the /64 once)" ||
	kt_fail "flood-start records: $n ($LAB_CLI4: $s4): $(grep flood "$LAB_TMP/fw.log")"
# the end: 30 s after the last refusal (bounded wait)
for i in $(seq 45); do
	[ "$(grep -c '"reason":"flood-end"' "$LAB_TMP/fw.log")" -ge 2 ] && break
	sleep 1
done
[ "$(grep -c '"reason":"flood-end"' "$LAB_TMP/fw.log")" -eq 2 ] && kt_ok "firewall log: flood-end for both after their 30 s" ||
	kt_fail "flood-end records: $(grep flood "$LAB_TMP/fw.log")"
ctl floods | grep -q "^0 sources limited" && kt_ok "floods: the list is empty again" || kt_fail "floods: $(ctl floods)"
# a reload replaces the kernel table and its flood counters (from 0 again):
# the counters sluiced shows never go back
b=""; for c in packets_flood_tcp_rate packets_flood_tcp_concurrent; do b="$b $(counter $c)"; done
ctl reload >/dev/null || kt_fail "reload failed"
a=""; for c in packets_flood_tcp_rate packets_flood_tcp_concurrent; do a="$a $(counter $c)"; done
k=$(lab_exec "$LAB_GW" nft list counter inet sluice flood_tcp_rate | awk '/packets/ { print $2 }')
python3 -c "import sys; b, a = sys.argv[1].split(), sys.argv[2].split(); sys.exit(0 if all(int(y) >= int(x) > 0 for x, y in zip(b, a)) else 1)" "$b" "$a" &&
	kt_ok "after a reload the flood counters go on:$b ->$a (the new table's flood_tcp_rate: $k)" ||
	kt_fail "flood counters across a reload:$b ->$a (the new table's flood_tcp_rate: $k)"
# the same when the new counter passes the old one before sluiced reads it:
# a reload keeps the table (and its handle) but makes the counter objects
# anew, and sluiced tells them apart by the object's handle
s0=$(counter packets_flood_tcp_rate)
ctl reload >/dev/null || kt_fail "reload failed"
burst "$LAB_CLI" "$LAB_SRV4" 22 $((s0 + 200)) 0 >/dev/null
sleep 2
k=$(lab_exec "$LAB_GW" nft list counter inet sluice flood_tcp_rate | awk '/packets/ { print $2 }')
a=$(counter packets_flood_tcp_rate)
[ "$k" -gt "$s0" ] && [ "$a" -eq $((s0 + k)) ] &&
	kt_ok "a new flood counter past the old one: $s0 before the reload + $k after = $a" ||
	kt_fail "flood_tcp_rate across a reload: $s0 before + $k after, sluiced shows $a"
# --- udp-rate alone: TCP returns before the UDP meter (no TCP limit, no
# flood_tcp chain); UDP is still cut at 50/s
udp_burst() { # udp_burst N: N datagrams from carol, each a new session
	lab_exec "$LAB_CLI" python3 -c 'import socket, sys
for i in range(int(sys.argv[3])):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((sys.argv[1], 0)); s.sendto(b"x", (sys.argv[2], 9000 + i % 100)); s.close()' "$LAB_CLI4" "$LAB_SRV4" "$1"
}
nftc() { lab_exec "$LAB_GW" nft list counter inet sluice "$1" | awk '/packets/ { print $2 }'; }
{ cat "$conf" | grep -v '^flood'; echo 'flood { tcp-connect-rate 0 tcp-concurrent 0 tcp-half-open 0 udp-rate 50/s }'; } >"$conf.udp"
cp "$conf.udp" "$conf"
ctl reload >/dev/null || kt_fail "reload to udp-rate alone failed"
lab_exec "$LAB_GW" nft list chain inet sluice flood_tcp4 >/dev/null 2>&1 &&
	kt_fail "a flood_tcp4 chain with no TCP limit" || kt_ok "udp-rate alone: no flood_tcp4 chain"
burst "$LAB_CLI" "$LAB_SRV4" 22 200 1 >/dev/null
[ "$(nftc flood_udp_rate)" = 0 ] && ctl floods | grep -q "^0 sources limited" &&
	kt_ok "200 SYNs at once from carol: none met the UDP meter" ||
	kt_fail "TCP met the UDP meter: flood_udp_rate $(nftc flood_udp_rate); $(ctl floods)"
udp_burst 300
u=$(nftc flood_udp_rate)
[ "$u" -ge 100 ] && ctl floods | grep -q "^$LAB_CLI4 " &&
	kt_ok "300 new UDP sessions at once: $u refused at 50/s, carol listed" ||
	kt_fail "udp-rate 50/s: $u of 300 refused; $(ctl floods)"
# --- all four limits off: `floods` says so (no set to read)
{ grep -v '^flood' "$conf.udp"; echo 'flood { tcp-connect-rate 0 tcp-concurrent 0 tcp-half-open 0 udp-rate 0 }'; } >"$conf"
ctl reload >/dev/null || kt_fail "reload to no flood limits failed"
out=$(ctl floods 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "flood limits are off" &&
	kt_ok "no flood limits: floods answers '$out' (rc 1)" || kt_fail "floods with no limits: rc $rc: $out"
kt_done
