#!/usr/bin/env bash
# 41_listener_fds — no listener can take the descriptors sluiced needs
# (the case metrics-fd-exhaustion): sluiced runs with 128 descriptors;
#
#  * 300 connections held on the metrics port: sluiced keeps at most
#    max-connections of them (its descriptor count stays low), the control
#    socket answers, sluiced lives, its ruleset stays and it still decides;
#  * once the holders leave, GET /metrics answers again;
#  * a slow client (half a request head, then silence) is cut after the
#    metrics timeout; a request head over 8 KiB is answered 431;
#  * idle control clients beyond control max-clients are refused and cut
#    after the control timeout, then the control socket answers again;
#    while read-only clients (nobody, group users) try to hold every slot,
#    root's `status` and `reload` still get in (the admin reserve), and so
#    does an operator (daemon, group operator): one uid holds at most a
#    quarter of the slots, read-only ones together three quarters.
# usage: 41_listener_fds.sh BUILD_DIR
. "$(dirname "$0")/lib.sh" "$@"
kt_up
MADDR=$LAB_GW_CLI4:9109
CONF=$(conf_with 'protocol prom tcp 9109' \
	'rule "monitoring" allow prom from clients to localhost' \
	"metrics { listen \"$MADDR\" max-connections 8 timeout 2s }" \
	'control { max-clients 4 timeout 2s socket-mode 0666 read-only-groups users operator-groups operator }' \
	'# 300 connections from one source test the listener'"'"'s own caps: the' \
	'# flood limits (37_flood), which would stop them first, are off' \
	'flood { tcp-connect-rate 0 udp-rate 0 tcp-concurrent 0 }')
# kt_start with a descriptor limit: the same, through prlimit; the socket
# in a folder the read-only clients (nobody) can reach
mkdir -m 755 "$LAB_TMP/ctl"
KT_SOCK=$LAB_TMP/ctl/sluiced.sock
rm -f "$KT_SOCK"
LAB_SPAWN_LOG=$LAB_TMP/sluiced.log lab_spawn "$LAB_GW" prlimit --nofile=128:128 \
	"$SLUICED" -f -c "$CONF" -s "$KT_SOCK" >/dev/null
KT_PID=$(tail -n1 "$LAB_TMP/pids")
for i in $(seq 50); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done
ctl status >/dev/null 2>&1 || { kt_fail "sluiced did not start"; kt_done; }
fds() { ls "/proc/$KT_PID/fd" 2>/dev/null | wc -l; }
get_metrics() { lab_exec "$LAB_CLI" curl -s -m 3 -o /dev/null -w '%{http_code}' "http://$MADDR/metrics"; }
[ "$(get_metrics)" = 200 ] && kt_ok "GET /metrics: 200" || kt_fail "GET /metrics before: $(get_metrics)"
base=$(fds)

# hold N connections for S seconds (optionally sending a partial head);
# prints how many connected
holder() {
	lab_exec "$LAB_CLI" python3 - "$LAB_GW_CLI4" 9109 "$1" "$2" "${3:-}" <<'PY'
import socket, sys, time
addr, port, n, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
send = sys.argv[5].encode()
socks = []
for i in range(min(n, 1000)):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect((addr, port))
        if send:
            s.send(send)
        socks.append(s)
    except OSError:
        s.close()
print(len(socks), flush=True)
time.sleep(secs)
for s in socks:
    s.close()
PY
}
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
holder 300 6 >"$LAB_TMP/holder.out" &
HOLDER=$!
lab_register_pid "$HOLDER"
during=0 # the most descriptors seen while held (sampled for 3 s)
for i in $(seq 15); do n=$(fds); [ "$n" -gt "$during" ] && during=$n; sleep 0.2; done
st=$(timeout 5 "$SLUICECTL" -s "$KT_SOCK" status >/dev/null 2>&1 && echo answers || echo silent)
[ "$st" = answers ] && kt_ok "300 metrics connections held: control socket answers" ||
	kt_fail "control socket silent while the metrics port is held"
# metrics connections kept: at most max-connections (8) over the start
[ "$during" -gt "$base" ] && [ "$during" -le $((base + 8 + 4)) ] &&
	kt_ok "descriptors bounded: $base at rest, at most $during held" ||
	kt_fail "descriptors grew from $base to $during"
