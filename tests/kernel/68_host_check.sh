#!/usr/bin/env bash
# 68_host_check — `sluicectl check --host` (sluicectl(8)) judges a policy
# against the gateway's own ways in, and says what sluiced's start from it
# would then do. In the gateway: "sshd" (socat under that name) on tcp
# 2222 (IPv4) and 2223 (IPv6 only), "systemd" (socket activation) on 9090
# (IPv6 only) and, for one section, on 2224 (dual-stack).
#   - a policy that admits ssh on 22 only: the three listeners are
#     reported, exit 4;
#   - ssh on 2222 and 2223 admitted from IPv4 sources only: the IPv6
#     listener is still reported (the family counts);
#   - everything admitted: exit 0;
#   - a session held from the client to :2222 under a policy that admits
#     ssh from another network only: reported ("to the gateway"), and a
#     real start from that policy does cut it; under the policy that admits
#     it the start keeps it;
#   - a session of the gateway's own out to the server under a policy with
#     no "gateway out": reported ("from the gateway");
#   - a VPN daemon ("openvpn") taking datagrams on udp 1194, with no
#     session yet (nothing in conntrack): reported unless a rule admits
#     udp 1194 (also when another process bound its port first on one
#     address, or a child of another name shares its socket); a kernel
#     tunnel's socket (VXLAN) is a note only, and so is, read as root
#     without CAP_SYS_PTRACE, another user's socket, though a WireGuard
#     interface is here (no kernel socket: its holder could not be read);
#   - from the conntrack table (another firewall's table in the gateway
#     makes the kernel track): a VPN's UDP transport to the gateway
#     ("openvpn" on udp 1194) and a GRE tunnel under a policy that admits
#     tcp only: reported, a stray datagram that had no reply and a UDP
#     exchange not yet a stream not; a start from that policy cuts both;
#     one that admits them keeps the UDP one. A session to tcp 8443 that
#     NAT redirects to sshd's admitted 2222 is no finding, and the start
#     keeps it;
#   - on a host with no IPv6 address but link-local ones, an IPv6-only
#     sshd no rule admits from IPv6 sources is a note, no finding;
#   - sessions NAT redirected (udp 1195 -> the VPN's 1194, tcp 8444 ->
#     sshd's 2222) under a policy that admits the ports they were sent to
#     but not where NAT sent them: reported, and a start cuts both
#     (adoption judges them after DNAT, as a new session is judged).
. "$(dirname "$0")/lib.sh"
kt_up
cp "$(command -v socat)" "$LAB_TMP/sshd" && cp "$(command -v socat)" "$LAB_TMP/systemd" || kt_fail "copies of socat"
lab_spawn "$LAB_GW" timeout 120 "$LAB_TMP/sshd" TCP4-LISTEN:2222,reuseaddr,fork EXEC:cat >/dev/null
lab_spawn "$LAB_GW" timeout 120 "$LAB_TMP/sshd" TCP6-LISTEN:2223,ipv6only=1,reuseaddr,fork EXEC:cat >/dev/null
lab_spawn "$LAB_GW" timeout 120 "$LAB_TMP/systemd" TCP6-LISTEN:9090,ipv6only=1,reuseaddr,fork EXEC:cat >/dev/null
for i in $(seq 50); do [ "$(lab_exec "$LAB_GW" ss -ltn | grep -c ':2222 \|:2223 \|:9090 ')" = 3 ] && break; sleep 0.1; done
GWOUT='rule "gateway out" allow from localhost to any'
pol() { # pol NAME SSH-PORTS SSH-SOURCES [GATEWAY-OUT]: a policy file
	cat >"$LAB_TMP/$1.conf" <<CONF
network clients { 198.18.1.0/24 2001:db8:1::/64 }
network admins { $3 }
protocol ssh tcp { $2 }
protocol mgmt tcp 9090
rule "admin ssh" allow { ssh mgmt } from admins to localhost
${4:+$GWOUT}
CONF
}
hc() { lab_exec "$LAB_GW" "$SLUICECTL" check -c "$LAB_TMP/$1.conf" --host 2>&1; }
pol p22 22 "0.0.0.0/0 ::/0" out
out=$(hc p22); rc=$?
[ "$rc" = 4 ] && grep -q 'sshd listens on tcp 2222 (IPv4)' <<<"$out" && grep -q 'sshd listens on tcp 2223 (IPv6)' <<<"$out" &&
	! grep -q 'tcp 9090' <<<"$out" && kt_ok "ssh on 22 only: exit 4, sshd's 2222 and 2223 reported" ||
	kt_fail "ssh on 22 only: rc $rc: $out"
