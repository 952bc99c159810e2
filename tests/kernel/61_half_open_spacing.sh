#!/usr/bin/env bash
# 61_half_open_spacing — the tcp-half-open passes are spaced by their cost
# (flood_half_open_wait_s(), docs/kernel.md §o) and the limit still holds:
# a dump walks every bucket of the kernel's conntrack hash, and the more
# entries the longer; with up to 150,000 idle established sessions in the
# gateway (fewer when the host's nf_conntrack_max is smaller) a pass takes
# several ms of CPU (flood_half_open_pass_cpu_seconds, which must account
# for the walk: checked against the main thread's CPU) and sluiced waits
# 200 times that (0.5 % of a core, at most 5 s) before the next
# (flood_half_open_passes), not one second; a source holding too many
# unanswered sessions is still put into flood_half_open4 within a wait;
# a new ruleset (reload) makes the next tick a pass.
. "$(dirname "$0")/lib.sh"
kt_up
# the idle sessions: rule "bulk" (index 1: ALLOW 0x40000000 | id 2 << 16),
# which needs no user, so they are adopted at once and cost nothing more
max=$(cat /proc/sys/net/netfilter/nf_conntrack_max)
N=$((max * 3 / 4 - 10000)); [ "$N" -gt 150000 ] && N=150000
conf=$LAB_TMP/spacing.conf
cat >"$conf" <<'EOF'
network clients { 198.18.1.0/24 }
network servers { 198.18.2.0/24 }
protocol bulk tcp 9000
protocol web tcp 80
rule "bulk" allow bulk from clients to servers
rule "web" allow web from clients to servers
flood { tcp-connect-rate 100000/min tcp-concurrent 1000 tcp-half-open 20 udp-rate 1000/s }
EOF
lab_exec "$LAB_GW" "$KT_BUILD/bench/ct_fill" "$N" 198.18.1.10 "$LAB_SRV4" 9000 0x40020000 >/dev/null ||
	kt_fail "ct_fill: $N idle sessions not created (nf_conntrack_max $max)"
kt_start "$conf" || kt_done
# the server drops every SYN to its second address: nobody answers there
lab_exec "$LAB_SRV" nft -f - <<EOF || kt_fail "black hole not installed"
table inet blackhole {
	chain input {
		type filter hook input priority 0;
		ip daddr $LAB_SRV4B tcp dport 80 drop
	}
}
EOF
now() { date +%s.%N; }
# since T: seconds since T (a now), one decimal
since() { python3 -c "import time; print(f'{time.time() - $1:.1f}')"; }
# py EXPR: true when the Python expression EXPR is
py() { python3 -c "import sys; sys.exit(0 if ($1) else 1)"; }
passes() { counter flood_half_open_passes; }
gauge() { counter flood_half_open_pass_cpu_seconds; }
# wait_s CPU: the wait a pass of CPU seconds asks for (200 x, up, 1..5)
wait_s() { python3 -c "import math; print(min(5, max(1, math.ceil(float('$1') * 200))))"; }
# main_cpu: sluiced's main thread's CPU time in s (utime + stime)
main_cpu() { awk -v t="$(getconf CLK_TCK)" '{ print ($14 + $15) / t }' "/proc/$KT_PID/task/$KT_PID/stat"; }
# wait_pass P: polls up to 15 s until passes exceed P
wait_pass() {
	local i
	for i in $(seq 75); do [ "$(passes)" -gt "$1" ] && return 0; sleep 0.2; done
	return 1
}
# in_set: carol is in flood_half_open4
in_set() { lab_exec "$LAB_GW" nft list set inet sluice flood_half_open4 | grep -qw -- "$LAB_CLI4"; }
# wait_set: polls up to 20 s for in_set
wait_set() {
	local i
	for i in $(seq 100); do in_set && return 0; sleep 0.2; done
	return 1
}
wait_pass 0 || kt_fail "no tcp-half-open pass in 15 s"
sleep 3 # past the start's adoption of the table
cpu=$(gauge)
py "0 < float('$cpu') < 1" &&
	kt_ok "a pass over $(lab_exec "$LAB_GW" conntrack -C) entries took $cpu s of CPU: the next waits $(wait_s "$cpu") s" ||
	kt_fail "flood_half_open_pass_cpu_seconds: $cpu"

# --- spacing: over about 12 s, at most one pass per wait (plus the one
# under way); at one a second it would be 12. Only a pass of more than
# 7.5 ms (a wait of 2 s or more, whatever the next pass costs within a
# third) can show it. The passes' reported CPU must be most of what the
# main thread spent meanwhile (nothing else runs there now): a gauge that
# left out the kernel's walk would make cheap passes out of costly ones.
p0=$(passes); t0=$(now); c0=$(main_cpu)
sleep 12
p1=$(passes); t1=$(now); c1=$(main_cpu)
d=$((p1 - p0)); cpu=$(gauge)
e=$(python3 -c "print(f'{$t1 - $t0:.1f}')")
py "$d >= 1 and $d * float('$cpu') >= 0.2 * ($c1 - $c0)" &&
	kt_ok "$d passes of about $cpu s: the main thread spent $(python3 -c "print(f'{$c1 - $c0:.2f}')") s in $e s" ||
	kt_fail "$d passes of $cpu s reported, the main thread spent $(python3 -c "print($c1 - $c0)") s in $e s"
if py "float('$cpu') >= 0.0075"; then
	py "$d <= $e / 2 + 1" && kt_ok "$d passes in $e s (spaced by their cost, not one a second)" ||
		kt_fail "$d passes in $e s with $cpu s a pass: not spaced"
else
	kt_ok "passes cheap on this host ($cpu s with $N sessions): one a second is right, spacing not shown"
fi

# --- the limit holds: 40 SYNs nobody answers at once (tcp-half-open 20)
t0=$(now)
burst "$LAB_CLI" "$LAB_SRV4B" 80 40 30 "$LAB_CLI4" >/dev/null &
lab_register_pid $!
ok=; wait_set && ok=1
lag=$(since "$t0")
[ -n "$ok" ] && py "$lag <= 12" &&
	kt_ok "carol with 40 unanswered sessions is in flood_half_open4 after $lag s (a wait of at most 5 s, and a pass)" ||
	kt_fail "carol in flood_half_open4: ${ok:-no} after $lag s"
got=$(burst "$LAB_CLI" "$LAB_SRV4" 80 3 2 "$LAB_CLI4")
[ "$got" = 0 ] && kt_ok "her new SYNs to an answering server are dropped" ||
	kt_fail "carol while limited: $got of 3 established"

# --- a reload right after a pass: the next tick is a pass, not the end
# of that pass's wait (shown when the wait is 4 s or more)
p0=$(passes)
wait_pass "$p0" || kt_fail "no pass in 15 s"
ts=$(now); p0=$(passes); w=$(wait_s "$(gauge)")
ctl reload >/dev/null || kt_fail "reload failed"
wait_pass "$p0" || kt_fail "no pass in 15 s after the reload"
el=$(since "$ts")
if [ "$w" -ge 4 ]; then
	py "$el < $w - 1" && kt_ok "after a reload the next pass came $el s after the last, not $w s" ||
		kt_fail "after a reload the next pass came $el s after the last (its wait: $w s)"
else
	kt_ok "after a reload a pass came in $el s (a wait of $w s is too short to tell)"
fi
wait_set && kt_ok "carol is in the new ruleset's flood_half_open4 again" ||
	kt_fail "carol is not in flood_half_open4 after the reload"
kt_done
