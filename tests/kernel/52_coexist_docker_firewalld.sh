#!/usr/bin/env bash
# 52_coexist_docker_firewalld — sluice beside the real firewalld and Docker
# of Debian (docs/coexistence.md), each run inside the gateway namespace
# only and stopped by its pid:
#   - firewalld (nftables backend) on a private D-Bus bus
#     (dbus-daemon --config-file) with a private configuration
#     (--system-config; the host's /etc/firewalld is neither read nor
#     changed): the lab's interfaces in zone public with forwarding;
#   - dockerd with its own --data-root/--exec-root/socket under the run's
#     folder, iptables=true, no container: only its ruleset (DOCKER,
#     DOCKER-USER, DOCKER-ISOLATION-*, nat), a bridge network created
#     through its API, and a restart. The administrator's ACCEPT for the
#     lab's interfaces goes in DOCKER-USER, as Docker documents.
# Both run in a private mount namespace (ip netns exec) with a private
# /run, without CAP_SYS_MODULE; dockerd's /etc/docker (key.json) is a
# private tmpfs and it sees no system bus, so neither touches the host.
# Checked throughout: sluice's xt jumps are first and its chain whole, a
# session the policy denies stays denied (ssh by the headers; web and a
# one-way UDP stream of an unidentified client, asked of sluiced), an
# allowed one works. Deterministically, with sluiced stopped (SIGSTOP, so
# its ruleset watch cannot repair yet): firewalld's start, and its reload
# with a direct ACCEPT in FORWARD (firewalld 1.3 flushes every iptables
# table, SLUICE included, on start and reload even with the nftables
# backend), and a Docker restart (its DOCKER-USER jump, with an ACCEPT,
# above SLUICE) let no denied packet through: sluice's own table drops
# them (counted as undecided); after SIGCONT sluiced puts its part back
# (ruleset_restored).
# A stop of sluiced leaves their rules as they were; their start, reload,
# restart and stop leave sluice's nft table alone.
. "$(dirname "$0")/lib.sh"
KT_REPAIRS_EXPECTED=1 # this test breaks the ruleset on purpose
for b in dockerd docker firewalld firewall-cmd dbus-daemon setpriv; do
	command -v "$b" >/dev/null ||
		{ echo "$KT_NAME: $b is missing (scripts/setup.sh installs docker.io, firewalld)" >&2; exit 1; }
done
[ -d /etc/docker ] || { echo "$KT_NAME: no /etc/docker to hide dockerd's key.json under" >&2; exit 1; }

# the lab, with servers that outlive this longer scenario (kt_up's stop
# after 120 s): TCP echo on :80 and :22, a UDP sink on :5399 (a line per
# datagram; no rule of lab.conf allows it without a user, so a session to
# it is asked of sluiced and denied)
modprobe -q nf_conntrack 2>/dev/null || true
lab_up >/dev/null || { echo "$KT_NAME: lab_up failed" >&2; exit 1; }
KT_SOCK=$LAB_TMP/ctl.sock
for port in 80 22; do
	lab_spawn "$LAB_SRV" timeout 600 socat TCP4-LISTEN:$port,reuseaddr,fork EXEC:cat >/dev/null
done
SINK=$LAB_TMP/sink.out
lab_spawn "$LAB_SRV" timeout 600 socat -u UDP4-RECV:5399 OPEN:"$SINK",creat,append >/dev/null
gw() { lab_exec "$LAB_GW" "$@"; }

