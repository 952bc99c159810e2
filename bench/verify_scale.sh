#!/usr/bin/env bash
# verify_scale.sh — the verifier scale figures: N verifiers (default
# 10,000) at a 30 s interval on one engine, over SECONDS (default 90 = three
# rounds): CPU share, memory per verifier, how late checks start. The same
# figures for an idle engine (N = 0) come from the same run, first.
#
#   bench/verify_scale.sh [BUILD_DIR] [N] [SECONDS]        (as root)
# env: VS_BASE_SECONDS   duration of the N = 0 baseline (default SECONDS)
#      VS_EVERY_MS       interval of every check (default 30000)
#
# Everything runs in a network namespace of our own that has only `lo`: one
# nginx (temp dir, daemon off, worker_processes 1, access_log off,
# keepalive on, worker_connections 8192) serves HTTP on every loopback
# address (the TCP checks use distinct 127.x.y.z addresses so dedup does not
# merge them) and HTTPS with a throw-away lab CA on 127.0.0.1. No traffic
# leaves the namespace. See bench/verify_scale.c for what is measured.
set -uo pipefail

B=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "verify_scale.sh: no build dir ${1:-build}" >&2; exit 2; }
N=${2:-10000}
SECS=${3:-90}
BASE_SECS=${VS_BASE_SECONDS:-$SECS}
EVERY=${VS_EVERY_MS:-30000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/tests/verify/peers.sh"
case $N$SECS$BASE_SECS$EVERY in *[!0-9]*) echo "usage: $0 [BUILD_DIR] [N] [SECONDS]" >&2; exit 2;; esac
[ "$(id -u)" = 0 ] || { echo "verify_scale.sh: needs root (network namespace)" >&2; exit 2; }

NS=sluice-vscale-$$
T=$(mktemp -d /tmp/sluice-vscale.XXXXXX)
chmod 755 "$T"
NGPID= RUNPID=

cleanup() {
	set +e
	for p in $RUNPID $NGPID; do kill -TERM "$p" 2>/dev/null; done
	for i in $(seq 20); do
		alive=
		for p in $RUNPID $NGPID; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	for p in $RUNPID $NGPID; do kill -KILL "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PROG=$B/bench/verify_scale
if [ ! -x "$PROG" ]; then
	PROG=$T/verify_scale
	gcc -std=gnu17 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wshadow \
		-Wmissing-prototypes -Werror -I"$ROOT/src" \
		"$ROOT"/src/verify/*.c "$ROOT/bench/verify_scale.c" -o "$PROG" \
		-levent -lcurl || exit 1
fi

ip netns add "$NS" || exit 1
ip -n "$NS" link set lo up

PH=28080 PS=28443
cd "$T"
peer_ca labca
peer_cert server 127.0.0.1 "IP:127.0.0.1" labca
{ echo 'daemon off;'; peer_nginx_head "$T" 8192; cat <<EOF
	server {
		listen $PH; # the namespace has only lo: all of 127/8
		location = /health { return 200 "ok\n"; }
	}
	server {
		listen 127.0.0.1:$PS ssl;
		ssl_certificate $T/server.pem;
		ssl_certificate_key $T/server.key;
		location = /health { return 200 "ok\n"; }
	}
}
EOF
} >nginx.conf
ip netns exec "$NS" nginx -c "$T/nginx.conf" -e "$T/nginx_error.log" &
NGPID=$!
up=
for i in $(seq 50); do
	ip netns exec "$NS" bash -c "exec 3<>/dev/tcp/127.0.0.1/$PH && \
		exec 3<>/dev/tcp/127.0.0.1/$PS" 2>/dev/null && { up=1; break; }
	sleep 0.1
done
[ -n "$up" ] || { echo "verify_scale.sh: nginx did not start" >&2; cat "$T/nginx_error.log" >&2; exit 1; }

# CPU seconds (utime + stime) of nginx, master and workers
nginx_cpu() {
	local t=0 p f
	for p in $NGPID $(cat /proc/$NGPID/task/$NGPID/children 2>/dev/null); do
		f=$(cat /proc/$p/stat 2>/dev/null) || continue
		f=${f##*) }
		set -- $f
		t=$((t + ${12} + ${13}))
	done
	echo "$t"
}
HZ=$(getconf CLK_TCK)

# run NAME N SECONDS: one program run, its output in $T/NAME.out
run() {
	local c0 c1 t0 t1 rc
	c0=$(nginx_cpu); t0=$(date +%s.%N)
	timeout -k 5 $(($3 + 300)) ip netns exec "$NS" "$PROG" "$2" "$3" $PH $PS \
		"$T/labca.pem" "$EVERY" >"$T/$1.out" 2>"$T/$1.err" &
	RUNPID=$!
	wait $RUNPID; rc=$?
	RUNPID=
	c1=$(nginx_cpu); t1=$(date +%s.%N)
	if [ $rc != 0 ]; then
		echo "verify_scale.sh: run $1 (N=$2) failed, exit $rc" >&2
		cat "$T/$1.err" >&2
		exit 1
	fi
	awk -v c=$((c1 - c0)) -v hz="$HZ" -v t0="$t0" -v t1="$t1" 'BEGIN {
		printf "%-28s %.2f\n", "nginx_cpu_%1core", 100 * c / hz / (t1 - t0) }' >>"$T/$1.out"
}

start=$(date +%s)
run base 0 "$BASE_SECS"
run load "$N" "$SECS"

echo "verify_scale: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(curl --version | head -1 | cut -d' ' -f1-2,5), $(nginx -v 2>&1 | cut -d' ' -f3)"
echo "verify_scale: interval ${EVERY} ms ±20 %, timeout 5 s, 64 in flight; 70 % HTTP GET / 20 % TCP / 10 % HTTPS, all distinct; CPU % of one core (the machine has $(nproc))"
awk -v nb="N=0 (idle, ${BASE_SECS}s)" -v nl="N=$N (${SECS}s)" '
	FNR == NR { k = substr($0, 1, 28); b[k] = substr($0, 30); next }
	FNR == 1 { printf "%-28s  %-22s  %s\n", "", nb, nl }
	{ k = substr($0, 1, 28); v = k in b ? b[k] : "-"
	  printf "%s  %-22s  %s\n", k, v, substr($0, 30) }' "$T/base.out" "$T/load.out"
[ -s "$T/nginx_error.log" ] && { echo "nginx error log:"; tail -5 "$T/nginx_error.log"; }
echo "verify_scale: took $(($(date +%s) - start)) s"
exit 0
