#!/usr/bin/env bash
# 17_farm — a published web farm (docs/design.md §4) against real nginx:
# two members (one nginx per server address, each answering with its name)
# behind `publish "public web" tcp 80 on 198.19.0.1`, round robin, checked
# by an HTTP verifier every 1 s (timeout 500 ms, rise 1, fall 1).
#   - the client reaches http://198.19.0.1/ and gets both members;
#   - a member whose nginx stops is out within one interval plus timeout
#     (checked: <= 2.5 s with slack), no new session reaches it, and it
#     is back after nginx returns; a reload that changes the check's options
#     keeps it down (health belongs to the member);
#   - `farm drain` sends new sessions elsewhere while an established
#     keep-alive session to the drained member goes on; `farm resume`;
#   - every member down → new sessions to the public address are dropped;
#   - a standalone tcp verifier follows a listener that starts and stops.
# Runs sluiced when it has the farm manager wired in (main.c calls
# farms_new), else tests/farm/farm_driver (the same manager and ruleset,
# without NFQUEUE workers): FARM_DRIVER=1 forces the driver.
. "$(dirname "$0")/lib.sh"

command -v nginx >/dev/null || { echo "$KT_NAME: SKIP: no nginx"; exit 77; }
lab_up >/dev/null || { echo "$KT_NAME: lab_up failed" >&2; exit 1; }
KT_SOCK=$LAB_TMP/ctl.sock
PUB=198.19.0.1
T=$LAB_TMP/farm
mkdir -p "$T"

# ---- the gateway: sluiced, or the driver -------------------------------------
use_driver=${FARM_DRIVER:-}
grep -q 'farms_new' "$KT_ROOT/src/sluiced/main.c" 2>/dev/null || use_driver=1
if [ -n "$use_driver" ]; then
	DRIVER=$T/farm_driver
	"$KT_ROOT/tests/farm/build.sh" "$KT_BUILD" "$DRIVER" >/dev/null ||
		{ echo "$KT_NAME: cannot build farm_driver" >&2; exit 1; }
	fctl() { "$DRIVER" -s "$KT_SOCK" -q "$@"; }
else
	fctl() { ctl "$@"; }
fi

# ---- nginx members ----------------------------------------------------------------
# web NAME ADDR: starts one nginx (foreground, single process) on ADDR:80;
# / answers NAME, /health answers 200. Prints its pid.
web() {
	local n=$1 a=$2 d=$T/$1
	mkdir -p "$d"
	cat >"$d/nginx.conf" <<-EOF
	daemon off;
	master_process off;
	worker_processes 1;
	pid $d/nginx.pid;
	error_log $d/error.log;
	events { worker_connections 128; }
	http {
	  access_log off;
	  client_body_temp_path $d/body; proxy_temp_path $d/proxy;
	  fastcgi_temp_path $d/fcgi; uwsgi_temp_path $d/uwsgi; scgi_temp_path $d/scgi;
	  keepalive_timeout 60s;
	  server {
	    listen $a:80;
	    location = /health { root $d/www; }
	    location / { return 200 "$n\n"; }
	  }
	}
	EOF
	mkdir -p "$d/www" && echo ok >"$d/www/health"
	local pid
	pid=$(lab_spawn "$LAB_SRV" nginx -e "$d/error.log" -p "$d" -c "$d/nginx.conf")
	local i
	for i in $(seq 30); do
		lab_exec "$LAB_SRV" curl -s -m 1 "http://$a/health" >/dev/null 2>&1 && break
		sleep 0.1
	done
	echo "$pid"
}
stop_pid() { lab_kill "$1"; }
addr_of() { case $1 in web1) echo "$LAB_SRV4" ;; *) echo "$LAB_SRV4B" ;; esac; }

