#!/usr/bin/env bash
# demo.sh — set up, build and run the main job: the lab demo.
#
# Network namespaces (a client, the gateway, servers, DNS and directory
# hosts; lab addresses only) with sluiced on the gateway running
# examples/lab.conf, and a scripted traffic mix that shows what the kernel
# decides alone, what crosses once to the service, allow and deny by user
# (given, from the directory, from RADIUS accounting, from the login
# portal), names from the clients' own DNS answers, a flood limited in the
# kernel, a published farm, counters and the dashboard, reload (rejected
# and accepted) with revocation, and the state sluicectl shows. Everything
# is removed at the end, on every exit path.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
bash scripts/setup.sh >/dev/null
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null || exit 1
. tests/lab/lab.sh
. tests/lab/peers.sh

B=$ROOT/build
CTL="$B/src/sluicectl/sluicectl"
bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }
ctl() { "$CTL" -s "$SOCK" "$@"; }
talk() { # talk DESCRIPTION NS PROTO ADDR PORT [BIND]
	local d=$1 ns=$2 proto=$3 addr=$4 port=$5 bind=${6:-} opt="" n
	[ -n "$bind" ] && opt=",bind=$bind"
	case $addr in *:*) addr="[$addr]" ;; esac
	n=$( (for i in 1 2 3; do echo "hello $i"; sleep 0.05; done; sleep 0.3) |
		lab_exec "$ns" timeout 5 socat -T 2 - "$proto:$addr:$port,connect-timeout=2$opt" 2>/dev/null | wc -l)
	if [ "$n" -eq 3 ]; then printf '  %-62s \033[32mALLOWED\033[0m\n' "$d"
	else printf '  %-62s \033[31mDENIED\033[0m\n' "$d"; fi
}
queued() { lab_exec "$LAB_GW" awk '$1 == 0 { print $8 }' /proc/net/netfilter/nfnetlink_queue; }

bold "1. The lab: client, gateway, servers, DNS and directory namespaces"
lab_up >/dev/null || exit 1
# docs.intra: a work site on the second server, whose PTR (www) does not
# name it back: what a CDN's address looks like to a reverse lookup
PEERS_DNS_EXTRA="host-record=docs.intra.lab.sluice.test,$LAB_SRV4B" peers_dns_up || exit 1
SLAPD_TLS_IP=$LAB_DIR4 peers_ldap_up || exit 1 # (StartTLS, for the portal's sign-in)
echo "  dnsmasq on $LAB_DNS4 (www.lab.sluice.test = $LAB_SRV4; $LAB_SRV4B has a spoofed PTR)"
echo "  slapd on $LAB_DIR4 (alice: netadmins; carol, dave: staff)"
echo "  run $LAB_RUN: client $LAB_CLI4/$LAB_CLI4B  gateway ${LAB_GW_CLI4}  servers $LAB_SRV4/$LAB_SRV4B  dns $LAB_DNS4  directory $LAB_DIR4"
for port in 22 8080; do
	lab_spawn "$LAB_SRV" timeout 300 socat TCP4-LISTEN:$port,reuseaddr,fork EXEC:cat >/dev/null
	lab_spawn "$LAB_SRV" timeout 300 socat TCP6-LISTEN:$port,ipv6only=1,reuseaddr,fork EXEC:cat >/dev/null
done
lab_spawn "$LAB_SRV" timeout 300 socat UDP4-LISTEN:5301,fork EXEC:cat >/dev/null
# two web servers (the farm's members): nginx on each server address
web_up() { # web_up NAME ADDR: nginx answering "NAME" and /health
	local d=$LAB_TMP/$1
	mkdir -p "$d"
	cat >"$d/nginx.conf" <<NGX
daemon off; worker_processes 1; pid $d/nginx.pid; error_log $d/error.log;
events { worker_connections 256; }
http { access_log off;
  server { listen $2:80; listen [$3]:80;
    location /health { return 200 "ok\n"; }
    location / { return 200 "hello from $1\n"; } } }
NGX
	lab_spawn "$LAB_SRV" nginx -c "$d/nginx.conf" -p "$d"
}
WEB2_PID=
web_up web1 "$LAB_SRV4" "$LAB_SRV6" >/dev/null
WEB2_PID=$(web_up web2 "$LAB_SRV4B" "$LAB_SRV6B")

