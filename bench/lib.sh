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