sed -i 's/^protocol mgmt tcp 9090$/protocol mgmt tcp 9091/' "$LAB_TMP/p22.conf"
out=$(hc p22)
grep -q 'systemd listens on tcp 9090 (IPv6)' <<<"$out" && kt_ok "a socket-activated listener (PID 1's) is a way in too" ||
	kt_fail "systemd's 9090 not reported: $out"
pol p4 "22 2222 2223" "198.18.0.0/15" out
out=$(hc p4); rc=$?
[ "$rc" = 4 ] && grep -q 'tcp 2223 (IPv6)' <<<"$out" && ! grep -q 'tcp 2222 ' <<<"$out" &&
	kt_ok "admitted from IPv4 sources only: the IPv6-only sshd is reported, 2222 is not" ||
	kt_fail "IPv4 sources only: rc $rc: $out"
pol pall "22 2222 2223" "0.0.0.0/0 ::/0" out
out=$(hc pall); rc=$?
[ "$rc" = 0 ] && grep -q '0 ways in that a start would cut' <<<"$out" && kt_ok "all admitted: exit 0: $(tail -1 <<<"$out")" ||
	kt_fail "all admitted: rc $rc: $out"
# a socket-activated listener on :: that takes IPv4 too (ssh.socket's
# BindIPv6Only=both; IPV6_V6ONLY, which /proc does not show, read from the
# kernel): judged for both families, each one not admitted a finding
# (was: IPv6 alone, so admitted from IPv6 sources only it was no finding
# though IPv4 admins are cut); one IPv6-only socket on the same port
# (SO_REUSEPORT, made first) does not hide it
sd6=$(lab_spawn "$LAB_GW" timeout 60 python3 -c '
import ctypes, socket, sys, time
ctypes.CDLL(None).prctl(15, b"systemd", 0, 0, 0)
socks = []
for only in (1, 0):
	s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
	s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, only)
	s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
	s.bind(("::", 2224)); s.listen(); socks.append(s)
time.sleep(55)')
for i in $(seq 50); do [ "$(lab_exec "$LAB_GW" ss -ltn | grep -c ':2224 ')" = 2 ] && break; sleep 0.1; done
pol pd6 "22 2222 2223 2224" "2001:db8::/32" out
out=$(hc pd6)
grep -q 'host: warning: systemd listens on tcp 2224 (IPv4) here' <<<"$out" &&
	kt_ok "a dual-stack listener on :: admitted from IPv6 sources only: a finding for IPv4" || kt_fail "[::]:2224 (dual-stack), IPv6 admitted: $out"
pol pd4 "22 2222 2223 2224" "198.18.0.0/15" out
out=$(hc pd4)
grep -q 'host: warning: systemd listens on tcp 2224 (IPv6) here' <<<"$out" && [ "$(grep -c 'tcp 2224' <<<"$out")" = 1 ] &&
	kt_ok "admitted from IPv4 sources only: one finding, for IPv6" || kt_fail "[::]:2224, IPv4 admitted: $out"
out=$(hc p22)
grep -q 'host: warning: systemd listens on tcp 2224 (IPv4 or IPv6) here' <<<"$out" &&
	kt_ok "and admitted from neither family: a finding for both" || kt_fail "[::]:2224 admitted from neither: $out"
kill "$sd6" 2>/dev/null

# a held session to :2222; a policy that admits ssh from 10.0.0.0/8 only
pol pother "22 2222 2223" "10.0.0.0/8 2001:db8:1::/64" out
h=$(hold "$LAB_CLI" TCP4 "$LAB_GW_CLI4" 2222 40)
for i in $(seq 50); do [ "$(held "$h")" -ge 3 ] && break; sleep 0.1; done
out=$(hc pother); rc=$?
[ "$rc" = 4 ] && grep -q "the established session tcp $LAB_CLI4:[0-9]* -> $LAB_GW_CLI4:2222 (sshd, to the gateway)" <<<"$out" &&
	kt_ok "the held session is reported: $(grep -m1 -o 'the established session[^(]*(sshd[^)]*)' <<<"$out")" ||
	kt_fail "held session not reported: rc $rc: $out"