# state NAME: the verifier's state ("up", "down", "unknown", or "")
state() {
	fctl verifiers --json 2>/dev/null | python3 -c '
import json, sys
for v in json.load(sys.stdin)["verifiers"]:
    if v["name"] == sys.argv[1]:
        print(v["state"])' "$1"
}
# wait_state NAME STATE SECONDS: polls every 0.1 s; prints the seconds it
# took (with two decimals), fails after SECONDS.
wait_state() {
	local n=$1 want=$2 max=$3 t0 t1 i
	t0=$(date +%s.%N)
	for i in $(seq $((max * 10))); do
		if [ "$(state "$n")" = "$want" ]; then
			t1=$(date +%s.%N)
			python3 -c "print('%.2f' % ($t1 - $t0))"
			return 0
		fi
		sleep 0.1
	done
	return 1
}
# hits N: N new sessions (one HTTP request each) to the public address;
# prints the bodies sorted and counted ("3 web1" lines); failures as "fail".
hits() {
	local i
	for i in $(seq "$1"); do
		lab_exec "$LAB_CLI" curl -s -m 2 "http://$PUB/" || echo fail
	done | sort | uniq -c | awk '{ print $1, $2 }'
}
count_of() { awk -v m="$2" '$2 == m { print $1; f = 1 } END { if (!f) print 0 }' <<<"$1"; }

# keepalive FILE SECONDS: one TCP session to the public address sending a
# request every 0.3 s; each answer's body goes to FILE, one a line. It ends
# after SECONDS, or earlier once FILE.stop exists.
keepalive() {
	rm -f "$1.stop"
	( lab_exec "$LAB_CLI" timeout $(($2 + 5)) python3 - "$1" "$2" <<-'EOF'
	import os, socket, sys, time
	out = open(sys.argv[1], "w", buffering=1)
	s = socket.create_connection(("198.19.0.1", 80), timeout=3)
	end = time.time() + float(sys.argv[2])
	while time.time() < end and not os.path.exists(sys.argv[1] + ".stop"):
	    s.sendall(b"GET / HTTP/1.1\r\nHost: public\r\n\r\n")
	    data = b""
	    while b"\r\n\r\n" not in data:
	        chunk = s.recv(4096)
	        if not chunk:
	            sys.exit(1)
	        data += chunk
	    head, body = data.split(b"\r\n\r\n", 1)
	    cl = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
	          if l.lower().startswith(b"content-length")][0]
	    while len(body) < cl:
	        body += s.recv(4096)
	    out.write(body.decode().strip() + "\n")
	    time.sleep(0.3)
	EOF
	) </dev/null >/dev/null 2>&1 &
	lab_register_pid $!
	echo $!
}

# ---- start ---------------------------------------------------------------------------
W1=$(web web1 "$LAB_SRV4")
W2=$(web web2 "$LAB_SRV4B")
LDAP=$(lab_spawn "$LAB_DIR" timeout 120 socat TCP4-LISTEN:389,bind=$LAB_DIR4,reuseaddr,fork EXEC:cat)
# notify commands (run as nobody): one logs its arguments and environment,
# one hangs and must be killed after 10 s
NOTE=$T/notify-out
mkdir -p "$NOTE" && chmod 1777 "$NOTE"
printf '#!/bin/sh\necho "uid=$(id -u) args=$* farm=$SLUICE_FARM member=$SLUICE_MEMBER state=$SLUICE_STATE prev=$SLUICE_PREV_STATE result=$SLUICE_RESULT" >>%s/log\n' "$NOTE" >"$T/notify.sh"
printf '#!/bin/sh\necho $$ >>%s/hang.pid\nexec sleep 60\n' "$NOTE" >"$T/hang.sh"
chmod 755 "$T" "$T/notify.sh" "$T/hang.sh"
conf=$(conf_with \
	'farm web_farm {' \
	'  server web1 198.18.2.2' \
	'  server web2 198.18.2.3' \
	'  balance round-robin' \
	"  verify http \"http://*/health\" expect 200 every 1s timeout 500ms rise 1 fall 1 notify \"$T/notify.sh\"" \
	'}' \
	'publish "public web" tcp 80 on 198.19.0.1 to web_farm' \
	"verifier \"dc1\" tcp 198.18.4.2 port 389 every 1s timeout 500ms rise 1 fall 1 notify \"$T/notify.sh\"" \
	"verifier \"hanger\" tcp 198.18.4.2 port 389 every 1s timeout 500ms notify \"$T/hang.sh\"")
