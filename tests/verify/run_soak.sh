#!/usr/bin/env bash
# run_soak.sh N — soak the verifier engine for N probe rounds against a real
# nginx (HTTP, HTTPS with a lab CA, Basic auth), a closed port and a
# listener that never answers, and the authenticated peers: an MIT KDC with
# Apache + mod_auth_gssapi (Negotiate: a ticket that is let in and one that
# is not), lab_peers.py's NTLM peer (libcurl's NTLM, good and bad user),
# inside a network namespace of our own, and dnsmasq (DNS checks: an answer
# and an NXDOMAIN). Half-way the KDC stops answering
# (SIGSTOP): checks with cached tickets must keep their results.
# A second soak process, with an NTLM user file and no Kerberos ticket,
# runs Negotiate falling back to NTLMSSP (gss-ntlmssp) against two Apaches
# with the right and a wrong password.
# verify_soak prints RSS, heap in use (mallinfo2) and fd counts after
# warm-up and at the end and fails when any grows (see soak.c).
#
# gss-ntlmssp before 1.3.0 (Debian 12: 1.2.0) leaks about 12 KiB per
# NTLMSSP handshake inside the checking process (upstream commit febb0bc,
# gssapi/gss-ntlmssp#97). With such a version the NTLMSSP soak must FAIL on
# memory growth and on nothing else: that it does is checked and reported
# (the seed's leak, seen); with a fixed version it must pass.
#
# usage: run_soak.sh [N]     (default 20000; as root)
# The default memory-growth alert (src/stats/alerts.c) is fed each soak's
# RSS on a fast clock (see soak.c): it must stay quiet through the soak and
# fire in the NTLMSSP soak while the library leaks, and in a soak of a
# -Dtest_leak=true build (SOAK_LEAK_BUILD) that leaks 2 KiB a round.
#
# env:   VERIFY_SOAK=/path/to/verify_soak   (default: build/ of this tree)
#        SOAK_LEAK_BUILD=DIR                (a build with -Dtest_leak=true:
#                                            its verify_soak must see the
#                                            injected leak and the alert fire)
#        SOAK_VALGRIND=1                    (run under valgrind; use a small N)
#        SOAK_EVERY_MS=50                   (interval of every check)
#        SOAK_AUTH=0                        (no authenticated peers)
#        SOAK_ONLY_AUTH=1                   (only the authenticated kinds)
#        SOAK_SSP_ROUNDS=12000              (rounds of the NTLMSSP soak;
#                                            0 = skip it)
set -euo pipefail

N=${1:-20000}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/peers.sh"
root=$(cd "$here/../.." && pwd)
NS=sluice-vsoak-$$
T=$(mktemp -d /tmp/sluice-vsoak.XXXXXX)
chmod 755 "$T"
PIDS=()

cleanup() {
	set +e
	[ -f "$T/nginx.pid" ] && kill "$(cat "$T/nginx.pid")" 2>/dev/null
	[ -f "$T/dnsmasq.pid" ] && kill "$(cat "$T/dnsmasq.pid")" 2>/dev/null
	for pf in "$T"/gss.pid "$T"/ssp_a.pid "$T"/ssp_w.pid; do
		[ -f "$pf" ] && kill "$(cat "$pf")" 2>/dev/null
	done
	if [ -f "$T/kdc.pid" ]; then # it may be stopped
		kill -CONT "$(cat "$T/kdc.pid")" 2>/dev/null
		kill "$(cat "$T/kdc.pid")" 2>/dev/null
	fi
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

SOAK=${VERIFY_SOAK:-$root/build/tests/verify/verify_soak}
[ -x "$SOAK" ] || { echo "run_soak: no $SOAK (ninja -C build)" >&2; exit 2; }

ip netns add "$NS"
ip -n "$NS" link set lo up

PH=18080 PS=18443 PC=18081 PB=18082 PD=18053
cd "$T"
peer_ca labca
peer_cert server www.lab.test "DNS:www.lab.test,IP:127.0.0.1" labca
mkdir -p www/secret tmp
echo "hello sluice" >www/ok.txt
echo "secret ok" >www/secret/index.html
printf 'alice:%s\n' "$(openssl passwd -apr1 alicepw)" >htpasswd
printf 'alicepw\n' >pw_good
printf 'wrong\n' >pw_bad
chmod 644 htpasswd
{ peer_nginx_head "$T" 8192; cat <<EOF
	server {
		listen $PH; # the namespace has only lo: all of 127/8
		root $T/www;
		location = /ok { alias $T/www/ok.txt; }
		location = /missing { return 404; }
		location /secret/ {
			auth_basic "lab";
			auth_basic_user_file $T/htpasswd;
		}
	}
	server {
		listen 127.0.0.1:$PS ssl;
		server_name www.lab.test;
		ssl_certificate $T/server.pem;
		ssl_certificate_key $T/server.key;
		location = /ok { alias $T/www/ok.txt; }
	}
}
EOF
} >nginx.conf
ip netns exec "$NS" nginx -c "$T/nginx.conf" -e "$T/nginx_error.log"
# dnsmasq (daemon: returns once it answers; killed by its pid file)
cat >dnsmasq.conf <<EOF
port=$PD
listen-address=127.0.0.1
bind-interfaces
no-resolv
no-hosts
user=root
pid-file=$T/dnsmasq.pid
local=/lab.test/
address=/ok.lab.test/198.18.0.10
EOF
ip netns exec "$NS" dnsmasq --conf-file="$T/dnsmasq.conf"
ip netns exec "$NS" python3 "$here/lab_peers.py" blackhole $PB 100000 \
	>"$T/blackhole.out" 2>&1 &
