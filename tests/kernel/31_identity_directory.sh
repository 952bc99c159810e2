#!/usr/bin/env bash
# 31_identity_directory — the directory, against the real slapd of the lab
# (tests/identity/slapd_lab.sh: anonymous searches return at most 500
# entries). Membership is as complete as the directory's: erin's primary
# group (gidNumber, no memberUid) counts; Frank, in 600 groups, the 600th
# "contractors", is denied by the rule naming that group (the service asks
# only about the policy's groups, so the server's limit cannot cut the
# answer); any spelling of an account (case, DOMAIN\user, user@REALM,
# spaces) is the one user the directory names. Reload keeps what it still
# allows: an unchanged reload revokes nothing (a directory user, a table
# user, the gateway's own session by socket uid); a policy without the
# gateway's rule cuts only that session; a logout then cuts dave's; staff
# denied cuts erin's, judged with the groups the directory gave. Over
# TLS (the lab slapd with a throwaway CA): ldaps:// and StartTLS verified
# against tls-ca work, a CA that signed nothing is refused; check and the
# daemon refuse the same URIs.
. "$(dirname "$0")/lib.sh"
. "$KT_ROOT/tests/lab/peers.sh"
kt_up
SLAPD_TLS_IP=$LAB_DIR4 peers_ldap_up || { kt_fail "slapd did not start"; kt_done; }
lab_spawn "$LAB_SRV" timeout 120 socat TCP4-LISTEN:9090,reuseaddr,fork EXEC:cat >/dev/null
conf=$LAB_TMP/identity.conf
cat >"$conf" <<CONF
network clients { 198.18.1.0/24 2001:db8:1::/64 }
network servers { 198.18.2.0/24 2001:db8:2::/64 }
network infra   { 198.18.4.0/24 }
users staff       { group staff }
users contractors { group Contractors }
users roots       { user root }
protocol web  tcp 80
protocol alt  tcp 9090
protocol ldap tcp 389
rule "no contractors" deny  web from clients to servers users contractors
rule "staff web"      allow web from clients to servers users staff
rule "members web"    allow web from clients to servers users authenticated
rule "root alt"       allow alt from localhost to servers users roots
rule "lookups"        allow ldap from localhost to infra
directory ldap { uri "ldap://$LAB_DIR4:389" base "$SLAPD_SUFFIX" schema rfc2307 timeout 1s cache-ttl 60s }
decisions { deadline 2s }
queue { fail closed revoke on }
log { file "$LAB_TMP/fw.log" }
CONF
"$SLUICECTL" check -c "$conf" >/dev/null && kt_ok "the policy checks clean" || kt_fail "check: $("$SLUICECTL" check -c "$conf" 2>&1)"
kt_start "$conf" || kt_done

# the primary group, and the spellings of one account
ctl identity add "$LAB_CLI4" 'LAB\Erin ' >/dev/null
expect_talk "erin (staff by gidNumber only, spelled 'LAB\\Erin ') is allowed" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
ctl sessions | grep -q "staff web .* erin " && kt_ok "the session's user is the directory's 'erin'" ||
	kt_fail "sessions: $(ctl sessions)"
ctl sessions --json | python3 -c '
import json, sys
s = [x for x in json.load(sys.stdin)["sessions"] if x["user"] == "erin"]
sys.exit(0 if s and s[0]["identity"] == "directory" and s[0]["groups"] == ["staff"] else 1)' &&
	kt_ok "remembered with its facts: groups [staff] from the directory" ||
	kt_fail "sessions --json: $(ctl sessions --json)"

# 600 groups: the one the policy names is found whatever the size limit
n=$(lab_exec "$LAB_DIR" ldapsearch -x -LLL -H "ldap://$LAB_DIR4" -b "$SLAPD_SUFFIX" '(memberUid=Frank)' cn 2>/dev/null | grep -c '^cn:')
[ "$n" -eq 500 ] && kt_ok "the directory answers an anonymous search with $n of Frank's 600 groups" ||
	kt_fail "slapd returned $n groups (the lab expects its limit of 500)"
ctl identity add "$LAB_CLI4B" 'frank@LAB.SLUICE.TEST' >/dev/null
expect_talk "Frank (contractors is his 600th group) is denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80 "$LAB_CLI4B"
sleep 0.3
grep '"Frank"' "$LAB_TMP/fw.log" | grep -q '"no contractors"' &&
	kt_ok "by the rule naming his group, as the directory names him" ||
	kt_fail "Frank's record: $(grep -i frank "$LAB_TMP/fw.log")"
ctl identity add "$LAB_CLI4B" carol >/dev/null
expect_talk "carol (staff, not a contractor) is allowed" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80 "$LAB_CLI4B"
grep -q "incomplete" "$LAB_TMP/sluiced.log" && kt_fail "an answer was incomplete: $(grep incomplete "$LAB_TMP/sluiced.log")" ||
	kt_ok "no answer was incomplete (only the policy's groups were asked about)"

# reload keeps what it still allows
ctl identity add "$LAB_CLI4B" dave --groups staff >/dev/null
he=$(hold "$LAB_CLI" TCP4 "$LAB_SRV4" 80 20)
hd=$(hold "$LAB_CLI" TCP4 "$LAB_SRV4" 80 20 "$LAB_CLI4B")
hr=$(hold "$LAB_GW" TCP4 "$LAB_SRV4" 9090 20)
sleep 2
e0=$(held "$he") d0=$(held "$hd") r0=$(held "$hr")
[ "$e0" -ge 3 ] && [ "$d0" -ge 3 ] && [ "$r0" -ge 3 ] &&
	kt_ok "three long sessions flow (erin $e0, dave $d0, root $r0 echoes)" ||
	kt_fail "long sessions: erin $e0, dave $d0, root $r0"
