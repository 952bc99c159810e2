#!/usr/bin/env bash
# run_soak.sh N — soak the verifier engine for N probe rounds against a real
# nginx (HTTP, HTTPS with a lab CA, Basic auth), a closed port and a
# listener that never answers, inside a network namespace of our own.
# verify_soak prints RSS and fd counts after warm-up and at the end and
# fails when either grows (see soak.c).
#
# usage: run_soak.sh [N]     (default 20000; as root)
# env:   VERIFY_SOAK=/path/to/verify_soak   (else built here with gcc -O2)
#        SOAK_VALGRIND=1                    (run under valgrind; use a small N)
#        SOAK_EVERY_MS=50                   (interval of every check)
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
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

SOAK=${VERIFY_SOAK:-}
if [ -z "$SOAK" ]; then
	SOAK=$T/verify_soak
	gcc -std=gnu17 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wshadow \
		-Wmissing-prototypes -Werror -I"$root/src" \
		"$root"/src/verify/*.c "$here/soak.c" -o "$SOAK" -levent -lcurl
fi

ip netns add "$NS"
ip -n "$NS" link set lo up

PH=18080 PS=18443 PC=18081 PB=18082
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
ip netns exec "$NS" python3 "$here/lab_peers.py" blackhole $PB 100000 \
	>"$T/blackhole.out" 2>&1 &
PIDS+=($!)
for i in $(seq 50); do
	ip netns exec "$NS" bash -c "exec 3<>/dev/tcp/127.0.0.1/$PH && \
		exec 3<>/dev/tcp/127.0.0.1/$PB" 2>/dev/null && break
	sleep 0.1
done

VG=()
[ -n "${SOAK_VALGRIND:-}" ] && VG=(valgrind -q --leak-check=full
	--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect
	--error-exitcode=1)
start=$(date +%s)
set +e
ip netns exec "$NS" "${VG[@]}" "$SOAK" "$N" $PH $PS $PC $PB "$T/labca.pem" \
	"$T/pw_good" "$T/pw_bad" "${SOAK_EVERY_MS:-50}"
rc=$?
set -e
echo "run_soak: N=$N took $(($(date +%s) - start)) s, exit $rc"
exit $rc
