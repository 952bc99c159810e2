#!/usr/bin/env bash
# deb_office.sh — the INSTALLED package runs the shipped office example
# (/usr/share/doc/sluice/examples/office.conf, docs/gateway.md) in a lab of
# network namespaces (tests/lab/lab.sh), with the installed unit's command
# line (it drops to _sluice). Called by deb_install.sh while the package is
# installed; alone: `bash tests/package/deb_office.sh` (root, package
# installed). SLUICED/SLUICECTL/SLUICED_USER_OPT override the binaries and
# `-u _sluice` (a build tree's binaries, without the package).
#
# The policy is the shipped file with only its addresses and interface
# names replaced by the lab's (sed, below); every rule, set, farm, nat and
# service line is as shipped:
#   LAN  eth1 10.10.0.0/24 fd00:10::/64  -> cli0 198.18.1.0/24 2001:db8:1::/64 (LAB_CLI)
#   DMZ  eth2 10.20.0.0/24 fd00:20::/64  -> dns0 198.18.3.0/24 2001:db8:3::/64 (LAB_DNS;
#        web1 .10 and web2 .11 are two addresses of that namespace)
#   WAN  eth0 203.0.113.10 (the gateway) -> srv0 198.18.2.1 (LAB_GW_SRV4); the
#        internet is LAB_SRV (198.18.2.2)
# The directory and resolver (10.10.0.2 -> 198.18.1.2) do not answer: they
# are not needed by the sessions below.
# Checked: LAN -> WAN ntp (udp 123, "lan time") passes and the WAN
# side sees the gateway's address (nat lan to external); LAN -> WAN ssh (no
# rule for a LAN host without a user) and DMZ -> LAN ("dmz to lan", deny)
# are refused while LAN -> DMZ web ("lan to dmz web") passes, routed (the
# server sees the LAN address); the WAN side reaches the published farm on
# the gateway's WAN address :80 (publish "public http", DNAT to web1/web2,
# the server sees the WAN client's address); a stop is clean and leaves the
# gateway fail-closed (the office's `on-exit fail-closed`). Each step is
# bounded; about 15 s.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SLUICED=${SLUICED:-/usr/sbin/sluiced}
SLUICECTL=${SLUICECTL:-/usr/sbin/sluicectl}
USER_OPT=${SLUICED_USER_OPT--u _sluice}
EXAMPLE=${EXAMPLE:-/usr/share/doc/sluice/examples/office.conf}
fails=0
ok()   { echo "deb-office: ok: $*"; }
fail() { echo "deb-office: FAIL: $*" >&2; fails=$((fails + 1)); }
[ "$(id -u)" = 0 ] || { echo "deb-office: needs root" >&2; exit 1; }
[ -x "$SLUICED" ] && [ -r "$EXAMPLE" ] || { echo "deb-office: $SLUICED or $EXAMPLE missing" >&2; exit 1; }
# the shipped log folder (the package makes it; made here and removed
# again when this run runs a build tree's binaries on a machine without it)
made_log=0
[ -d /var/log/sluice ] || { mkdir -p /var/log/sluice && made_log=1; }
trap '[ "$made_log" = 1 ] && rm -rf /var/log/sluice' EXIT
. "$ROOT/tests/lab/lab.sh"
lab_up >/dev/null || { echo "deb-office: lab_up failed" >&2; exit 1; }
chmod 755 "$LAB_TMP"
WEB1=198.18.3.10 WEB2=198.18.3.11 WAN_GW=$LAB_GW_SRV4
ip -n "$LAB_DNS" addr add "$WEB1/24" dev gw0 && ip -n "$LAB_DNS" addr add "$WEB2/24" dev gw0 || fail "web addresses"
conf=$LAB_TMP/office.conf
sed -e 's/\beth0\b/srv0/g; s/\beth1\b/cli0/g; s/\beth2\b/dns0/g' \
	-e 's/\b10\.10\.0\./198.18.1./g; s/\b10\.20\.0\./198.18.3./g' \
	-e 's/\bfd00:10::/2001:db8:1::/g; s/\bfd00:20::/2001:db8:3::/g' \
	-e "s/\b203\.0\.113\.10\b/$WAN_GW/g" "$EXAMPLE" >"$conf"
