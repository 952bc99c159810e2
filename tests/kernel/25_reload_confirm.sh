#!/usr/bin/env bash
# 25_reload_confirm — `sluicectl reload --confirm DURATION` (commit
# confirmed): the new policy goes back by itself to the previous one unless
# `sluicectl confirm` follows in time; a confirm keeps it; a plain reload
# during the probation makes its policy permanent; bad durations are
# refused and change nothing.
. "$(dirname "$0")/lib.sh"
kt_up
conf=$LAB_TMP/sluice.conf
cp "$KT_ROOT/examples/lab.conf" "$conf"
kt_start "$conf" || kt_done
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
gen() { ctl status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])'; }
no_web() { sed -i '/^rule "staff web"/d; /^rule "work sites"/d' "$conf"; }
# wait_gen G SECONDS: true once the running generation is G
wait_gen() { local i; for i in $(seq $(($2 * 5))); do [ "$(gen)" = "$1" ] && return 0; sleep 0.2; done; return 1; }

g0=$(gen)
expect_talk "before: carol's web session is allowed" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80

for bad in abc 0 -5 10x 90000; do
	out=$(ctl reload --confirm "$bad" 2>&1); rc=$?
	[ "$rc" -ne 0 ] && [ "$(gen)" = "$g0" ] && kt_ok "reload --confirm $bad refused (exit $rc), nothing reloaded" ||
		kt_fail "reload --confirm $bad: exit $rc, generation $(gen): $out"
done
out=$(ctl confirm 2>&1); rc=$?
[ "$rc" -eq 1 ] && kt_ok "confirm with nothing on probation: exit 1 ($out)" || kt_fail "confirm without probation: exit $rc"

# 1. not confirmed: back to the previous policy by itself
no_web
# (6 s: time for the checks below on a slow, sanitized build)
out=$(ctl reload --confirm 6s 2>&1) && echo "$out" | grep -q "on probation" &&
	kt_ok "reload --confirm 6s: $(echo "$out" | tail -n1)" || kt_fail "reload --confirm 6s: $out"
g1=$(gen)
[ "$g1" -gt "$g0" ] && kt_ok "probation: generation $g1" || kt_fail "generation did not move"
expect_talk "probation: the new policy runs (web denied)" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
[ "$(gen)" = "$g1" ] || kt_fail "the probation ended before its checks (host too slow?)"
wait_gen "$g0" 20 && kt_ok "not confirmed: back to generation $g0 by itself" ||
	kt_fail "no rollback: generation $(gen)"
grep -q "reload not confirmed within its time" "$LAB_TMP/sluiced.log" && kt_ok "the rollback is logged" ||
	kt_fail "no rollback message in the log"
expect_talk "after the rollback: carol's web session is allowed again" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
out=$(ctl confirm 2>&1); [ $? -eq 1 ] && kt_ok "confirm after the rollback: refused" || kt_fail "late confirm: $out"

# 2. confirmed in time: stays
out=$(ctl reload --confirm 5s 2>&1) || kt_fail "reload --confirm 5s: $out"
g2=$(gen)
out=$(ctl confirm 2>&1) && kt_ok "confirm: $out" || kt_fail "confirm: $out"
sleep 6
[ "$(gen)" = "$g2" ] && kt_ok "confirmed: generation $g2 stays after its time" || kt_fail "confirmed, yet generation $(gen)"
expect_talk "confirmed: the new policy stays (web denied)" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80

# 3. a plain reload during the probation makes its policy permanent
cp "$KT_ROOT/examples/lab.conf" "$conf"
ctl reload --confirm 5s >/dev/null || kt_fail "reload --confirm 5s (back to web)"
gp=$(gen)
ctl reload >/dev/null || kt_fail "plain reload"
g3=$(gen)
[ "$g3" -eq $((gp + 1)) ] || kt_fail "the plain reload came after the probation's end (host too slow?)"
sleep 6
[ "$(gen)" = "$g3" ] && kt_ok "a plain reload ended the probation (generation $g3 stays)" ||
	kt_fail "plain reload: generation $(gen), want $g3"
expect_talk "the plain reload's policy runs (web allowed)" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80

# 4. a rejected reload --confirm changes nothing
echo 'rule "broken" allow nosuchproto from clients to servers' >>"$conf"
ctl reload --confirm 2s >/dev/null 2>&1 && kt_fail "a bad policy on probation was accepted" ||
	kt_ok "a bad policy with --confirm is rejected"
sleep 3
[ "$(gen)" = "$g3" ] && kt_ok "nothing on probation after the rejected reload" || kt_fail "generation $(gen)"
kt_done
