#!/usr/bin/env bash
# deb_install.sh — the Debian package end to end, on this machine, as root:
# builds it (scripts/deb.sh), lintian, installs it with dpkg -i (no service
# is started: policy-rc.d), checks what it installed (files, the _sluice
# user and its folders, the default policy checks clean, man pages render
# and are indexed, the unit verifies and is hardened, logrotate reads its
# file), runs the installed sluiced with the installed unit's command line
# in private network namespaces (it drops to _sluice) through an upgrade
# (stop, dpkg -i, start: a decided session flows on, new ones wait),
# runs the shipped office example in a lab of namespaces (deb_office.sh),
# a reinstall keeps an edited policy, and purges. The machine is left as it was found: a sluice package
# already installed is refused, and the _sluice user is removed again when
# this run created it. Every step has a time bound; < 3 minutes.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/build-deb
fails=0
ok()   { echo "deb: ok: $*"; }
fail() { echo "deb: FAIL: $*" >&2; fails=$((fails + 1)); }
check() { local d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }

[ "$(id -u)" = 0 ] || { echo "deb: needs root" >&2; exit 1; }
if dpkg-query -W -f='${Status}' sluice 2>/dev/null | grep -q 'installed'; then
	echo "deb: a sluice package is installed already; not touching it" >&2
	exit 1
fi
had_user=0; getent passwd _sluice >/dev/null && had_user=1
had_policy_rc=0; [ -e /usr/sbin/policy-rc.d ] && had_policy_rc=1
NS=sluice-deb-$$
cleanup() {
	local p
	for p in "${DPID:-}" "${HPID:-}" "${SPID:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	ip netns del "$NS" 2>/dev/null
	ip netns del "$NS-c" 2>/dev/null
	if dpkg-query -W -f='${Status}' sluice 2>/dev/null | grep -q 'installed\|config-files\|half'; then
		timeout 60 dpkg --purge sluice >/dev/null 2>&1
	fi
	[ "$had_user" = 0 ] && getent passwd _sluice >/dev/null && userdel _sluice 2>/dev/null
	[ "$had_user" = 0 ] && getent group _sluice >/dev/null && groupdel _sluice 2>/dev/null
	[ "$had_policy_rc" = 0 ] && rm -f /usr/sbin/policy-rc.d
}
trap cleanup EXIT

deb=$(timeout 300 bash "$ROOT/scripts/deb.sh" "$OUT" | tail -1)
[ -f "$deb" ] || { fail "the package did not build"; exit 1; }
ok "built $(basename "$deb")"
ver=$("$ROOT/scripts/version.sh")
[ "$(dpkg-deb -f "$deb" Version)" = "$ver-1" ] && ok "version $ver-1 (debian/changelog, the one place)" ||
	fail "version $(dpkg-deb -f "$deb" Version), want $ver-1"
deps=$(dpkg-deb -f "$deb" Depends)
grep -qE 'slapd|apache2|krb5-kdc|nginx|dnsmasq|cmocka|valgrind' <<<"$deps" &&
	fail "lab packages in Depends: $deps" || ok "Depends has no lab package: $deps"
lt=$(timeout 120 lintian --pedantic "${deb%.deb}.changes" 2>&1 | grep -E '^[EW]:')
[ -z "$lt" ] && ok "lintian: no error, no warning" || fail "lintian: $lt"

# no service starts during this test (CI machines may run systemd)
[ "$had_policy_rc" = 0 ] && printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
timeout 120 dpkg -i "$deb" >"$OUT/dpkg-i.log" 2>&1 && ok "dpkg -i" || { fail "dpkg -i: $(tail -5 "$OUT/dpkg-i.log")"; exit 1; }

for f in /usr/sbin/sluiced /usr/sbin/sluicectl /lib/systemd/system/sluiced.service \
	/etc/sluice/sluice.conf /etc/logrotate.d/sluice /usr/lib/tmpfiles.d/sluice.conf \
	/usr/lib/sysusers.d/sluice.conf /usr/share/man/man8/sluiced.8.gz \
	/usr/share/man/man8/sluicectl.8.gz /usr/share/man/man5/sluice.conf.5.gz \
	/usr/share/doc/sluice/examples/office.conf /usr/share/doc/sluice/gateway.md.gz \
	/usr/share/sluice/prometheus/sluice-alerts.yml /usr/share/sluice/grafana/sluice.json; do
	[ -e "$f" ] || missing="${missing:-} $f"
done
[ -z "${missing:-}" ] && ok "files in place" || fail "missing:$missing"
# the identity hooks, where docs/identity.md and their comments call them
for h in sluice-openvpn sluice-strongswan sluice-wireguard; do
	f=/usr/share/sluice/hooks/$h
	[ -x "$f" ] && sh -n "$f" && grep -q "/usr/share/sluice/hooks/$h\|$h IFACE" "$f" || bad="${bad:-} $h"
