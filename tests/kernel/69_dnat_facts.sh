#!/usr/bin/env bash
# 69_dnat_facts — a session another program's DNAT sent elsewhere keeps the
# facts of its decision: sluiced keeps them under the key the filter hooks
# saw (after DNAT), and revocation, the session list and the session-end
# record look them up by that key, not by the conntrack entry's original
# tuple. The gateway's own web session, sent by an output DNAT from
# 198.18.2.3:8082 to the server's :80, decided by "root web" (users root,
# IDSRC_LOCAL): `sluicectl sessions` names root; a reload that puts
# "no root" (deny, users root) first cuts it, as it cuts the same session
# without DNAT (was: its user not found, "no root" waited on the identity
# and the session was kept, allowed, under a policy that denies it). The
# firewall log's session-end records of the two sessions it cut name root
# (was: user null, the facts forgotten at the cut, before the end was
# logged) and say who ended them: action deny, rule "no root" (was: allow,
# and the rule the old rule's id names in the new policy).
. "$(dirname "$0")/lib.sh"
kt_up
conf=$LAB_TMP/dnatf.conf
write_conf() { # $1: a rule before "root web"
	cat >"$conf" <<CONF
network servers { 198.18.2.0/24 2001:db8:2::/64 }
users rootu { user root }
protocol web tcp { 80 8080 }
log { format json file "$LAB_TMP/fw.log" }
$1
rule "root web" allow web from localhost to servers users rootu
CONF
}
write_conf ""
lab_exec "$LAB_GW" nft -f - <<'NFT' || kt_fail "another program's output DNAT"
table ip othernat {
	chain out {
		type nat hook output priority -100; policy accept;
		tcp dport 8082 dnat to 198.18.2.2:80
	}
}
NFT
kt_start "$conf" || kt_done
d=$(hold "$LAB_GW" TCP4 "$LAB_SRV4B" 8082 30 "$LAB_GW_SRV4:41903")
n=$(hold "$LAB_GW" TCP4 "$LAB_SRV4" 8080 30 "$LAB_GW_SRV4:41904")
for i in $(seq 50); do [ "$(held "$d")" -ge 3 ] && [ "$(held "$n")" -ge 3 ] && break; sleep 0.1; done
[ "$(held "$d")" -ge 3 ] && [ "$(held "$n")" -ge 3 ] && kt_ok "the gateway's sessions pass, one through another program's DNAT" ||
	kt_fail "sessions: dnat $(held "$d"), direct $(held "$n") echoes"
s=$(ctl sessions --json | jq -c ".sessions[] | select(.session | test(\":41903 \"))" 2>/dev/null)
[ "$(jq -r .user <<<"$s" 2>/dev/null)" = root ] && kt_ok "sluicectl sessions names the DNAT'd session's user: $s" ||
	kt_fail "sluicectl sessions, the DNAT'd session: $s"
write_conf 'rule "no root" deny web from localhost to servers users rootu'
ctl reload >/dev/null || kt_fail "reload: $(ctl reload 2>&1)"
sleep 1; da=$(held "$d"); na=$(held "$n"); sleep 2; db=$(held "$d"); nb=$(held "$n")
[ "$nb" = "$na" ] && kt_ok "revocation cuts the session without DNAT ($na -> $nb echoes)" ||
	kt_fail "the session without DNAT survived: $na -> $nb echoes"
[ "$db" = "$da" ] && kt_ok "and the one another program's DNAT sent to the server ($da -> $db echoes)" ||
	kt_fail "the DNAT'd session survived a reload that denies it: $da -> $db echoes"
ends() { # the session-end records of the gateway's ports 41903 and 41904, a line each
	python3 - "$LAB_TMP/fw.log" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("event") == "session-end" and r.get("client", "").endswith((":41903", ":41904")):
        print(json.dumps({k: r.get(k) for k in ("client", "destination", "rule", "user", "action")}))
PY
}
for i in $(seq 50); do [ "$(ends | wc -l)" -ge 2 ] && break; sleep 0.2; done
e=$(ends)
[ "$(wc -l <<<"$e")" = 2 ] && [ "$(grep -c '"rule": "no root", "user": "root", "action": "deny"' <<<"$e")" = 2 ] &&
	kt_ok "the end records of the sessions revocation cut name their user, and the rule that denied them: $(tr '\n' ' ' <<<"$e")" ||
	kt_fail "end records of the cut sessions: $e"
kt_stop
kt_done