bold "2. The policy (examples/lab.conf)"
grep -E '^(rule|users)' examples/lab.conf | sed 's/^/  /'
run "$CTL" check -c examples/lab.conf

bold "3. sluiced on the gateway"
SOCK=$LAB_TMP/sluiced.sock
CONF=$LAB_TMP/sluice.conf
{ cat examples/lab.conf; cat <<'FARM'
# a published web farm: verified members behind a public address
farm web_farm {
  server web1 198.18.2.2
  server web2 198.18.2.3
  balance round-robin
  verify http "http://*/health" expect 200 every 1s timeout 500ms rise 1 fall 1
}
publish "public web" tcp 80 on 198.19.0.1 to web_farm
verifier "directory" tcp 198.18.4.2 port 389 every 2s timeout 1s
metrics { listen 127.0.0.1:9109 }
FARM
printf 'identity { radius-listen 127.0.0.1:1813 radius-secret-file "%s" radius-clients { 127.0.0.1 } }\n' \
	"$LAB_TMP/radius.secret"
} >"$CONF"
printf 'demo-secret\n' >"$LAB_TMP/radius.secret"
chmod 600 "$LAB_TMP/radius.secret"
echo "  Before the first start: would it cut one of the gateway's own ways in"
echo "  (the ports sshd listens on, sessions to it)? The package asks the same."
run ip netns exec "$LAB_GW" "$CTL" check -c "$CONF" --host
SLUICED_PID=$(LAB_SPAWN_LOG=$LAB_TMP/sluiced.log lab_spawn "$LAB_GW" "$B/src/sluiced/sluiced" -f -c "$CONF" -s "$SOCK")
for i in $(seq 50); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done
run ctl status
echo "  kernel ruleset: $(lab_exec "$LAB_GW" nft list table inet sluice | grep -c 'comment "rule') rule lines in table inet sluice; xt: $(lab_exec "$LAB_GW" iptables-nft -S SLUICE | grep -c NFQUEUE) NFQUEUE rule"

bold "4. Who the user is decides (each session crosses to sluiced once)"
q0=$(queued)
talk "client $LAB_CLI4, nobody logged in: ssh to a server" "$LAB_CLI" TCP4 "$LAB_SRV4" 22
run ctl identity add "$LAB_CLI4" carol --groups staff
run ctl identity add "$LAB_CLI6" carol --groups staff
talk "carol (staff, groups given): web to a server (rule 'staff web')" "$LAB_CLI" TCP4 "$LAB_SRV4" 8080
talk "carol (staff): web over IPv6" "$LAB_CLI" TCP6 "$LAB_SRV6" 8080
talk "carol (staff): voice over UDP (rule 'staff voice')" "$LAB_CLI" UDP4 "$LAB_SRV4" 5301
talk "carol (staff): ssh to a server (not staff's)" "$LAB_CLI" TCP4 "$LAB_SRV4" 22
run ctl identity add "$LAB_CLI4B" alice
talk "alice (netadmins, from the directory): ssh ('netops anywhere')" "$LAB_CLI" TCP4 "$LAB_SRV4" 22 "$LAB_CLI4B"
# RADIUS accounting, as a Wi-Fi controller or a VPN concentrator sends it
radius() { # radius ATTRS: one Accounting-Request by FreeRADIUS's radclient
	echo "  \$ radclient 127.0.0.1:1813 acct SECRET <<< '$1'"
	echo "$1" | lab_exec "$LAB_GW" timeout 10 radclient -r 2 -t 1 -q 127.0.0.1:1813 acct demo-secret &&
		echo "  (Accounting-Response received)" || echo "  (no answer)"
}
radius "Acct-Status-Type=Start,User-Name=dave,Framed-IP-Address=$LAB_CLI4B"
run ctl identity list
talk "dave (staff, from the directory): voice" "$LAB_CLI" UDP4 "$LAB_SRV4" 5301 "$LAB_CLI4B"
talk "dave: ssh (not netops)" "$LAB_CLI" TCP4 "$LAB_SRV4" 22 "$LAB_CLI4B"
echo "  packets queued to sluiced for these 8 sessions: $(( $(queued) - q0 )) (one SYN or first datagram each, plus retransmits of denied SYNs)"

