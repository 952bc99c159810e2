#!/usr/bin/env bash
# 66_single_instance — one sluiced per network namespace (sluiced(8),
# SINGLE INSTANCE). A second sluiced started in the namespace where one
# runs (another policy, another socket, another queue number) is refused,
# exit 1, naming the running one, and touches nothing in the kernel: the
# first one's table is the same table (same handle), nothing is put back,
# and what the first's policy denies stays denied. `--remove-ruleset` with
# another socket is refused too. A sluiced in another network namespace
# starts as before, and once the first has stopped (or was killed) a new
# start works. A control socket folder another user owns, or others may
# write without the sticky bit, fails the start. A queue another program
# holds fails the start with a message that says so.
. "$(dirname "$0")/lib.sh"
kt_up
conf=$LAB_TMP/a.conf
cat >"$conf" <<'CONF'
network clients { 198.18.1.0/24 2001:db8:1::/64 }
network servers { 198.18.2.0/24 2001:db8:2::/64 }
protocol web tcp 80
protocol ssh tcp 22
rule "admin ssh" allow ssh from clients to localhost
rule "web"       allow web from clients to servers
queue { num 0 on-exit remove }
CONF
conf_b=$LAB_TMP/b.conf
cat >"$conf_b" <<'CONF'
network clients { 198.18.1.0/24 2001:db8:1::/64 }
network servers { 198.18.2.0/24 2001:db8:2::/64 }
protocol alt tcp 8080
protocol ssh tcp 22
rule "admin ssh" allow ssh from clients to localhost
rule "alt"       allow alt from clients to servers
queue { num 10 on-exit remove }
CONF
table_handle() { lab_exec "$1" nft -a list table inet sluice 2>/dev/null | awk 'NR == 1 { print $NF }'; }

kt_start "$conf" || kt_done
h0=$(table_handle "$LAB_GW")
expect_talk "the first sluiced denies tcp 8080" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 8080

# 1. a second one in the same namespace: refused, exit 1, nothing changed
out=$(timeout 20 ip netns exec "$LAB_GW" "$SLUICED" -f -c "$conf_b" -s "$LAB_TMP/b.sock" 2>&1); rc=$?
[ "$rc" -eq 1 ] && kt_ok "a second sluiced in the same namespace exits 1" ||
	kt_fail "a second sluiced in the same namespace: rc $rc: $out"
case $out in
*"another sluiced is running in this network namespace (pid $KT_PID, policy $conf, control $KT_SOCK)"*)
	kt_ok "the refusal names the running one: $out" ;;
*) kt_fail "the refusal does not name the running one (pid $KT_PID): $out" ;;
esac
h1=$(table_handle "$LAB_GW")
[ -n "$h0" ] && [ "$h0" = "$h1" ] && kt_ok "the first one's table is untouched (handle $h0)" ||
	kt_fail "table inet sluice was replaced: handle $h0 → $h1"
sleep 1.5 # two ruleset checks of the first one
[ "$(counter ruleset_restored)" = 0 ] && ! grep -q 'put back' "$LAB_TMP/sluiced.log" &&
	kt_ok "the first one repaired nothing" || kt_fail "the first one repaired its table: $(grep 'put back' "$LAB_TMP/sluiced.log" | tail -1)"
expect_talk "tcp 8080 stays denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 8080
expect_talk "tcp 80 still allowed" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
[ -S "$LAB_TMP/b.sock" ] && kt_fail "the refused one created its socket" ||
	kt_ok "the refused one created no control socket"

# 2. --remove-ruleset with another socket: refused while one runs here
out=$(lab_exec "$LAB_GW" "$SLUICED" --remove-ruleset -s "$LAB_TMP/b.sock" 2>&1); rc=$?
[ "$rc" -eq 1 ] && [ "$(table_handle "$LAB_GW")" = "$h0" ] &&
	kt_ok "--remove-ruleset with another socket refused: $out" ||
	kt_fail "--remove-ruleset with another socket: rc $rc, $out"

# 3. another network namespace: a sluiced starts there as before
LAB_SPAWN_LOG=$LAB_TMP/dir.log lab_spawn "$LAB_DIR" "$SLUICED" -f -c "$conf" -s "$LAB_TMP/dir.sock" >/dev/null
pid_dir=$(tail -n1 "$LAB_TMP/pids")
up=
for i in $(seq 150); do
	"$SLUICECTL" -s "$LAB_TMP/dir.sock" status >/dev/null 2>&1 && { up=1; break; }
	kill -0 "$pid_dir" 2>/dev/null || break
	sleep 0.1
done
[ -n "$up" ] && kt_ok "a sluiced in another namespace starts while one runs here" ||
	kt_fail "a sluiced in another namespace did not start: $(tail -3 "$LAB_TMP/dir.log")"
kt_stop "$pid_dir" || kt_fail "the other namespace's sluiced did not stop"

# 4. after a stop, and after kill -9, a new start works (no stale lock)
kt_stop || kt_fail "the first sluiced did not stop"
kt_start "$conf" && kt_ok "a start after a stop works"
kill -9 "$KT_PID"
kt_start "$conf" && kt_ok "a start right after kill -9 works (no stale lock)"
kt_stop

