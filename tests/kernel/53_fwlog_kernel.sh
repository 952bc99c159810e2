#!/usr/bin/env bash
# 53_fwlog_kernel — one firewall log for every decision: a session a `log`
# rule decides in the kernel alone is in the firewall log (NFLOG) with its
# rule's name; the end of a session sluiced decided has its own record
# (conntrack DESTROY) with bytes and packets each way, a duration, the rule
# and user, and the start record's flow id; so has the end of a session the
# kernel allowed. sluiced turns conntrack accounting and timestamps on in
# the gateway's namespace and puts the values it found back when it stops.
. "$(dirname "$0")/lib.sh"
kt_up
acct=/proc/sys/net/netfilter/nf_conntrack_acct
tstamp=/proc/sys/net/netfilter/nf_conntrack_timestamp
gwsys() { ip netns exec "$LAB_GW" cat "$1"; }
ip netns exec "$LAB_GW" sh -c "echo 0 >$acct; echo 0 >$tstamp"
conf=$(conf_with "log { format json file \"$LAB_TMP/fw.log\" }")
kt_start "$conf" || kt_done
[ "$(gwsys $acct) $(gwsys $tstamp)" = "1 1" ] &&
	kt_ok "running with a firewall log: nf_conntrack_acct and nf_conntrack_timestamp are 1" ||
	kt_fail "acct/timestamp while running: $(gwsys $acct) $(gwsys $tstamp)"
c() { ctl counters --json | python3 -c "import json,sys; print(json.load(sys.stdin)['counters']['$1'])"; }

# find_rec PY_CONDITION: polls the log (up to 10 s) for a record (r, a dict)
# meeting the condition; prints it as JSON, or nothing.
find_rec() {
	local i out
	for i in $(seq 50); do
		out=$(python3 - "$LAB_TMP/fw.log" "$1" <<'PY'
import json, sys
cond = sys.argv[2]
for line in open(sys.argv[1]):
    r = json.loads(line)  # every line parses
    if eval(cond):
        print(json.dumps(r)); break
PY
)
		[ -n "$out" ] && { echo "$out"; return 0; }
		sleep 0.2
	done
	return 1
}
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2]))" "$1" "$2"; }

# 1. ssh from the DNS host: denied in the kernel by "no ssh to servers"
#    (header-only, with `log`); never queued, yet in the firewall log; the
#    rule's own counter still counts it (sessions_kernel_denied)
kd0=$(c sessions_kernel_denied)
queued_by "ssh from the dns host: the kernel decides" 0 \
	expect_talk "ssh from the dns host is denied" 0 "$LAB_DNS" TCP4 "$LAB_SRV4" 22
rec=$(find_rec "r['event'] == 'kernel-decided' and r['rule'] == 'no ssh to servers' and r['destination'] == '$LAB_SRV4:22' and r['client'].startswith('$LAB_DNS4:')")
[ -n "$rec" ] && [ "$(field "$rec" action)" = deny ] && [ "$(field "$rec" transport)" = tcp ] &&
	[ "$(field "$rec" destination_network)" = servers ] &&
	kt_ok "kernel-decided session in the firewall log: $rec" ||
	kt_fail "no kernel-decided record for ssh from the dns host: $(tail -3 "$LAB_TMP/fw.log")"
kd1=$(c sessions_kernel_denied)
[ "$kd1" -gt "$kd0" ] && kt_ok "the logged rule still counts: sessions_kernel_denied $kd0 -> $kd1" ||
	kt_fail "sessions_kernel_denied $kd0 -> $kd1"
k=$(c fwlog_kernel_decided)
[ "$k" -ge 1 ] && kt_ok "fwlog_kernel_decided $k" || kt_fail "fwlog_kernel_decided $k"

# 2. carol's web session, decided by sluiced: its end (the entry deleted,
#    as conntrack would when it times out) has counts, duration, flow id
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
sport=$((40000 + RANDOM % 20000))
expect_talk "carol's web session (sluiced decides)" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80 "$LAB_CLI4:$sport"
start=$(find_rec "r['event'] == 'decided' and r['client'] == '$LAB_CLI4:$sport'")
[ -n "$start" ] && [ "$(field "$start" rule)" = "staff web" ] &&
	kt_ok "start record: $start" || kt_fail "no start record for $LAB_CLI4:$sport"
ip netns exec "$LAB_GW" conntrack -D -p tcp --orig-src "$LAB_CLI4" --sport "$sport" >/dev/null 2>&1
end=$(find_rec "r['event'] == 'session-end' and r['client'] == '$LAB_CLI4:$sport'")
python3 - "$start" "$end" <<'PY' && kt_ok "session-end record: counts both ways, duration, rule, user, flow id of the start: $end" ||
import json, sys
s, e = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert e['flow_id'] and e['flow_id'] == s['flow_id'], (s['flow_id'], e['flow_id'])
for k in ('bytes_out', 'packets_out', 'bytes_in', 'packets_in'):
    assert e[k] > 0, k