bold "5. What the destination's name is decides (forward-confirmed)"
radius "Acct-Status-Type=Stop,User-Name=dave,Framed-IP-Address=$LAB_CLI4B"
run ctl identity sources
talk "nobody, web to $LAB_SRV4 = www.lab.sluice.test ('work sites')" "$LAB_CLI" TCP4 "$LAB_SRV4" 8080 "$LAB_CLI4B"
talk "nobody, web to $LAB_SRV4B (PTR claims www: not confirmed)" "$LAB_CLI" TCP4 "$LAB_SRV4B" 8080 "$LAB_CLI4B"
echo "  DNS queries the gateway made: $(grep -c 'query\[' "$LAB_TMP/dns/queries.log") (www resolved ahead of time, so no PTR for $LAB_SRV4: $(grep -c 'query\[PTR\] 2.2.18.198' "$LAB_TMP/dns/queries.log"))"

bold "6. Names from the clients' own DNS answers (a CDN's address)"
fetch() { # fetch DESCRIPTION BIND URL [CURL-OPTION...]: one HTTP GET from the client
	local d=$1 bind=$2; shift 2
	if lab_exec "$LAB_CLI" curl -s -m 3 --interface "$bind" -o /dev/null "$@"; then
		printf '  %-62s \033[32mALLOWED\033[0m\n' "$d"
	else printf '  %-62s \033[31mDENIED\033[0m\n' "$d"; fi
}
echo "  docs.intra.lab.sluice.test = $LAB_SRV4B, whose PTR (www) does not confirm it"
fetch "nobody, http://$LAB_SRV4B/ without asking DNS (reverse name only)" "$LAB_CLI4B" "http://$LAB_SRV4B/"
# the client asks the lab's resolver through the gateway: rule 'lookups'
# carries `filter dns`, so sluiced reads the answer before releasing it
lab_exec "$LAB_CLI" python3 - "$LAB_CLI4B" "$LAB_DNS4" <<'PY'
import random, socket, struct, sys
q = struct.pack(">HHHHHH", random.randrange(65536), 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in "docs.intra.lab.sluice.test".split("."))
q += b"\0" + struct.pack(">HH", 1, 1)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((sys.argv[1], 0)); u.settimeout(2); u.sendto(q, (sys.argv[2], 53))
try:
    a, _ = u.recvfrom(4096)
    print("  $ dig docs.intra.lab.sluice.test (from %s): %s" % (sys.argv[1], socket.inet_ntoa(a[-4:])))
except OSError:
    print("  (no DNS answer)")
PY
fetch "nobody, after resolving docs.intra through the gateway" "$LAB_CLI4B" "http://docs.intra.lab.sluice.test/" --resolve "docs.intra.lab.sluice.test:80:$LAB_SRV4B"
echo "  DNS answers read and bound by the gateway (dns_filter_answers_bound): $(ctl counters --json |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"]["dns_filter_answers_bound"])')"

bold "7. A flood is limited in the kernel (flood { }: 600 new TCP sessions/min per source, burst 60)"
lab_exec "$LAB_CLI" python3 - "$LAB_SRV4" "$LAB_CLI4B" <<'PY'
import socket, sys, time
socks = []
for _ in range(300):  # 300 SYNs at once from one source, to a port sluiced decides
    s = socket.socket(); s.setblocking(False); s.bind((sys.argv[2], 0))
    s.connect_ex((sys.argv[1], 8080)); socks.append(s)
time.sleep(1)
print("  300 connection attempts from %s in well under a second" % sys.argv[2])
PY
ctl counters --json | python3 -c '
import json, sys
c = json.load(sys.stdin)["counters"]
print("  dropped by the kernel (packets_flood_tcp_rate): %s" % c["packets_flood_tcp_rate"])'
run ctl floods
talk "carol, meanwhile: web to a server" "$LAB_CLI" TCP4 "$LAB_SRV4" 8080

