#!/usr/bin/env bash
# 28_undecided_related — two kinds of fault, against the generated
# ruleset itself (installed by rs_tool, no sluiced: its ruleset watch would
# put SLUICE's jump back on top at once; bench/nfq_bare answers verdicts):
#
# Undecided means dropped, whatever else is in the kernel. A foreign ACCEPT
# above the jump to SLUICE (Docker, libvirt, a VPN script) lets a packet
# marked "ask the service" leave the xt stage unqueued; on the NF_REPEAT
# re-run the same kind of rule can skip SLUICE's DROP or its CONNMARK save.
#   - fail closed and fail open: what never reached the queue is dropped
#     (UDP, a one-way UDP stream, TCP, IPv6); fail open still lets what the
#     queue bypassed (no listener) through, marked fail-open;
#   - a DENY verdict whose re-run skips SLUICE is dropped; an ALLOW verdict
#     whose save is skipped is saved after the xt stage (the session works
#     and carries ALLOW + rule in its ct mark).
#   - another program's mark written after the xt stage (filter + 1..9,
#     forward and input, or plain `filter` loaded first) cannot carry a
#     DENY verdict through, nor its ALLOW bit written before or after the
#     xt stage a queued session; an ALLOW verdict still works.
# Related traffic the gateway itself generates: its ICMP errors about a
# first packet that never reached the forward hook (fragmentation needed,
# packet too big, time exceeded) reach the client, v4 and v6; an ICMP error
# forged from outside about a denied session is dropped and opens nothing.
. "$(dirname "$0")/lib.sh"
tool=$KT_BUILD/src/kernel/rs_tool
nfq=$KT_BUILD/bench/nfq_bare
[ -x "$tool" ] && [ -x "$nfq" ] || { echo "$KT_NAME: needs $tool and $nfq" >&2; exit 1; }
kt_up
gw() { lab_exec "$LAB_GW" "$@"; }
install() { gw "$tool" install "$1" || kt_fail "rs_tool install $1"; }
closed=$KT_ROOT/examples/lab.conf
open=$(conf_with 'queue { fail open }')

# a UDP sink on the server, v4 and v6 (one line per datagram) on port
# $SINK; a client's session to it needs the service (rule 1, "netops
# anywhere", asks for the user)
export SINK=5399 # the python helpers below read it from the environment
cat >"$LAB_TMP/sink.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(('::', int(sys.argv[1])))
f = open(sys.argv[2], 'a', buffering=1)
while True:
    d, peer = s.recvfrom(65535); f.write('%s\n' % peer[0])
PY
lab_spawn "$LAB_SRV" timeout 120 python3 "$LAB_TMP/sink.py" $SINK "$LAB_TMP/sink" >/dev/null
for i in $(seq 30); do lab_exec "$LAB_SRV" ss -Hlun | grep -q ":$SINK " && break; sleep 0.1; done
lab_exec "$LAB_SRV" ss -Hlun | grep -q ":$SINK " || { kt_fail "the UDP sink did not start"; kt_done; }
touch "$LAB_TMP/sink"
# udp_stream ADDR N: N datagrams of one flow, 50 ms apart; prints how many
# the sink received
udp_stream() {
	local f=$LAB_TMP/sink
	: >"$f"
	lab_exec "$LAB_CLI" python3 -c "
import socket, time
s = socket.socket(socket.AF_INET6 if ':' in '$1' else socket.AF_INET, socket.SOCK_DGRAM)
for i in range($2):
    s.sendto(b'd%d' % i, ('$1', $SINK)); time.sleep(0.05)"
	sleep 0.4
	wc -l <"$f"
}
expect_udp() { # DESCRIPTION WANT ADDR N
	local got; got=$(udp_stream "$3" "$4")
	[ "$got" = "$2" ] && kt_ok "$1 ($got of $4 received)" || kt_fail "$1 (got $got of $4, want $2)"
}
foreign_accept() { # add|del: an ACCEPT for the clients at the head of FORWARD
	if [ "$1" = add ]; then
		gw iptables-nft -I FORWARD 1 -s 198.18.1.0/24 -j ACCEPT -m comment --comment foreign
		gw ip6tables-nft -I FORWARD 1 -s 2001:db8:1::/64 -j ACCEPT -m comment --comment foreign
	else
		gw iptables-nft -D FORWARD -s 198.18.1.0/24 -j ACCEPT -m comment --comment foreign
		gw ip6tables-nft -D FORWARD -s 2001:db8:1::/64 -j ACCEPT -m comment --comment foreign
	fi
}
undecided_drops() { gw nft list chain inet sluice queue_bypassed | grep -E 'never reached|fail closed' | grep -o 'packets [0-9]*' | awk '{s += $2} END {print s + 0}'; }

