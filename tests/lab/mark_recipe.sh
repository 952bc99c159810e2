#!/usr/bin/env bash
# mark_recipe.sh — kernel test of the sluice queue recipe (docs/kernel.md §c).
#
# In a lab (tests/lab/lab.sh) the gateway gets the example sluice ruleset: an
# nft table that decides header-only rules itself and marks sessions that need
# user space with a QUEUE packet mark, plus the xtables NFQUEUE target through
# iptables-nft (nft has no `queue` here). bench/nfq_bare answers NF_REPEAT with
# the packet mark flipped to ALLOW; the re-run xtables chain copies it into the
# ct mark (CONNMARK --save-mark), and later packets pass on the ct mark.
#
# Checks, for forwarded, gateway-input and gateway-output traffic, IPv4 and
# IPv6: every TCP session to the "needs sluiced" port works, and exactly one
# packet of it (its SYN) was queued; a UDP session (forwarded) is queued once
# and gets the ct timeout policy; header-only allow/deny rules (and ping)
# never queue;
# the daemon's own traffic (SO_MARK) is never queued.
# Exit 0 when all hold, 1 with a message otherwise. Needs root. ~10 s.
#   NFQ_BARE=/path/to/nfq_bare  use a prebuilt binary (else built into LAB_TMP)
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/lab.sh"

UDP_TIMEOUT=3      # the example ruleset says 60 s; shortened for the test
fails=0
fail() { echo "mark_recipe: FAIL: $*" >&2; fails=$((fails + 1)); }
ok()   { echo "mark_recipe: ok: $*"; }

# ---- the example ruleset, exactly as in docs/kernel.md ---------------------
sluice_nft() {
cat <<'NFT'
# sluice kernel ruleset (example, as tested in tests/lab/mark_recipe.sh)
#
# Mark layout (packet mark AND conntrack mark). sluice owns bits 16..31
# (mask 0xffff0000) and preserves bits 0..15 in every rule.
#   bits 31..30  decision: 0 none, 1 ALLOW (0x40000000), 2 DENY (0x80000000),
#                3 QUEUE (0xc0000000, packet mark only: "ask sluiced")
#   bits 29..16  rule id (1..16382); 0 = sluiced's own traffic (SO_MARK
#                0x40000000), 0x3fff = allowed because the queue had no
#                listener (fail-open)
# The decision lives in the ct mark once decided; packets of decided sessions
# never leave the kernel.
table inet sluice {
	# UDP session = 60 s of activity (ISA/TMG semantics). Tests use 3 s.
	ct timeout udp_session {
		protocol udp; l3proto ip;
		policy = { unreplied : 60, replied : 60 }
	}

	# The compiled policy, header-only part, first match wins. Each rule
	# either decides (ct mark := ALLOW/DENY + rule id) or hands the session
	# to sluiced (packet mark := QUEUE + rule id of the first rule that
	# needs user space); the xt NFQUEUE rule (iptables-nft, priority 0)
	# queues it.
	chain rules {
		tcp dport 7002 ct mark set ct mark & 0x0000ffff | 0x40010000 accept comment "rule 1: allow, header-only"
		tcp dport 7001 meta mark set meta mark & 0x0000ffff | 0xc0020000 accept comment "rule 2: needs sluiced"
		tcp dport 7003 counter drop comment "rule 3: deny, header-only"
		udp dport 5301 meta mark set meta mark & 0x0000ffff | 0xc0040000 accept comment "rule 4: needs sluiced"
		udp dport 5302 ct mark set ct mark & 0x0000ffff | 0x40050000 accept comment "rule 5: allow, header-only"
		icmp type echo-request ct mark set ct mark & 0x0000ffff | 0x40060000 accept comment "rule 6: ping"
		icmpv6 type echo-request ct mark set ct mark & 0x0000ffff | 0x40060000 accept comment "rule 6: ping"
		counter drop comment "default deny"
	}

	# Common head of every hook: decided sessions first.
	chain decided {
		tcp flags & (fin | syn | rst | ack) == syn ct state != new counter ct mark set ct mark & 0x0000ffff goto rules comment "a SYN that reuses an old (e.g. CLOSE) conntrack entry is a new session: decide again"
		ct mark & 0xc0000000 == 0x40000000 accept comment "session allowed"
		ct mark & 0xc0000000 == 0x80000000 counter drop comment "session denied/revoked"
		ct state invalid counter drop
		ct state != new counter drop comment "established/related without a decision"
		tcp flags & (fin | syn | rst | ack) != syn counter drop comment "NEW but not a SYN: mid-stream (revoked) session, never queue it"
		meta l4proto udp ct timeout set "udp_session"
		jump rules
	}

	chain forward {
		type filter hook forward priority filter - 10; policy accept;
		jump decided
	}

	chain input {
		type filter hook input priority filter - 10; policy accept;
		iif "lo" accept
		icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert, mld-listener-query, mld-listener-report, mld-listener-done, mld2-listener-report } accept comment "IPv6 ND/MLD: not tracked, must pass"
		jump decided
	}

	chain output {
		type filter hook output priority filter - 10; policy accept;
		oif "lo" accept
		icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert, mld-listener-query, mld-listener-report, mld-listener-done, mld2-listener-report } accept
		meta mark & 0xffff0000 == 0x40000000 ct mark set ct mark & 0x0000ffff | 0x40000000 accept comment "sluiced's own sockets (SO_MARK 0x40000000)"
		jump decided
	}

	# After the xtables filter chains (priority 0): a packet still marked
	# QUEUE here was not decided by sluiced: the queue had no listener
	# (--queue-bypass) or was full (NFQA_CFG_F_FAIL_OPEN). This rule is the
	# one place that chooses the fail mode. Fail closed (as here), or fail
	# open with: ct mark set ct mark & 0x0000ffff | 0x7fff0000 accept
	chain queue_bypassed {
		meta mark & 0xc0000000 == 0xc0000000 counter drop comment "not decided by sluiced: fail closed"
	}
	chain forward_post {
		type filter hook forward priority filter + 10; policy accept;
		jump queue_bypassed
	}
	chain input_post {
		type filter hook input priority filter + 10; policy accept;
		jump queue_bypassed
	}
	chain output_post {
		type filter hook output priority filter + 10; policy accept;
		jump queue_bypassed
	}
}
NFT
}

