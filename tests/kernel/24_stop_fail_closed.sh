#!/usr/bin/env bash
# 24_stop_fail_closed — a stop never opens the gateway. With the default
# `on-exit` (fail-closed): after SIGTERM a decided session goes on, a new
# one is dropped — also one a creation element would have admitted —, the
# residual table stays; a restart takes it over (the old session still
# flows, new allowed sessions work again, denied ones stay dropped); and
# `sluiced --remove-ruleset` (refused while sluiced runs) removes table,
# xt chains and the ICMP timeouts' state.
. "$(dirname "$0")/lib.sh"
kt_up
icmp0=$(icmp_sysctls "$LAB_GW")
conf=$LAB_TMP/default-exit.conf
sed 's/ on-exit remove//' "$KT_ROOT/examples/lab.conf" >"$conf"
grep -q on-exit "$conf" && kt_fail "test setup: on-exit still set in $conf"
kt_start "$conf" || kt_done
grep -q "on-exit remove" "$LAB_TMP/sluiced.log" && kt_fail "a start with the default on-exit warns about remove" ||
	kt_ok "no 'unfiltered' warning under the default on-exit"
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
ctl creations add "$LAB_SRV4" tcp 8080 --timeout 60 >/dev/null &&
	kt_ok "creation element for $LAB_SRV4:8080 added" || kt_fail "creations add"
h=$(hold "$LAB_CLI" TCP4 "$LAB_SRV4" 80 25)
sleep 1

out=$(lab_exec "$LAB_GW" "$SLUICED" --remove-ruleset -s "$KT_SOCK" 2>&1); rc=$?
[ "$rc" -eq 1 ] && lab_exec "$LAB_GW" nft list table inet sluice >/dev/null 2>&1 &&
	kt_ok "--remove-ruleset refused while sluiced runs: $out" || kt_fail "--remove-ruleset while running: rc $rc, $out"

kt_stop
kill -0 "$KT_PID" 2>/dev/null && kt_fail "sluiced still running after TERM"
lab_exec "$LAB_GW" nft list table inet sluice >/dev/null 2>&1 &&
	kt_ok "after the stop the residual table stays" || kt_fail "table removed by the default stop"
a=$(held "$h"); sleep 1.2; b=$(held "$h")
[ "$b" -gt $((a + 2)) ] && kt_ok "decided session goes on after the stop ($a → $b)" ||
	kt_fail "decided session stalled after the stop ($a → $b)"
expect_talk "stopped: carol's new web session dropped" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
expect_talk "stopped: a header-only allowed session dropped too" 0 "$LAB_GW" TCP4 "$LAB_SRV4" 80
expect_talk "stopped: the creation element admits nothing" 0 "$LAB_DNS" TCP4 "$LAB_SRV4" 8080
expect_talk "stopped: an unidentified session dropped" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80 "$LAB_CLI4B"

# the restart takes the residual table over
kt_start "$conf" || kt_done
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
expect_talk "restarted: carol's new web session works" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
expect_talk "restarted: header-only allowed session works" 5 "$LAB_GW" TCP4 "$LAB_SRV4" 80
expect_talk "restarted: denied (ssh to servers) stays dropped" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 22
c=$(held "$h"); sleep 1; d=$(held "$h")
[ "$d" -gt "$c" ] && kt_ok "the decided session survived stop and restart ($c → $d)" ||
	kt_fail "decided session cut by stop/restart ($c → $d)"
n=$(lab_exec "$LAB_GW" iptables-nft -S | grep -c -- '-j SLUICE')
[ "$n" -eq 3 ] && kt_ok "exactly one jump per hook after the restart" || kt_fail "$n SLUICE jumps"

# stop again, then remove everything by hand
kt_stop
out=$(lab_exec "$LAB_GW" "$SLUICED" --remove-ruleset -s "$KT_SOCK" 2>&1); rc=$?
[ "$rc" -eq 0 ] && kt_ok "--remove-ruleset: $out" || kt_fail "--remove-ruleset rc $rc: $out"
lab_exec "$LAB_GW" nft list table inet sluice >/dev/null 2>&1 && kt_fail "table left after --remove-ruleset" ||
	kt_ok "--remove-ruleset removed the nft table"
lab_exec "$LAB_GW" iptables-nft -S | grep -q SLUICE && kt_fail "SLUICE chain left (IPv4)" ||
	kt_ok "no SLUICE chain or jump (IPv4)"
lab_exec "$LAB_GW" ip6tables-nft -S | grep -q SLUICE && kt_fail "SLUICE chain left (IPv6)" ||
	kt_ok "no SLUICE chain or jump (IPv6)"
[ "$(icmp_sysctls "$LAB_GW")" = "$icmp0" ] && [ ! -e "$KT_SOCK.icmp-timeouts" ] &&
	kt_ok "ICMP timeouts back to the originals ($icmp0), state file gone" ||
	kt_fail "ICMP timeouts $(icmp_sysctls "$LAB_GW"), want $icmp0; state: $(ls "$KT_SOCK".* 2>&1)"
expect_talk "removed: sluice filters nothing any more" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 22
kt_done
