#!/usr/bin/env bash
# 57_settings_reload — no setting is silently ignored on reload. One sluiced,
# many reloads: for every row of every settings block (the code's table,
# through tests/docs/tables_dump, so a new row is covered by itself),
# settings_reload.py changes that one setting and checks that the reload
# applied it (`sluicectl settings` shows the new value) or said it needs a
# restart (and the running value stays); a setting sluice-portal reads is
# said to need a restart of sluice-portal. Then a few live settings are
# checked by what they do: the NSS pool's threads, the control socket's
# mode, the metrics listener's port, the ICMP session timeout, a flood
# limit in the kernel ruleset, the firewall log's file, the push API's and
# the RADIUS listener's ports, a listener whose port is taken (the reload
# goes through, its reply warns); and a queue count change keeps the queues.
. "$(dirname "$0")/lib.sh"
kt_up
E=$LAB_TMP/etc-sluice # what the rows' examples call /etc/sluice
mkdir -p "$E"
for f in ldap.secret ldap-ca.pem sluice.keytab radius.secret api.token \
	portal.crt portal.key base-ldap.secret base-radius.secret \
	base-api.token base-portal.crt base-portal.key alt.keytab; do
	echo "secret-$f" >"$E/$f"
	chmod 600 "$E/$f"
done
DUMP=$KT_BUILD/tests/docs/tables_dump
[ -x "$DUMP" ] || { kt_fail "no $DUMP (ninja -C build)"; kt_done; }

# The base: the lab's rules, and every settings block with the strings a
# portal, the RADIUS listener and the push API need (the rows' examples
# differ from these values).
rules=$LAB_TMP/rules.conf
grep -Ev '^(resolver|directory|decisions|queue|identity|log|metrics|control|portal|flood)\b' \
	"$KT_ROOT/examples/lab.conf" >"$rules"
common="resolver  { servers 198.18.3.2 timeout 500ms negative-ttl 30s }
decisions { slots 4096 reserve-local 10% per-source 256 deadline 2s }
queue     { count 1 fail closed udp-timeout 60s revoke on on-exit remove }
identity  { radius-listen 198.18.1.1:1812 radius-secret-file \"$E/base-radius.secret\"
            radius-clients 198.18.1.2 api-listen 127.0.0.1:8080
            api-token-file \"$E/base-api.token\" }
log       { file \"$LAB_TMP/fw.log\" }
metrics   { listen 127.0.0.1:9130 }
portal    { listen 198.18.1.1:8444 certificate \"$E/base-portal.crt\" key \"$E/base-portal.key\" }"
dir='uri "ldap://198.18.4.2:389" base "dc=lab,dc=sluice,dc=test" timeout 1s cache-ttl 60s'
base=$LAB_TMP/base.conf alt=$LAB_TMP/alt.conf
{ cat "$rules"; echo "$common"
  echo "directory ldap { $dir bind-dn \"cn=gw,dc=lab,dc=sluice,dc=test\" password-file \"$E/base-ldap.secret\" }"
} >"$base"
# a GSSAPI bind: where keytab, principal and kerberos-host can change alone
{ cat "$rules"; echo "$common"
  echo "directory ldap { $dir keytab \"$E/alt.keytab\" principal gw@LAB.SLUICE.TEST kerberos-host ldap.lab.sluice.test }"
} >"$alt"
conf=$LAB_TMP/sluice.conf
cp "$base" "$conf"
kt_start "$conf" || kt_done

t0=$(date +%s)
out=$(python3 "$KT_ROOT/tests/kernel/settings_reload.py" "$DUMP" "$SLUICECTL" \
	"$KT_SOCK" "$E" "$base" "$alt" 2>&1)
rc=$?
while IFS= read -r line; do
	case $line in
	ok:*) kt_ok "${line#ok: }" ;;
	FAIL:*) kt_fail "${line#FAIL: }" ;;
	*) echo "$KT_NAME: $line" ;;
	esac
done <<<"$out"
[ "$rc" -eq 0 ] || [ "$kt_failures" -gt 0 ] || kt_fail "settings_reload.py exit $rc"
echo "$KT_NAME: every row reloaded in $(($(date +%s) - t0)) s"

