#!/usr/bin/env bash
# 36_deny_fast — "denials that end quickly and cross once":
#  - deny memory: a session sluiced denied is remembered by the kernel
#    (sets denied4/6, 5-tuple); its retransmitted SYNs and repeated
#    datagrams are dropped there (counted), never queued or logged again;
#  - `reject` rules (kernel, header-only): TCP gets a reset ("connection
#    refused" at once), UDP an ICMP(v6) administratively prohibited;
#  - decisions { deny-action reject }: sluiced's own denials (implicit deny)
#    are rejected by the kernel too, IPv4 and IPv6; their retransmits are
#    rejected again from the kernel's memory.
. "$(dirname "$0")/lib.sh"
kt_up
lab_spawn "$LAB_SRV" timeout 120 socat TCP4-LISTEN:23,reuseaddr,fork EXEC:cat >/dev/null
lab_spawn "$LAB_SRV" timeout 120 socat TCP6-LISTEN:23,ipv6only=1,reuseaddr,fork EXEC:cat >/dev/null
lab_spawn "$LAB_SRV" timeout 120 socat UDP4-LISTEN:5302,fork EXEC:cat >/dev/null
lab_spawn "$LAB_SRV" timeout 120 socat UDP6-LISTEN:5302,ipv6only=1,fork EXEC:cat >/dev/null
conf=$(conf_with 'protocol telnet tcp 23' 'protocol udp5302 udp 5302' \
	'rule "no telnet" reject { telnet udp5302 } from any to servers' \
	"log { format json file \"$LAB_TMP/fw.log\" }")
kt_start "$conf" || kt_done