sluice_xt() {
# xtables part: the queue itself, and saving the verdict into the ct mark.
for ipt in iptables-nft ip6tables-nft; do
  $ipt -w -N SLUICE
  $ipt -w -A SLUICE -m mark --mark 0xc0000000/0xc0000000 -j NFQUEUE --queue-num 0 --queue-bypass
  $ipt -w -A SLUICE -m mark --mark 0x40000000/0xc0000000 -j CONNMARK --save-mark --mask 0xffff0000
  $ipt -w -A SLUICE -m mark --mark 0x80000000/0xc0000000 -j DROP
  for hook in FORWARD INPUT OUTPUT; do $ipt -w -I $hook 1 -j SLUICE; done
done
}
# ----------------------------------------------------------------------------

lab_up || { echo "mark_recipe: lab_up failed" >&2; exit 1; }
G=$LAB_GW

nfq=${NFQ_BARE:-}
if [ -z "$nfq" ]; then
  nfq=$LAB_TMP/nfq_bare
  gcc -std=gnu17 -O2 -Wall -Wextra -Werror "$root/bench/nfq_bare.c" \
      $(pkg-config --cflags --libs libmnl libnetfilter_queue) -o "$nfq" ||
    { echo "mark_recipe: cannot build nfq_bare" >&2; exit 1; }
fi

sluice_nft | sed "s/unreplied : 60, replied : 60/unreplied : $UDP_TIMEOUT, replied : $UDP_TIMEOUT/" |
  lab_exec "$G" nft -f - || { echo "mark_recipe: nft ruleset rejected" >&2; exit 1; }
lab_exec "$G" bash -c "$(declare -f sluice_xt); sluice_xt" ||
  { echo "mark_recipe: iptables-nft rules rejected" >&2; exit 1; }

# The decider: NF_REPEAT, packet mark decision bits QUEUE -> ALLOW, rule id kept.
qlog=$LAB_TMP/nfq.log
LAB_SPAWN_LOG=$qlog lab_spawn "$G" "$nfq" 0 --log --mark 0x40000000/0xc0000000 >/dev/null
nfq_pid=$(tail -n1 "$LAB_TMP/pids")

# Echo servers: TCP 7001/7002/7003 on the server and on the gateway, UDP 5301.
for ns in "$LAB_SRV" "$G"; do
  for port in 7001 7002 7003; do
    lab_spawn "$ns" timeout 30 socat TCP4-LISTEN:$port,reuseaddr,fork EXEC:cat >/dev/null
    lab_spawn "$ns" timeout 30 socat TCP6-LISTEN:$port,ipv6only=1,reuseaddr,fork EXEC:cat >/dev/null
  done
