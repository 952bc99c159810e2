#!/usr/bin/env bash
# 62_reload_log_race — reloads while the queue workers record: every reload
# opens the firewall log again and closes the old one, while the workers
# write each decided session to it from their own threads. The old log is
# closed only once no worker can still be writing to it (observe.c,
# fwlog_swap: each worker's lock taken and given back). Thousands of
# decided sessions a second on two queues and 60 reloads meanwhile:
# sluiced stays up, answers, and the log goes on, every line whole (the
# new log is held until the old one is closed: fwlog_hold); a log that
# cannot be opened leaves the running one going. A stress test: the race
# it guards against (a worker preempted between reading the log's pointer
# and writing its record while the old log is freed) was found by reading
# the code and is rarely hit; run with a sanitizer's build
# (`bash tests/kernel/62_reload_log_race.sh build-asan`) a hit ends sluiced.
. "$(dirname "$0")/lib.sh"
kt_up
conf=$(conf_with 'protocol bench tcp 9100' \
	'rule "staff bench" allow bench from clients to servers users staff log' \
	'queue { count 2 fail closed udp-timeout 60s revoke off on-exit remove }' \
	'decisions { slots 4096 reserve-local 10% per-source 4096 deadline 2s }' \
	'flood { tcp-connect-rate 0 tcp-concurrent 0 tcp-half-open 0 udp-rate 0 }' \
	"log { format json file \"$LAB_TMP/fw.log\" }")
kt_start "$conf" || kt_done
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
lab_spawn "$LAB_SRV" "$KT_BUILD/bench/connrate" server "$LAB_SRV4" 9100 >/dev/null
sleep 0.5
LAB_SPAWN_LOG=$LAB_TMP/rate.out lab_spawn "$LAB_CLI" "$KT_BUILD/bench/connrate" client \
	"$LAB_SRV4" 9100 --parallel 4 --rate 4000 --seconds 20 --conns 200000 >/dev/null
cpid=$(tail -n1 "$LAB_TMP/pids")
sleep 1
n=0 bad=0
for i in $(seq 60); do
	kill -0 "$cpid" 2>/dev/null || break
	if ctl reload >/dev/null 2>&1; then n=$((n + 1)); else bad=$((bad + 1)); fi
	kill -0 "$KT_PID" 2>/dev/null || break
	sleep 0.2 # spread over the client's 20 s
done
kill -0 "$KT_PID" 2>/dev/null && kt_ok "sluiced is up after $n reloads under load ($bad failed)" || {
	kt_fail "sluiced died during the reloads ($n done)"
	tail -30 "$LAB_TMP/sluiced.log" >&2
	kt_done
}
[ "$bad" = 0 ] && [ "$n" -ge 20 ] && kt_ok "$n reloads went through while the workers recorded" ||
	kt_fail "reloads: $n went through, $bad failed (want >= 20 and none failed)"
# a log that cannot be opened (its file a folder): the reply says so and
# the running log goes on
mkdir -p "$LAB_TMP/logdir"
cp "$conf" "$conf.base"
echo "log { format json file \"$LAB_TMP/logdir\" }" >>"$conf"
r=$(ctl reload 2>&1)
# sessions of its own to log (the client's load may have ended by now)
l0=$(wc -l <"$LAB_TMP/fw.log")
for i in $(seq 50); do
	lab_exec "$LAB_CLI" timeout 2 bash -c "exec 3<>/dev/tcp/$LAB_SRV4/9100" 2>/dev/null
	l1=$(wc -l <"$LAB_TMP/fw.log")
	[ "$l1" -gt "$l0" ] && break
	sleep 0.1
done
echo "$r" | grep -q "^warning: firewall log $LAB_TMP/logdir: not opened (the running log goes on): Is a directory$" &&
	[ "$l1" -gt "$l0" ] && kt_ok "a log file that is a folder: the reply warns, the running log goes on ($l0 -> $l1 lines)" ||
	kt_fail "a log file that is a folder: lines $l0 -> $l1; reply: $r"
cp "$conf.base" "$conf"
ctl reload >/dev/null 2>&1 || kt_fail "reload back failed"
for i in $(seq 250); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
cat "$LAB_TMP/rate.out" | sed "s/^/$KT_NAME: /"
conns=$(awk '/^conns/ { print $2 }' "$LAB_TMP/rate.out")
recs=$(grep -c '"rule":"staff bench"' "$LAB_TMP/fw.log")
[ "${conns:-0}" -ge 1000 ] && [ "$recs" -ge 1000 ] &&
	kt_ok "$conns sessions decided, $recs of them in the firewall log across the reloads" ||
	kt_fail "sessions ${conns:-none}, log records $recs (want >= 1000 each)"
# two writers never appended to the file at once: every line is whole
bad=$(python3 -c 'import json, sys
n = 0
for line in open(sys.argv[1], encoding="utf-8", errors="strict"):
    try:
        json.loads(line)
    except ValueError:
        n += 1
print(n)' "$LAB_TMP/fw.log")
[ "$bad" = 0 ] && kt_ok "every line of the firewall log is one whole JSON record" ||
	kt_fail "$bad lines of the firewall log are not JSON (cut by another writer?)"
expect_talk "a session after the reloads is decided" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80 "$LAB_CLI4"
kt_stop || kt_fail "sluiced did not stop"
grep -q "ERROR: AddressSanitizer" "$LAB_TMP/sluiced.log" && kt_fail "the sanitizer: $(grep -m3 -A3 'ERROR: AddressSanitizer' "$LAB_TMP/sluiced.log")"
kt_done
