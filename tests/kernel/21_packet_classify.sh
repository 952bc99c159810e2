#!/usr/bin/env bash
# 21_packet_classify — sluiced reads a queued packet the way the kernel does.
#
# 1. Differential: crafted IPv4 and IPv6 packets (extension chains of any
#    length, hop-by-hop/routing/fragment/AH/ESP/No Next Header, first, later
#    and atomic fragments, cut headers, odd lengths, IPv4 options) go from
#    the client to the gateway as Ethernet frames; an nft chain at prerouting
#    priority -500 (before defrag and conntrack) counts, per packet, what
#    the kernel matched (meta l4proto, th dport, ICMP type), and the packet
#    parser (pkt_parse_tool, the same packet_parse() sluiced runs) reads the
#    same bytes. Every reading must agree, and each must be what the
#    table in packet_classify.py says.
#    Later fragments are refused by the parser: nft's fast payload path
#    reads their "ports" from bytes that are none (shown here too).
# 2. End to end: sluiced in the gateway, fail OPEN (so a fail verdict would
#    show as an allow), an unidentified client: TCP/80 SYNs behind 40
#    destination options, behind 8 KiB of them (beyond the old 256-byte
#    copy) and with 40 bytes of IPv4 options, and UDP/5301 datagrams behind
#    304 bytes and 8 KiB of options, are denied by "no web" / "no voice",
#    never allowed by the later any-protocol rule; once the client is staff,
#    the same UDP datagrams are allowed by "staff voice"; nothing is
#    misread, nothing gets the fail verdict.
# 3. nft and conntrack read IPv6 AH differently (nft: the transport is AH;
#    conntrack: the protocol inside): a TCP/80 SYN inside AH must not get
#    a decision (here "rest" would allow it) that a plain SYN from the same
#    port then rides; the kernel ruleset drops it.
# 4. The cross-check: a foreign nft chain (priority -5, between sluice's
#    chain and the xt queue) marks TCP/8080 as queued by rule 1 ("staff
#    web"), while sluiced's own reading stops at rule 5 ("rest"): the
#    session is denied as misread (fail open: a fail verdict would allow).
. "$(dirname "$0")/lib.sh"
tool=$KT_BUILD/tests/unit/pkt_parse_tool
py=$KT_ROOT/tests/kernel/packet_classify.py
[ -x "$tool" ] || { echo "$KT_NAME: $tool not built" >&2; exit 1; }
kt_up # the lab, echo servers on the server's :80
# jumbo frames, so a chain of several KiB needs no fragmentation
for l in "$LAB_CLI gw0" "$LAB_GW cli0" "$LAB_GW srv0" "$LAB_SRV gw0"; do
	set -- $l; ip -n "$1" link set "$2" mtu 16000 || kt_fail "mtu $1 $2"
done
mac() { ip -n "$1" -br link show "$2" | awk '{print $3}'; }
cli_mac=$(mac "$LAB_CLI" gw0) gw_mac=$(mac "$LAB_GW" cli0)

# ---- 1. the kernel's reading and packet_parse(), packet by packet
d=$LAB_TMP/classify; mkdir -p "$d"
python3 "$py" gen "$d/pk" || kt_fail "gen"
cut -d' ' -f1,2 "$d/pk" | "$tool" >"$d/parsed"
python3 "$py" rules "$d/pk" "$d/parsed" pc >"$d/rules.nft"
lab_exec "$LAB_GW" nft -f "$d/rules.nft" || kt_fail "nft rules"
lab_exec "$LAB_CLI" python3 "$py" send gw0 "$cli_mac" "$gw_mac" "$d/pk" || kt_fail "send"
for i in $(seq 20); do # the frames cross a veth: at once, but bounded
	lab_exec "$LAB_GW" nft list chain inet pc pre >"$d/list"
	n=$(grep -c 'counter packets 1 .*seen"' "$d/list")
	[ "$n" -ge "$(wc -l <"$d/pk")" ] && break
	sleep 0.1
done
python3 "$py" compare "$d/pk" "$d/parsed" "$d/list" >"$d/result"
rc=$?
while read -r line; do
	case $line in ok*) kt_ok "${line#ok }" ;; *) kt_fail "${line#FAIL }" ;; esac
done <"$d/result"
[ "$rc" -eq 0 ] || kt_fail "$rc packets read differently"
[ "$(wc -l <"$d/result")" -ge 26 ] && kt_ok "$(wc -l <"$d/result") packets compared" ||
	kt_fail "only $(wc -l <"$d/result") packets compared"
lab_exec "$LAB_GW" nft delete table inet pc

