#!/usr/bin/env bash
# 01_ruleset_install.sh BUILD_DIR — the policy → kernel installer, in the
# kernel (src/kernel/, driven by BUILD_DIR/src/kernel/rs_tool).
#
# In a fresh namespace (sl-rs-$$, removed on every exit path):
#   probes print their results; examples/design.conf installs (nft table +
#   xt SLUICE chain, each jump first in FORWARD/INPUT/OUTPUT, a foreign rule
#   kept); re-install changes nothing and adds no jump; a ruleset the kernel
#   rejects leaves the old table byte for byte; creation elements add, list,
#   delete; fail-closed leaves the decided-session head and drops new ones;
#   remove leaves no table and no SLUICE chain, and is idempotent.
# Then, in a lab (tests/lab/lab.sh), traffic through the generated ruleset:
#   a header-only allow works and marks the session, a deny blocks, a rule
#   that needs sluiced is queued and (no listener, fail closed) dropped.
# Exit 0 when all hold, 1 with the failures listed. Needs root. ~5 s.
set -u
build=${1:?usage: 01_ruleset_install.sh BUILD_DIR}
build=$(cd "$build" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tool=${RS_TOOL:-$build/src/kernel/rs_tool}
[ -x "$tool" ] || { echo "01_ruleset_install: no $tool" >&2; exit 1; }

NS=sl-rs-$$
tmp=$(mktemp -d /tmp/sl-rs-$$.XXXX)
cleanup() { ip netns del "$NS" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fails=0
fail() { echo "01_ruleset_install: FAIL: $*" >&2; fails=$((fails + 1)); }
ok()   { echo "01_ruleset_install: ok: $*"; }
in_ns() { ip netns exec "$NS" "$@"; }

ip netns add "$NS" || { echo "01_ruleset_install: cannot create $NS" >&2; exit 1; }
in_ns ip link set lo up

# ---- probes ------------------------------------------------------------------
probe=$(in_ns "$tool" probe) || fail "rs_tool probe failed"
echo "$probe" | sed 's/^/01_ruleset_install: probe: /'
grep -q '^xt_nfqueue yes' <<<"$probe" || fail "xt NFQUEUE probe says no (DESIGN.md kernel facts say it works)"
[ -z "$(in_ns nft list tables)" ] && ok "probes left no nft table behind" || fail "probes left: $(in_ns nft list tables)"
in_ns iptables-nft-save 2>/dev/null | grep -q SLPROBE && fail "xt probe chain left behind"

# hostile_names.nft (policy text that tries to end a string or a comment;
# every golden loads, below): loaded, it creates table inet sluice, with
# sluice's own chains and sets, and nothing else
in_ns nft -f "$root/tests/golden/hostile_names.nft" || fail "hostile_names.nft does not load"
t=$(in_ns nft list tables | tr '\n' ' ')
[ "$t" = "table inet sluice " ] && ok "hostile policy text created no table, chain or rule of its own (tables: $t)" ||
  fail "hostile_names.nft created: $t"
in_ns nft list table inet sluice | grep -E '^\s*(chain|set) ' | grep -qv -E 'chain (rules_|decided|decide_new|forward|input|output|queue_bypassed|reject_send|flood|publish_nat|pub_tcp_|nat_|antispoof|spoofed)|set (creations|denied|rejected|flood_)' &&
  fail "hostile_names.nft: unexpected chains or sets" || ok "hostile_names.nft: only sluice's own chains and sets"
in_ns nft delete table inet sluice

# jumps FAMILY HOOK — how many jumps to SLUICE (any form), and whether the
# first rule is the one sluice wants: only packets with a decision mark
jumps() { in_ns "$1"-nft-save -t filter 2>/dev/null | grep -c "^-A $2 .*-j SLUICE\$"; }
first_is_jump() { [ "$(in_ns "$1"-nft-save -t filter 2>/dev/null | grep "^-A $2 " | head -n1)" = "-A $2 -m mark ! --mark 0x0/0xc0000000 -j SLUICE" ]; }
check_xt() { # WHAT
  local fam hook bad=0
  for fam in iptables ip6tables; do
    in_ns "$fam"-nft-save -t filter | grep -q '^:SLUICE ' || { fail "$1: $fam has no SLUICE chain"; bad=1; }
    in_ns "$fam"-nft-save -t filter | grep -q '^-A SLUICE .*-j NFQUEUE --queue-num 0$' ||
      { fail "$1: $fam SLUICE has no NFQUEUE rule (fail closed: without bypass)"; bad=1; }
    for hook in FORWARD INPUT OUTPUT; do
      n=$(jumps "$fam" "$hook")
      [ "$n" = 1 ] || { fail "$1: $fam $hook has $n jumps to SLUICE (want 1)"; bad=1; }
      first_is_jump "$fam" "$hook" || { fail "$1: $fam $hook: jump to SLUICE is not first"; bad=1; }
    done
  done
  [ $bad = 0 ] && ok "$1: one conditional SLUICE jump first in FORWARD/INPUT/OUTPUT (v4+v6), NFQUEUE without bypass"
}

# ---- install -----------------------------------------------------------------
# A foreign rule that must survive and stay behind our jump.
in_ns iptables-nft -A FORWARD -i lo -j ACCEPT
in_ns "$tool" install "$root/examples/design.conf" || fail "install design.conf"
in_ns nft list table inet sluice > "$tmp/t1" 2>&1 || fail "nft list table inet sluice failed"
grep -q 'comment "rule 4 .admins to dmz. (design.conf:22)"' "$tmp/t1" &&
  grep -q 'chain rules_forward' "$tmp/t1" && grep -q 'ct timeout udp_session' "$tmp/t1" &&
  ok "table inet sluice loaded ($(grep -c accept "$tmp/t1") accept rules, rule comments present)" ||
  fail "table inet sluice is not the design.conf ruleset"
check_xt "install"
in_ns iptables-nft-save -t filter | grep -q '^-A FORWARD -i lo -j ACCEPT' &&
  ok "foreign FORWARD rule kept" || fail "foreign FORWARD rule lost"

# ---- re-install: idempotent --------------------------------------------------
in_ns "$tool" install "$root/examples/design.conf" || fail "re-install"
in_ns "$tool" install "$root/examples/design.conf" || fail "re-install (2)"
in_ns nft list table inet sluice > "$tmp/t2"
cmp -s "$tmp/t1" "$tmp/t2" && ok "re-install: same table" || fail "re-install changed the table: $(diff "$tmp/t1" "$tmp/t2" | head -5)"
check_xt "re-install x2"
# a duplicate jump added behind our back (here: an older sluice's
# unconditional form) is cleaned up by the next install
in_ns iptables-nft -A INPUT -j SLUICE
in_ns ip6tables-nft -I FORWARD 1 -j SLUICE
in_ns "$tool" install "$root/examples/design.conf" || fail "install over a duplicate jump"
check_xt "install over a duplicate jump"

# ---- a ruleset the kernel rejects leaves the old one ---------------------------
out=$(in_ns "$tool" install-broken "$root/examples/design.conf" 2>&1)
rc=$?
echo "$out" | head -n2 | sed 's/^/01_ruleset_install:   /'
in_ns nft list table inet sluice > "$tmp/t3"
if [ $rc != 0 ]; then fail "broken ruleset: $out"
elif cmp -s "$tmp/t1" "$tmp/t3"; then ok "kernel-rejected ruleset: old table unchanged (atomic)"
else fail "kernel-rejected ruleset changed the table: $(diff "$tmp/t1" "$tmp/t3" | head -5)"; fi
# a ruleset rejected by the parser (bad table name) fails install cleanly
in_ns "$tool" -t 'bad name' install "$root/examples/design.conf" >/dev/null 2>&1 &&
  fail "install with a bad table name succeeded" || ok "install with a bad table name fails"
in_ns nft list table inet sluice > "$tmp/t4"; cmp -s "$tmp/t1" "$tmp/t4" || fail "failed install touched the table"

# ---- creation elements -----------------------------------------------------------
in_ns "$tool" creation-add 4 198.18.2.2 tcp 21 60 || fail "creation-add v4"
in_ns "$tool" creation-add 6 2001:db8:2::2 udp 5060 60 2001:db8:1::2 || fail "creation-add v6 with source"
in_ns "$tool" creation-add 4 'x; flush ruleset' tcp 1 60 2>/dev/null && fail "creation-add accepted a bad address"
cr=$(in_ns "$tool" creations) || fail "creations list"
grep -q '"198.18.2.2", "tcp", 21' <<<"$cr" && grep -q '2001:db8:2::2' <<<"$cr" &&
  ok "creation elements added and listed (JSON)" || fail "creations list: $cr"
in_ns "$tool" creation-del 4 198.18.2.2 tcp 21 || fail "creation-del"
in_ns nft list set inet sluice creations4 | grep -q 198.18.2.2 && fail "creation-del left the element" ||
  ok "creation element deleted"

# ---- fail-closed leftover ------------------------------------------------------------
in_ns "$tool" fail-closed || fail "fail-closed"
fc=$(in_ns nft list chain inet sluice rules_forward)
[ "$(grep -c 'drop' <<<"$fc")" = 1 ] && grep -q 'fail closed' <<<"$fc" &&
  in_ns nft list chain inet sluice decided | grep -q 'session allowed' &&
  ok "fail-closed: decided sessions pass, rules chains are a single drop" || fail "fail-closed chain: $fc"
in_ns iptables-nft-save -t filter | grep -q SLUICE && fail "fail-closed left the xt SLUICE part"

# ---- remove ------------------------------------------------------------------------
in_ns "$tool" install "$root/examples/design.conf" || fail "install before remove"
in_ns "$tool" remove || fail "remove"
in_ns nft list table inet sluice >/dev/null 2>&1 && fail "remove left table inet sluice"
left=$(in_ns iptables-nft-save 2>/dev/null; in_ns ip6tables-nft-save 2>/dev/null)
grep -q SLUICE <<<"$left" && fail "remove left SLUICE: $(grep SLUICE <<<"$left")" ||
  ok "remove: no table, no SLUICE chain or jump"
grep -q '^-A FORWARD -i lo -j ACCEPT' <<<"$left" && ok "remove kept the foreign rule" || fail "remove lost the foreign rule"
in_ns "$tool" remove && ok "remove again: idempotent" || fail "second remove failed"

# ---- every golden ruleset loads into this kernel ----------------------------------
for g in "$root"/tests/golden/*.nft; do
  name=$(basename "$g" .nft)
  if grep -q '^#! .*nft_queue=1' "$root/tests/golden/$name.conf"; then
    # no nft `queue` here: a dry run (reaches the kernel) may fail only on it
    err=$(in_ns nft -c -f "$g" 2>&1)
    if [ -z "$err" ]; then ok "golden $name: accepted (this kernel has nft queue)"
    elif [ "$(grep -c '^Error' <<<"$err")" = "$(grep -c '^Error: Could not process rule: No such file or directory' <<<"$err")" ] &&
         grep -q 'queue \(flags bypass \)\?to' <<<"$err"; then ok "golden $name: only 'queue' rejected (CONFIG_NFT_QUEUE off)"
    else fail "golden $name: $err"; fi
  else
    in_ns nft -f "$g" && ok "golden $name loads" || fail "golden $name does not load"
  fi
done
in_ns nft delete table inet sluice 2>/dev/null

# ---- traffic through the generated ruleset (lab) -------------------------------------
. "$root/tests/lab/lab.sh"
lab_up || { fail "lab_up"; exit 1; }
cat > "$tmp/lab.conf" <<EOF
network clients { $LAB_CLI4/32 $LAB_CLI6/128 }
network servers { $LAB_SRV4/32 $LAB_SRV6/128 }
users staff { group staff }
protocol t7001 tcp 7001
protocol t7002 tcp 7002
protocol t7003 tcp 7003
rule "needs sluiced" allow t7001 from clients to servers users staff
rule "header allow"  allow t7002 from clients to servers
rule "header deny"   deny t7003 from clients to servers
EOF
lab_exec "$LAB_GW" "$tool" install "$tmp/lab.conf" || fail "lab install"
for port in 7001 7002 7003; do
  lab_spawn "$LAB_SRV" timeout 20 socat TCP4-LISTEN:$port,reuseaddr,fork EXEC:cat >/dev/null
  lab_spawn "$LAB_SRV" timeout 20 socat TCP6-LISTEN:$port,ipv6only=1,reuseaddr,fork EXEC:cat >/dev/null
done
for i in $(seq 30); do
  [ "$(lab_exec "$LAB_SRV" ss -Hltn | grep -c ':700[123]')" -ge 6 ] && break; sleep 0.1
done
talk() { # ADDR PORT → lines echoed
  local a=$1; case $a in *:*) a="[$a]" ;; esac
  (echo hello; sleep 0.3) | lab_exec "$LAB_CLI" timeout 4 socat -T 2 - "TCP:$a:$2,connect-timeout=1" 2>/dev/null | wc -l
}
for a in "$LAB_SRV4" "$LAB_SRV6"; do
  [ "$(talk "$a" 7002)" = 1 ] && ok "header-only allow to $a:7002 works" || fail "header-only allow to $a:7002 failed"
  [ "$(talk "$a" 7003)" = 0 ] && ok "header-only deny to $a:7003 blocks" || fail "deny to $a:7003 let data through"
  [ "$(talk "$a" 7001)" = 0 ] && ok "needs-sluiced $a:7001, no listener: dropped (fail closed)" ||
    fail "queued session to $a:7001 passed without sluiced"
done
ct=$(lab_exec "$LAB_GW" conntrack -L 2>/dev/null)
n=$(grep -c 'dport=7002 .*mark=1073872896' <<<"$ct")   # 0x40020000: ALLOW, rule 2
[ "$n" = 2 ] && ok "allowed sessions carry ct mark 0x40020000 (ALLOW, rule 2)" || fail "ct mark 0x40020000 on $n/2 sessions"
q=0
for fam in ip ip6; do
  n=$(lab_exec "$LAB_GW" nft list chain $fam filter SLUICE 2>/dev/null | grep 'queue num' | grep -o 'packets [0-9]*' | awk '{s += $2} END {print s + 0}')  # the decision and DNS-filter queue rules
  q=$((q + ${n:-0}))
done
[ "$q" -ge 2 ] && ok "the queue took $q QUEUE-marked packets and, with no listener and no bypass, the kernel dropped them (fail closed)" ||
  fail "xt NFQUEUE rule counters: $q"
n=$(lab_exec "$LAB_GW" nft list table inet sluice | grep -c 'chain [a-z]*_post ')
[ "$n" = 3 ] && ok "fail closed too: the three <hook>_post chains drop what leaves the xt stage undecided" ||
  fail "fail closed: $n/3 <hook>_post chains"
lab_exec "$LAB_GW" "$tool" install "$tmp/lab.conf" || fail "lab re-install with live sessions (ct timeout in use)"

if [ "$fails" -gt 0 ]; then echo "01_ruleset_install: $fails check(s) failed" >&2; exit 1; fi
echo "01_ruleset_install: PASS"
exit 0