# probe NS PROTO ADDR PORT WAIT: one try from NS; prints "RESULT SECONDS"
# (RESULT: ok, refused, icmp:ERRNO-NAME, timeout). TCP: connect; UDP: a
# connected socket sends 3 datagrams 0.3 s apart and waits for an answer.
probe() {
	lab_exec "$1" python3 - "$2" "$3" "$4" "$5" <<'PY'
import errno, socket, sys, time
proto, addr, port, wait = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
t0 = time.monotonic()
res = "timeout"
if proto == "tcp":
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(wait)
    try:
        s.connect((addr, port)); res = "ok"
    except ConnectionRefusedError:
        res = "refused"
    except socket.timeout:
        res = "timeout"
    except OSError as e:
        res = "icmp:" + errno.errorcode.get(e.errno, str(e.errno))
else:
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.connect((addr, port))
    s.settimeout(0.3)
    end = t0 + wait
    while time.monotonic() < end and res == "timeout":
        try:
            s.send(b"ping\n")
            s.recv(100); res = "ok"
        except socket.timeout:
            pass
        except OSError as e:
            res = "icmp:" + errno.errorcode.get(e.errno, str(e.errno))
print(res, "%.2f" % (time.monotonic() - t0))
PY
}
# nft_count COMMENT: packets counted by the decide_new rules with COMMENT
nft_count() {
	lab_exec "$LAB_GW" nft list chain inet sluice decide_new |
		awk -v c="$1" 'index($0, c) { for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) } END { print n + 0 }'
}
# logged PORT: firewall log records for destination port PORT
logged() { grep -c "\"destination\":\"[^\"]*:$1\"" "$LAB_TMP/fw.log" 2>/dev/null || true; }
# expect_probe DESC WANT_RE MAX_S NS PROTO ADDR PORT WAIT
expect_probe() {
	local d=$1 want=$2 max=$3; shift 3
	local out r t
	out=$(probe "$@"); r=${out% *}; t=${out#* }
	if [[ $r =~ ^($want)$ ]] && awk -v t="$t" -v m="$max" 'BEGIN { exit !(t <= m) }'; then
		kt_ok "$d: $out"
	else
		kt_fail "$d: got '$out', want $want within ${max}s"
	fi
}

# --- deny memory (deny-action drop): the unidentified client's web session
# is denied by sluiced (rule 1 asks who); SYN retransmits (1 s, 3 s) stay in
# the kernel
for a in "$LAB_SRV4" "$LAB_SRV6"; do
	m0=$(nft_count "retransmit of a denied session")
	queued_by "unidentified client to web [$a], 4 s of SYN retransmits: crossed once" 1 \
		expect_probe "it times out (dropped)" timeout 6 "$LAB_CLI" tcp "$a" 80 4
	m1=$(nft_count "retransmit of a denied session")
	[ "$m1" -ge $((m0 + 2)) ] && kt_ok "the kernel dropped $((m1 - m0)) retransmits from its memory" ||
		kt_fail "deny memory counted $((m1 - m0)) retransmits, want >= 2"
done
queued_by "unidentified client UDP voice, 3 s of datagrams: crossed once" 1 \
	expect_probe "no answer" timeout 6 "$LAB_CLI" udp "$LAB_SRV4" 5301 3
sleep 0.5
n=$(logged 80)
[ "$n" = 2 ] && kt_ok "the firewall log has one record per denied web session (2)" ||
	kt_fail "firewall log has $n records for port 80, want 2: $(grep -c . "$LAB_TMP/fw.log") lines"
lab_exec "$LAB_GW" nft list set inet sluice denied4 | grep -q "$LAB_CLI4 . $LAB_SRV4 . udp . [0-9]* . 5301 expires" &&
	kt_ok "denied4 holds the UDP session's 5-tuple, with its timeout" || kt_fail "denied4: $(lab_exec "$LAB_GW" nft list set inet sluice denied4)"
sleep 1.5
c=$(ctl counters --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"]["packets_deny_memory"])')
[ "$c" -ge 6 ] && kt_ok "counter packets_deny_memory $c" || kt_fail "packets_deny_memory $c, want >= 6"
# another session of the same client and service is a new decision
queued_by "a new session (new source port) is asked again" 1 \
	expect_probe "denied again" timeout 3 "$LAB_CLI" tcp "$LAB_SRV4" 80 1.5
# allowed sessions are untouched
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
expect_talk "carol's web session works" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
ctl identity del "$LAB_CLI4" >/dev/null 2>&1 || true

# --- reject rules, decided by the kernel alone (from the dns host)
for a in "$LAB_SRV4" "$LAB_SRV6"; do
	queued_by "telnet [$a] from the dns host: kernel" 0 \
		expect_probe "a reject rule refuses TCP at once [$a]" refused 1.5 "$LAB_DNS" tcp "$a" 23 5
	queued_by "udp 5302 [$a] from the dns host: kernel" 0 \
		expect_probe "a reject rule answers UDP with ICMP unreachable [$a]" 'icmp:E[A-Z]+' 1.5 "$LAB_DNS" udp "$a" 5302 3
done
lab_exec "$LAB_GW" nft list chain inet sluice reject_send | grep -q "reject with tcp reset" &&
	kt_ok "reject_send holds the TCP reset" || kt_fail "no reject_send chain"

# --- deny-action reject: sluiced's own denials are rejected by the kernel
sed -i 's/^decisions {/decisions { deny-action reject/' "$conf"
grep -q "deny-action reject" "$conf" || sed -i '$a decisions { deny-action reject }' "$conf"
ctl reload >/dev/null && kt_ok "reload with deny-action reject" || kt_fail "reload: $(ctl reload 2>&1)"
for a in "$LAB_SRV4" "$LAB_SRV6"; do
	queued_by "unidentified client to web [$a]: sluiced decides" 1 \
		expect_probe "sluiced's denial is a reset: refused at once [$a]" refused 1.5 "$LAB_CLI" tcp "$a" 80 5
	queued_by "unidentified client UDP voice [$a]: crossed once" 1 \
		expect_probe "sluiced's denial of UDP is an ICMP unreachable [$a]" 'icmp:E[A-Z]+' 1.5 "$LAB_CLI" udp "$a" 5301 3
done
lab_exec "$LAB_GW" nft list set inet sluice rejected4 | grep -q "$LAB_CLI4 . $LAB_SRV4 . udp" &&
	kt_ok "rejected4 holds the UDP session" || kt_fail "rejected4: $(lab_exec "$LAB_GW" nft list set inet sluice rejected4)"
kt_done
