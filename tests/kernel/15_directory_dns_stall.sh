#!/usr/bin/env bash
# 15_directory_dns_stall — the seed's failure.
# The directory (then the DNS server) stops answering (SIGSTOP) while
# clients keep opening sessions that need it. Checked: sessions that need no
# lookup keep flowing with their latency unchanged (p99 within 1.2x of the
# run before the stall, kernel-decided and service-decided alike); the
# gateway's own traffic is decided from the reserved share while the
# general slots are full; pending decisions never exceed the slots; timed-out
# decisions follow on-deadline; memory stays bounded; after SIGCONT service
# recovers without a restart.
. "$(dirname "$0")/lib.sh"
. "$KT_ROOT/tests/lab/peers.sh"
kt_up
peers_dns_up || { kt_fail "dnsmasq did not start"; kt_done; }
peers_ldap_up || { kt_fail "slapd did not start"; kt_done; }
lab_spawn "$LAB_SRV" "$KT_BUILD/bench/connrate" server "$LAB_SRV4" 7070 --threads 2 >/dev/null
lab_spawn "$LAB_SRV" timeout 200 socat TCP4-LISTEN:9090,reuseaddr,fork EXEC:cat >/dev/null
CLI4C=198.18.1.10     # a third client address, for a second flood
ip -n "$LAB_CLI" addr add "$CLI4C/24" dev gw0
# 64 slots: 6 reserved for the gateway's own traffic, 58 general; one
# source may hold 32
SLOTS=64 GENERAL=58 PERSRC=32
conf=$(conf_with 'protocol fast tcp 7070' 'protocol alt tcp 9090' \
	'users roots { user root }' \
	'rule "infra fast" allow fast from infra to servers' \
	'rule "staff fast" allow fast from clients to servers users staff' \
	'rule "root alt" allow alt from localhost to servers users roots' \
	"decisions { slots $SLOTS reserve-local 10% per-source $PERSRC deadline 2s on-deadline deny deny-memory 0 }" \
	'directory ldap { uri "ldap://198.18.4.2:389" base "dc=lab,dc=sluice,dc=test" timeout 1500ms cache-ttl 2s }' \
	'# floods of sessions from one source are what this scenario drives: the' \
	'# flood limits (37_flood) and the deny memory (36_deny_fast) are off' \
	'flood { tcp-connect-rate 0 udp-rate 0 tcp-concurrent 0 }')