done
lab_spawn "$LAB_SRV" timeout 30 socat UDP4-LISTEN:5301,fork EXEC:cat >/dev/null
lab_spawn "$LAB_SRV" timeout 30 socat UDP6-LISTEN:5301,ipv6only=1,fork EXEC:cat >/dev/null
for i in $(seq 30); do
  [ "$(lab_exec "$LAB_SRV" ss -Hltn | grep -c ':700[123]')" -ge 6 ] &&
  [ "$(lab_exec "$G" ss -Hltn | grep -c ':700[123]')" -ge 6 ] &&
  grep -q ready "$qlog" 2>/dev/null && break
  sleep 0.1
done
grep -q ready "$qlog" || { echo "mark_recipe: nfq_bare did not start" >&2; cat "$qlog" >&2; exit 1; }

# talk NS PROTO ADDR PORT — send 5 lines (50 ms apart) through a new session
# from source port $sport and print how many came back. Call next_sport
# first (talk runs in a $(...) subshell, so it cannot advance sport itself).
sport=41000
next_sport() { sport=$((sport + 1)); }
talk() {
  local ns=$1 proto=$2 addr=$3 port=$4
  case $proto in UDP*) # first datagram alone, the rest after its answer
    lab_exec "$ns" timeout 5 python3 "$here/udp_talk.py" "$addr" \
      "$port,sourceport=$sport" 2>/dev/null || echo 0
    return ;;
  esac
  case $addr in *:*) addr="[$addr]" ;; esac
  (for i in 1 2 3 4 5; do echo "line $i"; sleep 0.05; done; sleep 0.3) |
    lab_exec "$ns" timeout 5 socat -T 2 - \
      "$proto:$addr:$port,connect-timeout=2,sourceport=$sport" 2>/dev/null | wc -l
}

# talk_somark NS ADDR PORT — like talk over TCP, from a socket with SO_MARK
# 0x40000000 set before connect() (socat's setsockopt-int comes too late: its
# SYN leaves unmarked).
talk_somark() {
  lab_exec "$1" timeout 5 python3 -c '
import socket, sys, time
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, 36, 0x40000000)   # SO_MARK
s.settimeout(2)
s.connect((sys.argv[1], int(sys.argv[2])))
data = b""
for i in range(5):
    s.sendall(b"line %d\n" % (i + 1)); time.sleep(0.05)
s.shutdown(socket.SHUT_WR)
try:
    while True:
        b = s.recv(4096)
        if not b: break
        data += b
except socket.timeout:
    pass
print(data.count(b"\n"))' "$2" "$3"
}

# queued_for DPORT SPORT — how many packets of that session reached the queue.
queued_for() { grep -c "\.$2 > .*\.$1 tcpflags" "$qlog"; }

# check_once NAME NS PROTO ADDR [PORT] — session works, queued exactly once.
check_once() {
  local name=$1 ns=$2 proto=$3 addr=$4 port=${5:-7001} got n
  next_sport
  got=$(talk "$ns" "$proto" "$addr" "$port")
  n=$(queued_for "$port" "$sport")
  if [ "$got" != 5 ]; then fail "$name: $got/5 lines echoed"
  elif [ "$n" != 1 ]; then fail "$name: session queued $n times (want exactly 1, the first packet)"
  else ok "$name: 5/5 echoed, session (sport $sport) queued exactly once"; fi
}

check_once "forward tcp4" "$LAB_CLI" TCP4 "$LAB_SRV4"
check_once "forward tcp6" "$LAB_CLI" TCP6 "$LAB_SRV6"
check_once "input tcp4"   "$LAB_CLI" TCP4 "$LAB_GW_CLI4"
check_once "input tcp6"   "$LAB_CLI" TCP6 "$LAB_GW_CLI6"
check_once "output tcp4"  "$G"       TCP4 "$LAB_SRV4"
check_once "output tcp6"  "$G"       TCP6 "$LAB_SRV6"
check_once "forward udp4" "$LAB_CLI" UDP4 "$LAB_SRV4" 5301
check_once "forward udp6" "$LAB_CLI" UDP6 "$LAB_SRV6" 5301

# Every queued TCP packet must be a SYN (tcpflags=0x02).
bad=$(grep 'proto=6 ' "$qlog" | grep -vc 'tcpflags=0x02')
[ "$bad" = 0 ] && ok "every queued TCP packet was a SYN" || fail "$bad queued TCP packets were not SYNs"

