#!/usr/bin/env bash
# 16_lookup_chain — the chain that deadlocked ISA
# (LookupAccountName → netlogon → a new connection to the DC → queued behind
# the very decisions waiting for it). Here sluiced reaches the directory
# through a proxy on the gateway (127.0.0.1:3389 → 198.18.4.2:389, as NSS →
# nslcd → LDAP would): the proxy's connection is a new local session that
# itself needs a user-space decision (its socket's uid). Clients fill every
# general decision slot with sessions waiting for that lookup; the proxy's
# session is decided from the reserved local share, the lookup completes,
# and every waiting session is decided.
. "$(dirname "$0")/lib.sh"
. "$KT_ROOT/tests/lab/peers.sh"
kt_up
peers_ldap_up || { kt_fail "slapd did not start"; kt_done; }
# the proxy on the gateway (its outgoing connection is not marked)
PROXY=$(lab_spawn "$LAB_GW" socat TCP4-LISTEN:3389,bind=127.0.0.1,reuseaddr,fork \
	"TCP4:$LAB_DIR4:389")
conf=$LAB_TMP/chain.conf
# first rule: the gateway's own LDAP sessions are allowed by the socket's
# user (root), so each one crosses to sluiced and needs an NSS lookup
sed '/^rule "netops anywhere"/i protocol ldap_gw tcp 389\nusers roots { user root }\nrule "gw ldap by uid" allow ldap_gw from localhost to infra users roots' \
	"$KT_ROOT/examples/lab.conf" |
	sed 's|^directory ldap.*|directory ldap { uri "ldap://127.0.0.1:3389" base "dc=lab,dc=sluice,dc=test" timeout 3s cache-ttl 1s }|' |
	sed 's|^decisions .*|decisions { slots 8 reserve-local 25% per-source 8 deadline 5s }|' >"$conf"
"$SLUICECTL" check -c "$conf" >/dev/null || kt_fail "chain policy invalid"
kt_start "$conf" || kt_done
json() { ctl status --json | python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
ctl identity add "$LAB_CLI4" dave >/dev/null   # dave's groups: only the directory knows

# sluiced's directory connection (made at start, through a proxy child) is
# cut, and the proxy holds still (SIGSTOP: the kernel still accepts on its
# socket): the next search needs a new proxy connection to the directory.
# Six sessions from dave fill the general share (6 of 8 slots), all waiting
# for that one search; then the proxy goes on, and its new outgoing session
# needs a decision slot of its own.
expect_talk "warm-up: dave's first session (directory reached at start)" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
sleep 1.5   # dave's groups leave the cache (cache-ttl 1s)
kill -STOP "$PROXY"
pkill -KILL -P "$PROXY"
pids=()
for i in 1 2 3 4 5 6; do
	(echo x; sleep 0.3) | lab_exec "$LAB_CLI" timeout 8 socat -T 3 - \
		"TCP4:$LAB_SRV4:80,connect-timeout=6" >"$LAB_TMP/flood.$i" 2>/dev/null &
	pids+=($!)
done
sleep 1.2
[ "$(json pending)" -eq 6 ] && [ "$(json slots_available)" -eq 0 ] &&
	kt_ok "six decisions wait for the directory; the general share is full" ||
	kt_fail "pending $(json pending), general slots free $(json slots_available)"
kill -CONT "$PROXY"
wait "${pids[@]}"
n=$(cat "$LAB_TMP"/flood.* | wc -l)
[ "$n" -eq 6 ] && kt_ok "all six sessions completed through the chain" || kt_fail "$n of 6 sessions completed"
ctl sessions | grep -q "gw ldap by uid .*root" && kt_ok "the proxy's LDAP session was decided by uid (root)" ||
	kt_fail "no proxy session: $(ctl sessions)"
[ "$(ctl sessions | grep -c 'staff web .*dave')" -ge 6 ] &&
	kt_ok "dave's six sessions: 'staff web' (groups from the directory)" ||
	kt_fail "dave's sessions: $(ctl sessions)"
[ "$(json reserved_local_used)" -ge 1 ] && kt_ok "the proxy's decision used the reserved local share" ||
	kt_fail "the reserve was not needed (general slots were not full?)"
[ "$(json timed_out)" -eq 0 ] && kt_ok "no decision timed out" || kt_fail "$(json timed_out) timed out"
kt_done