# 4b. an unprivileged process takes the abstract name @sluiced first (any
# user may: abstract names have no owner): the start goes on (the lock in
# /run/sluice decides, root's), says so, and a second start is still
# refused without repeating what the squatter answers (escapes, a forged
# "pid 1")
SQ=$(lab_spawn "$LAB_GW" setpriv --reuid nobody --regid nogroup --clear-groups timeout 60 \
	/usr/bin/python3 -c 'import socket, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind("\0sluiced"); s.listen(8)
print("held", flush=True)
end = time.time() + 60
while time.time() < end: # every asker gets a forged answer, escapes in it
	c, _ = s.accept(); c.sendall(b"pid 1, policy /etc/sluice/sluice.conf \x1b[2J\x1b[32mall clear\n"); c.close()')
for i in $(seq 50); do lab_exec "$LAB_GW" ss -xl | grep -q '@sluiced ' && break; sleep 0.1; done
lab_exec "$LAB_GW" ss -xl | grep -q '@sluiced ' || kt_fail "test setup: the squatter holds no @sluiced"
kt_start "$conf" && kt_ok "a start while user nobody holds @sluiced works"
grep -q 'another process holds the abstract name @sluiced' "$LAB_TMP/sluiced.log" &&
	kt_ok "and says so: $(grep -m1 -o 'single-instance guard: another process holds[^(]*' "$LAB_TMP/sluiced.log")" ||
	kt_fail "no 'another process holds the abstract name' line"
out=$(timeout 20 ip netns exec "$LAB_GW" "$SLUICED" -f -c "$conf_b" -s "$LAB_TMP/b2.sock" 2>&1); rc=$?
[ "$rc" -eq 1 ] && grep -q 'another sluiced is running' <<<"$out" &&
	kt_ok "a second sluiced is still refused: $(grep -o 'another sluiced is running[^:]*' <<<"$out")" ||
	kt_fail "a second sluiced while the name is squatted: rc $rc: $out"
# what the squatter answers is no sluiced's word, and no escape reaches
# the terminal
! grep -q "$(printf '\033')" <<<"$out" && ! grep -q 'all clear' <<<"$out" &&
	grep -q 'held by uid [0-9]*, not a sluiced' <<<"$out" &&
	kt_ok "the squatter's forged answer is not shown: $(grep -o 'pid unknown[^)]*' <<<"$out")" ||
	kt_fail "the squatter's answer shown: $(cat -v <<<"$out")"
kt_stop
kill "$SQ" 2>/dev/null

# 4c. the control socket's folder (-s): one another user owns, or others
# may write without the sticky bit, is refused (another user could put
# its own listener under the name root's sluicectl connects to); a
# sticky folder such as /tmp is fine
for m in nobody:0755 root:0775; do
	d=$LAB_TMP/sockdir-${m%%:*}-${m#*:}
	install -d -m "${m#*:}" -o "${m%%:*}" "$d"
	out=$(timeout 20 ip netns exec "$LAB_GW" "$SLUICED" -f -c "$conf" -s "$d/ctl.sock" 2>&1); rc=$?
	[ "$rc" -ne 0 ] && grep -q "control socket folder $d: \(owned by another user\|writable by others, not sticky\)" <<<"$out" &&
		kt_ok "a socket folder of $m is refused: $(grep -m1 -o 'control socket folder[^(]*' <<<"$out")" ||
		kt_fail "socket folder of $m: rc $rc: $(tr "\n" " " <<<"$out")"
	[ -S "$d/ctl.sock" ] && kt_fail "a socket was left in the refused folder $d"
	lab_exec "$LAB_GW" "$SLUICED" --remove-ruleset >/dev/null 2>&1
done
d=$LAB_TMP/sockdir-sticky; install -d -m 1777 "$d"
KT_SOCK=$d/ctl.sock
kt_start "$conf" && kt_ok "a sticky folder (as /tmp) is fine"
kt_stop

# 5. a queue another program holds (as an IPS would): the start fails,
# saying the queue is probably bound by another process, and installs
# nothing
lab_spawn "$LAB_GW" timeout 60 python3 "$KT_ROOT/tests/kernel/nfq_hold.py" 0 "$LAB_TMP/nfq.ready" 50 >/dev/null
for i in $(seq 50); do [ -s "$LAB_TMP/nfq.ready" ] && break; sleep 0.1; done
[ -s "$LAB_TMP/nfq.ready" ] || kt_fail "test setup: nfq_hold.py did not bind queue 0: $(tail -2 "$LAB_TMP/spawn.log")"
out=$(timeout 20 ip netns exec "$LAB_GW" "$SLUICED" -f -c "$conf" -s "$LAB_TMP/q.sock" 2>&1); rc=$?
[ "$rc" -eq 1 ] && grep -q 'queue 0: Operation not permitted: probably bound by another process' <<<"$out" &&
	kt_ok "a queue held by another program: $(grep -m1 'queue 0' <<<"$out")" ||
	kt_fail "a queue held by another program: rc $rc: $out"
lab_exec "$LAB_GW" nft list table inet sluice >/dev/null 2>&1 &&
	kt_fail "table inet sluice installed by a start that could not bind its queue" ||
	kt_ok "that start installed no table"
kt_done
