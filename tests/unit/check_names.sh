#!/bin/bash
# check_names.sh SLUICECTL — `sluicectl check` with several --name agrees
# with the service's rule: a domain set matches when any of the
# destination's names does; first-match order decides; neither the order of
# the names nor the order the sets are written changes the answer.
set -u
CTL=${1:?usage: check_names.sh SLUICECTL}
TMP=$(mktemp -d /tmp/sluice-check-names.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fails=0
mk() { # mk FILE FIRST_SET SECOND_SET
	cat >"$1" <<CONF
network clients { 198.18.1.0/24 }
domains work    { *.work.fb.test }
$2
$3
protocol web tcp 80
protocol ssh tcp 22
rule "no ads"  deny  web from clients to blocked
rule "work"    allow web from clients to { work partner }
rule "admin"   allow ssh from clients to localhost
CONF
}
mk "$TMP/a.conf" "domains partner { www.partner.fb.test }" "domains blocked { ads.fb.test }"
mk "$TMP/b.conf" "domains blocked { ads.fb.test }" "domains partner { www.partner.fb.test }"
FLOW='tcp 198.18.1.2:40000 -> 198.18.2.5:80'
# expect WANT_JSON ARGS...: the --json answer, for both policies
expect() {
	local want=$1 conf got; shift
	for conf in "$TMP/a.conf" "$TMP/b.conf"; do
		# the decision's keys; the network part (from, to, nat) is
		# test_parser's and 32_nat_spoof's
		got=$("$CTL" check -c "$conf" --json --flow "$FLOW" --anonymous "$@" 2>&1 |
			sed 's/, "from": .*}$/}/')
		if [ "$got" = "$want" ]; then echo "ok   $* -> $got"
		else echo "FAIL $* ($conf): got '$got' want '$want'"; fails=$((fails + 1)); fi
	done
}
expect '{"verdict": "allow", "rule": "work", "name": "www.work.fb.test", "needs": []}' \
	--name other.fb.test --name www.work.fb.test
expect '{"verdict": "allow", "rule": "work", "name": "www.work.fb.test", "needs": []}' \
	--name www.work.fb.test --name other.fb.test
expect '{"verdict": "deny", "rule": "no ads", "name": "ads.fb.test", "needs": []}' \
	--name ads.fb.test --name www.partner.fb.test
expect '{"verdict": "deny", "rule": "no ads", "name": "ads.fb.test", "needs": []}' \
	--name www.partner.fb.test --name ads.fb.test
expect '{"verdict": "allow", "rule": "work", "name": "www.partner.fb.test", "needs": []}' \
	--name www.partner.fb.test
expect '{"verdict": "deny", "rule": null, "needs": []}' --name -
expect '{"verdict": "deny", "rule": null, "needs": []}' --name other.fb.test --name x.fb.test
expect '{"verdict": "pending", "rule": "no ads", "needs": ["name"]}'
# "-" (no name) with names is a usage error
"$CTL" check -c "$TMP/a.conf" --flow "$FLOW" --name - --name x.fb.test >/dev/null 2>&1
rc=$?
if [ $rc = 2 ]; then echo "ok   --name - with a name: usage error"
else echo "FAIL --name - with a name: exit $rc"; fails=$((fails + 1)); fi
echo "check_names: $fails failed"
exit $fails
