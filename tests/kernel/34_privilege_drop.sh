#!/usr/bin/env bash
# 34_privilege_drop — sluiced -u USER: after setup the daemon runs as USER
# with CAP_NET_ADMIN and CAP_NET_RAW only (every thread; bounding set
# cleared; no_new_privs), and still does all it does at run time: queued
# decisions and their verdicts, reload with revocation (libnftables and
# iptables-nft-restore), ICMP timeouts changed on reload (net sysctl with
# CAP_NET_ADMIN), a clean stop that removes its rules; alert commands run
# as USER without any capability.
. "$(dirname "$0")/lib.sh"
kt_up
U=nobody
uid=$(id -u "$U")
mkdir -p "$LAB_TMP/out" && chmod 0777 "$LAB_TMP/out"
cat >"$LAB_TMP/alert.sh" <<'SH'
#!/bin/sh
{ id -u; grep -E '^(CapEff|CapPrm|CapInh|CapAmb|NoNewPrivs):' /proc/self/status; } \
	>"$(dirname "$0")/out/alert.$$"
SH
chmod 0755 "$LAB_TMP/alert.sh"
conf=$LAB_TMP/sluice.conf
{ cat "$KT_ROOT/examples/lab.conf"
  echo "alert \"started\" when worker_threads >= 1 rearm manual run \"$LAB_TMP/alert.sh\""
  echo "log { format json file \"$LAB_TMP/out/fw.log\" }"; } >"$conf"
chmod 0644 "$conf"
lab_exec "$LAB_GW" sysctl -qw net.netfilter.nf_conntrack_icmp_timeout=30
SLUICED_USER=$U kt_start "$conf" || kt_done

st() { grep "^$1:" "/proc/$2/status" | awk '{print $2, $3, $4, $5}'; }
[ "$(st Uid "$KT_PID")" = "$uid $uid $uid $uid" ] && kt_ok "runs as $U (real, effective, saved, fs uid $uid)" ||
	kt_fail "uids: $(st Uid "$KT_PID")"
[ "$(st Groups "$KT_PID" | tr -d ' ')" = "" ] && kt_ok "no supplementary groups" || kt_fail "groups: $(st Groups "$KT_PID")"
caps() { grep "^$1:" "/proc/$2/status" | awk '{print $2}'; }
# CAP_NET_ADMIN (12) and CAP_NET_RAW (13)
[ "$(caps CapEff "$KT_PID")" = 0000000000003000 ] && [ "$(caps CapPrm "$KT_PID")" = 0000000000003000 ] &&
	kt_ok "main thread: CAP_NET_ADMIN and CAP_NET_RAW only" || kt_fail "caps: $(grep ^Cap "/proc/$KT_PID/status" | tr '\n' ' ')"
[ "$(caps CapBnd "$KT_PID")" = 0000000000000000 ] && kt_ok "bounding set empty: nothing can be gained back" ||
	kt_fail "CapBnd $(caps CapBnd "$KT_PID")"