bold "8. Header facts decide in the kernel (never queued)"
q0=$(queued)
talk "dns host: ssh to a server (rule 'no ssh to servers')" "$LAB_DNS" TCP4 "$LAB_SRV4" 22
talk "the gateway itself: web to a server (rule 'gateway web')" "$LAB_GW" TCP4 "$LAB_SRV4" 8080
lab_exec "$LAB_DNS" ping -c 2 -i 0.2 -W 1 "$LAB_SRV4" >/dev/null && r=ALLOWED || r=DENIED
printf '  %-62s %s\n' "dns host: ping a server (rule 'ping')" "$r"
echo "  packets queued for these: $(( $(queued) - q0 ))"

bold "9. What sluiced knows"
run ctl sessions
run ctl identity list

bold "10. A published farm: members verified in and out"
farm_round() { # farm_round N: N requests to the public address, who answered
	local i
	for i in $(seq "$1"); do
		lab_exec "$LAB_CLI" curl -s -m 2 http://198.19.0.1/ || echo "(no answer)"
	done | sort | uniq -c | sed 's/^/    /'
}
sleep 1.5
run ctl verifiers
echo "  6 requests to http://198.19.0.1/:"; farm_round 6
echo "  web2's nginx stops:"; kill "$WEB2_PID"; sleep 1.6
run ctl verifiers
echo "  6 requests to http://198.19.0.1/:"; farm_round 6
echo "  web2 comes back:"; WEB2_PID=$(web_up web2 "$LAB_SRV4B" "$LAB_SRV6B"); sleep 1.6
echo "  6 requests to http://198.19.0.1/:"; farm_round 6
run ctl farm drain web1
echo "  6 requests while web1 drains:"; farm_round 6
run ctl farm resume web1

bold "11. Counters (the seed's perfmon, and Prometheus)"
run ctl counters
echo "  Prometheus: $(lab_exec "$LAB_GW" curl -s http://127.0.0.1:9109/metrics | grep -c '^sluice_') samples at http://127.0.0.1:9109/metrics on the gateway"
run ctl alerts

echo "  the dashboard: http://127.0.0.1:9109/ on the gateway ($(lab_exec "$LAB_GW" curl -s http://127.0.0.1:9109/ | wc -c) bytes;" \
	"$(lab_exec "$LAB_GW" curl -s http://127.0.0.1:9109/dashboard/history.json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d.get("samples", d.get("t", []))))' 2>/dev/null || echo '?') samples of the last hour kept)"
if command -v chromium >/dev/null; then
	mkdir -p "$B/demo"
	lab_exec "$LAB_GW" timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic \
		--no-first-run --disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$LAB_TMP/chromium" --window-size=1280,1000 --virtual-time-budget=8000 \
		--screenshot="$B/demo/dashboard.png" http://127.0.0.1:9109/ >/dev/null 2>&1 &&
		echo "  a screenshot of it (headless Chromium): $B/demo/dashboard.png"
fi

bold "12. A bad policy is rejected; the running one stays"
sed -i 's/^rule "staff web".*/rule "staff web" allow webb from clients to servrs users staff/' "$CONF"
run ctl reload
talk "carol: web still allowed by the running policy" "$LAB_CLI" TCP4 "$LAB_SRV4" 8080

bold "13. A new policy revokes what it no longer allows"
cp examples/lab.conf "$CONF"; sed -i '/^rule "staff web"/d; /^rule "work sites"/d' "$CONF"
( (for i in $(seq 20); do echo "tick $i"; sleep 0.2; done) |
	lab_exec "$LAB_CLI" timeout 8 socat -T 3 - TCP4:$LAB_SRV4:8080 >"$LAB_TMP/long" 2>/dev/null ) </dev/null >/dev/null 2>&1 &
lab_register_pid $!
sleep 1; a=$(wc -l <"$LAB_TMP/long")
echo "  carol's long web session is running: $a echoes so far"
run ctl reload
sleep 1.5; b=$(wc -l <"$LAB_TMP/long")
if [ "$b" -le $((a + 2)) ]; then echo "  after the reload: $b echoes: cut, the session was revoked"
else echo "  after the reload: $b echoes: still running"; fi
talk "carol: a new web session" "$LAB_CLI" TCP4 "$LAB_SRV4" 8080

