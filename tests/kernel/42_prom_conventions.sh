#!/usr/bin/env bash
# 42_prom_conventions — a live sluiced's /metrics passes
# `promtool check metrics`; verdicts, deciders and rules are labels of one
# family; a reload keeps every counter (Prometheus `_total` samples and
# `sluicectl counters` counters are >= before, the firewall log's and the
# kernel rules' included); the decision latency is measured (_sum > 0),
# its finite buckets reach the deadline (the lab's, a changed one);
# worker_threads counts the process's threads; build info, generation,
# reloads and the ruleset's presence are shown.
. "$(dirname "$0")/lib.sh"
command -v promtool >/dev/null || { echo "$KT_NAME: SKIP: promtool missing (scripts/setup.sh installs prometheus)"; exit 0; }
kt_up
conf=$(conf_with 'metrics { listen 127.0.0.1:9109 }' \
	"log { format ecs file \"$LAB_TMP/fw.log\" }")
kt_start "$conf" || kt_done
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
scrape() { lab_exec "$LAB_GW" curl -s --max-time 5 http://127.0.0.1:9109/metrics >"$1"; }

expect_talk "carol's web session" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
lab_exec "$LAB_DNS" ping -c 2 -i 0.2 -W 1 "$LAB_SRV4" >/dev/null
scrape "$LAB_TMP/m1"
out=$(promtool check metrics <"$LAB_TMP/m1" 2>&1) && kt_ok "promtool check metrics: clean" ||
	kt_fail "promtool check metrics: $out"
grep -q '^sluice_verdicts_total{verdict="allow"} [1-9]' "$LAB_TMP/m1" && kt_ok "verdicts by label" ||
	kt_fail "no sluice_verdicts_total{verdict=\"allow\"}: $(grep verdicts "$LAB_TMP/m1")"
grep -q "^sluice_rule_sessions_total{rule=\"ping\",verdict=\"allow\"} [1-9]" "$LAB_TMP/m1" &&
	kt_ok "the kernel's ping session counted under its rule" ||
	kt_fail "per rule: $(grep rule_sessions "$LAB_TMP/m1")"
grep -q '^sluice_sessions_decided_total{decider="kernel",verdict="allow"} [1-9]' "$LAB_TMP/m1" &&
	kt_ok "sessions by decider" || kt_fail "deciders: $(grep sessions_decided "$LAB_TMP/m1")"
sum=$(awk '$1 == "sluice_decision_latency_seconds_sum" { print $2 }' "$LAB_TMP/m1")
python3 -c "import sys; sys.exit(0 if float('$sum') > 0 else 1)" &&
	kt_ok "decision latency measured: _sum $sum s" || kt_fail "latency _sum '$sum'"
tasks=$(ls "/proc/$KT_PID/task" | wc -l)
wt=$(awk '$1 == "sluice_worker_threads" { print $2 }' "$LAB_TMP/m1")
[ "$tasks" -ge 2 ] && [ "$wt" -ge 2 ] && [ "$wt" -le $((tasks + 2)) ] && [ "$wt" -ge $((tasks - 2)) ] &&
	kt_ok "worker_threads $wt (the process has $tasks)" || kt_fail "worker_threads $wt, tasks $tasks"
for m in 'sluice_build_info{version=' 'sluice_policy_generation 1' 'sluice_ruleset_present 1' \
	'sluice_reloads_total{result="ok"} 0' 'process_cpu_seconds_total ' 'process_max_fds ' \
	'process_start_time_seconds ' 'process_open_fds ' 'sluice_decisions_refused_total{reason="slots_full"} '; do
	grep -qF "$m" "$LAB_TMP/m1" && kt_ok "shows $m" || kt_fail "missing $m"
done
python3 - "$LAB_TMP/m1" "$KT_ROOT/contrib/grafana/sluice.json" "$KT_ROOT/contrib/prometheus/sluice-alerts.yml" <<'PY' && kt_ok "every metric the dashboard and the alert rules use is served" || kt_fail "contrib names a metric /metrics lacks"
import re, sys
typed = set(re.findall(r"^# TYPE (\S+) ", open(sys.argv[1]).read(), re.M))
used = set()
for f in sys.argv[2:]:
    used |= set(re.findall(r"\b((?:sluice|process)_[a-z_]+)", open(f).read()))
used = {re.sub(r"_(bucket|sum|count)$", "", u) if re.sub(r"_(bucket|sum|count)$", "", u) in typed else u for u in used}
missing = sorted(u for u in used if u not in typed and u not in ("sluice_alert", "sluice_condition"))
print(len(used), "names used;", "missing:", missing)
sys.exit(1 if missing else 0)
PY
ctl counters --json >"$LAB_TMP/c1"
# the firewall log (format ecs): not world-readable, ECS names, strict JSON
[ "$(stat -c %a "$LAB_TMP/fw.log")" = 640 ] && kt_ok "firewall log created 0640" ||
	kt_fail "firewall log mode $(stat -c %a "$LAB_TMP/fw.log")"
python3 - "$LAB_TMP/fw.log" "$LAB_CLI4" "$LAB_SRV4" <<'PY' && kt_ok "ECS log: carol's session with source.ip, destination.port, event.action, rule.name, user.name, a community_id" || kt_fail "ECS log: $(head -c 600 "$LAB_TMP/fw.log")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
r = [r for r in recs if r.get("user", {}).get("name") == "carol"][0]
assert r["source"]["ip"] == sys.argv[2] and r["destination"]["ip"] == sys.argv[3], r
assert r["destination"]["port"] == 80 and r["network"]["transport"] == "tcp", r
assert r["event"]["action"] == "allow" and r["rule"]["name"], r
assert r["network"]["community_id"].startswith("1:"), r
PY

# a reload (same policy) replaces the kernel table and reopens the log
ctl reload >/dev/null || kt_fail "reload failed"
scrape "$LAB_TMP/m2"
ctl counters --json >"$LAB_TMP/c2"
python3 - "$LAB_TMP/m1" "$LAB_TMP/m2" "$LAB_TMP/c1" "$LAB_TMP/c2" <<'PY' && kt_ok "a reload keeps every counter (Prometheus and sluicectl counters)" || kt_fail "a counter went back on reload"
import json, re, sys
def samples(path):
    typed, out = {}, {}
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("# TYPE "):
            _, _, n, t = line.split(" ", 3); typed[n] = t; continue
        if not line or line.startswith("#"): continue
        key, v = line.rsplit(" ", 1)
        name = re.sub(r"\{.*", "", key)
        if typed.get(name) == "counter" or name.endswith("_count") or "_bucket" in name:
            out[key] = float(v)
    return out
a, b = samples(sys.argv[1]), samples(sys.argv[2])
bad = [(k, a[k], b.get(k)) for k in a if b.get(k, -1) < a[k]]
ca = json.load(open(sys.argv[3]))["counters"]; cb = json.load(open(sys.argv[4]))["counters"]
import subprocess
kinds = {}
bad += [(k, ca[k], cb.get(k)) for k in ca if isinstance(ca[k], (int, float))
        and k in ("fwlog_written", "sessions_kernel_allowed", "sessions_kernel_denied",
                  "verdicts_allow", "packets_queued", "verifier_checks")
        and cb.get(k, -1) < ca[k]]
print(len(a), "counter samples compared")
assert a.get('sluice_fwlog_records_total{result="written"}', 0) > 0, "nothing logged"
if bad:
    print("went back:", bad); sys.exit(1)
PY
grep -qF 'sluice_reloads_total{result="ok"} 1' "$LAB_TMP/m2" && grep -qF 'sluice_policy_generation 2' "$LAB_TMP/m2" &&
	kt_ok "reload counted, generation 2" || kt_fail "reload facts: $(grep -E 'reloads|generation' "$LAB_TMP/m2")"
t=$(awk '$1 == "sluice_last_reload_success_timestamp_seconds" { print $2 }' "$LAB_TMP/m2")
python3 -c "import time,sys; sys.exit(0 if abs(time.time() - float('$t')) < 120 else 1)" &&
	kt_ok "last successful reload time $t" || kt_fail "last reload time '$t'"
# a kernel session after the reload adds to the kept count
lab_exec "$LAB_DNS" ping -c 1 -W 1 "$LAB_SRV4" >/dev/null
scrape "$LAB_TMP/m3"
r1=$(awk -F' ' '/^sluice_rule_sessions_total\{rule="ping",verdict="allow"\}/ { print $2 }' "$LAB_TMP/m1")
r3=$(awk -F' ' '/^sluice_rule_sessions_total\{rule="ping",verdict="allow"\}/ { print $2 }' "$LAB_TMP/m3")
# exactly one session each: a rule in several chains, or a reload, never
# counts one twice
[ "$r1" = 1 ] && [ "$r3" = 2 ] && kt_ok "rule ping: $r1 -> $r3 across the reload" ||
	kt_fail "rule ping: '$r1' -> '$r3'"
out=$(promtool check metrics <"$LAB_TMP/m3" 2>&1) && kt_ok "promtool clean after the reload" || kt_fail "promtool: $out"
# the latency histogram's finite buckets reach the deadline: the lab's
# (2 s) and a changed one (a reload to 45 s)
le_top() { sed -n 's/^sluice_decision_latency_seconds_bucket{le="\([0-9.e+-]*\)"}.*/\1/p' "$1" | sort -g | tail -1; }
ge() { python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)" "$1" "$2"; }
t=$(le_top "$LAB_TMP/m3")
ge "${t:-0}" 2 && kt_ok "largest finite latency bucket $t s >= deadline 2 s" || kt_fail "largest finite bucket '$t', deadline 2 s"
sed -i 's/deadline 2s/deadline 45s/' "$conf"
grep -q 'deadline 45s' "$conf" || kt_fail "the lab policy's deadline is not 2s any more"
ctl reload >/dev/null || kt_fail "reload to deadline 45s failed"
scrape "$LAB_TMP/m4"
t=$(le_top "$LAB_TMP/m4")
ge "${t:-0}" 45 && kt_ok "after a reload to deadline 45 s: largest finite bucket $t s" ||
	kt_fail "deadline 45 s: largest finite bucket '$t'"
kt_done
