#!/usr/bin/env bash
# 14_names_identity — names and identities, against a real dnsmasq and a real
# slapd in their namespaces: users and groups allow and deny as the policy
# says (groups from the directory, the gateway's own traffic by socket uid
# through NSS); names allow and deny by forward-confirmed reverse name; a
# spoofed PTR (no forward match) does not match.
. "$(dirname "$0")/lib.sh"
. "$KT_ROOT/tests/lab/peers.sh"
kt_up
peers_dns_up || { kt_fail "dnsmasq did not start"; kt_done; }
peers_ldap_up || { kt_fail "slapd did not start"; kt_done; }
lab_spawn "$LAB_SRV" timeout 120 socat TCP4-LISTEN:9090,reuseaddr,fork EXEC:cat >/dev/null
conf=$(conf_with 'protocol alt tcp 9090' 'users roots { user root }' \
	'rule "root alt" allow alt from localhost to servers users roots')
kt_start "$conf" || kt_done

# names: nobody is identified, so rules 1-3 are out and "work sites" needs
# the destination's name
queued_by "web to www.lab.sluice.test ($LAB_SRV4): confirmed name" 1 \
	expect_talk "unidentified client to a work site is allowed" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
expect_talk "the same over IPv6" 5 "$LAB_CLI" TCP6 "$LAB_SRV6" 80
expect_talk "web to $LAB_SRV4B (PTR says www, not confirmed) is denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4B" 80
expect_talk "the spoofed PTR over IPv6 is denied too" 0 "$LAB_CLI" TCP6 "$LAB_SRV6B" 80
ctl sessions | grep -q "work sites .*www.lab.sluice.test" && kt_ok "sessions shows the name" ||
	kt_fail "sessions: $(ctl sessions)"
# www is an exact name of the domain set: resolved ahead of time, so the
# decision needed no reverse lookup; the spoofed address needed one
n=$(grep -c "query\[PTR\] 2.2.18.198" "$LAB_TMP/dns/queries.log")
[ "$n" -eq 0 ] && kt_ok "no PTR query for the prefetched $LAB_SRV4" || kt_fail "$n PTR queries for $LAB_SRV4"
grep -q "query\[A\] www.lab.sluice.test" "$LAB_TMP/dns/queries.log" &&
	kt_ok "www.lab.sluice.test was resolved ahead of time" || kt_fail "no prefetch query"
n=$(grep -c "query\[PTR\] 3.2.18.198" "$LAB_TMP/dns/queries.log")
[ "$n" -ge 1 ] && kt_ok "$LAB_SRV4B needed a reverse lookup ($n PTR)" || kt_fail "no PTR for $LAB_SRV4B"
expect_talk "again to the spoofed address" 0 "$LAB_CLI" TCP4 "$LAB_SRV4B" 80
m=$(grep -c "query\[PTR\] 3.2.18.198" "$LAB_TMP/dns/queries.log")
[ "$m" -eq "$n" ] && kt_ok "the second time came from the negative cache ($n then $m PTR)" ||
	kt_fail "PTR asked again ($n then $m)"

# groups from the directory: the address table gives only the user
ctl identity add "$LAB_CLI4" dave >/dev/null
queued_by "dave (staff in LDAP) to ssh: rule 1 asks, the directory says staff" 1+ \
	expect_talk "dave's ssh is denied (not netops)" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 22
expect_talk "dave's voice (UDP, staff) is allowed" 5 "$LAB_CLI" UDP4 "$LAB_SRV4" 5301
ctl sessions | grep -q "staff voice .*dave" && kt_ok "sessions: dave under 'staff voice'" ||
	kt_fail "sessions: $(ctl sessions)"
ctl identity add "$LAB_CLI4B" alice >/dev/null
expect_talk "alice (netadmins in LDAP) may ssh" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 22 "$LAB_CLI4B"
ctl identity add "$LAB_CLI4B" mallory >/dev/null
expect_talk "mallory (unknown to the directory) may not" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 22 "$LAB_CLI4B"

# the gateway's own traffic: the socket's uid (0) → NSS → root
queued_by "the gateway (uid 0) to :9090: one crossing on the output hook" 1 \
	expect_talk "root's session from the gateway is allowed" 5 "$LAB_GW" TCP4 "$LAB_SRV4" 9090
got=$( (echo hi; sleep 0.3) | lab_exec "$LAB_GW" runuser -u nobody -- \
	timeout 5 socat -T 2 - "TCP4:$LAB_SRV4:9090,connect-timeout=2" 2>/dev/null | wc -l)
[ "$got" -eq 0 ] && kt_ok "nobody (uid 65534) from the gateway is denied" ||
	kt_fail "nobody's session went through"

# a policy file whose path is not UTF-8 (a byte 0xff): the identity table
# is still saved at a stop and read back at the next start
odd=$LAB_TMP/$'pol\xff'.conf
cp "$conf" "$odd"
kt_stop && kt_start "$odd" || kt_fail "sluiced did not start on $odd"
ctl identity add "$LAB_CLI4" erin --groups staff >/dev/null
kt_stop && kt_start "$odd" || kt_fail "sluiced did not start again on $odd"
ctl identity list | grep -q "erin" && kt_ok "with a policy path that is not UTF-8 the table was saved and read back" ||
	kt_fail "erin not read back: $(grep identities "$LAB_TMP/sluiced.log" | tail -3)"
kt_done