# ct marks: ALLOW + rule 2 (0x40020000 = 1073872896) for the TCP sessions,
# rule 4 (0x40040000 = 1074003968) and the short timeout for UDP.
ct=$(lab_exec "$G" conntrack -L 2>/dev/null)
n=$(grep -c 'dport=7001 .*mark=1073872896' <<<"$ct")
[ "$n" -ge 6 ] && ok "6 TCP sessions carry ct mark 0x40020000" || fail "ct mark 0x40020000 on $n/6 TCP sessions"
udp=$(grep '^udp .*dport=5301 .*mark=1074003968' <<<"$ct")
nu=$(grep -c . <<<"$udp"); tmax=$(awk '{print $3}' <<<"$udp" | sort -n | tail -n1)
if [ "$nu" = 2 ] && [ "${tmax:-99}" -le "$UDP_TIMEOUT" ]; then
  ok "2 UDP sessions carry ct mark 0x40040000 and timeout <= ${UDP_TIMEOUT}s"
else fail "UDP sessions: $nu with mark, max timeout ${tmax:-none} (want 2, <= $UDP_TIMEOUT)"; fi

# Header-only rules never queue: allow (7002) works, deny (7003) does not,
# ping (rule 6) works through and to the gateway (IPv6 also needs ND/MLD).
before=$(grep -c '^pkt' "$qlog")
for dst in "$LAB_SRV4" "$LAB_SRV6" "$LAB_GW_CLI4" "$LAB_GW_CLI6"; do
  lab_exec "$LAB_CLI" ping -n -q -c 1 -W 1 "$dst" >/dev/null && ok "ping $dst (header-only rule 6)" ||
    fail "ping $dst"
done
next_sport
[ "$(talk "$LAB_CLI" TCP4 "$LAB_SRV4" 7002)" = 5 ] && ok "header-only allow (7002) works" ||
  fail "header-only allow (7002) failed"
next_sport
[ "$(talk "$LAB_CLI" TCP6 "$LAB_SRV6" 7003)" = 0 ] && ok "header-only deny (7003) blocks" ||
  fail "header-only deny (7003) let data through"
# The daemon's own traffic: SO_MARK 0x40000000 (SOL_SOCKET=1, SO_MARK=36).
[ "$(talk_somark "$G" "$LAB_SRV4" 7001)" = 5 ] && [ "$(talk_somark "$G" "$LAB_SRV6" 7001)" = 5 ] &&
  ok "SO_MARK 0x40000000 traffic from the gateway works" || fail "SO_MARK traffic failed"
after=$(grep -c '^pkt' "$qlog")
[ "$after" = "$before" ] && ok "header-only and SO_MARK sessions were never queued" ||
  fail "$((after - before)) packets queued by header-only or SO_MARK sessions"

# Kernel's own count: the queue's id sequence = packets queued (8 sessions).
seq=$(lab_exec "$G" awk '$1 == 0 {print $8}' /proc/net/netfilter/nfnetlink_queue)
echo "mark_recipe: /proc/net/netfilter/nfnetlink_queue: $(lab_exec "$G" cat /proc/net/netfilter/nfnetlink_queue)"
[ "$seq" = 8 ] && ok "nfnetlink_queue id sequence = 8 (one per session)" ||
  fail "nfnetlink_queue id sequence = $seq, want 8"

# UDP session expiry after the (short) ct timeout.
sleep $((UDP_TIMEOUT + 1))
left=$(lab_exec "$G" conntrack -L -p udp 2>/dev/null | grep -c 'dport=5301')
[ "$left" = 0 ] && ok "UDP sessions expired after ${UDP_TIMEOUT}s idle" ||
  fail "$left UDP sessions still in conntrack after ${UDP_TIMEOUT}s"

kill -TERM "$nfq_pid" 2>/dev/null; sleep 0.2
grep -q '^nfq_bare: queue 0 packets 8 verdicts 8 errors 0' "$qlog" &&
  ok "nfq_bare: 8 packets, 8 verdicts, 0 errors" ||
  fail "nfq_bare summary: $(grep '^nfq_bare: queue 0 packets' "$qlog")"

if [ "$fails" -gt 0 ]; then
  echo "mark_recipe: $fails check(s) failed; queue log:" >&2; cat "$qlog" >&2; exit 1
fi
echo "mark_recipe: queue log (hook 1 input, 2 forward, 3 output):"
grep '^pkt' "$qlog" | sed 's/^/  /'
echo "mark_recipe: PASS"
exit 0