# reload_with SNIPPET: the base plus SNIPPET (a second block overrides);
# prints the reply
reload_with() {
	{ cat "$base"; printf '%s\n' "$@"; } >"$conf"
	ctl reload 2>&1
}
# wait_for N CMD...: polls CMD (0.1 s apart, at most N tries) until it
# succeeds
wait_for() {
	local n=$1 i; shift
	for i in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
	return 1
}
threads() { ls "/proc/$KT_PID/task" | wc -l; }
reload_with >/dev/null

# identity nss-workers: the NSS pool is made again with its new threads
n0=$(threads)
reload_with 'identity { nss-workers 8 }' >/dev/null
want=$((n0 + 4))
wait_for 50 test "$(threads)" -eq "$want"
n1=$(threads)
[ "$n1" -eq "$want" ] && kt_ok "nss-workers 4 -> 8: sluiced's threads $n0 -> $n1" ||
	kt_fail "nss-workers 4 -> 8: sluiced's threads $n0 -> $n1, want $want"
reload_with >/dev/null
wait_for 50 test "$(threads)" -eq "$n0"
n2=$(threads)
[ "$n2" -eq "$n0" ] && kt_ok "nss-workers back to 4: threads $n2" ||
	kt_fail "nss-workers back to 4: threads $n2, want $n0"

# control socket-mode: the socket's permission bits
reload_with 'control { socket-mode 0660 }' >/dev/null
m=$(stat -c %a "$KT_SOCK")
[ "$m" = 660 ] && kt_ok "control socket-mode 0660: the socket is $m" ||
	kt_fail "control socket-mode 0660: the socket is $m"

# metrics listen: the new port answers, the old one no longer does
metrics_up() { lab_exec "$LAB_GW" curl -s -m 2 -o /dev/null -w '%{http_code}' "http://$1/metrics"; }
reload_with 'metrics { listen 127.0.0.1:9131 }' >/dev/null
new=$(metrics_up 127.0.0.1:9131) old=$(metrics_up 127.0.0.1:9130)
[ "$new" = 200 ] && [ "$old" != 200 ] &&
	kt_ok "metrics listen moved: :9131 answers $new, :9130 answers ${old:-nothing}" ||
	kt_fail "metrics listen moved: :9131 $new, :9130 $old"

# queue udp-timeout: the ICMP session timeouts of the gateway
reload_with 'queue { udp-timeout 45s }' >/dev/null
v=$(icmp_sysctls "$LAB_GW")
[ "$v" = "45 45" ] && kt_ok "queue udp-timeout 45s: ICMP timeouts $v" ||
	kt_fail "queue udp-timeout 45s: ICMP timeouts $v"

# flood udp-rate: the kernel's limit
reload_with 'flood { udp-rate 777/s }' >/dev/null
lab_exec "$LAB_GW" nft list table inet sluice | grep -q '777/second' &&
	kt_ok "flood udp-rate 777/s: in the kernel ruleset" ||
	kt_fail "flood udp-rate 777/s: not in the kernel ruleset"

# log file: the firewall log opens at its new path
reload_with "log { file \"$LAB_TMP/fw-moved.log\" }" >/dev/null
wait_for 50 test -e "$LAB_TMP/fw-moved.log" &&
	kt_ok "log file moved: $LAB_TMP/fw-moved.log opened" ||
	kt_fail "log file moved: $LAB_TMP/fw-moved.log not opened"

# identity api-listen and radius-listen: the listeners move
listening() { lab_exec "$LAB_GW" ss -Hln "$1" "sport = :$2" | grep -c .; }
reload_with 'identity { api-listen 127.0.0.1:8082 radius-listen 198.18.1.1:1814 }' >/dev/null
a_new=$(listening -t 8082) a_old=$(listening -t 8080)
r_new=$(listening -u 1814) r_old=$(listening -u 1812)
[ "$a_new" = 1 ] && [ "$a_old" = 0 ] && [ "$r_new" = 1 ] && [ "$r_old" = 0 ] &&
	kt_ok "api-listen :8080 -> :8082, radius-listen :1812 -> :1814 (sockets: $a_old/$a_new, $r_old/$r_new)" ||
	kt_fail "listeners moved? api :8080 $a_old :8082 $a_new, radius :1812 $r_old :1814 $r_new"

