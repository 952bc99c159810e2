#!/usr/bin/env bash
# 70_cut_facts — the facts (user, name) of a session that revocation cut
# go with it: a later session on the same addresses and ports, which
# sluiced decides with no facts (a header-only rule), is not taken for the
# cut one's user. root's UDP session from the gateway (S1, :41910),
# decided by "root voice" (users root), is cut by a reload that puts "no
# root" first and turns the firewall log on (S1's conntrack entry was made
# before anything listened to conntrack events, so its end never comes:
# nf_conntrack_events 2). Then nobody's session on the same 5-tuple (S2)
# and on another port (S3), both allowed in the kernel by "any voice":
# `sluicectl sessions` names no user for S2, and a reload that puts "no
# root" first again keeps S2 as it keeps S3 (was, with the facts left for
# an end record that never came: S2 listed as root's, and cut).
. "$(dirname "$0")/lib.sh"
kt_up
conf=$LAB_TMP/cutf.conf
write_conf() { # $1: the log line or "", then the rules
	local log=$1; shift
	printf '%s\n' 'network servers { 198.18.2.0/24 2001:db8:2::/64 }' \
		'users rootu { user root }' 'protocol voice udp 5301' "$log" "$@" >"$conf"
}
LOG="log { format json file \"$LAB_TMP/fw.log\" }"
# udp_from PORT SECS [USER-ID]: a UDP session from the gateway's
# $LAB_GW_SRV4:PORT to the server's echo on 5301, a datagram every 0.2 s
# for SECS seconds, as root or as USER-ID; prints the file its echoes go to
udp_from() {
	local out=$LAB_TMP/udp.$1.$RANDOM as=()
	[ -n "${3:-}" ] && as=(setpriv --reuid="$3" --regid="$3" --clear-groups)
	( (for i in $(seq $(($2 * 5))); do echo "tick $i"; sleep 0.2; done) |
		lab_exec "$LAB_GW" "${as[@]}" timeout $(($2 + 3)) socat -T 2 - \
			"UDP4:$LAB_SRV4:5301,bind=$LAB_GW_SRV4:$1" >"$out" 2>/dev/null ) \
		</dev/null >/dev/null 2>&1 &
	lab_register_pid $!
	echo "$out"
}
n() { wc -l <"$1"; }
user_of() { ctl sessions --json | jq -r ".sessions[] | select(.session | test(\":$1 \")) | .user" 2>/dev/null | head -1; }

write_conf "" 'rule "root voice" allow voice from localhost to servers users rootu'
kt_start "$conf" || kt_done
s1=$(udp_from 41910 1)
for i in $(seq 30); do [ "$(n "$s1")" -ge 3 ] && break; sleep 0.1; done
[ "$(user_of 41910)" = root ] && kt_ok "root's session S1 is listed as root's" ||
	kt_fail "S1: $(n "$s1") echoes, user $(user_of 41910)"
sleep 1.5 # S1's client is done; its entry lives on (the UDP timeout)
write_conf "$LOG" 'rule "no root" deny voice from localhost to servers users rootu' \
	'rule "root voice" allow voice from localhost to servers users rootu'
r=$(ctl reload 2>&1)
grep -q '1 sessions revoked' <<<"$r" && kt_ok "a reload that denies it cuts S1: $r" || kt_fail "reload: $r"
sleep 2.5 # S1's socat has exited
write_conf "$LOG" 'rule "any voice" allow voice from localhost to servers'
ctl reload >/dev/null || kt_fail "reload to \"any voice\""
s2=$(udp_from 41910 8 65534)
s3=$(udp_from 41911 8 65534)
for i in $(seq 40); do [ "$(n "$s2")" -ge 3 ] && [ "$(n "$s3")" -ge 3 ] && break; sleep 0.1; done
u2=$(user_of 41910); u3=$(user_of 41911)
[ "$(n "$s2")" -ge 3 ] && [ "$u2" = null ] && [ "$u3" = null ] &&
	kt_ok "nobody's S2, on S1's addresses and ports, is listed with no user, as S3 is" ||
	kt_fail "S2: $(n "$s2") echoes, user $u2; S3: user $u3"
write_conf "$LOG" 'rule "no root" deny voice from localhost to servers users rootu' \
	'rule "any voice" allow voice from localhost to servers'
r=$(ctl reload 2>&1)
sleep 1; a2=$(n "$s2"); a3=$(n "$s3"); sleep 2; b2=$(n "$s2"); b3=$(n "$s3")
[ "$b2" -gt "$a2" ] && [ "$b3" -gt "$a3" ] && grep -q '0 sessions revoked' <<<"$r" &&
	kt_ok "a reload that denies root's voice keeps S2 as it keeps S3 ($a2 -> $b2, $a3 -> $b3 echoes)" ||
	kt_fail "S2 $a2 -> $b2, S3 $a3 -> $b3 echoes; $r"
kt_stop
kt_done
