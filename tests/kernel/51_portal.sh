#!/usr/bin/env bash
# 51_portal — the login portal end to end, in headless Chromium inside the
# client's namespace (tests/kernel/portal_browser.py, WebDriver through
# chromedriver): the client opens http://server/ and lands on the portal
# (the kernel sends unidentified web sessions to sluice-portal's HTTP
# responder, which redirects to the HTTPS page); a wrong password is
# refused with a message; carol's password (odd bytes: UTF-8, quotes, &,
# %, +, spaces) signs her in — an LDAP bind as carol over StartTLS
# against the lab's slapd — and the staff-only server is reachable; the
# sign-out button takes it away. The portal runs as nobody with no
# capability and reaches sluiced only through the control socket
# (operator level by its group). Also: the captive-portal probes are
# redirected; a directory that does not answer gives a clear page (503)
# and a counter; a request that never finishes is cut, an oversized one
# refused; idle ends a sign-in whose page is gone; password guessing from
# an address is throttled, and so is guessing from many addresses of one
# source prefix (decisions per-source-prefix-v4, /28 here) or at one user
# name from many sources (a short backoff that never holds back a client
# without refusals); one client holding idle connections does not lock
# out others (per-address and per-prefix connection limits). Screenshots in
# $KT_BUILD/test-artifacts/51_portal.
. "$(dirname "$0")/lib.sh"
. "$KT_ROOT/tests/lab/peers.sh"
command -v chromium >/dev/null && command -v chromedriver >/dev/null ||
	{ kt_fail "chromium and chromium-driver are not installed (scripts/setup.sh)"; kt_done; }
kt_up
SLAPD_TLS_IP=$LAB_DIR4 peers_ldap_up || { kt_fail "slapd did not start"; kt_done; }
ART=$KT_BUILD/test-artifacts/51_portal
rm -rf "$ART"; mkdir -p "$ART"

# carol's password, with bytes a form and a filter must carry intact
PW='pä$$ "w&rd" 100%+1 <x>'
lab_exec "$LAB_DIR" ldappasswd -x -H "ldap://$LAB_DIR4" -D "$SLAPD_ROOTDN" -w secret \
	-s "$PW" "uid=carol,ou=people,$SLAPD_SUFFIX" >/dev/null 2>&1 &&
	kt_ok "carol has a password of odd bytes in the directory" || kt_fail "ldappasswd failed"

# the portal's certificate (a throwaway one for its address)
P=$LAB_TMP/portal
mkdir -p "$P"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$LAB_GW_CLI4" \
	-addext "subjectAltName=IP:$LAB_GW_CLI4" -keyout "$P/key.pem" -out "$P/cert.pem" 2>/dev/null
chmod 600 "$P/key.pem"
install -d -m 0755 "$LAB_TMP/run"
KT_SOCK=$LAB_TMP/run/ctl.sock
PORTAL=https://$LAB_GW_CLI4:8443

conf=$LAB_TMP/portal.conf
cat >"$conf" <<CONF
network clients { 198.18.1.0/24 }
network servers { 198.18.2.0/24 }
network infra   { 198.18.4.0/24 }
users staff { group staff }
protocol web    tcp 80
protocol portal tcp { 80 8443 }
protocol ldap   tcp 389
rule "portal"    allow portal from clients to localhost
rule "staff web" allow web from clients to servers users staff
rule "lookups"   allow ldap from localhost to infra
directory ldap { uri "ldap://$LAB_DIR4:389" starttls yes tls-ca "$LAB_TMP/ldap/tls/ca.pem" base "$SLAPD_SUFFIX" timeout 2s cache-ttl 0 }
portal { listen $LAB_GW_CLI4:8443 certificate "$P/cert.pem" key "$P/key.pem" lifetime 1h idle 30s }
control { socket-mode 0666 operator-groups nogroup }
decisions { deadline 2s per-source-prefix-v4 28 }
queue { fail closed revoke on }
metrics { listen 127.0.0.1:9130 }
CONF
out=$("$SLUICECTL" check -c "$conf" 2>&1) && kt_ok "the policy with a portal block checks clean" ||
	kt_fail "check: $out"
