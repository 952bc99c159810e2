#!/usr/bin/env bash
# 18_counters_log — counters move as the lab traffic says (a queued
# session raises the queued count by one; a stalled directory raises pending
# and lowers the available slots); the Prometheus endpoint's output parses;
# an alert fires, runs its command with the details, and re-arms as
# configured; one firewall log record matches each decision; SIGUSR1 reopens
# the log after a rotation.
. "$(dirname "$0")/lib.sh"
. "$KT_ROOT/tests/lab/peers.sh"
kt_up
peers_ldap_up || { kt_fail "slapd did not start"; kt_done; }
cat >"$LAB_TMP/alert.sh" <<'SH'
#!/bin/sh
env | grep '^SLUICE_' | sort >"$(dirname "$0")/alert.$(date +%s%N)"
SH
chmod +x "$LAB_TMP/alert.sh"
conf=$(conf_with 'metrics { listen 127.0.0.1:9109 }' \
	"log { format json file \"$LAB_TMP/fw.log\" }" \
	"alert \"pending high\" when decisions_pending > 2 rearm 3s run \"$LAB_TMP/alert.sh\"" \
	'directory ldap { uri "ldap://198.18.4.2:389" base "dc=lab,dc=sluice,dc=test" timeout 10s cache-ttl 1s }' \
	'decisions { slots 4096 reserve-local 10% per-source 256 deadline 8s }')
kt_start "$conf" || kt_done
c() { ctl counters --json | python3 -c "import json,sys; print(json.load(sys.stdin)['counters']['$1'])"; }

ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
q0=$(c packets_queued); a0=$(c verdicts_allow)
expect_talk "carol's web session" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
[ "$(c packets_queued)" -eq $((q0 + 1)) ] && kt_ok "one queued session: packets_queued +1" ||
	kt_fail "packets_queued $q0 -> $(c packets_queued)"
[ "$(c verdicts_allow)" -eq $((a0 + 1)) ] && kt_ok "verdicts_allow +1" || kt_fail "verdicts_allow $a0 -> $(c verdicts_allow)"
k0=$(c sessions_kernel_allowed)
lab_exec "$LAB_DNS" ping -c 2 -i 0.2 -W 1 "$LAB_SRV4" >/dev/null
[ "$(c sessions_kernel_allowed)" -eq $((k0 + 1)) ] && kt_ok "a ping session decided by the kernel: sessions_kernel_allowed +1" ||
	kt_fail "sessions_kernel_allowed $k0 -> $(c sessions_kernel_allowed)"
[ "$(c sessions_active)" -ge 2 ] && kt_ok "sessions_active $(c sessions_active)" || kt_fail "sessions_active $(c sessions_active)"
wt=$(c worker_threads); tasks=$(ls "/proc/$KT_PID/task" | wc -l)
[ "$wt" -ge 2 ] && [ "$wt" -ge $((tasks - 2)) ] && [ "$wt" -le $((tasks + 2)) ] &&
	kt_ok "worker_threads $wt: the process's threads ($tasks)" || kt_fail "worker_threads $wt, tasks $tasks"

# the Prometheus endpoint (loopback of the gateway)
lab_exec "$LAB_GW" curl -s -D "$LAB_TMP/hdr" http://127.0.0.1:9109/metrics >"$LAB_TMP/metrics"
grep -qi '^content-type: text/plain; version=0.0.4' "$LAB_TMP/hdr" && kt_ok "metrics: Prometheus content type" ||
	kt_fail "metrics headers: $(cat "$LAB_TMP/hdr")"
python3 - "$LAB_TMP/metrics" "$(c packets_queued)" <<'PY' && kt_ok "metrics: the exposition parses, values agree" || kt_fail "metrics do not parse"
import re, sys
text = open(sys.argv[1]).read()
typed, seen = {}, set()
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.]+(?:e[+-]?[0-9]+)?|[+-]Inf|NaN)$')
for line in text.splitlines():
    if line.startswith('# TYPE '):
        _, _, name, t = line.split(' ', 3); typed[name] = t; continue
    if line.startswith('#') or not line: continue
    m = sample.match(line); assert m, line
    base = re.sub(r'(_bucket|_sum|_count)$', '', m.group(1))
    assert base in typed or m.group(1) in typed, 'untyped ' + line
    seen.add(m.group(1))
assert 'sluice_packets_queued_total' in seen
v = [l for l in text.splitlines() if l.startswith('sluice_packets_queued_total ')][0].split()[1]
assert int(float(v)) == int(sys.argv[2]), (v, sys.argv[2])
assert any(s.startswith('sluice_decision_latency_seconds_bucket') for s in seen)
PY

