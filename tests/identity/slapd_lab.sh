# slapd_lab.sh — a throwaway slapd on loopback for the identity tests.
# Sourced by run_ldap.sh. Never touches /etc/ldap (reads its schema files
# only); everything lives in $SLAPD_DIR; slapd_stop kills by recorded pid.
#
#   slapd_setup DIR PORT   write slapd.conf + seed the mdb database; with
#                          SLAPD_TLS_IP set, also a CA (openssl) and a server
#                          certificate for that address ($DIR/tls: ca.pem,
#                          other-ca.pem), and slapd.conf serves TLS
#   slapd_start            start slapd (foreground -d 0, backgrounded)
#   slapd_stop             kill it (SIGCONT first, in case it is stopped)

SLAPD_SUFFIX="dc=lab,dc=sluice,dc=test"
SLAPD_ROOTDN="cn=admin,$SLAPD_SUFFIX"
SLAPD_PID=

slapd_setup() {
  SLAPD_DIR=$1 SLAPD_PORT=$2
  SLAPD_URI="ldap://127.0.0.1:$SLAPD_PORT/"
  mkdir -p "$SLAPD_DIR/db"
  local tls=
  if [ -n "${SLAPD_TLS_IP:-}" ]; then
    slapd_make_certs "$SLAPD_DIR/tls" "$SLAPD_TLS_IP" || return 1
    tls="TLSCACertificateFile $SLAPD_DIR/tls/ca.pem
TLSCertificateFile $SLAPD_DIR/tls/server.pem
TLSCertificateKeyFile $SLAPD_DIR/tls/server.key"
  fi
  cat >"$SLAPD_DIR/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $SLAPD_DIR/slapd.pid
$tls
# anonymous searches return at most 500 entries (slapd's default; the
# rootdn has no limit): frank's 600 groups test incomplete answers
sizelimit 500
database mdb
maxsize 16777216
suffix "$SLAPD_SUFFIX"
rootdn "$SLAPD_ROOTDN"
rootpw secret
directory $SLAPD_DIR/db
index objectClass eq
index uid,memberUid,member,gidNumber eq
CONF
  (umask 077; printf 'secret\n' >"$SLAPD_DIR/password")
  {
    printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: lab\no: sluice lab\n\n' "$SLAPD_SUFFIX"
    for ou in people groups roles; do
      printf 'dn: ou=%s,%s\nobjectClass: organizationalUnit\nou: %s\n\n' "$ou" "$SLAPD_SUFFIX" "$ou"
    done
    n=2000
    for u in alice carol dave; do
      n=$((n + 1))
      printf 'dn: uid=%s,ou=people,%s\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: %s\ncn: %s\nsn: %s\nuidNumber: %d\ngidNumber: %d\nhomeDirectory: /home/%s\n\n' \
        "$u" "$SLAPD_SUFFIX" "$u" "$u" "$u" "$n" "$n" "$u"
    done
    # a user whose name needs escaping in a filter
    printf 'dn: uid=ev*l\\29,ou=people,%s\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: ev*l)\ncn: evil\nsn: evil\nuidNumber: 2099\ngidNumber: 2099\nhomeDirectory: /home/evil\n\n' "$SLAPD_SUFFIX"
    printf 'dn: cn=staff,ou=groups,%s\nobjectClass: posixGroup\ncn: staff\ngidNumber: 3001\nmemberUid: carol\nmemberUid: dave\n\n' "$SLAPD_SUFFIX"
    printf 'dn: cn=netadmins,ou=groups,%s\nobjectClass: posixGroup\ncn: netadmins\ngidNumber: 3002\nmemberUid: alice\n\n' "$SLAPD_SUFFIX"
    printf 'dn: cn=evilgroup,ou=groups,%s\nobjectClass: posixGroup\ncn: evilgroup\ngidNumber: 3003\nmemberUid: ev*l)\n\n' "$SLAPD_SUFFIX"
    # erin: staff is her primary group (gidNumber 3001), no memberUid
    printf 'dn: uid=erin,ou=people,%s\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: erin\ncn: erin\nsn: erin\nuidNumber: 2005\ngidNumber: 3001\nhomeDirectory: /home/erin\n\n' "$SLAPD_SUFFIX"
    # Frank (the directory spells him so): 599 groups g001..g599 and
    # Contractors, the 600th
    printf 'dn: uid=Frank,ou=people,%s\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: Frank\ncn: frank\nsn: frank\nuidNumber: 2010\ngidNumber: 2010\nhomeDirectory: /home/frank\n\n' "$SLAPD_SUFFIX"
    for i in $(seq -w 1 599); do
      printf 'dn: cn=g%s,ou=groups,%s\nobjectClass: posixGroup\ncn: g%s\ngidNumber: %d\nmemberUid: Frank\n\n' "$i" "$SLAPD_SUFFIX" "$i" $((5000 + 10#$i))
    done
    printf 'dn: cn=contractors,ou=groups,%s\nobjectClass: posixGroup\ncn: contractors\ngidNumber: 4000\nmemberUid: Frank\n\n' "$SLAPD_SUFFIX"
    # groupOfNames variant (DN membership)
    printf 'dn: cn=vpnusers,ou=roles,%s\nobjectClass: groupOfNames\ncn: vpnusers\nmember: uid=carol,ou=people,%s\nmember: uid=alice,ou=people,%s\n\n' "$SLAPD_SUFFIX" "$SLAPD_SUFFIX" "$SLAPD_SUFFIX"
    printf 'dn: cn=auditors,ou=roles,%s\nobjectClass: groupOfNames\ncn: auditors\nmember: uid=dave,ou=people,%s\n\n' "$SLAPD_SUFFIX" "$SLAPD_SUFFIX"
  } >"$SLAPD_DIR/seed.ldif"
  slapadd -q -f "$SLAPD_DIR/slapd.conf" -l "$SLAPD_DIR/seed.ldif" >"$SLAPD_DIR/slapadd.log" 2>&1
}

# slapd_make_certs DIR IP: a throwaway CA, a server certificate for IP (and
# 127.0.0.1) signed by it, and a second CA that signed nothing.
slapd_make_certs() {
  local d=$1 ip=$2
  mkdir -p "$d"
  (
    cd "$d" || exit 1
    umask 077
    for ca in ca other-ca; do
      openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=sluice test $ca" \
        -keyout $ca.key -out $ca.pem 2>/dev/null || exit 1
    done
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$ip" -keyout server.key \
      -out server.csr 2>/dev/null || exit 1
    printf 'subjectAltName=IP:%s,IP:127.0.0.1\n' "$ip" >ext.cnf
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
      -days 2 -extfile ext.cnf -out server.pem 2>/dev/null || exit 1
    chmod 644 ca.pem other-ca.pem server.pem
  )
}

slapd_start() {
  slapd -f "$SLAPD_DIR/slapd.conf" -h "$SLAPD_URI" -d 0 >>"$SLAPD_DIR/slapd.log" 2>&1 &
  SLAPD_PID=$!
  local i
  for i in $(seq 1 100); do            # ≤ 10 s
    if ldapsearch -x -H "$SLAPD_URI" -b "$SLAPD_SUFFIX" -s base -o nettimeout=1 >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "$SLAPD_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "slapd did not start; log:" >&2; cat "$SLAPD_DIR/slapd.log" >&2
  return 1
}

slapd_stop() {
  [ -n "$SLAPD_PID" ] || return 0
  kill -CONT "$SLAPD_PID" 2>/dev/null
  kill "$SLAPD_PID" 2>/dev/null
  local i
  for i in $(seq 1 50); do kill -0 "$SLAPD_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SLAPD_PID" 2>/dev/null
  wait "$SLAPD_PID" 2>/dev/null
  SLAPD_PID=
}