# ---- fail closed, a foreign ACCEPT above SLUICE, no listener ---------------
install "$closed"
expect_udp "fail closed, sluice alone: UDP to a rule that needs the service" 0 "$LAB_SRV4B" 3
foreign_accept add
[ "$(gw iptables-nft -S FORWARD | sed -n 2p | grep -c foreign)" = 1 ] && kt_ok "the foreign ACCEPT is above SLUICE's jump" ||
	kt_fail "setup: the foreign ACCEPT is not first"
d0=$(undecided_drops)
expect_udp "fail closed, foreign ACCEPT above SLUICE: one-way UDP stream" 0 "$LAB_SRV4B" 10
expect_udp "fail closed, foreign ACCEPT above SLUICE: IPv6 UDP stream" 0 "$LAB_SRV6B" 5
expect_talk "fail closed, foreign ACCEPT above SLUICE: TCP" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
expect_talk "fail closed, foreign ACCEPT above SLUICE: TCP over IPv6" 0 "$LAB_CLI" TCP6 "$LAB_SRV6" 80
d1=$(undecided_drops)
[ "$d1" -ge $((d0 + 15)) ] && kt_ok "dropped after the xt stage by queue_bypassed ($d0 → $d1)" ||
	kt_fail "queue_bypassed drop counter $d0 → $d1"
expect_talk "header-only allow still passes beside the foreign rule (gateway web)" 5 "$LAB_GW" TCP4 "$LAB_SRV4" 80
foreign_accept del

# ---- another program rewrites the packet mark between sluice's chain (-10)
# and the xt stage: the QUEUE mark is gone, the packet skips the jump to
# SLUICE and queue_bypassed; the _post chains drop a new session that has
# no decision in its ct mark (an nft table of another program's at
# filter - 5, then iptables-legacy's MARK target)
rewritten() { gw nft list table inet sluice | grep 'its mark was rewritten' | grep -o 'packets [0-9]*' | awk '{s += $2} END {print s + 0}'; }
m0=$(rewritten)
gw nft -f - <<'NFT'
table inet foreign_mark {
	chain markit {
		type filter hook forward priority filter - 5;
		meta mark set 0x1 comment "another program's mark"
	}
}
NFT
expect_udp "a foreign nft table rewrites the packet mark: UDP stream to a rule that needs the service" 0 "$LAB_SRV4B" 5
expect_udp "the same over IPv6" 0 "$LAB_SRV6B" 3
expect_talk "the same, TCP" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
expect_talk "header-only allow still passes beside the foreign mark (gateway web)" 5 "$LAB_GW" TCP4 "$LAB_SRV4" 80
gw nft delete table inet foreign_mark
if gw iptables-legacy -I FORWARD 1 -j MARK --set-mark 0x1 2>/dev/null; then
	expect_udp "iptables-legacy MARK --set-mark 0x1 in FORWARD: UDP stream" 0 "$LAB_SRV4B" 5
	gw iptables-legacy -D FORWARD 1
else
	kt_ok "iptables-legacy is not usable here: its MARK variant skipped"
fi
m1=$(rewritten)
[ "$m1" -ge $((m0 + 8)) ] && kt_ok "counted by the _post chains' rule (packets_mark_rewritten's source): $m0 → $m1" ||
	kt_fail "the _post chains' rewritten-mark counter $m0 → $m1"

