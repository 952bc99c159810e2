#!/usr/bin/env bash
# 56_systemd_unit — the Debian package's unit under a real systemd as PID 1.
# A container (systemd-nspawn, package systemd-container) boots this
# machine's own root, read-only below a tmpfs overlay (/tmp, per run), to
# basic.target in a private network namespace; a lab namespace is linked to
# it by a veth pair (198.18.56.0/24). There the .deb that the suite built
# (build-deb/, scripts/deb.sh; built here when missing or older than the
# tree) is installed with dpkg -i, and with systemd as PID 1:
#   - the install starts the service (Type=notify), a unit ordered after it
#     finds the nft table, the xt chain and its NFQUEUE rules in place, and
#     systemd has sluiced's STATUS= line;
#   - sluiced runs as _sluice with CAP_NET_ADMIN and CAP_NET_RAW only;
#   - `systemctl reload` of a rejected policy fails and the generation
#     stays; a good one succeeds;
#   - `systemctl restart` keeps an established SSH-port session (allowed by
#     the default policy) and new sessions pass again;
#   - a start with a broken policy fails (unit failed) and the gateway stays
#     closed; the journal has the messages with their priorities;
#   - a first install that would cut sshd's port or an established
#     session to the gateway (sshd on :2222) leaves the service disabled
#     and stopped, says why, and the session goes on; an upgrade leaves it
#     so; with the port admitted `systemctl enable --now` starts it;
#   - `systemd-analyze security` rates the unit <= 3.0;
#   - stop, poweroff. Every exit path kills the container by its pid,
#     unmounts the overlay and removes the lab namespace. ~30 s.
. "$(dirname "$0")/lib.sh"
NAME=56_systemd_unit
[ "$(id -u)" = 0 ] || { echo "$NAME: needs root" >&2; exit 1; }
command -v systemd-nspawn >/dev/null ||
	{ echo "$NAME: FAIL: no systemd-nspawn (systemd-container, scripts/setup.sh)" >&2; exit 1; }

