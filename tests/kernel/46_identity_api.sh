#!/usr/bin/env bash
# 46_identity_api — the identity push API. Over HTTP
# (`identity { api-listen api-token-file }`): POST /login and /logout with
# JSON bodies and a bearer token; a wrong token, a malformed body, an
# oversized body and a request that never finishes are refused, counted,
# and leave the table and the listener working. Over the control socket:
# `identity login/logout` with a prefix. The OpenVPN hook
# (contrib/hooks/sluice-openvpn) run with the environment OpenVPN gives
# client-connect and client-disconnect: the client gets the staff server
# after connect and loses it after disconnect. The WireGuard hook
# (contrib/hooks/wireguard/sluice-wireguard) on a `wg show wg0 dump` text
# naming the client's addresses as a peer's allowed-ips: the peer's user
# gets the staff server, and loses it when the peer leaves the peer file.
# A full table (262,144 logins, read back at a restart): a new address's
# login gets 503 and is counted; a known address and a manual entry go in.
. "$(dirname "$0")/lib.sh"
kt_up
TOKEN=$LAB_TMP/api.token
printf 'tok-%s-%s\n' "$LAB_RUN" "$RANDOM" >"$TOKEN"
chmod 600 "$TOKEN"
PORT=18139
conf=$LAB_TMP/api.conf
cat >"$conf" <<CONF
network clients { 198.18.1.0/24 2001:db8:1::/64 }
network servers { 198.18.2.0/24 2001:db8:2::/64 }
users staff { user dave user erin }
protocol web tcp { 80 8080 }
rule "staff web" allow web from clients to servers users staff
identity {
  api-listen 127.0.0.1:$PORT
  api-token-file "$TOKEN"
  api-max-connections 4
  api-timeout 1s
}
queue { count 1 fail closed udp-timeout 60s revoke on on-exit remove }
CONF
kt_start "$conf" || kt_done
T=$(head -n1 "$TOKEN")
# post PATH BODY [TOKEN]: prints "CODE BODY"
post() {
	lab_exec "$LAB_GW" curl -sS --max-time 5 -X POST -H "Authorization: Bearer ${3:-$T}" \
		--data-binary "$2" -w ' %{http_code}' "http://127.0.0.1:$PORT/$1" 2>&1
}
# ctl_json FILE ARGS...: `ctl ARGS --json` into FILE, once: the full table
# below is 45 MB of `identity list`, made in parts as the client reads
# (control.h, struct control_stream), so no request waits behind it
ctl_json() {
	local f=$1
	shift
	ctl "$@" --json >"$f" 2>/dev/null
}
api_count() {
	ctl_json "$LAB_TMP/sources.json" identity sources &&
		python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['api']['$1'])" "$LAB_TMP/sources.json"
}
who() {
	ctl_json "$LAB_TMP/list.json" identity list && python3 -c "
import json,sys
e=[x for x in json.load(open(sys.argv[1])) if x['address']=='$1']
print(e[0]['user'], e[0]['source']) if e else print('none')" "$LAB_TMP/list.json"
}

expect_talk "unidentified: the staff server is denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
out=$(post login "{\"address\": \"$LAB_CLI4\", \"user\": \"dave\", \"lifetime\": 600}")
case $out in *'"ok":true'*'"result":"new"'*' 200') kt_ok "POST /login: $out" ;; *) kt_fail "POST /login: $out" ;; esac
[ "$(who $LAB_CLI4)" = "dave api" ] && kt_ok "$LAB_CLI4 is dave (api)" || kt_fail "who: $(who $LAB_CLI4)"
expect_talk "dave's web is allowed" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80

