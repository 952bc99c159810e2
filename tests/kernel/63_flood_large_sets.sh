#!/usr/bin/env bash
# 63_flood_large_sets — a flood from many sources fills the flood meters
# (here flood_tcp_rate4, 65,535 elements, as 65,535 spoofed sources would),
# and libnftables fetches every set's elements to list the table or a
# chain: sluiced's event loop must not spend its time re-reading them. The
# counters are read over netlink without the sets' elements
# (kernel/nftread.c), so they stay cheap and current; so is the periodic
# ruleset check (its rules, no set's elements; it is still spaced by its
# cost, daemon.h kread_wait_ms: at most 1 % of a core); the half-open pass
# lists no chain. Checked: the
# event loop's CPU over 10 s with the full meter (it was 14.7 s in 20 s
# before), no costly counters' read, a kernel-decided session counted at
# once, the control socket answering, `sluicectl floods` listing every
# limited source, and a half-open pass staying cheap. Then the meter full:
# a new source is refused, not let past the limit.
. "$(dirname "$0")/lib.sh"
kt_up
conf=$(conf_with 'flood { tcp-connect-rate 100000/min tcp-concurrent 100 tcp-half-open 5 udp-rate 1000/s }')
kt_start "$conf" || kt_done
# mt: the main thread's CPU time (utime + stime) in ms
mt() { awk '{ print ($14 + $15) * 10 }' "/proc/$KT_PID/task/$KT_PID/stat"; }
python3 - >"$LAB_TMP/fill.nft" <<'PY'
print("add element inet sluice flood_tcp_rate4 {",
      ",".join("198.19.%d.%d" % (i >> 8, i & 255) for i in range(65535)), "}")
# and every source limited, as in such a flood (kept 10 min, not 30 s)
print("add element inet sluice flood_limited4 {",
      ",".join("198.19.%d.%d timeout 10m" % (i >> 8, i & 255) for i in range(65535)), "}")
PY
lab_exec "$LAB_GW" nft -f "$LAB_TMP/fill.nft" || kt_fail "the meter not filled"
n=$(lab_exec "$LAB_GW" nft -j list set inet sluice flood_tcp_rate4 |
	python3 -c 'import json,sys; print(sum(len(x["set"].get("elem", [])) for x in json.load(sys.stdin)["nftables"] if "set" in x))')
[ "$n" -ge 65000 ] && kt_ok "flood_tcp_rate4 holds $n elements" || kt_fail "flood_tcp_rate4: $n elements"
sleep 8 # the ruleset check (every 5 s) has made its costly read and waits
a=$(mt); sleep 10; b=$(mt)
[ $((b - a)) -lt 2000 ] && kt_ok "the event loop used $((b - a)) ms of CPU in 10 s with the full meter" ||
	kt_fail "the event loop used $((b - a)) ms of CPU in 10 s (reads not spaced)"
grep -q "kernel counters: reading table inet sluice took" "$LAB_TMP/sluiced.log" &&
	kt_fail "the counters' read was costly: $(grep -o 'kernel counters: reading.*' "$LAB_TMP/sluiced.log" | head -1)" ||
	kt_ok "the counters' read stayed cheap with the full meter (nothing logged)"
k0=$(counter sessions_kernel_allowed)
lab_exec "$LAB_DNS" ping -c 2 -i 0.2 -W 1 "$LAB_SRV4" >/dev/null
k=$k0
for i in $(seq 30); do
	k=$(counter sessions_kernel_allowed)
	[ "$k" -gt "$k0" ] && break
	sleep 0.1
done
[ "$k" -eq $((k0 + 1)) ] && kt_ok "a kernel-decided ping session was counted at once with the full meter (sessions_kernel_allowed $k0 -> $k)" ||
	kt_fail "sessions_kernel_allowed $k0 -> $k within 3 s (the counters lag)"
t0=$(date +%s%N)
ctl status >/dev/null && t1=$(date +%s%N) && [ $(((t1 - t0) / 1000000)) -lt 3000 ] &&
	kt_ok "status answers in $(((t1 - t0) / 1000000)) ms" || kt_fail "status: slow or no answer"
n=$(counter flood_sources_limited)
[ "$n" = 65535 ] && kt_ok "flood_sources_limited $n (the elements of flood_limited4 counted)" ||
	kt_fail "flood_sources_limited $n, want 65535"
# `sluicectl floods` during such a flood: every limited source listed
# (read over netlink, answered in parts), and the event loop answering
# other requests meanwhile
ctl floods --json >"$LAB_TMP/floods.json" &
fl=$!
t0=$(date +%s%N)
ctl status >/dev/null && kt_ok "status answers while floods is listed ($((($(date +%s%N) - t0) / 1000000)) ms)" ||
	kt_fail "status: no answer while floods is listed"
wait $fl
n=$(python3 -c 'import json,sys; f=json.load(open(sys.argv[1]))["floods"]; print(len(f), f[0]["reason"], f[0]["expires_s"] > 0)' "$LAB_TMP/floods.json" 2>&1)
[ "$n" = "65535 rate-or-concurrent True" ] && kt_ok "sluicectl floods lists all 65535 limited sources" ||
	kt_fail "floods --json: $n"
c=$(counter flood_half_open_pass_cpu_seconds)
python3 -c "import sys; sys.exit(0 if float('$c') < 0.1 else 1)" &&
	kt_ok "a half-open pass costs $c s of CPU with the full meter (no chain listing)" ||
	kt_fail "half-open pass: $c s"
# the meter full (its 65536th element): a new source cannot be held in it.
# Written "over the limit: drop", such a source met no limit at all (a
# dynamic set statement that cannot add does not match); now it is
# refused as over tcp-connect-rate until elements time out, a source
# already in the meter goes on
lab_exec "$LAB_GW" nft add element inet sluice flood_tcp_rate4 '{ 198.19.255.255 }' ||
	kt_fail "the meter's last element not added"
r0=$(counter packets_flood_tcp_rate)
talk "$LAB_CLI" TCP4 "$LAB_SRV4" 22 "$LAB_CLI4B" >/dev/null
r1=$(counter packets_flood_tcp_rate)
[ "$r1" -gt "$r0" ] && kt_ok "a new source while the meter is full is refused as over the rate (packets_flood_tcp_rate $r0 -> $r1)" ||
	kt_fail "a new source while the meter is full met no limit (packets_flood_tcp_rate $r0 -> $r1)"
lab_exec "$LAB_GW" nft list set inet sluice flood_limited4 | grep -q "$LAB_CLI4B" &&
	kt_ok "and it is listed as limited" || kt_fail "$LAB_CLI4B not in flood_limited4"
# and flood_limited4 full too (its 65536th element was that source): the
# marking cannot add a new source, and it is refused all the same
n=$(counter flood_sources_limited)
r0=$(counter packets_flood_tcp_rate)
talk "$LAB_CLI" TCP4 "$LAB_SRV4" 22 "$LAB_CLI4" >/dev/null
r1=$(counter packets_flood_tcp_rate)
[ "$r1" -gt "$r0" ] && kt_ok "with flood_limited4 full too ($n sources), a new source is still refused (packets_flood_tcp_rate $r0 -> $r1)" ||
	kt_fail "with flood_limited4 full ($n sources), a new source met no limit (packets_flood_tcp_rate $r0 -> $r1)"
kt_done