kt_start "$conf" || kt_done
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null   # decided with no lookup
ctl identity add "$LAB_CLI4B" dave >/dev/null                  # his groups: the directory
ctl identity add "$CLI4C" dave >/dev/null
json() { ctl status --json | python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
rss() { awk '/VmRSS/ {print $2}' /proc/"$KT_PID"/status; }
p99() { # p99 NS PORT: connect p99 (us) of 1000 sequential sessions, the
	# median of three runs (one run's p99 is one scheduling hiccup away
	# from doubling on a shared machine)
	local i
	for i in 1 2 3; do
		lab_exec "$1" "$KT_BUILD/bench/connrate" client "$LAB_SRV4" "$2" --conns 1000 --seconds 5 |
			awk '{for (i=1;i<NF;i++) if ($i=="p99") print $(i+1)}'
	done | sort -n | sed -n 2p
}
flood() { # flood BIND TARGET N: N sessions at once from BIND that need a lookup
	# One process opens all N (non-blocking connects, held 4 s): the flood
	# itself costs no CPU while latency is measured next to it (N socat
	# processes starting and exiting did, and were charged to sluiced).
	lab_exec "$LAB_CLI" python3 -c '
import socket, sys, time
bind, target, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.bind((bind, 0))
    s.connect_ex((target, 80))
    socks.append(s)
time.sleep(4)
' "$1" "$2" "$3" >/dev/null 2>&1 &
}
wait_json() { # wait_json FIELD TEST VALUE: polls status (3 s at most) until
	# [ FIELD TEST VALUE ] holds; false if it never did
	local i
	for i in $(seq 30); do
		[ "$(json "$1")" "$2" "$3" ] && return 0
		sleep 0.1
	done
	return 1
}
max_pending() { # samples pending for 1 s
	local m=0 p i
	for i in $(seq 10); do p=$(json pending); [ "$p" -gt "$m" ] && m=$p; sleep 0.1; done
	echo "$m"
}
within() { awk -v b="$1" -v d="$2" 'BEGIN { exit !(d <= 1.2 * b + 50) }'; }
# The "latency unchanged" comparison needs a host that is not
# oversubscribed: with more runnable tasks than twice its cores (1-minute
# load), a service-decided connect waits for the scheduler, not for sluiced,
# and its p99 moves by milliseconds with or without a stall. There the
# property is checked instead: a session that needs no lookup never waits
# for the stalled peer, so its p99 stays ten times under the lookup timeout
# (1.5 s). PROPERTY_US is that bound.
PROPERTY_US=150000
oversubscribed() {
	awk -v n="$(nproc)" '{ exit !($1 > 2 * n) }' /proc/loadavg
}
latency_check() { # latency_check WHAT KIND BASE DURING
	if within "$3" "$4"; then
		kt_ok "$1 stopped: $2 p99 $3 -> $4 us"
	elif oversubscribed && [ "$4" -lt "$PROPERTY_US" ]; then
		kt_ok "$1 stopped: $2 p99 $3 -> $4 us: host oversubscribed" \
			"(load $(cut -d' ' -f1 /proc/loadavg) on $(nproc) cores), so" \
			"checked against the property: < $PROPERTY_US us, no wait on the peer"
	else
		kt_fail "$1 stopped: $2 p99 $3 -> $4 us (> 1.2x)"
	fi
}

stall() { # stall WHAT PID BIND "TARGET...": the latency and bounds checks;
	# try N floods the Nth target (the last one again when fewer): a lookup
	# answered after an earlier try's SIGCONT is cached and would not wait.
	# The latency comparison gets up to two more full tries (baseline
	# measured again, a new stall and flood) when one is off: on a shared
	# 2-core host 7 of 144 single runs had a p99 of 0.2-0.6 ms, 6 of them
	# in baselines with no stall at all, and CI once drew two such runs of
	# three. A real regression — sluiced waiting on the stalled peer — is
	# off every time.
	local what=$1 pid=$2 bind=$3 targets=($4) target
	local base_k base_s r0 to0 during_k during_s m r1 attempt
	for attempt in 1 2 3; do
		target=${targets[attempt - 1]:-${targets[-1]}}
		base_k=$(p99 "$LAB_DNS" 7070); base_s=$(p99 "$LAB_CLI" 7070)
		r0=$(rss); to0=$(json timed_out)
		kill -STOP "$pid"
		flood "$bind" "$target" 40
		# measure once the flood is in place: every decision it can
		# hold is pending (the per-source cap), its processes started
		wait_json pending -ge "$PERSRC" || kt_fail "$what stopped: the flood never reached $PERSRC pending"
		# the per-source bound, sampled while the flood is surely held
		# (the latency runs next can outlast the 2 s deadline on a
		# loaded host)
		m=$(max_pending)
		during_k=$(p99 "$LAB_DNS" 7070); during_s=$(p99 "$LAB_CLI" 7070)
		{ within "$base_k" "$during_k" && within "$base_s" "$during_s"; } && break
		[ "$attempt" = 3 ] && break
		echo "$KT_NAME: note: $what stopped: p99 kernel $base_k -> $during_k us," \
			"service $base_s -> $during_s us; measuring again"
		# as after a kept try: the decisions end at the deadline and the
		# lookups time out (not cached) before the peer answers again
		sleep 2.5
		kill -CONT "$pid"
		sleep 2       # the flood closes
		wait_json pending -eq 0 || kt_fail "$what: $(json pending) still pending before another try"
	done
	[ "$m" -ge 1 ] && [ "$m" -le "$PERSRC" ] &&
		kt_ok "$what stopped: $m decisions pending (one source holds at most $PERSRC)" ||
		kt_fail "$what stopped: $m pending (want 1..$PERSRC)"
	latency_check "$what" "kernel-decided" "$base_k" "$during_k"
	latency_check "$what" "service-decided, no lookup," "$base_s" "$during_s"
	sleep 2.5
	[ "$(json timed_out)" -gt "$to0" ] && kt_ok "$what stopped: $(( $(json timed_out) - to0 )) decisions hit the deadline (on-deadline deny)" ||
		kt_fail "$what stopped: no decision timed out"
	r1=$(rss)
	[ $((r1 - r0)) -lt 8192 ] && kt_ok "$what stopped: resident memory $r0 -> $r1 KiB" ||
		kt_fail "$what stopped: resident memory grew $r0 -> $r1 KiB"
	kill -CONT "$pid"
}

# --- scenario 2: the directory stops answering -----------------------------
stall "directory" "$PEERS_LDAP_PID" "$LAB_CLI4B" "$LAB_SRV4"
sleep 2.5   # the directory's cache-ttl: dave's groups are asked again
expect_talk_within 10 "after SIGCONT the directory serves dave again (no restart)" 5 \
	"$LAB_CLI" UDP4 "$LAB_SRV4" 5301 "$LAB_CLI4B"
# two flooding sources fill every general slot; the gateway still gets one
sleep 2.5
kill -STOP "$PEERS_LDAP_PID"
flood "$LAB_CLI4B" "$LAB_SRV4" 40; flood "$CLI4C" "$LAB_SRV4" 40
# (the floods' decisions end at the 2 s deadline: check and use the full
# slots at once)
wait_json slots_available -eq 0 && kt_ok "two sources exhausted the $GENERAL general slots" ||
	kt_fail "general slots not exhausted: $(json slots_available) free"
[ "$(json pending)" -le "$SLOTS" ] && kt_ok "pending $(json pending) <= $SLOTS slots" || kt_fail "pending > slots"
expect_talk "the gateway's own session (uid → NSS) is decided from the reserved share" 5 \
	"$LAB_GW" TCP4 "$LAB_SRV4" 9090
[ "$(json reserved_local_used)" -ge 1 ] && kt_ok "a reserved-local slot was used" || kt_fail "reserve unused"
[ "$(json slots_full)" -ge 1 ] && kt_ok "sessions beyond the slots were refused ($(json slots_full))" ||
	kt_fail "no session was refused for full slots"
kill -CONT "$PEERS_LDAP_PID"
sleep 3
[ "$(json pending)" -eq 0 ] && kt_ok "nothing pending after the directory came back" ||
	kt_fail "$(json pending) still pending"

# --- scenario 3: the DNS server stops answering ----------------------------
# unidentified clients to the second server: "work sites" needs its name,
# which is not prefetched (a reverse lookup); another try floods an address
# in the servers' subnet that nobody has asked about yet
ctl identity del "$LAB_CLI4B" >/dev/null
stall "DNS server" "$PEERS_DNS_PID" "$LAB_CLI4B" "$LAB_SRV4B 198.18.2.4 198.18.2.5"
sleep 0.5
expect_talk_within 10 "after SIGCONT, names resolve: www (prefetched) is a work site" 5 \
	"$LAB_CLI" TCP4 "$LAB_SRV4" 80 "$LAB_CLI4B"
n0=$(grep -c "query\[PTR\]" "$LAB_TMP/dns/queries.log")
expect_talk "the spoofed server is still denied, now answered by DNS" 0 \
	"$LAB_CLI" TCP4 "$LAB_SRV4B" 80 "$LAB_CLI4B"
[ "$(grep -c "query\[PTR\]" "$LAB_TMP/dns/queries.log")" -gt "$n0" ] &&
	kt_ok "the resolver asks again after the outage (timeouts are not cached)" ||
	kt_fail "no new PTR query after SIGCONT"
kill -0 "$KT_PID" && kt_ok "sluiced ran through both stalls" || kt_fail "sluiced died"
kt_done
