#!/usr/bin/env bash
# 27_ruleset_watch — another program flushes or buries sluice's ruleset
# Debian's nftables.service (`nft -f /etc/nftables.conf`, which
# starts with `flush ruleset`), `nft flush ruleset`, `iptables -F`, a deleted
# jump, a foreign rule inserted above the jump. sluiced hears it on the
# nftables netlink events, puts its ruleset back (well within a second here;
# the bound checked is 2.5 s for a busy host), logs it, counts it
# (ruleset_restored) and raises the ruleset-restored alert; denied sessions
# stay denied, allowed ones work, foreign tables stay. After a clean stop
# nothing is put back.
. "$(dirname "$0")/lib.sh"
KT_REPAIRS_EXPECTED=1 # this test breaks the ruleset on purpose
kt_up
kt_start "$KT_ROOT/examples/lab.conf" || kt_done

# intact: the nft table and, for both families, the SLUICE chain with its
# seven rules (the DNS and FTP filters' queue rules first) and one jump first in each hook
intact() {
	lab_exec "$LAB_GW" nft list chain inet sluice forward_post >/dev/null 2>&1 &&
		first_everywhere
}
restored() { counter ruleset_restored; }
# restored_after DESCRIPTION CMD...: runs CMD in the gateway, then waits
# until the ruleset is whole again and the watch has counted a repair (so
# CMD did break it); prints the time taken. The bound, 2.5 s, is half the
# watch's periodic check (5 s): repairs this fast, five in a row, come from
# the netlink events, not from the poll.
restored_after() {
	local d=$1; shift
	local t0 t1 i n0 bound=${BOUND_MS:-2500}
	n0=$(restored)
	lab_exec "$LAB_GW" "$@" >/dev/null 2>&1 || { kt_fail "$d: the command failed: $*"; return; }
	t0=$(date +%s%N)
	t1=$t0
	while [ $(( (t1 - t0) / 1000000 )) -lt "$bound" ]; do
		intact && break
		sleep 0.05
		t1=$(date +%s%N)
	done
	t1=$(date +%s%N) # (the check itself forks 14 iptables: ~0.1-0.3 s)
	for i in $(seq 20); do [ "$(restored)" -gt "$n0" ] && break; sleep 0.1; done
	if [ $(( (t1 - t0) / 1000000 )) -le "$bound" ] && [ "$(restored)" -gt "$n0" ] && intact; then
		kt_ok "$d: put back in $(( (t1 - t0) / 1000000 )) ms (ruleset_restored $n0 → $(restored))"
	else
		kt_fail "$d: not put back within $bound ms (whole: $(intact && echo yes || echo no), ruleset_restored $n0 → $(restored))"
	fi
}
denied_stays_denied() {
	expect_talk "$1: ssh to a server (header-only deny) stays denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 22
	expect_talk "$1: web from an unidentified client (the service denies) stays denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80 "$LAB_CLI4B"
	expect_talk "$1: IPv6 web from an unidentified client stays denied" 0 "$LAB_CLI" TCP6 "$LAB_SRV6" 80 "[$LAB_CLI6B]"
}

kt_check "the ruleset is whole after start" intact
[ "$(restored)" = 0 ] && kt_ok "ruleset_restored starts at 0" || kt_fail "ruleset_restored = $(restored) at start"
denied_stays_denied "before"
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
h=$(hold "$LAB_CLI" TCP4 "$LAB_SRV4" 80 120)
sleep 0.6

# 1. nft flush ruleset: the table inet sluice and iptables-nft's tables go
restored_after "nft flush ruleset" nft flush ruleset
n1=$(restored)
[ "$n1" -ge 1 ] && kt_ok "counted: ruleset_restored = $n1" || kt_fail "ruleset_restored = $n1 after a flush"
denied_stays_denied "after nft flush ruleset"
expect_talk "after nft flush ruleset, carol's new web session is allowed" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80 "$LAB_CLI4"
grep -q 'kernel ruleset: table inet sluice.*missing.*put back in' "$LAB_TMP/sluiced.log" &&
	kt_ok "logged: $(grep -m1 'kernel ruleset:' "$LAB_TMP/sluiced.log" | sed 's/^.*kernel ruleset/kernel ruleset/')" ||
	kt_fail "no 'kernel ruleset: ... put back' line in the log"