done
[ -z "${bad:-}" ] && ok "identity hooks in /usr/share/sluice/hooks, executable" || fail "hooks:$bad"
getent passwd _sluice >/dev/null && ok "user _sluice" || fail "no user _sluice"
[ "$(stat -c %U /var/log/sluice 2>/dev/null)" = _sluice ] && [ "$(stat -c %U /run/sluice 2>/dev/null)" = _sluice ] &&
	ok "/var/log/sluice and /run/sluice belong to _sluice" || fail "folders: $(ls -ld /var/log/sluice /run/sluice 2>&1)"
out=$(sluicectl check -c /etc/sluice/sluice.conf 2>&1)
grep -q 'valid: .*, 0 warnings' <<<"$out" && ok "default policy: $out" || fail "default policy: $out"
[ "$(sluicectl --version)" = "sluicectl $ver" ] && ok "sluicectl --version: $ver" || fail "sluicectl --version: $(sluicectl --version)"
for m in man8/sluiced.8 man8/sluicectl.8 man5/sluice.conf.5; do
	# (here-strings: grep -q may stop reading early, which pipefail counts)
	txt=$(MANWIDTH=80 timeout 60 man -l "/usr/share/man/$m.gz" 2>/dev/null | col -b)
	n=$(wc -l <<<"$txt")
	grep -q '^NAME' <<<"$txt" && grep -q '^SYNOPSIS' <<<"$txt" && [ "$n" -gt 50 ] &&
		ok "man -l $m: $n lines" || fail "man -l $m: $n lines: $(head -3 <<<"$txt")"
done
timeout 60 mandb -q /usr/share/man 2>/dev/null
whatis sluiced sluicectl sluice.conf >/dev/null 2>&1 && ok "indexed: $(whatis sluiced | head -1)" || fail "whatis: not indexed"
# (other units of the machine may be reported too: only ours counts)
out=$(timeout 30 systemd-analyze verify /lib/systemd/system/sluiced.service 2>&1 |
	grep 'sluiced.service' | grep -v "Command 'man \|failed with code 16")
[ -z "$out" ] && ok "systemd-analyze verify: clean" || fail "systemd-analyze verify: $out"
score=$(timeout 30 systemd-analyze security --offline=true /lib/systemd/system/sluiced.service 2>/dev/null |
	sed -n 's/.*Overall exposure level for sluiced.service: \([0-9.]*\).*/\1/p')
awk -v s="${score:-99}" 'BEGIN { exit !(s <= 3.0) }' && ok "systemd-analyze security: $score (<= 3.0)" ||
	fail "systemd-analyze security: ${score:-none}"
timeout 30 logrotate -d /etc/logrotate.d/sluice >/dev/null 2>&1 && ok "logrotate reads its file" || fail "logrotate -d"

# the installed daemon, run as the unit runs it, in a private namespace
# (the gateway, 198.18.200.1) with a client namespace (198.18.200.2), and
# an upgrade as the package does it: stop, new files, start. A decided
# session (SSH to the gateway, allowed by the default policy) flows through
# it; new sessions wait while sluiced is down (fail-closed), never pass.
cmd=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/sluiced.service)
pre=$(sed -n 's/^ExecStartPre=//p' /lib/systemd/system/sluiced.service)
$pre >/dev/null 2>&1 && ok "ExecStartPre: $pre" || fail "ExecStartPre: $pre"
ip netns add "$NS" && ip netns add "$NS-c" &&
	ip -n "$NS" link add gw0 type veth peer name cl0 netns "$NS-c" &&
	ip -n "$NS" addr add 198.18.200.1/24 dev gw0 && ip -n "$NS-c" addr add 198.18.200.2/24 dev cl0 &&
	ip -n "$NS" link set gw0 up && ip -n "$NS-c" link set cl0 up &&
	ip -n "$NS" link set lo up && ip -n "$NS-c" link set lo up || fail "namespaces"
