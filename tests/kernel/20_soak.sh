#!/usr/bin/env bash
# 20_soak — sluiced under sustained load stays flat: resident memory, open
# file descriptors and threads. Every phase drives a few ten thousand
# sessions that sluiced decides in user space, with the client's groups
# from a real slapd whose answers are cached for 1 s only (so lookups churn),
# then reloads the policy (revocation walks conntrack) and reads sessions,
# pending and counters over the control socket. After a warm-up that fills
# the sessions table, the figures must not grow: fds, threads and heap in
# use from phase 2, resident memory (which also holds the allocator's free
# memory) over the second half; each the least of five readings over a
# second, so what is only in flight at one instant does not count.
#   SOAK_PHASES (default 8) phases of SOAK_SECONDS (default 4)
. "$(dirname "$0")/lib.sh"
. "$KT_ROOT/tests/lab/peers.sh"
PHASES=${SOAK_PHASES:-8} SECS=${SOAK_SECONDS:-4}
kt_up
peers_ldap_up || { kt_fail "slapd did not start"; kt_done; }
lab_spawn "$LAB_SRV" "$KT_BUILD/bench/connrate" server "$LAB_SRV4" 7071 --threads 2 >/dev/null
conf=$(conf_with 'protocol soak tcp 7071' \
	'rule "staff soak" allow soak from clients to servers users staff' \
	'directory ldap { uri "ldap://198.18.4.2:389" base "dc=lab,dc=sluice,dc=test" timeout 1s cache-ttl 1s }' \
	'# one source opens ~1M sessions: the flood limits (37_flood) are off' \
	'flood { tcp-connect-rate 0 udp-rate 0 tcp-concurrent 0 }')
kt_start "$conf" || kt_done
ctl identity add "$LAB_CLI4" dave >/dev/null # his groups: the directory

rss() { awk '/VmRSS/ {print $2}' /proc/"$KT_PID"/status; }
fds() { ls /proc/"$KT_PID"/fd | wc -l; }
threads() { awk '/Threads/ {print $2}' /proc/"$KT_PID"/status; }
# least FIGURE (rss, fds, threads) over 5 readings 0.25 s apart: what a
# phase keeps, not what is in flight at one instant (a background
# revocation's buffers, a lookup's socket); a leak is in every reading
least() {
	local v m= i
	for i in 1 2 3 4 5; do
		v=$("$1")
		[ -z "$m" ] || [ "$v" -lt "$m" ] && m=$v
		sleep 0.25
	done
	echo "$m"
}

# heap in use (mallinfo2 over every arena: process_heap_bytes), KiB
heap_kib() { ctl counters --json | python3 -c "import json,sys; d=json.load(sys.stdin); d=d.get('counters', d); print(d['process_heap_bytes'] // 1024)"; }

declare -a R F T H
total=0 q0=$(qseq)
for ph in $(seq "$PHASES"); do
	n=$(lab_exec "$LAB_CLI" "$KT_BUILD/bench/connrate" client "$LAB_SRV4" 7071 \
		--parallel 4 --seconds "$SECS" --conns 10000000 |
		awk '{for (i=1;i<NF;i++) if ($i=="conns") print $(i+1)}')
	total=$((total + ${n:-0}))
	ctl reload >/dev/null || kt_fail "phase $ph: reload"
	ctl sessions --json >/dev/null || kt_fail "phase $ph: sessions"
	ctl pending >/dev/null && ctl counters >/dev/null || kt_fail "phase $ph: pending/counters"
	sleep 0.5
	R[$ph]=$(least rss) F[$ph]=$(least fds) T[$ph]=$(least threads) H[$ph]=$(heap_kib)
	echo "$KT_NAME: phase $ph: ${n:-0} sessions (total $total), RSS ${R[$ph]} KiB, heap in use ${H[$ph]} KiB, fds ${F[$ph]}, threads ${T[$ph]}"
done
q=$(( $(qseq) - q0 ))
[ "$total" -ge $((PHASES * 5000)) ] && [ "$q" -ge "$total" ] &&
	kt_ok "$total sessions over $PHASES phases, each queued to sluiced ($q packets queued)" ||
	kt_fail "$total sessions, $q packets queued"
counter() { ctl counters --json | python3 -c "import json,sys; d=json.load(sys.stdin); d=d.get('counters', d); print(d['$1'])"; }
echo "$KT_NAME: identity cache hits $(counter identity_cache_hits), decisions timed out $(counter decisions_timed_out)"
# warm-up: the first two phases fill the sessions table (65536) and the
# allocator's arenas; from then on nothing may grow
w=2
[ "${F[$PHASES]}" -eq "${F[$w]}" ] && kt_ok "open fds flat: ${F[$w]} → ${F[$PHASES]}" ||
	kt_fail "fds grew: ${F[*]}"
[ "${T[$PHASES]}" -eq "${T[$w]}" ] && kt_ok "threads flat: ${T[$w]} → ${T[$PHASES]}" ||
	kt_fail "threads changed: ${T[*]}"
# Memory, two figures. Heap in use (mallinfo2, every arena) is what a leak
# or an unbounded table grows: each phase is ~80000 decisions, so even one
# 32-byte chunk kept per decision adds ~2.5 MiB a phase; the bound is 512
# KiB over the phases after warm-up (seen: +20..40 KiB, flat).
hgrow=$(( H[PHASES] - H[w] ))
[ "$hgrow" -le 512 ] && kt_ok "heap in use flat after warm-up: ${H[$w]} → ${H[$PHASES]} KiB" ||
	kt_fail "heap in use grew by $hgrow KiB after warm-up: ${H[*]}"
# Resident memory also holds what glibc keeps after free(): the decision
# workers' arenas reach their footprint by steps, not by phase 2 (seen: RSS
# 24.5 → 33.3 → 36.4 MiB at phases 1-3 with the heap in use flat at 12.1
# MiB, then flat). So RSS is held to the second half of the run: a growth
# outside malloc (mappings, stacks, fds' buffers) is steady, and shows there.
h=$(( (PHASES + 1) / 2 ))
grow=$(( R[PHASES] - R[h] ))
max=0; for ph in $(seq $h "$PHASES"); do [ "${R[$ph]}" -gt "$max" ] && max=${R[$ph]}; done
[ "$grow" -le 2048 ] && kt_ok "resident memory flat in the second half: ${R[$h]} → ${R[$PHASES]} KiB (max $max)" ||
	kt_fail "RSS grew by $grow KiB in the second half: ${R[*]} (heap in use ${H[*]})"
kill -0 "$KT_PID" 2>/dev/null && kt_ok "sluiced still running" || kt_fail "sluiced died"
kt_done