sleep 1.5 # the alerts tick is 1 s
ctl alerts | grep -q 'ruleset-restored.*firing' && kt_ok "the ruleset-restored alert is firing" ||
	kt_fail "ruleset-restored alert not firing: $(ctl alerts | grep ruleset-restored)"
grep -q 'alert: .*ruleset-restored\|alert: .*ruleset_restored' "$LAB_TMP/sluiced.log" &&
	kt_ok "the alert was logged" || kt_fail "the alert was not logged"

# 2. iptables -F: the xt chains flushed (the SLUICE chain and the jumps)
# (an emptied SLUICE chain is left alone 1.5 s: `iptables -F` is most often
# followed by `iptables -X`, which a repair in between would make fail; 29_ufw)
BOUND_MS=4000 restored_after "iptables -F" iptables-nft -F
n2=$(restored)
[ "$n2" -gt "$n1" ] && kt_ok "counted again ($n1 → $n2)" || kt_fail "ruleset_restored $n1 → $n2 after iptables -F"
denied_stays_denied "after iptables -F"
expect_talk "after iptables -F, carol's new session is allowed (verdicts are saved again)" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80 "$LAB_CLI4"

# 3. the jump deleted, and 4. a foreign rule inserted above it (IPv6)
restored_after "the FORWARD jump deleted" iptables-nft -D FORWARD 1
restored_after "an ip6tables ACCEPT inserted above the jump" ip6tables-nft -I FORWARD 1 -j ACCEPT -m comment --comment foreign6
[ "$(lab_exec "$LAB_GW" ip6tables-nft -S FORWARD | grep -c foreign6)" = 1 ] &&
	kt_ok "the foreign ip6tables rule stays (below SLUICE's jump)" || kt_fail "the foreign ip6tables rule is gone"
expect_talk "IPv6 web from an unidentified client stays denied with the foreign ACCEPT" 0 "$LAB_CLI" TCP6 "$LAB_SRV6" 80 "[$LAB_CLI6B]"

# 4b. inside sluice's own table, the table kept (only its rules tell; the
# check reads them over netlink and compares each chain's rules with what
# sluiced wrote, nftread.h): the forward hook's jump to `decided` deleted,
# `decided`'s last goto to decide_new deleted (another stays: the check
# looked for one), an `accept` inserted first in `forward` (every session
# would pass by the policy), an `accept` and a verdict map that marks the
# session allowed in flood_tcp4 (a chain sluiced rewrites itself), a
# chain of another program's hooked into the table that marks every
# session allowed (named like sluice's own pub_* chains), the table made
# dormant (its chains unhooked), everyone made a flood exception
# nft_cut DESCRIPTION WHOLE NFT-ARGS...: runs nft NFT-ARGS in the gateway,
# then waits up to 5 s for a repair after which the command WHOLE
# succeeds
nft_cut() {
	local d=$1 whole=$2 n0 i
	shift 2
	n0=$(restored)
	lab_exec "$LAB_GW" nft "$@" || { kt_fail "$d: nft $* failed"; return; }
	for i in $(seq 50); do
		[ "$(restored)" -gt "$n0" ] && eval "$whole" && break
		sleep 0.1
	done
	[ "$(restored)" -gt "$n0" ] && eval "$whole" &&
		kt_ok "$d: put back (ruleset_restored $n0 → $(restored))" ||
		kt_fail "$d: not put back in 5 s (ruleset_restored $n0 → $(restored))"
}
# shows CHAIN GOOD [BAD]: CHAIN of table inet sluice matches pattern GOOD
# and not BAD
shows() {
	local l
	l=$(lab_exec "$LAB_GW" nft list chain inet sluice "$1") || return 1
	grep -q "$2" <<<"$l" && { [ -z "${3:-}" ] || ! grep -q "$3" <<<"$l"; }
}
# the handle of the last rule of CHAIN matching PATTERN
nft_handle() {
	lab_exec "$LAB_GW" nft -a list chain inet sluice "$1" |
		sed -n "s/.*$2.*# handle \([0-9]*\)\$/\1/p" | tail -1
}
allow_mark='ct mark set ct mark and 0x0000ffff or 0x40000000'
nft_cut "the nft forward chain's jump to decided deleted" 'shows forward "jump decided"' \
	delete rule inet sluice forward handle "$(nft_handle forward "jump decided")"
