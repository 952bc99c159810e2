#!/usr/bin/env bash
# 10_decide_tcp — forwarded TCP and ICMP, IPv4 and IPv6: sessions whose
# first matching rule needs the user cross to sluiced once (the SYN) and are
# allowed or denied as the policy says; sessions decided by header-only
# rules are never queued.
. "$(dirname "$0")/lib.sh"
kt_up
kt_start "$KT_ROOT/examples/lab.conf" || kt_done

# Rule 1 ("netops anywhere", from clients) needs the user: every new client
# session crosses once. Unidentified: no users rule matches → default deny;
# each retransmitted SYN crosses again (a dropped SYN leaves no conntrack).
queued_by "unidentified client to web" 1+ \
	expect_talk "unidentified client's web session is denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
ctl identity add "$LAB_CLI6" carol --groups staff >/dev/null
queued_by "carol (staff) web IPv4: the 5-line session crossed once" 1 \
	expect_talk "carol's IPv4 web session works" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80
queued_by "carol (staff) web IPv6: crossed once" 1 \
	expect_talk "carol's IPv6 web session works" 5 "$LAB_CLI" TCP6 "$LAB_SRV6" 80
out=$(ctl sessions)
echo "$out" | grep -q "staff web .*carol" && kt_ok "sessions lists carol under 'staff web'" ||
	kt_fail "sessions: $out"
ctl sessions --json | python3 -c 'import json,sys; s=json.load(sys.stdin)["sessions"]; assert any(x["user"]=="carol" and x["rule"]=="staff web" for x in s)' &&
	kt_ok "sessions --json parses, has carol" || kt_fail "sessions --json"
queued_by "carol to ssh: crosses (rule 1 asks who), then denied" 1+ \
	expect_talk "carol's ssh to servers is denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 22
ctl identity add "$LAB_CLI4B" alice >/dev/null
queued_by "alice (netops) from the second client address" 1 \
	expect_talk "alice may go anywhere (ssh)" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 22 "$LAB_CLI4B"

# Header-only: from the DNS host (not a client) the kernel decides alone.
queued_by "ssh from the dns host: the kernel denies" 0 \
	expect_talk "ssh from dns host is denied" 0 "$LAB_DNS" TCP4 "$LAB_SRV4" 22
queued_by "ssh from the dns host, IPv6: the kernel denies" 0 \
	expect_talk "ssh from dns host (IPv6) is denied" 0 "$LAB_DNS" TCP6 "$LAB_SRV6" 22
before=$(qseq)
lab_exec "$LAB_DNS" ping -c 3 -i 0.2 -W 1 "$LAB_SRV4" >/dev/null && kt_ok "ping IPv4 passes" || kt_fail "ping IPv4"
lab_exec "$LAB_DNS" ping -6 -c 3 -i 0.2 -W 1 "$LAB_SRV6" >/dev/null && kt_ok "ping IPv6 passes" || kt_fail "ping IPv6"
[ "$(qseq)" = "$before" ] && kt_ok "pings never queued" || kt_fail "pings were queued"
queued_by "web from the dns host: no rule, the kernel denies" 0 \
	expect_talk "web from the dns host is denied" 0 "$LAB_DNS" TCP4 "$LAB_SRV4" 80
# creation elements: admitted by the kernel before the policy, with a timeout
ctl creations add "$LAB_SRV4" tcp 22 --timeout 30 >/dev/null &&
	kt_ok "creations add $LAB_SRV4 tcp 22" || kt_fail "creations add"
ctl creations | grep -q "$LAB_SRV4" && kt_ok "creations lists it" || kt_fail "creations: $(ctl creations)"
queued_by "ssh from the dns host, now admitted by the creation element" 0 \
	expect_talk "the creation element admits ssh to $LAB_SRV4" 5 "$LAB_DNS" TCP4 "$LAB_SRV4" 22
ctl sessions | grep -q "(creation)" && kt_ok "sessions shows it under (creation)" || kt_fail "no (creation) session"
ctl creations del "$LAB_SRV4" tcp 22 >/dev/null && kt_ok "creations del" || kt_fail "creations del"
expect_talk "without it, ssh is denied again" 0 "$LAB_DNS" TCP4 "$LAB_SRV4" 22
ctl creations add "$LAB_SRV4" tcp 22 --timeout 0 >/dev/null 2>&1 &&
	kt_fail "a zero timeout was accepted" || kt_ok "a bad --timeout is refused"
st=$(ctl status --json)
echo "$st" | python3 -c 'import json,sys; s=json.load(sys.stdin); assert s["pending"]==0 and s["rules"]==9' &&
	kt_ok "status --json: nothing pending" || kt_fail "status: $st"
kt_done