# refused: wrong token, malformed, unknown key, bad address, oversized, GET
out=$(post login "{\"address\": \"$LAB_CLI4B\", \"user\": \"erin\"}" wrong)
case $out in *' 403') kt_ok "a wrong token: 403" ;; *) kt_fail "wrong token: $out" ;; esac
out=$(post login '{"address": ')
case $out in *' 400') kt_ok "malformed JSON: 400" ;; *) kt_fail "malformed: $out" ;; esac
out=$(post login "{\"address\": \"$LAB_CLI4B\", \"user\": \"erin\", \"admin\": true}")
case $out in *' 400') kt_ok "an unknown key: 400" ;; *) kt_fail "unknown key: $out" ;; esac
out=$(post login '{"address": "198.18.1.1/24", "user": "erin"}')
case $out in *' 400') kt_ok "host bits past the prefix: 400" ;; *) kt_fail "prefix: $out" ;; esac
# a prefix wider than /8 (IPv4) or /32 (IPv6): one login is never a good
# part of the Internet
for a in 128.0.0.0/1 0.0.0.0/0 2001:db8::/31 ::/0; do
	out=$(post login "{\"address\": \"$a\", \"user\": \"erin\"}")
	case $out in *' 400') kt_ok "a login of $a: 400" ;; *) kt_fail "a login of $a: $out" ;; esac
done
ctl identity login 0.0.0.0 eve --prefix 0 >/dev/null 2>&1 &&
	kt_fail "identity login 0.0.0.0 --prefix 0 was taken" ||
	kt_ok "identity login 0.0.0.0 --prefix 0 refused"
ctl identity list | grep -q "eve" && kt_fail "eve is in the table" || kt_ok "and nobody is eve"
out=$(post login "{\"address\": \"$LAB_CLI4B\", \"user\": \"a\\u0007b\"}")
case $out in *' 400') kt_ok "a control character in the user: 400" ;; *) kt_fail "user: $out" ;; esac
big=$(python3 -c 'print("{\"user\": \"" + "x" * 20000 + "\"}")')
out=$(post login "$big")
case $out in *' 413') kt_ok "a 20 kB body: 413" ;; *) kt_fail "big: ${out: -40}" ;; esac
out=$(lab_exec "$LAB_GW" curl -sS --max-time 5 -w ' %{http_code}' "http://127.0.0.1:$PORT/login" 2>&1)
case $out in *' 405') kt_ok "GET: 405" ;; *) kt_fail "GET: $out" ;; esac
[ "$(who $LAB_CLI4B)" = none ] && kt_ok "nothing recorded for $LAB_CLI4B" || kt_fail "who: $(who $LAB_CLI4B)"
[ "$(api_count rejected_secret)" = 1 ] && kt_ok "rejected_secret 1" || kt_fail "rejected_secret $(api_count rejected_secret)"
# malformed JSON, an unknown key, host bits, a control character, the
# four wide prefixes
[ "$(api_count rejected_malformed)" = 8 ] && kt_ok "rejected_malformed 8" || kt_fail "rejected_malformed $(api_count rejected_malformed)"

# requests that never finish: closed at api-timeout, the listener still
# serves. stall USER...: one request that never finishes as each USER
stall() {
	for u in "$@"; do
		( printf 'POST /login HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"a' ; sleep 4 ) |
			lab_exec "$LAB_GW" setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --clear-groups \
			timeout 6 socat -T 5 - TCP4:127.0.0.1:$PORT >/dev/null 2>&1 &
		lab_register_pid $!
	done
	sleep 0.5
}
# one local user holds at most a quarter of api-max-connections (1 of 4):
# six stalls of nobody's leave root's login served (attack84 14)
stall nobody nobody nobody nobody nobody nobody
out=$(post login "{\"address\": \"$LAB_CLI4B\", \"user\": \"erin\"}")
case $out in *' 200') kt_ok "6 stalls of one local user hold 1 of 4: root's login served" ;; *) kt_fail "one user's stalls block the API: $out" ;; esac
grep -q "identity api: refused .*holds its share" "$LAB_TMP/sluiced.log" &&
	kt_ok "logged: identity api: refused ... holds its share" || kt_fail "no share refusal logged"