kt_start "$conf" || kt_done
nft_rules=$(lab_exec "$LAB_GW" nft list chain inet sluice portal_redirect 2>&1)
echo "$nft_rules" | grep -q "ip saddr 198.18.1.0/24 ip saddr != @portal_known4 tcp dport 80 .*dnat ip to $LAB_GW_CLI4:80" &&
	kt_ok "the kernel redirects unidentified clients' web sessions to the portal" ||
	kt_fail "portal_redirect: $nft_rules"

LAB_SPAWN_LOG=$LAB_TMP/portal.log lab_spawn "$LAB_GW" "$KT_BUILD/src/portal/sluice-portal" \
	-f -c "$conf" -s "$KT_SOCK" -u nobody >/dev/null
PORTAL_PID=$(tail -n1 "$LAB_TMP/pids")
up=0
for i in $(seq 100); do
	lab_exec "$LAB_GW" ss -Htln | grep -q "$LAB_GW_CLI4:8443" &&
		lab_exec "$LAB_GW" ss -Htln | grep -q "$LAB_GW_CLI4:80 " && { up=1; break; }
	sleep 0.1
done
[ "$up" = 1 ] && kt_ok "sluice-portal listens on :8443 (HTTPS) and :80 (redirects)" ||
	{ kt_fail "sluice-portal did not start: $(cat "$LAB_TMP/portal.log")"; kt_done; }
# the process behind it: nobody, no capability ($PORTAL_PID is `ip netns exec`,
# which execs sluice-portal in place)
st=/proc/$PORTAL_PID/status
uid=$(awk '/^Uid:/ {print $3}' "$st") cap=$(awk '/^CapEff:/ {print $2}' "$st")
[ "$uid" = "$(id -u nobody)" ] && [ "$cap" = 0000000000000000 ] &&
	kt_ok "the portal runs as nobody (uid $uid) with no capability (CapEff $cap)" ||
	kt_fail "portal uid $uid CapEff $cap"

# the browser: portal, wrong password, sign-in, server, sign-out
out=$(timeout 240 ip netns exec "$LAB_CLI" env HOME="$ART" python3 "$KT_ROOT/tests/kernel/portal_browser.py" \
	"$ART" "$LAB_SRV4" "$PORTAL" carol "$PW" "$SLUICECTL" "$KT_SOCK" 2>&1)
rc=$?
while IFS= read -r l; do
	case $l in
	ok:*) kt_ok "chromium: ${l#ok: }" ;;
	FAIL:*) kt_fail "chromium: ${l#FAIL: }" ;;
	esac
done <<<"$out"
[ "$rc" -eq 0 ] && echo "$out" | grep -q "sign-out button" || kt_fail "the browser run ended with $rc: $(echo "$out" | tail -5)"
shots=$(ls "$ART"/portal-*.png 2>/dev/null | wc -l)
[ "$shots" -eq 4 ] && kt_ok "4 screenshots in $ART" || kt_fail "$shots screenshots in $ART"
rm -rf "$ART/profile"

# the operating systems' captive-portal probes are sent to the page
for probe in /generate_204 /hotspot-detect.html /connecttest.txt; do
	h=$(lab_exec "$LAB_CLI" curl -s -o /dev/null -m 5 -w '%{http_code} %{redirect_url}' "http://$LAB_SRV4$probe")
	[ "$h" = "302 $PORTAL/" ] && kt_ok "probe $probe: $h" || kt_fail "probe $probe: '$h'"
done

# bad input: a request that never finishes is cut, an oversized one refused
t0=$(date +%s%N)
lab_exec "$LAB_CLI" timeout 30 bash -c "exec 3<>/dev/tcp/$LAB_GW_CLI4/8443; cat <&3" >/dev/null 2>&1
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 8000 ] && kt_ok "a connection that sends nothing is cut by the portal within its 5 s request deadline (${ms} ms)" ||
	kt_fail "a silent connection was held ${ms} ms"