# warns SNIPPET REGEX WHAT: the base plus SNIPPET goes through and a line
# of the reply matches REGEX (a setting that could not be applied)
warns() {
	local r
	r=$(reload_with "$1")
	echo "$r" | grep -q "$2" && echo "$r" | grep -q '^reloaded: generation' &&
		kt_ok "$3: the reload goes through, its reply warns" ||
		kt_fail "$3: the reply was: $r"
}
# a listener that cannot bind (its port taken by another listener of
# sluiced's)
reload_with >/dev/null # the base: identity api on :8080, metrics on :9130
warns 'metrics { listen 127.0.0.1:8080 }' \
	'^warning: metrics: cannot listen on 127.0.0.1:8080: Address already in use$' \
	"metrics on the identity api's port"
reload_with >/dev/null
warns 'identity { api-listen 127.0.0.1:9130 }' \
	'^warning: identity api: cannot listen on 127.0.0.1:9130: Address already in use$' \
	"identity api on the metrics port"
r=$(reload_with)
echo "$r" | grep -q '^warning: .*cannot listen' && kt_fail "the base again warns: $r" ||
	kt_ok "back to the base: every listener bound"
# what only the gateway can tell: a file sluiced cannot read, an address
# it does not have; a RADIUS move whose secret cannot be read keeps the
# running listener
warns "directory ldap { $dir bind-dn \"cn=gw,dc=lab,dc=sluice,dc=test\" password-file \"$E/none.secret\" }" \
	"^warning: directory password-file $E/none.secret: No such file or directory; binds to the directory will fail$" \
	"a directory password-file sluiced cannot read"
warns 'portal { listen 198.18.1.99:8444 }' \
	'^warning: portal listen 198.18.1.99:8444: not an address of this gateway' \
	"a portal address the gateway does not have"
reload_with >/dev/null
r=$(reload_with "identity { radius-secret-file \"$E/none.secret\" radius-listen 198.18.1.1:1815 }")
echo "$r" | grep -q "^warning: radius: secret file $E/none.secret: No such file or directory; the listener stays on 198.18.1.1:1812 with its secret$" &&
	[ "$(listening -u 1812)" = 1 ] && [ "$(listening -u 1815)" = 0 ] &&
	kt_ok "radius-listen moved with an unreadable secret: the listener stays on :1812, the reply says so" ||
	kt_fail "radius move without a secret: :1812 $(listening -u 1812) :1815 $(listening -u 1815); reply: $r"
echo "$r" | grep -q '^reloaded: .* [1-9][0-9]* warnings' &&
	kt_ok "the reply's count has the warnings" || kt_fail "the reply's count: $r"
reload_with >/dev/null
warns 'identity { radius-listen 198.18.1.99:1816 }' \
	'^warning: radius: cannot listen on 198.18.1.99:1816: Cannot assign requested address; the listener stays on 198.18.1.1:1812$' \
	"radius-listen moved to an address the gateway lacks"
[ "$(listening -u 1812)" = 1 ] && kt_ok "... and the listener is still on :1812" ||
	kt_fail "radius listener on :1812 after a failed move: $(listening -u 1812)"
reload_with >/dev/null

# queue count: needs a restart; the running queues stay as they are
queues() { lab_exec "$LAB_GW" cat /proc/net/netfilter/nfnetlink_queue | wc -l; }
q0=$(queues)
out=$(reload_with 'queue { count 3 }')
q1=$(queues)
echo "$out" | grep -q "queue count 3: NOT applied: restart sluiced" && [ "$q1" -eq "$q0" ] &&
	kt_ok "queue count 3: said to need a restart, $q1 kernel queues as before" ||
	kt_fail "queue count 3: queues $q0 -> $q1, reply: $out"
reload_with >/dev/null
kill -0 "$KT_PID" && kt_ok "sluiced still running after the reloads" ||
	kt_fail "sluiced died"
kt_done