out=$(hc pall); rc=$?
[ "$rc" = 0 ] && kt_ok "and not under the policy that admits it" || kt_fail "held session, all admitted: rc $rc: $out"
kt_start "$LAB_TMP/pall.conf" || kt_done
a=$(held "$h"); sleep 2; b=$(held "$h")
[ "$b" -gt "$a" ] && kt_ok "a start from that policy keeps it ($a -> $b echoes)" || kt_fail "kept? $a -> $b echoes"
kt_stop
lab_exec "$LAB_GW" "$SLUICED" --remove-ruleset >/dev/null 2>&1
kt_start "$LAB_TMP/pother.conf" || kt_done
sleep 1; a=$(held "$h"); sleep 2; b=$(held "$h")
[ "$b" = "$a" ] && kt_ok "a start from the policy check --host warned about cuts it ($a -> $b echoes)" ||
	kt_fail "the start did not cut the reported session: $a -> $b echoes"
kt_stop
lab_exec "$LAB_GW" "$SLUICED" --remove-ruleset >/dev/null 2>&1

# the gateway's own session out, under a policy without "gateway out"
pol pnoout "22 2222 2223" "0.0.0.0/0 ::/0"
g=$(hold "$LAB_GW" TCP4 "$LAB_SRV4" 80 20)
for i in $(seq 50); do [ "$(held "$g")" -ge 3 ] && break; sleep 0.1; done
out=$(hc pnoout); rc=$?
[ "$rc" = 4 ] && grep -q "tcp [0-9.]*:[0-9]* -> $LAB_SRV4:80 ([a-z]*, from the gateway)" <<<"$out" &&
	kt_ok "the gateway's own session out is reported: $(grep -m1 -o 'the established session[^(]*' <<<"$out")" ||
	kt_fail "session out not reported: rc $rc: $out"

# a VPN's UDP port seen by its daemon's socket alone: "openvpn" on udp
# 1194, no session yet and nothing in conntrack (the later sections'
# VPN); a kernel tunnel's socket (VXLAN's) is a note, no finding
cp "$(command -v socat)" "$LAB_TMP/openvpn" || kt_fail "a copy of socat"
lab_spawn "$LAB_GW" timeout 120 "$LAB_TMP/openvpn" UDP4-LISTEN:1194,reuseaddr,fork EXEC:cat >/dev/null
for i in $(seq 50); do lab_exec "$LAB_GW" ss -lun | grep -q ':1194 ' && break; sleep 0.1; done
vx=0
lab_exec "$LAB_GW" ip link add vx68 type vxlan id 68 dstport 4789 local "$LAB_GW_CLI4" 2>/dev/null &&
	lab_exec "$LAB_GW" ip link set vx68 up && vx=1
out=$(hc pall); rc=$?
[ "$rc" = 4 ] && grep -q 'host: warning: openvpn takes datagrams on udp 1194 (IPv4) here, and no rule allows udp 1194' <<<"$out" &&
	kt_ok "a VPN daemon's UDP port no rule admits is reported, with no session to show it: exit 4" ||
	kt_fail "the VPN's UDP port not reported: rc $rc: $out"
if [ "$vx" = 1 ]; then
	grep -q 'host: note: a kernel socket (a tunnel.s: VXLAN, Geneve, FOU) takes datagrams on udp 4789' <<<"$out" &&
		! grep -q 'warning.*4789' <<<"$out" && kt_ok "a kernel tunnel's socket (VXLAN) is a note, no finding" ||
		kt_fail "the VXLAN socket: $out"
else
	kt_ok "no VXLAN on this kernel: the kernel socket's note not checked"
fi
cat "$LAB_TMP/pall.conf" - >"$LAB_TMP/pudp.conf" <<'CONF'
protocol openvpn udp 1194
rule "vpn" allow openvpn from any to localhost
CONF
out=$(hc pudp); rc=$?
[ "$rc" = 0 ] && kt_ok "with udp 1194 admitted: exit 0" || kt_fail "udp 1194 admitted: rc $rc: $out"
[ "$vx" = 1 ] && lab_exec "$LAB_GW" ip link del vx68