if [ -n "$use_driver" ]; then
	rm -f "$KT_SOCK"
	LAB_SPAWN_LOG=$LAB_TMP/sluiced.log lab_spawn "$LAB_GW" "$DRIVER" -c "$conf" -s "$KT_SOCK" >/dev/null
	for i in $(seq 50); do fctl verifiers >/dev/null 2>&1 && break; sleep 0.1; done
	kt_ok "gateway: farm_driver (sluiced does not run the farms yet)"
else
	kt_start "$conf" || kt_done
	kt_ok "gateway: sluiced"
fi

wait_state web_farm/web1 up 5 >/dev/null && wait_state web_farm/web2 up 5 >/dev/null &&
	kt_ok "both members verified up" || kt_fail "members not up: $(fctl verifiers)"
wait_state dc1 up 5 >/dev/null && kt_ok "dc1 up (listener on 389)" || kt_fail "dc1: $(fctl verifiers)"

out=$(hits 10)
[ "$(count_of "$out" web1)" -ge 3 ] && [ "$(count_of "$out" web2)" -ge 3 ] &&
	[ "$(count_of "$out" fail)" = 0 ] &&
	kt_ok "10 sessions to $PUB reach both members: $(echo $out)" ||
	kt_fail "balance: $(echo $out)"
ct=$(lab_exec "$LAB_GW" conntrack -L -d "$PUB" 2>/dev/null | grep -c "mark=$((0x7ffc0000))" || true)
[ "$ct" -ge 1 ] && kt_ok "published sessions carry ct mark ALLOW|0x3ffc ($ct entries)" ||
	kt_fail "no conntrack entry with the published mark"

# ---- a member stops ------------------------------------------------------------------
stop_pid "$W2"
if took=$(wait_state web_farm/web2 down 5); then
	python3 -c "import sys; sys.exit(0 if $took <= 2.5 else 1)" &&
		kt_ok "web2 stopped: down after ${took}s (interval 1s + timeout 0.5s)" ||
		kt_fail "web2 down only after ${took}s"
else
	kt_fail "web2 never went down: $(fctl verifiers)"
fi
lab_exec "$LAB_GW" nft list chain inet sluice pub_tcp_80_198_19_0_1 | grep -q "dnat ip to 198.18.2.2:80" &&
	kt_ok "kernel map: only web1" || kt_fail "chain: $(lab_exec "$LAB_GW" nft list chain inet sluice pub_tcp_80_198_19_0_1)"
out=$(hits 10)
[ "$(count_of "$out" web1)" = 10 ] && kt_ok "web2 down: 10/10 new sessions to web1" ||
	kt_fail "web2 down: $(echo $out)"
fctl verifiers | grep -q "web_farm/web2 .* down " && kt_ok "sluicectl verifiers shows web2 down" ||
	kt_fail "verifiers: $(fctl verifiers)"

# ---- a reload that changes the check keeps what is known of the member: web2
# stays down (its health belongs to the member, not to the check's options)
sed -i 's/expect 200 every 1s timeout 500ms/expect 200 every 1s timeout 600ms/' "$conf"
fctl reload >/dev/null && kt_ok "reload with the farm check's timeout changed" || kt_fail "reload"
[ "$(state web_farm/web2)" = down ] && kt_ok "web2 still down after the reload" ||
	kt_fail "after reload: $(fctl verifiers)"
lab_exec "$LAB_GW" nft list chain inet sluice pub_tcp_80_198_19_0_1 | grep -q "198.18.2.3" &&
	kt_fail "web2 back in the kernel map after the reload" || kt_ok "kernel map after the reload: still only web1"
out=$(hits 10)
[ "$(count_of "$out" web1)" = 10 ] && kt_ok "after the reload: 10/10 new sessions to web1" ||
	kt_fail "after the reload: $(echo $out)"

W2=$(web web2 "$LAB_SRV4B")
if took=$(wait_state web_farm/web2 up 5); then kt_ok "web2 back up after ${took}s"; else kt_fail "web2 not back"; fi
out=$(hits 10)
[ "$(count_of "$out" web2)" -ge 3 ] && [ "$(count_of "$out" web1)" -ge 3 ] &&
	kt_ok "web2 back: sessions reach both: $(echo $out)" || kt_fail "after return: $(echo $out)"