ip netns exec "$NS" timeout 120 socat TCP4-LISTEN:22,reuseaddr,fork EXEC:cat </dev/null >/dev/null 2>&1 &
SPID=$!
start_sluiced() { # the unit's command line; waits until it answers
	# shellcheck disable=SC2086
	ip netns exec "$NS" $cmd >>"$OUT/sluiced.log" 2>&1 &
	DPID=$!
	local i
	for i in $(seq 100); do
		ip netns exec "$NS" sluicectl status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
stop_sluiced() { kill -TERM "$DPID"; wait "$DPID"; local rc=$?; DPID=; return $rc; }
talk() { # lines echoed by one new 5-line session to the gateway's :22
	(for i in 1 2 3 4 5; do echo "l$i"; sleep 0.05; done; sleep 0.3) |
		ip netns exec "$NS-c" timeout 6 socat -T 2 - TCP4:198.18.200.1:22,connect-timeout=2 2>/dev/null | wc -l
}
: >"$OUT/sluiced.log"
start_sluiced && ok "the installed sluiced runs: $(ip netns exec "$NS" sluicectl status 2>&1 | head -1)" ||
	fail "sluiced did not start: $(tail -5 "$OUT/sluiced.log")"
[ "$(ps -o user= -p "$DPID")" = _sluice ] && ok "it runs as _sluice" || fail "runs as $(ps -o user= -p "$DPID")"
ip netns exec "$NS" nft list table inet sluice >/dev/null 2>&1 && ok "its ruleset is in the namespace's kernel" ||
	fail "no ruleset"
# the administrator's session: a line every 0.1 s for 25 s
(for i in $(seq 250); do echo "h$i"; sleep 0.1; done) |
	ip netns exec "$NS-c" timeout 40 socat -T 5 - TCP4:198.18.200.1:22 >"$OUT/held" 2>/dev/null &
HPID=$!
sleep 1.5
[ "$(talk)" = 5 ] && ok "a new SSH session to the gateway passes" || fail "new session refused"
h0=$(wc -l <"$OUT/held")
stop_sluiced && ok "the upgrade's stop: clean" || fail "stop failed"
[ "$(talk)" = 0 ] && ok "while sluiced is down a new session does not pass (fail-closed)" ||
	fail "a new session passed while sluiced was down"
timeout 120 dpkg -i "$deb" >"$OUT/dpkg-i2.log" 2>&1 && ok "dpkg -i over the installed package (the upgrade's files)" ||
	fail "upgrade: $(tail -5 "$OUT/dpkg-i2.log")"
h1=$(wc -l <"$OUT/held")
[ "$h1" -gt "$h0" ] && ok "the decided session went on while sluiced was down ($h0 -> $h1 lines)" ||
	fail "the decided session stalled while down ($h0 -> $h1)"
start_sluiced && ok "the upgrade's start" || fail "restart failed: $(tail -5 "$OUT/sluiced.log")"
sleep 1
h2=$(wc -l <"$OUT/held")
[ "$h2" -gt "$h1" ] && ok "the decided session survives the restart ($h1 -> $h2 lines)" ||
	fail "the decided session was cut by the restart ($h1 -> $h2)"
[ "$(talk)" = 5 ] && ok "new sessions pass again" || fail "new session refused after the restart"
kill "$HPID" 2>/dev/null; wait "$HPID" 2>/dev/null
stop_sluiced && ok "stopped cleanly" || fail "stop: exit $?"
ip netns exec "$NS" nft list table inet sluice >/dev/null 2>&1 && ok "left fail-closed after the stop (on-exit default)" ||
	fail "the stop opened the gateway"
out=$(ip netns exec "$NS" sluiced --remove-ruleset 2>&1) && ok "--remove-ruleset: $out" || fail "--remove-ruleset: $out"
kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; SPID=
ip netns del "$NS"; ip netns del "$NS-c"

# the installed package runs the shipped office example in a lab of
# namespaces: NAT, a denied session, the published farm, a clean stop
timeout 90 bash "$ROOT/tests/package/deb_office.sh" && ok "the office example runs (deb_office.sh)" ||
	fail "the office example (deb_office.sh)"

# the upgrade path of the maintainer scripts: the edited policy is kept
echo '# edited by the administrator' >>/etc/sluice/sluice.conf
timeout 120 dpkg -i "$deb" >"$OUT/dpkg-i3.log" 2>&1 && grep -q 'edited by the administrator' /etc/sluice/sluice.conf &&
	ok "reinstall over itself: the edited policy kept" || fail "reinstall: $(tail -5 "$OUT/dpkg-i3.log")"

timeout 120 dpkg --purge sluice >"$OUT/dpkg-purge.log" 2>&1 && ok "dpkg --purge" || fail "purge: $(tail -5 "$OUT/dpkg-purge.log")"
left=$(ls -d /etc/sluice /var/log/sluice /run/sluice /usr/sbin/sluiced /lib/systemd/system/sluiced.service \
	/usr/share/doc/sluice /usr/share/man/man8/sluiced.8.gz 2>/dev/null)
[ -z "$left" ] && ok "nothing left after the purge" || fail "left after purge: $left"
echo "deb: $fails failures"
exit "$fails"
