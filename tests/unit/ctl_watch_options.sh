#!/bin/bash
# ctl_watch_options.sh SLUICECTL — `sluicectl counters --watch`'s numbers
# (sluicectl(8)): --interval MS is 100..86400000 and --count N 0..86400000;
# a value out of range is a usage error (exit 2) whose message gives the
# range, never silently clamped (--interval 0 ran every 1 s). A value in
# range gets as far as reaching sluiced (exit 3: no daemon at this socket).
set -u
CTL=${1:?usage: ctl_watch_options.sh SLUICECTL}
SOCK=/nonexistent-sluice-$$/ctl.sock
fails=0
check() { # check WANT_RC STDERR_PATTERN ARGS...
	local want=$1 pat=$2 err rc; shift 2
	err=$("$CTL" -s "$SOCK" "$@" 2>&1 >/dev/null); rc=$?
	if [ "$rc" -ne "$want" ] || ! grep -qE -- "$pat" <<<"$err"; then
		echo "FAIL: sluicectl $*: rc $rc (want $want), stderr: $err"
		fails=$((fails + 1))
	else
		echo "ok: sluicectl $*: rc $rc: ${err%%$'\n'*}"
	fi
}
check 2 'interval 0: out of range \(100\.\.86400000 ms\)' counters --watch --interval 0 --count 1
check 2 'interval 99: out of range \(100\.\.86400000 ms\)' counters --watch --interval 99 --count 1
check 2 'interval 86400001: out of range \(100\.\.86400000 ms\)' counters --watch --interval 86400001 --count 1
check 2 'interval must be a whole number' counters --watch --interval -1 --count 1
check 2 'count 86400001: out of range \(0\.\.86400000' counters --watch --count 86400001
check 3 'cannot reach sluiced' counters --watch --interval 100 --count 1
check 3 'cannot reach sluiced' counters --watch --interval 86400000 --count 1
check 2 'unexpected .-i.' counters --watch -i 1
exit "$fails"