out=$(ctl reload 2>&1)
echo "$out" | grep -q " 0 sessions revoked" && kt_ok "an unchanged reload revokes nothing" ||
	kt_fail "unchanged reload: $out"
sleep 1.5
e1=$(held "$he") d1=$(held "$hd") r1=$(held "$hr")
[ "$e1" -gt $((e0 + 3)) ] && [ "$d1" -gt $((d0 + 3)) ] && [ "$r1" -gt $((r0 + 3)) ] &&
	kt_ok "all three flow on (erin $e0→$e1, dave $d0→$d1, root $r0→$r1)" ||
	kt_fail "after the unchanged reload: erin $e0→$e1, dave $d0→$d1, root $r0→$r1"

# a policy without the gateway's rule: only root's session goes
sed -i '/^rule "root alt"/d' "$conf"
out=$(ctl reload 2>&1)
echo "$out" | grep -q " 1 sessions revoked" && kt_ok "without 'root alt' one session is revoked" ||
	kt_fail "reload without root alt: $out"
sleep 1.5
e2=$(held "$he") r2=$(held "$hr")
sleep 1
e3=$(held "$he") r3=$(held "$hr")
[ "$r3" -le $((r2 + 1)) ] && kt_ok "root's session is cut ($r2 → $r3)" || kt_fail "root's session flows on ($r2 → $r3)"
[ "$e3" -gt $((e2 + 2)) ] && kt_ok "erin's session flows on ($e2 → $e3)" || kt_fail "erin's session stalled ($e2 → $e3)"

# a logout: dave's address has no user now, his session goes (revoked when
# sluiced sees the entry go, or at the reload that follows, whichever
# comes first: the property is that exactly his session is revoked)
revoked() { ctl status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["revoked"])'; }
rv0=$(revoked)
ctl identity del "$LAB_CLI4B" >/dev/null
out=$(ctl reload 2>&1)
rv1=$(revoked)
[ "$rv1" -eq $((rv0 + 1)) ] && kt_ok "after dave's logout his session is revoked (revoked $rv0 → $rv1)" ||
	kt_fail "after logout: revoked $rv0 → $rv1; reload: $out"
# staff denied: erin's session is judged with the groups the directory
# gave her decision (not asked again, not "none"), and cut
sed -i 's|^rule "no contractors"|rule "no staff" deny web from clients to servers users staff\n&|' "$conf"
out=$(ctl reload 2>&1)
echo "$out" | grep -q " 1 sessions revoked" && kt_ok "with staff denied, erin's session (staff from the directory) is revoked" ||
	kt_fail "reload with staff denied: $out"
sleep 1
e4=$(held "$he"); sleep 1; e5=$(held "$he")
[ "$e5" -le $((e4 + 1)) ] && kt_ok "erin's session is cut ($e4 → $e5)" || kt_fail "erin's session flows on ($e4 → $e5)"
sed -i '/^rule "no staff"/d' "$conf"

# over TLS: check and the daemon agree; ldaps:// and StartTLS verify the
# directory against tls-ca, a CA that signed nothing is refused
ca=$LAB_TMP/ldap/tls/ca.pem other=$LAB_TMP/ldap/tls/other-ca.pem
ctl identity add "$LAB_CLI4" erin >/dev/null
tls_try() { # tls_try DESCRIPTION LINES DIRECTORY-SETTINGS
	sed -i "s|^directory ldap .*|directory ldap { $3 base \"$SLAPD_SUFFIX\" timeout 1s cache-ttl 0 }|" "$conf"
	if ! "$SLUICECTL" check -c "$conf" >/dev/null 2>&1; then
		kt_fail "$1: check refuses it: $("$SLUICECTL" check -c "$conf" 2>&1)"; return
	fi
	ctl reload >/dev/null 2>&1 || { kt_fail "$1: reload refused"; return; }
	expect_talk "$1" "$2" "$LAB_CLI" TCP4 "$LAB_SRV4" 80
}
sed -i 's|^rule "lookups".*|protocol ldaps tcp 636\nrule "lookups" allow { ldap ldaps } from localhost to infra|' "$conf"
tls_try "ldaps:// with the lab's CA: erin allowed" 5 "uri \"ldaps://$LAB_DIR4\" tls-ca $ca"
tls_try "StartTLS with the lab's CA: erin allowed" 5 "uri \"ldap://$LAB_DIR4\" starttls yes tls-ca $ca"
tls_try "ldaps:// with a CA that signed nothing: erin denied" 0 "uri \"ldaps://$LAB_DIR4\" tls-ca $other"
grep -q "TLS with ldaps://$LAB_DIR4" "$LAB_TMP/sluiced.log" && kt_ok "the refused certificate is logged" ||
	kt_fail "no TLS failure in the log"
sed -i "s|^directory ldap .*|directory ldap { uri \"ldaps://dc1.lab\" base \"x\" }|" "$conf"
"$SLUICECTL" check -c "$conf" >/dev/null 2>&1 && kt_fail "check accepts a directory by name" ||
	kt_ok "check refuses a directory named by host name, as the daemon does"
ctl reload >/dev/null 2>&1 && kt_fail "reload accepts a directory by name" ||
	kt_ok "and so does reload"
kt_done