# ---- fail open: escaped ≠ bypassed -----------------------------------------
install "$open"
foreign_accept add
[ "$(gw iptables-nft -S FORWARD | sed -n 2p | grep -c foreign)" = 1 ] || kt_fail "setup: foreign ACCEPT not first"
expect_udp "fail open, foreign ACCEPT above SLUICE: one-way UDP stream (escaped the queue, not bypassed)" 0 "$LAB_SRV4B" 10
expect_talk "fail open, foreign ACCEPT above SLUICE: TCP" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
foreign_accept del
expect_udp "fail open, no foreign rule, no listener: the queue is bypassed, fail open lets it through" 3 "$LAB_SRV4B" 3
gw conntrack -L -p udp --dport $SINK 2>/dev/null | grep -q 'mark=2147418112' &&
	kt_ok "the bypassed session is marked fail-open (ct mark 0x7fff0000)" || kt_fail "no fail-open ct mark: $(gw conntrack -L -p udp --dport $SINK 2>/dev/null)"
gw conntrack -D -p udp >/dev/null 2>&1

# ---- verdicts whose NF_REPEAT re-run skips SLUICE ---------------------------
install "$closed"
nfq_run() { # MARK/MASK: nfq_bare answering every packet of queue 0 with it
	NFQ_PID=$(lab_spawn "$LAB_GW" "$nfq" 0 --mark "$1")
	sleep 0.3
}
nfq_stop() { kill "$NFQ_PID" 2>/dev/null; wait "$NFQ_PID" 2>/dev/null; sleep 0.1; }
gw iptables-nft -I FORWARD 1 -m mark --mark 0x80000000/0xc0000000 -j ACCEPT -m comment --comment "foreign, matches the DENY re-run"
nfq_run 0x80000000/0xc0000000
expect_talk "DENY verdict, the re-run accepted by a foreign rule above SLUICE: dropped after the xt stage" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
expect_udp "DENY verdict, same, UDP" 0 "$LAB_SRV4B" 3
nfq_stop
gw iptables-nft -D FORWARD 1
gw iptables-nft -I FORWARD 1 -m mark --mark 0x40000000/0xc0000000 -j ACCEPT -m comment --comment "foreign, matches the ALLOW re-run"
nfq_run 0x40000000/0xc0000000
expect_talk "ALLOW verdict whose CONNMARK save a foreign rule skipped: the session works" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
gw conntrack -L -p tcp --dport 80 2>/dev/null | grep "src=$LAB_CLI4 " | grep -q 'mark=1073807360' &&
	kt_ok "and its ct mark is ALLOW + rule 1 (0x40010000), saved after the xt stage" ||
	kt_fail "ct mark after a skipped save: $(gw conntrack -L -p tcp --dport 80 2>/dev/null)"
nfq_stop
gw iptables-nft -D FORWARD 1

# ---- another program writes the packet mark AFTER the xt stage (its own
# table at filter + 1..9, or at plain `filter` registered before the xt
# chains), or writes sluice's ALLOW bit before it: the verdict of a queued
# session never rests on the packet mark the _post chains see. SLUICE saves
# a DENY verdict into the ct mark (over the QUEUE it saved before NFQUEUE),
# saves an ALLOW only over that QUEUE, and the _post chains drop every new
# session whose ct mark is not ALLOW.
foreign_mark() { # HOOK PRIORITY MARK: the table foreign_mark, replaced
	gw nft delete table inet foreign_mark 2>/dev/null
	gw nft -f - <<NFT || kt_fail "setup: table foreign_mark ($1 $2 $3)"
table inet foreign_mark {
	chain markit {
		type filter hook $1 priority $2; policy accept;
		meta mark set $3 comment "another program's mark"
	}
}
NFT
}
# a UDP service on the gateway itself (the same sink file)
lab_spawn "$LAB_GW" timeout 120 python3 "$LAB_TMP/sink.py" $SINK "$LAB_TMP/sink" >/dev/null
for i in $(seq 30); do gw ss -Hlun | grep -q ":$SINK " && break; sleep 0.1; done
gw ss -Hlun | grep -q ":$SINK " || kt_fail "setup: the gateway's UDP sink did not start"
nfq_run 0x80000000/0xc0000000 # the service denies every session
for prio in "filter + 1" "filter + 5" "filter + 9"; do
	foreign_mark forward "$prio" 0x1
	expect_udp "DENY verdict, a foreign forward chain at $prio clears the mark (meta mark set 0x1): UDP stream" 0 "$LAB_SRV4B" 5