chmod 644 "$conf"
# what the sed changed, and that nothing else did (same lines, same rules)
[ "$(grep -c . "$EXAMPLE")" = "$(grep -c . "$conf")" ] &&
	[ "$(grep -c '^rule\|^nat\|^publish' "$EXAMPLE")" = "$(grep -c '^rule\|^nat\|^publish' "$conf")" ] &&
	! grep -qE '10\.10\.0|10\.20\.0|203\.0\.113\.10|fd00:|\beth[0-9]' "$conf" &&
	ok "office.conf with the lab's addresses and interfaces: $(diff "$EXAMPLE" "$conf" | grep -c '^>') lines changed" ||
	fail "the substitution: $(diff "$EXAMPLE" "$conf" | head -20)"
out=$("$SLUICECTL" check -c "$conf" 2>&1)
grep -q 'valid: .*, 0 warnings' <<<"$out" && ok "check: $out" || fail "check: $out"

# the servers: the internet (ntp and ssh), the LAN (a port the DMZ tries),
# the DMZ's two web servers (any request: 200 and who answered to whom)
lab_spawn "$LAB_SRV" timeout 120 socat UDP4-RECVFROM:123,fork SYSTEM:'echo peer $SOCAT_PEERADDR' >/dev/null
lab_spawn "$LAB_SRV" timeout 120 socat TCP4-LISTEN:22,reuseaddr,fork SYSTEM:'echo peer $SOCAT_PEERADDR' >/dev/null
lab_spawn "$LAB_CLI" timeout 120 socat TCP4-LISTEN:8080,reuseaddr,fork SYSTEM:'echo peer $SOCAT_PEERADDR' >/dev/null
cat >"$LAB_TMP/web.sh" <<'EOF'
read -r l
printf 'HTTP/1.0 200 OK\r\n\r\n%s peer %s\n' "$1" "$SOCAT_PEERADDR"
EOF
for w in web1:$WEB1 web2:$WEB2; do
	lab_spawn "$LAB_DNS" timeout 120 socat "TCP4-LISTEN:80,bind=${w#*:},reuseaddr,fork" \
		SYSTEM:"bash $LAB_TMP/web.sh ${w%%:*}" >/dev/null
done

# sluiced as the installed unit starts it, with this policy
cmd=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/sluiced.service 2>/dev/null)
[ -n "$cmd" ] || cmd="$SLUICED -f $USER_OPT -c /etc/sluice/sluice.conf"
cmd=${cmd/\/usr\/sbin\/sluiced/$SLUICED}
[ -n "$USER_OPT" ] || cmd=${cmd/-u _sluice/}
cmd=${cmd/-c \/etc\/sluice\/sluice.conf/-c $conf}
# shellcheck disable=SC2086
ip netns exec "$LAB_GW" $cmd </dev/null >>"$LAB_TMP/sluiced.log" 2>&1 &
DPID=$!
lab_register_pid "$DPID"
ctl() { lab_exec "$LAB_GW" "$SLUICECTL" "$@"; }
for i in $(seq 150); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done
ctl status >/dev/null 2>&1 && ok "the installed sluiced runs the office policy: $cmd" ||
	{ fail "sluiced did not start: $(tail -5 "$LAB_TMP/sluiced.log")"; echo "deb-office: $fails failures"; exit "$fails"; }
[ -z "$USER_OPT" ] || { [ "$(ps -o user= -p "$DPID")" = _sluice ] && ok "as _sluice" || fail "runs as $(ps -o user= -p "$DPID")"; }

