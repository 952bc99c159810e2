#!/usr/bin/env bash
# 25_reload_confirm — `sluicectl reload --confirm DURATION` (commit
# confirmed): the new policy goes back by itself to the previous one unless
# `sluicectl confirm` follows in time; a confirm keeps it; a plain reload
# during the probation makes its policy permanent; bad durations are
# refused and change nothing; a rollback puts the kernel queue back as it
# was: from a probation with fail open and a longer queue back to fail
# closed, length 16, no --queue-bypass (a full queue drops again).
. "$(dirname "$0")/lib.sh"
kt_up
conf=$(conf_with)
kt_start "$conf" || kt_done
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
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
# (10 s: time for the checks below on a busy host or a sanitized build)
out=$(ctl reload --confirm 10s 2>&1) && echo "$out" | grep -q "on probation" &&
	kt_ok "reload --confirm 10s: $(echo "$out" | tail -n1)" || kt_fail "reload --confirm 10s: $out"
g1=$(gen)
[ "$g1" -gt "$g0" ] && kt_ok "probation: generation $g1" || kt_fail "generation did not move"
expect_talk "probation: the new policy runs (web denied)" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
[ "$(gen)" = "$g1" ] || kt_fail "the probation ended before its checks (host too slow?)"
wait_gen "$g0" 30 && kt_ok "not confirmed: back to generation $g0 by itself" ||
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
# 5. a rollback restores the kernel queue: fail mode, length, --queue-bypass.
# Decisions wait for their deadline (a domains rule, no DNS server at
# 198.18.3.2, no failure remembered), so a burst of new datagram sessions
# fills the queue; what a full queue does shows its fail flag and length.
SINK=$LAB_TMP/sink.out
for port in 5398 5399; do # 5398: the probation's burst; 5399: the others
	lab_spawn "$LAB_SRV" timeout 120 socat -u UDP4-RECV:$port OPEN:"$SINK",creat,append >/dev/null
done
mkq() { # mkq FAIL LENGTH: a policy whose decisions wait, kernel queue as given
	cat >"$conf" <<CONF
network clients { 198.18.1.0/24 }
network servers { 198.18.2.0/24 }
domains work_sites { www.lab.sluice.test }
protocol sink udp { 5398 5399 }
rule "work sink" allow sink from clients to work_sites
resolver  { servers 198.18.3.2 timeout 500ms negative-ttl 0s }
flood { tcp-connect-rate 0 udp-rate 0 tcp-concurrent 0 }
decisions { slots 256 per-source 200 deadline 2s deny-memory 0 }
queue     { fail $1 length $2 revoke on }
CONF
}
json() { ctl status --json | python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
idle() { # no decision pending (the queue is empty again), up to 10 s
	local i
	for i in $(seq 100); do [ "$(json pending)" -eq 0 ] && return 0; sleep 0.1; done
	kt_fail "still $(json pending) decisions pending"
}
burst() { # burst N PORT: N datagrams, each its own session; prints how many
	# arrived. sluiced is stopped (SIGSTOP) meanwhile, so the kernel queue
	# fills whatever the speed of the machine (a quick sluiced would take
	# every packet into its slots before the queue is ever full).
	: >"$SINK"
	kill -STOP "$KT_PID"
	lab_exec "$LAB_CLI" python3 -c '
import socket, sys
for _ in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"x\n", (sys.argv[1], int(sys.argv[3]))); s.close()' "$LAB_SRV4" "$1" "$2"
	sleep 0.7
	kill -CONT "$KT_PID"
	wc -l <"$SINK"
}
qdropped() { lab_exec "$LAB_GW" awk '$1 == 0 { print $6; f = 1 } END { if (!f) print 0 }' \
	/proc/net/netfilter/nfnetlink_queue; }
bypass() { lab_exec "$LAB_GW" iptables-nft -S SLUICE | grep -c -- '--queue-bypass'; }
mkq closed 16
out=$(ctl reload 2>&1) && echo "$out" | grep -q "queue: fail closed, length 16" &&
	kt_ok "reload: fail closed, length 16" || kt_fail "reload to fail closed, length 16: $out"
gq=$(gen)
mkq open 64
# (a probation of 20 s: the checks below must run inside it on a busy host)
out=$(ctl reload --confirm 20s 2>&1) && echo "$out" | grep -q "queue: fail open, length 64" &&
	kt_ok "reload --confirm 20s: fail open, length 64 on probation" || kt_fail "reload --confirm to fail open: $out"
[ "$(bypass)" -ge 1 ] && kt_ok "probation: NFQUEUE with --queue-bypass" || kt_fail "probation: no --queue-bypass"
d0=$(qdropped)
n=$(burst 100 5398)
[ "$n" -gt 0 ] && kt_ok "probation: a full queue passes ($n of 100 beyond 64 queued)" ||
	kt_fail "probation: nothing passed the full queue (fail open not in force)"
[ "$(qdropped)" -eq "$d0" ] && kt_ok "probation: the full queue dropped nothing (queue_dropped $d0)" ||
	kt_fail "probation: queue_dropped $d0 → $(qdropped) under fail open"
[ "$(gen)" -gt "$gq" ] || kt_fail "the probation ended before its checks (host too slow?)"
wait_gen "$gq" 35 && kt_ok "not confirmed: back to generation $gq" || kt_fail "no rollback: generation $(gen)"
idle
[ "$(bypass)" -eq 0 ] && kt_ok "after the rollback: --queue-bypass gone" || kt_fail "after the rollback: --queue-bypass still there"
d0=$(qdropped)
n=$(burst 40 5399)
d1=$(qdropped)
[ "$n" -eq 0 ] && kt_ok "after the rollback: none of 40 datagram sessions passed a full queue" ||
	kt_fail "after the rollback: $n of 40 datagrams passed"
# 40 sessions, 16 held by a queue of length 16: about 24 dropped by the
# kernel queue itself (none with the fail-open flag; none when 64 long)
[ $((d1 - d0)) -ge 16 ] && kt_ok "after the rollback: the queue's fail-open flag is clear and its length 16 again ($((d1 - d0)) of 40 dropped by the full queue)" ||
	kt_fail "after the rollback: the full queue dropped $((d1 - d0)) of 40 (fail-open flag or length 64 kept?)"
idle
kt_done