expect_talk "sessions still decided (staff web) while held" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
wait "$HOLDER"
echo "   holder connected: $(cat "$LAB_TMP/holder.out")"
kill -0 "$KT_PID" 2>/dev/null && kt_ok "sluiced alive" || kt_fail "sluiced died"
[ "$(lab_exec "$LAB_GW" nft list tables | grep -c 'inet sluice')" = 1 ] && kt_ok "ruleset in place" ||
	kt_fail "ruleset gone"
ok=0
for i in $(seq 30); do [ "$(get_metrics)" = 200 ] && { ok=1; break; }; sleep 0.2; done
[ $ok = 1 ] && kt_ok "holders gone: GET /metrics 200 again" || kt_fail "GET /metrics after the holders: $(get_metrics)"
grep -q "metrics: refused" "$LAB_TMP/sluiced.log" && kt_ok "refusals logged" || kt_fail "no refusal in the log"
refused=$(ctl counters --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"]["connections_refused"])')
[ "$refused" -ge 200 ] && kt_ok "connections_refused counts them: $refused" || kt_fail "connections_refused $refused"

# a slow client is cut after the timeout (2 s); generous bound: 8 s
cut=$(lab_exec "$LAB_CLI" python3 - "$LAB_GW_CLI4" <<'PY'
import socket, sys, time
s = socket.create_connection((sys.argv[1], 9109), timeout=10)
s.send(b"GET /metr")
t = time.monotonic()
try:
    b = s.recv(100)
except OSError:
    b = b""
print("closed" if not b and time.monotonic() - t < 8 else "open")
PY
)
[ "$cut" = closed ] && kt_ok "half a request head: cut after the timeout" || kt_fail "slow client: $cut"
big=$(lab_exec "$LAB_CLI" python3 - "$LAB_GW_CLI4" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], 9109), timeout=10)
s.sendall(b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n")
print(s.recv(100).split(b"\r\n")[0].decode())
PY
)
case $big in *431*) kt_ok "9 KB head: $big" ;; *) kt_fail "9 KB head: $big" ;; esac
code=$(lab_exec "$LAB_CLI" curl -s -m 3 -o /dev/null -w '%{http_code}' -X POST "http://$MADDR/metrics")
[ "$code" = 405 ] && kt_ok "POST: 405" || kt_fail "POST: $code"

# idle control clients: max-clients 4, timeout 2 s; read-only ones (nobody
# in group users), so root's reserve is left
setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" \
	--groups="$(getent group users | cut -d: -f3)" \
	/usr/bin/python3 - "$KT_SOCK" >"$LAB_TMP/idle.out" <<'PY' &
import socket, sys, time
socks = []
for i in range(12):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    socks.append(s)
time.sleep(1)
refused = 0
for s in socks:
    s.settimeout(6)
    try:
        if s.recv(200):
            refused += 1
    except OSError:
        pass
print(refused, flush=True)
PY
IDLE=$!
lab_register_pid "$IDLE"
sleep 0.5
cp "$SLUICECTL" "$LAB_TMP/ctl/sluicectl" && chmod 755 "$LAB_TMP/ctl/sluicectl"
setpriv --reuid="$(id -u daemon)" --regid="$(id -g daemon)" \
	--groups="$(getent group operator | cut -d: -f3)" \
	"$LAB_TMP/ctl/sluicectl" -s "$KT_SOCK" status >/dev/null 2>"$LAB_TMP/op.err" &&
	kt_ok "an operator gets in while one read-only user tries every slot" ||
	kt_fail "the operator refused while one read-only user hogs: $(cat "$LAB_TMP/op.err")"
ctl status >/dev/null 2>"$LAB_TMP/admin.err" &&
	kt_ok "root's status answers while read-only clients try every slot" ||
	kt_fail "root's status refused while the slots are held: $(cat "$LAB_TMP/admin.err")"
n0=$(ctl status --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["reloads"])')
ctl reload >/dev/null 2>"$LAB_TMP/admin.err" &&
	kt_ok "root's reload gets in too (reloads ${n0:-?} → $(ctl status --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["reloads"])'))" ||
	kt_fail "root's reload refused while the slots are held: $(cat "$LAB_TMP/admin.err")"
wait "$IDLE"
r=$(cat "$LAB_TMP/idle.out")
[ "$r" -ge 8 ] && kt_ok "idle control clients beyond max-clients refused ($r of 12 told why)" ||
	kt_fail "idle control clients: $r of 12 refused"
ok=0
for i in $(seq 40); do ctl status >/dev/null 2>&1 && { ok=1; break; }; sleep 0.2; done
[ $ok = 1 ] && kt_ok "idle clients cut: control answers again" || kt_fail "control socket stays busy"
kt_done
