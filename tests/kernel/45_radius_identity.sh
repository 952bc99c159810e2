#!/usr/bin/env bash
# 45_radius_identity — RADIUS accounting as an identity source,
# with FreeRADIUS's radclient as the accounting client (the NAS). A client
# on the lab LAN reaches a staff-only server after a Start for a staff user
# at its address, keeps it across a sluiced restart (the state file), loses
# it after the Stop; IPv6 through Framed-IPv6-Address, and through
# Framed-IPv6-Prefix for the client's /64 (an address inside the prefix is
# the user; Stop ends it; a prefix length over 128 is dropped and counted);
# a retransmitted Start is harmless; an ignore-listed service account does not replace the user,
# in its own realm's spellings either (nagios@corp.example, CORP\nagios);
# another realm's or domain's account (dave@partner.example,
# PARTNER\dave: federated, roaming) is not the local dave and passes no
# `user dave` rule, while dave@CORP.EXAMPLE (own-realms) is dave and a Stop
# spelled CORP\DAVE ends it;
# a captured Start replayed after more requests than the replay memory
# holds, inside its 15-minute window, is refused (the memory's floor);
# a wrong secret, a stranger and a malformed datagram are dropped and
# counted (`sluicectl identity sources`); one NAS's request stamped 290 s
# ahead, once forgotten, refuses only that NAS's requests, not another
# NAS's correctly-timed Start (floors per NAS, attack76 F2); a reload that
# turns radius-listen off and on again keeps the replay memory (F7).
. "$(dirname "$0")/lib.sh"
command -v radclient >/dev/null || { echo "$KT_NAME: FAIL: radclient missing (scripts/setup.sh installs freeradius-utils)" >&2; exit 1; }
kt_up
SECRET=$LAB_TMP/radius.secret
printf 'lab-secret-%s\n' "$LAB_RUN" >"$SECRET"
chmod 600 "$SECRET"
conf=$LAB_TMP/radius.conf
cat >"$conf" <<CONF
network clients { 198.18.1.0/24 2001:db8:1::/64 }
network servers { 198.18.2.0/24 2001:db8:2::/64 }
users staff { user dave user erin }
protocol web tcp { 80 8080 }
rule "staff web" allow web from clients to servers users staff
identity {
  radius-listen 0.0.0.0:1813
  radius-secret-file "$SECRET"
  radius-clients { 127.0.0.1 }
  ignore-users { nagios }
  own-realms { CORP.EXAMPLE CORP }
}
queue { count 1 fail closed udp-timeout 60s revoke on on-exit remove }
CONF
kt_start "$conf" || kt_done

# acct TO SECRET ATTRS: one Accounting-Request by radclient from the
# gateway (source 127.0.0.1 to 127.0.0.1, else the gateway's LAN address);
# one try, 1 s; exit status 0 when answered.
acct() {
	echo "$3" | lab_exec "$LAB_GW" timeout 10 radclient -r 1 -t 1 -q "$1:1813" acct "$2" >/dev/null 2>&1
}
S=$(head -n1 "$SECRET")
src_count() { # src_count FIELD: the radius source's counter FIELD
	ctl identity sources --json | python3 -c "import json,sys; print(json.load(sys.stdin)['radius']['$1'])"
}
who() { # who ADDR: "user source" of ADDR, or "none"
	ctl identity list --json | python3 -c "
import json,sys
e=[x for x in json.load(sys.stdin) if x['address']=='$1']
print(e[0]['user'], e[0]['source'] if e else '') if e else print('none')"
}

expect_talk "unidentified client to the staff server is denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
acct 127.0.0.1 "$S" "Acct-Status-Type=Start,User-Name=dave,Framed-IP-Address=$LAB_CLI4,Acct-Session-Id=s1" &&
	kt_ok "Start answered (Accounting-Response verified by radclient)" || kt_fail "Start not answered"
acct 127.0.0.1 "$S" "Acct-Status-Type=Start,User-Name=dave,Framed-IP-Address=$LAB_CLI4,Acct-Session-Id=s1" &&
	kt_ok "the retransmitted Start answered too" || kt_fail "retransmit not answered"
