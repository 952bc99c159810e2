#!/bin/bash
# test_wireguard_hook.sh ROOT — contrib/hooks/wireguard/sluice-wireguard
# against a recorded `wg show wg0 dump` (tests/identity/wireguard/dump.txt,
# no WireGuard interface needed) and a stand-in push API (python3
# http.server on 127.0.0.1, an ephemeral port) that checks the bearer token
# and records each request. Checks: mapped peers' allowed-ips are logged
# in (address alone for /32 and /128, prefix otherwise, groups, lifetime,
# source api); unmapped peers, peers without allowed-ips and peers routing
# 0.0.0.0/0 push nothing; with SLUICE_WG_ACTIVE only recently handshaken
# peers are logged in and the others out; a peer gone from the peer file
# since the last run is logged out; an API refusing the token fails the
# run; usage errors exit 2. Exit status: the number of failures.
root=${1:?root}
hook=$root/contrib/hooks/wireguard/sluice-wireguard
fix=$root/tests/identity/wireguard
name=test_wireguard_hook
fails=0
ok() { echo "$name: ok: $*"; }
fail() {
	echo "$name: FAIL: $*" >&2
	fails=$((fails + 1))
}
command -v curl >/dev/null || { echo "$name: FAIL: curl missing" >&2; exit 1; }

tmp=$(mktemp -d)
srv=
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
echo "tok-$$-$RANDOM" >"$tmp/token"

# The stand-in API: POST /login and /logout with the token answer 200 and
# append {"path", "body"} to requests.jsonl; a wrong token 403.
python3 - "$tmp" <<'PY' &
import http.server, json, os, sys
d = sys.argv[1]
token = open(os.path.join(d, "token")).readline().strip()
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Authorization") != "Bearer " + token:
            self.send_response(403); self.end_headers()
            self.wfile.write(b'{"ok": false, "error": "bad token"}')
            return
        with open(os.path.join(d, "requests.jsonl"), "a") as f:
            f.write(json.dumps({"path": self.path, "body": json.loads(body)}) + "\n")
        res = "new" if self.path == "/login" else "removed"
        self.send_response(200); self.end_headers()
        self.wfile.write(json.dumps({"ok": True, "result": res}).encode())
s = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(os.path.join(d, "port.tmp"), "w") as f:
    f.write(str(s.server_address[1]))
os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
s.serve_forever()
PY
srv=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { echo "$name: FAIL: the stand-in API did not start" >&2; exit 1; }
port=$(cat "$tmp/port")

# run [VAR=VALUE...]: the hook on the recorded dump at its recorded time
# (the latest handshakes are 30 s, 600 s, 10 s old and never); its
# requests are then in $tmp/got (one "PATH ADDRESS USER [GROUPS] LIFETIME
# SOURCE" line each, sorted), its stderr in $tmp/err, its status in $rc.
run() {
	rm -f "$tmp/requests.jsonl"
	env -i PATH="$PATH" SLUICE_HOOK_CONF=/nonexistent SLUICE_API="http://127.0.0.1:$port" \
		SLUICE_TOKEN_FILE="$tmp/token" SLUICE_WG_PEERS="$tmp/peers" \
		SLUICE_WG_STATE="$tmp/state" SLUICE_WG_DUMP="$fix/dump.txt" \
		SLUICE_WG_NOW=1764487200 "$@" sh "$hook" wg0 2>"$tmp/err"
	rc=$?
	touch "$tmp/requests.jsonl"
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    b = r["body"]
    g = ",".join(b["groups"]) if "groups" in b else "-"
    print(r["path"], b["address"], b["user"], g, b.get("lifetime", "-"), b["source"])
' "$tmp/requests.jsonl" | sort >"$tmp/got"
}
# expect DESCRIPTION: the requests in $tmp/got are the lines on stdin
expect() {
	sort >"$tmp/want"
	if diff -u "$tmp/want" "$tmp/got" >"$tmp/diff"; then
		ok "$1 ($(wc -l <"$tmp/got") requests)"
	else
		fail "$1: $(cat "$tmp/diff")"
	fi
}