# ---- drain / resume --------------------------------------------------------------------
KA=$T/keepalive.out
KP=$(keepalive "$KA" 6)
for i in $(seq 20); do [ -s "$KA" ] && break; sleep 0.1; done
M=$(head -n1 "$KA" 2>/dev/null)
case $M in web1) O=web2 ;; web2) O=web1 ;; *) O=; kt_fail "keep-alive session got '$M'" ;; esac
if [ -n "$O" ]; then
	fctl farm drain "$M" >/dev/null && kt_ok "farm drain $M" || kt_fail "farm drain $M"
	n0=$(wc -l <"$KA")
	out=$(hits 10)
	[ "$(count_of "$out" "$O")" = 10 ] && kt_ok "$M drained: 10/10 new sessions to $O" ||
		kt_fail "drained: $(echo $out)"
	fctl farm list | grep -q "$M .*drained .*out" && kt_ok "farm list shows $M drained, out of the map" ||
		kt_fail "farm list: $(fctl farm list)"
	sleep 1
	n1=$(wc -l <"$KA")
	others=$(grep -vc "^$M\$" "$KA" || true)
	[ "$n1" -gt "$n0" ] && [ "$others" = 0 ] &&
		kt_ok "established session to $M goes on while drained ($n0 → $n1 answers, all from $M)" ||
		kt_fail "keep-alive: $n0 → $n1, $others from elsewhere"
	fctl farm resume "$M" >/dev/null && kt_ok "farm resume $M" || kt_fail "farm resume"
	out=$(hits 10)
	[ "$(count_of "$out" "$M")" -ge 3 ] && kt_ok "$M resumed: sessions reach it: $(echo $out)" ||
		kt_fail "resumed: $(echo $out)"
fi
fctl farm list --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["schema_version"] == 1
f = d["farms"][0]
assert f["farm"] == "web_farm" and f["balance"] == "round-robin"
assert [m["in_map"] for m in f["members"]] == [True, True]' &&
	kt_ok "farm list --json parses" || kt_fail "farm list --json"
fctl farm drain nosuch >/dev/null 2>&1 && kt_fail "drain of an unknown member succeeded" ||
	kt_ok "drain of an unknown member is refused"

# ---- a member fails its check while a session to it is open: on-down keep
# (the session goes on), then on-down flush after a reload (it is cut) ----------
# health_fail NAME FLUSH: one keep-alive session lands on a member M; M's
# /health then answers 404 (nginx keeps serving /). Checks that M goes down,
# whether the session goes on (FLUSH=0) or is cut and its conntrack entries
# are gone (FLUSH=1); /health is restored and M comes back.
# The session lasts until the checks are done (FILE.stop), at most 30 s:
# a fixed 5 s session had already ended by itself on a loaded machine when
# the member was seen down (16 answers = 5 s / 0.3 s), and was then counted
# as "cut". "Goes on" is: more answers within 5 s after the member is down.
health_fail() {
	local flush=$1 ka=$T/ka.$1 m n0 n1 left i
	keepalive "$ka" 30 >/dev/null
	for i in $(seq 50); do [ -s "$ka" ] && break; sleep 0.1; done
	m=$(head -n1 "$ka" 2>/dev/null)
	[ "$m" = web1 ] || [ "$m" = web2 ] || { kt_fail "keep-alive got '$m'"; return; }
	rm -f "$T/$m/www/health"
	wait_state "web_farm/$m" down 5 >/dev/null && kt_ok "$m fails /health (404): down" ||
		kt_fail "$m not down: $(fctl verifiers)"
	n0=$(wc -l <"$ka")
	if [ "$flush" = 0 ]; then # until one more answer, ≤ 5 s
		for i in $(seq 50); do [ "$(wc -l <"$ka")" -gt "$n0" ] && break; sleep 0.1; done
	else # a cut session answers no more: 1.2 s is 4 request intervals
		sleep 1.2
	fi
	n1=$(wc -l <"$ka")
	left=$(lab_exec "$LAB_GW" conntrack -L -d "$PUB" 2>/dev/null | grep -c "src=$(addr_of "$m") .*sport=80 .*ESTABLISHED\|ESTABLISHED .*src=$(addr_of "$m") " || true)
	if [ "$flush" = 0 ]; then
		[ "$n1" -gt "$n0" ] && [ "$left" -ge 1 ] &&
			kt_ok "on-down keep: the open session to $m goes on ($n0 → $n1 answers)" ||
			kt_fail "on-down keep: $n0 → $n1 answers, $left entries"
	else
		[ "$n1" = "$n0" ] && [ "$left" = 0 ] &&
			kt_ok "on-down flush: the session to $m is cut, its conntrack entry gone (answers stay $n0)" ||
			kt_fail "on-down flush: $n0 → $n1 answers, $left entries left"
	fi
	touch "$ka.stop"
	echo ok >"$T/$m/www/health"
	wait_state "web_farm/$m" up 5 >/dev/null && kt_ok "$m passes /health again: up" || kt_fail "$m not up again"
}
health_fail 0
sed -i 's/^  balance round-robin$/  balance round-robin\n  on-down flush/' "$conf"
fctl reload >/dev/null && kt_ok "reload with on-down flush" || kt_fail "reload"
[ "$(state web_farm/web1)" = up ] && [ "$(state web_farm/web2)" = up ] &&
	kt_ok "reload keeps the members' checks and state" || kt_fail "after reload: $(fctl verifiers)"
