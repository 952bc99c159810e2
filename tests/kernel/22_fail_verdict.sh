#!/usr/bin/env bash
# 22_fail_verdict — the fail verdict is for trouble on the
# gateway, never for something a client can cause. Against the real daemon:
#  A. under fail open, what a client sends never gets the fail verdict: 20
#     extra copies of a pending SYN, a session over its per-source cap, an
#     IPv6 SYN copy with a 264-byte destination-options header; each
#     session stays denied and verdicts_fail stays 0;
#  B. a reload changes the kernel queue: fail open → closed removes
#     --queue-bypass and clears the queue's fail-open flag (a full queue
#     drops: none of 40 new datagram sessions passes), and back to open
#     sets both (a full queue passes); the reply says what was applied;
#  C. per-source counts by prefix: 8 addresses of one IPv6 /64 hold at most
#     per-source decisions, so another client still gets a slot; sessions to
#     the gateway are capped alike and never take the reserve (the
#     gateway's own outgoing sessions have it);
#     per-source-prefix-v6 128 counts each address alone;
#  D. a session admitted by fail open (no listener) is cut by a later
#     reload whose policy denies it.
# Decisions wait for their deadline: the resolver (198.18.3.2) has no DNS
# server and its queries are dropped there, unanswered (a closed port's
# ICMP port unreachable would make the lookup fail at once, "no names",
# and the kernel rate-limits those ICMP errors, so the sessions would be
# decided at once or at the deadline by chance), no failure is remembered
# (negative-ttl 0s), and sessions to
# the gateway need the groups of a user the address table names, from a
# directory that is not there (a failed lookup waits for the deadline).
. "$(dirname "$0")/lib.sh"
kt_up
lab_exec "$LAB_DNS" nft -f - <<'NFT' || kt_fail "the DNS server's drop rules"
table inet silent_dns {
	chain input {
		type filter hook input priority 0;
		meta l4proto { tcp, udp } th dport 53 drop
	}
}
NFT
SYNCLONE=$KT_ROOT/tests/lab/synclone.py
SINK=$LAB_TMP/sink.out
lab_spawn "$LAB_SRV" timeout 120 socat -u UDP4-RECV:5399 OPEN:"$SINK",creat,append >/dev/null
CONF=$LAB_TMP/fv.conf
mkconf() { # mkconf FAIL DECISIONS [FIRST_RULE]: the scenario's policy in
	# $CONF, with a kernel queue of QLEN (16) packets
	cat >"$CONF" <<CONF
network clients { 198.18.1.0/24 2001:db8:1::/64 }
network servers { 198.18.2.0/24 2001:db8:2::/64 }
domains work_sites { www.lab.sluice.test }
protocol web  tcp 80
protocol sink udp 5399
protocol dnsq udp 53
users staff { group staff }
${3:-}
rule "work web"  allow web from clients to work_sites
rule "work sink" allow sink from clients to work_sites
rule "dns to gw" allow dnsq from clients to localhost users staff
resolver  { servers 198.18.3.2 timeout 500ms negative-ttl 0s }
directory ldap { uri ldap://198.18.3.2:389 base "dc=none" timeout 500ms }
# this scenario counts what reaches sluiced while sessions open faster than
# a client would: the flood limits (37_flood) and the deny memory
# (36_deny_fast), which keep such packets in the kernel, are off here
flood { tcp-connect-rate 0 udp-rate 0 tcp-concurrent 0 }
decisions { $2 }
queue     { fail $1 length ${QLEN:-16} }
CONF
}
# deadlines long enough that held decisions are still pending when a busy
# machine gets round to the next step (the steps test who holds a slot)
SMALL='slots 20 reserve-local 10% per-source 4 deadline 5s deny-memory 0' # 18 general, 2 reserved
WIDE='slots 128 per-source 64 deadline 2s deny-memory 0'
SLOW='slots 20 reserve-local 10% per-source 4 deadline 8s deny-memory 0'  # time to look
# (jq, not python: the polls below run many times, on a loaded host too)
json() { ctl status --json | jq -r ".\"$1\""; }
wait_json() { # wait_json FIELD TEST VALUE: up to 8 s (WAIT_TENTHS) until [ FIELD TEST VALUE ]
	local i
	for i in $(seq "${WAIT_TENTHS:-80}"); do
		[ "$(json "$1")" "$2" "$3" ] && return 0
		sleep 0.1
	done
	return 1
}
idle() { WAIT_TENTHS=150 wait_json pending -eq 0 || kt_fail "still $(json pending) pending"; }
connects() { # connects NS FAMILY DST "BIND..." N: N non-blocking TCP
	# connects to DST:80 from each BIND, held 5 s (their SYNs wait)
	lab_exec "$1" python3 -c '
import socket, sys, time
fam = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
socks = []
for b in sys.argv[3].split():
    for _ in range(int(sys.argv[4])):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setblocking(False)
        s.bind((b, 0))
        s.connect_ex((sys.argv[2], 80))
        socks.append(s)
time.sleep(5)
' "$2" "$3" "$4" "$5" >/dev/null 2>&1 &
	lab_register_pid $!
}
burst() { # burst N: N datagrams to the sink, each its own session; prints
	# how many reached it. sluiced is stopped (SIGSTOP) meanwhile, so the
	# kernel queue fills whatever the speed of this machine: a quick
	# sluiced would read every packet into its slots before the queue is
	# ever full, and the kernel's full-queue handling would go untested.
	: >"$SINK"
	kill -STOP "$KT_PID"
	lab_exec "$LAB_CLI" python3 -c '
import socket, sys
for _ in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"x\n", (sys.argv[1], 5399)); s.close()' "$LAB_SRV4" "$1"
	sleep 0.7
	kill -CONT "$KT_PID"
	wc -l <"$SINK"
}
qdropped() { # the kernel queue's queue_dropped
	lab_exec "$LAB_GW" awk '$1 == 0 { print $6; f = 1 } END { if (!f) print 0 }' \
		/proc/net/netfilter/nfnetlink_queue
}
bypass() { lab_exec "$LAB_GW" iptables-nft -S SLUICE | grep -c -- '--queue-bypass'; }
clone() { # clone DST MODE ARG: synclone in the client, once it captures
	CLONE_OUT=$LAB_TMP/clone.$RANDOM
	LAB_SPAWN_LOG=$CLONE_OUT lab_spawn "$LAB_CLI" python3 "$SYNCLONE" gw0 "$1" 80 "$2" "$3" >/dev/null
	local i
	for i in $(seq 50); do grep -q listening "$CLONE_OUT" 2>/dev/null && return 0; sleep 0.1; done
	kt_fail "synclone did not start"
}
cloned() { # cloned DESCRIPTION: the copies were sent
	local i
	for i in $(seq 30); do grep -q "sent" "$CLONE_OUT" && break; sleep 0.1; done
	grep -q "sent" "$CLONE_OUT" && kt_ok "$1: $(grep sent "$CLONE_OUT")" || kt_fail "$1: $(cat "$CLONE_OUT")"
}

