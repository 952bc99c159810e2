#!/usr/bin/env bash
# 48_dns_verifier — sluiced watches its own resolver with `dns` verifiers
# (a dead resolver is what stalled TMG), against a real dnsmasq on the lab's
# DNS host (198.18.3.2, the `resolver { servers }` of examples/lab.conf):
#   - an A check and an AAAA check with the expected address are up, and
#     so is the one `resolver { verify-name }` makes for the resolver's
#     server (resolver/198.18.3.2); `sluicectl verifiers` shows method dns
#     and the target; verifiers_down 0, the alert verifier-down quiet;
#   - dnsmasq stalls (SIGSTOP): the three checks go down as timeouts,
#     `verifiers_down` counts them and the default alert verifier-down
#     fires;
#   - dnsmasq resumes (SIGCONT): all are up again after `rise` answers,
#     `verifiers_down` is 0 and the alert clears;
#   - a reload adds a check for a name the server lacks: down, dns error,
#     NXDOMAIN; the others keep their state.
. "$(dirname "$0")/lib.sh"
. "$KT_ROOT/tests/lab/peers.sh"

command -v dnsmasq >/dev/null || { echo "$KT_NAME: SKIP: no dnsmasq"; exit 77; }
kt_up
T=$LAB_TMP/dnsv
mkdir -p "$T"
NAME=www.lab.sluice.test
cat >"$T/dnsmasq.conf" <<CONF
no-resolv
no-hosts
no-daemon
bind-interfaces
listen-address=$LAB_DNS4,$LAB_DNS6
port=53
local=/lab.sluice.test/
host-record=$NAME,$LAB_SRV4,$LAB_SRV6
CONF
peers_dnsmasq "$T/dnsmasq.conf" || { kt_fail "dnsmasq did not start"; kt_done; }
DNS_PID=$PEERS_DNS_PID

conf=$(conf_with \
	"resolver { verify-name $NAME verify-every 1s }" \
	"verifier resolver-a dns $LAB_DNS4 name $NAME every 1s timeout 500ms rise 2 fall 1" \
	"verifier resolver-aaaa dns $LAB_DNS6 name $NAME type aaaa answer $LAB_SRV6 every 1s timeout 500ms rise 2 fall 1")
kt_start "$conf" || kt_done

# field NAME KEY: KEY of verifier NAME in `verifiers --json` ("" if none)
field() {
	ctl verifiers --json 2>/dev/null | python3 -c '
import json, sys
for v in json.load(sys.stdin)["verifiers"]:
    if v["name"] == sys.argv[1]:
        print(v.get(sys.argv[2]) or "")' "$1" "$2"
}
# wait_field NAME KEY VALUE SECONDS: polls every 0.1 s
wait_field() {
	local i
	for i in $(seq $(($4 * 10))); do
		[ "$(field "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}
# wait_counter NAME VALUE SECONDS: polls every 0.1 s (the gauges follow the
# verifiers at the next sample); prints the last value seen
wait_counter() {
	local i v
	for i in $(seq $(($3 * 10))); do
		v=$(counter "$1")
		[ "$v" = "$2" ] && break
		sleep 0.1
	done
	echo "$v"
	[ "$v" = "$2" ]
}

wait_field resolver-a state up 10 && wait_field resolver-aaaa state up 10 &&
	wait_field "resolver/$LAB_DNS4" state up 10 &&
	kt_ok "A and AAAA checks of the resolver up, and resolver/$LAB_DNS4 ($(field "resolver/$LAB_DNS4" target))" ||
	kt_fail "resolver checks not up: $(ctl verifiers)"
line=$(ctl verifiers | grep '^resolver-a ')
echo "$line" | grep -q " dns  *$LAB_DNS4:53 $NAME A  *up " &&
	kt_ok "sluicectl verifiers: $(echo $line | cut -c1-80)" ||
	kt_fail "verifiers line: $line"
[ "$(field resolver-aaaa target)" = "[$LAB_DNS6]:53 $NAME AAAA =$LAB_SRV6" ] &&
	kt_ok "AAAA target: $(field resolver-aaaa target)" ||
	kt_fail "AAAA target: $(field resolver-aaaa target)"
v=$(wait_counter verifiers_down 0 10) && kt_ok "verifiers_down $v" ||
	kt_fail "verifiers_down $v, want 0"
ctl alerts | grep -q "^verifier-down  *ok " && kt_ok "verifier-down quiet" ||
	kt_fail "alerts: $(ctl alerts)"

# ---- the resolver stalls ------------------------------------------------------------
kill -STOP "$DNS_PID"
wait_field resolver-a state down 10 && wait_field resolver-aaaa state down 10 &&
	wait_field "resolver/$LAB_DNS4" state down 10 &&
	[ "$(field resolver-a last)" = timeout ] &&
	[ "$(field "resolver/$LAB_DNS4" last)" = timeout ] &&
	kt_ok "dnsmasq stalled: all three down ($(field resolver-a last): $(field resolver-a detail))" ||
	kt_fail "stalled: $(ctl verifiers)"
v=$(wait_counter verifiers_down 3 10) && kt_ok "verifiers_down $v" ||
	kt_fail "verifiers_down $v, want 3"
for i in $(seq 100); do ctl alerts | grep -q "verifier-down.*firing" && break; sleep 0.1; done
ctl alerts | grep -q "verifier-down.*firing" &&
	kt_ok "the default alert verifier-down is firing" ||
	kt_fail "alerts: $(ctl alerts)"

# ---- and resumes ----------------------------------------------------------------------
kill -CONT "$DNS_PID"
wait_field resolver-a state up 10 && wait_field resolver-aaaa state up 10 &&
	wait_field "resolver/$LAB_DNS4" state up 10 &&
	kt_ok "dnsmasq resumed: all up again after rise 2 ($(field resolver-a history))" ||
	kt_fail "resumed: $(ctl verifiers)"
v=$(wait_counter verifiers_down 0 10) && kt_ok "verifiers_down back to $v" ||
	kt_fail "verifiers_down $v, want 0"
for i in $(seq 100); do ctl alerts | grep -q "^verifier-down  *cleared" && break; sleep 0.1; done
ctl alerts | grep -q "^verifier-down  *cleared" && kt_ok "verifier-down cleared" ||
	kt_fail "alerts: $(ctl alerts)"

# ---- a reload adds a check for a name the server does not hold ------------------------
echo "verifier missing-name dns $LAB_DNS4 name nowhere.lab.sluice.test every 1s timeout 500ms" >>"$conf"
ctl reload >/dev/null && kt_ok "reload with a check of a missing name" || kt_fail "reload"
wait_field missing-name state down 10 &&
	[ "$(field missing-name last)" = "dns error" ] &&
	field missing-name detail | grep -q NXDOMAIN &&
	kt_ok "a missing name: down, $(field missing-name last): $(field missing-name detail)" ||
	kt_fail "missing name: $(ctl verifiers)"
[ "$(field resolver-a state)" = up ] && [ "$(field "resolver/$LAB_DNS4" state)" = up ] &&
	kt_ok "the other checks kept their state (up)" || kt_fail "after reload: $(ctl verifiers)"
v=$(wait_counter verifiers_down 1 10) && kt_ok "verifiers_down $v (the missing name)" ||
	kt_fail "verifiers_down $v, want 1"
kt_done