# udpd NAME ADDR PORT [CHILD]: a process NAME in the gateway holding a UDP
# socket bound to ADDR:PORT (SO_REUSEADDR; an IPv6 ADDR: dual-stack, or
# IPv6-only with UDPD_V6ONLY=1) for 55 s; with CHILD, a child of that
# name (a script the daemon ran) holds it too. Prints its pid.
udpd() {
	lab_spawn "$LAB_GW" env V6ONLY="${UDPD_V6ONLY:-0}" timeout 60 python3 -c '
import ctypes, os, socket, sys, time
prctl = ctypes.CDLL(None).prctl
prctl(15, sys.argv[1].encode(), 0, 0, 0)
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[2] else socket.AF_INET, socket.SOCK_DGRAM)
if ":" in sys.argv[2]:
	s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(os.environ["V6ONLY"]))
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[2], int(sys.argv[3])))
if len(sys.argv) > 4 and os.fork() == 0:
	prctl(15, sys.argv[4].encode(), 0, 0, 0)
time.sleep(55)' "$@"
}
bound() { lab_exec "$LAB_GW" ss -uanp | grep -q "$1"; }
# the port bound first on one address by another process (its socket the
# older): openvpn's wildcard socket on it is judged all the same
d1=$(udpd dnsmasq "$LAB_GW_CLI4" 1195)
for i in $(seq 50); do bound ':1195 .*dnsmasq' && break; sleep 0.1; done
d2=$(udpd openvpn 0.0.0.0 1195)
# openvpn's socket that a child of another name shares (higher pid)
d3=$(udpd openvpn 0.0.0.0 1196 up-script)
for i in $(seq 50); do bound ':1195 .*openvpn' && bound ':1196 .*up-script' && break; sleep 0.1; done
out=$(hc pudp); rc=$?
[ "$rc" = 4 ] && grep -q 'host: warning: openvpn takes datagrams on udp 1195 (IPv4)' <<<"$out" &&
	kt_ok "a VPN daemon's port another process bound first on one address is reported" ||
	kt_fail "openvpn's 1195 (dnsmasq's on one address first): rc $rc: $out"
grep -q 'host: warning: openvpn takes datagrams on udp 1196 (IPv4)' <<<"$out" &&
	kt_ok "a VPN daemon's socket a child of another name shares is reported" ||
	kt_fail "openvpn's 1196 shared with up-script: $out"
kill "$d1" "$d2" "$d3" 2>/dev/null
# a client's socket, on a port the kernel picks (ip_local_port_range),
# is a note (its replies come back by conntrack); Tailscale's usual
# 41641 there is a server's; a dual-stack socket on :: is judged for both
# families: a finding for each one not admitted
e=$(lab_exec "$LAB_GW" awk '{print $1 + 100}' /proc/sys/net/ipv4/ip_local_port_range)
d1=$(udpd openvpn 0.0.0.0 "$e")
d2=$(udpd tailscaled 0.0.0.0 41641)
d3=$(udpd openvpn :: 1197)
for i in $(seq 50); do bound ":$e .*openvpn" && bound ':41641 .*tailscaled' && bound ':1197 .*openvpn' && break; sleep 0.1; done
out=$(hc pudp); rc=$?
[ "$rc" = 4 ] && ! grep -q "warning.*udp $e " <<<"$out" && grep -q "host: note: openvpn takes datagrams on udp $e (IPv4), a port the kernel picks" <<<"$out" &&
	kt_ok "a VPN client's socket on a port the kernel picked is a note, no finding" ||
	kt_fail "openvpn on udp $e (a client's): rc $rc: $out"
grep -q 'host: warning: tailscaled takes datagrams on udp 41641 (IPv4)' <<<"$out" &&
	kt_ok "Tailscale's 41641, among the kernel's ports, is reported" || kt_fail "tailscaled's 41641: $out"
grep -q 'host: warning: openvpn takes datagrams on udp 1197 (IPv4 or IPv6) here' <<<"$out" &&
	kt_ok "a dual-stack socket on :: admitted from neither family is reported" || kt_fail "openvpn on [::]:1197: $out"
