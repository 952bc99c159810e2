#!/usr/bin/env bash
# 13_failmode_restart — kill -9 under fail-closed: sessions already decided
# go on (the conntrack mark), new sessions that need the service are
# dropped, header-only ones still pass; a restart restores service without
# manual steps. A clean stop removes everything (on-exit remove) or leaves
# the fail-closed state (on-exit fail-closed); the ICMP timeouts sluiced set
# go back to what they were before its first start, kill -9 in between.
. "$(dirname "$0")/lib.sh"
kt_up
icmp0=$(icmp_sysctls "$LAB_GW")
kt_start "$KT_ROOT/examples/lab.conf" || kt_done
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
h=$(hold "$LAB_CLI" TCP4 "$LAB_SRV4" 80 30)
sleep 1
kill -9 "$KT_PID"; sleep 0.3
# the file: ICMP, ICMPv6 timeouts, then conntrack accounting and timestamps
[ "$(cut -d' ' -f1-2 "$KT_SOCK.icmp-timeouts" 2>/dev/null)" = "$icmp0" ] &&
	kt_ok "after kill -9 the original ICMP timeouts are on disk ($icmp0)" ||
	kt_fail "state file: '$(cat "$KT_SOCK.icmp-timeouts" 2>/dev/null)', want '$icmp0'"
a=$(held "$h"); sleep 1.5; b=$(held "$h")
[ "$b" -gt $((a + 3)) ] && kt_ok "established session goes on after kill -9 ($a → $b)" ||
	kt_fail "established session stalled after kill -9 ($a → $b)"
expect_talk "new session needing the service is dropped (fail closed)" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
expect_talk "header-only session (gateway web) still passes" 5 "$LAB_GW" TCP4 "$LAB_SRV4" 80
lab_exec "$LAB_DNS" ping -c 1 -W 1 "$LAB_SRV4" >/dev/null && kt_ok "ping still passes" || kt_fail "ping"

kt_start "$KT_ROOT/examples/lab.conf" || kt_done
kt_ok "restarted without manual steps"
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
expect_talk "after restart, carol's new session works" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
c=$(held "$h"); sleep 1; d=$(held "$h")
[ "$d" -gt "$c" ] && kt_ok "the old session survived the restart ($c → $d)" || kt_fail "old session cut by restart"
n=$(lab_exec "$LAB_GW" iptables-nft -S | grep -c -- '-j SLUICE')
[ "$n" -eq 3 ] && kt_ok "exactly one jump per hook after restart" || kt_fail "$n SLUICE jumps"

# clean stop: everything removed
kt_stop
kill -0 "$KT_PID" 2>/dev/null && kt_fail "sluiced still running after TERM"
lab_exec "$LAB_GW" nft list table inet sluice >/dev/null 2>&1 && kt_fail "table left after stop" ||
	kt_ok "clean stop removed the nft table"
lab_exec "$LAB_GW" iptables-nft -S | grep -q SLUICE && kt_fail "SLUICE chain left after stop" ||
	kt_ok "clean stop removed the xt chain"
[ "$(icmp_sysctls "$LAB_GW")" = "$icmp0" ] &&
	kt_ok "ICMP timeouts back to the originals across kill -9 and restart ($icmp0)" ||
	kt_fail "ICMP timeouts after stop: $(icmp_sysctls "$LAB_GW"), want $icmp0"
[ ! -e "$KT_SOCK.icmp-timeouts" ] && [ ! -e "$KT_SOCK.icmp-timeouts.tmp" ] &&
	kt_ok "their state file is gone after the clean stop" || kt_fail "state file left: $(ls "$KT_SOCK".*)"

# on-exit fail-closed: decided sessions continue, new ones are dropped
conf=$(conf_with 'queue { on-exit fail-closed }')
kt_start "$conf" || kt_done
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
h=$(hold "$LAB_CLI" TCP4 "$LAB_SRV4" 80 20); sleep 1
kt_stop
e=$(held "$h"); sleep 1.2; f=$(held "$h")
[ "$f" -gt $((e + 2)) ] && kt_ok "on-exit fail-closed: decided session goes on ($e → $f)" ||
	kt_fail "on-exit fail-closed: session stalled ($e → $f)"
expect_talk "on-exit fail-closed: new sessions dropped" 0 "$LAB_DNS" TCP4 "$LAB_SRV4" 80

# fail open: the queue has --queue-bypass and the <hook>_post chains allow
# what sluiced did not decide (here: nobody listens after kill -9)
conf=$(conf_with 'queue { fail open }')
kt_start "$conf" || kt_done
lab_exec "$LAB_GW" iptables-nft -S SLUICE | grep -q -- '--queue-bypass' &&
	kt_ok "fail open: NFQUEUE with bypass" || kt_fail "fail open: no bypass"
kill -9 "$KT_PID"; sleep 0.3
lab_exec "$LAB_GW" conntrack -F >/dev/null 2>&1
expect_talk "fail open: after kill -9 a session needing the service passes" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
n=$(lab_exec "$LAB_GW" conntrack -L 2>/dev/null | grep 'dport=80 ' | grep -c "mark=$((0x7fff0000))")
[ "$n" -ge 1 ] && kt_ok "fail open: the session carries the fail-open rule id (ct mark 0x7fff0000)" ||
	kt_fail "fail open: no conntrack entry with mark 0x7fff0000"
kt_done