nft_cut "decided's last goto decide_new deleted" 'shows decided "^[[:space:]]*goto decide_new"' \
	delete rule inet sluice decided handle "$(nft_handle decided "goto decide_new")"
nft_cut "an accept inserted first in sluice's forward chain" 'shows forward "jump decided" "^[[:space:]]*accept"' \
	insert rule inet sluice forward accept
# (each repair is a new ruleset, with tcp-half-open's lookup in flood_tcp4,
# and sluiced's next half-open pass takes the lookup out, rewriting the
# chain: a foreign rule inserted just before that rewrite was wiped unseen,
# one just after it taken for sluiced's own; three rounds, since which of
# the test and the pass comes first is up to the machine)
if lab_exec "$LAB_GW" nft list chain inet sluice flood_tcp4 >/dev/null 2>&1; then
	for round in 1 2 3; do
		nft_cut "round $round: an accept inserted in flood_tcp4" 'shows flood_tcp4 drop accept' \
			insert rule inet sluice flood_tcp4 accept
		nft_cut "round $round: a verdict map marking sessions allowed in flood_tcp4" 'shows flood_tcp4 drop vmap' \
			insert rule inet sluice flood_tcp4 $allow_mark meta l4proto vmap '{ tcp : accept }'
	done
else
	kt_fail "no flood_tcp4 chain (the default limits make one)"
fi
nft_cut "a chain of another program's hooked into sluice's table" \
	'! lab_exec "$LAB_GW" nft list chain inet sluice pub_evil >/dev/null 2>&1' \
	-f - <<<"add chain inet sluice pub_evil { type filter hook forward priority -20; }
add rule inet sluice pub_evil $allow_mark"
nft_cut "the table made dormant" '! lab_exec "$LAB_GW" nft list table inet sluice | grep -q dormant' \
	add table inet sluice '{ flags dormant; }'
nft_cut "everyone made a flood exception" \
	'! lab_exec "$LAB_GW" nft list set inet sluice flood_exceptions4 | grep -q "0.0.0.0/0"' \
	add element inet sluice flood_exceptions4 '{ 0.0.0.0/0 }'
denied_stays_denied "after the nft rules were put back"

# 4c. another program racing sluiced's own writes: nft_racer inserts an
# `accept` first in `forward` the moment each of sluiced's transactions
# ends (its NEWGEN event), a fraction of a millisecond later, before
# sluiced has read the table back; the rule was then taken for sluiced's
# own. The events say who committed each change (NFTA_GEN_PROC_PID), so
# every insert is put back, however close behind sluiced's write, and the
# racer (which fires again on each repair) gets all its five in
#
# race OUT PID COUNT SECONDS: runs nft_racer against sluiced's pid PID
# (its output in $LAB_TMP/OUT, its pid in RACER), makes sluiced write (a
# reload: the first race), waits for the racer to end and up to 6 s for
# the repair; RACED describes it; status 0 when a repair was counted and
# no racer rule is left
race() {
	local out=$1 n0 i
	n0=$(restored)
	RACER=$(LAB_SPAWN_LOG=$LAB_TMP/$out lab_spawn "$LAB_GW" \
		"$KT_BUILD/src/kernel/nft_racer" sluice forward "$2" "$3" "$4")
	sleep 0.3 # listening
	ctl reload >/dev/null
	for i in $(seq 200); do kill -0 "$RACER" 2>/dev/null || break; sleep 0.1; done
	for i in $(seq 60); do
		[ "$(restored)" -gt "$n0" ] && shows forward "jump decided" nft_racer && break
		sleep 0.1
	done
	RACED="$(tail -1 "$LAB_TMP/$out"); ruleset_restored $n0 → $(restored); racer rules left: $(lab_exec "$LAB_GW" nft list chain inet sluice forward | grep -c nft_racer)"
	[ "$(restored)" -gt "$n0" ] && shows forward "jump decided" nft_racer
}
race racer.out "$KT_PID" 5 15 &&
	kt_ok "a racing insert behind each of sluiced's writes is put back ($RACED)" ||
	kt_fail "a racing insert stays: $RACED"