cat "$LAB_TMP/pudp.conf" - >"$LAB_TMP/pdual.conf" <<'CONF'
network v4 { 0.0.0.0/0 }
protocol vpn2 udp { 1197 41641 }
rule "vpn2" allow vpn2 from v4 to localhost
CONF
out=$(hc pdual); rc=$?
[ "$rc" = 4 ] && grep -q 'host: warning: openvpn takes datagrams on udp 1197 (IPv6) here' <<<"$out" &&
	kt_ok "admitted from IPv4 sources only: a finding for IPv6" || kt_fail "[::]:1197 admitted from IPv4 only: rc $rc: $out"
kill "$d1" "$d2" "$d3" 2>/dev/null
# an IPv6-only socket on :: (IPV6_V6ONLY, read from the kernel) takes no
# IPv4: admitted from IPv4 sources only it is a finding for IPv6 (was: a
# note, taken for a dual-stack one that IPv4 reaches)
d4=$(UDPD_V6ONLY=1 udpd openvpn :: 1198)
for i in $(seq 50); do bound ':1198 .*openvpn' && break; sleep 0.1; done
sed 's/^protocol vpn2 udp { 1197 41641 }$/protocol vpn2 udp { 1197 1198 41641 }/' "$LAB_TMP/pdual.conf" >"$LAB_TMP/pv6only.conf"
out=$(hc pv6only); rc=$?
[ "$rc" = 4 ] && grep -q 'host: warning: openvpn takes datagrams on udp 1198 (IPv6) here' <<<"$out" &&
	kt_ok "an IPv6-only socket on :: admitted from IPv4 sources only is reported for IPv6" ||
	kt_fail "openvpn on [::]:1198, IPv6-only: rc $rc: $out"
kill "$d4" 2>/dev/null
# as root without CAP_SYS_PTRACE the sockets of another user's processes
# are nameless (their descriptors cannot be read): not taken for the
# kernel's, so no finding while a WireGuard interface is here (a sysfs
# class directory that shows one, bound over /sys/class/net)
cp "$(command -v socat)" "$LAB_TMP/avahi-daemon" && chmod 755 "$LAB_TMP" "$LAB_TMP/avahi-daemon" || kt_fail "a copy of socat"
mkdir -p "$LAB_TMP/sysnet/wg0" && printf 'DEVTYPE=wireguard\nINTERFACE=wg0\n' >"$LAB_TMP/sysnet/wg0/uevent"
d4=$(lab_spawn "$LAB_GW" timeout 60 setpriv --reuid=65534 --regid=65534 --clear-groups "$LAB_TMP/avahi-daemon" UDP4-RECVFROM:5354,fork EXEC:cat)
for i in $(seq 50); do bound ':5354 ' && break; sleep 0.1; done
out=$(lab_exec "$LAB_GW" unshare -m sh -c 'mount --bind "$1" /sys/class/net && shift && exec "$@"' sh "$LAB_TMP/sysnet" \
	setpriv --bounding-set -sys_ptrace "$SLUICECTL" check -c "$LAB_TMP/pudp.conf" --host 2>&1); rc=$?
[ "$rc" = 0 ] && ! grep -q 'warning.*udp 5354' <<<"$out" && grep -q 'host: note: .*udp 5354' <<<"$out" &&
	kt_ok "without CAP_SYS_PTRACE another user's socket is a note, not WireGuard's: exit 0" ||
	kt_fail "another user's socket, no CAP_SYS_PTRACE, a WireGuard interface: rc $rc: $out"
kill "$d4" 2>/dev/null