cp "$fix/peers" "$tmp/peers"
run
[ "$rc" = 0 ] && ok "first run exit 0" || fail "first run exit $rc: $(cat "$tmp/err")"
expect "every mapped peer's allowed-ips logged in, nothing for the others" <<'EOF'
/login 10.9.0.2 carol - 300 api
/login fd00:9::2 carol - 300 api
/login 10.9.0.3 dave staff,vpn 300 api
/login 10.9.8.0/24 dave staff,vpn 300 api
/login 10.9.0.6 frank - 300 api
EOF
grep -q "gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA= has no user" "$tmp/err" &&
	ok "the unmapped peer is named" || fail "unmapped not named: $(cat "$tmp/err")"
grep -q "branch's allowed-ips 0.0.0.0/0 is wider" "$tmp/err" && grep -q "branch's allowed-ips ::/0 is wider" "$tmp/err" &&
	ok "the site link's 0.0.0.0/0 and ::/0 are not pushed, and said" || fail "wide not said: $(cat "$tmp/err")"
grep -q "PRIVATE\|yAnz5TF" "$tmp/err" "$tmp/state" && fail "the private key leaked" || ok "the interface's private key is nowhere"

run SLUICE_WG_ACTIVE=180 SLUICE_LIFETIME=120
[ "$rc" = 0 ] && ok "SLUICE_WG_ACTIVE=180 run exit 0" || fail "active run exit $rc: $(cat "$tmp/err")"
expect "only carol handshook within 180 s: dave and frank logged out" <<'EOF'
/login 10.9.0.2 carol - 120 api
/login fd00:9::2 carol - 120 api
/logout 10.9.0.3 dave - - api
/logout 10.9.8.0/24 dave - - api
/logout 10.9.0.6 frank - - api
EOF

grep -v carol "$fix/peers" >"$tmp/peers"
run
expect "carol gone from the peer file: logged out of what the last run pushed" <<'EOF'
/logout 10.9.0.2 carol - - api
/logout fd00:9::2 carol - - api
/login 10.9.0.3 dave staff,vpn 300 api
/login 10.9.8.0/24 dave staff,vpn 300 api
/login 10.9.0.6 frank - 300 api
EOF
run
expect "a repeated run logs in again and logs nobody out" <<'EOF'
/login 10.9.0.3 dave staff,vpn 300 api
/login 10.9.8.0/24 dave staff,vpn 300 api
/login 10.9.0.6 frank - 300 api
EOF

echo wrong >"$tmp/token.bad"
env -i PATH="$PATH" SLUICE_HOOK_CONF=/nonexistent SLUICE_API="http://127.0.0.1:$port" \
	SLUICE_TOKEN_FILE="$tmp/token.bad" SLUICE_WG_PEERS="$tmp/peers" SLUICE_WG_STATE="$tmp/state2" \
	SLUICE_WG_DUMP="$fix/dump.txt" sh "$hook" wg0 2>"$tmp/err"
rc=$?
[ "$rc" = 1 ] && grep -q "failed (403)" "$tmp/err" && ok "a refused token: exit 1, said (403)" ||
	fail "refused token: exit $rc: $(cat "$tmp/err")"
env -i PATH="$PATH" SLUICE_HOOK_CONF=/nonexistent sh "$hook" 2>/dev/null
rc=$?
[ "$rc" = 2 ] && ok "no interface: exit 2" || fail "no interface: exit $rc"
env -i PATH="$PATH" SLUICE_HOOK_CONF=/nonexistent SLUICE_API="http://127.0.0.1:$port" \
	SLUICE_TOKEN_FILE="$tmp/token" SLUICE_WG_PEERS="$tmp/peers" SLUICE_WG_DUMP="$fix/dump.txt" \
	SLUICE_WG_STATE="$tmp/state3" SLUICE_LIFETIME=5m sh "$hook" wg0 2>/dev/null
rc=$?
[ "$rc" = 2 ] && ok "a lifetime that is not a number: exit 2" || fail "SLUICE_LIFETIME=5m: exit $rc"
exit $fails