rp=$RACER
grep -q "table inet sluice (changed by another process, pid $rp \"nft_racer\").*put back" "$LAB_TMP/sluiced.log" &&
	kt_ok "the log names the process: $(grep -m1 "pid $rp" "$LAB_TMP/sluiced.log" | sed 's/^.*kernel ruleset/kernel ruleset/')" ||
	kt_fail "no 'changed by another process, pid $rp \"nft_racer\"' in the log"
denied_stays_denied "after the racer"

# 4d. the racer again while another root process floods the nftables
# events' multicast group (which any root process may send to): sluiced's
# receive buffer stays full and the events that would name the racer are
# lost (ENOBUFS). The read-back's ruleset generation shows that another
# commit came between sluiced's write and its read, and with that
# commit's events lost the table counts as damaged
fp=$(LAB_SPAWN_LOG=$LAB_TMP/flood.out lab_spawn "$LAB_GW" \
	"$KT_BUILD/src/kernel/nft_racer" flood 6 2200000)
race racer2.out "$KT_PID" 3 5
ok=$?
for i in $(seq 100); do kill -0 "$fp" 2>/dev/null || break; sleep 0.1; done
[ $ok = 0 ] &&
	kt_ok "racing inserts under a flood of the events' group are put back ($RACED; $(tail -1 "$LAB_TMP/flood.out") datagrams; repairs naming the racer: $(grep -c "pid $RACER " "$LAB_TMP/sluiced.log"), for events lost: $(grep -c 'read-back (events lost)' "$LAB_TMP/sluiced.log"))" ||
	kt_fail "a racing insert stays under an events flood: $RACED"
denied_stays_denied "after the racer under a flood"

# 5. Debian's nftables.service: `nft -f /etc/nftables.conf` starts with
# `flush ruleset` (the file the nftables package installs; a copy of its
# stock content when the host has none)
nftconf=/etc/nftables.conf
if ! [ -r "$nftconf" ] || ! head -5 "$nftconf" | grep -q '^flush ruleset'; then
	nftconf=$LAB_TMP/nftables.conf
	printf '#!/usr/sbin/nft -f\n\nflush ruleset\n\ntable inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter;\n\t}\n\tchain forward {\n\t\ttype filter hook forward priority filter;\n\t}\n\tchain output {\n\t\ttype filter hook output priority filter;\n\t}\n}\n' >"$nftconf"
fi
restored_after "nft -f $nftconf (what nftables.service start/reload runs)" nft -f "$nftconf"
lab_exec "$LAB_GW" nft list table inet filter >/dev/null 2>&1 &&
	kt_ok "nftables.service's own table inet filter stays beside sluice's" || kt_fail "table inet filter is gone"
denied_stays_denied "after nftables.service's reload"
a=$(held "$h"); sleep 1; b=$(held "$h")
[ "$b" -gt "$a" ] && kt_ok "carol's long session (allowed before all this) goes on ($a → $b)" ||
	kt_fail "carol's long session stalled ($a → $b)"

# sluiced's own changes are not tampering: a reload counts nothing
n3=$(restored)
ctl reload >/dev/null
sleep 0.5
[ "$(restored)" = "$n3" ] && kt_ok "a reload is not counted as a restore" || kt_fail "reload counted: $n3 → $(restored)"

# after a clean stop nothing is put back
kt_stop
sleep 0.5
lab_exec "$LAB_GW" nft list table inet sluice >/dev/null 2>&1 && kt_fail "table inet sluice present after stop" ||
	kt_ok "after a clean stop the table stays removed"
lab_exec "$LAB_GW" nft list table inet filter >/dev/null 2>&1 &&
	kt_ok "the foreign table inet filter survives sluiced's stop" || kt_fail "table inet filter removed by the stop"