start_sluiced() { # kt_start, carol identified
	kt_start "$KT_ROOT/examples/lab.conf" || kt_done
	ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
}
stop_sluiced() { stop_daemon "$KT_PID" 10; }
settled() { # settled DESCRIPTION: within 10 s sluice's xt part is whole and first
	local i
	for i in $(seq 100); do first_everywhere && break; sleep 0.1; done
	first_everywhere && kt_ok "$1: SLUICE's jumps first in FORWARD/INPUT/OUTPUT (v4, v6)" ||
		kt_fail "$1: SLUICE's jumps not first: $(gw iptables-nft -S FORWARD | head -4 | tr '\n' ';')"
}
udp_stream() { # udp_stream BIND N: N datagrams of one flow to the sink, 50 ms apart; prints how many arrived
	: >"$SINK"
	lab_exec "$LAB_CLI" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
for i in range(int(sys.argv[3])):
    s.sendto(b"d\n", (sys.argv[2], 5399)); time.sleep(0.05)' "$1" "$LAB_SRV4" "$2"
	sleep 0.5
	wc -l <"$SINK"
}
denied_hold() { # denied_hold DESCRIPTION: what the policy denies stays denied
	expect_talk "$1: ssh to a server (header-only deny) stays denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 22
	expect_talk "$1: web from an unidentified client stays denied" 0 "$LAB_CLI" TCP4 "$LAB_SRV4" 80 "$LAB_CLI4B"
	local n; n=$(udp_stream "$LAB_CLI4B" 10)
	[ "$n" -eq 0 ] && kt_ok "$1: a one-way UDP stream the policy denies: 0 of 10 datagrams arrived" ||
		kt_fail "$1: a one-way UDP stream the policy denies: $n of 10 datagrams arrived"
}
policy_holds() {
	denied_hold "$1"
	expect_talk "$1: carol's web session is allowed" 5 "$LAB_CLI" TCP4 "$LAB_SRV4" 80 "$LAB_CLI4"
}
restored() { ctl counters --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"]["ruleset_restored"])'; }
undecided() { # packets sluice's table dropped after the xt stage: never queued
	gw nft list chain inet sluice queue_bypassed 2>/dev/null | grep -E 'never reached|fail closed' |
		grep -o 'packets [0-9]*' | awk '{s += $2} END {print s + 0}'
}
sluice_table() { gw nft list table inet sluice >/dev/null 2>&1; }
# others_xt: every xt rule and policy of both families that is not sluice's
others_xt() {
	local ipt t
	for ipt in iptables-nft ip6tables-nft; do
		for t in filter nat; do gw $ipt -t $t -S 2>/dev/null | grep -v SLUICE | sed "s/^/$ipt $t /"; done
	done
}
# wait_for SECONDS CMD...: polls CMD every 0.2 s until it succeeds, for
# at most SECONDS (and 3000 tries)
wait_for() {
	local end=$((SECONDS + $1)) i; shift
	for i in $(seq 3000); do
		"$@" >/dev/null 2>&1 && return 0
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.2
	done
	return 1
}
gone() { # PID has ended (a zombie child of this shell counts as ended)
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
	[ "${st:0:1}" = Z ]
}
# stop_daemon PID SECONDS: TERM, up to SECONDS for it to end (a daemon's
# own clean-up), then KILL; its children (dockerd's containerd) likewise
stop_daemon() {
	local kids p
	kids=$(ps -o pid= --ppid "$1" 2>/dev/null)
	kill -TERM "$1" 2>/dev/null
	wait_for "$2" gone "$1" || { kt_fail "pid $1 did not stop in $2 s: killed"; kill -KILL "$1" 2>/dev/null; }
	for p in $kids; do
		wait_for 5 gone "$p" || kill -KILL "$p" 2>/dev/null
	done
	wait_for 5 gone "$1"
}
SLUICED_STOPPED=
freeze() { kill -STOP "$KT_PID"; SLUICED_STOPPED=1; }
thaw() { kill -CONT "$KT_PID"; SLUICED_STOPPED=; }
# a stopped sluiced is resumed on every exit path (lab_down then stops it)
trap '[ -n "$SLUICED_STOPPED" ] && kill -CONT "$KT_PID" 2>/dev/null; lab_down' EXIT

start_sluiced
settled "sluiced alone"

# ---- firewalld ----------------------------------------------------------------
FW=$LAB_TMP/firewalld
mkdir -p "$FW/etc/zones"
cat >"$FW/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$FW/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="root"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
EOF
printf '%s\n' DefaultZone=public CleanupOnExit=yes CleanupModulesOnExit=no Lockdown=no \
	IPv6_rpfilter=yes IndividualCalls=no LogDenied=off FirewallBackend=nftables \
	FlushAllOnReload=yes RFC3964_IPv4=yes >"$FW/etc/firewalld.conf"
# sluice decides forwarding; firewalld's zone lets the lab's interfaces forward
cat >"$FW/etc/zones/public.xml" <<'EOF'
<?xml version="1.0" encoding="utf-8"?>
<zone>
  <short>Public</short>
  <service name="ssh"/>
  <forward/>
  <interface name="cli0"/>
  <interface name="srv0"/>
  <interface name="dns0"/>
  <interface name="dir0"/>
</zone>
EOF
cat >"$FW/start.sh" <<EOF
mount -t tmpfs -o mode=755 tmpfs /run || exit 1
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$FW/bus
exec setpriv --bounding-set -sys_module --inh-caps -sys_module \\
	firewalld --nofork --nopid --system-config "$FW/etc" --log-target console
EOF
fwcmd() { DBUS_SYSTEM_BUS_ADDRESS=unix:path=$FW/bus timeout 60 firewall-cmd "$@"; }
fw_running() { [ "$(fwcmd --state 2>/dev/null)" = running ]; }
fw_rules() { gw nft list table inet firewalld 2>/dev/null | grep -c .; }

BUS_PID=$(LAB_SPAWN_LOG=$FW/bus.log lab_spawn "$LAB_GW" dbus-daemon --config-file="$FW/bus.conf" --nofork --nopidfile)
wait_for 10 test -S "$FW/bus" || kt_fail "the private D-Bus bus did not start: $(cat "$FW/bus.log")"
# firewalld 1.3 flushes every iptables table of both families (-F -X -Z,
# SLUICE included) on start and reload, also with the nftables backend and
# no direct rule; seen deterministically with sluiced stopped meanwhile
r0=$(restored); u0=$(undecided)
freeze
FW_PID=$(LAB_SPAWN_LOG=$FW/firewalld.log lab_spawn "$LAB_GW" sh "$FW/start.sh")
wait_for 60 fw_running && kt_ok "firewalld runs in the gateway (nftables backend, private bus and configuration)" ||
	{ kt_fail "firewalld did not start: $(tail -5 "$FW/firewalld.log")"; kt_done; }
gw nft list chain inet firewalld filter_FORWARD >/dev/null 2>&1 && kt_ok "firewalld's table inet firewalld is loaded ($(fw_rules) lines)" ||
	kt_fail "no inet firewalld table"
flushed=
if first_everywhere; then
	kt_ok "firewalld start (sluiced stopped): SLUICE stayed first"
else
	flushed=1
	kt_ok "firewalld start (sluiced stopped): SLUICE's xt part gone or buried: FORWARD is $(gw iptables-nft -S FORWARD | tr '\n' ';')"
fi
sluice_table && kt_ok "firewalld start: sluice's nft table stays" || kt_fail "firewalld start: sluice's nft table gone"
denied_hold "firewalld started, sluiced not repairing"
u1=$(undecided)
if [ -n "$flushed" ]; then
	[ "$u1" -gt "$u0" ] && kt_ok "sluice's own table dropped what left the xt stage undecided ($u0 → $u1 packets)" ||
		kt_fail "no undecided packet dropped by sluice's table ($u0 → $u1): what stopped them?"
fi
thaw
settled "sluiced resumed after firewalld's start"
r1=$(restored)
if [ -n "$flushed" ]; then
	[ "$r1" -gt "$r0" ] && kt_ok "sluiced put back what firewalld's start flushed (ruleset_restored $r0 → $r1)" ||
		kt_fail "ruleset_restored $r0 → $r1 after firewalld's start flushed SLUICE"
fi
policy_holds "firewalld running"
out=$(fwcmd --reload 2>&1) || kt_fail "firewall-cmd --reload: $out"
settled "firewalld reloaded (sluiced running)"
sluice_table && kt_ok "firewalld reload: sluice's nft table stays" || kt_fail "firewalld reload: sluice's nft table gone"
policy_holds "after a firewalld reload"

# a direct rule (iptables, through firewalld) that accepts the clients'
# forwarded packets, applied after firewalld's flush: an ACCEPT in FORWARD
# while SLUICE is missing
cat >"$FW/etc/direct.xml" <<'EOF'
<?xml version="1.0" encoding="utf-8"?>
<direct>
  <rule ipv="ipv4" table="filter" chain="FORWARD" priority="0">-s 198.18.1.0/24 -j ACCEPT</rule>
</direct>
EOF
u0=$(undecided); r1=$(restored)
freeze
out=$(fwcmd --reload 2>&1) || kt_fail "firewall-cmd --reload (direct rule): $out"
direct=$(gw iptables-nft -S FORWARD | grep -c -- '-s 198.18.1.0/24 -j ACCEPT')
[ "$direct" -ge 1 ] && kt_ok "firewalld reload: its direct ACCEPT is in iptables' FORWARD" ||
	kt_fail "firewalld reload: no direct ACCEPT in FORWARD: $(gw iptables-nft -S FORWARD | tr '\n' ';')"
# firewalld 1.3 flushes iptables' filter table before it applies direct
# rules; what follows holds either way, and says which
flushed=
if first_everywhere; then
	kt_ok "firewalld reload (sluiced stopped): SLUICE stayed first"
else
	flushed=1
	kt_ok "firewalld reload (sluiced stopped): SLUICE's xt part gone or buried: FORWARD is $(gw iptables-nft -S FORWARD | tr '\n' ';')"
fi
sluice_table && kt_ok "firewalld reload with a direct rule: sluice's nft table stays" || kt_fail "firewalld reload with a direct rule: sluice's nft table gone"
denied_hold "firewalld's direct ACCEPT, sluiced not repairing"
u1=$(undecided)
if [ -n "$flushed" ]; then
	[ "$u1" -gt "$u0" ] && kt_ok "sluice's own table dropped what left the xt stage undecided ($u0 → $u1 packets)" ||
		kt_fail "no undecided packet dropped by sluice's table ($u0 → $u1): what stopped them?"
fi
thaw
settled "sluiced resumed after the firewalld reload"
r2=$(restored)
if [ -n "$flushed" ]; then
	[ "$r2" -gt "$r1" ] && kt_ok "sluiced put its xt part back (ruleset_restored $r1 → $r2)" ||
		kt_fail "ruleset_restored $r1 → $r2 after firewalld's flush"
fi
policy_holds "firewalld with a direct ACCEPT"

fw_before=$(gw nft list table inet firewalld; gw iptables-nft -S FORWARD | grep -v SLUICE)
stop_sluiced
[ "$(gw nft list table inet firewalld; gw iptables-nft -S FORWARD | grep -v SLUICE)" = "$fw_before" ] &&
	kt_ok "sluiced's stop left firewalld's table and direct rule as they were" ||
	kt_fail "sluiced's stop changed firewalld's rules"
start_sluiced
settled "sluiced started beside firewalld"
policy_holds "sluiced restarted beside firewalld"
stop_daemon "$FW_PID" 30
settled "firewalld stopped"
sluice_table && kt_ok "firewalld stop: sluice's nft table stays" || kt_fail "firewalld stop: sluice's nft table gone"
policy_holds "after firewalld"
stop_daemon "$BUS_PID" 5

# ---- Docker -------------------------------------------------------------------
DK=$LAB_TMP/docker
mkdir -p "$DK"
awk '$2 ~ "^/sys/fs/cgroup" { print $3, $2, $4 }' /proc/self/mounts >"$DK/cgroups"
echo '{}' >"$DK/daemon.json"
# ip netns exec gives a private mount namespace whose fresh /sys has no
# cgroup mounts, which dockerd needs: the host's are mounted again there
cat >"$DK/start.sh" <<EOF
while read -r type dir opts; do
	mkdir -p "\$dir" 2>/dev/null
	mount -t "\$type" -o "\$opts" "\$type" "\$dir" || exit 1
done <"$DK/cgroups"
mount -t tmpfs -o mode=755 tmpfs /run || exit 1
mount -t tmpfs -o mode=755 tmpfs /etc/docker || exit 1
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$DK/no-bus
exec setpriv --bounding-set -sys_module --inh-caps -sys_module \\
	dockerd --config-file "$DK/daemon.json" --data-root "$DK/data" --exec-root "$DK/exec" \\
	--pidfile "$DK/dockerd.pid" -H "unix://$DK/docker.sock" --storage-driver vfs \\
	--bip 198.19.250.1/24 --iptables=true --log-level warn
EOF
dk() { timeout 60 docker -H "unix://$DK/docker.sock" "$@"; }
start_docker() {
	DK_PID=$(LAB_SPAWN_LOG=$DK/dockerd.log lab_spawn "$LAB_GW" sh "$DK/start.sh")
	wait_for 90 dk info || { kt_fail "dockerd did not start: $(tail -5 "$DK/dockerd.log")"; kt_done; }
}
docker_chains() { gw iptables-nft -S | grep -c -- '-N DOCKER'; }

start_docker
n=$(docker_chains)
[ "$n" -ge 3 ] && kt_ok "dockerd runs in the gateway: $n DOCKER chains, FORWARD policy $(gw iptables-nft -S FORWARD | sed -n 's/^-P FORWARD //p')" ||
	kt_fail "dockerd: $n DOCKER chains"
# what Docker documents for traffic that is not its own: an ACCEPT in DOCKER-USER
gw iptables-nft -I DOCKER-USER 1 -i cli0 -j ACCEPT
gw iptables-nft -I DOCKER-USER 1 -i srv0 -j ACCEPT
settled "dockerd started"
policy_holds "Docker running, ACCEPTs in DOCKER-USER"
out=$(dk network create --subnet 198.19.251.0/24 -o com.docker.network.bridge.name=slbr1 labnet 2>&1) &&
	kt_ok "docker network create labnet" || kt_fail "docker network create: $out"
gw iptables-nft -S FORWARD | grep -q slbr1 && kt_ok "Docker added its bridge's rules to FORWARD" ||
	kt_fail "no rule for the new bridge in FORWARD"
settled "docker network created"
policy_holds "Docker with a network"

u0=$(undecided); r0=$(restored)
freeze
stop_daemon "$DK_PID" 30
start_docker
pos_user=$(gw iptables-nft -S FORWARD | grep -n -- '-j DOCKER-USER$' | cut -d: -f1 | head -1)
pos_sluice=$(gw iptables-nft -S FORWARD | grep -n -- '-j SLUICE$' | cut -d: -f1 | head -1)
buried=
[ -n "$pos_user" ] && { [ -z "$pos_sluice" ] || [ "$pos_user" -lt "$pos_sluice" ]; } && buried=1
kt_ok "dockerd restart (sluiced stopped): DOCKER-USER's jump (with its ACCEPTs) at line ${pos_user:-none} of FORWARD, SLUICE's at ${pos_sluice:-none}"
denied_hold "Docker restarted, sluiced not repairing"
u1=$(undecided)
if [ -n "$buried" ]; then
	[ "$u1" -gt "$u0" ] && kt_ok "sluice's own table dropped what DOCKER-USER accepted undecided ($u0 → $u1 packets)" ||
		kt_fail "no undecided packet dropped by sluice's table ($u0 → $u1)"
fi
thaw
settled "sluiced resumed after the dockerd restart"
r1=$(restored)
if [ -n "$buried" ]; then
	[ "$r1" -gt "$r0" ] && kt_ok "sluiced moved its jump back on top (ruleset_restored $r0 → $r1)" ||
		kt_fail "ruleset_restored $r0 → $r1 after Docker buried SLUICE"
fi
policy_holds "after the dockerd restart"

dk_before=$(others_xt)
stop_sluiced
[ "$(others_xt)" = "$dk_before" ] && kt_ok "sluiced's stop left Docker's rules as they were ($(echo "$dk_before" | grep -c DOCKER) DOCKER lines)" ||
	kt_fail "sluiced's stop changed Docker's rules: $(diff <(echo "$dk_before") <(others_xt) | head -5 | tr '\n' ';')"
start_sluiced
settled "sluiced started beside Docker"
[ "$(others_xt)" = "$dk_before" ] && kt_ok "sluiced's start left Docker's rules as they were" ||
	kt_fail "sluiced's start changed Docker's rules: $(diff <(echo "$dk_before") <(others_xt) | head -5 | tr '\n' ';')"
policy_holds "sluiced restarted beside Docker"
stop_daemon "$DK_PID" 30
settled "dockerd stopped"
sluice_table && kt_ok "Docker's stop: sluice's nft table stays" || kt_fail "Docker's stop: sluice's nft table gone"
policy_holds "after Docker"
kt_done