PIDS+=($!)
for i in $(seq 50); do
	ip netns exec "$NS" bash -c "exec 3<>/dev/tcp/127.0.0.1/$PH && \
		exec 3<>/dev/tcp/127.0.0.1/$PB" 2>/dev/null && break
	sleep 0.1
done

# ---- authenticated peers ---------------------------------------------------------
AUTH_ENV=(SOAK_DNS_PORT=$PD)
SSP_N=0
if [ "${SOAK_AUTH:-1}" != 0 ]; then
	PK=18088 PG=18089 PN=18083 PSA=18090 PSA2=18091 PSW=18092 PSW2=18093
	peer_krb "$T" LAB.SLUICE.TEST $PK
	ip netns exec "$NS" krb5kdc -n -P "$T/kdc.pid" >"$T/kdc.out" 2>&1 &
	PIDS+=($!)
	peer_apache_gss "$T" LAB.SLUICE.TEST $PG >gss.conf
	ip netns exec "$NS" apache2 -f "$T/gss.conf" -k start
	ip netns exec "$NS" python3 "$here/lab_peers.py" ntlm $PN 100000 /dev/null bob \
		>"$T/ntlm.out" 2>&1 &
	PIDS+=($!)
	for i in $(seq 50); do
		ip netns exec "$NS" bash -c "exec 3<>/dev/tcp/127.0.0.1/$PK && \
			exec 3<>/dev/tcp/127.0.0.1/$PG && exec 3<>/dev/tcp/127.0.0.1/$PN" \
			2>/dev/null && break
		sleep 0.1
	done
	# alice's ticket and her service ticket, cached before the KDC stops
	ip netns exec "$NS" env KRB5CCNAME=FILE:$T/cc_alice kinit alice <<<alicepw >/dev/null
	ip netns exec "$NS" env KRB5CCNAME=FILE:$T/cc_alice kvno HTTP/localhost >/dev/null
	AUTH_ENV+=(KRB5CCNAME=FILE:$T/cc_alice SOAK_GSS_PORT=$PG SOAK_NTLM_PORT=$PN
		"SOAK_MIDWAY_CMD=kill -STOP $(cat "$T/kdc.pid")")
	[ -n "${SOAK_ONLY_AUTH:-}" ] && AUTH_ENV+=(SOAK_NO_BASE=1)

	SSP_N=${SOAK_SSP_ROUNDS:-12000}
	if [ "$SSP_N" -gt 0 ]; then
		peer_ntlm_users "$T/ntlm_srv" "LAB:bob:bobpw"
		peer_ntlm_users "$T/ntlm_srv_other" "LAB:bob:otherpw"
		peer_ntlm_users "$T/ntlm_bob" "LAB:bob:bobpw"
		peer_apache_ntlm "$T" ssp_a $PSA $PSA2 >ssp_a.conf
		peer_apache_ntlm "$T" ssp_w $PSW $PSW2 >ssp_w.conf
		ip netns exec "$NS" env NTLM_USER_FILE="$T/ntlm_srv" \
			apache2 -f "$T/ssp_a.conf" -k start
		ip netns exec "$NS" env NTLM_USER_FILE="$T/ntlm_srv_other" \
			apache2 -f "$T/ssp_w.conf" -k start
		for i in $(seq 50); do
			ip netns exec "$NS" bash -c "exec 3<>/dev/tcp/127.0.0.1/$PSA && \
				exec 3<>/dev/tcp/127.0.0.1/$PSW" 2>/dev/null && break
			sleep 0.1
		done
	fi