# the conntrack table: another firewall in the gateway (its tables make
# the kernel track), a VPN on udp 1194, tcp 8443 redirected to sshd's 2222
lab_exec "$LAB_GW" nft -f - <<'NFT' || kt_fail "the other firewall's tables"
table inet otherfw {
	chain input { type filter hook input priority 10; ct state established,related accept; }
}
table ip othernat {
	chain pre { type nat hook prerouting priority -100; tcp dport 8443 redirect to :2222; }
}
NFT
lab_spawn "$LAB_GW" timeout 120 socat IP4-RECVFROM:47,fork EXEC:cat >/dev/null
u=$(hold "$LAB_CLI" UDP4 "$LAB_GW_CLI4" 1194 40)
r=$(hold "$LAB_CLI" TCP4 "$LAB_GW_CLI4" 8443 40)
g=$(hold "$LAB_CLI" IP4-DATAGRAM "$LAB_GW_CLI4" 47 40) # a GRE tunnel's packets
for i in $(seq 50); do [ "$(held "$u")" -ge 3 ] && [ "$(held "$r")" -ge 3 ] && [ "$(held "$g")" -ge 3 ] && break; sleep 0.1; done
# the kernel calls UDP a stream (ASSURED) after 2 s of traffic both ways
udp_assured() { lab_exec "$LAB_GW" conntrack -L -p udp --dport 1194 2>/dev/null | grep -q ASSURED; }
out=$(hc pall)
udp_assured || ! grep -q ':1194 (conntrack' <<<"$out" && kt_ok "a UDP exchange not yet a stream is no finding" ||
	kt_fail "UDP reported before it was a stream: $out"
for i in $(seq 60); do udp_assured && break; sleep 0.1; done
udp_assured || kt_fail "the UDP session never became ASSURED"
# a stray datagram to a port nothing listens on: an entry without a reply
echo stray | lab_exec "$LAB_CLI" timeout 2 socat - "UDP4:$LAB_GW_CLI4:9999" >/dev/null 2>&1
lab_exec "$LAB_GW" conntrack -L -p udp --dport 9999 2>/dev/null | grep -q UNREPLIED ||
	kt_fail "the stray datagram left no unreplied entry"
out=$(hc pall); rc=$?
! grep -q ':9999' <<<"$out" && kt_ok "a stray datagram (no reply) is no way in" || kt_fail "the stray datagram reported: $out"
[ "$rc" = 4 ] && grep -q "the established session udp $LAB_CLI4:[0-9]* -> $LAB_GW_CLI4:1194 (conntrack, to the gateway)" <<<"$out" &&
	kt_ok "a VPN's UDP transport to the gateway is reported: $(grep -m1 -o 'the established session udp[^)]*)' <<<"$out")" ||
	kt_fail "the UDP session not reported: rc $rc: $out"
grep -q "the established session 47 $LAB_CLI4 -> $LAB_GW_CLI4 (conntrack, to the gateway)" <<<"$out" &&
	kt_ok "a GRE tunnel to the gateway is reported" || kt_fail "the GRE tunnel not reported: $out"
! grep -q ':8443\|:2222' <<<"$out" && grep -Eq '[1-9][0-9]* conntrack entries' <<<"$out" &&
	kt_ok "a session NAT redirected to sshd's admitted 2222 is no finding: $(tail -1 <<<"$out")" ||
	kt_fail "the redirected session reported: $out"
kt_start "$LAB_TMP/pall.conf" || kt_done
sleep 1; a=$(held "$u"); ra=$(held "$r"); g0=$(held "$g"); sleep 2; b=$(held "$u"); rb=$(held "$r"); g1=$(held "$g")
[ "$b" = "$a" ] && kt_ok "a start from that policy cuts the UDP session ($a -> $b echoes)" ||
	kt_fail "the start did not cut the UDP session: $a -> $b echoes"
[ "$rb" -gt "$ra" ] && kt_ok "and keeps the redirected one, which talks on and is judged after NAT ($ra -> $rb echoes)" ||
	kt_fail "the redirected session was cut: $ra -> $rb echoes"
[ "$g1" = "$g0" ] && kt_ok "and cuts the GRE tunnel ($g0 -> $g1 echoes)" ||
	kt_fail "the GRE tunnel goes on: $g0 -> $g1 echoes"
