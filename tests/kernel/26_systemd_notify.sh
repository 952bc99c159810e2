#!/usr/bin/env bash
# 26_systemd_notify — sluiced as a Type=notify service: READY=1 reaches
# $NOTIFY_SOCKET only once the ruleset (nft table and xt chain) is in the
# kernel and the control socket answers; a start that fails exits non-zero
# without READY; on stop STOPPING=1. With stderr on journald's stream
# ($JOURNAL_STREAM), each line carries its syslog priority ("<N>") and no
# time stamp of its own.
. "$(dirname "$0")/lib.sh"
kt_up
recv=$LAB_TMP/notify.py
cat >"$recv" <<'PY'
import os, socket, subprocess, sys
path, ns, sock, out = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(15)
with open(out, "w") as f:
    try:
        while True:
            msg = s.recv(4096).decode()
            f.write("MSG " + msg.replace("\n", "|") + "\n"); f.flush()
            if "READY=1" in msg.split("\n"):
                t = subprocess.run(["ip", "netns", "exec", ns, "nft", "list", "table", "inet", "sluice"],
                                   capture_output=True).returncode == 0
                x = subprocess.run(["ip", "netns", "exec", ns, "iptables-nft", "-S", "SLUICE"],
                                   capture_output=True).returncode == 0
                c = os.path.exists(sock)
                f.write("AT-READY table=%d xt=%d control=%d\n" % (t, x, c)); f.flush()
            if "STOPPING=1" in msg.split("\n"):
                break
    except socket.timeout:
        f.write("TIMEOUT\n")
PY
notify_run() { # notify_run CONF: sluiced with NOTIFY_SOCKET and JOURNAL_STREAM
	local conf=$1
	rm -f "$LAB_TMP/notify.sock" "$LAB_TMP/notify.out" "$KT_SOCK"
	python3 "$recv" "$LAB_TMP/notify.sock" "$LAB_GW" "$KT_SOCK" "$LAB_TMP/notify.out" &
	lab_register_pid $!
	RECV=$!
	local i
	for i in $(seq 50); do [ -S "$LAB_TMP/notify.sock" ] && break; sleep 0.1; done
	: >"$LAB_TMP/journal.log"
	local js
	js=$(stat -c '%d:%i' "$LAB_TMP/journal.log")
	LAB_SPAWN_LOG=$LAB_TMP/journal.log lab_spawn "$LAB_GW" env NOTIFY_SOCKET="$LAB_TMP/notify.sock" \
		JOURNAL_STREAM="$js" "$SLUICED" -f -c "$conf" -s "$KT_SOCK" >/dev/null
	KT_PID=$(tail -n1 "$LAB_TMP/pids")
}

# a start that fails: exit 1, no READY
bad=$LAB_TMP/bad.conf
echo 'rule "x" allow nosuch from any to any' >"$bad"
notify_run "$bad"
for i in $(seq 50); do kill -0 "$KT_PID" 2>/dev/null || break; sleep 0.1; done
wait "$KT_PID" 2>/dev/null; rc=$?
[ "$rc" -ne 0 ] && kt_ok "a failed start exits non-zero ($rc)" || kt_fail "failed start exit $rc"
kill "$RECV" 2>/dev/null; sleep 0.2
grep -q "READY=1" "$LAB_TMP/notify.out" 2>/dev/null && kt_fail "READY=1 sent by a failed start" ||
	kt_ok "a failed start sends no READY=1"
cp "$LAB_TMP/journal.log" "$LAB_TMP/journal-bad.log"

# a good start
notify_run "$KT_ROOT/examples/lab.conf"
for i in $(seq 100); do grep -q AT-READY "$LAB_TMP/notify.out" 2>/dev/null && break; sleep 0.1; done
grep -q "AT-READY table=1 xt=1 control=1" "$LAB_TMP/notify.out" &&
	kt_ok "READY=1 only once table, xt chain and control socket are in place" ||
	kt_fail "at READY: $(cat "$LAB_TMP/notify.out" 2>&1)"
grep "^MSG" "$LAB_TMP/notify.out" | grep -q "STATUS=filtering: .*, 9 rules" &&
	kt_ok "STATUS: $(grep -o 'STATUS=[^|]*' "$LAB_TMP/notify.out")" || kt_fail "no STATUS"
[ "$(grep -c 'READY=1' "$LAB_TMP/notify.out")" -eq 1 ] && kt_ok "READY=1 sent once" || kt_fail "READY=1 count"
ctl status >/dev/null && kt_ok "control answers" || kt_fail "control"
kt_stop
for i in $(seq 50); do grep -q "STOPPING=1" "$LAB_TMP/notify.out" && break; sleep 0.1; done
grep -q "STOPPING=1" "$LAB_TMP/notify.out" && kt_ok "STOPPING=1 on stop" || kt_fail "no STOPPING=1"

# journald: priorities, no second time stamp
j=$LAB_TMP/journal.log
grep -q '^<6>sluiced: started: ' "$j" && kt_ok "info lines carry <6>" || kt_fail "no <6> start line: $(head -3 "$j")"
grep -q '^<4>sluiced: queue { on-exit remove }' "$j" && kt_ok "warnings carry <4>" ||
	kt_fail "no <4> warning line: $(cat "$j")"
grep -q '^<5>sluiced: note: queue on-exit remove' "$j" && kt_ok "the policy's notes carry <5>" ||
	kt_fail "no <5> note line: $(cat "$j")"
grep -q '^<3>sluiced: .*bad.conf:1:[0-9]*: error: ' "$LAB_TMP/journal-bad.log" &&
	grep -q '^<3>sluiced: .*bad.conf: invalid: 1 errors' "$LAB_TMP/journal-bad.log" &&
	kt_ok "a rejected policy's errors carry <3>" || kt_fail "failed start's lines: $(cat "$LAB_TMP/journal-bad.log")"
grep -v '^<[0-7]>sluiced: ' "$j" | grep -q . && kt_fail "lines without a priority prefix: $(grep -v '^<[0-7]>' "$j" | head -3)" ||
	kt_ok "every line starts with its priority"
grep -q '^<[0-7]>sluiced: [0-9][0-9]:[0-9][0-9]:' "$j" && kt_fail "a time stamp in a journal line" ||
	kt_ok "no time stamp of sluiced's own"
kt_done
