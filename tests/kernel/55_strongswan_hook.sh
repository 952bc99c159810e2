#!/usr/bin/env bash
# 55_strongswan_hook — the strongSwan updown hook
# (contrib/hooks/sluice-strongswan) run with the environment charon gives
# it, against a running sluiced's push API: up-client with a virtual IP
# and an EAP identity logs the user in (the staff server reachable),
# up-client-v6 the IPv6 one, down-client logs out (denied again); a DN
# peer identity gives its CN, a client subnet without a virtual IP stands
# as a prefix; an IP peer identity names no user and changes nothing;
# route-* verbs are ignored; the API down never fails the tunnel (exit 0).
. "$(dirname "$0")/lib.sh"
kt_up
TOKEN=$LAB_TMP/api.token
printf 'tok-%s-%s\n' "$LAB_RUN" "$RANDOM" >"$TOKEN"
chmod 600 "$TOKEN"
PORT=18140
conf=$LAB_TMP/ss.conf
cat >"$conf" <<CONF
network clients { 198.18.1.0/24 2001:db8:1::/64 }
network servers { 198.18.2.0/24 2001:db8:2::/64 }
users staff { user carol user dave }
protocol web tcp 80
rule "staff web" allow web from clients to servers users staff
identity { api-listen 127.0.0.1:$PORT api-token-file "$TOKEN" }
queue { fail closed revoke on }
CONF
kt_start "$conf" || kt_done
HOOK=$KT_ROOT/contrib/hooks/sluice-strongswan
hook() { # hook VAR=VALUE...: the hook as charon runs it
	lab_exec "$LAB_GW" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SLUICE_HOOK_CONF=/nonexistent \
		SLUICE_API="${API:-http://127.0.0.1:$PORT}" SLUICE_TOKEN_FILE="$TOKEN" SLUICE_LIFETIME=600 \
		PLUTO_VERSION=1.1 PLUTO_CONNECTION=rw PLUTO_INTERFACE=eth0 PLUTO_REQID=1 \
		PLUTO_ME=198.18.0.1 PLUTO_MY_ID=gw.lab.sluice.test PLUTO_MY_CLIENT=198.18.2.0/24 \
		PLUTO_PEER=203.0.113.9 PLUTO_PEER_PROTOCOL=0 PLUTO_PEER_PORT=0 "$@" \
		sh "$HOOK" 2>>"$LAB_TMP/hook.log"
}
who() {
	ctl identity list --json | python3 -c "
import json,sys
e=[x for x in json.load(sys.stdin) if x['address']=='$1']
print(e[0]['user'], e[0]['source']) if e else print('none')"
}
hook PLUTO_VERB=up-client PLUTO_PEER_ID=carol@lab.sluice.test PLUTO_XAUTH_ID=dave \
	PLUTO_PEER_CLIENT="$LAB_CLI4/32" PLUTO_PEER_SOURCEIP="$LAB_CLI4" PLUTO_PEER_SOURCEIP4_1="$LAB_CLI4" &&
	kt_ok "up-client exit 0" || kt_fail "up-client: $(cat "$LAB_TMP/hook.log")"
[ "$(who $LAB_CLI4)" = "dave api" ] && kt_ok "the EAP identity dave is at the virtual IP $LAB_CLI4" ||
	kt_fail "after up-client: $(ctl identity list) $(tail -2 "$LAB_TMP/hook.log")"
expect_talk "dave's web from the virtual IP is allowed" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
hook PLUTO_VERB=up-client-v6 PLUTO_PEER_ID="C=CH, O=lab, CN=carol" \
	PLUTO_PEER_CLIENT="$LAB_CLI6/128" PLUTO_PEER_SOURCEIP6_1="$LAB_CLI6"
[ "$(who $LAB_CLI6)" = "carol api" ] && kt_ok "a DN peer identity gives its CN, carol, at $LAB_CLI6" ||
	kt_fail "after up-client-v6: $(ctl identity list)"
expect_talk "carol's web over IPv6 is allowed" 5 "$LAB_CLI" TCP6 "$LAB_SRV6" 80
hook PLUTO_VERB=down-client PLUTO_PEER_ID=carol@lab.sluice.test PLUTO_XAUTH_ID=dave \
	PLUTO_PEER_CLIENT="$LAB_CLI4/32" PLUTO_PEER_SOURCEIP="$LAB_CLI4" &&
	kt_ok "down-client exit 0" || kt_fail "down-client: $(cat "$LAB_TMP/hook.log")"
[ "$(who $LAB_CLI4)" = none ] && kt_ok "down-client logged dave out" || kt_fail "after down-client: $(ctl identity list)"
expect_talk "after down-client: denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
# a client subnet without virtual IP: a prefix entry
hook PLUTO_VERB=up-client PLUTO_PEER_ID=dave PLUTO_PEER_CLIENT=198.18.1.0/28
[ "$(who 198.18.1.0/28)" = "dave api" ] && kt_ok "a client subnet stands as the prefix 198.18.1.0/28" ||
	kt_fail "subnet: $(ctl identity list)"
expect_talk "an address in it is dave" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
hook PLUTO_VERB=down-client PLUTO_PEER_ID=dave PLUTO_PEER_CLIENT=198.18.1.0/28
[ "$(who 198.18.1.0/28)" = none ] && kt_ok "down-client removed the prefix" || kt_fail "prefix after down: $(ctl identity list)"
# no user, other verbs, the API down: nothing changes, exit 0
n0=$(ctl identity list --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")
hook PLUTO_VERB=up-client PLUTO_PEER_ID=203.0.113.9 PLUTO_PEER_SOURCEIP="$LAB_CLI4" &&
	hook PLUTO_VERB=route-client PLUTO_PEER_ID=dave PLUTO_PEER_SOURCEIP="$LAB_CLI4" &&
	API=http://127.0.0.1:1 hook PLUTO_VERB=up-client PLUTO_PEER_ID=dave PLUTO_PEER_SOURCEIP="$LAB_CLI4B" &&
	kt_ok "an IP identity, route-client and the API down: exit 0" || kt_fail "a hook exited non-zero"
n1=$(ctl identity list --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")
[ "$n1" = "$n0" ] && [ "$(who $LAB_CLI4)" = none ] && kt_ok "and the table is unchanged ($n0 → $n1 entries)" ||
	kt_fail "table changed: $(ctl identity list)"
grep -q "no user identity" "$LAB_TMP/hook.log" && grep -q "failed" "$LAB_TMP/hook.log" &&
	kt_ok "the hook said why (no user identity; the API failed)" || kt_fail "hook log: $(cat "$LAB_TMP/hook.log")"
kt_done