big=$(head -c 20000 /dev/zero | tr '\0' a)
# (Expect: 100-continue: curl sends the head and waits for the answer, so
# the 413 is read before a body the portal will not take)
h=$(lab_exec "$LAB_CLI" curl -sk -o /dev/null -m 10 -w '%{http_code}' -H 'Expect: 100-continue' \
	--data "user=carol&password=$big" "$PORTAL/login")
[ "$h" = 413 ] && kt_ok "a 20 kB sign-in body is refused (413)" || kt_fail "oversized body: '$h'"

# a directory that does not answer: a clear page, a counter, no identity
# (meanwhile the portal answers others: the directory is asked on a thread)
kill -STOP "$PEERS_LDAP_PID"
lab_exec "$LAB_CLI" curl -sk -m 30 -w '\n%{http_code}' --data-urlencode user=carol \
	--data-urlencode "password=$PW" "$PORTAL/login" >"$LAB_TMP/silent.out" 2>&1 &
signin=$!
for i in $(seq 100); do # the sign-in's connection is open: it waits on the directory
	lab_exec "$LAB_GW" ss -Htn state established "( sport = :8443 )" | grep -q . && break
	sleep 0.02
done
t0=$(date +%s%N)
h=$(lab_exec "$LAB_CLI" curl -s -o /dev/null -m 5 -w '%{http_code}' "http://$LAB_SRV4/")
ms=$((($(date +%s%N) - t0) / 1000000))
kill -0 "$signin" 2>/dev/null && pending=yes || pending=no
wait "$signin"
kill -CONT "$PEERS_LDAP_PID"
[ "$h" = 302 ] && [ "$pending" = yes ] &&
	kt_ok "while a sign-in waits on the silent directory the portal answers others ($h in ${ms} ms)" ||
	kt_fail "while the directory is silent: '$h' in ${ms} ms, the sign-in still waiting: $pending"
