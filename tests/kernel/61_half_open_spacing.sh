#!/usr/bin/env bash
# 61_half_open_spacing — the tcp-half-open passes are spaced when they can
# be (flood_half_open_wait_s(), docs/kernel.md §o) and the limit still
# holds: with the connect rate bounding every source (600/min, bursts of
# 60) and tcp-half-open 80, nobody can go over before 2 s, so an idle
# gateway passes every 2 s, not every second (flood_half_open_passes),
# and reports each pass's CPU time; a source then sending SYNs nobody
# answers as fast as the connect rate lets it is still put into
# flood_half_open4 and its SYNs dropped.
. "$(dirname "$0")/lib.sh"
kt_up
conf=$(conf_with 'flood { tcp-connect-rate 600/min tcp-concurrent 1000 tcp-half-open 80 udp-rate 1000/s }')
kt_start "$conf" || kt_done
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
# the server drops every SYN to its second address: nobody answers there
lab_exec "$LAB_SRV" nft -f - <<EOF || kt_fail "black hole not installed"
table inet blackhole {
	chain input {
		type filter hook input priority 0;
		ip daddr $LAB_SRV4B tcp dport 80 drop
	}
}
EOF

# --- idle: one pass every 2 s (80 - 0 - 60 SYNs at 10/s), so 8 s hold at
# most 5 (8 at one a second; fewer when the host is slow to tick)
sleep 2
p0=$(counter flood_half_open_passes)
sleep 8
p1=$(counter flood_half_open_passes)
d=$((p1 - p0))
[ "$d" -ge 1 ] && [ "$d" -le 5 ] && kt_ok "idle: $d passes in 8 s (spaced: the connect rate keeps everyone below the limit for 2 s)" ||
	kt_fail "idle: $d passes in 8 s ($p0 -> $p1); spaced passes would be 4"
cpu=$(counter flood_half_open_pass_cpu_seconds)
python3 -c "import sys; sys.exit(0 if 0 < float('$cpu') < 1 else 1)" &&
	kt_ok "flood_half_open_pass_cpu_seconds: $cpu" || kt_fail "flood_half_open_pass_cpu_seconds: $cpu"

# --- carol: 150 SYNs nobody answers at once; the meter lets 60 through,
# then 10 a second (her retransmits): she holds more than 80 after about
# 2 s, and a pass must see it
r0=$(counter packets_flood_tcp_rate)
burst "$LAB_CLI" "$LAB_SRV4B" 80 150 30 "$LAB_CLI4" >/dev/null &
lab_register_pid $!
ok=
for i in $(seq 150); do
	if lab_exec "$LAB_GW" nft list set inet sluice flood_half_open4 | grep -qw -- "$LAB_CLI4"; then ok=1; break; fi
	sleep 0.2
done
n=$(lab_exec "$LAB_GW" conntrack -L -p tcp --src "$LAB_CLI4" --state SYN_SENT 2>/dev/null | grep -c .)
[ -n "$ok" ] && kt_ok "carol, over the limit at the connect rate's pace, is in flood_half_open4 ($n unanswered sessions)" ||
	kt_fail "carol is not in flood_half_open4 with $n unanswered sessions"
r1=$(counter packets_flood_tcp_rate)
[ "$r1" -gt "$r0" ] && kt_ok "the connect rate refused part of her SYNs ($r0 -> $r1)" ||
	kt_fail "packets_flood_tcp_rate $r0 -> $r1: the meter did not pace her"
ctl floods --json | python3 -c 'import json,sys; f=json.load(sys.stdin)["floods"]; assert any(x["source"]=="'"$LAB_CLI4"'" and x["reason"]=="tcp-half-open" for x in f)' &&
	kt_ok "sluicectl floods: $LAB_CLI4 limited by tcp-half-open" || kt_fail "floods: $(ctl floods)"
got=$(burst "$LAB_CLI" "$LAB_SRV4" 80 3 2 "$LAB_CLI4")
[ "$got" = 0 ] && kt_ok "her new SYNs to an answering server are dropped" ||
	kt_fail "carol while limited: $got of 3 established"
kt_done