# until: NAME TRIES CMD... — the output of CMD once it is not empty (a
# first packet may wait for its decision), at most TRIES tries
until_out() {
	local n=$1 i o; shift
	for ((i = 0; i < n; i++)); do o=$("$@" 2>/dev/null) && [ -n "$o" ] && { echo "$o"; return 0; }; sleep 0.3; done
	echo "${o:-}"; return 1
}
udp_ask() { echo x | lab_exec "$1" timeout 5 socat -T 3 - "UDP4:$2"; }
tcp_ask() { lab_exec "$1" timeout 5 socat -T 3 - "TCP4:$2,connect-timeout=3${3:+,bind=$3}" </dev/null 2>/dev/null; }
http_ask() { printf 'GET / HTTP/1.0\r\n\r\n' | lab_exec "$1" timeout 5 socat -T 3 - "TCP4:$2,connect-timeout=3" | tail -1; }

o=$(until_out 5 udp_ask "$LAB_CLI" "$LAB_SRV4:123")
[ "$o" = "peer $WAN_GW" ] && ok "LAN -> WAN ntp passes, masqueraded: the WAN side sees '$o'" ||
	fail "LAN -> WAN ntp: '$o' (want 'peer $WAN_GW')"
o=$(until_out 3 http_ask "$LAB_CLI" "$WEB1:80")
[ "$o" = "web1 peer $LAB_CLI4" ] && ok "LAN -> DMZ web passes, routed (not translated): '$o'" ||
	fail "LAN -> DMZ web: '$o' (want 'web1 peer $LAB_CLI4')"
o=$(tcp_ask "$LAB_CLI" "$LAB_SRV4:22")
[ -z "$o" ] && ok "LAN -> WAN ssh (no rule for a host without a user) refused" || fail "LAN -> WAN ssh passed: '$o'"
o=$(tcp_ask "$LAB_DNS" "$LAB_CLI4:8080" "$WEB1")
[ -z "$o" ] && ok "DMZ -> LAN refused (\"dmz to lan\")" || fail "DMZ -> LAN passed: '$o'"
o=$(until_out 5 http_ask "$LAB_SRV" "$WAN_GW:80")
[[ "$o" =~ ^web[12]\ peer\ $LAB_SRV4$ ]] && ok "WAN -> the published farm on $WAN_GW:80: '$o'" ||
	fail "WAN -> published farm: '$o' (want 'web1|web2 peer $LAB_SRV4')"
c=$(ctl counters --json 2>/dev/null | python3 -c '
import json, sys
c = json.load(sys.stdin)["counters"]
def v(k):
    x = c.get(k, 0)
    return sum(x.values()) if isinstance(x, dict) else x
print(v("sessions_kernel_allowed"), v("sessions_kernel_denied"), v("sessions_service_decided"), v("packets_spoofed"))' 2>/dev/null)
ok "counters kernel allowed/denied, sluiced decided, spoofed: ${c:-?}"

kill -TERM "$DPID"; timeout 20 tail --pid="$DPID" -f /dev/null; wait "$DPID" 2>/dev/null; rc=$?
kill -0 "$DPID" 2>/dev/null && fail "sluiced did not stop in 20 s" ||
	{ [ "$rc" = 0 ] && ok "stopped cleanly (exit 0)" || fail "stop: exit $rc: $(tail -3 "$LAB_TMP/sluiced.log")"; }
lab_exec "$LAB_GW" nft list table inet sluice >/dev/null 2>&1 && ok "left fail-closed after the stop" ||
	fail "the stop opened the gateway"
o=$(tcp_ask "$LAB_SRV" "$WAN_GW:80")
[ -z "$o" ] && ok "a new session to the farm waits while sluiced is down" || fail "a new session passed while down: '$o'"
lab_exec "$LAB_GW" "$SLUICED" --remove-ruleset >/dev/null 2>&1 || fail "--remove-ruleset"
[ "$fails" = 0 ] || { echo "--- sluiced's log"; tail -20 "$LAB_TMP/sluiced.log"; echo "--- firewall.log"; tail -20 /var/log/sluice/firewall.log; } >&2
echo "deb-office: $fails failures"
exit "$fails"