body=$(cat "$LAB_TMP/silent.out")
code=${body##*$'\n'}
[ "$code" = 503 ] && echo "$body" | grep -q "directory does not answer" &&
	kt_ok "directory silent: 503, 'The directory does not answer'" || kt_fail "directory silent: $code $(echo "$body" | grep msg)"
grep -q "directory unavailable: 1" "$LAB_TMP/portal.log" && kt_ok "counted: $(grep -o 'failed: .*' "$LAB_TMP/portal.log" | tail -1)" ||
	kt_fail "no count in the portal log: $(tail -3 "$LAB_TMP/portal.log")"
ctl identity | grep -q carol && kt_fail "carol is known after a failed sign-in: $(ctl identity)" ||
	kt_ok "no identity from a sign-in the directory could not check"

# idle: signed in by curl (no page left open), the sign-in ends by itself
h=$(lab_exec "$LAB_CLI" curl -sk -o /dev/null -m 10 -w '%{http_code}' --data-urlencode user=carol \
	--data-urlencode "password=$PW" "$PORTAL/login")
[ "$h" = 302 ] && ctl identity | grep -q "carol .*portal" && kt_ok "curl signs carol in (302, in the table)" ||
	kt_fail "curl sign-in: $h $(ctl identity)"
gone=0
for i in $(seq 60); do # idle 30 s, swept every 2 s
	ctl identity | grep -q carol || { gone=$i; break; }
	sleep 1
done
[ "$gone" -gt 0 ] && kt_ok "the sign-in ends when its page is not seen for idle (after ~${gone} s more)" ||
	kt_fail "carol still known 60 s after her page went: $(ctl identity)"
for i in $(seq 50); do # the portal's sweep (every 2 s) logs it out too
	grep -q "carol at $LAB_CLI4 signed out (idle)" "$LAB_TMP/portal.log" && break
	sleep 0.2
done
grep -q "carol at $LAB_CLI4 signed out (idle)" "$LAB_TMP/portal.log" && kt_ok "logged as signed out (idle)" ||
	kt_fail "portal log: $(tail -3 "$LAB_TMP/portal.log")"
# password guessing: after 5 refusals from an address, the next sign-in
# there waits (429) without asking the directory; other addresses do not
codes=
for i in 1 2 3 4 5 6; do
	codes="$codes $(lab_exec "$LAB_CLI" curl -sk -o /dev/null -m 10 -w '%{http_code}' --interface "$LAB_CLI4B" \
		--data-urlencode user=carol --data-urlencode "password=guess $i" "$PORTAL/login")"
done
[ "$codes" = " 403 403 403 403 403 429" ] && kt_ok "guessing from $LAB_CLI4B: $codes" || kt_fail "guessing: $codes"
grep -q "carol at $LAB_CLI4B not tried: too many refused lately for this address" "$LAB_TMP/portal.log" &&
	kt_ok "the 6th was not sent to the directory (logged)" ||
	kt_fail "portal log: $(tail -2 "$LAB_TMP/portal.log")"
h=$(lab_exec "$LAB_CLI" curl -sk -o /dev/null -m 10 -w '%{http_code}' --data-urlencode user=carol \
	--data-urlencode "password=$PW" "$PORTAL/login")
[ "$h" = 302 ] && kt_ok "carol from $LAB_CLI4 still signs in (302)" || kt_fail "another address after guessing: $h"

# the portal's counters in sluiced's (control: portal-report, every 2 s):
# the sign-ins, the refusals, the throttled guess, the silent directory
pc() { ctl counters --json | python3 -c "import json,sys; print(json.load(sys.stdin)['counters']['$1'])"; }
# (a report at most 2 s old: wait for the one after carol's last sign-in)
for i in $(seq 40); do
	[ "$(pc portal_signed_in)" = 1 ] && [ "$(pc portal_throttled)" = 1 ] && break
	sleep 0.2
done
got="signed_in $(pc portal_signed_in) signins $(pc portal_signins) refused $(pc portal_refused) throttled $(pc portal_throttled) unavailable $(pc portal_directory_unavailable)"
[ "$(pc portal_signed_in)" = 1 ] && [ "$(pc portal_signins)" -ge 2 ] && [ "$(pc portal_refused)" -ge 5 ] &&
	[ "$(pc portal_throttled)" = 1 ] && [ "$(pc portal_directory_unavailable)" = 1 ] &&
	kt_ok "sluiced's counters show the portal's: $got" || kt_fail "portal counters in sluiced: $got"
m=$(lab_exec "$LAB_GW" curl -s -m 5 http://127.0.0.1:9130/metrics | grep '^sluice_portal_throttled')
[ -n "$m" ] && kt_ok "and in /metrics: $m" || kt_fail "no sluice_portal_throttled in /metrics"

# guessing from fresh addresses of one source prefix (198.18.1.160/28;
# decisions per-source-prefix-v4 28): 3 guesses from each of 8, at names
# of their own: 20 reach the directory, then the prefix waits (429), the
# right password from it too; another prefix is not held back
try_in() { # try_in ADDR USER PASSWORD -> HTTP status
	lab_exec "$LAB_CLI" curl -sk -o /dev/null -m 10 -w '%{http_code}' --interface "$1" \
		--data-urlencode "user=$2" --data-urlencode "password=$3" "$PORTAL/login"
}
for a in $(seq 160 170) $(seq 180 190); do
	lab_exec "$LAB_CLI" ip addr add "198.18.1.$a/24" dev gw0 2>/dev/null
done
n403=0 n429=0
for a in $(seq 160 167); do
	for i in 1 2 3; do
		case $(try_in "198.18.1.$a" "guest$a" "guess $i") in
		403) n403=$((n403 + 1)) ;; 429) n429=$((n429 + 1)) ;;
		esac
	done
done
[ "$n403" = 20 ] && [ "$n429" = 4 ] &&
	kt_ok "24 guesses from 8 addresses of 198.18.1.160/28: 20 asked the directory, 4 throttled" ||
	kt_fail "guessing across a prefix: $n403 refused by the directory, $n429 throttled (want 20, 4)"
h=$(try_in 198.18.1.170 carol "$PW")
[ "$h" = 429 ] && kt_ok "the right password from that prefix waits too (429: the prefix is held a minute)" ||
	kt_fail "right password from the guessing prefix: $h"
grep -q "not tried: too many refused lately for this address's network" "$LAB_TMP/portal.log" &&
	kt_ok "logged as the prefix's limit" || kt_fail "no prefix throttle logged"