sleep 1.5
# four users' stalls hold every slot
stall nobody daemon bin sys
out=$(post login "{\"address\": \"$LAB_CLI4B\", \"user\": \"erin\"}")
case $out in *' 200') kt_fail "a 5th connection was served beside 4 stalled ones" ;; *) kt_ok "max-connections 4: a 5th connection not served while 4 stall" ;; esac
sleep 1.5
out=$(post login "{\"address\": \"$LAB_CLI4B\", \"user\": \"erin\"}")
case $out in *' 200') kt_ok "after api-timeout the stalled ones are gone; served" ;; *) kt_fail "after the stall: $out" ;; esac

out=$(post logout "{\"address\": \"$LAB_CLI4\", \"user\": \"dave\"}")
case $out in *removed*' 200') kt_ok "POST /logout: $out" ;; *) kt_fail "logout: $out" ;; esac
expect_talk "after the logout dave's web is denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80

# the control socket: a prefix login, the longest prefix, logout
ctl identity login 198.18.1.0 erin --prefix 24 --lifetime 300 >/dev/null &&
	kt_ok "identity login 198.18.1.0 --prefix 24" || kt_fail "identity login --prefix"
ctl identity logout "$LAB_CLI4B" erin --source api >/dev/null
expect_talk "$LAB_CLI4 is erin through the /24" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
ctl identity list | grep -q "^198.18.1.0/24 .*erin .*api" && kt_ok "list shows the prefix entry" ||
	kt_fail "list: $(ctl identity list)"
ctl identity logout 198.18.1.0 erin --prefix 24 --source api | grep -q "logged out" &&
	kt_ok "identity logout --prefix 24" || kt_fail "logout --prefix"
expect_talk "the /24 gone: denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80

# the OpenVPN hook with the environment OpenVPN gives it
HOOK=$KT_ROOT/contrib/hooks/sluice-openvpn
hook() { # hook SCRIPT_TYPE: runs the hook as OpenVPN would for dave
	lab_exec "$LAB_GW" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SLUICE_HOOK_CONF=/nonexistent \
		SLUICE_API="http://127.0.0.1:$PORT" SLUICE_TOKEN_FILE="$TOKEN" SLUICE_LIFETIME=600 \
		script_type="$1" common_name=dave-laptop username=dave \
		ifconfig_pool_remote_ip="$LAB_CLI4" ifconfig_pool_remote_ip6="$LAB_CLI6" \
		trusted_ip=203.0.113.9 trusted_port=41000 dev=tun0 \
		sh "$HOOK" 2>>"$LAB_TMP/hook.log"
}
hook client-connect && kt_ok "client-connect hook exit 0" || kt_fail "client-connect: $(cat "$LAB_TMP/hook.log")"
[ "$(who $LAB_CLI4)" = "dave api" ] && [ "$(who $LAB_CLI6)" = "dave api" ] &&
	kt_ok "the hook logged dave in at $LAB_CLI4 and $LAB_CLI6" || kt_fail "after connect: $(ctl identity list)"
expect_talk "dave's web over the tunnel address is allowed" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
expect_talk "and over IPv6" 5 "$LAB_CLI" TCP6 "$LAB_SRV6" 80
hook client-disconnect && kt_ok "client-disconnect hook exit 0" || kt_fail "client-disconnect: $(cat "$LAB_TMP/hook.log")"
[ "$(who $LAB_CLI4)" = none ] && [ "$(who $LAB_CLI6)" = none ] && kt_ok "the hook logged dave out" ||
	kt_fail "after disconnect: $(ctl identity list)"
expect_talk "after the disconnect: denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
# a required login that fails refuses the client
lab_exec "$LAB_GW" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SLUICE_HOOK_CONF=/nonexistent \
	SLUICE_API="http://127.0.0.1:1" SLUICE_TOKEN_FILE="$TOKEN" SLUICE_REQUIRED=1 \
	script_type=client-connect common_name=dave ifconfig_pool_remote_ip="$LAB_CLI4" \
	sh "$HOOK" 2>>"$LAB_TMP/hook.log" && kt_fail "SLUICE_REQUIRED=1 with the API down exited 0" ||
	kt_ok "SLUICE_REQUIRED=1 and the API down: the hook refuses the client"

