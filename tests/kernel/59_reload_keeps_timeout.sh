#!/usr/bin/env bash
# 59_reload_keeps_timeout — a reload updates table inet sluice in place
# (ruleset_nft_update) instead of deleting it, so the `ct timeout
# udp_session` object survives a reload whose udp-timeout did not change:
# same handle, and a session created before the reload keeps the policy's
# timeout (deleting the object makes the kernel walk all of conntrack and
# detach it from every session). A reload that changes udp-timeout
# replaces the object: new sessions get the new value; an existing one,
# from its next packet, the kernel's default (docs/kernel.md "d."). The
# rest of the ruleset is replaced as before (a removed rule stops
# matching). After the ruleset watch put back a flushed ruleset, reloads
# keep the object again. A stop (on-exit remove) and `sluiced
# --remove-ruleset` after kill -9 leave nothing of sluice in the kernel.
# Last, the update from every golden ruleset to the next gives the same
# table as a fresh install of the next (in the directory namespace, a
# table of its own).
. "$(dirname "$0")/lib.sh"
KT_REPAIRS_EXPECTED=1 # this test breaks the ruleset on purpose
kt_up
conf=$LAB_TMP/sluice.conf
sed 's/udp-timeout 60s/udp-timeout 20s/' "$KT_ROOT/examples/lab.conf" >"$conf"
grep -q 'udp-timeout 20s' "$conf" || { kt_fail "examples/lab.conf has no udp-timeout 60s to change"; kt_done; }
kt_start "$conf" || kt_done
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null

