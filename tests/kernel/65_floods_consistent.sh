#!/usr/bin/env bash
# 65_floods_consistent — `sluicectl floods` is a true list while the
# kernel's sets change under it. The kernel resumes a set's dump by
# position, and the packet path adds elements (and the hash table
# resizes) meanwhile: a dump stretched over a client's slow read missed a
# sixth of the sources limited throughout and gave others twice; a
# reload during the list cut it short with no error. Checked, with 20,000
# sources limited throughout, a flood from 20,000 more sources being
# limited as the lists are asked for and another program committing to
# its own table all along: every list, read at once or by a
# client that waits 2 s before reading, holds each of the 20,000 exactly
# once and no source twice; the firewall log has one flood-start for each
# source, none dropped; and a list asked for just before a reload is
# whole (of one ruleset, before or after it) or says "error" (sluicectl
# exits 3), never a silent part.
. "$(dirname "$0")/lib.sh"
kt_up
conf=$(conf_with 'flood { tcp-connect-rate 6/min tcp-concurrent 160 tcp-half-open 0 udp-rate 50/s }' \
	"log { format json file \"$LAB_TMP/fw.log\" }")
kt_start "$conf" || kt_done
STANDING=20000
python3 - "$STANDING" >"$LAB_TMP/standing.nft" <<'PY'
import sys
n = int(sys.argv[1])
print("add element inet sluice flood_limited4 {",
      ",".join("198.19.%d.%d timeout 10m" % (i >> 8, i & 255) for i in range(n)), "}")
PY
lab_exec "$LAB_GW" nft -f "$LAB_TMP/standing.nft" || kt_fail "the standing sources not added"
# and as many as the flood below leaves (for the reloads)
python3 - >"$LAB_TMP/more.nft" <<'PY'
base = (198 << 24) | (19 << 16) | (96 << 8) | 1
print("add element inet sluice flood_limited4 {",
      ",".join("%d.%d.%d.%d timeout 10m" % ((a >> 24) & 255, (a >> 16) & 255, (a >> 8) & 255, a & 255)
               for a in range(base, base + 40000)), "}")
PY
# the flood's sources (198.19.96.1 - 198.19.252.64), spoofed from the
# client; the gateway routes them back
lab_exec "$LAB_GW" ip route add 198.19.96.0/19 via "$LAB_CLI4"
lab_exec "$LAB_GW" ip route add 198.19.128.0/17 via "$LAB_CLI4"

# check FILE: FILE is a floods --json answer (or the control socket's
# answer around it); prints "standing flooders duplicates error"
check() {
	python3 - "$1" "$STANDING" 2>&1 <<'PY'
import ipaddress, json, sys
a = json.load(open(sys.argv[1]))
a = a.get("output", a) # the control socket's own answer, as the slow reader keeps it
n = int(sys.argv[2])
src = [x["source"] for x in a.get("floods", [])]
standing = flooders = 0
for s in set(src):
    if "/" in s:
        continue
    v = int(ipaddress.ip_address(s))
    base = int(ipaddress.ip_address("198.19.0.0"))
    if base <= v < base + n:
        standing += 1
    elif int(ipaddress.ip_address("198.19.96.0")) <= v < int(ipaddress.ip_address("198.20.0.0")):
        flooders += 1
print(standing, flooders, len(src) - len(set(src)), "error" in a)
PY
}

# --- a flood growing while lists are read: 20,000 sources, each sending a
# SYN every 8 s; a source's second SYN is over 6/min (burst 1) and puts it
# into flood_limited4, so the set grows by 2,500 a second from t = 8 s
# (through the hash table's resize at 24,576 elements)
FPID=$(lab_spawn "$LAB_CLI" "$KT_BUILD/bench/pktflood" syn "$LAB_SRV4" 80 198.19.96.1 20000 2500 24)
sleep 8.5 # the flood's second round has begun: its sources are being limited
# and another program commits to its own table all along (each commit
# marks a dump under way NLM_F_DUMP_INTR, which says nothing of sluice's
# sets: no reason to fail or read again); 300 commits, 20 ms apart at most
(for i in $(seq 150); do
	lab_exec "$LAB_GW" nft add table inet kt65other
	lab_exec "$LAB_GW" nft delete table inet kt65other
	sleep 0.02
done) &
OTHER=$!
python3 "$KT_ROOT/tests/lab/ctl_slow_reader.py" "$KT_SOCK" floods "$LAB_TMP/slow.json" "$LAB_TMP/slow.go" &
SLOW=$!
sleep 2 # less than control { timeout }: the client is not cut
touch "$LAB_TMP/slow.go"
wait "$SLOW"
for k in 1 2 3; do
	ctl floods --json >"$LAB_TMP/fast$k.json" 2>"$LAB_TMP/fast$k.err"
	sleep 0.3
done
for f in fast1 fast2 fast3 slow; do
	read -r st fl dup err < <(check "$LAB_TMP/$f.json")
	info="$f: $st of $STANDING standing sources, $fl of the flood's, $dup twice, error $err"
	[ "$st" = "$STANDING" ] && [ "$dup" = 0 ] && [ "$err" = False ] &&
		kt_ok "list read during a growing flood: $info" ||
		kt_fail "$info: $(head -c 300 "$LAB_TMP/$f.json") $(cat "$LAB_TMP/$f.err" 2>/dev/null)"
