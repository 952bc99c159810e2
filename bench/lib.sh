# bench/lib.sh — what the benchmark scripts share, sourced after
# tests/lab/lab.sh: sluiced started in the lab's gateway and stopped by the
# pid it was started with, never by name.

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