# guessing at carol from 10 fresh sources (198.18.1.180/28), one each: a
# source with refusals of its own then waits 5 s after the name's last
# refusal; carol from a clean address signs in all the same
n403=0
for a in $(seq 180 189); do
	[ "$(try_in "198.18.1.$a" carol "guess at carol $a")" = 403 ] && n403=$((n403 + 1))
done
h=$(try_in 198.18.1.180 carol "one more")
[ "$n403" = 10 ] && [ "$h" = 429 ] &&
	kt_ok "10 guesses at carol from 10 sources, then a source that guessed waits: $h" ||
	kt_fail "guessing at one name: $n403 refused, then $h"
# the same name spelt as the directory folds it (RFC 4518: a fullwidth c,
# a no-break space after; helper-76 f6) shares the name's budget
for u in "$(printf '\xef\xbd\x83arol')" "$(printf 'carol\xc2\xa0')"; do
	h=$(try_in 198.18.1.181 "$u" "guess at carol, spelt otherwise")
	[ "$h" = 429 ] && kt_ok "a source that guessed waits for '$u' too: $h" ||
		kt_fail "'$u' from a source that guessed at carol: $h (want 429)"
done
h=$(try_in 198.18.1.190 carol "$PW")
[ "$h" = 302 ] && kt_ok "carol from a clean address still signs in (302)" || kt_fail "carol after the name was guessed at: $h"

# one client holding idle connections (16, sending nothing) takes at most
# 4 (per address); another client signs in meanwhile; the holder's own
# next connection is closed at once
LAB_SPAWN_LOG=$LAB_TMP/hold.log lab_spawn "$LAB_CLI" timeout 20 python3 -c "
import socket, time
ss = []
for i in range(16):
    s = socket.socket(); s.bind(('$LAB_CLI4B', 0)); s.connect(('$LAB_GW_CLI4', 8443)); ss.append(s)
time.sleep(4)
" >/dev/null
for i in $(seq 50); do
	[ "$(lab_exec "$LAB_GW" ss -Htn state established "( sport = :8443 )" | wc -l)" -ge 4 ] && break
	sleep 0.1
done
sleep 0.3
held=$(lab_exec "$LAB_GW" ss -Htn state established "( sport = :8443 )" | grep -c "$LAB_CLI4B")
h=$(lab_exec "$LAB_CLI" curl -sk -o /dev/null -m 5 -w '%{http_code}' "$PORTAL/")
hb=$(lab_exec "$LAB_CLI" curl -sk -o /dev/null -m 5 -w '%{http_code}' --interface "$LAB_CLI4B" "$PORTAL/")
[ "$h" = 200 ] && [ "$hb" = 000 ] &&
	kt_ok "16 idle connections from $LAB_CLI4B ($held kept by the portal): $LAB_CLI4 gets the page ($h), $LAB_CLI4B's next is closed" ||
	kt_fail "idle connections from $LAB_CLI4B ($held kept): $LAB_CLI4 got '$h', $LAB_CLI4B got '$hb'"
grep -q "portal: refused [0-9]* connection(s): the client's address or prefix holds its share" "$LAB_TMP/portal.log" &&
	kt_ok "logged: $(grep -o "portal: refused [0-9]* connection(s): the client's address or prefix holds its share" "$LAB_TMP/portal.log" | head -1)" ||
	kt_fail "no per-source refusal logged: $(grep refused "$LAB_TMP/portal.log" | tail -2)"

kill -TERM "$PORTAL_PID"
# stopped: its users signed in read 0 once no report came for 10 s
t0=$(date +%s)
for i in $(seq 70); do [ "$(pc portal_signed_in)" = 0 ] && break; sleep 0.2; done
[ "$(pc portal_signed_in)" = 0 ] && [ "$(pc portal_signins)" -ge 2 ] &&
	kt_ok "portal stopped: portal_signed_in 0 after $(($(date +%s) - t0)) s, portal_signins kept" ||
	kt_fail "portal stopped: signed_in $(pc portal_signed_in), signins $(pc portal_signins)"
kt_done
