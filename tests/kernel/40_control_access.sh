#!/usr/bin/env bash
# 40_control_access — the control socket: an unambiguous protocol and
# access levels ("Local callers and files").
#
#  * names are JSON strings checked on both sides: a TAB, a newline or
#    invalid UTF-8 in a user name is refused by sluicectl (exit 2) and by
#    sluiced (a raw request); a leading quote is kept as part of the name;
#  * sluicectl parses usage itself: `reload --help` and `reload extra` never
#    reach the daemon (the reload count stays), exit 0 and 2;
#  * levels from the peer's credentials, run as the unprivileged user
#    nobody through setpriv: no control group -> refused; read-only group
#    (users) -> status and lists, no identity add, no reload; operator
#    group (operator) -> identity add/del, no reload; root -> reload;
#  * socket owner/group/mode from `control { }`, applied again on reload.
# usage: 40_control_access.sh BUILD_DIR
. "$(dirname "$0")/lib.sh" "$@"
command -v setpriv >/dev/null || { echo "$KT_NAME: needs setpriv (util-linux)"; exit 1; }
getent group operator >/dev/null && getent group users >/dev/null ||
	{ echo "$KT_NAME: needs the base groups 'operator' and 'users'"; exit 1; }
kt_up
GID_OP=$(getent group operator | cut -d: -f3)
GID_RO=$(getent group users | cut -d: -f3)
NOBODY=$(id -u nobody)
NOGROUP=$(id -g nobody)

# the socket in a folder nobody can reach; sluicectl copied where nobody
# can run it (the build tree may be private)
mkdir -m 755 "$LAB_TMP/ctl"
KT_SOCK=$LAB_TMP/ctl/sluiced.sock
cp "$SLUICECTL" "$LAB_TMP/ctl/sluicectl"
chmod 755 "$LAB_TMP/ctl/sluicectl"
ACCESS='control {
  socket-mode 0666
  operator-groups { operator }
  read-only-groups users
}'
CONF=$(conf_with "$ACCESS")
kt_start "$CONF" || kt_done

reloads() { ctl status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["reloads"])'; }
# as_nobody GID_LIST CMD...: sluicectl as nobody with those supplementary groups
as_nobody() {
	local groups=$1; shift
	setpriv --reuid="$NOBODY" --regid="$NOGROUP" --groups="$groups" \
		"$LAB_TMP/ctl/sluicectl" -s "$KT_SOCK" "$@"
}
# raw JSON_LINE: sends one raw request line to the socket; prints the answer
raw() {
	python3 - "$KT_SOCK" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode("utf-8", "surrogateescape") + b"\n")
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
print(out.decode("utf-8", "replace").strip())
PY
}

# ---- the protocol -------------------------------------------------------------
r0=$(reloads)
ctl reload --help >/dev/null; rc=$?
[ "$rc" = 0 ] && [ "$(reloads)" = "$r0" ] && kt_ok "reload --help: usage, exit 0, no reload" ||
	kt_fail "reload --help: exit $rc, reloads $r0 -> $(reloads)"
ctl reload extra 2>/dev/null; rc=$?
[ "$rc" = 2 ] && [ "$(reloads)" = "$r0" ] && kt_ok "reload extra: exit 2, no reload" ||
	kt_fail "reload extra: exit $rc, reloads $r0 -> $(reloads)"