done
expect_udp "the same over IPv6" 0 "$LAB_SRV6B" 3
# the server counts the SYNs that reach it (a denied SYN passed while the
# reply was dropped: the client alone sees nothing)
lab_exec "$LAB_SRV" nft -f - <<'NFT' || kt_fail "setup: the server's SYN counter"
table inet syncount {
	chain c {
		type filter hook input priority filter; policy accept;
		tcp dport 80 tcp flags & (fin | syn | rst | ack) == syn counter
	}
}
NFT
syns() { lab_exec "$LAB_SRV" nft list chain inet syncount c | grep -o 'packets [0-9]*' | awk '{print $2}'; }
s0=$(syns)
expect_talk "the same, TCP" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
s1=$(syns)
[ -n "$s1" ] && [ "$s1" = "$s0" ] && kt_ok "and no denied SYN reached the server ($s0 → $s1)" ||
	kt_fail "denied SYNs reached the server: $s0 → $s1"
foreign_mark input "filter + 5" 0x1
expect_udp "DENY verdict, a foreign input chain at filter + 5 clears the mark: UDP to the gateway's own service" 0 "$LAB_GW_CLI4" 5
expect_udp "the same over IPv6" 0 "$LAB_GW_CLI6" 3
foreign_mark forward "filter + 5" 0x40000000
expect_udp "DENY verdict, a foreign forward chain at filter + 5 writes sluice's ALLOW bit: UDP stream" 0 "$LAB_SRV4B" 5
expect_talk "the same, TCP" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
foreign_mark forward "filter - 5" 0x40000000
expect_udp "a foreign forward chain at filter - 5 writes sluice's ALLOW bit over QUEUE: UDP stream" 0 "$LAB_SRV4B" 5
expect_udp "the same over IPv6" 0 "$LAB_SRV6B" 3
expect_talk "the same, TCP" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
gw conntrack -L 2>/dev/null | grep "dport=$SINK " | grep -q 'mark=1073' &&
	kt_fail "an ALLOW conntrack entry exists for a session the foreign ALLOW bit carried: $(gw conntrack -L 2>/dev/null | grep "dport=$SINK " | head -2)" || true
nfq_stop
# the table of another program loaded before sluice's (boot order), at
# plain `priority filter`: registered first, it runs after the xt chain of
# the same priority only when the xt chain is older; both orders
gw nft delete table inet foreign_mark
gw iptables-nft -F; gw iptables-nft -X; gw ip6tables-nft -F; gw ip6tables-nft -X
gw nft delete table ip filter 2>/dev/null; gw nft delete table ip6 filter 2>/dev/null
foreign_mark forward filter 0x1
install "$closed"
nfq_run 0x80000000/0xc0000000
expect_udp "DENY verdict, a foreign forward chain at priority filter loaded before sluice clears the mark: UDP stream" 0 "$LAB_SRV4B" 5
expect_talk "the same, TCP" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
nfq_stop
foreign_mark forward "filter + 5" 0x1
nfq_run 0x40000000/0xc0000000 # the service allows every session
expect_udp "ALLOW verdict, a foreign chain at filter + 5 clears the mark: the UDP stream still passes" 5 "$LAB_SRV4B" 5
expect_talk "the same, TCP: the session works" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
gw conntrack -L -p tcp --dport 80 2>/dev/null | grep "src=$LAB_CLI4 " | grep -q 'mark=1073807360' &&
	kt_ok "and its ct mark is ALLOW + rule 1 (0x40010000)" ||
	kt_fail "ct mark of the allowed session: $(gw conntrack -L -p tcp --dport 80 2>/dev/null)"
