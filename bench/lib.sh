# bench/lib.sh — what the benchmark scripts share, sourced (it sources the
# lab, tests/lab/lab.sh and peers.sh): the lab brought up, sluiced started
# in the lab's gateway and stopped by the pid it was started with, never by
# name.
. "$(dirname "${BASH_SOURCE[0]}")/../tests/lab/lab.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../tests/lab/peers.sh"

# bench_lab_up BUILD [PEERS]: the lab, with BUILD's connrate server on
# port 80 of every server address; with PEERS (dns, ldap or both), those
# servers too (tests/lab/peers.sh). Sets SOCK (sluiced's control socket)
# and CTL (sluicectl on it); ends the script when anything fails to start.
bench_lab_up() {
	local p
	lab_up >/dev/null || exit 1
	for p in ${2:-}; do "peers_${p}_up" >/dev/null || exit 1; done
	lab_spawn "$LAB_SRV" "$1/bench/connrate" server 0.0.0.0 80 --threads 2 >/dev/null
	SOCK=$LAB_TMP/ctl.sock
	CTL="$1/src/sluicectl/sluicectl -s $SOCK"
}

# bench_start_sluiced BUILD CONF: starts BUILD's sluiced on CONF, its control
# socket at $SOCK, and sets SLUICED_PID. Returns once `sluicectl status`
# answers; ends the script ("sluiced did not start") when it does not
# within 5 s.
bench_start_sluiced() {
	local i
	rm -f "$SOCK"
	SLUICED_PID=$(LAB_SPAWN_LOG=$LAB_TMP/sluiced.log lab_spawn "$LAB_GW" "$1/src/sluiced/sluiced" -f -c "$2" -s "$SOCK")
	for i in $(seq 50); do
		"$1/src/sluicectl/sluicectl" -s "$SOCK" status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "sluiced did not start" >&2; exit 1
}

# kill_now PID: KILL, and wait (bounded: 5 s) until it is gone.
kill_now() {
	local i
	kill -KILL "$1" 2>/dev/null
	for i in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
}

# bench_four_sources: the client's two more addresses (198.18.1.4 and .5);
# sets FROM4, the four source addresses for `connrate --from`.
bench_four_sources() {
	lab_exec "$LAB_CLI" ip addr add 198.18.1.4/24 dev gw0
	lab_exec "$LAB_CLI" ip addr add 198.18.1.5/24 dev gw0
	FROM4=$LAB_CLI4,$LAB_CLI4B,198.18.1.4,198.18.1.5
}

# bench_connrate_kind BUILD KIND SECONDS: connrate's clients of KIND (1: one
# client; 4: four from one address; 4s: four from FROM4's four addresses,
# bench_four_sources) against the server's port 80 for SECONDS, after a
# conntrack flush in the gateway; prints "rate median_us p99_us".
bench_connrate_kind() {
	local from=() n=${2%s}
	[ "$2" = 4s ] && from=(--from "$FROM4")
	lab_exec "$LAB_GW" conntrack -F >/dev/null 2>&1
	lab_exec "$LAB_CLI" "$1/bench/connrate" client "$LAB_SRV4" 80 --parallel "$n" "${from[@]}" \
		--seconds "$3" --conns 2000000 |
		awk '{for (i=1;i<NF;i++) { if ($i=="rate") r=$(i+1); if ($i=="median") m=$(i+1); if ($i=="p99") p=$(i+1) } } END { sub("/s","",r); print r, m, p }'
}

# bench_web_policy [CLIENT_NETS]: prints the header-only policy the flood
# figures measure (the kernel decides every session: web from clients to
# servers; CLIENT_NETS, default 198.18.1.0/24, the clients' networks),
# with decisions limits that never refuse.
bench_web_policy() {
	printf '%s\n' "network clients { ${1:-198.18.1.0/24} }
network servers { 198.18.2.0/24 }
protocol web tcp 80
rule \"web\" allow web from clients to servers
decisions { slots 4096 per-source 4096 }"
}
# The flood limits of figure A: all four off, and all four on but so high
# that they never refuse (every SYN pays for them).
BENCH_FLOOD_OFF='tcp-connect-rate 0 tcp-concurrent 0 tcp-half-open 0 udp-rate 0'
BENCH_FLOOD_ON='tcp-connect-rate 100000000/min tcp-concurrent 1000000 tcp-half-open 1000000 udp-rate 1000000/s'
