#!/bin/bash
# run_ad.sh BUILD_DIR — ldapdir (schema ad) against a real Active Directory:
# Samba's AD DC from Debian (samba, samba-ad-dc, samba-ad-provision),
# provisioned here into a temporary folder and run inside a private network
# namespace (loopback only), with a throwaway CA for LDAPS (openssl).
#
# Seed (CN=Users): alice in netops, netops in admins-all (nested); bob;
# frank in 600 groups g001..g599 and contractors; every user's primary
# group is Domain Users (primaryGroupID 513, never in `member`), and
# Domain Users is a member of vpn. Then
# tests/identity/test_ldap phase ad (see there). For phase gssapi: a
# service account svc-sluice and its keytab (samba-tool domain
# exportkeytab), a keytab of svc-old exported before its password changed
# (stale keys), a krb5.conf private to the test (KRB5_CONFIG: Samba's own
# KDC on the namespace's loopback, no DNS, no reverse lookups); the DC is
# named dc1.ad.sluice.test for Kerberos. Exit 77 (skipped) when
# Samba is not installed or not root. Everything started here is stopped by
# pid, the namespace and the folder removed, on every exit path.
set -u
BUILD=${1:?usage: run_ad.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
TEST_LDAP=
for b in "$BUILD/tests/identity/test_ldap" "$BUILD/test_ldap"; do [ -x "$b" ] && TEST_LDAP=$b; done
[ -n "$TEST_LDAP" ] || { echo "no test_ldap in $BUILD" >&2; exit 2; }
if [ "$(id -u)" != 0 ] || ! command -v samba-tool >/dev/null || ! command -v samba >/dev/null ||
	[ ! -d /usr/share/samba/setup/ad-schema ]; then
	echo "run_ad: SKIPPED (needs root and samba, samba-ad-dc, samba-ad-provision)"
	exit 77
fi

T=$(mktemp -d /tmp/sluice-ad.XXXXXX)
NS=sluicead-$$-$RANDOM
SAMBA_PID=
cleanup() {
	if [ -n "$SAMBA_PID" ]; then
		kill "$SAMBA_PID" 2>/dev/null
		for _ in $(seq 1 50); do kill -0 "$SAMBA_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$SAMBA_PID" 2>/dev/null
		wait "$SAMBA_PID" 2>/dev/null
	fi
	# samba's own children die with it; anything left in the namespace goes
	local p
	for p in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	[ -e "/run/netns/$NS" ] && ip netns del "$NS" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

REALM=AD.SLUICE.TEST ROOT="DC=ad,DC=sluice,DC=test" PASS='Sluice-Lab-1'
BIG=30 MAXVAL=20   # group big: more members than the DC's MaxValRange
USERS="CN=Users,$ROOT"
ip netns add "$NS" || exit 1
ip -n "$NS" link set lo up

. "$HERE/slapd_lab.sh"
slapd_make_certs "$T/tls" 127.0.0.1 || { echo "run_ad: openssl failed"; exit 1; }
echo "== provisioning $REALM in $T/dc (namespace $NS)"
ip netns exec "$NS" samba-tool domain provision --targetdir="$T/dc" --realm=$REALM \
	--domain=SLUICE --server-role=dc --dns-backend=NONE --adminpass="$PASS" \
	--use-rfc2307 --host-name=dc1 --option="interfaces=lo" \
	--option="bind interfaces only=yes" --option="log file=$T/log.%m" \
	--option="tls enabled=yes" --option="tls keyfile=$T/tls/server.key" \
	--option="tls certfile=$T/tls/server.pem" --option="tls cafile=$T/tls/ca.pem" \
	>"$T/provision.log" 2>&1 || { echo "run_ad: provision failed"; tail -20 "$T/provision.log"; exit 1; }
ip netns exec "$NS" samba -i -M single -s "$T/dc/etc/smb.conf" </dev/null >"$T/samba.log" 2>&1 &
SAMBA_PID=$!
export LDAPTLS_CACERT=$T/tls/ca.pem
up=
for _ in $(seq 1 120); do   # ≤ 60 s
	ip netns exec "$NS" ldapsearch -x -H ldaps://127.0.0.1 -D "Administrator@$REALM" -w "$PASS" \
		-b "$ROOT" -s base -o nettimeout=1 >/dev/null 2>&1 && { up=1; break; }
	kill -0 "$SAMBA_PID" 2>/dev/null || break
	sleep 0.5
done
[ -n "$up" ] || { echo "run_ad: samba did not start"; tail -20 "$T/samba.log"; exit 1; }

echo "== seeding"
{
	for u in alice bob frank; do
		printf 'dn: CN=%s,%s\nobjectClass: user\nsAMAccountName: %s\n\n' "$u" "$USERS" "$u"
	done
	printf 'dn: CN=netops,%s\nobjectClass: group\nsAMAccountName: netops\nmember: CN=alice,%s\n\n' "$USERS" "$USERS"
	printf 'dn: CN=admins-all,%s\nobjectClass: group\nsAMAccountName: admins-all\nmember: CN=netops,%s\n\n' "$USERS" "$USERS"
	printf 'dn: CN=vpn,%s\nobjectClass: group\nsAMAccountName: vpn\nmember: CN=Domain Users,%s\n\n' "$USERS" "$USERS"
	for i in $(seq -w 1 599); do
		printf 'dn: CN=g%s,%s\nobjectClass: group\nsAMAccountName: g%s\nmember: CN=frank,%s\n\n' "$i" "$USERS" "$i" "$USERS"
	done
	printf 'dn: CN=contractors,%s\nobjectClass: group\nsAMAccountName: contractors\nmember: CN=frank,%s\n\n' "$USERS" "$USERS"
	for i in $(seq -w 1 $BIG); do
		printf 'dn: CN=r%s,%s\nobjectClass: user\nsAMAccountName: r%s\n\n' "$i" "$USERS" "$i"
	done
	printf 'dn: CN=big,%s\nobjectClass: group\nsAMAccountName: big\n' "$USERS"
	for i in $(seq -w 1 $BIG); do printf 'member: CN=r%s,%s\n' "$i" "$USERS"; done
	echo
	# MaxValRange lowered from 1500 to 20: a read of big's `member` is cut
	# into ranges (member;range=0-19, then member;range=20-*)
	printf 'dn: CN=Default Query Policy,CN=Query-Policies,CN=Directory Service,CN=Windows NT,CN=Services,CN=Configuration,%s\n' "$ROOT"
	printf 'changetype: modify\ndelete: lDAPAdminLimits\nlDAPAdminLimits: MaxValRange=1500\n-\n'
	printf 'add: lDAPAdminLimits\nlDAPAdminLimits: MaxValRange=%s\n-\n\n' $MAXVAL
} >"$T/seed.ldif"
ip netns exec "$NS" ldapmodify -a -x -H ldaps://127.0.0.1 -D "Administrator@$REALM" -w "$PASS" \
	-f "$T/seed.ldif" >"$T/seed.log" 2>&1 || { echo "run_ad: seeding failed"; tail -5 "$T/seed.log"; exit 1; }
# a member big's first range does not hold (the last one when the DC
# returns every value at once: Samba 4.17 keeps MaxValRange in the policy
# but applies ranges only to reads that ask for them). ldapdir never reads
# `member` (the DC evaluates membership in the group filter and only each
# group's `cn` is read), so ranges cannot cut its answer either way.
ip netns exec "$NS" ldapsearch -x -LLL -o ldif-wrap=no -H ldaps://127.0.0.1 -D "Administrator@$REALM" \
	-w "$PASS" -b "CN=big,$USERS" -s base member >"$T/big.ldif" 2>&1
LATE=r$BIG
for i in $(seq -w $BIG -1 1); do
	grep -q "^member[^:]*: CN=r$i," "$T/big.ldif" || { LATE=r$i; break; }
done
echo "big: $(grep -c '^member' "$T/big.ldif") of $BIG members in a plain read of member" \
	"(as $(grep -o '^member[^:]*' "$T/big.ldif" | sort -u | tr '\n' ' ')); policy:" \
	$(ip netns exec "$NS" ldapsearch -x -LLL -H ldaps://127.0.0.1 -D "Administrator@$REALM" -w "$PASS" \
		-b "CN=Default Query Policy,CN=Query-Policies,CN=Directory Service,CN=Windows NT,CN=Services,CN=Configuration,$ROOT" \
		-s base lDAPAdminLimits 2>/dev/null | grep -o 'MaxValRange=[0-9]*') "; asking for $LATE"
(umask 077; printf '%s\n' "$PASS" >"$T/password")

echo "== Kerberos: service accounts and keytabs"
SMBCONF=$T/dc/etc/smb.conf
export KRB5_CONFIG=$T/krb5.conf
cat >"$KRB5_CONFIG" <<EOF
[libdefaults]
	default_realm = $REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
[realms]
	$REALM = {
		kdc = 127.0.0.1
	}
[domain_realm]
	.ad.sluice.test = $REALM
EOF
krb_ok=1
for u in svc-sluice svc-old; do
	ip netns exec "$NS" samba-tool user create "$u" 'Svc-Lab-1a' -s "$SMBCONF" \
		>>"$T/krb.log" 2>&1 || krb_ok=
done
(umask 077
	ip netns exec "$NS" samba-tool domain exportkeytab "$T/svc.keytab" \
		--principal="svc-sluice@$REALM" -s "$SMBCONF" >>"$T/krb.log" 2>&1 &&
	ip netns exec "$NS" samba-tool domain exportkeytab "$T/old.keytab" \
		--principal="svc-old@$REALM" -s "$SMBCONF" >>"$T/krb.log" 2>&1 &&
	cp "$T/svc.keytab" "$T/open.keytab") || krb_ok=
chmod 644 "$T/open.keytab" 2>/dev/null
ip netns exec "$NS" samba-tool user setpassword svc-old --newpassword='Svc-Lab-2b' \
	-s "$SMBCONF" >>"$T/krb.log" 2>&1 || krb_ok=
[ -n "$krb_ok" ] || { echo "run_ad: Kerberos set-up failed"; tail -20 "$T/krb.log"; exit 1; }

VG=()
if [ "${VALGRIND:-1}" != 0 ] && command -v valgrind >/dev/null; then
	VG=(valgrind -q --suppressions="$HERE/../valgrind.supp" --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=1)
fi
rc=0
PHASES=" ${AD_PHASES:-ad gssapi} "   # AD_PHASES: a subset, for debugging
if [[ $PHASES == *" ad "* ]]; then
echo "== test_ldap ad ${VG:+(valgrind)}"
AD_BIND_DN="CN=Administrator,$USERS" AD_ROOT="$ROOT" AD_LDAP_URI="ldap://127.0.0.1:389/" \
	AD_LATE_MEMBER="$LATE" SLAPD_CA="$T/tls/ca.pem" SLAPD_OTHER_CA="$T/tls/other-ca.pem" \
	ip netns exec "$NS" "${VG[@]}" "$TEST_LDAP" ad "ldaps://127.0.0.1:636/" "$USERS" "$T/password" ||
	rc=1
fi
if [[ $PHASES == *" gssapi "* ]]; then
echo "== test_ldap gssapi ${VG:+(valgrind)}"
AD_LDAP_URI="ldap://127.0.0.1:389/" SLAPD_CA="$T/tls/ca.pem" \
	AD_KEYTAB="$T/svc.keytab" AD_OLD_KEYTAB="$T/old.keytab" AD_OPEN_KEYTAB="$T/open.keytab" \
	AD_PRINCIPAL="svc-sluice@$REALM" AD_OLD_PRINCIPAL="svc-old@$REALM" AD_KRB_HOST=dc1.ad.sluice.test \
	ip netns exec "$NS" "${VG[@]}" "$TEST_LDAP" gssapi "ldaps://127.0.0.1:636/" "$USERS" "$T/password" ||
	rc=1
fi
[ $rc = 0 ] && echo "run_ad: all PASS" || echo "run_ad: FAILURES"
exit $rc