fctl farm list | grep -q "on-down flush" && kt_ok "farm list shows on-down flush" || kt_fail "farm list: $(fctl farm list)"
health_fail 1

# ---- all down ------------------------------------------------------------------------------
stop_pid "$W1"
stop_pid "$W2"
wait_state web_farm/web1 down 5 >/dev/null && wait_state web_farm/web2 down 5 >/dev/null &&
	kt_ok "both members down" || kt_fail "not both down: $(fctl verifiers)"
lab_exec "$LAB_GW" nft list chain inet sluice pub_tcp_80_198_19_0_1 | grep -q "drop" &&
	kt_ok "kernel: no member in the map → drop" || kt_fail "chain without drop"
out=$(hits 3)
[ "$(count_of "$out" fail)" = 3 ] && kt_ok "all down: new sessions denied" || kt_fail "all down: $(echo $out)"

# ---- standalone verifier -------------------------------------------------------------------
stop_pid "$LDAP"
if took=$(wait_state dc1 down 5); then kt_ok "dc1 down ${took}s after its listener stopped"; else kt_fail "dc1 not down"; fi
LDAP=$(lab_spawn "$LAB_DIR" timeout 120 socat TCP4-LISTEN:389,bind=$LAB_DIR4,reuseaddr,fork EXEC:cat)
if took=$(wait_state dc1 up 5); then kt_ok "dc1 up ${took}s after its listener returned"; else kt_fail "dc1 not up"; fi
v=$(fctl verifiers)
echo "$v" | grep -A1 "^dc1 " | tr '\n' ' ' | grep -Eq "^dc1 +tcp +198.18.4.2:389 +up .* history [+-]+" &&
	kt_ok "verifiers lists dc1 with its history" ||
	kt_fail "verifiers: $v"
echo "$v" | sed 's/^/    /'
fctl verifiers --json | python3 -c '
import json, sys
v = {x["name"]: x for x in json.load(sys.stdin)["verifiers"]}
assert set(v) == {"web_farm/web1", "web_farm/web2", "dc1", "hanger"}, v.keys()
assert v["dc1"]["method"] == "tcp" and v["dc1"]["history"].endswith("+")
assert v["web_farm/web1"]["target"] == "http://198.18.2.2/health"
assert v["web_farm/web2"]["state"] == "down" and v["web_farm/web2"]["history"].endswith("-")' &&
	kt_ok "verifiers --json parses" || kt_fail "verifiers --json"

