#!/usr/bin/env bash
# 67_reverse_path — spoofing { reverse-path }: with no network bound to an
# interface, a packet whose source address the gateway would not route
# back through the interface it came in on is dropped before conntrack and
# counted (packets_spoofed), IPv4 and IPv6:
#   - a client that writes its own session's reply with the server's
#     address (its DNS query answered by itself, "www.lab.sluice.test is
#     the web server", sent to the gateway's MAC, which would turn it back
#     to the client as the DNS server's answer): the DNS filter never sees
#     it, nothing is bound, the web server stays denied by "work sites";
#   - a host on the servers' side that claims a client's address to reach a
#     service the clients may use (rule "lookups": DNS to infra): dropped;
#   - `loose` lets that routed address through again (a source routed at
#     all), `off` checks nothing: the forged reply is turned back once more.
. "$(dirname "$0")/lib.sh"
kt_up
N=$LAB_TMP/rp
mkdir -p "$N"
# forge.py MODE ...: one packet, written whole (a raw socket):
#   reply IFACE GWMAC CLIENT SERVER QPORT: a DNS answer from SERVER:53 to
#     CLIENT:QPORT ("www.lab.sluice.test A LAB_SRV4 / AAAA LAB_SRV6", the
#     question first sent from CLIENT:QPORT to SERVER by the caller), in an
#     Ethernet frame to GWMAC from IFACE
#   udp SRC DST PORT: an IPv4 UDP datagram forged from SRC to DST:PORT
#     (routed), a DNS query for forged.lab.sluice.test (the rule "lookups"
#     reads DNS: `filter dns`)
cat >"$N/forge.py" <<'PY'
import socket, struct, sys
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
def ip_udp(src, dst, sport, dport, payload):
    v6 = ":" in src
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    s, d = socket.inet_pton(fam, src), socket.inet_pton(fam, dst)
    ulen = 8 + len(payload)
    pseudo = s + d + (struct.pack("!IxxxB", ulen, 17) if v6 else struct.pack("!xBH", 17, ulen))
    u = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
    u = u[:6] + struct.pack("!H", csum(pseudo + u) or 0xffff) + u[8:]
    if v6:
        return struct.pack("!IHBB", 6 << 28, ulen, 17, 64) + s + d + u, 0x86dd
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 1, 0, 64, 17, 0, s, d)
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + u, 0x0800
def answer(qport, addr):
    v6 = ":" in addr
    name = b"".join(bytes([len(l)]) + l.encode() for l in "www.lab.sluice.test".split(".")) + b"\0"
    qt = 28 if v6 else 1
    a = struct.pack("!HHHHHH", 4321, 0x8180, 1, 1, 0, 0) + name + struct.pack("!HH", qt, 1)
    raw = socket.inet_pton(socket.AF_INET6 if v6 else socket.AF_INET, addr)
    return a + b"\xc0\x0c" + struct.pack("!HHIH", qt, 1, 300, len(raw)) + raw
mode = sys.argv[1]
if mode == "reply":
    ifc, gwmac, cli, srv, qport, target = sys.argv[2:8]
    pkt, et = ip_udp(srv, cli, 53, int(qport), answer(int(qport), target))
    r = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    r.bind((ifc, 0))
    mine = open("/sys/class/net/%s/address" % ifc).read().strip()
    eth = bytes.fromhex(gwmac.replace(":", "")) + bytes.fromhex(mine.replace(":", "")) + struct.pack("!H", et)
    r.send(eth + pkt)
else:
    src, dst, port = sys.argv[2], sys.argv[3], int(sys.argv[4])
    name = b"".join(bytes([len(l)]) + l.encode() for l in "forged.lab.sluice.test".split(".")) + b"\0"
    query = struct.pack("!HHHHHH", 99, 0x0100, 1, 0, 0, 0) + name + struct.pack("!HH", 1, 1)
    pkt, et = ip_udp(src, dst, 40123, port, query)
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    r.sendto(pkt, (dst, 0))
PY
# query.py CLIENT SERVER: a real DNS query for www.lab.sluice.test from
# CLIENT (port 40053) to SERVER (the lab's resolver, which knows nothing
# of it), then waits 1.5 s for any answer; prints the first A/AAAA address
# it got, or "-"
cat >"$N/query.py" <<'PY'
import socket, struct, sys
cli, srv = sys.argv[1], sys.argv[2]
v6 = ":" in cli
name = b"".join(bytes([len(l)]) + l.encode() for l in "www.lab.sluice.test".split(".")) + b"\0"
q = struct.pack("!HHHHHH", 4321, 0x0100, 1, 0, 0, 0) + name + struct.pack("!HH", 28 if v6 else 1, 1)
u = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
u.bind((cli, 40053)); u.settimeout(1.5)
u.sendto(q, (srv, 53))
got = "-"
try:
    while got == "-":
        a, peer = u.recvfrom(4096)
        if a[-4:] and struct.unpack("!H", a[6:8])[0]:
            got = socket.inet_ntop(socket.AF_INET6 if v6 else socket.AF_INET, a[-16:] if v6 else a[-4:])
except OSError:
    pass