ctl identity add "$LAB_CLI4" 2>/dev/null; rc=$?
[ "$rc" = 2 ] && kt_ok "identity add without USER: exit 2" || kt_fail "identity add without USER: exit $rc"
ctl identity add "$LAB_CLI4" carol --bogus x 2>/dev/null; rc=$?
[ "$rc" = 2 ] && kt_ok "unknown option: exit 2" || kt_fail "unknown option: exit $rc"
ctl identity add "$LAB_CLI4" "$(printf 'mallory\t--groups\tnetadmins')" 2>/dev/null; rc=$?
[ "$rc" = 2 ] && kt_ok "user with TABs refused by sluicectl (exit 2)" || kt_fail "user with TABs: exit $rc"
ctl identity add "$LAB_CLI4" "$(printf 'caf\xe9')" 2>/dev/null; rc=$?
[ "$rc" = 2 ] && kt_ok "user with invalid UTF-8 refused by sluicectl (exit 2)" || kt_fail "invalid UTF-8 user: exit $rc"
ctl identity add "$LAB_CLI4" carol --groups "$(printf 'staff\nnetadmins')" 2>/dev/null; rc=$?
[ "$rc" = 2 ] && kt_ok "group with a newline refused (exit 2)" || kt_fail "group with a newline: exit $rc"

# the daemon checks too: raw requests that sluicectl would never send
a=$(raw '{"command":"identity-add","args":{"address":"'"$LAB_CLI4"'","user":"mallory\t--groups\tnetadmins"}}')
case $a in *'"ok":false'*control\ character*) kt_ok "daemon refuses a user with TABs" ;;
	*) kt_fail "daemon on a user with TABs: $a" ;; esac
a=$(raw '{"command":"identity-add","args":{"address":"'"$LAB_CLI4"'","user":"eve","groups":["ok","x\u001b[31m"]}}')
case $a in *'"ok":false'*control\ character*) kt_ok "daemon refuses a group with an escape" ;;
	*) kt_fail "daemon on a group with ESC: $a" ;; esac
a=$(raw "$(printf '{"command":"identity-add","args":{"address":"%s","user":"caf\xe9"}}' "$LAB_CLI4")")
case $a in *'"ok":false'*) kt_ok "daemon refuses invalid UTF-8" ;; *) kt_fail "daemon on invalid UTF-8: $a" ;; esac
a=$(raw 'reload')
case $a in *'"ok":false'*) kt_ok "old word request refused" ;; *) kt_fail "old word request: $a" ;; esac
a=$(raw '{"command":"reload","args":{"help":true}}')
case $a in *'"ok":false'*unknown\ argument*) kt_ok "reload with an argument refused" ;; *) kt_fail "reload with an argument: $a" ;; esac
a=$(raw '{"command":"identity-add","args":{"address":"'"$LAB_CLI4"'","user":"carol"},"extra":1}')
case $a in *'"ok":false'*unknown\ member*) kt_ok "unknown request member refused" ;; *) kt_fail "unknown member: $a" ;; esac
[ "$(reloads)" = "$r0" ] && kt_ok "no raw request reloaded" || kt_fail "a raw request reloaded"
n=$(ctl identity list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = 0 ] && kt_ok "no refused name reached the identity table" || kt_fail "identity table has $n entries"

# a leading quote is part of the name, a leading dash after --
ctl identity add "$LAB_CLI6" '"alice' >/dev/null && ctl identity add "$LAB_CLI4B" -- -bob >/dev/null
got=$(ctl identity list --json | python3 -c '
import json,sys
print(sorted((e["address"], e["user"], tuple(e["groups"])) for e in json.load(sys.stdin)))')
want="[('$LAB_CLI4B', '-bob', ()), ('$LAB_CLI6', '\"alice', ())]"
[ "$got" = "$want" ] && kt_ok "names kept verbatim: \"alice, -bob" || kt_fail "identities: $got, want $want"
expect_talk "user '\"alice' is not alice: ssh denied" 0 "$LAB_CLI" TCP6 "$LAB_SRV6" 22 2>/dev/null

# ---- access levels ----------------------------------------------------------------
as_nobody "$NOGROUP" status >/dev/null 2>&1; rc=$?
[ "$rc" = 1 ] && kt_ok "nobody in no control group: refused" || kt_fail "nobody without group: exit $rc"
as_nobody "$GID_RO" status >/dev/null && as_nobody "$GID_RO" identity list >/dev/null &&
	as_nobody "$GID_RO" counters >/dev/null && kt_ok "read-only: status, identity list, counters" ||
	kt_fail "read-only: a read was refused"
out=$(as_nobody "$GID_RO" identity add "$LAB_CLI4" carol 2>&1); rc=$?
[ "$rc" = 1 ] && case $out in *"permission denied"*) true ;; *) false ;; esac &&
	kt_ok "read-only: identity add refused" || kt_fail "read-only identity add: exit $rc: $out"