D=/tmp/sluice-nspawn-$LAB_RUN # tmpfs: the overlay's upper and work dirs
M=sl56-$LAB_RUN               # the machine's name
NS=sl56c-$LAB_RUN             # the client's namespace
NSPAWN= LEADER=
cleanup() {
	local i
	if [ -n "$NSPAWN" ] && kill -0 "$NSPAWN" 2>/dev/null; then
		kill -TERM "$NSPAWN" 2>/dev/null # nspawn: a clean poweroff
		for i in $(seq 100); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$NSPAWN" 2>/dev/null
		[ -n "$LEADER" ] && kill -KILL "$LEADER" 2>/dev/null
		wait "$NSPAWN" 2>/dev/null
	fi
	ip netns del "$NS" 2>/dev/null
	for i in $(seq 50); do
		mountpoint -q "$D/root" || break
		umount "$D/root" 2>/dev/null || sleep 0.1
	done
	mountpoint -q "$D/root" && umount -l "$D/root"
	mountpoint -q "$D/t" && umount -l "$D/t"
	rm -rf "$D" "$LAB_TMP"
}
fin() { # the exit: the container's sluiced journal when something failed
	if [ "$kt_failures" -gt 0 ] && [ -n "$LEADER" ] && kill -0 "$LEADER" 2>/dev/null; then
		echo "--- the container's journal of sluiced.service:" >&2
		C journalctl -u sluiced --no-pager -o short-monotonic -n 40 >&2
	fi
	exit "$kt_failures"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$LAB_TMP"

# ---- the package: the suite's build, or built here -------------------------------
# (SLUICE_DEB=FILE: that package instead)
ver=$("$KT_ROOT/scripts/version.sh")
deb=${SLUICE_DEB:-$(ls "$KT_ROOT"/build-deb/sluice_"$ver"-*_*.deb 2>/dev/null | head -1)}
if [ -z "${SLUICE_DEB:-}" ] && { [ -z "$deb" ] || [ -n "$(cd "$KT_ROOT" && find src debian etc \
	docs/sluiced.service meson.build -newer "$deb" -type f 2>/dev/null | head -1)" ]; }; then
	echo "$NAME: building the package (scripts/deb.sh)"
	deb=$(timeout 600 bash "$KT_ROOT/scripts/deb.sh" "$KT_ROOT/build-deb" | tail -1)
fi
[ -f "$deb" ] || { kt_fail "no package to install"; fin; }
kt_ok "package $(basename "$deb")"

# ---- the container: this machine's root under a tmpfs overlay ---------------------
mkdir -p "$D/t" "$D/root"
U=$D/t/upper
mount -t tmpfs -o mode=0700,size=1g tmpfs "$D/t" && mkdir "$U" "$D/t/work" || { kt_fail "tmpfs"; fin; }
# What the install writes is a copy taken now, not this machine's live
# files: a dpkg or adduser run here meanwhile (another test) would change
# the lower layer under the overlay (dpkg then fails: ESTALE). Opaque
# folders (trusted.overlay.opaque) hide the lower one's entries.
mkdir -p "$U/var/lib" "$U/etc/sluice" "$U/var/log" &&
	cp -a /var/lib/dpkg "$U/var/lib/" && cp -a /etc/passwd /etc/group /etc/shadow /etc/gshadow "$U/etc/" &&
	python3 -c 'import os, sys
for p in sys.argv[1:]: os.setxattr(p, "trusted.overlay.opaque", b"y")' "$U/var/lib/dpkg" "$U/etc/sluice" "$U/var/log" &&
	mount -t overlay overlay -o "lowerdir=/,upperdir=$U,workdir=$D/t/work" "$D/root" ||
	{ kt_fail "overlay mount"; fin; }
R=$D/root
# boot to basic.target only: none of the lab's servers that this machine
# has installed (their units are enabled) starts in the container
ln -sfn /lib/systemd/system/basic.target "$R/etc/systemd/system/default.target"
# the package's own start on install, as on a real gateway (setup.sh's
# policy-rc.d, when a run left it, must not hold it back); no man-db
# index rebuilt by the install (seconds)
rm -f "$R/usr/sbin/policy-rc.d" "$R/var/lib/man-db/auto-update"
mkdir -p "$R/sluice-test"
cp "$deb" "$R/sluice-test/sluice.deb"
# a unit ordered after sluiced: what a dependent finds when it starts
cat >"$R/sluice-test/probe.sh" <<'EOF'
nft list table inet sluice >/dev/null 2>&1 && t=1 || t=0
q=$(iptables-nft -S SLUICE 2>/dev/null | grep -c NFQUEUE)
echo "table=$t nfqueue=$q sluiced=$(systemctl show -p ActiveState --value sluiced.service)" >/run/sl56-probe.out
EOF
cat >"$R/etc/systemd/system/sl56-probe.service" <<'EOF'
[Unit]
Requires=sluiced.service
After=sluiced.service
[Service]
Type=oneshot
ExecStart=/bin/sh /sluice-test/probe.sh
EOF

timeout 300 systemd-nspawn -q -D "$R" -M "$M" -b --private-network --register=no --keep-unit \
	--console=passive --link-journal=no >"$LAB_TMP/nspawn.log" 2>&1 &
NSPAWN=$!
kids() { cat /proc/"$1"/task/*/children 2>/dev/null; }
for i in $(seq 100); do # timeout -> systemd-nspawn -> the container's init,
	for n in $(kids "$NSPAWN"); do # pid 1 of its own pid namespace
		for c in $(kids "$n"); do
			[ "$(awk '$1 == "NSpid:" { print $NF }' /proc/"$c"/status 2>/dev/null)" = 1 ] && LEADER=$c
		done
	done
	[ -n "$LEADER" ] && break
	sleep 0.1
done
[ -n "$LEADER" ] || { kt_fail "no container init: $(tail -5 "$LAB_TMP/nspawn.log")"; fin; }
C() { # C CMD...: CMD in the container (its namespaces and root), as root
	timeout 60 nsenter -t "$LEADER" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=C.UTF-8 SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}
t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
state=
for i in $(seq 120); do # <= 60 s
	state=$(C systemctl is-system-running 2>/dev/null)
	case $state in running | degraded) break ;; esac
	sleep 0.5
done
case $state in
running) kt_ok "systemd is PID 1 in the container, booted in $(elapsed) s" ;;
*) kt_fail "container boot: state '$state': $(C systemctl --failed --no-legend 2>&1 | head -5) $(tail -5 "$LAB_TMP/nspawn.log")"
	fin ;;
esac
[ "$(C cat /proc/1/comm)" = systemd ] && kt_ok "its PID 1: systemd" || kt_fail "PID 1: $(C cat /proc/1/comm)"

# the client's namespace, linked to the container
ip netns add "$NS" &&
	ip -n "$NS" link add c0 type veth peer name g0 &&
	ip -n "$NS" link set g0 netns "$LEADER" &&
	ip -n "$NS" addr add 198.18.56.2/24 dev c0 && ip -n "$NS" link set c0 up && ip -n "$NS" link set lo up &&
	C ip addr add 198.18.56.1/24 dev g0 && C ip link set g0 up ||
	{ kt_fail "the client's link"; fin; }
# "SSH" on the gateway: an echo server on :22, a unit of the container
C systemd-run --quiet --unit=sl56-echo socat TCP4-LISTEN:22,reuseaddr,fork EXEC:cat ||
	kt_fail "echo server"
talk22() { # lines echoed by one new 5-line session to the gateway's :22
	(for i in 1 2 3 4 5; do echo "l$i"; sleep 0.05; done; sleep 0.3) |
		ip netns exec "$NS" timeout 6 socat -T 2 - TCP4:198.18.56.1:22,connect-timeout=2 2>/dev/null | wc -l
}

# ---- install: the package starts its service ---------------------------------------
if C dpkg -i /sluice-test/sluice.deb >"$LAB_TMP/dpkg.log" 2>&1; then kt_ok "dpkg -i in the container"
else kt_fail "dpkg -i: $(tail -5 "$LAB_TMP/dpkg.log")"; fi
st=$(C systemctl is-active sluiced)
[ "$st" = active ] && kt_ok "the install started sluiced.service: $st" ||
	kt_fail "after the install sluiced.service is $st: $(C journalctl -u sluiced -n 8 --no-pager -o cat 2>&1)"
sh=$(C systemctl show -p Type -p StatusText sluiced | tr '\n' ' ')
case $sh in *Type=notify*StatusText=filtering:*) kt_ok "systemd has its READY status: $sh" ;;
*) kt_fail "no READY status: $sh" ;; esac

# ---- ready means filtering -----------------------------------------------------
# stop (fail-closed) and take the ruleset out, so that the probe below can
# only find what this start puts in
C systemctl stop sluiced && C sluiced --remove-ruleset >/dev/null 2>&1
C nft list table inet sluice >/dev/null 2>&1 && kt_fail "the ruleset is still in after --remove-ruleset" ||
	kt_ok "stopped, ruleset removed"
C systemctl start sl56-probe.service && out=$(C cat /run/sl56-probe.out)
case ${out:-} in
"table=1 nfqueue="[1-9]*" sluiced=active") kt_ok "a unit ordered after sluiced finds: $out" ;;
*) kt_fail "a unit ordered after sluiced found: ${out:-nothing}" ;;
esac

# ---- least privilege ----------------------------------------------------------------
pid=$(C systemctl show -p MainPID --value sluiced)
uid=$(C id -u _sluice)
ps=$(C cat "/proc/$pid/status" 2>/dev/null)
get() { awk -v k="$1:" '$1 == k { print $2 }' <<<"$ps"; }
[ "$(get Uid)" = "$uid" ] && kt_ok "sluiced (pid $pid) runs as _sluice (uid $(get Uid))" ||
	kt_fail "sluiced's uid: $(get Uid), _sluice is $uid"
# CAP_NET_ADMIN (12) and CAP_NET_RAW (13): 0x3000
[ "$(get CapEff)" = 0000000000003000 ] && [ "$(get CapPrm)" = 0000000000003000 ] &&
	[ "$(get CapBnd)" = 0000000000000000 ] && [ "$(get NoNewPrivs)" = 1 ] &&
	kt_ok "CapEff $(get CapEff) CapPrm $(get CapPrm) CapBnd $(get CapBnd) NoNewPrivs $(get NoNewPrivs)" ||
	kt_fail "CapEff $(get CapEff) CapPrm $(get CapPrm) CapBnd $(get CapBnd) NoNewPrivs $(get NoNewPrivs)"
# the real uids of its threads: "N as _sluice, M as another"
tu=$(C sh -c "awk '\$1 == \"Uid:\" { if (\$2 == $uid) n++; else m++ } END { print n + 0, m + 0 }' /proc/$pid/task/*/status" 2>/dev/null)
tu=${tu:-0 0}
[ "${pid:-0}" -gt 0 ] && [ "${tu% *}" -gt 0 ] && [ "${tu#* }" = 0 ] &&
	kt_ok "every thread of sluiced runs as _sluice (${tu% *} threads)" || kt_fail "threads as _sluice, as another: ${tu:-none}"

# ---- reload ---------------------------------------------------------------------
gen() { C sluicectl status 2>/dev/null | sed -n 's/.*(generation \([0-9]*\),.*/\1/p'; }
g0=$(gen)
cp "$R/etc/sluice/sluice.conf" "$LAB_TMP/good.conf"
echo 'rule "broken" allow nosuch from any to any' >>"$R/etc/sluice/sluice.conf"
C systemctl reload sluiced >/dev/null 2>&1; rc=$?
g1=$(gen)
[ "$rc" -ne 0 ] && [ -n "$g0" ] && [ "$g1" = "$g0" ] &&
	kt_ok "a rejected policy: systemctl reload fails ($rc), generation stays $g1" ||
	kt_fail "rejected reload: rc $rc, generation $g0 -> $g1"
[ "$(C systemctl is-active sluiced)" = active ] && kt_ok "and sluiced runs on" || kt_fail "sluiced not active after a rejected reload"
{ cat "$LAB_TMP/good.conf"; echo 'rule "one more" allow ping from any to localhost'; } >"$R/etc/sluice/sluice.conf"
C systemctl reload sluiced >/dev/null 2>&1; rc=$?
g2=$(gen)
[ "$rc" -eq 0 ] && [ -n "$g2" ] && [ "$g2" -gt "$g1" ] &&
	kt_ok "a good policy: systemctl reload succeeds, generation $g1 -> $g2" ||
	kt_fail "good reload: rc $rc, generation $g1 -> $g2"

# ---- restart keeps an established session ---------------------------------------
[ "$(talk22)" = 5 ] && kt_ok "a new session to the gateway's :22 passes" || kt_fail "new session to :22 refused"
# a line every 0.1 s for up to 30 s
(for i in $(seq 300); do echo "h$i"; sleep 0.1; done) |
	ip netns exec "$NS" timeout 40 socat -T 5 - TCP4:198.18.56.1:22 >"$LAB_TMP/held" 2>/dev/null &
HPID=$!
for i in $(seq 50); do [ "$(wc -l <"$LAB_TMP/held")" -ge 5 ] && break; sleep 0.1; done
pid0=$(C systemctl show -p MainPID --value sluiced)
C systemctl restart sluiced && kt_ok "systemctl restart" || kt_fail "systemctl restart"
pid1=$(C systemctl show -p MainPID --value sluiced)
h1=$(wc -l <"$LAB_TMP/held")
for i in $(seq 50); do [ "$(wc -l <"$LAB_TMP/held")" -ge $((h1 + 10)) ] && break; sleep 0.1; done
h2=$(wc -l <"$LAB_TMP/held")
[ "$pid1" != "$pid0" ] && [ "$h2" -ge $((h1 + 10)) ] &&
	kt_ok "the established session passes data after the restart (pid $pid0 -> $pid1; $h1 -> $h2 lines)" ||
	kt_fail "the established session after the restart: pid $pid0 -> $pid1, $h1 -> $h2 lines"
[ "$(talk22)" = 5 ] && kt_ok "new sessions pass after the restart" || kt_fail "new session refused after the restart"
kill "$HPID" 2>/dev/null; wait "$HPID" 2>/dev/null

# ---- a start with a broken policy -------------------------------------------------
cp "$R/etc/sluice/sluice.conf" "$LAB_TMP/good2.conf"
C systemctl stop sluiced || kt_fail "systemctl stop"
echo 'rule "broken" allow nosuch from any to any' >>"$R/etc/sluice/sluice.conf"
C systemctl start sluiced >/dev/null 2>&1; rc=$?
# Restart=on-failure tries again (a crash comes back at once); the start
# limit (5 in 10 s) ends it on a policy that stays broken
for i in $(seq 75); do
	st=$(C systemctl is-failed sluiced)
	[ "$st" = failed ] && break
	sleep 0.2
done
res=$(C systemctl show -p Result -p NRestarts sluiced | tr '\n' ' ')
[ "$rc" -ne 0 ] && [ "$st" = failed ] && kt_ok "a start with a broken policy fails ($rc), the unit is $st ($res)" ||
	kt_fail "start with a broken policy: rc $rc, unit $st ($res)"
C nft list table inet sluice >/dev/null 2>&1 && [ "$(talk22)" = 0 ] &&
	kt_ok "the gateway stays closed: ruleset in, a new session does not pass" ||
	kt_fail "the gateway is open after a failed start"
# journald: each message with its priority
err=$(C journalctl -u sluiced -p err --no-pager -o cat -q)
warn=$(C journalctl -u sluiced -p warning..warning --no-pager -o cat -q)
info=$(C journalctl -u sluiced -p info..info --no-pager -o cat -q)
grep -q 'error: .*nosuch' <<<"$err" && ! grep -q 'started: ' <<<"$err" &&
	kt_ok "journalctl -p err: $(grep -m1 'error: ' <<<"$err")" || kt_fail "journalctl -p err: $(head -5 <<<"$err")"
grep -q "^sluiced: .*error: unknown protocol 'nosuch'" <<<"$warn" &&
	kt_ok "journalctl -p warning..warning: the rejected reload, as sluiced saw it: $(grep -m1 nosuch <<<"$warn")" ||
	kt_fail "journalctl -p warning..warning: $(head -5 <<<"$warn")"
grep -q '^sluiced: started: ' <<<"$info" && ! grep -q 'error: ' <<<"$info" &&
	kt_ok "journalctl -p info..info: $(grep -m1 'started: ' <<<"$info")" ||
	kt_fail "journalctl -p info..info: $(grep 'error\|started' <<<"$info" | head -5)"
grep -q '^<[0-7]>\|^sluiced: [0-9][0-9]:[0-9][0-9]:' <<<"$info" && kt_fail "a prefix or time stamp left in a message" ||
	kt_ok "no priority prefix or time stamp of sluiced's own in the journal's messages"

cp "$LAB_TMP/good2.conf" "$R/etc/sluice/sluice.conf"
C systemctl reset-failed sluiced
C systemctl start sluiced && [ "$(talk22)" = 5 ] && kt_ok "the fixed policy starts, sessions pass" ||
	kt_fail "start with the fixed policy"

# ---- the first install does not lock its administrator out ---------------------------
# sshd (socat under that name) on :2222, which the shipped policy does not
# admit, and an administrator's session held to it: after a purge, a new
# install leaves the service disabled and stopped and says why, and the
# session goes on; an upgrade leaves it so; with tcp 2222 admitted,
# `systemctl enable --now` starts it and the session still passes
C systemctl stop sluiced && C dpkg --purge sluice >"$LAB_TMP/purge.log" 2>&1 &&
	! C nft list table inet sluice >/dev/null 2>&1 && kt_ok "dpkg --purge: stopped, ruleset out" ||
	kt_fail "purge: $(tail -3 "$LAB_TMP/purge.log")"
C cp /usr/bin/socat /usr/local/sbin/sshd &&
	C systemd-run --quiet --unit=sl56-sshd /usr/local/sbin/sshd TCP4-LISTEN:2222,reuseaddr,fork EXEC:cat ||
	kt_fail "sshd on :2222"
for i in $(seq 50); do C ss -ltn 2>/dev/null | grep -q ':2222 ' && break; sleep 0.1; done
(for i in $(seq 400); do echo "s$i"; sleep 0.1; done) |
	ip netns exec "$NS" timeout 50 socat -T 5 - TCP4:198.18.56.1:2222 >"$LAB_TMP/held2" 2>/dev/null &
HPID=$!
grows() { # grows FILE: more lines arrive in FILE within 5 s
	local a b i
	a=$(wc -l <"$1")
	for i in $(seq 50); do b=$(wc -l <"$1"); [ "$b" -ge $((a + 10)) ] && return 0; sleep 0.1; done
	return 1
}
grows "$LAB_TMP/held2" || kt_fail "the session to :2222 before the install"
C dpkg -i /sluice-test/sluice.deb >"$LAB_TMP/dpkg2.log" 2>&1; rc=$?
en=$(C systemctl is-enabled sluiced 2>&1); act=$(C systemctl is-active sluiced 2>&1)
[ "$rc" = 0 ] && [ "$en" = disabled ] && [ "$act" = inactive ] &&
	grep -q 'not enabled or started' "$LAB_TMP/dpkg2.log" && grep -q 'tcp 2222' "$LAB_TMP/dpkg2.log" &&
	kt_ok "an install that would cut sshd on :2222: rc 0, $en, $act; it says: $(grep -m1 'sshd listens' "$LAB_TMP/dpkg2.log")" ||
	kt_fail "install with sshd on :2222: rc $rc, $en, $act: $(tail -6 "$LAB_TMP/dpkg2.log")"
grows "$LAB_TMP/held2" && kt_ok "the administrator's session to :2222 goes on" ||
	kt_fail "the session to :2222 was cut by the install"
C dpkg -i /sluice-test/sluice.deb >"$LAB_TMP/dpkg3.log" 2>&1
act=$(C systemctl is-active sluiced 2>&1)
[ "$act" = inactive ] && grows "$LAB_TMP/held2" && kt_ok "an upgrade leaves it $act" ||
	kt_fail "after the upgrade: $act: $(tail -4 "$LAB_TMP/dpkg3.log")"
sed -i 's/^protocol ssh  *tcp 22$/protocol ssh        tcp { 22 2222 }/' "$R/etc/sluice/sluice.conf"
C sluicectl check -c /etc/sluice/sluice.conf --host >"$LAB_TMP/host.out" 2>&1 &&
	kt_ok "with tcp 2222 admitted, check --host: $(cat "$LAB_TMP/host.out")" ||
	kt_fail "check --host with 2222 admitted: $(cat "$LAB_TMP/host.out")"
C systemctl enable --now sluiced >/dev/null 2>&1 && [ "$(C systemctl is-active sluiced)" = active ] &&
	grows "$LAB_TMP/held2" && [ "$(talk22)" = 5 ] &&
	kt_ok "systemctl enable --now: active, the session to :2222 goes on, :22 passes" ||
	kt_fail "enable --now: $(C systemctl is-active sluiced), held $(wc -l <"$LAB_TMP/held2") lines"
kill "$HPID" 2>/dev/null; wait "$HPID" 2>/dev/null
C systemctl stop sl56-sshd >/dev/null 2>&1

# ---- hardening ----------------------------------------------------------------
sec=$(C systemd-analyze security sluiced.service --no-pager 2>&1)
score=$(sed -n 's/.*Overall exposure level for sluiced.service: \([0-9.]*\).*/\1/p' <<<"$sec")
awk -v s="${score:-99}" 'BEGIN { exit !(s <= 3.0) }' && kt_ok "systemd-analyze security sluiced: $score (<= 3.0)" ||
	kt_fail "systemd-analyze security sluiced: ${score:-none}: $(tail -3 <<<"$sec")"

# ---- a clean stop, poweroff ---------------------------------------------------------
C systemctl stop sluiced && [ "$(C systemctl is-active sluiced)" = inactive ] &&
	[ "$(C systemctl show -p Result --value sluiced)" = success ] && kt_ok "systemctl stop: inactive, result success" ||
	kt_fail "stop: $(C systemctl show -p ActiveState -p Result sluiced | tr '\n' ' ')"
C nft list table inet sluice >/dev/null 2>&1 && kt_ok "left fail-closed after the stop (on-exit fail-closed)" ||
	kt_fail "the stop opened the gateway"
C systemctl poweroff --no-block >/dev/null 2>&1
for i in $(seq 300); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$NSPAWN" 2>/dev/null; then kt_fail "the container did not power off in 30 s"
else wait "$NSPAWN"; rc=$?; NSPAWN=
	[ "$rc" = 0 ] && kt_ok "the container powered off (nspawn exit 0)" || kt_fail "nspawn exit $rc: $(tail -5 "$LAB_TMP/nspawn.log")"
fi
echo "$NAME: $(elapsed) s from boot to poweroff"
fin