# --- A: under fail open, no client trigger -----------------------------------
# (a queue longer than any burst here: a burst beyond the free queue is the
# kernel's queue-full fail mode, which sluiced cannot see)
QLEN=256 mkconf open "$SMALL"
kt_start "$CONF" || kt_done
deny0=$(counter verdicts_deny)
clone "$LAB_SRV4" dup 20
expect_talk "fail open: 20 extra copies of a pending SYN do not admit it" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
cloned "the copies went out"
idle
connects "$LAB_CLI" 4 "$LAB_SRV4" "$LAB_CLI4" 4
wait_json pending -ge 4 || kt_fail "the four held sessions are not pending"
sf=$(json source_full)
expect_talk "fail open: a session over its per-source cap is not admitted" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
[ "$(json source_full)" -gt "$sf" ] && kt_ok "it was refused by the per-source cap" ||
	kt_fail "no per-source refusal counted"
idle
clone "$LAB_SRV6" destopt 264
expect_talk "fail open: an IPv6 SYN copy with a 264-byte destination-options header does not admit it" \
	0 "$LAB_CLI" TCP6 "$LAB_SRV6" 80
cloned "the copy went out"
[ "$(counter verdicts_fail)" -eq 0 ] && kt_ok "verdicts_fail 0 after every client trigger" ||
	kt_fail "verdicts_fail $(counter verdicts_fail)"