[ "$(who $LAB_CLI4)" = "dave radius" ] && kt_ok "$LAB_CLI4 is dave (radius)" || kt_fail "identity: $(who $LAB_CLI4)"
[ "$(ctl identity list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1 ] &&
	kt_ok "one entry after the retransmit" || kt_fail "entries: $(ctl identity list)"
expect_talk "dave's web to the staff server is allowed" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80

# a service account's login does not replace dave
acct 127.0.0.1 "$S" "Acct-Status-Type=Interim-Update,User-Name=nagios,Framed-IP-Address=$LAB_CLI4" ||
	kt_fail "nagios' Interim-Update not answered"
[ "$(who $LAB_CLI4)" = "dave radius" ] && kt_ok "nagios (ignore-users) did not replace dave" ||
	kt_fail "after nagios: $(who $LAB_CLI4)"
[ "$(src_count ignored)" = 1 ] && kt_ok "counted as ignored" || kt_fail "ignored: $(src_count ignored)"
# ... nor in its own realm's spellings, nor in those the directory folds
# to it (RFC 4518: a fullwidth n, an ideographic space before; helper-76
# f8; a soft hyphen inside is refused as a name: below)
for n in nagios@corp.example 'CORP\\Nagios' "$(printf '\xef\xbd\x8eagios')" "$(printf '\xe3\x80\x80nagios')"; do
	acct 127.0.0.1 "$S" "Acct-Status-Type=Interim-Update,User-Name=$n,Framed-IP-Address=$LAB_CLI4" ||
		kt_fail "$n's Interim-Update not answered"
	[ "$(who $LAB_CLI4)" = "dave radius" ] && kt_ok "$n (ignore-users: an own realm, a folded spelling) did not replace dave" ||
		kt_fail "after $n: $(who $LAB_CLI4)"
done
[ "$(src_count ignored)" = 5 ] && kt_ok "counted as ignored (5)" || kt_fail "ignored: $(src_count ignored)"

# realms: another organisation's dave is not our dave (attack70 finding 2);
# radclient reads \\ in a value as one \ (so 'PARTNER\\dave' is sent
# as PARTNER\dave)
for n in dave@partner.example 'PARTNER\\dave' dave@corp.example.evil; do
	acct 127.0.0.1 "$S" "Acct-Status-Type=Start,User-Name=$n,Framed-IP-Address=$LAB_CLI4B,Acct-Session-Id=r1" ||
		kt_fail "$n's Start not answered"
	u=$(who $LAB_CLI4B)
	[ "$u" != none ] && [ "$u" != "dave radius" ] && [ "${u% radius}" != "$u" ] ||
		kt_fail "$n: $LAB_CLI4B is $u"
	expect_talk "$n (another realm) at $LAB_CLI4B is not dave: the staff server is denied" 0 \
		"$LAB_CLI" TCP4 "$LAB_SRV4" 80 "$LAB_CLI4B"
done
acct 127.0.0.1 "$S" "Acct-Status-Type=Start,User-Name=dave@CORP.EXAMPLE,Framed-IP-Address=$LAB_CLI4B,Acct-Session-Id=r2" ||
	kt_fail "dave@CORP.EXAMPLE's Start not answered"
expect_talk "dave@CORP.EXAMPLE (own realm) at $LAB_CLI4B is dave: allowed" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80 "$LAB_CLI4B"
stop_user='CORP\\DAVE'
acct 127.0.0.1 "$S" "Acct-Status-Type=Stop,User-Name=$stop_user,Framed-IP-Address=$LAB_CLI4B,Acct-Session-Id=r2" ||
	kt_fail "CORP\\DAVE's Stop not answered"
[ "$(who $LAB_CLI4B)" = none ] && kt_ok "a Stop spelled CORP\\DAVE ended dave@CORP.EXAMPLE's entry" ||
	kt_fail "after CORP\\DAVE's Stop: $(who $LAB_CLI4B)"

# IPv6
acct 127.0.0.1 "$S" "Acct-Status-Type=Start,User-Name=erin,Framed-IPv6-Address=$LAB_CLI6" ||
	kt_fail "IPv6 Start not answered"
expect_talk "erin's web over IPv6 is allowed" 5 "$LAB_CLI" TCP6 "$LAB_SRV6" 80

# bad input: no answer, counted, nothing changed
acct 127.0.0.1 "wrong-secret" "Acct-Status-Type=Stop,User-Name=dave,Framed-IP-Address=$LAB_CLI4" &&
	kt_fail "a request with the wrong secret was answered" || kt_ok "wrong secret: no answer"
acct "$LAB_GW_CLI4" "$S" "Acct-Status-Type=Stop,User-Name=dave,Framed-IP-Address=$LAB_CLI4" &&
	kt_fail "a stranger's request was answered" || kt_ok "a stranger ($LAB_GW_CLI4): no answer"
printf 'garbage' | lab_exec "$LAB_GW" timeout 2 socat -u - UDP4-SENDTO:127.0.0.1:1813,bind=127.0.0.1 2>/dev/null
sleep 0.3
[ "$(src_count rejected_secret)" = 1 ] && kt_ok "rejected_secret 1" || kt_fail "rejected_secret $(src_count rejected_secret)"
[ "$(src_count rejected_client)" = 1 ] && kt_ok "rejected_client 1" || kt_fail "rejected_client $(src_count rejected_client)"
[ "$(src_count rejected_malformed)" = 1 ] && kt_ok "rejected_malformed 1" || kt_fail "rejected_malformed $(src_count rejected_malformed)"
grep -q "radius: dropped a request" "$LAB_TMP/sluiced.log" && kt_ok "the drops are logged" || kt_fail "no drop logged"
[ "$(who $LAB_CLI4)" = "dave radius" ] && kt_ok "dave is still known" || kt_fail "after bad input: $(who $LAB_CLI4)"

# replays: a captured Start sent again after a Stop and another user's
# Start is answered and changes nothing; so is one with an hour-old
# Event-Timestamp (counted replayed)
cat >"$LAB_TMP/acct.py" <<'PY'
import hashlib, socket, struct, sys, time
# acct.py SECRET USER ADDR OUT|-  [AGE_S]: a signed Start, sent, kept in OUT;
# acct.py SECRET - - IN: IN's bytes sent again. Prints "answered" or "none".
secret, user, addr, path = sys.argv[1].encode(), sys.argv[2], sys.argv[3], sys.argv[4]
if user == "-":
    pkt = open(path, "rb").read()
else:
    attrs = struct.pack(">BBI", 40, 6, 1) + bytes([1, 2 + len(user)]) + user.encode()
    attrs += bytes([8, 6]) + socket.inet_aton(addr)
    if len(sys.argv) > 5:
        attrs += struct.pack(">BBI", 55, 6, int(time.time()) - int(sys.argv[5]))
    head = struct.pack(">BBH", 4, 77, 20 + len(attrs))
    auth = hashlib.md5(head + bytes(16) + attrs + secret).digest()
    pkt = head + auth + attrs
    if path != "-":
        open(path, "wb").write(pkt)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(1.5)
s.sendto(pkt, ("127.0.0.1", 1813))
try:
    print("answered" if s.recv(64)[0] == 5 else "bad")
except socket.timeout:
    print("none")
PY
r=$(lab_exec "$LAB_GW" python3 "$LAB_TMP/acct.py" "$S" frank "$LAB_CLI4B" "$LAB_TMP/start.bin")
[ "$r" = answered ] && [ "$(who $LAB_CLI4B)" = "frank radius" ] && kt_ok "frank's Start at $LAB_CLI4B (kept)" ||
	kt_fail "frank's Start: $r, $(who $LAB_CLI4B)"
acct 127.0.0.1 "$S" "Acct-Status-Type=Stop,User-Name=frank,Framed-IP-Address=$LAB_CLI4B" &&
	acct 127.0.0.1 "$S" "Acct-Status-Type=Start,User-Name=grace,Framed-IP-Address=$LAB_CLI4B" ||
	kt_fail "Stop frank, Start grace not answered"
rp=$(src_count replayed)
r=$(lab_exec "$LAB_GW" python3 "$LAB_TMP/acct.py" "$S" - - "$LAB_TMP/start.bin")
[ "$r" = answered ] && [ "$(who $LAB_CLI4B)" = "grace radius" ] && [ "$(src_count replayed)" = $((rp + 1)) ] &&
	kt_ok "frank's Start replayed: answered, $LAB_CLI4B stays grace (replayed $((rp + 1)))" ||
	kt_fail "replay: $r, $(who $LAB_CLI4B), replayed $(src_count replayed)"
r=$(lab_exec "$LAB_GW" python3 "$LAB_TMP/acct.py" "$S" frank "$LAB_CLI4B" - 3600)
[ "$r" = answered ] && [ "$(who $LAB_CLI4B)" = "grace radius" ] && [ "$(src_count replayed)" = $((rp + 2)) ] &&
	kt_ok "a Start with an hour-old Event-Timestamp: answered (the NAS moves on), not applied: grace stays" ||
	kt_fail "stale Start: $r, $(who $LAB_CLI4B), replayed $(src_count replayed)"
r=$(lab_exec "$LAB_GW" python3 "$LAB_TMP/acct.py" "$S" heidi "$LAB_CLI4B" - 30)
[ "$r" = answered ] && [ "$(who $LAB_CLI4B)" = "heidi radius" ] &&
	kt_ok "one 30 s old (a NAS retrying): taken" || kt_fail "fresh timestamp: $r, $(who $LAB_CLI4B)"
acct 127.0.0.1 "$S" "Acct-Status-Type=Stop,User-Name=heidi,Framed-IP-Address=$LAB_CLI4B" &&
	[ "$(who $LAB_CLI4B)" = none ] || kt_fail "heidi's Stop: $(who $LAB_CLI4B)"

# while it runs, the housekeeping tick (every 10 s) saves a changed table
# on a thread of its own (the snapshot on the event loop)
for i in $(seq 125); do
	grep -q '"user":"dave"' "$KT_SOCK.identities" 2>/dev/null && break
	sleep 0.2
done
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["policy"] and any(e["user"]=="dave" for e in d["table"]["entries"])' "$KT_SOCK.identities" 2>/dev/null &&
	kt_ok "the running sluiced saved its table (dave in $KT_SOCK.identities)" ||
	kt_fail "no save while running: $(head -c 300 "$KT_SOCK.identities" 2>&1)"
# a restart keeps the table (state file), a reload too
kt_stop
kill -0 "$KT_PID" 2>/dev/null && kt_fail "sluiced did not stop"
[ -f "$KT_SOCK.identities" ] && kt_ok "state file written at stop" || kt_fail "no state file"
# a start under another policy file does not take this policy's table
other=$LAB_TMP/other-policy.conf
cp "$conf" "$other"
kt_start "$other" || kt_done
[ "$(who $LAB_CLI4)" != "dave radius" ] && kt_ok "a start under another policy file reads no identities" ||
	kt_fail "another policy file got the table: $(who $LAB_CLI4)"
kt_stop
kt_start "$conf" || kt_done
[ "$(who $LAB_CLI4)" = "dave radius" ] && kt_ok "after the restart $LAB_CLI4 is still dave (radius)" ||
	kt_fail "after restart: $(who $LAB_CLI4)"
grep -q "identities: 2 read back" "$LAB_TMP/sluiced.log" && kt_ok "2 entries read back" ||
	kt_fail "not read back: $(grep identities "$LAB_TMP/sluiced.log")"
# the replay memory too: frank's captured Start (no Event-Timestamp, so no
# age to refuse it by) replayed after the restart changes nothing
grep -q "radius: [0-9]* request authenticators read back" "$LAB_TMP/sluiced.log" &&
	kt_ok "the replay memory read back: $(grep -o 'radius: [0-9]* request authenticators read back' "$LAB_TMP/sluiced.log" | tail -1)" ||
	kt_fail "replay memory not read back: $(grep radius: "$LAB_TMP/sluiced.log" | tail -3)"
rp=$(src_count replayed)
r=$(lab_exec "$LAB_GW" python3 "$LAB_TMP/acct.py" "$S" - - "$LAB_TMP/start.bin")
[ "$r" = answered ] && [ "$(who $LAB_CLI4B)" = none ] && [ "$(src_count replayed)" = $((rp + 1)) ] &&
	kt_ok "frank's Start replayed after the restart: answered, not applied (replayed $((rp + 1)))" ||
	kt_fail "replay after restart: $r, $(who $LAB_CLI4B), replayed $(src_count replayed)"
expect_talk "dave's web allowed after the restart" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
ctl reload >/dev/null || kt_fail "reload failed"
[ "$(who $LAB_CLI4)" = "dave radius" ] && kt_ok "the reload keeps the table" || kt_fail "after reload: $(who $LAB_CLI4)"

# Stop: logged out; new sessions are denied, and the open one is revoked
# (queue { revoke on }: within a second of the logout)
h=$(hold "$LAB_CLI" TCP4 "$LAB_SRV4" 80 12)
sleep 1.5
a=$(held "$h")
[ "$a" -ge 3 ] && kt_ok "dave's long session runs ($a echoes)" || kt_fail "long session: $a echoes"
acct 127.0.0.1 "$S" "Acct-Status-Type=Stop,User-Name=dave,Framed-IP-Address=$LAB_CLI4,Acct-Session-Id=s1" &&
	kt_ok "Stop answered" || kt_fail "Stop not answered"
[ "$(who $LAB_CLI4)" = "none" ] && kt_ok "$LAB_CLI4 logged out" || kt_fail "after Stop: $(who $LAB_CLI4)"
acct 127.0.0.1 "$S" "Acct-Status-Type=Stop,User-Name=dave,Framed-IP-Address=$LAB_CLI4,Acct-Session-Id=s1" &&
	kt_ok "a repeated Stop is answered (harmless)" || kt_fail "repeated Stop not answered"
expect_talk "after the Stop the staff server is denied again" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
b=$(held "$h"); sleep 1.5; c=$(held "$h")
[ "$c" -eq "$b" ] && kt_ok "the open session was revoked after the Stop ($b echoes, then none)" ||
	kt_fail "the open session still runs after the Stop ($b then $c)"
grep -q "identities changed: 1 session(s) revoked" "$LAB_TMP/sluiced.log" && kt_ok "logged: 1 session revoked" ||
	kt_fail "no revocation logged"

[ "$(src_count logouts)" = 1 ] && kt_ok "one logout counted (since the restart)" || kt_fail "logouts $(src_count logouts)"

# IPv6 by prefix (RFC 3162): erin's address entry ends, then a Start with
# Framed-IPv6-Prefix for the client's /64 makes every address in it erin's
acct 127.0.0.1 "$S" "Acct-Status-Type=Stop,User-Name=erin,Framed-IPv6-Address=$LAB_CLI6" ||
	kt_fail "erin's IPv6 address Stop not answered"
[ "$(who "$LAB_CLI6")" = none ] && kt_ok "$LAB_CLI6 logged out" || kt_fail "after erin's Stop: $(who "$LAB_CLI6")"
expect_talk "after erin's Stop IPv6 to the staff server is denied" 0 "$LAB_CLI" TCP6 "$LAB_SRV6" 80
P6=2001:db8:1::/64 # the lab client's LAN prefix ($LAB_CLI6, $LAB_CLI6B)
acct 127.0.0.1 "$S" "Acct-Status-Type=Start,User-Name=erin,Framed-IPv6-Prefix=$P6,Acct-Session-Id=s6" &&
	kt_ok "Start with Framed-IPv6-Prefix $P6 answered" || kt_fail "prefix Start not answered"
[ "$(who $P6)" = "erin radius" ] && kt_ok "$P6 is erin (radius)" || kt_fail "prefix identity: $(who $P6)"
[ "$(who "$LAB_CLI6")" = none ] && kt_ok "no entry of its own for $LAB_CLI6: known through the prefix" ||
	kt_fail "$LAB_CLI6 has an own entry: $(who "$LAB_CLI6")"
expect_talk "erin's IPv6 web from inside $P6 is allowed" 5 "$LAB_CLI" TCP6 "$LAB_SRV6" 80
expect_talk "IPv4 from the same client (no identity) stays denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
# names with an invisible format character (Unicode Cf: a bidi override
# shows admin U+202E gpj.exe as "adminexe.jpg"; a soft hyphen): malformed,
# not answered, counted, nothing recorded (attack84 06)
mal=$(src_count rejected_malformed) was=$(who $LAB_CLI4B)
for n in "$(printf 'admin\xe2\x80\xaegpj.exe')" "$(printf 'na\xc2\xadgios')"; do
	acct 127.0.0.1 "$S" "Acct-Status-Type=Start,User-Name=$n,Framed-IP-Address=$LAB_CLI4B,Acct-Session-Id=cf" &&
		kt_fail "a name with a format character was answered" || kt_ok "a name with a format character: no answer"
done
[ "$(src_count rejected_malformed)" = $((mal + 2)) ] && kt_ok "format characters: rejected_malformed $mal -> $((mal + 2))" ||
	kt_fail "format characters: rejected_malformed $mal -> $(src_count rejected_malformed)"
[ "$(who $LAB_CLI4B)" = "$was" ] && kt_ok "$LAB_CLI4B unchanged ($was)" || kt_fail "after format characters: $(who $LAB_CLI4B)"

# a signed request whose Framed-IPv6-Prefix says /129: malformed, not
# answered, counted; the prefix entry stays
mal=$(src_count rejected_malformed)
ans=$(lab_exec "$LAB_GW" python3 - "$S" <<'PY'

import hashlib, socket, struct, sys
attrs = (bytes([40, 6, 0, 0, 0, 2]) + bytes([1, 6]) + b"erin" +
         bytes([97, 20, 0, 129]) + socket.inet_pton(socket.AF_INET6, "2001:db8:1::"))
head = struct.pack("!BBH", 4, 77, 20 + len(attrs))
auth = hashlib.md5(head + bytes(16) + attrs + sys.argv[1].encode()).digest()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
u.settimeout(1.5)
u.sendto(head + auth + attrs, ("127.0.0.1", 1813))
try:
    u.recv(100)
    print("answered")
except socket.timeout:
    print("no answer")
PY
)
[ "$ans" = "no answer" ] && kt_ok "the /129 prefix: no answer" || kt_fail "the /129 prefix: '$ans'"
for i in $(seq 50); do [ "$(src_count rejected_malformed)" -gt "$mal" ] && break; sleep 0.1; done
[ "$(src_count rejected_malformed)" = $((mal + 1)) ] && kt_ok "the /129 prefix: rejected_malformed $mal -> $((mal + 1))" ||
	kt_fail "the /129 prefix: rejected_malformed $mal -> $(src_count rejected_malformed)"
[ "$(who $P6)" = "erin radius" ] && kt_ok "$P6 still erin after the malformed Stop" || kt_fail "after /129: $(who $P6)"

acct 127.0.0.1 "$S" "Acct-Status-Type=Stop,User-Name=erin,Framed-IPv6-Prefix=$P6,Acct-Session-Id=s6" &&
	kt_ok "prefix Stop answered" || kt_fail "prefix Stop not answered"
[ "$(who $P6)" = none ] && kt_ok "$P6 logged out" || kt_fail "after the prefix Stop: $(who $P6)"
expect_talk "after the prefix Stop IPv6 to the staff server is denied" 0 "$LAB_CLI" TCP6 "$LAB_SRV6" 80
[ "$(src_count logouts)" = 3 ] && kt_ok "three logouts counted (dave, erin's address, erin's prefix)" ||
	kt_fail "logouts $(src_count logouts)"
# the replay memory full (RFC 5080 §2.2.2; docs/identity.md, "Replays"):
# ivan's captured Start (Event-Timestamp now), his Stop, then 34000 other
# authentic requests, more than the 32768 remembered, within a few
# seconds; the Start replayed well inside its 15-minute window is answered
# and not applied (it is not newer than the requests forgotten), and a
# request without Event-Timestamp is refused from then on (one without was
# forgotten: it has no age to tell a replay by)
r=$(lab_exec "$LAB_GW" python3 "$LAB_TMP/acct.py" "$S" ivan "$LAB_CLI4B" "$LAB_TMP/ivan.bin" 0)
[ "$r" = answered ] && [ "$(who $LAB_CLI4B)" = "ivan radius" ] && kt_ok "ivan's Start (Event-Timestamp now) at $LAB_CLI4B (kept)" ||
	kt_fail "ivan's Start: $r, $(who $LAB_CLI4B)"
acct 127.0.0.1 "$S" "Acct-Status-Type=Stop,User-Name=ivan,Framed-IP-Address=$LAB_CLI4B" &&
	[ "$(who $LAB_CLI4B)" = none ] || kt_fail "ivan's Stop: $(who $LAB_CLI4B)"
filled=$(lab_exec "$LAB_GW" timeout 120 python3 - "$S" 34000 <<'PY'
import hashlib, socket, struct, sys, time
secret, n = sys.argv[1].encode(), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.setblocking(False)
got = 0
def drain():
    global got
    try:
        while True:
            s.recv(64)
            got += 1
    except BlockingIOError:
        pass
for i in range(n): # Accounting-On, each with its own Acct-Session-Id
    sid = b"fill-%d" % i
    attrs = (struct.pack(">BBI", 40, 6, 7) + bytes([44, 2 + len(sid)]) + sid +
             struct.pack(">BBI", 55, 6, int(time.time())))
    head = struct.pack(">BBH", 4, i & 0xff, 20 + len(attrs))
    pkt = head + hashlib.md5(head + bytes(16) + attrs + secret).digest() + attrs
    while True:
        try:
            s.sendto(pkt, ("127.0.0.1", 1813))
            break
        except BlockingIOError:
            time.sleep(0.001)
    drain()
    if i % 100 == 99:
        time.sleep(0.01) # paced: sluiced's receive buffer
time.sleep(0.5)
drain()
print(got)
PY
)
[ "${filled:-0}" -ge 33000 ] && kt_ok "34000 other requests sent ($filled answered)" || kt_fail "filler: ${filled:-none} answered"
rp=$(src_count replayed)
r=$(lab_exec "$LAB_GW" python3 "$LAB_TMP/acct.py" "$S" - - "$LAB_TMP/ivan.bin")
[ "$r" = answered ] && [ "$(who $LAB_CLI4B)" = none ] && [ "$(src_count replayed)" = $((rp + 1)) ] &&
	kt_ok "ivan's Start replayed after 34000 requests, inside its window: answered, not applied (replayed $((rp + 1)))" ||
	kt_fail "replay past the memory: $r, $(who $LAB_CLI4B), replayed $rp -> $(src_count replayed)"
acct 127.0.0.1 "$S" "Acct-Status-Type=Start,User-Name=judy,Framed-IP-Address=$LAB_CLI4B" &&
	[ "$(who $LAB_CLI4B)" = none ] && [ "$(src_count replayed)" = $((rp + 2)) ] &&
	kt_ok "a Start without Event-Timestamp once one without was forgotten: answered, not applied" ||
	kt_fail "untimed Start after the memory overflowed: $(who $LAB_CLI4B), replayed $(src_count replayed)"
sleep 1 # past the second of the requests forgotten (the floor)
r=$(lab_exec "$LAB_GW" python3 "$LAB_TMP/acct.py" "$S" judy "$LAB_CLI4B" - 0)
[ "$r" = answered ] && [ "$(who $LAB_CLI4B)" = "judy radius" ] &&
	kt_ok "a fresh Start with Event-Timestamp is taken" || kt_fail "fresh timed Start: $r, $(who $LAB_CLI4B)"

# floors per NAS (attack76 F2): NAS "fast" sends one Accounting-On stamped
# 290 s ahead (inside the skew: taken); 34000 requests of NAS "fleet"
# make the memory forget it; a correctly-timed Start of NAS "nas1" is
# still applied (before, the forgotten stamp was every NAS's floor), and
# the forward-stamped request replayed stays refused
cat >"$LAB_TMP/nas.py" <<'PY'
import hashlib, socket, struct, sys, time
# nas.py SECRET NAS STATUS USER|- ADDR OFF OUT|-: one request of NAS (its
#   NAS-Identifier), Event-Timestamp now+OFF, sent, kept in OUT; prints
#   "answered" or "none";
# nas.py SECRET - replay IN: IN's bytes sent again;
# nas.py SECRET NAS fill N: N Accounting-On of NAS; prints how many answered.
secret, nas = sys.argv[1].encode(), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
def req(ident, attrs):
    attrs += bytes([32, 2 + len(nas)]) + nas.encode()
    head = struct.pack(">BBH", 4, ident & 0xff, 20 + len(attrs))
    return head + hashlib.md5(head + bytes(16) + attrs + secret).digest() + attrs
def drain():  # the answers waiting, read; how many
    n = 0
    try:
        while True:
            s.recv(64)
            n += 1
    except BlockingIOError:
        return n
if sys.argv[3] == "fill":
    s.setblocking(False)
    got = 0
    for i in range(int(sys.argv[4])):
        sid = b"nasfill-%d" % i
        p = req(i, struct.pack(">BBI", 40, 6, 7) + bytes([44, 2 + len(sid)]) + sid +
                struct.pack(">BBI", 55, 6, int(time.time())))
        while True:
            try:
                s.sendto(p, ("127.0.0.1", 1813))
                break
            except BlockingIOError:
                time.sleep(0.001)
        got += drain()
        if i % 100 == 99:
            time.sleep(0.01)
    time.sleep(0.5)
    print(got + drain())
    sys.exit(0)
if sys.argv[3] == "replay":
    p = open(sys.argv[4], "rb").read()
else:
    user, addr, off, out = sys.argv[4], sys.argv[5], int(sys.argv[6]), sys.argv[7]
    a = struct.pack(">BBI", 40, 6, int(sys.argv[3]))
    if user != "-":
        a += bytes([1, 2 + len(user)]) + user.encode() + bytes([8, 6]) + socket.inet_aton(addr)
    a += struct.pack(">BBI", 55, 6, int(time.time()) + off)
    p = req(78, a)
    if out != "-":
        open(out, "wb").write(p)
s.settimeout(1.5)
s.sendto(p, ("127.0.0.1", 1813))
try:
    print("answered" if s.recv(64)[0] == 5 else "bad")
except socket.timeout:
    print("none")
PY
N() { lab_exec "$LAB_GW" timeout 120 python3 "$LAB_TMP/nas.py" "$S" "$@"; }
rp=$(src_count replayed)
r=$(N fast 7 - - 290 "$LAB_TMP/fast.bin")
[ "$r" = answered ] && [ "$(src_count replayed)" = "$rp" ] &&
	kt_ok "NAS fast's Accounting-On stamped 290 s ahead: taken" || kt_fail "fast: $r, replayed $rp -> $(src_count replayed)"
filled=$(N fleet fill 34000)
[ "${filled:-0}" -ge 33000 ] && kt_ok "34000 requests of NAS fleet ($filled answered)" || kt_fail "fleet: ${filled:-none} answered"
rp=$(src_count replayed)
r=$(N nas1 1 dave "$LAB_CLI4" 0 -)
[ "$r" = answered ] && [ "$(who $LAB_CLI4)" = "dave radius" ] && [ "$(src_count replayed)" = "$rp" ] &&
	kt_ok "NAS nas1's correctly-timed Start applied after fast's stamp was forgotten (its floor is fast's alone)" ||
	kt_fail "nas1's Start: $r, $(who $LAB_CLI4), replayed $rp -> $(src_count replayed) (fast's stamp is everyone's floor)"
r=$(N - replay "$LAB_TMP/fast.bin")
[ "$r" = answered ] && [ "$(src_count replayed)" = $((rp + 1)) ] &&
	kt_ok "fast's forward-stamped request replayed: refused (its NAS's floor)" ||
	kt_fail "fast's replay: $r, replayed $rp -> $(src_count replayed)"

# a reload without radius-listen, then one with it (attack76 F7): the
# replay memory is kept, so kim's captured Start replayed after kim's Stop
# changes nothing
r=$(N nas1 1 kim "$LAB_CLI4B" 0 "$LAB_TMP/kim.bin")
[ "$r" = answered ] && [ "$(who $LAB_CLI4B)" = "kim radius" ] || kt_fail "kim's Start: $r, $(who $LAB_CLI4B)"
r=$(N nas1 2 kim "$LAB_CLI4B" 0 -)
[ "$(who $LAB_CLI4B)" = none ] || kt_fail "kim's Stop: $r, $(who $LAB_CLI4B)"
cp "$conf" "$LAB_TMP/radius.conf.on"
grep -v "radius-listen" "$LAB_TMP/radius.conf.on" >"$conf"
ctl reload >/dev/null || kt_fail "reload (radius-listen off) failed"
cp "$LAB_TMP/radius.conf.on" "$conf"
ctl reload >/dev/null || kt_fail "reload (radius-listen on) failed"
rp=$(src_count replayed)
r=$(N - replay "$LAB_TMP/kim.bin")
[ "$r" = answered ] && [ "$(who $LAB_CLI4B)" = none ] && [ "$(src_count replayed)" = $((rp + 1)) ] &&
	kt_ok "kim's Start replayed after radius-listen went off and on: answered, not applied" ||
	kt_fail "replay after the listener's off/on reloads: $r, $(who $LAB_CLI4B), replayed $rp -> $(src_count replayed)"
kt_done