# 6. sluiced in a PID namespace of its own (as in a container): the
# events' pids are the host's and cannot be compared with its own, so the
# racer is not named; the generations still tell: in the window between
# sluiced's write and its read-back more transactions touched the table
# than sluiced made
# pidns_sluiced LOG CONF: sluiced on CONF under `unshare --pid --fork
# --mount-proc`, its output in $LAB_TMP/LOG; waits until it answers; spid
# is its pid (registered), empty when it did not start
pidns_sluiced() {
	local up i
	rm -f "$KT_SOCK"
	up=$(LAB_SPAWN_LOG=$LAB_TMP/$1 lab_spawn "$LAB_GW" unshare --pid --fork \
		--mount-proc "$SLUICED" -f -c "$2" -s "$KT_SOCK")
	for i in $(seq 150); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done
	spid=$(cat "/proc/$up/task/$up/children" 2>/dev/null | awk '{print $1}')
	[ -z "$spid" ] || lab_register_pid "$spid"
}
pidns_sluiced sluiced-pidns.log "$KT_ROOT/examples/lab.conf"
if [ -n "$spid" ] && ctl status >/dev/null 2>&1; then
	grep -q "not in the host's PID namespace" "$LAB_TMP/sluiced-pidns.log" &&
		kt_ok "in a PID namespace: the log says pids are not compared" ||
		kt_fail "in a PID namespace: no 'not in the host's PID namespace' line"
	race racer3.out "$spid" 3 5 &&
		kt_ok "in a PID namespace, racing inserts are put back ($RACED)" ||
		kt_fail "in a PID namespace, a racing insert stays: $RACED"
	grep -q "changed by another process, whose commit came between" "$LAB_TMP/sluiced-pidns.log" &&
		kt_ok "logged: $(grep -m1 'whose commit came between' "$LAB_TMP/sluiced-pidns.log" | sed 's/^.*kernel ruleset/kernel ruleset/')" ||
		kt_fail "in a PID namespace: no 'whose commit came between' line"
	kt_stop "$spid"
else
	kt_fail "sluiced in a PID namespace did not start: $(tail -3 "$LAB_TMP/sluiced-pidns.log")"
fi

# 7. the end of the adoption window (adopt-window) empties the adopt_*
# chains; it took the whole table read after that as sluiced's, so
# another program's change made since the last check went in unseen
# where the pids cannot tell (a PID namespace). sluiced is stopped
# (SIGSTOP) past the window's end, an accept goes first in `forward`, and
# on SIGCONT the window's end and the event that schedules the check come
# together: the accept must be put back all the same
sed 's/^queue     { /queue     { adopt-window 2s /' "$KT_ROOT/examples/lab.conf" >"$LAB_TMP/adopt.conf"
pidns_sluiced sluiced-adopt.log "$LAB_TMP/adopt.conf"
sleep 3 # the checks that the start's own writes (and the first half-open pass) schedule are done
n0=$(restored)
if [ -n "$spid" ] && ctl status >/dev/null 2>&1 && kill -STOP "$spid"; then
	# housekeeping ends the window on its 10 s tick after the 2 s; the
	# first tick comes at most 10 s after the start (done: it answered)
	sleep 15
	closed=$(grep -c "adoption window closed" "$LAB_TMP/sluiced-adopt.log")
	lab_exec "$LAB_GW" nft insert rule inet sluice forward accept comment '"adopt_race"'
	kill -CONT "$spid"
	for i in $(seq 30); do grep -q "adoption window closed" "$LAB_TMP/sluiced-adopt.log" && break; sleep 0.2; done
	for i in $(seq 100); do ! shows forward adopt_race && break; sleep 0.1; done
	what="window closed before the insert: $closed; after: $(grep -c "adoption window closed" "$LAB_TMP/sluiced-adopt.log"); ruleset_restored $n0 → $(restored)"
	if [ "$closed" != 0 ]; then
		kt_fail "the adoption window ended before the test's insert ($what)"
	elif shows forward "jump decided" adopt_race; then
		kt_ok "an accept inserted just before the adoption window ends is put back ($what)"
	else
		kt_fail "an accept inserted just before the adoption window ends stays ($what)"
	fi
	kt_stop "$spid"
else
	kill -CONT "$spid" 2>/dev/null
	kt_fail "sluiced with adopt-window 2s did not start: $(tail -3 "$LAB_TMP/sluiced-adopt.log")"
fi
kt_done
