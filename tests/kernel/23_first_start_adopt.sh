#!/usr/bin/env bash
# 23_first_start_adopt — a start adopts the sessions that already exist,
# judging each against the policy: sessions into the gateway (an SSH-like
# session, IPv4 and IPv6) and forwarded ones the policy allows keep passing
# data, denied ones are cut, and those that need an identity are kept until
# it is known, then allowed (staff) or cut (not staff).
#   A. conntrack already tracks (another table uses it, as on most
#      gateways): the entries are judged before and after the install.
#   B. restart: the same, for sessions the previous run decided; with a
#      policy that no longer allows one, that one is cut.
#   C. conntrack did not track before the start (no ruleset at all): the
#      sessions are picked up mid-stream and judged by the ruleset, inside
#      `queue { adopt-window }`; after the window a mid-stream pickup is
#      dropped again.
. "$(dirname "$0")/lib.sh"
kt_up
for fam in TCP4 TCP6; do
	lab_spawn "$LAB_GW" timeout 120 socat $fam-LISTEN:22,reuseaddr,fork$([ $fam = TCP6 ] && echo ,ipv6only=1) \
		EXEC:cat >/dev/null
done
conf=$LAB_TMP/adopt.conf
cat >"$conf" <<'CONF'
network clients { 198.18.1.0/24 2001:db8:1::/64 }
network servers { 198.18.2.0/24 2001:db8:2::/64 }
users staff { group staff }
protocol web tcp 80
protocol alt tcp 8080
protocol ssh tcp 22
rule "admin ssh"         allow ssh from clients to localhost
rule "staff web"         allow web from clients to servers users staff
rule "alt"               allow alt from clients to servers
rule "no ssh to servers" deny ssh from any to servers
queue { adopt-window 6s }
CONF
lab_exec "$LAB_CLI" ip addr add "$LAB_CLI4B/24" dev gw0 2>/dev/null

moving() { local a b; a=$(held "$1"); sleep 1.2; b=$(held "$1"); [ "$b" -gt $((a + 2)) ]; }
still() { local a b; a=$(held "$1"); sleep 1.2; b=$(held "$1"); [ "$b" -le $((a + 1)) ]; }
check_moving() { if moving "$2"; then kt_ok "$1"; else kt_fail "$1 ($(held "$2") echoes)"; fi; }
check_still() { if still "$2"; then kt_ok "$1"; else kt_fail "$1 (still echoing: $(held "$2"))"; fi; }
# wait_moving N SECONDS: true once session N moves (TCP backs off its
# retransmissions: it may take a while to resume)
wait_moving() { local i; for i in $(seq "$2"); do moving "$1" && return 0; done; return 1; }
adopt_log() { grep -o 'existing sessions adopted.*' "$LAB_TMP/sluiced.log" | tail -n1; }

# ---- A: conntrack already tracks (a foreign table with ct rules)
lab_exec "$LAB_GW" nft -f - <<'NFT'
table inet foreign {
	chain f { type filter hook forward priority 5; policy accept; ct state established counter; }
	chain i { type filter hook input priority 5; policy accept; ct state established counter; }
}
NFT
ssh4=$(hold "$LAB_CLI" TCP4 "$LAB_GW_CLI4" 22 100)
ssh6=$(hold "$LAB_CLI" TCP6 "$LAB_GW_CLI6" 22 100)
alt=$(hold "$LAB_CLI" TCP4 "$LAB_SRV4" 8080 100)
denied=$(hold "$LAB_CLI" TCP4 "$LAB_SRV4" 22 100)
carol=$(hold "$LAB_CLI" TCP4 "$LAB_SRV4" 80 100)
bob=$(hold "$LAB_CLI" TCP4 "$LAB_SRV4" 80 100 "$LAB_CLI4B")
sleep 1
for h in $ssh4 $ssh6 $alt $denied $carol $bob; do
	moving "$h" || kt_fail "setup: session $h not flowing before sluiced starts"
done
kt_start "$conf" || kt_done
adopt_log | grep -q "[3-9] allowed, 2 kept until their facts are known, [1-9] cut" &&
	kt_ok "A: start log: $(adopt_log)" || kt_fail "A: start log: $(adopt_log)"
check_moving "A: SSH session into the gateway (IPv4) survives the first start" "$ssh4"
check_moving "A: SSH session into the gateway (IPv6) survives the first start" "$ssh6"
check_moving "A: allowed forwarded session survives" "$alt"
check_still "A: denied forwarded session (ssh to servers) is cut" "$denied"
check_moving "A: a session needing an identity is kept (carol)" "$carol"
check_moving "A: a session needing an identity is kept (bob)" "$bob"
n=$(lab_exec "$LAB_GW" conntrack -L -p tcp --dport 22 -d "$LAB_GW_CLI4" 2>/dev/null |
	grep -c "mark=$(( (1 << 30) | (1 << 16) ))")