# the WireGuard hook on a dump as `wg show wg0 dump` prints it (no
# WireGuard here: the dump is a file), the lab client being erin's peer
WG=$KT_ROOT/contrib/hooks/wireguard/sluice-wireguard
KEY=xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
printf '%s\t%s\t51820\toff\n' yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk= \
	HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw= >"$LAB_TMP/wg.dump"
printf '%s\t(none)\t203.0.113.7:51820\t%s\t%s\t224\t1032\toff\n' "$KEY" \
	"$LAB_CLI4/32,$LAB_CLI6/128" "$(date +%s)" >>"$LAB_TMP/wg.dump"
echo "$KEY erin" >"$LAB_TMP/wg.peers"
wg_hook() {
	lab_exec "$LAB_GW" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SLUICE_HOOK_CONF=/nonexistent \
		SLUICE_API="http://127.0.0.1:$PORT" SLUICE_TOKEN_FILE="$TOKEN" \
		SLUICE_WG_PEERS="$LAB_TMP/wg.peers" SLUICE_WG_STATE="$LAB_TMP/wg.state" \
		SLUICE_WG_DUMP="$LAB_TMP/wg.dump" sh "$WG" wg0 2>>"$LAB_TMP/wg.log"
}
wg_hook && kt_ok "sluice-wireguard exit 0" || kt_fail "sluice-wireguard: $(cat "$LAB_TMP/wg.log")"
[ "$(who $LAB_CLI4)" = "erin api" ] && [ "$(who $LAB_CLI6)" = "erin api" ] &&
	kt_ok "the peer's allowed-ips $LAB_CLI4 and $LAB_CLI6 are erin (api)" || kt_fail "after wg: $(ctl identity list)"
expect_talk "erin's web from the peer's address is allowed" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
expect_talk "and over IPv6" 5 "$LAB_CLI" TCP6 "$LAB_SRV6" 80
: >"$LAB_TMP/wg.peers" # the peer removed from the peer file
wg_hook && kt_ok "sluice-wireguard after the peer left the file: exit 0" || kt_fail "second run: $(cat "$LAB_TMP/wg.log")"
[ "$(who $LAB_CLI4)" = none ] && [ "$(who $LAB_CLI6)" = none ] && kt_ok "erin logged out of both" ||
	kt_fail "after the peer left: $(ctl identity list)"
expect_talk "after the peer left: denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80

# a full table: 262,144 logins (IDTABLE_LOGINS_MAX, read back from the state
# file at a restart) and a login for a new address is refused with 503,
# counted rejected_full; a manual entry and a login for a known address
# still go in
kt_stop || kt_fail "sluiced did not stop"
python3 - "$conf" "$KT_SOCK.identities" <<'PY'
import json, os, sys, time
now = int(time.time())
ents = [{"address": "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255),
         "user": "user%d" % i, "groups": ["staff"], "source": "radius",
         "learned": now, "seen": now, "expires": now + 3600} for i in range(262144)]
with open(sys.argv[2], "w") as f:
    json.dump({"policy": os.path.realpath(sys.argv[1]),
               "table": {"version": 1, "entries": ents}}, f, separators=(",", ":"))
PY
chmod 600 "$KT_SOCK.identities"
kt_start "$conf" || kt_done
grep -q "identities: 262144 read back" "$LAB_TMP/sluiced.log" && kt_ok "262144 identities read back" ||
	kt_fail "read back: $(grep identities: "$LAB_TMP/sluiced.log" | tail -2)"
