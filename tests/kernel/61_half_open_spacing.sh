#!/usr/bin/env bash
# 61_half_open_spacing — the tcp-half-open passes are spaced by their cost
# (flood_half_open_wait_s(), docs/kernel.md §o) and the limit still holds:
# a dump walks every bucket of the kernel's conntrack hash, and the more
# entries the longer; with 150,000 idle established sessions in the
# gateway a pass takes several ms of CPU (flood_half_open_pass_cpu_seconds)
# and sluiced waits 200 times that (0.5 % of a core, at most 5 s) before
# the next (flood_half_open_passes), not one second; a source holding too
# many unanswered sessions is still put into flood_half_open4 within a
# wait, and a new ruleset (reload) makes the next tick a pass.
. "$(dirname "$0")/lib.sh"
kt_up
N=150000
lab_exec "$LAB_GW" sysctl -qw net.netfilter.nf_conntrack_max=$((N * 2 + 65536)) 2>/dev/null
lab_exec "$LAB_GW" "$KT_BUILD/bench/ct_fill" "$N" 198.18.1.10 "$LAB_SRV4" 80 0x40020000 >/dev/null ||
	kt_fail "ct_fill: the idle sessions were not created"
conf=$(conf_with 'flood { tcp-connect-rate 100000/min tcp-concurrent 1000 tcp-half-open 20 udp-rate 1000/s }')
kt_start "$conf" || kt_done
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
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
passes() { counter flood_half_open_passes; }
# wait_pass P: polls up to 15 s until passes exceed P
wait_pass() {
	local i
	for i in $(seq 75); do [ "$(passes)" -gt "$1" ] && return 0; sleep 0.2; done
	return 1
}
wait_pass 0 || kt_fail "no tcp-half-open pass in 15 s"
cpu=$(counter flood_half_open_pass_cpu_seconds)
# the wait each pass asks for: 200 x its CPU time, rounded up, 1..5 s
w=$(python3 -c "import math; print(min(5, max(1, math.ceil(float('$cpu') * 200))))")
python3 -c "import sys; sys.exit(0 if 0 < float('$cpu') < 1 else 1)" &&
	kt_ok "a pass over $(lab_exec "$LAB_GW" conntrack -C) entries took $cpu s of CPU: the next waits $w s" ||
	kt_fail "flood_half_open_pass_cpu_seconds: $cpu"

# --- spacing: over about 12 s, at most one pass per wait (plus the one
# under way); at one a second it would be 12. Only a pass of more than
# 7.5 ms (a wait of 2 s or more, whatever the next pass costs within a
# third) can show it; a host fast enough to walk the table in less is
# allowed its pass a second.
p0=$(passes); t0=$(now)
sleep 12
p1=$(passes); t1=$(now)
d=$((p1 - p0))
if python3 -c "import sys; sys.exit(0 if float('$cpu') >= 0.0075 else 1)"; then
	python3 -c "import sys; e = $t1 - $t0; sys.exit(0 if 1 <= $d <= e / 2 + 1 else 1)" &&
		kt_ok "$d passes in $(python3 -c "print(f'{$t1 - $t0:.1f}')") s (spaced by their cost, not one a second)" ||
		kt_fail "$d passes in $(python3 -c "print(f'{$t1 - $t0:.1f}')") s with $cpu s a pass: not spaced"
else
	[ "$d" -ge 1 ] && kt_ok "passes cheap here ($cpu s): $d in 12 s" || kt_fail "no pass in 12 s"
fi

# --- the limit holds: 40 SYNs nobody answers at once (tcp-half-open 20)
t0=$(now)
burst "$LAB_CLI" "$LAB_SRV4B" 80 40 30 "$LAB_CLI4" >/dev/null &
lab_register_pid $!
ok=
for i in $(seq 100); do
	if lab_exec "$LAB_GW" nft list set inet sluice flood_half_open4 | grep -qw -- "$LAB_CLI4"; then ok=1; break; fi
	sleep 0.2
done
lag=$(since "$t0")
[ -n "$ok" ] && python3 -c "import sys; sys.exit(0 if $lag <= 12 else 1)" &&
	kt_ok "carol with 40 unanswered sessions is in flood_half_open4 after $lag s (a wait of at most 5 s, and a pass)" ||
	kt_fail "carol in flood_half_open4: ${ok:-no} after $lag s"
got=$(burst "$LAB_CLI" "$LAB_SRV4" 80 3 2 "$LAB_CLI4")
[ "$got" = 0 ] && kt_ok "her new SYNs to an answering server are dropped" ||
	kt_fail "carol while limited: $got of 3 established"

# --- a reload right after a pass: the next tick is a pass, not the end
# of the wait (shown only when the wait is 4 s or more)
p0=$(passes)
wait_pass "$p0" || kt_fail "no pass in 15 s"
p0=$(passes)
ctl reload >/dev/null || kt_fail "reload failed"
t0=$(now)
wait_pass "$p0" || kt_fail "no pass in 15 s after the reload"
el=$(since "$t0")
cpu=$(counter flood_half_open_pass_cpu_seconds)
if python3 -c "import sys; sys.exit(0 if float('$cpu') > 0.0175 else 1)"; then
	python3 -c "import sys; sys.exit(0 if $el < 3 else 1)" &&
		kt_ok "after a reload the next pass came in $el s, not at the end of its wait" ||
		kt_fail "after a reload the next pass came in $el s (the wait: $cpu s x 200)"
else
	kt_ok "after a reload a pass came in $el s (passes too cheap here to tell it from the wait)"
fi
lab_exec "$LAB_GW" nft list set inet sluice flood_half_open4 | grep -qw -- "$LAB_CLI4" &&
	kt_ok "carol is in the new ruleset's flood_half_open4 again" ||
	kt_fail "carol is not in flood_half_open4 after the reload"
kt_done
