#!/usr/bin/env bash
# 47_freeradius_replicate — a real FreeRADIUS server
# (Debian freeradius) takes the NAS's accounting and replicates it to
# sluiced (its `replicate` module, Replicate-To-Realm), as sites do. A
# client on the lab LAN gets the staff-only server after a Start, keeps it
# across a sluiced restart, loses it after the Stop. A FreeRADIUS whose
# home-server secret is wrong gets nothing recorded and is counted.
. "$(dirname "$0")/lib.sh"
command -v freeradius >/dev/null && command -v radclient >/dev/null ||
	{ echo "$KT_NAME: FAIL: freeradius / radclient missing (scripts/setup.sh installs them)" >&2; exit 1; }
kt_up
SECRET=$LAB_TMP/radius.secret
RS="replica-$LAB_RUN"
printf '%s\n' "$RS" >"$SECRET"
chmod 600 "$SECRET"
conf=$LAB_TMP/radius.conf
cat >"$conf" <<CONF
network clients { 198.18.1.0/24 2001:db8:1::/64 }
network servers { 198.18.2.0/24 2001:db8:2::/64 }
users staff { user dave }
protocol web tcp { 80 8080 }
rule "staff web" allow web from clients to servers users staff
identity {
  radius-listen 127.0.0.1:1814
  radius-secret-file "$SECRET"
  radius-clients { 127.0.0.1 }
}
queue { count 1 fail closed udp-timeout 60s revoke on on-exit remove }
CONF

# fr_conf DIR PORT HOMESECRET: a FreeRADIUS configuration in DIR taking
# accounting on 127.0.0.1:PORT (client localhost, secret testing123) and
# replicating every request to sluiced on 127.0.0.1:1814 with HOMESECRET.
fr_conf() {
	local d=$1
	cp -a /etc/freeradius/3.0 "$d"
	find "$d/mods-enabled" "$d/sites-enabled" -mindepth 1 -maxdepth 1 \
		! -name always ! -name replicate -exec rm {} +
	mkdir -p "$d/log" "$d/run"
	sed -i "s|^logdir = .*|logdir = $d/log|; s|^raddbdir = .*|raddbdir = $d|; s|^run_dir = .*|run_dir = $d/run|; s|^\(\s*\)\(user\|group\) = freerad|\1#\2 = freerad|" \
		"$d/radiusd.conf"
	cat >"$d/sites-enabled/sluice" <<SITE
server default {
listen {
	type = acct
	ipaddr = 127.0.0.1
	port = $2
}
authorize {
	ok
}
authenticate {
}
preacct {
	ok
}
accounting {
	update control {
		&Replicate-To-Realm := 'sluice'
	}
	replicate
	ok
}
}
SITE
	cat >>"$d/proxy.conf" <<PROXY
home_server sluice {
	type = acct
	ipaddr = 127.0.0.1
	port = 1814
	secret = $3
}
home_server_pool sluice_pool {
	type = fail-over
	home_server = sluice
}
realm sluice {
	acct_pool = sluice_pool
	nostrip
}
PROXY
}
fr_conf "$LAB_TMP/fr" 1813 "$RS"
fr_conf "$LAB_TMP/frbad" 1823 "not-the-secret"
LAB_SPAWN_LOG=$LAB_TMP/fr.log lab_spawn "$LAB_GW" freeradius -f -d "$LAB_TMP/fr" -l stdout >/dev/null
LAB_SPAWN_LOG=$LAB_TMP/frbad.log lab_spawn "$LAB_GW" freeradius -f -d "$LAB_TMP/frbad" -l stdout >/dev/null
for i in $(seq 50); do grep -q "Ready to process" "$LAB_TMP/fr.log" "$LAB_TMP/frbad.log" 2>/dev/null &&
	[ "$(grep -l "Ready to process" "$LAB_TMP/fr.log" "$LAB_TMP/frbad.log" | wc -l)" = 2 ] && break; sleep 0.2; done
grep -q "Ready to process" "$LAB_TMP/fr.log" && kt_ok "FreeRADIUS is up" || { kt_fail "FreeRADIUS did not start: $(tail -5 "$LAB_TMP/fr.log")"; kt_done; }
kt_start "$conf" || kt_done

# nas PORT ATTRS: the NAS (radclient) sends one Accounting-Request to
# FreeRADIUS; exit 0 when FreeRADIUS answered
nas() {
	echo "$2" | lab_exec "$LAB_GW" timeout 10 radclient -r 2 -t 1 -q "127.0.0.1:$1" acct testing123 >/dev/null 2>&1
}
who() {
	ctl identity list --json | python3 -c "
import json,sys
e=[x for x in json.load(sys.stdin) if x['address']=='$1']
print(e[0]['user'], e[0]['source']) if e else print('none')"
}
# wait_who ADDR WANT: up to 5 s for the replica to arrive
wait_who() {
	local i
	for i in $(seq 25); do [ "$(who "$1")" = "$2" ] && return 0; sleep 0.2; done
	return 1
}
src_count() {
	ctl identity sources --json | python3 -c "import json,sys; print(json.load(sys.stdin)['radius']['$1'])"
}

expect_talk "unidentified: the staff server is denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
nas 1813 "Acct-Status-Type=Start,User-Name=dave,Framed-IP-Address=$LAB_CLI4,Acct-Session-Id=fr1" &&
	kt_ok "FreeRADIUS answered the NAS's Start" || kt_fail "FreeRADIUS did not answer"
wait_who "$LAB_CLI4" "dave radius" && kt_ok "the replicated Start made $LAB_CLI4 dave (radius)" ||
	kt_fail "after the replicated Start: $(who "$LAB_CLI4")"
expect_talk "dave's web to the staff server is allowed" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80

# the restart keeps it
kt_stop
kt_start "$conf" || kt_done
[ "$(who "$LAB_CLI4")" = "dave radius" ] && kt_ok "after a sluiced restart $LAB_CLI4 is still dave" ||
	kt_fail "after restart: $(who "$LAB_CLI4")"
expect_talk "dave's web is allowed after the restart" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80

# a FreeRADIUS with the wrong home-server secret: counted, nothing recorded
nas 1823 "Acct-Status-Type=Start,User-Name=dave,Framed-IP-Address=$LAB_CLI4B" ||
	kt_fail "the second FreeRADIUS did not answer"
for i in $(seq 25); do [ "$(src_count rejected_secret)" -ge 1 ] && break; sleep 0.2; done
[ "$(src_count rejected_secret)" -ge 1 ] && kt_ok "a replica with the wrong secret: rejected_secret $(src_count rejected_secret)" ||
	kt_fail "rejected_secret $(src_count rejected_secret)"
[ "$(who "$LAB_CLI4B")" = none ] && kt_ok "nothing recorded for $LAB_CLI4B" || kt_fail "recorded: $(who "$LAB_CLI4B")"

nas 1813 "Acct-Status-Type=Stop,User-Name=dave,Framed-IP-Address=$LAB_CLI4,Acct-Session-Id=fr1" ||
	kt_fail "FreeRADIUS did not answer the Stop"
wait_who "$LAB_CLI4" none && kt_ok "the replicated Stop logged dave out" || kt_fail "after Stop: $(who "$LAB_CLI4")"
expect_talk "after the Stop the staff server is denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
kt_done