print(got)
PY
GWMAC=$(lab_exec "$LAB_GW" cat /sys/class/net/cli0/address)
# forged_reply FAMILY: the client asks the lab's resolver (which has no
# record: there is no DNS server in this lab, the query goes unanswered)
# and answers itself through the gateway; prints what the client got
forged_reply() {
	local cli srv target
	if [ "$1" = 4 ]; then cli=$LAB_CLI4 srv=$LAB_DNS4 target=$LAB_SRV4; else cli=$LAB_CLI6 srv=$LAB_DNS6 target=$LAB_SRV6; fi
	lab_exec "$LAB_CLI" timeout 5 python3 "$N/query.py" "$cli" "$srv" >"$N/got" &
	local q=$!
	sleep 0.4
	lab_exec "$LAB_CLI" python3 "$N/forge.py" reply gw0 "$GWMAC" "$cli" "$srv" 40053 "$target"
	wait $q
	cat "$N/got"
}
# a UDP sink on the lab's resolver address, port 53 (rule "lookups" lets
# the clients reach it), counting the lines it receives
lab_spawn "$LAB_DNS" timeout 120 socat -u UDP4-RECVFROM:53,bind=$LAB_DNS4,fork OPEN:"$N/sink",creat,append >/dev/null
for i in $(seq 30); do lab_exec "$LAB_DNS" ss -Hlun | grep -q "$LAB_DNS4:53" && break; sleep 0.1; done
sink() { grep -ao forged "$N/sink" 2>/dev/null | wc -l; }

conf=$(conf_with 'spoofing { reverse-path strict }')
kt_start "$conf" || kt_done
lab_exec "$LAB_GW" nft list chain inet sluice antispoof | grep -q 'fib saddr . mark . iif oif missing' &&
	kt_ok "the antispoof chain checks the reverse path (no network is bound)" ||
	kt_fail "no reverse-path rule: $(lab_exec "$LAB_GW" nft list chain inet sluice antispoof 2>&1 | head -5)"
expect_talk "an unidentified client to the web server: denied (baseline)" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
s0=$(counter packets_spoofed)
for fam in 4 6; do
	got=$(forged_reply $fam)
	[ "$got" = - ] && kt_ok "IPv$fam: the client's own answer with the resolver's address is not turned back to it" ||
		kt_fail "IPv$fam: the forged answer came back through the gateway ($got)"
done
expect_talk "after the forged answer: the web server stays denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
expect_talk "the same over IPv6" 0 "$LAB_CLI" TCP6 "$LAB_SRV6" 80
b=$(counter dns_filter_answers_bound)
[ "$b" = 0 ] && kt_ok "the DNS filter bound nothing" || kt_fail "dns_filter_answers_bound = $b"
lab_exec "$LAB_SRV" python3 "$N/forge.py" udp "$LAB_CLI4" "$LAB_DNS4" 53
sleep 0.5
[ "$(sink)" = 0 ] && kt_ok "a host on the servers' side claiming a client's address does not reach the resolver" ||
	kt_fail "the datagram forged from the servers' side reached the resolver ($(sink))"
lab_exec "$LAB_CLI" python3 "$N/forge.py" udp "$LAB_CLI4" "$LAB_DNS4" 53
sleep 0.5
[ "$(sink)" = 1 ] && kt_ok "the same datagram from the client's own side arrives (the check is the route, not the address)" ||
	kt_fail "the client's own datagram: $(sink) at the resolver, want 1"
s1=$(counter packets_spoofed)
[ "$s1" -ge $((s0 + 3)) ] && kt_ok "counted in packets_spoofed ($s0 → $s1)" || kt_fail "packets_spoofed $s0 → $s1"

# loose: a source routed at all passes
cp "$(conf_with 'spoofing { reverse-path loose }')" "$conf"
ctl reload >/dev/null || kt_fail "reload (loose)"
lab_exec "$LAB_SRV" python3 "$N/forge.py" udp "$LAB_CLI4" "$LAB_DNS4" 53
sleep 0.5
[ "$(sink)" = 2 ] && kt_ok "loose: the servers' side claiming a (routed) client address passes" ||
	kt_fail "loose: $(sink) at the resolver, want 2"
lab_exec "$LAB_SRV" python3 "$N/forge.py" udp 198.19.200.7 "$LAB_DNS4" 53
sleep 0.5
[ "$(sink)" = 2 ] && kt_ok "loose: a source routed nowhere is dropped" || kt_fail "loose: an unrouted source arrived ($(sink))"

# off: nothing checked (the tree before this check behaved so)
cp "$(conf_with 'spoofing { reverse-path off }')" "$conf"
ctl reload >/dev/null || kt_fail "reload (off)"
lab_exec "$LAB_GW" nft list table inet sluice | grep -q 'chain antispoof' &&
	kt_fail "off: an antispoof chain is still there" || kt_ok "off: no antispoof chain (no network is bound)"
got=$(forged_reply 4)
[ "$got" = "$LAB_SRV4" ] && kt_ok "off: the forged answer is turned back to the client again (what strict stops)" ||
	kt_fail "off: the forged answer did not come back ($got): the premise of this test is gone"
kt_done
