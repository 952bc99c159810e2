#!/bin/bash
# run_ldap.sh BUILD_DIR — ldapdir and nsspool against real peers.
#
# Starts a private slapd on 127.0.0.1 (random high port, temp dir, mdb; the
# system's /etc/ldap is only read for schema files), seeds
# dc=lab,dc=sluice,dc=test (users alice carol dave "ev*l)"; posixGroups
# staff{carol,dave} netadmins{alice}; groupOfNames vpnusers{carol,alice}
# auditors{dave}; erin by primary group; Frank in 600 groups; TLS with a
# throwaway CA) and runs tests/identity/test_ldap (phases basic, tls, stop,
# restart) and test_nss, under valgrind --leak-check=full unless VALGRIND=0.
# The SO_MARK check (a network namespace + nft counters) runs as root only.
# Every process started here is killed by pid on every exit path.
set -u
BUILD=${1:?usage: run_ldap.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
find_bin() { local b; for b in "$BUILD/tests/identity/$1" "$BUILD/$1"; do [ -x "$b" ] && { echo "$b"; return; }; done; echo "no $1 in $BUILD" >&2; exit 2; }
TEST_LDAP=$(find_bin test_ldap)
TEST_NSS=$(find_bin test_nss)

T=$(mktemp -d /tmp/sluice-ldap.XXXXXX)
PIDFILE=$T/slapd.run.pid
cleanup() {
  local p
  p=$(cat "$PIDFILE" 2>/dev/null)
  if [ -n "$p" ]; then kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; fi
  for _ in $(seq 1 50); do [ -n "$p" ] && kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  [ -n "$p" ] && kill -KILL "$p" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

. "$HERE/slapd_lab.sh"
PORT=$((20000 + RANDOM % 30000))
TLSPORT=$((PORT + 1))
SLAPD_TLS_IP=127.0.0.1
slapd_setup "$T" "$PORT" || { echo "slapadd failed"; cat "$T/slapadd.log"; exit 1; }
export SLAPD_LDAPS_URI="ldaps://127.0.0.1:$TLSPORT/" SLAPD_CA=$T/tls/ca.pem SLAPD_OTHER_CA=$T/tls/other-ca.pem

# The control script the test program calls: sigstop|sigcont|stop|start.
cat >"$T/ctl.sh" <<CTL
#!/bin/bash
set -u
p=\$(cat "$PIDFILE" 2>/dev/null)
case "\$1" in
sigstop) kill -STOP "\$p" ;;
sigcont) kill -CONT "\$p" ;;
stop)    kill -CONT "\$p"; kill "\$p"
         for i in \$(seq 1 100); do kill -0 "\$p" 2>/dev/null || exit 0; sleep 0.05; done
         kill -KILL "\$p"; sleep 0.1 ;;
start)   slapd -f "$T/slapd.conf" -h "$SLAPD_URI $SLAPD_LDAPS_URI" -d 0 </dev/null >>"$T/slapd.log" 2>&1 &
         echo \$! >"$PIDFILE"
         for i in \$(seq 1 100); do
           ldapsearch -x -H "$SLAPD_URI" -b "$SLAPD_SUFFIX" -s base -o nettimeout=1 >/dev/null 2>&1 && exit 0
           sleep 0.05
         done
         exit 1 ;;
*) exit 2 ;;
esac
CTL
chmod +x "$T/ctl.sh"
export SLAPD_CTL=$T/ctl.sh
"$SLAPD_CTL" start || { echo "slapd did not start"; cat "$T/slapd.log"; exit 1; }

VG=()
if [ "${VALGRIND:-1}" != 0 ] && command -v valgrind >/dev/null; then
  VG=(valgrind -q --suppressions="$HERE/../valgrind.supp" --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=1)
fi

rc=0
for phase in basic tls stop restart; do
  echo "== test_ldap $phase ${VG:+(valgrind)}"
  "${VG[@]}" "$TEST_LDAP" "$phase" "$SLAPD_URI" "$SLAPD_SUFFIX" "$T/password" || { rc=1; echo "test_ldap $phase FAILED"; }
  # a phase that failed while slapd was SIGSTOPped must not fail the next
  "$SLAPD_CTL" sigcont
done
# SO_MARK: in a private network namespace (root + nft only), the SYN of
# the directory connection must carry the mark (set before connect()).
if [ "$(id -u)" = 0 ] && command -v nft >/dev/null && command -v ip >/dev/null; then
  NS=slidm-$$-$RANDOM
  ip netns add "$NS" && NSUP=1
  trap 'cleanup; [ -n "${NSPID:-}" ] && kill "$NSPID" 2>/dev/null; [ -n "${NSUP:-}" ] && ip netns del "$NS" 2>/dev/null' EXIT
  ip -n "$NS" link set lo up
  ip netns exec "$NS" nft -f - <<NFT
table inet sluicetest {
  chain out {
    type filter hook output priority 0;
    tcp dport $PORT tcp flags syn meta mark 0x5100 counter name marked
    tcp dport $PORT tcp flags syn meta mark != 0x5100 counter name unmarked
  }
  counter marked { }
  counter unmarked { }
}
NFT
  ip netns exec "$NS" slapd -f "$T/slapd.conf" -h "$SLAPD_URI" -d 0 </dev/null >>"$T/slapd-ns.log" 2>&1 &
  NSPID=$!
  for _ in $(seq 1 100); do
    ip netns exec "$NS" ldapsearch -x -H "$SLAPD_URI" -b "$SLAPD_SUFFIX" -s base -o nettimeout=1 >/dev/null 2>&1 && break
    sleep 0.05
  done
  ip netns exec "$NS" nft reset counters table inet sluicetest >/dev/null
  echo "== test_ldap mark (netns $NS)"
  ip netns exec "$NS" "$TEST_LDAP" mark "$SLAPD_URI" "$SLAPD_SUFFIX" "$T/password" || rc=1
  m=$(ip netns exec "$NS" nft list counter inet sluicetest marked | grep -o 'packets [0-9]*' | cut -d' ' -f2)
  u=$(ip netns exec "$NS" nft list counter inet sluicetest unmarked | grep -o 'packets [0-9]*' | cut -d' ' -f2)
  echo "SYNs to the directory: marked $m, unmarked $u"
  [ "$m" = 1 ] && [ "$u" = 0 ] || { rc=1; echo "mark FAILED"; }
  kill "$NSPID"; wait "$NSPID" 2>/dev/null; NSPID=
  ip netns del "$NS"; NSUP=
else
  echo "== test_ldap mark: SKIPPED (needs root, nft, ip)"
fi

echo "== test_nss ${VG:+(valgrind)}"
"${VG[@]}" "$TEST_NSS" || { rc=1; echo "test_nss FAILED"; }
[ $rc = 0 ] && echo "run_ldap: all PASS" || echo "run_ldap: FAILURES"
exit $rc
