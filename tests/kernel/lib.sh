# lib.sh — helpers for the kernel scenarios (tests/kernel/NN_*.sh), sourced.
# Each scenario: `. lib.sh BUILD_DIR`, then kt_up, checks with kt_ok/kt_fail,
# and kt_done at the end (exit status = failures). The lab (tests/lab/lab.sh)
# is torn down on every exit path, processes included.
KT_BUILD=${1:-build}
KT_BUILD=$(cd "$KT_BUILD" && pwd)
KT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$KT_ROOT/tests/lab/lab.sh"
SLUICED=${SLUICED:-$KT_BUILD/src/sluiced/sluiced}
SLUICECTL=$KT_BUILD/src/sluicectl/sluicectl
KT_NAME=$(basename "$0" .sh)
kt_failures=0

kt_ok()   { echo "$KT_NAME: ok: $*"; }
kt_fail() { echo "$KT_NAME: FAIL: $*" >&2; kt_failures=$((kt_failures + 1)); }
kt_check() { # kt_check DESCRIPTION CMD...: ok when CMD succeeds
	local d=$1; shift
	if "$@"; then kt_ok "$d"; else kt_fail "$d"; fi
}
kt_done() {
	# the ruleset watch repairs only what another program changed: a
	# repair in a test that changes nothing is a false alarm (a rule
	# sluiced itself rewrote, seen as foreign); the tests that break the
	# ruleset on purpose set KT_REPAIRS_EXPECTED=1
	local rep
	rep=$(grep -m1 'kernel ruleset: .* missing' "$LAB_TMP/sluiced.log" 2>/dev/null)
	[ -n "$rep" ] && [ "${KT_REPAIRS_EXPECTED:-0}" != 1 ] &&
		kt_fail "the ruleset watch repaired a ruleset no program touched: $rep"
	[ "$kt_failures" -eq 0 ] || { echo "--- sluiced log:" >&2; tail -30 "$LAB_TMP/sluiced.log" >&2; }
	exit "$kt_failures"
}

# kt_up: the lab, with TCP echo servers on :80 and :22 of the server
# (IPv4 and IPv6) and a UDP echo on :5301.
kt_up() {
	# conntrack and its sysctls exist before any sluiced runs (a modular
	# kernel loads it on first use; built in here)
	modprobe -q nf_conntrack 2>/dev/null || true
	lab_up >/dev/null || { echo "$KT_NAME: lab_up failed" >&2; exit 1; }
	local port
	for port in 80 22 8080; do
		lab_spawn "$LAB_SRV" timeout 120 socat TCP4-LISTEN:$port,reuseaddr,fork EXEC:cat >/dev/null
		lab_spawn "$LAB_SRV" timeout 120 socat TCP6-LISTEN:$port,ipv6only=1,reuseaddr,fork EXEC:cat >/dev/null
	done
	lab_spawn "$LAB_SRV" timeout 120 socat UDP4-LISTEN:5301,fork EXEC:cat >/dev/null
	lab_spawn "$LAB_SRV" timeout 120 socat UDP6-LISTEN:5301,ipv6only=1,fork EXEC:cat >/dev/null
	KT_SOCK=$LAB_TMP/ctl.sock
}

# kt_start CONF: starts sluiced in the gateway, waits for its socket.
# With SLUICED_USER set, sluiced drops root to that user after setup (-u);
# its socket (and state files) then live in a folder of that user.
kt_start() {
	KT_CONF=$1
	if [ -n "${SLUICED_USER:-}" ]; then
		install -d -m 0755 -o "$SLUICED_USER" "$LAB_TMP/run"
		KT_SOCK=$LAB_TMP/run/ctl.sock
	fi
	rm -f "$KT_SOCK"
	LAB_SPAWN_LOG=$LAB_TMP/sluiced.log lab_spawn "$LAB_GW" "$SLUICED" -f \
		${SLUICED_USER:+-u "$SLUICED_USER"} -c "$KT_CONF" -s "$KT_SOCK" >/dev/null
	KT_PID=$(tail -n1 "$LAB_TMP/pids")
	local i
	for i in $(seq 150); do # 15 s: a loaded host starts slowly
		ctl status >/dev/null 2>&1 && return 0
		kill -0 "$KT_PID" 2>/dev/null || break
		sleep 0.1
	done
	kt_fail "sluiced did not start"; cat "$LAB_TMP/sluiced.log" >&2; return 1
}
ctl() { "$SLUICECTL" -s "$KT_SOCK" "$@"; }

# kt_stop [PID]: TERM to sluiced (KT_PID by default), then waits up to 20 s
# for it to exit (a loaded host can take seconds to tear down); status 0
# when it is gone.
kt_stop() {
	local pid=${1:-$KT_PID} i
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 200); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# qseq: packets queued so far in the gateway (the queue's id sequence).
qseq() {
	lab_exec "$LAB_GW" awk '$1 == 0 { print $8; f = 1 } END { if (!f) print 0 }' \
		/proc/net/netfilter/nfnetlink_queue
}

# socat_addr ADDR: ADDR as socat's bind= takes it (an IPv6 address in
# brackets, given with or without; socat reads a bare one as host:port and
# the session silently never starts); IPV4:PORT and [IPV6]:PORT as given
socat_addr() { case $1 in \[*) echo "$1" ;; *:*:*) echo "[$1]" ;; *) echo "$1" ;; esac; }