# a client that asks for the whole list and does not read it holds up
# nobody: other requests are answered meanwhile (the list was composed at
# once, 45 MB in seconds, and requests behind it were cut), and the slow
# client still gets every entry
python3 "$KT_ROOT/tests/lab/ctl_slow_reader.py" "$KT_SOCK" identity-list "$LAB_TMP/slow.json" "$LAB_TMP/slow.go" &
slow=$!
sleep 0.2
t0=$(date +%s%N)
ok=0
for i in 1 2 3; do
	ctl_json "$LAB_TMP/mid.json" identity sources && ok=$((ok + 1))
done
ms=$((($(date +%s%N) - t0) / 1000000))
[ $ok = 3 ] && kt_ok "3 requests answered while a client leaves a full-table list unread (${ms} ms)" ||
	kt_fail "only $ok of 3 requests answered during an unread full-table list (${ms} ms)"
touch "$LAB_TMP/slow.go"
wait $slow
python3 -c "
import json,sys
r=json.load(open(sys.argv[1]))
print(r['ok'], len(r['output']), r['output'][0]['source'])" "$LAB_TMP/slow.json" >"$LAB_TMP/slow.out" 2>&1
[ "$(cat "$LAB_TMP/slow.out")" = "True 262144 radius" ] && kt_ok "the slow client got all 262144 entries" ||
	kt_fail "slow client: $(head -c 300 "$LAB_TMP/slow.out")"
full0=$(api_count rejected_full)
out=$(post login "{\"address\": \"$LAB_CLI4\", \"user\": \"dave\"}")
case $out in *'"ok":false'*' 503') kt_ok "a new address's login on a full table: $out" ;; *) kt_fail "full table: $out" ;; esac
[ "$(who $LAB_CLI4)" = none ] && [ "$(api_count rejected_full)" = $((full0 + 1)) ] &&
	kt_ok "not added, counted (rejected_full $((full0 + 1)))" || kt_fail "after 503: $(who $LAB_CLI4), rejected_full $(api_count rejected_full)"
out=$(post login "{\"address\": \"10.0.0.7\", \"user\": \"erin\"}")
case $out in *'"ok":true'*' 200') kt_ok "a known address's login on a full table: $out" ;; *) kt_fail "known address, full table: $out" ;; esac
ctl identity add "$LAB_CLI4" dave >/dev/null && [ "$(who $LAB_CLI4)" = "dave manual" ] &&
	kt_ok "a manual entry on a full table goes in" || kt_fail "manual entry: $(who $LAB_CLI4)"
grep -q "the table holds 262144 entries" "$LAB_TMP/sluiced.log" && kt_ok "the refusal is logged" ||
	kt_fail "log: $(grep -i "refused" "$LAB_TMP/sluiced.log" | tail -2)"
# a state file that cannot be read back (not one of sluiced's; writable by
# others) is set aside under a name of its own, not replaced by the next
# save: nothing it held is lost
kt_stop || kt_fail "sluiced did not stop"
rm -f "$KT_SOCK".identities.bad-*
for kind in garbage world-writable; do
	if [ $kind = garbage ]; then printf 'not a state file {' >"$KT_SOCK.identities"; chmod 600 "$KT_SOCK.identities"
	else printf '{"policy": "x", "table": {}}' >"$KT_SOCK.identities"; chmod 666 "$KT_SOCK.identities"; fi
	want=$(cat "$KT_SOCK.identities")
	kt_start "$conf" || kt_done
	ctl identity add 10.9.9.9 frank >/dev/null
	kt_stop || kt_fail "sluiced did not stop"
	bad=$(ls "$KT_SOCK".identities.bad-* 2>/dev/null | head -1)
	[ -n "$bad" ] && [ "$(cat "$bad")" = "$want" ] && grep -q "set aside as $bad" "$LAB_TMP/sluiced.log" &&
		kt_ok "a $kind state file is set aside as $(basename "$bad"), its text kept" ||
		kt_fail "$kind state file: $(ls "$KT_SOCK".identities* 2>&1 | tr '\n' ' '); $(grep 'identities:' "$LAB_TMP/sluiced.log" | tail -2)"
	rm -f "$KT_SOCK".identities.bad-*
done
kt_done