as_nobody "$GID_RO" reload >/dev/null 2>&1; rc=$?
[ "$rc" = 1 ] && [ "$(reloads)" = "$r0" ] && kt_ok "read-only: reload refused" || kt_fail "read-only reload: exit $rc"
as_nobody "$GID_OP" identity add "$LAB_CLI4" carol --groups staff >/dev/null &&
	as_nobody "$GID_OP" identity del "$LAB_CLI4" >/dev/null &&
	kt_ok "operator: identity add and del" || kt_fail "operator: identity add/del refused"
as_nobody "$GID_OP" reload >/dev/null 2>&1; rc=$?
[ "$rc" = 1 ] && [ "$(reloads)" = "$r0" ] && kt_ok "operator: reload refused" || kt_fail "operator reload: exit $rc"
as_nobody "$GID_OP" creations add "$LAB_SRV4" tcp 22 --timeout 30 >/dev/null 2>&1; rc=$?
[ "$rc" = 1 ] && kt_ok "operator: creations add refused (admin)" || kt_fail "operator creations add: exit $rc"
# primary group counts as well as supplementary ones
setpriv --reuid="$NOBODY" --regid="$GID_OP" --clear-groups "$LAB_TMP/ctl/sluicectl" -s "$KT_SOCK" \
	identity add "$LAB_CLI4" carol >/dev/null && kt_ok "operator by primary group" ||
	kt_fail "operator by primary group refused"
ctl reload >/dev/null && [ "$(reloads)" = $((r0 + 1)) ] && kt_ok "root: reload" || kt_fail "root reload"

# ---- socket owner, group and mode, applied on reload ---------------------------
perm=$(stat -c '%a %G' "$KT_SOCK")
[ "$perm" = "666 root" ] && kt_ok "socket mode 0666 as configured" || kt_fail "socket: $perm"
printf '%s\n' "$(cat "$KT_ROOT/examples/lab.conf")" 'control {
  socket-group users
  socket-mode 0660
  operator-groups { operator }
  read-only-groups users
}' >"$CONF"
ctl reload >/dev/null || kt_fail "reload with socket-group"
perm=$(stat -c '%a %G' "$KT_SOCK")
[ "$perm" = "660 users" ] && kt_ok "reload: socket now 0660, group users" || kt_fail "after reload: $perm"
as_nobody "$GID_OP" status >/dev/null 2>&1; rc=$?
[ "$rc" = 3 ] && kt_ok "operator outside the socket's group cannot connect (exit 3)" ||
	kt_fail "operator outside the socket group: exit $rc"
as_nobody "$GID_OP,$GID_RO" identity add "$LAB_CLI4" dave >/dev/null &&
	kt_ok "operator inside the socket's group: identity add" || kt_fail "operator in socket group refused"
printf '%s\n' "$(cat "$KT_ROOT/examples/lab.conf")" 'control { read-only-groups { no-such-group-here } }' >"$CONF"
out=$(ctl reload 2>&1)
case $out in *"no group 'no-such-group-here'"*) kt_ok "unknown group: reported, access kept" ;;
	*) kt_fail "unknown group on reload: $out" ;; esac
[ "$(stat -c '%a %G' "$KT_SOCK")" = "660 users" ] && kt_ok "socket keeps its access" || kt_fail "socket changed"

kill -0 "$KT_PID" 2>/dev/null && kt_ok "sluiced alive" || kt_fail "sluiced died"
kt_done