kt_stop
lab_exec "$LAB_GW" "$SLUICED" --remove-ruleset >/dev/null 2>&1
cat "$LAB_TMP/pall.conf" - >"$LAB_TMP/pvpn.conf" <<'CONF'
protocol openvpn udp 1194
rule "vpn" allow openvpn from any to localhost
rule "tunnels" allow any from clients to localhost
CONF
u=$(hold "$LAB_CLI" UDP4 "$LAB_GW_CLI4" 1194 30)
for i in $(seq 50); do [ "$(held "$u")" -ge 3 ] && break; sleep 0.1; done
sleep 2.5 # a stream by now (the pall section showed it reported once it is)
out=$(hc pvpn); rc=$?
[ "$rc" = 0 ] && kt_ok "under a policy that admits both: exit 0" || kt_fail "policy admitting both: rc $rc: $out"
kt_start "$LAB_TMP/pvpn.conf" || kt_done
sleep 1; a=$(held "$u"); sleep 2; b=$(held "$u")
[ "$b" -gt "$a" ] && kt_ok "and a start from it keeps the UDP session ($a -> $b echoes)" ||
	kt_fail "the UDP session was cut under a policy admitting it: $a -> $b echoes"
kt_stop
lab_exec "$LAB_GW" "$SLUICED" --remove-ruleset >/dev/null 2>&1

# sessions another program's DNAT sent elsewhere are judged where they
# were sent, as a new session is (the filter hooks see it after DNAT):
# udp 1195 redirected to the VPN's 1194, tcp 8444 to sshd's 2222, under a
# policy that admits 1195 and 8444 but not 1194 or 2222
lab_exec "$LAB_GW" nft add rule ip othernat pre udp dport 1195 redirect to :1194 &&
	lab_exec "$LAB_GW" nft add rule ip othernat pre tcp dport 8444 redirect to :2222 || kt_fail "the redirects"
cat >"$LAB_TMP/pnat.conf" <<'CONF'
network clients { 198.18.1.0/24 2001:db8:1::/64 }
protocol alt tcp 8444
protocol altvpn udp 1195
rule "alt" allow { alt altvpn } from clients to localhost
CONF
u=$(hold "$LAB_CLI" UDP4 "$LAB_GW_CLI4" 1195 30)
t=$(hold "$LAB_CLI" TCP4 "$LAB_GW_CLI4" 8444 30)
for i in $(seq 50); do [ "$(held "$u")" -ge 3 ] && [ "$(held "$t")" -ge 3 ] && break; sleep 0.1; done
for i in $(seq 60); do lab_exec "$LAB_GW" conntrack -L -p udp --dport 1195 2>/dev/null | grep -q ASSURED && break; sleep 0.1; done
out=$(hc pnat); rc=$?
[ "$rc" = 4 ] && grep -q "the established session udp $LAB_CLI4:[0-9]* -> $LAB_GW_CLI4:1195 (DNAT to $LAB_GW_CLI4:1194) (conntrack, to the gateway) is denied" <<<"$out" &&
	kt_ok "a UDP session redirected to a port no rule admits is reported where it was sent" ||
	kt_fail "the redirected UDP session: rc $rc: $out"
grep -q "the established session tcp $LAB_CLI4:[0-9]* -> $LAB_GW_CLI4:2222 (sshd, to the gateway)" <<<"$out" &&
	kt_ok "and the TCP one by its socket, at the port it was sent to" || kt_fail "the redirected TCP session: $out"
kt_start "$LAB_TMP/pnat.conf" || kt_done
sleep 1; a=$(held "$u"); ta=$(held "$t"); sleep 2; b=$(held "$u"); tb=$(held "$t")
[ "$b" = "$a" ] && [ "$tb" = "$ta" ] && kt_ok "a start from it cuts both: adoption judges them after DNAT ($a -> $b, $ta -> $tb echoes)" ||
	kt_fail "adoption kept a redirected session the policy denies: udp $a -> $b, tcp $ta -> $tb echoes"
kt_stop
# a host with no IPv6 address but link-local ones: no IPv6 source comes
# in, so the IPv6-only sshd on 2223 is a note, no finding
lab_exec "$LAB_GW" ip -6 addr flush scope global || kt_fail "flushing the gateway's IPv6 addresses"
out=$(hc p4)
! grep -q 'warning: sshd listens on tcp 2223' <<<"$out" &&
	grep -q 'host: note: sshd listens on tcp 2223 (IPv6) here, and no rule admits it from an IPv6 source; this host has no IPv6 address but link-local ones' <<<"$out" &&
	kt_ok "no IPv6 address but link-local ones: the IPv6-only sshd is a note" || kt_fail "IPv6-only sshd on an IPv4-only host: $out"
kt_done