[ "$(counter verdicts_deny)" -ge $((deny0 + 8)) ] &&
	kt_ok "the triggers were denied (verdicts_deny $deny0 → $(counter verdicts_deny))" ||
	kt_fail "verdicts_deny $deny0 → $(counter verdicts_deny)"
idle

# --- B: a reload changes the kernel queue, both ways ---------------------------
mkconf open "$WIDE"; ctl reload >/dev/null
[ "$(bypass)" -ge 1 ] && kt_ok "fail open: NFQUEUE with --queue-bypass" || kt_fail "fail open: no bypass"
mkconf closed "$WIDE"
out=$(ctl reload 2>&1)
echo "$out" | grep -q "queue: fail closed, length 16, buffer [0-9]* KiB applied to 1 of 1 queue" &&
	kt_ok "reload to fail closed: the reply says the queue took it" || kt_fail "reload reply: $out"
[ "$(bypass)" -eq 0 ] && kt_ok "fail closed: --queue-bypass gone" || kt_fail "fail closed: bypass still there"
d0=$(qdropped)
n=$(burst 40)
[ "$n" -eq 0 ] && kt_ok "fail closed after reload: none of 40 datagram sessions passed a full queue" ||
	kt_fail "fail closed after reload: $n of 40 datagrams passed"
[ "$(qdropped)" -gt "$d0" ] && kt_ok "the full queue dropped ($d0 → $(qdropped) queue_dropped)" ||
	kt_fail "the queue dropped nothing ($d0 → $(qdropped)): was it full?"
idle
mkconf open "$WIDE"
out=$(ctl reload 2>&1)
echo "$out" | grep -q "queue: fail open, length 16, buffer [0-9]* KiB applied to 1 of 1 queue" &&
	kt_ok "reload to fail open: the reply says the queue took it" || kt_fail "reload reply: $out"
[ "$(bypass)" -ge 1 ] && kt_ok "fail open again: --queue-bypass back" || kt_fail "no bypass after reload to open"
n=$(burst 40)
[ "$n" -gt 0 ] && kt_ok "fail open after reload: a full queue passes ($n of 40)" ||
	kt_fail "fail open after reload: nothing passed the full queue"
sed -i 's/^queue .*/queue { fail open length 16 count 2 }/' "$CONF"
out=$(ctl reload 2>&1)
echo "$out" | grep -q "count 2: NOT applied: restart sluiced" &&
	kt_ok "a queue count change: the reply says it needs a restart" || kt_fail "reload reply: $out"
idle

# --- C: per-source by prefix; sessions to the gateway are capped -----------------
# (a queue long enough that the 18 general slots can fill)
QLEN=64 mkconf closed "$SLOW"; ctl reload >/dev/null
addrs=""
for i in 0 1 2 3 4 5 6 7; do
	ip -n "$LAB_CLI" -6 addr add "2001:db8:1::10$i/64" dev gw0 nodad
	addrs="$addrs 2001:db8:1::10$i"
done
sleep 0.3
sf=$(json source_full); full=$(json slots_full)
connects "$LAB_CLI" 6 "$LAB_SRV6" "$addrs" 3
wait_json pending -ge 4 || kt_fail "the /64's sessions are not pending"
wait_json source_full -ge $((sf + 20)) && kt_ok "the rest refused by the per-source cap" ||
	kt_fail "source_full $sf → $(json source_full)"
p=$(json pending)
[ "$p" -eq 4 ] && kt_ok "8 addresses of one /64, 24 sessions: 4 pending (per-source 4)" ||
	kt_fail "the /64 holds $p pending decisions"
connects "$LAB_CLI" 4 "$LAB_SRV4" "$LAB_CLI4B" 1
wait_json pending -ge 5 && kt_ok "another client still gets a slot" ||
	kt_fail "another client got no slot: $(ctl pending; ctl status)"
[ "$(json slots_full)" -eq "$full" ] && kt_ok "no session refused for full slots" ||
	kt_fail "slots_full $full → $(json slots_full)"