nfq_stop
gw nft delete table inet foreign_mark
gw conntrack -D -p udp >/dev/null 2>&1
gw conntrack -D -p tcp >/dev/null 2>&1

# ---- the gateway's own ICMP errors about an undecided first packet --------
cat >"$LAB_TMP/icmp_probe.py" <<'PY'
# icmp_probe.py ttl ADDR | pmtu ADDR: one UDP datagram to ADDR:$SINK, the
# session's first packet. ttl: with TTL/hop limit 1, prints 'time-exceeded'
# when the gateway's error came back within 2 s, else 'none'. pmtu: 1400
# bytes with DF, prints the path MTU the kernel then knows.
import socket, sys, select, time
import os
PORT = int(os.environ['SINK'])
mode, addr = sys.argv[1], sys.argv[2]
v6 = ':' in addr
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
if mode == 'ttl':
    if v6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 1)
        s.setsockopt(socket.IPPROTO_IPV6, 25, 1)     # IPV6_RECVERR
    else:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 1)
        s.setsockopt(socket.IPPROTO_IP, 11, 1)       # IP_RECVERR
    s.connect((addr, PORT)); s.send(b'probe')
    r, _, _ = select.select([s], [], [], 2)
    got = 'none'
    if r:
        try:
            s.recvmsg(512, 512, socket.MSG_ERRQUEUE); got = 'time-exceeded'
        except OSError:
            pass
    print(got)
else:
    if v6: s.setsockopt(socket.IPPROTO_IPV6, 23, 2)   # IPV6_MTU_DISCOVER = DO
    else: s.setsockopt(socket.IPPROTO_IP, 10, 2)      # IP_MTU_DISCOVER = DO
    s.connect((addr, PORT))
    try: s.send(b'x' * 1400)
    except OSError: pass
    time.sleep(1)
    try: s.send(b'y')
    except OSError: pass
    print(s.getsockopt(socket.IPPROTO_IPV6, 24) if v6 else s.getsockopt(socket.IPPROTO_IP, 14))
PY
probe() { lab_exec "$LAB_CLI" timeout 6 python3 "$LAB_TMP/icmp_probe.py" "$@" 2>/dev/null | tail -1; }
for a in "$LAB_SRV4B" "$LAB_SRV6B"; do
	got=$(probe ttl "$a")
	[ "$got" = time-exceeded ] && kt_ok "TTL 1 to $a:$SINK (needs the service): the gateway's time-exceeded reaches the client" ||
		kt_fail "TTL 1 to $a:$SINK: got '$got', want time-exceeded"
done
gw ip route replace 198.18.2.0/24 dev srv0 mtu lock 1280
gw ip -6 route replace 2001:db8:2::/64 dev srv0 metric 256 mtu lock 1280
for a in "$LAB_SRV4B" "$LAB_SRV6B"; do
	got=$(probe pmtu "$a")
	[ "$got" = 1280 ] && kt_ok "first datagram of 1400 bytes to $a: the gateway's frag-needed/packet-too-big reaches the client (path MTU 1280)" ||
		kt_fail "first datagram of 1400 bytes to $a: path MTU '$got', want 1280"
done
gw ip route replace 198.18.2.0/24 dev srv0
gw ip -6 route replace 2001:db8:2::/64 dev srv0 metric 256