# ---- 2. through sluiced
modprobe -q nf_conntrack 2>/dev/null || true
KT_SOCK=$LAB_TMP/ctl.sock
conf=$LAB_TMP/classify.conf
cat >"$conf" <<CONF
network clients { 198.18.1.0/24 2001:db8:1::/64 }
network servers { 198.18.2.0/24 2001:db8:2::/64 }
users staff { group staff }
protocol web tcp 80
protocol voice udp 5301
rule "staff web"   allow web from clients to servers users staff
rule "no web"      deny web from clients to servers
rule "staff voice" allow voice from clients to servers users staff
rule "no voice"    deny voice from clients to servers
rule "rest"        allow from clients to servers
queue { fail open }
log { file "$LAB_TMP/fw.log" }
CONF
kt_start "$conf" || kt_done
lab_exec "$LAB_CLI" python3 "$py" e2e gw0 "$cli_mac" "$gw_mac" anon || kt_fail "e2e send"
# verdict of the session from client port $1, from the firewall log
verdict() {
	local i
	for i in $(seq 30); do
		grep -h "\]:$1\"\|\.2:$1\"" "$LAB_TMP/fw.log" 2>/dev/null | head -1 |
			python3 -c 'import json,sys
for l in sys.stdin: r = json.loads(l); print(r["transport"], r["action"], r["rule"], r["reason"])' |
			grep . && return 0
		sleep 0.1
	done
	echo "none"
}
want() { # want DESCRIPTION PORT EXPECTED
	local got; got=$(verdict "$2")
	[ "$got" = "$3" ] && kt_ok "$1: $got" || kt_fail "$1: got '$got', want '$3'"
}
want "TCP/80 SYN behind 40 IPv6 destination options" 41001 "tcp deny no web rule"
want "TCP/80 SYN behind 8 KiB of IPv6 destination options" 41002 "tcp deny no web rule"
want "TCP/80 SYN with 40 bytes of IPv4 options" 41003 "tcp deny no web rule"
want "UDP behind a 304-byte destination options header" 41011 "udp deny no voice rule"
want "UDP behind 8 KiB of destination options" 41012 "udp deny no voice rule"
ctl identity add "$LAB_CLI6" carol --groups staff >/dev/null || kt_fail "identity add"
lab_exec "$LAB_CLI" python3 "$py" e2e gw0 "$cli_mac" "$gw_mac" staff || kt_fail "e2e send"
want "staff: UDP behind a 304-byte destination options header" 41021 "udp allow staff voice rule"
want "staff: UDP behind 8 KiB of destination options" 41022 "udp allow staff voice rule"
c=$(ctl counters --json)
for k in packets_misread verdicts_fail; do
	v=$(printf '%s' "$c" | python3 -c "import json,sys; print(json.load(sys.stdin)['counters']['$k'])")
	[ "$v" = 0 ] && kt_ok "$k = 0" || kt_fail "$k = $v, want 0"
done

# ---- 3. IPv6 AH: no decision for what nft and conntrack read differently
ctl identity del "$LAB_CLI6" >/dev/null 2>&1
lab_exec "$LAB_CLI" python3 "$py" e2e gw0 "$cli_mac" "$gw_mac" ah || kt_fail "e2e send"
sleep 0.3
ct=$(lab_exec "$LAB_GW" conntrack -L -p tcp --sport 41031 2>/dev/null | grep -c "dport=80")
[ "$ct" = 0 ] && kt_ok "a TCP/80 SYN inside AH left no conntrack entry (dropped)" ||
	kt_fail "a TCP/80 SYN inside AH left $ct conntrack entries: $(lab_exec "$LAB_GW" conntrack -L -p tcp --sport 41031 2>/dev/null)"
expect_talk "plain TCP/80 from the AH SYN's port: still denied (no web)" 0 \
	"$LAB_CLI" TCP6 "$LAB_SRV6" "80,sourceport=41031,reuseaddr"


# ---- 4. the rule id in the QUEUE mark disagrees with sluiced's reading
lab_exec "$LAB_GW" nft -f - <<'NFT' || kt_fail "tamper chain"
table inet tamper {
	chain forward {
		type filter hook forward priority filter - 5; policy accept;
		tcp dport 8080 ct state new meta mark set meta mark & 0x0000ffff | 0xc0010000
	}
}
NFT
before=$(ctl counters --json | python3 -c "import json,sys; print(json.load(sys.stdin)['counters']['packets_misread'])")
expect_talk "TCP/8080 queued as rule 1 but read as rule 5 by sluiced: denied" 0 \
	"$LAB_CLI" TCP6 "$LAB_SRV6" 8080
after=$(ctl counters --json | python3 -c "import json,sys; c=json.load(sys.stdin)['counters']; print(c['packets_misread'], c['verdicts_fail'])")
set -- $after
[ "$1" -gt "$before" ] && kt_ok "packets_misread grew ($before -> $1)" ||
	kt_fail "packets_misread $before -> $1"
[ "$2" = 0 ] && kt_ok "no fail verdict" || kt_fail "verdicts_fail = $2"
grep -q '"destination":"\[2001:db8:2::2\]:8080".*"action":"deny".*"reason":"misread"' "$LAB_TMP/fw.log" &&
	kt_ok "firewall log: deny, reason misread" ||
	kt_fail "no misread record: $(grep ':8080' "$LAB_TMP/fw.log" | head -2)"
lab_exec "$LAB_GW" nft delete table inet tamper
kt_done