# 5 lines of "line N\n" went each way over TCP/IPv4: at least 35 bytes of
# data and 5 packets each way (a line a packet or fewer, plus handshake)
assert e['bytes_out'] >= 35 + 40 * 3 and e['bytes_in'] >= 35 + 40 * 2, e
assert e['packets_out'] >= 3 and e['packets_in'] >= 2, e
assert e['duration_ms'] > 0, e
assert e['rule'] == 'staff web' and e['user'] == 'carol' and e['action'] == 'allow', e
PY
	kt_fail "session-end record: start=$start end=$end"

# 3. a ping from the DNS host, allowed by the kernel ("ping", no `log`):
#    no start record, but its end is logged with the rule of its ct mark
lab_exec "$LAB_DNS" ping -c 2 -i 0.2 -W 1 "$LAB_SRV4" >/dev/null && kt_ok "ping passes" || kt_fail "ping"
ip netns exec "$LAB_GW" conntrack -D -p icmp --orig-src "$LAB_DNS4" >/dev/null 2>&1
pend=$(find_rec "r['event'] == 'session-end' and r['transport'] == 'icmp' and r['client'] == '$LAB_DNS4'")
[ -n "$pend" ] && [ "$(field "$pend" rule)" = ping ] && [ "$(field "$pend" packets_out)" -ge 2 ] &&
	[ "$(field "$pend" packets_in)" -ge 2 ] && [ "$(field "$pend" flow_id)" != None ] &&
	kt_ok "end of a kernel-allowed ping: $pend" || kt_fail "ping end: $pend"

e=$(c fwlog_session_ends); l=$(c fwlog_kernel_lost)
[ "$e" -ge 2 ] && kt_ok "fwlog_session_ends $e" || kt_fail "fwlog_session_ends $e"
[ "$l" -eq 0 ] && kt_ok "fwlog_kernel_lost 0" || kt_fail "fwlog_kernel_lost $l"
python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    # ends only of sessions sluice decided: a rule, never sluiced'"'"'s own
    assert r["event"] != "session-end" or r["rule"], r' "$LAB_TMP/fw.log" &&
	kt_ok "every line of the log parses, every end names its rule ($(wc -l <"$LAB_TMP/fw.log") records)" ||
	kt_fail "a line does not parse, or an end without a rule: $(cat "$LAB_TMP/fw.log")"

# 4. a reload to another NFLOG group and the ECS format: the reader is
#    bound to the new group, the counts go on, the record reads as ECS
sed -i 's|^log { format json |log { format ecs nflog-group 77 |' "$conf"
kill -HUP "$KT_PID"
g=""
for _ in $(seq 50); do
	g=$(lab_exec "$LAB_GW" nft list table inet sluice 2>/dev/null | grep -c 'log prefix "sluice deny [0-9]*" group 77')
	[ "$g" -ge 1 ] && break; sleep 0.2
done
[ "$g" -ge 1 ] && kt_ok "reloaded: the log rules use NFLOG group 77 ($g)" || kt_fail "no group 77 log rule after reload"
expect_talk "ssh from the dns host after a reload" 0 "$LAB_DNS" TCP4 "$LAB_SRV4" 22
k2=0
for _ in $(seq 50); do k2=$(c fwlog_kernel_decided); [ "$k2" -gt "$k" ] && break; sleep 0.2; done
[ "$k2" -gt "$k" ] && kt_ok "after the reload: fwlog_kernel_decided $k -> $k2" || kt_fail "after reload: fwlog_kernel_decided $k -> $k2"
ecs=$(find_rec "r.get('sluice', {}).get('event') == 'kernel-decided' and r['rule']['name'] == 'no ssh to servers' and r['destination']['port'] == 22 and r['source']['ip'] == '$LAB_DNS4'")
[ -n "$ecs" ] && kt_ok "kernel-decided session in ECS: $ecs" || kt_fail "no ECS kernel-decided record: $(tail -2 "$LAB_TMP/fw.log")"

# 5. a clean stop puts the accounting switches back
kt_stop
[ "$(gwsys $acct) $(gwsys $tstamp)" = "0 0" ] &&
	kt_ok "after the stop: nf_conntrack_acct and nf_conntrack_timestamp back to 0" ||
	kt_fail "after the stop: $(gwsys $acct) $(gwsys $tstamp)"
kt_done