# ---- notify commands ----------------------------------------------------------------
if [ -z "$use_driver" ]; then
	nobody=$(id -u nobody)
	# the notify commands run in the background: wait (10 s at most) for
	# the last one, dc1's return, before reading their log
	for i in $(seq 100); do
		grep -q "args=up dc1 .*prev=down" "$NOTE/log" 2>/dev/null && break
		sleep 0.1
	done
	grep -q "^uid=$nobody args=down web_farm/web2 farm=web_farm member=web2 state=down prev=up result=" "$NOTE/log" &&
		grep -q "^uid=$nobody args=up web_farm/web2 .* state=up prev=down result=ok" "$NOTE/log" &&
		kt_ok "notify ran as nobody for web2 down and up, state in argv and env" ||
		kt_fail "notify log: $(cat "$NOTE/log" 2>&1)"
	grep -q "^uid=$nobody args=down dc1 farm= member= state=down prev=up result=refused" "$NOTE/log" &&
		kt_ok "notify of a standalone verifier (dc1 down: refused)" || kt_fail "dc1 notify: $(grep dc1 "$NOTE/log")"
	for i in $(seq 30); do fctl alerts | grep -q "member-down.*firing" && break; sleep 0.1; done
	fctl alerts | grep -q "member-down.*firing" &&
		kt_ok "members down: the default alert member-down is firing" ||
		kt_fail "alerts: $(fctl alerts)"
	for i in $(seq 150); do
		grep -q "notify '$T/hang.sh' (hanger up): killed after 10000 ms" "$LAB_TMP/sluiced.log" && break
		sleep 0.1
	done
	hp=$(head -n1 "$NOTE/hang.pid" 2>/dev/null) # the first run's
	[ -n "$hp" ] && ! kill -0 "$hp" 2>/dev/null &&
		grep -q "notify '$T/hang.sh' (hanger up): killed after 10000 ms" "$LAB_TMP/sluiced.log" &&
		kt_ok "a notify command that hangs is killed after 10 s (logged)" ||
		kt_fail "hanging notify: pid $hp, $(grep -i notify "$LAB_TMP/sluiced.log" | tail -3)"
fi

# ---- change times (lastchg, downtime) and drains kept over a restart ----------------
if [ -z "$use_driver" ]; then
	sleep 1.2 # web2 has been down at least this long
	fctl verifiers --json | python3 -c '
import json, sys
v = {x["name"]: x for x in json.load(sys.stdin)["verifiers"]}
w2, dc = v["web_farm/web2"], v["dc1"]
# web2: up, down, up, down (stopped, /health, /health, all down): >= 4
assert w2["changes"] >= 4 and w2["last_change_s"] >= 1, w2
assert w2["downtime_s"] >= w2["last_change_s"], w2   # still down: counted
assert dc["state"] == "up" and dc["downtime_s"] > 0 and dc["changes"] >= 3, dc
assert isinstance(dc["last_change"], int) and dc["last_change"] > 1.7e9, dc' &&
		kt_ok "verifiers --json: change times and downtime (web2 down, dc1 was down)" ||
		kt_fail "change times: $(fctl verifiers --json)"
	fctl verifiers | head -1 | grep -q "state  *changed  *down$" &&
		kt_ok "verifiers shows 'changed' and 'down' columns" || kt_fail "columns: $(fctl verifiers | head -1)"
	fctl farm drain web1 >/dev/null && kt_ok "farm drain web1 (before a restart)" || kt_fail "drain web1"
	[ -f "$KT_SOCK.drains" ] && grep -qx "web_farm/web1" "$KT_SOCK.drains" &&
		kt_ok "drain kept in $(basename "$KT_SOCK").drains" || kt_fail "no drain file"
	kt_stop
	kt_start "$conf" || kt_done
	fctl farm list | grep -q "web1 .*drained .*out" &&
		kt_ok "after a restart web1 is still drained, out of the map" ||
		kt_fail "after restart: $(fctl farm list)"
	fctl farm list | grep -q "web2 .*drained" && kt_fail "web2 drained too" ||
		kt_ok "web2 not drained"
	fctl farm resume web1 >/dev/null && [ ! -e "$KT_SOCK.drains" ] &&
		kt_ok "resume: nothing drained, the file is gone" || kt_fail "after resume: $(ls "$KT_SOCK"*)"
	printf 'web_farm/web2\n' >"$KT_SOCK.drains"
	chmod 666 "$KT_SOCK.drains" # a file others may write is not trusted
	kt_stop
	kt_start "$conf" || kt_done
	fctl farm list | grep -q "drained" && kt_fail "a drain file others may write was obeyed" ||
		kt_ok "a drain file others may write is ignored"
	rm -f "$KT_SOCK.drains"
fi
kt_done
