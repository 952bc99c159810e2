#!/usr/bin/env bash
# 29_ufw — sluice beside ufw, Debian's package
# (docs/coexistence.md). ufw's own start script (/lib/ufw/ufw-init, what
# ufw.service runs) loads ufw's stock rules into the gateway namespace from
# a private copy of its configuration (--rootdir/--datadir: the host's
# /etc/ufw is neither read nor changed): start, force-reload (what `ufw
# reload` does), stop, and a start with MANAGE_BUILTINS=yes, which flushes
# and deletes every xt chain first (SLUICE included). Throughout, sluice's
# jumps are first in FORWARD/INPUT/OUTPUT (ufw appends its own, or sluiced
# puts them back), a session the policy denies stays denied, an allowed one
# works, and ufw's chains are there while ufw runs.
. "$(dirname "$0")/lib.sh"
KT_REPAIRS_EXPECTED=1 # this test breaks the ruleset on purpose
init=/lib/ufw/ufw-init
[ -x "$init" ] && [ -r /lib/ufw/ufw-init-functions ] && [ -d /usr/share/ufw ] ||
	{ echo "$KT_NAME: ufw is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
kt_up
kt_start "$KT_ROOT/examples/lab.conf" || kt_done
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null

# ufw's configuration, private to this run: its stock rules; ENABLED=yes;
# Debian's defaults except the forward policy (ACCEPT: sluice decides
# forwarding, docs/coexistence.md); no sysctl file applied
R=$LAB_TMP/ufw
mkdir -p "$R/etc/ufw" "$R/etc/default" "$R/lib/ufw"
cp /lib/ufw/ufw-init-functions "$R/lib/ufw/"
cp /usr/share/ufw/*.rules "$R/etc/ufw/"
: >"$R/etc/ufw/sysctl.conf"
printf 'ENABLED=yes\nLOGLEVEL=off\n' >"$R/etc/ufw/ufw.conf"
defaults() { # MANAGE_BUILTINS
	printf 'IPV6=yes\nDEFAULT_INPUT_POLICY="DROP"\nDEFAULT_OUTPUT_POLICY="ACCEPT"\nDEFAULT_FORWARD_POLICY="ACCEPT"\nDEFAULT_APPLICATION_POLICY="SKIP"\nMANAGE_BUILTINS=%s\nIPT_SYSCTL=%s\nIPT_MODULES=""\n' \
		"$1" "$R/etc/ufw/sysctl.conf" >"$R/etc/default/ufw"
}
ufw_init() { lab_exec "$LAB_GW" "$init" --rootdir "$R" --datadir "$R" "$@"; }

# settled DESCRIPTION: within 2.5 s sluice's xt part is whole and first
settled() {
	local i
	for i in $(seq 25); do first_everywhere && break; sleep 0.1; done
	first_everywhere && kt_ok "$1: SLUICE's jumps first in FORWARD/INPUT/OUTPUT (v4, v6)" ||
		kt_fail "$1: SLUICE's jumps not first: $(lab_exec "$LAB_GW" iptables-nft -S FORWARD | head -3 | tr '\n' ';')"
}
policy_holds() {
	expect_talk "$1: ssh to a server (header-only deny) stays denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 22
	expect_talk "$1: web from an unidentified client stays denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80 "$LAB_CLI4B"
	expect_talk "$1: carol's web session is allowed" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80 "$LAB_CLI4"
}
ufw_chains() { lab_exec "$LAB_GW" iptables-nft -S FORWARD | grep -c -- '-j ufw-'; }
restored() { ctl counters --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"]["ruleset_restored"])'; }

defaults no
out=$(ufw_init start 2>&1) || kt_fail "ufw-init start: $out"
n=$(ufw_chains)
[ "$n" -ge 1 ] && kt_ok "ufw started: $n jumps to ufw chains in FORWARD" || kt_fail "ufw start: no ufw chains in FORWARD"
settled "ufw start"
policy_holds "ufw running"

out=$(ufw_init force-reload 2>&1) || kt_fail "ufw-init force-reload: $out"
settled "ufw force-reload (ufw reload)"
policy_holds "after ufw reload"

out=$(ufw_init stop 2>&1) || kt_fail "ufw-init stop: $out"
settled "ufw stop"
policy_holds "after ufw stop"

# MANAGE_BUILTINS=yes: ufw flushes the built-in chains and deletes every
# user chain (iptables -F; iptables -X) before loading its rules
defaults yes
r0=$(restored)
out=$(ufw_init start 2>&1) || kt_fail "ufw-init start (MANAGE_BUILTINS=yes): $out"
settled "ufw start with MANAGE_BUILTINS=yes (flushes every xt chain)"
r1=$(restored)
[ "$r1" -gt "$r0" ] && kt_ok "sluiced counted the flush (ruleset_restored $r0 → $r1)" ||
	kt_fail "ruleset_restored $r0 → $r1 after ufw flushed the xt chains"
[ "$(ufw_chains)" -ge 1 ] && kt_ok "ufw's chains are in place beside SLUICE" || kt_fail "ufw's chains gone"
policy_holds "ufw with MANAGE_BUILTINS=yes"
out=$(ufw_init stop 2>&1) || kt_fail "ufw-init stop: $out"
settled "ufw stop (MANAGE_BUILTINS=yes)"
kt_done