bold "14. The login portal: an unidentified client signs in with its directory password"
# dave's password in the directory; a throwaway certificate for the portal
lab_exec "$LAB_DIR" ldappasswd -x -H "ldap://$LAB_DIR4" -D "$SLAPD_ROOTDN" -w secret \
	-s 'dave-demo-1' "uid=dave,ou=people,$SLAPD_SUFFIX" >/dev/null 2>&1
P=$LAB_TMP/portal; mkdir -p "$P"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$LAB_GW_CLI4" \
	-addext "subjectAltName=IP:$LAB_GW_CLI4" -keyout "$P/key.pem" -out "$P/cert.pem" 2>/dev/null
chmod 600 "$P/key.pem"
cp examples/lab.conf "$CONF"
sed -i "s|^directory ldap .*|directory ldap { uri \"ldap://$LAB_DIR4:389\" starttls yes tls-ca \"$LAB_TMP/ldap/tls/ca.pem\" base \"dc=lab,dc=sluice,dc=test\" timeout 1s cache-ttl 0 }|" "$CONF"
cat >>"$CONF" <<PORTAL
protocol portal tcp { 80 8443 }
rule "portal" allow portal from clients to localhost
portal { listen $LAB_GW_CLI4:8443 certificate "$P/cert.pem" key "$P/key.pem" lifetime 1h idle 15m }
control { socket-mode 0666 operator-groups nogroup }
PORTAL
run ctl reload
PORTAL_PID=$(LAB_SPAWN_LOG=$LAB_TMP/portal.log lab_spawn "$LAB_GW" "$B/src/portal/sluice-portal" -f -c "$CONF" -s "$SOCK" -u nobody)
for i in $(seq 50); do lab_exec "$LAB_GW" ss -Htln | grep -q "$LAB_GW_CLI4:8443" && break; sleep 0.1; done
echo "  sluice-portal runs as nobody, no capabilities; it reaches sluiced only through the control socket"
echo "  \$ curl http://$LAB_SRV4/ (from $LAB_CLI4B, nobody signed in):"
lab_exec "$LAB_CLI" curl -s -m 5 --interface "$LAB_CLI4B" -o /dev/null -w '    HTTP %{http_code} -> %{redirect_url}\n' "http://$LAB_SRV4/"
talk "nobody at $LAB_CLI4B: voice to a server (rule 'staff voice')" "$LAB_CLI" UDP4 "$LAB_SRV4" 5301 "$LAB_CLI4B"
echo "  \$ curl https://$LAB_GW_CLI4:8443/login -d user=dave -d password=... (wrong, then right):"
lab_exec "$LAB_CLI" curl -sk -m 10 --interface "$LAB_CLI4B" -o /dev/null -w '    wrong password: HTTP %{http_code}\n' \
	--data-urlencode user=dave --data-urlencode password=nope "https://$LAB_GW_CLI4:8443/login"
lab_exec "$LAB_CLI" curl -sk -m 10 --interface "$LAB_CLI4B" -o /dev/null -w '    dave, right password: HTTP %{http_code}\n' \
	--data-urlencode user=dave --data-urlencode password=dave-demo-1 "https://$LAB_GW_CLI4:8443/login"
run ctl identity list
talk "dave (signed in at the portal): voice to a server" "$LAB_CLI" UDP4 "$LAB_SRV4" 5301 "$LAB_CLI4B"
# the portal reports its counters to sluiced every 2 s (portal-report)
pc() { ctl counters --json | python3 -c 'import json,sys; c=json.load(sys.stdin)["counters"]; print(", ".join(f"{k} {c[k]}" for k in sys.argv[1:]))' "$@"; }
for i in $(seq 30); do pc portal_signins | grep -q ' [1-9]' && break; sleep 0.2; done
echo "  sluiced's counters hold the portal's (also in /metrics, for alerts):"
echo "    $(pc portal_signed_in portal_signins portal_refused portal_throttled)"
lab_kill "$PORTAL_PID"

bold "15. Stop: sluiced removes what it installed"
lab_kill "$SLUICED_PID" # the pid started above, TERM first
lab_exec "$LAB_GW" nft list table inet sluice >/dev/null 2>&1 && echo "  table still there" || echo "  table inet sluice: removed"
echo "  sluiced's log:"; sed 's/^/    /' "$LAB_TMP/sluiced.log"
bold "Done; the lab is torn down."