done
lab_kill "$FPID"
wait "$OTHER"

# --- the firewall log: one flood-start for each source listed, none
# dropped, though 20,000 came at once and then 20,000 in seconds (log {
# buffer } holds 4,096 records: the watch hands them over as the ring has
# room). No source left and came back meanwhile (each is kept 30 s). The
# watch's reads are spaced by their cost (1 % of a core: 20-30 s here),
# so the last records come that much later.
ctl floods --json >"$LAB_TMP/all.json"
logcheck() {
	python3 - "$LAB_TMP" 2>&1 <<'PY'
import json, sys
from collections import Counter
d = sys.argv[1]
listed = set()
for f in ("fast1", "fast2", "fast3", "slow", "all"):
    a = json.load(open("%s/%s.json" % (d, f)))
    a = a.get("output", a)
    listed |= {x["source"] for x in a["floods"]}
starts = Counter()
for line in open(d + "/fw.log"):
    r = json.loads(line)
    if r.get("reason") == "flood-start":
        starts[r["client"]] += 1
missing = len(listed - set(starts))
twice = sum(1 for v in starts.values() if v > 1)
print(len(listed), sum(starts.values()), missing, twice)
PY
}
for i in $(seq 120); do # 2 min at most: a slow host's reads cost more
	read -r nl ns miss twice < <(logcheck)
	[ "$miss" = 0 ] && break
	sleep 1
done
dropped=$(counter fwlog_dropped)
[ "$miss" = 0 ] && [ "$twice" = 0 ] && [ "$dropped" = 0 ] &&
	kt_ok "firewall log: $ns flood-start records, one for each of the $nl sources listed, none dropped" ||
	kt_fail "firewall log: $ns flood-start records for $nl sources listed: $miss without one, $twice with two or more, fwlog_dropped $dropped"

# --- 12 lists asked at once share one read of the sets (each reading on
# its own made 12 take 12 times as long and hold 12 copies): all whole,
# all alike, and status answered meanwhile
lab_exec "$LAB_GW" nft -f "$LAB_TMP/more.nft"
rss0=$(awk '/VmRSS/ { print $2 }' /proc/$KT_PID/status)
pids=""
for k in $(seq 12); do
	ctl floods --json >"$LAB_TMP/par$k.json" 2>&1 &
	pids="$pids $!"
done
t0=$(date +%s%N)
ctl status >/dev/null && kt_ok "status answers while 12 lists are asked ($((($(date +%s%N) - t0) / 1000000)) ms)" ||
	kt_fail "status: no answer while 12 lists are asked"
wait $pids
rss1=$(awk '/VmRSS/ { print $2 }' /proc/$KT_PID/status)
n=$(for k in $(seq 12); do check "$LAB_TMP/par$k.json"; done | sort | uniq -c | awk '{ $1 = $1; print }')
echo "$n" | grep -Eq "^12 $STANDING [0-9]+ 0 False$" &&
	kt_ok "12 lists at once: alike, whole ($n); RSS $rss0 -> $rss1 kB" || kt_fail "12 lists at once: $n"

# --- a list asked right after another sees what changed between them
# (a read that has ended is not answered from again)
ctl floods --json >"$LAB_TMP/before1.json"
lab_exec "$LAB_GW" nft add element inet sluice flood_limited4 '{ 198.19.90.1 timeout 10m }'
ctl floods --json | grep -q '"198.19.90.1"' &&
	kt_ok "a source limited between two lists is in the second" ||
	kt_fail "a source limited between two lists is not in the second (an old read answered)"

# --- a reload during the list of 60,000 sources: whole, of one ruleset
# (before it: 20,000 standing and 40,000 more; after it: none), or "error"
for delay in 0.02 0.1 0.2 0.4; do
	lab_exec "$LAB_GW" nft -f "$LAB_TMP/standing.nft"
	lab_exec "$LAB_GW" nft -f "$LAB_TMP/more.nft"
	ctl floods --json >"$LAB_TMP/r.json" 2>"$LAB_TMP/r.err" &
	L=$!
	sleep "$delay"
	ctl reload >/dev/null 2>&1 || kt_fail "reload refused"
	wait "$L"
	rc=$?
	read -r st fl dup err < <(check "$LAB_TMP/r.json")
	info="reload after $delay s: exit $rc, $st of $STANDING standing, $fl of the flood's, $dup twice, error $err"
	if [ "$rc" = 0 ] && [ "$err" = False ] && [ "$dup" = 0 ] &&
		{ [ "$st.$fl" = "$STANDING.40000" ] || [ "$st.$fl" = 0.0 ]; }; then
		kt_ok "$info (a whole list)"
	elif [ "$rc" = 3 ] && [ "$err" = True ]; then
		kt_ok "$info (said so)"
	else
		kt_fail "$info: a part of a list, not said"
	fi
done
kt_done