# a stalled directory: pending rises, available slots fall, the alert fires
ctl identity add "$LAB_CLI4B" dave >/dev/null
s0=$(c slots_available)
kill -STOP "$PEERS_LDAP_PID"
for i in 1 2 3 4 5; do
	lab_exec "$LAB_CLI" timeout 12 socat -T 1 /dev/null "TCP4:$LAB_SRV4:80,bind=$LAB_CLI4B,connect-timeout=11" >/dev/null 2>&1 &
done
# the decisions wait 8 s (the deadline) for the stalled directory: poll
# within that window (a loaded host starts the clients and ticks the
# counters and alerts late) rather than sleep a guess
for i in $(seq 60); do
	p=$(c decisions_pending); s1=$(c slots_available)
	[ "$p" -ge 3 ] && [ "$s1" -le $((s0 - 3)) ] && ctl alerts | grep -q "pending high.*firing" && break
	sleep 0.1
done
[ "$p" -ge 3 ] && kt_ok "stalled directory: decisions_pending $p" || kt_fail "decisions_pending $p"
[ "$s1" -le $((s0 - 3)) ] && kt_ok "slots_available $s0 -> $s1" || kt_fail "slots_available $s0 -> $s1"
ctl alerts | grep -q "pending high.*firing" && kt_ok "alert 'pending high' is firing" || kt_fail "alerts: $(ctl alerts)"
# the command runs on its own, after the alert fires: wait for its file
# to be written (bounded: 5 s)
for i in $(seq 50); do
	f=$(ls "$LAB_TMP"/alert.* 2>/dev/null | head -1)
	[ -n "$f" ] && grep -q "SLUICE_COUNTER=" "$f" && break
	sleep 0.1
done
[ -n "$f" ] && grep -q "SLUICE_ALERT=pending high" "$f" && grep -q "SLUICE_COUNTER=decisions_pending" "$f" &&
	kt_ok "its command ran with the details: $(tr '\n' ' ' <"$f")" || kt_fail "no alert command output"
n1=$(ls "$LAB_TMP"/alert.* | wc -l)
# still stalled after the 3 s re-arm: fires again (well before the deadline)
for i in $(seq 60); do
	n2=$(ls "$LAB_TMP"/alert.* | wc -l)
	[ "$n2" -gt "$n1" ] && break
	sleep 0.1
done
# the stalled decisions end at their deadline (on-deadline deny)
for i in $(seq 120); do [ "$(c decisions_pending)" -eq 0 ] && break; sleep 0.1; done
kill -CONT "$PEERS_LDAP_PID"
[ "$n2" -gt "$n1" ] && kt_ok "re-armed after 3 s and fired again ($n1 -> $n2 runs)" || kt_fail "no re-fire ($n1 -> $n2)"
[ "$(c decisions_timed_out)" -ge 1 ] && kt_ok "decisions_timed_out $(c decisions_timed_out)" || kt_fail "no timeout counted"

# the firewall log: one record per decision
sleep 1
w=$(c fwlog_written); dsum=$(c sessions_service_decided)
[ "$w" -eq "$dsum" ] && kt_ok "fwlog_written $w = decisions $dsum; dropped $(c fwlog_dropped)" ||
	kt_fail "fwlog_written $w, decisions $dsum"
python3 - "$LAB_TMP/fw.log" <<'PY' && kt_ok "the log has carol's allow and dave's deadline denials" || kt_fail "log records: $(head -5 $LAB_TMP/fw.log)"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert any(r["rule"] == "staff web" and r["user"] == "carol" and r["action"] == "allow"
           and r["client"].startswith("198.18.1.2:") and r["destination"] == "198.18.2.2:80"
           and r["source_network"] == "clients" and r["destination_network"] == "servers" for r in recs), recs
assert sum(1 for r in recs if r["reason"] == "deadline" and r["action"] == "deny"
           and r["client"].startswith("198.18.1.3:")) >= 3
assert all(r["time"].endswith("Z") for r in recs)
PY
mv "$LAB_TMP/fw.log" "$LAB_TMP/fw.log.1"
kill -USR1 "$KT_PID"; sleep 0.3
expect_talk "a session after the rotation" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
sleep 1
[ -s "$LAB_TMP/fw.log" ] && grep -q '"user":"carol"' "$LAB_TMP/fw.log" &&
	kt_ok "SIGUSR1: the log was reopened, new records in the new file" || kt_fail "no new log file"
out=$("$SLUICECTL" -s "$KT_SOCK" counters --watch --interval 200 --count 2 2>&1)
echo "$out" | grep -q packets_queued && kt_ok "counters --watch draws the table" || kt_fail "watch: $out"
ctl counters | grep -q "slots_available" && kt_ok "counters (text)" || kt_fail "counters text"
kt_done