# talk NS PROTO ADDR PORT [BIND]: sends 5 lines through one new session,
# 50 ms apart, from address BIND when given; prints how many lines came
# back (0 when refused or dropped). UDP: the first datagram goes alone and
# the rest after its answer (tests/lab/udp_talk.py), so "one crossing" does
# not depend on how fast the decision came.
talk() {
	local ns=$1 proto=$2 addr=$3 port=$4 bind=${5:-} opt=""
	case $proto in UDP*)
		lab_exec "$ns" timeout 6 python3 "$KT_ROOT/tests/lab/udp_talk.py" \
			"$addr" "$port" "$bind" 2>/dev/null || echo 0
		return ;;
	esac
	case $addr in *:*) addr="[$addr]" ;; esac
	[ -n "$bind" ] && opt=",bind=$(socat_addr "$bind")"
	(for i in 1 2 3 4 5; do echo "line $i"; sleep 0.05; done; sleep 0.3) |
		lab_exec "$ns" timeout 6 socat -T 2 - "$proto:$addr:$port,connect-timeout=2$opt" 2>/dev/null | wc -l
}

# expect_talk DESCRIPTION LINES NS PROTO ADDR PORT [SPORT]
expect_talk() {
	local d=$1 want=$2; shift 2
	local got
	got=$(talk "$@")
	if [ "$got" = "$want" ]; then kt_ok "$d"; else kt_fail "$d (got $got lines, want $want)"; fi
}

# expect_talk_within SECONDS DESCRIPTION N NS PROTO ADDR PORT [BIND]: as
# expect_talk, but tries again (a new session each time) until N lines come
# back or SECONDS have passed: for recovery checks, whose property is that
# service comes back without a restart, not how fast on a loaded host.
expect_talk_within() {
	local limit=$1 d=$2 want=$3; shift 3
	local got end=$((SECONDS + limit)) tries=0
	while :; do
		got=$(talk "$@"); tries=$((tries + 1))
		[ "$got" = "$want" ] && { kt_ok "$d (try $tries)"; return; }
		[ "$SECONDS" -ge "$end" ] && break
		sleep 0.5
	done
	kt_fail "$d (got $got lines, want $want, $tries tries in ${limit}s)"
}

# queued_by DESCRIPTION N CMD...: runs CMD, checks the queue grew by N
# ("N+" for at least N).
queued_by() {
	local d=$1 n=$2; shift 2
	local before after got
	before=$(qseq)
	"$@"
	after=$(qseq)
	got=$((after - before))
	case $n in
	*+) [ "$got" -ge "${n%+}" ] ;;
	*) [ "$got" -eq "$n" ] ;;
	esac && kt_ok "$d: queued $got" || kt_fail "$d: queued $got, want $n"
}

# icmp_sysctls NS: "V4 V6", the namespace's ICMP conntrack timeouts
icmp_sysctls() {
	ip netns exec "$1" cat /proc/sys/net/netfilter/nf_conntrack_icmp_timeout \
		/proc/sys/net/netfilter/nf_conntrack_icmpv6_timeout | tr '\n' ' ' | sed 's/ $//'
}

# conf_with SNIPPET: examples/lab.conf plus SNIPPET, in LAB_TMP; prints path.
conf_with() {
	local f=$LAB_TMP/conf-$RANDOM.conf
	{ cat "$KT_ROOT/examples/lab.conf"; printf '%s\n' "$@"; } >"$f"
	echo "$f"
}

# counter NAME: the value of sluiced's counter NAME (sluicectl counters).
counter() { ctl counters --json | jq -r ".counters.\"$1\""; }

# gen: the policy generation sluiced runs (sluicectl status).
gen() { ctl status --json | jq -r .generation; }

# first_everywhere: true when sluice's xt part is whole and first in the
# gateway, for both families: the SLUICE chain with its seven rules (the DNS
# and FTP filters' queue rules first) and its jump the first rule of
# FORWARD, INPUT and OUTPUT.
first_everywhere() {
	local ipt h
	for ipt in iptables-nft ip6tables-nft; do
		[ "$(lab_exec "$LAB_GW" $ipt -S SLUICE 2>/dev/null | grep -c '^-A SLUICE')" = 7 ] || return 1
		for h in FORWARD INPUT OUTPUT; do
			lab_exec "$LAB_GW" $ipt -S $h 2>/dev/null | sed -n 2p | grep -q -- '-j SLUICE$' || return 1
		done
	done
}

# burst NS ADDR PORT N HOLD [BIND] [PACE]: N TCP connects at once
# (non-blocking), held HOLD seconds; prints how many were established. With
# PACE (seconds), each connect first waits up to PACE for the one before to
# be established: the kernel's `ct count` counts confirmed sessions, and a
# session whose SYN still waits for sluiced's decision is not confirmed yet
# (docs/kernel.md), so a concurrency limit is tested on sessions that are.
burst() {
	lab_exec "$1" python3 "$KT_ROOT/tests/lab/tcp_burst.py" "$2" "$3" "$4" "$5" "${6:-}" "${7:-0}"
}

# hold NS PROTO ADDR PORT SECONDS [BIND]: a long session in the background
# sending a line every 0.2 s; its echoes go to $LAB_TMP/hold.N. Prints N.
hold() {
	local ns=$1 proto=$2 addr=$3 port=$4 secs=$5 bind=${6:-} opt=""
	case $addr in *:*) addr="[$addr]" ;; esac
	[ -n "$bind" ] && opt=",bind=$(socat_addr "$bind")"
	local n=$RANDOM
	( (for i in $(seq $((secs * 5))); do echo "tick $i"; sleep 0.2; done) |
		lab_exec "$ns" timeout $((secs + 3)) socat -T 3 - \
			"$proto:$addr:$port,connect-timeout=2$opt" >"$LAB_TMP/hold.$n" 2>/dev/null ) \
		</dev/null >/dev/null 2>&1 &
	lab_register_pid $!
	echo $n
}
# held N: echoes received so far by hold N
held() { wc -l <"$LAB_TMP/hold.$1"; }
