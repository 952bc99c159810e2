#!/usr/bin/env bash
# 33_reload_scale — revocation of a large conntrack table: 60,000 sessions
# allowed by a rule that a reload removes. The reload answers while the
# walk goes on in the background (it says so), sluiced keeps answering
# control requests during the walk, and in the end every one of them is cut
# (none is missed by the piecewise dump); a second reload during a walk
# stops it and judges again.
. "$(dirname "$0")/lib.sh"
kt_up
N=60000
conf=$LAB_TMP/scale.conf
base='network clients { 198.18.1.0/24 }
network servers { 198.18.2.0/24 }
protocol web tcp 80
protocol bulk tcp 9000
rule "web"  allow web from clients to servers'
printf '%s\nrule "bulk" allow bulk from clients to servers\n' "$base" >"$conf"
kt_start "$conf" || kt_done
bulk_left() { lab_exec "$LAB_GW" conntrack -L -p tcp --dport 9000 2>/dev/null | grep -c . ; }
# rule "bulk" is rule index 1: ALLOW (0x40000000) | id 2 << 16
lab_exec "$LAB_GW" "$KT_BUILD/bench/ct_fill" $N 198.18.1.10 "$LAB_SRV4" 9000 0x40020000 >/dev/null &&
	kt_ok "$N sessions of rule bulk in conntrack" || kt_fail "ct_fill"
# the same policy: every one is judged and kept
out=$(ctl reload 2>&1)
for i in $(seq 600); do grep -q "revocation (generation 2)" "$LAB_TMP/sluiced.log" && break; sleep 0.1; done
line=$(grep "revocation (generation 2)" "$LAB_TMP/sluiced.log")
echo "$line" | grep -q "sessions judged, 0 cut" && kt_ok "unchanged policy: $line" || kt_fail "walk: '$line' ($out)"
n=$(echo "$line" | sed -n 's/.*: \([0-9]*\) sessions judged.*/\1/p')
[ "${n:-0}" -ge $N ] && kt_ok "every session judged ($n)" || kt_fail "judged ${n:-none}, want >= $N"
[ "$(bulk_left)" -ge $N ] && kt_ok "all kept" || kt_fail "sessions lost: $(bulk_left)"
# without rule bulk: all cut, the reload answers before the walk ends
printf '%s\n' "$base" >"$conf"
out=$(ctl reload 2>&1)
echo "$out" | grep -q "reloaded: generation 3" && kt_ok "reload answered: $(echo "$out" | tr '\n' ' ')" || kt_fail "reload: $out"
ctl status >/dev/null && kt_ok "status answers during the walk" || kt_fail "status during the walk"
for i in $(seq 1200); do grep -q "revocation (generation 3)" "$LAB_TMP/sluiced.log" && break; sleep 0.1; done
line=$(grep "revocation (generation 3)" "$LAB_TMP/sluiced.log")
c=$(echo "$line" | sed -n 's/.* \([0-9]*\) cut.*/\1/p')
[ "${c:-0}" -ge $N ] && kt_ok "the walk cut them all: $line" || kt_fail "walk: '$line'"
left=$(bulk_left)
[ "$left" -eq 0 ] && kt_ok "none left in conntrack" || kt_fail "$left sessions of the removed rule still in conntrack"
st=$(ctl status --json)
echo "$st" | python3 -c 'import json,sys; s=json.load(sys.stdin); assert s["revoked"] >= '$N &&
	kt_ok "status counts them revoked" || kt_fail "status: $st"
# a reload during a walk stops it; the newer walk judges everything again
printf '%s\nrule "bulk" allow bulk from clients to servers\n' "$base" >"$conf"
ctl reload >/dev/null
lab_exec "$LAB_GW" "$KT_BUILD/bench/ct_fill" $N 198.18.1.10 "$LAB_SRV4" 9000 0x40020000 >/dev/null
printf '%s\n' "$base" >"$conf"
ctl reload >/dev/null; ctl reload >/dev/null
for i in $(seq 1200); do grep -q "revocation (generation 6)" "$LAB_TMP/sluiced.log" && break; sleep 0.1; done
left=$(bulk_left)
[ "$left" -eq 0 ] && kt_ok "after reloads during a walk: none left" || kt_fail "$left left after overlapping walks"
kill -0 "$KT_PID" && kt_ok "sluiced still runs" || kt_fail "sluiced died"
kt_done