[ "$n" -ge 1 ] && kt_ok "A: the adopted SSH session's ct mark is ALLOW by rule 1" ||
	kt_fail "A: no conntrack entry of the SSH session with mark ALLOW|rule 1"
# the facts arrive: carol is staff, bob is not; judged at the next
# housekeeping tick (every 10 s)
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
ctl identity add "$LAB_CLI4B" bob --groups sales >/dev/null
for i in $(seq 15); do still "$bob" && break; done
check_still "A: identity known: bob (not staff) is cut" "$bob"
check_moving "A: identity known: carol (staff) goes on" "$carol"
expect_talk "A: a new denied session is dropped" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 22

# ---- B: restart, same policy: the allowed sessions survive
kt_stop
kt_start "$conf" || kt_done
check_moving "B: restart: SSH session into the gateway (IPv4) survives" "$ssh4"
check_moving "B: restart: SSH session into the gateway (IPv6) survives" "$ssh6"
check_moving "B: restart: allowed forwarded session survives" "$alt"
check_moving "B: restart: carol's session is kept until her identity is known" "$carol"
# restart with a policy that no longer allows the alt session
kill -9 "$KT_PID"; sleep 0.3
sed '/^rule "alt"/d' "$conf" >"$conf.noalt"
kt_start "$conf.noalt" || kt_done
check_still "B: restart with a new policy: the session it no longer allows is cut" "$alt"
check_moving "B: restart with a new policy: SSH into the gateway survives" "$ssh4"

# ---- C: no conntrack before the start: picked up mid-stream
kt_stop
lab_exec "$LAB_GW" "$SLUICED" --remove-ruleset -s "$KT_SOCK" >/dev/null ||
	kt_fail "C: --remove-ruleset failed"
lab_exec "$LAB_GW" nft delete table inet foreign
lab_exec "$LAB_GW" conntrack -F >/dev/null 2>&1
alt=$(hold "$LAB_CLI" TCP4 "$LAB_SRV4" 8080 60)
denied=$(hold "$LAB_CLI" TCP4 "$LAB_SRV4" 22 60)
sleep 1
n=$(lab_exec "$LAB_GW" conntrack -L 2>/dev/null | grep -c 'dport=\(22\|8080\) ')
[ "$n" -eq 0 ] && kt_ok "C: nothing in conntrack before the start" || kt_fail "C: $n conntrack entries before the start"
logc=$(($(wc -l <"$LAB_TMP/sluiced.log") + 1))
kt_start "$conf" || kt_done
check_moving "C: SSH session into the gateway (IPv4), picked up mid-stream, survives" "$ssh4"
check_moving "C: SSH session into the gateway (IPv6), picked up mid-stream, survives" "$ssh6"
check_moving "C: allowed forwarded session, picked up mid-stream, survives" "$alt"
check_still "C: denied forwarded session, picked up mid-stream, is cut" "$denied"
# that cut is the kernel's (adopt_forward), seen by no conntrack pass: the
# start log's counts say they are of conntrack entries, and that such
# sessions are not counted (it said "0 cut" and nothing more)
adopt_log | grep -q "cut (of the sessions conntrack tracked); sessions it did not track are judged at their next packet for 6 s (adopt-window), and those the policy denies are dropped, not counted here" &&
	kt_ok "C: the start log says what its counts count: $(adopt_log)" ||
	kt_fail "C: the start log: $(adopt_log)"
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
wait_moving "$carol" 10 && kt_ok "C: carol's session (identity needed) resumes once her identity is known" ||
	kt_fail "C: carol's session did not resume"
# after the window (6 s; closed at the next 10 s tick) a session picked up
# mid-stream is dropped again
closed() { tail -n +"$logc" "$LAB_TMP/sluiced.log" | grep -q "adoption window closed"; }
for i in $(seq 25); do closed && break; sleep 1; done
closed && kt_ok "C: the adoption window closed" ||
	kt_fail "C: the adoption window did not close"
lab_exec "$LAB_GW" conntrack -D -p tcp --dport 8080 >/dev/null 2>&1 ||
	kt_fail "C: no conntrack entry of the forwarded session to delete"
check_still "C: after the window, a session picked up mid-stream is dropped" "$alt"
check_moving "C: after the window, the adopted SSH session goes on" "$ssh4"
kt_done