# ---- an ICMP error forged from outside about a denied session -------------
cat >"$LAB_TMP/forge.py" <<'PY'
# forge.py CLIENT SERVER SPORT: from the server side, an ICMP error about
# the client's UDP flow CLIENT:SPORT -> SERVER:PORT: IPv4 fragmentation
# needed (next-hop MTU 576), IPv6 packet too big (MTU 1280).
import socket, struct, sys
import os
PORT = int(os.environ['SINK'])
cli, srv, sport = sys.argv[1], sys.argv[2], int(sys.argv[3])
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
udp = struct.pack('!HHHH', sport, PORT, 8 + 1400, 0)
if ':' not in cli:
    iph = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + 8 + 1400, 1, 0x4000, 63, 17, 0,
                      socket.inet_pton(socket.AF_INET, cli), socket.inet_pton(socket.AF_INET, srv))
    iph = iph[:10] + struct.pack('!H', csum(iph)) + iph[12:]
    body = iph + udp
    icmp = struct.pack('!BBHHH', 3, 4, 0, 0, 576) + body
    icmp = icmp[:2] + struct.pack('!H', csum(icmp)) + icmp[4:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.sendto(icmp, (cli, 0))
else:
    ip6 = struct.pack('!IHBB16s16s', 6 << 28, 8 + 1400, 17, 63,
                      socket.inet_pton(socket.AF_INET6, cli), socket.inet_pton(socket.AF_INET6, srv))
    icmp = struct.pack('!BBHI', 2, 0, 0, 1280) + ip6 + udp   # the kernel sums ICMPv6
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.sendto(icmp, (cli, 0))
PY
cat >"$LAB_TMP/victim.py" <<'PY'
# victim.py SERVER SPORT FIFO: a UDP flow from SPORT to SERVER:PORT (DF);
# waits for a line on FIFO (the forged error was sent), sends again, and
# prints the path MTU it knows and whether an error was queued.
import socket, sys, select, time
import os
PORT = int(os.environ['SINK'])
srv, sport = sys.argv[1], int(sys.argv[2])
v6 = ':' in srv
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
if v6:
    s.setsockopt(socket.IPPROTO_IPV6, 23, 2); s.setsockopt(socket.IPPROTO_IPV6, 25, 1)
    s.bind(('::', sport))
else:
    s.setsockopt(socket.IPPROTO_IP, 10, 2); s.setsockopt(socket.IPPROTO_IP, 11, 1)
    s.bind(('0.0.0.0', sport))
s.connect((srv, PORT))
s.send(b'first')
open(sys.argv[3]).readline()
time.sleep(0.5)
err = 'none'
try:
    s.recvmsg(512, 512, socket.MSG_ERRQUEUE); err = 'error-queued'
except OSError:
    pass
try: s.send(b'second')
except OSError as e: err = 'send-failed'
mtu = s.getsockopt(socket.IPPROTO_IPV6, 24) if v6 else s.getsockopt(socket.IPPROTO_IP, 14)
print(mtu, err)
PY
nfq_run 0x80000000/0xc0000000 # the service denies every session
for pair in "$LAB_CLI4 $LAB_SRV4 40001 1500" "$LAB_CLI6 $LAB_SRV6 40002 1500"; do
	set -- $pair
	fifo=$LAB_TMP/fifo.$3; mkfifo "$fifo"
	: >"$LAB_TMP/sink"
	( lab_exec "$LAB_CLI" timeout 8 python3 "$LAB_TMP/victim.py" "$2" "$3" "$fifo" >"$LAB_TMP/victim.$3" 2>&1 ) &
	lab_register_pid $!
	vpid=$!
	sleep 0.5
	lab_exec "$LAB_SRV" python3 "$LAB_TMP/forge.py" "$1" "$2" "$3" || kt_fail "forge.py $1 $2 failed"
	echo sent >"$fifo"
	wait "$vpid"
	read -r mtu err <"$LAB_TMP/victim.$3"
	[ "$mtu" = "$4" ] && [ "$err" = none ] &&
		kt_ok "forged ICMP error about the denied flow $1:$3 → $2 is dropped (client: path MTU $mtu, $err)" ||
		kt_fail "forged ICMP error about the denied flow $1:$3 → $2 reached the client: path MTU '$mtu', '$err'"
	n=$(wc -l <"$LAB_TMP/sink")
	[ "$n" = 0 ] && kt_ok "and it opened nothing: the denied flow stays denied (0 datagrams at the server)" ||
		kt_fail "the denied flow reached the server: $n datagrams"
	gw conntrack -L 2>/dev/null | grep "sport=$3 " | grep -q 'mark=1073' &&
		kt_fail "an ALLOW conntrack entry exists for the denied flow" || true
done
nfq_stop
kt_done
