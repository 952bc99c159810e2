#!/bin/bash
# ctl_incomplete.sh SLUICECTL — a list sent in parts whose source failed
# midway (sluiced's answer ends with "error" beside the list, jsonout.h
# json_parts_pulled): sluicectl prints what came, says on stderr that the
# answer is incomplete, and exits 3 (EXIT_FAIL), in text and with --json. The answer
# comes from a stand-in server on a unix socket of this test's own.
set -u
CTL=${1:?usage: ctl_incomplete.sh SLUICECTL}
TMP=$(mktemp -d /tmp/sluice-ctl-incomplete.XXXXXX)
SRV=
trap '[ -n "$SRV" ] && kill "$SRV" 2>/dev/null; rm -rf "$TMP"' EXIT
fails=0
python3 - "$TMP/s" <<'PY' &
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(4); s.settimeout(20)
row = {"session": "udp 198.19.0.1:1024 -> 198.18.2.2:53", "state": "-",
       "ttl_s": 30, "rule_id": 1, "rule": "dns", "user": None, "name": None,
       "identity": "none", "groups": None}
for answer in ({"schema_version": 1, "sessions": [row], "error": "the conntrack dump failed: No buffer space available"},
               {"schema_version": 1, "sessions": [row]},
               {"schema_version": 1, "sessions": [row], "error": "the conntrack dump failed: No buffer space available"}):
    c, _ = s.accept()
    c.recv(4096)
    c.sendall((json.dumps({"ok": True, "output": answer}) + "\n").encode())
    c.close()
PY
SRV=$!
for i in $(seq 50); do [ -S "$TMP/s" ] && break; sleep 0.1; done
check() { # check WANT_RC STDERR_PATTERN ARGS...
	local want=$1 pat=$2 rc; shift 2
	"$CTL" -s "$TMP/s" "$@" >"$TMP/out" 2>"$TMP/err"; rc=$?
	if [ "$rc" != "$want" ] || ! grep -q -- "$pat" "$TMP/err" 2>/dev/null && [ -n "$pat" ] ||
		! grep -q "198.19.0.1" "$TMP/out"; then
		echo "FAIL: sluicectl $*: rc $rc (want $want); stderr: $(cat "$TMP/err"); stdout: $(head -c 300 "$TMP/out")"
		fails=$((fails + 1))
	else
		echo "ok: sluicectl $*: rc $rc"
	fi
}
check 3 "answer to 'sessions' is incomplete: the conntrack dump failed" sessions
check 0 "" sessions
[ -s "$TMP/err" ] && { echo "FAIL: a complete answer: stderr $(cat "$TMP/err")"; fails=$((fails + 1)); }
check 3 "incomplete" sessions --json
python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); assert v["error"].startswith("the conntrack dump failed")' "$TMP/out" ||
	{ echo "FAIL: --json left out the error"; fails=$((fails + 1)); }
exit $((fails > 0))