fi

VG=()
[ -n "${SOAK_VALGRIND:-}" ] && VG=(valgrind -q --leak-check=full
	--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect
	--error-exitcode=1)
ARGS=($PH $PS $PC $PB "$T/labca.pem" "$T/pw_good" "$T/pw_bad" "${SOAK_EVERY_MS:-50}")
start=$(date +%s)
set +e
ssp_ver=$(dpkg-query -W -f='${Version}' gss-ntlmssp 2>/dev/null || echo 0)
SSP_LEAKS=
dpkg --compare-versions "$ssp_ver" lt 1.3.0 && SSP_LEAKS=1
if [ "$SSP_N" -gt 0 ]; then # in parallel with the main soak
	ip netns exec "$NS" env KRB5CCNAME=FILE:$T/cc_none NTLM_USER_FILE="$T/ntlm_bob" \
		SOAK_NO_BASE=1 SOAK_SSP_PORTS=$PSA,$PSW \
		${SSP_LEAKS:+SOAK_EXPECT_ALERT=1} "$SOAK" "$SSP_N" "${ARGS[@]}" \
		>"$T/ssp.out" 2>&1 &
	ssp_pid=$!
fi
ip netns exec "$NS" env "${AUTH_ENV[@]}" "${VG[@]}" "$SOAK" "$N" "${ARGS[@]}"
rc=$?
echo "run_soak: N=$N took $(($(date +%s) - start)) s, exit $rc"
if [ "$SSP_N" -gt 0 ]; then
	wait "$ssp_pid"
	ssp_rc=$?
	sed 's/^/ntlmssp /' "$T/ssp.out"
	ver=$ssp_ver
	fails=$(grep -c '<-- FAIL' "$T/ssp.out")
	if [ -n "$SSP_LEAKS" ]; then
		if [ "$ssp_rc" -eq 1 ] && [ "$fails" -eq 1 ] &&
			grep -q 'memory grew by more than 1 MiB   <-- FAIL' "$T/ssp.out"; then
			echo "run_soak: gss-ntlmssp $ver leaks per NTLMSSP handshake (fixed in" \
				"1.3.0): the NTLMSSP soak saw the growth, and nothing else: as expected"
		else
			echo "run_soak: gss-ntlmssp $ver: expected the NTLMSSP soak to fail on" \
				"memory growth only (exit $ssp_rc, $fails failures): FAIL"
			rc=1
		fi
	elif [ "$ssp_rc" -ne 0 ]; then
		echo "run_soak: NTLMSSP soak (gss-ntlmssp $ver): FAIL"
		rc=1
	fi
fi
if [ -n "${SOAK_LEAK_BUILD:-}" ]; then
	# the injected leak: 2 KiB a round, base kinds only, 60,000 rounds
	leak_soak=$SOAK_LEAK_BUILD/tests/verify/verify_soak
	ip netns exec "$NS" env SLUICE_TEST_LEAK_BYTES=2048 SOAK_EXPECT_ALERT=1 \
		"$leak_soak" 60000 "${ARGS[@]}" >"$T/leak.out" 2>&1
	leak_rc=$?
	sed 's/^/test_leak /' "$T/leak.out"
	if [ "$leak_rc" -eq 1 ] && [ "$(grep -c '<-- FAIL' "$T/leak.out")" -eq 1 ] &&
		grep -q 'memory grew by more than 1 MiB   <-- FAIL' "$T/leak.out" &&
		grep -q 'alert memory-growth fired [1-9]' "$T/leak.out"; then
		echo "run_soak: injected leak (-Dtest_leak): the soak and the memory-growth alert saw it"
	else
		echo "run_soak: injected leak (-Dtest_leak) not seen by the soak and the alert: FAIL"
		rc=1
	fi
fi
set -e
echo "run_soak: all took $(($(date +%s) - start)) s, exit $rc"
exit $rc