# handle: "TABLE/OBJECT", the handles of table inet sluice and of its ct
# timeout object (a new table numbers its objects from 1 again, so the
# object's handle alone does not tell a kept object from a new table's),
# empty when there is no object
handle() {
	lab_exec "$LAB_GW" nft -a list table inet sluice 2>/dev/null | awk '
		/^table inet sluice \{ # handle / { t = $NF }
		/^\tct timeout udp_session \{ # handle / { o = $NF }
		END { if (o != "") print t "/" o }'
}
# send SPORT: one datagram to the server's UDP echo from port SPORT (one
# session per port; the echo answers)
send() { echo x | lab_exec "$LAB_CLI" timeout 3 socat -u - "UDP4:$LAB_SRV4:5301,sourceport=$1" 2>/dev/null; }
# left SPORT: the seconds the session from SPORT has left in the
# gateway's conntrack table once it is allowed (its ct mark's decision is
# ALLOW, 0x40000000; waits up to 5 s), else "none"
left() {
	local i l
	for i in $(seq 50); do
		l=$(lab_exec "$LAB_GW" conntrack -L -p udp --orig-port-src "$1" --orig-port-dst 5301 2>/dev/null |
			awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^mark=/) m = substr($i, 6) + 0 }
			     int(m / 1073741824) % 4 == 1 { print $3; exit }')
		[ -n "$l" ] && { echo "$l"; return; }
		sleep 0.1
	done
	echo none
}
# packet SPORT: sends one datagram on the session from SPORT and prints
# its timeout left right after (the packet refreshed it)
packet() { send "$1"; sleep 0.3; left "$1"; }
in_range() { [ "$1" != none ] && [ "$1" -gt "$2" ] && [ "$1" -le "$3" ]; }
reload_ok() { # reload_ok DESCRIPTION: a reload that must succeed
	local out t0 t1
	t0=$(date +%s%3N)
	out=$(ctl reload 2>&1) || { kt_fail "$1: reload failed: $out"; return 1; }
	t1=$(date +%s%3N)
	kt_ok "$1: reloaded in $((t1 - t0)) ms"
}

h0=$(handle)
[ -n "$h0" ] && kt_ok "start: table/ct timeout handles $h0" || kt_fail "start: no ct timeout object"
l=$(packet 41001)
in_range "$l" 0 20 && kt_ok "a new UDP session gets udp-timeout 20 s (left $l s)" ||
	kt_fail "a new UDP session: left $l s, want 1..20"
expect_talk "web is allowed before the reload" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80

# 1. a reload that changes the rules, not the timeout
sed -i '/^rule "staff web"/d; /^rule "work sites"/d' "$conf"
reload_ok "rules changed, udp-timeout not"
h1=$(handle)
[ -n "$h1" ] && [ "$h1" = "$h0" ] && kt_ok "unchanged udp-timeout: the table and the object stay (handles $h0 → $h1)" ||
	kt_fail "unchanged udp-timeout: handle $h0 → ${h1:-none}"
expect_talk "the removed web rules no longer match (web denied)" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
l=$(packet 41001)
in_range "$l" 0 20 && kt_ok "the session from before the reload keeps 20 s at its next packet (left $l s)" ||
	kt_fail "the session from before the reload: left $l s after a packet, want 1..20"

# 2. a reload that changes udp-timeout
sed 's/udp-timeout 60s/udp-timeout 40s/' "$KT_ROOT/examples/lab.conf" >"$conf"
reload_ok "udp-timeout 20s → 40s"
h2=$(handle)
[ -n "$h2" ] && [ "$h2" != "$h0" ] && [ "${h2%/*}" = "${h0%/*}" ] && kt_ok "changed udp-timeout: the object is declared again in the same table (handles $h0 → $h2)" ||
	kt_fail "changed udp-timeout: handle $h0 → ${h2:-none}"
lab_exec "$LAB_GW" nft list table inet sluice | grep -q 'unreplied : 40' &&
	kt_ok "the object holds the new value (40 s)" || kt_fail "the object does not hold 40 s"
l=$(packet 41002)
in_range "$l" 20 40 && kt_ok "a new UDP session gets the new 40 s (left $l s)" ||
	kt_fail "a new UDP session after the change: left $l s, want 21..40"
expect_talk "the web rules are back (web allowed)" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
d1=$(lab_exec "$LAB_GW" sysctl -n net.netfilter.nf_conntrack_udp_timeout)
d2=$(lab_exec "$LAB_GW" sysctl -n net.netfilter.nf_conntrack_udp_timeout_stream)
defaults="$d1/$d2"
l=$(packet 41001)
if in_range "$l" $((d1 - 15)) "$d1" || in_range "$l" $((d2 - 15)) "$d2"; then
	kt_ok "the session from before the change follows the kernel's defaults ($defaults s) at its next packet (left $l s)"
else
	kt_fail "the session from before the change: left $l s, want the kernel's defaults ($defaults s)"
fi
reload_ok "unchanged again"
h3=$(handle)
[ -n "$h3" ] && [ "$h3" = "$h2" ] && kt_ok "unchanged: the object stays (handle $h2 → $h3)" ||
	kt_fail "unchanged: handle $h2 → ${h3:-none}"

# 3. the ruleset watch puts back a flushed ruleset; reloads keep the
# object again after it
lab_exec "$LAB_GW" nft flush ruleset
h4=""
for i in $(seq 50); do h4=$(handle); [ -n "$h4" ] && break; sleep 0.1; done
[ -n "$h4" ] && kt_ok "flush ruleset: the watch put the table back (handle $h4)" ||
	kt_fail "flush ruleset: no table after 5 s"
for i in $(seq 30); do grep -q "put back in" "$LAB_TMP/sluiced.log" && break; sleep 0.1; done
reload_ok "after the repair"
h5=$(handle)
[ -n "$h5" ] && [ "$h5" = "$h4" ] && kt_ok "after the repair: the object stays (handle $h4 → $h5)" ||
	kt_fail "after the repair: handle $h4 → ${h5:-none}"
n=$(grep -c "update of table inet sluice failed" "$LAB_TMP/sluiced.log")
[ "$n" = 0 ] && kt_ok "every reload was an update (no fallback to a replacement logged)" ||
	kt_fail "$n update(s) fell back to a replacement: $(grep "update of table" "$LAB_TMP/sluiced.log" | head -1)"

# nothing_left DESCRIPTION: no sluice table, no ct timeout, no SLUICE chain
nothing_left() {
	local rs x4 x6
	rs=$(lab_exec "$LAB_GW" nft list ruleset 2>&1)
	x4=$(lab_exec "$LAB_GW" iptables-nft -S 2>/dev/null | grep -c SLUICE)
	x6=$(lab_exec "$LAB_GW" ip6tables-nft -S 2>/dev/null | grep -c SLUICE)
	if ! echo "$rs" | grep -q 'table inet sluice' && ! echo "$rs" | grep -q 'ct timeout' &&
		[ "$x4" = 0 ] && [ "$x6" = 0 ]; then
		kt_ok "$1: nothing of sluice left (no table inet sluice, no ct timeout, SLUICE rules $x4/$x6)"
	else
		kt_fail "$1: left: $(echo "$rs" | grep -E 'table|ct timeout' | tr '\n' ' ') SLUICE rules $x4/$x6"
	fi
}
# wait_exit PID: up to 10 s
wait_exit() { local i; for i in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; return 1; }

# 4. a stop with on-exit remove
kill -TERM "$KT_PID"
wait_exit "$KT_PID" && kt_ok "sluiced stopped on TERM" || kt_fail "sluiced still running 10 s after TERM"
nothing_left "on-exit remove"
# 5. kill -9 leaves the table; --remove-ruleset removes it
kt_start "$conf" || kt_done
ctl reload >/dev/null 2>&1 || kt_fail "reload before kill -9"
kill -KILL "$KT_PID"
wait "$KT_PID" 2>/dev/null # (no "Killed" from the shell)
[ -n "$(handle)" ] && kt_ok "kill -9 left the table and its ct timeout" || kt_fail "kill -9: no table left (nothing to remove)"
out=$(lab_exec "$LAB_GW" "$SLUICED" --remove-ruleset -s "$KT_SOCK" 2>&1) &&
	kt_ok "sluiced --remove-ruleset: $out" || kt_fail "sluiced --remove-ruleset: $out"
nothing_left "--remove-ruleset"

# 6. every golden ruleset as an update of the one before it: the table is
# then the same as the next one installed fresh (handles and counters
# aside). Table s56 in the directory namespace (unused here).
RS="$KT_BUILD/src/kernel/rs_tool"
prev=""
nok=0
nbad=0
for c in "$KT_ROOT"/tests/golden/*.conf; do
	n=$(basename "$c" .conf)
	"$RS" -t s56 gen "$c" >"$LAB_TMP/$n.nft" 2>/dev/null || { kt_fail "golden $n: rs_tool gen failed"; continue; }
	if [ -z "$prev" ]; then
		lab_exec "$LAB_DIR" nft -f "$LAB_TMP/$n.nft" || kt_fail "golden $n: fresh install failed"
	else
		if ! "$RS" -t s56 gen-update "$c" "$LAB_TMP/$prev.nft" >"$LAB_TMP/up.nft" ||
			! lab_exec "$LAB_DIR" nft -f "$LAB_TMP/up.nft" 2>"$LAB_TMP/up.err"; then
			kt_fail "golden $prev → $n: the update failed: $(head -2 "$LAB_TMP/up.err" 2>/dev/null)"
			nbad=$((nbad + 1))
			lab_exec "$LAB_DIR" nft delete table inet s56 2>/dev/null
			lab_exec "$LAB_DIR" nft -f "$LAB_TMP/$n.nft"
		fi
	fi
	lab_exec "$LAB_DIR" nft list table inet s56 | sed 's/packets [0-9]* bytes [0-9]*//' >"$LAB_TMP/got"
	lab_exec "$LAB_DIR" nft delete table inet s56
	lab_exec "$LAB_DIR" nft -f "$LAB_TMP/$n.nft"
	lab_exec "$LAB_DIR" nft list table inet s56 | sed 's/packets [0-9]* bytes [0-9]*//' >"$LAB_TMP/want"
	if cmp -s "$LAB_TMP/got" "$LAB_TMP/want"; then
		nok=$((nok + 1))
	else
		nbad=$((nbad + 1))
		kt_fail "golden ${prev:-none} → $n: the updated table differs from a fresh one: $(diff "$LAB_TMP/got" "$LAB_TMP/want" | head -3 | tr '\n' ' ')"
	fi
	prev=$n
done
[ "$nok" -ge 10 ] && [ "$nbad" = 0 ] && kt_ok "golden rulesets: $nok updates, each equal to a fresh install" ||
	kt_fail "golden rulesets: $nok equal, $nbad not"
lab_exec "$LAB_DIR" nft delete table inet s56 2>/dev/null
kt_done