idle
ctl identity add "$LAB_CLI4" carol >/dev/null # groups: the directory's
sf=$(json source_full)
lab_exec "$LAB_CLI" python3 -c '
import socket, sys
for _ in range(30):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"q", (sys.argv[1], 53)); s.close()' "$LAB_GW_CLI4"
wait_json pending -ge 4 || kt_fail "the sessions to the gateway are not pending"
wait_json source_full -ge $((sf + 26)) && kt_ok "sessions to the gateway are refused past the cap" ||
	kt_fail "source_full $sf → $(json source_full)"
p=$(json pending)
[ "$p" -eq 4 ] && kt_ok "30 sessions to the gateway from one client: 4 pending (per-source 4)" ||
	kt_fail "sessions to the gateway: $p pending"
idle
# five clients, six sessions each to the gateway: 20 within their caps,
# 18 general slots; the reserve is not for them
srcs=""
for i in 0 1 2 3 4; do
	ip -n "$LAB_CLI" addr add "198.18.1.2$i/24" dev gw0
	srcs="$srcs 198.18.1.2$i"
	ctl identity add "198.18.1.2$i" carol >/dev/null
done
sleep 0.3
full=$(json slots_full)
lab_exec "$LAB_CLI" python3 -c '
import socket, sys
for b in sys.argv[2].split():
    for _ in range(6):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((b, 0)); s.sendto(b"q", (sys.argv[1], 53)); s.close()' "$LAB_GW_CLI4" "$srcs"
wait_json pending -ge 18 || kt_fail "the general slots did not fill"
wait_json slots_full -ge $((full + 2)) || kt_fail "no session refused for full slots"
p=$(json pending); r=$(json reserved_local_available)
[ "$p" -eq 18 ] && [ "$r" -eq 2 ] && kt_ok "sessions to the gateway fill the 18 general slots, never the reserve ($r left)" ||
	kt_fail "sessions to the gateway: $p pending, reserve $r left (want 18 and 2)"
[ "$(json slots_full)" -ge $((full + 2)) ] && kt_ok "the rest refused for full slots" ||
	kt_fail "slots_full $full → $(json slots_full)"
idle
QLEN=64 mkconf closed "$SLOW per-source-prefix-v6 128"; ctl reload >/dev/null
connects "$LAB_CLI" 6 "$LAB_SRV6" "$addrs" 3
WAIT_TENTHS=150 wait_json pending -ge 18 && kt_ok "per-source-prefix-v6 128: each address is its own source ($(json pending) pending)" ||
	kt_fail "per-source-prefix-v6 128: $(json pending) pending"
idle

# --- D: a fail-open session is revoked by a later reload ------------------------
mkconf open "$SMALL"; ctl reload >/dev/null
{ kill -9 "$KT_PID"; wait "$KT_PID"; } 2>/dev/null; sleep 0.3
lab_exec "$LAB_GW" conntrack -F >/dev/null 2>&1
h=$(hold "$LAB_CLI" TCP4 "$LAB_SRV4" 80 25)
for i in $(seq 100); do [ "$(held "$h")" -ge 3 ] && break; sleep 0.1; done
a=$(held "$h")
[ "$a" -ge 3 ] && kt_ok "no listener, fail open: the session passes ($a echoes)" || kt_fail "no fail-open session ($a)"
n=$(lab_exec "$LAB_GW" conntrack -L 2>/dev/null | grep 'dport=80 ' | grep -c "mark=$((0x7fff0000))")
[ "$n" -ge 1 ] && kt_ok "it carries the fail-open rule id" || kt_fail "no conntrack entry with mark 0x7fff0000"
mkconf open "$SMALL" 'rule "no web" deny web from clients to servers'
kt_start "$CONF" || kt_done
b=$(held "$h"); sleep 1; c=$(held "$h")
[ "$c" -gt "$b" ] && kt_ok "after the restart it goes on ($b → $c)" || kt_fail "cut by the restart alone ($b → $c)"
out=$(ctl reload 2>&1)
echo "$out" | grep -q "[1-9][0-9]* sessions revoked" && kt_ok "the reload revokes it: $(echo "$out" | tail -1)" ||
	kt_fail "nothing revoked: $out"
c=$(held "$h"); sleep 1.5; d=$(held "$h")
[ "$d" -le $((c + 1)) ] && kt_ok "the fail-open session is cut ($c → $d)" || kt_fail "still flowing ($c → $d)"
kt_done
