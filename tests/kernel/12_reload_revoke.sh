#!/usr/bin/env bash
# 12_reload_revoke — reload is atomic: a bad policy is rejected with located
# messages and the running policy and ruleset stay; a good one replaces them
# and sessions the new policy no longer allows are cut (revocation).
. "$(dirname "$0")/lib.sh"
kt_up
conf=$LAB_TMP/sluice.conf
cp "$KT_ROOT/examples/lab.conf" "$conf"
kt_start "$conf" || kt_done
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null

h=$(hold "$LAB_CLI" TCP4 "$LAB_SRV4" 80 30)
sleep 1.5
a=$(held "$h")
[ "$a" -ge 3 ] && kt_ok "carol's long session is flowing ($a echoes)" || kt_fail "long session: $a echoes"

# a bad policy: rejected, messages located, the old one runs on
g0=$(gen)
nft0=$(lab_exec "$LAB_GW" nft -s -t list table inet sluice | md5sum)
sed -i 's/^rule "staff web".*/rule "staff web" allow webb from clients to servrs users staff/' "$conf"
out=$(ctl reload 2>&1); rc=$?
[ "$rc" -eq 1 ] && kt_ok "bad reload exits 1" || kt_fail "bad reload exit $rc"
echo "$out" | grep -q "sluice.conf:28:[0-9]*: error: unknown protocol 'webb'" &&
	echo "$out" | grep -q "unknown network, computer set or domain set 'servrs'" &&
	kt_ok "both errors reported with file:line:col" || kt_fail "reload messages: $out"
[ "$(gen)" = "$g0" ] && kt_ok "generation unchanged ($g0)" || kt_fail "generation changed"
[ "$(lab_exec "$LAB_GW" nft -s -t list table inet sluice | md5sum)" = "$nft0" ] &&
	kt_ok "kernel ruleset untouched" || kt_fail "ruleset changed after a bad reload"
expect_talk "new web sessions still allowed by the old policy" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
b=$(held "$h"); [ "$b" -gt "$a" ] && kt_ok "long session unaffected ($b echoes)" || kt_fail "long session stalled"

# SIGHUP with the same bad file: rejected too, daemon alive
kill -HUP "$KT_PID"; sleep 0.5
kill -0 "$KT_PID" && [ "$(gen)" = "$g0" ] && kt_ok "SIGHUP with a bad file: still running, old policy" ||
	kt_fail "SIGHUP bad reload"

# a good policy without "staff web": carol's session is revoked
cp "$KT_ROOT/examples/lab.conf" "$conf"
sed -i '/^rule "staff web"/d; /^rule "work sites"/d' "$conf"
out=$(ctl reload 2>&1) && kt_ok "good reload accepted: $out" || kt_fail "good reload: $out"
[ "$(gen)" -gt "$g0" ] && kt_ok "new generation" || kt_fail "generation did not move"
echo "$out" | grep -q "[1-9][0-9]* sessions revoked" && kt_ok "reload reports revoked sessions" ||
	kt_fail "no session revoked: $out"
c=$(held "$h"); sleep 1.5; d=$(held "$h")
[ "$d" -le $((c + 1)) ] && kt_ok "the revoked session is cut ($c → $d echoes)" ||
	kt_fail "revoked session still flowing ($c → $d)"
expect_talk "a new web session is now denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80

# revoke: off keeps sessions
cp "$KT_ROOT/examples/lab.conf" "$conf"
ctl reload >/dev/null
h2=$(hold "$LAB_CLI" TCP4 "$LAB_SRV4" 80 20); sleep 1
sed -i '/^rule "staff web"/d; /^rule "work sites"/d; s/revoke on/revoke off/' "$conf"
ctl reload >/dev/null
e=$(held "$h2"); sleep 1.2; f=$(held "$h2")
[ "$f" -gt $((e + 2)) ] && kt_ok "with revoke off the session goes on ($e → $f)" ||
	kt_fail "revoke off: session stalled ($e → $f)"

# the NSS pool's settings take effect on reload (the pool is made again);
# a setting that cannot change while sluiced runs is said, never ignored
# (every row: 57_settings_reload)
printf 'identity { nss-workers 7 }\n' >>"$conf"
out=$(ctl reload 2>&1)
shown=$(ctl settings | awk '$1 == "identity" && $2 == "nss-workers" { print $4 }')
! echo "$out" | grep -q "NOT applied" && [ "$shown" = 7 ] &&
	kt_ok "reload applies nss-workers 7 (settings: $shown)" ||
	kt_fail "nss-workers 7: settings show '$shown', reply: $out"
printf 'queue { adopt-window 30s }\n' >>"$conf"
out=$(ctl reload 2>&1)
echo "$out" | grep -q "queue adopt-window 30s: NOT applied: restart sluiced" &&
	kt_ok "reload says adopt-window needs a restart" ||
	kt_fail "reload reply does not say adopt-window needs a restart: $out"
kt_done