[ "$(caps NoNewPrivs "$KT_PID")" = 1 ] && kt_ok "no_new_privs" || kt_fail "NoNewPrivs $(caps NoNewPrivs "$KT_PID")"
bad=0 n=0
for t in /proc/"$KT_PID"/task/*; do
	n=$((n + 1))
	[ "$(grep ^Uid: "$t/status" | awk '{print $3}')" = "$uid" ] || bad=$((bad + 1))
	case $(grep ^CapEff: "$t/status" | awk '{print $2}') in
	0000000000003000 | 0000000000000000) ;;
	*) bad=$((bad + 1)) ;;
	esac
done
[ "$bad" -eq 0 ] && kt_ok "all $n threads run as $U with at most the two capabilities" || kt_fail "$bad threads keep more"
grep -q "running as $U (uid $uid) with CAP_NET_ADMIN and CAP_NET_RAW only" "$LAB_TMP/sluiced.log" &&
	kt_ok "the start says so" || kt_fail "no 'running as' line"

# a queued decision: a worker sends the verdict and marks the connection
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
q0=$(qseq)
h=$(hold "$LAB_CLI" TCP4 "$LAB_SRV4" 80 20)
sleep 1.5
a=$(held "$h")
[ "$a" -ge 3 ] && [ "$(qseq)" -gt "$q0" ] && kt_ok "carol's web session queued and allowed ($a echoes)" ||
	kt_fail "queued session: $a echoes, qseq $q0 -> $(qseq)"
expect_talk "ssh to the servers still denied by the kernel" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 22

# reload: new ruleset (nft and the xt chains), revocation, ICMP timeout
sed -i '/^rule "staff web"/d; /^rule "work sites"/d; s/udp-timeout 60s/udp-timeout 45s/' "$conf"
out=$(ctl reload 2>&1) && kt_ok "reload as $U: $(echo "$out" | tail -1)" || kt_fail "reload: $out"
grep -q 'not permitted' "$LAB_TMP/sluiced.log" && kt_fail "something was not permitted: $(grep 'not permitted' "$LAB_TMP/sluiced.log")" ||
	kt_ok "nothing in the log was refused for want of privilege"
[ "$(stat -c %u "$KT_SOCK")" = "$uid" ] && kt_ok "the control socket belongs to $U" || kt_fail "socket owner $(stat -c %u "$KT_SOCK")"
# the firewall log root made at the start is the user's: the reload, run
# as the user, opened it again
[ "$(stat -c %u "$LAB_TMP/out/fw.log")" = "$uid" ] && ! echo "$out" | grep -q '^warning: firewall log' &&
	kt_ok "the firewall log belongs to $U and the reload opened it again" ||
	kt_fail "firewall log owner $(stat -c %u "$LAB_TMP/out/fw.log"); reload reply: $out"
sleep 1
b=$(held "$h"); sleep 1; c=$(held "$h")
[ "$c" -eq "$b" ] && kt_ok "carol's session revoked (conntrack delete as $U)" || kt_fail "session still flowing ($b -> $c)"
expect_talk "a new web session is now denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
[ "$(lab_exec "$LAB_GW" sysctl -n net.netfilter.nf_conntrack_icmp_timeout)" = 45 ] &&
	kt_ok "ICMP timeout set on reload (45 s)" || kt_fail "icmp timeout $(lab_exec "$LAB_GW" sysctl -n net.netfilter.nf_conntrack_icmp_timeout)"
lab_exec "$LAB_GW" iptables-nft-save | grep -q 'NFQUEUE' && kt_ok "the xt NFQUEUE chains are in place" ||
	kt_fail "no NFQUEUE rule after reload"
# a control block the user cannot apply (the socket given to root): the
# reply warns and the socket keeps its access whole, its mode too
m0=$(stat -c %a "$KT_SOCK")
echo 'control { socket-owner root socket-mode 0640 }' >>"$conf"
out=$(ctl reload 2>&1)
echo "$out" | grep -q '^warning: control socket .*: Operation not permitted; the control socket keeps its access' &&
	[ "$(stat -c %a "$KT_SOCK")" = "$m0" ] && [ "$(stat -c %u "$KT_SOCK")" = "$uid" ] &&
	kt_ok "control socket-owner root as $U: the reply warns, the socket keeps mode $m0 and owner $U" ||
	kt_fail "control socket-owner root as $U: mode $(stat -c %a "$KT_SOCK") (was $m0), owner $(stat -c %u "$KT_SOCK"); reply: $out"
sed -i '/^control { socket-owner root/d' "$conf"
ctl reload >/dev/null 2>&1 || kt_fail "reload back failed"

# the alert command: run as the user, no capability at all
f=""
# (the file exists from the redirect on; its last line, NoNewPrivs, says
# the command is through)
for i in $(seq 50); do
	f=$(ls "$LAB_TMP"/out/alert.* 2>/dev/null | head -1)
	[ -n "$f" ] && grep -q '^NoNewPrivs:' "$f" && break
	sleep 0.1
done
if [ -n "$f" ]; then
	[ "$(head -1 "$f")" = "$uid" ] && grep -q '^CapEff:.*0000000000000000' "$f" &&
		grep -q '^CapPrm:.*0000000000000000' "$f" && grep -q '^CapAmb:.*0000000000000000' "$f" &&
		kt_ok "alert command ran as $U without capabilities" || kt_fail "alert command: $(tr '\n' ' ' <"$f")"
else
	kt_fail "the alert command did not run"
fi

# a clean stop (lab.conf: on-exit remove): rules gone, ICMP timeout back
kt_stop
kill -0 "$KT_PID" 2>/dev/null && kt_fail "sluiced did not stop" || kt_ok "stopped"
lab_exec "$LAB_GW" nft list tables | grep -q 'inet sluice' && kt_fail "table inet sluice left" ||
	kt_ok "table removed at stop"
lab_exec "$LAB_GW" iptables-nft-save | grep -q SLUICE && kt_fail "SLUICE chains left" ||
	kt_ok "xt chains removed at stop"
[ "$(lab_exec "$LAB_GW" sysctl -n net.netfilter.nf_conntrack_icmp_timeout)" = 30 ] &&
	kt_ok "ICMP timeout put back (30 s)" || kt_fail "icmp timeout not restored"

# a user that does not exist, or root: the start fails at once
rm -f "$KT_SOCK"
out=$(lab_exec "$LAB_GW" "$SLUICED" -f -u no-such-user-sluice -c "$conf" -s "$KT_SOCK" 2>&1); rc=$?
[ "$rc" -ne 0 ] && echo "$out" | grep -q 'no-such-user-sluice' && kt_ok "-u with an unknown user: exit $rc" ||
	kt_fail "unknown user: rc $rc: $out"
out=$(lab_exec "$LAB_GW" "$SLUICED" -f -u root -c "$conf" -s "$KT_SOCK" 2>&1); rc=$?
[ "$rc" -ne 0 ] && kt_ok "-u root refused: exit $rc" || kt_fail "-u root accepted"
kt_done
