#!/bin/bash
# check_stop_by_pid.sh ROOT — scripts, benchmarks and tests stop processes
# by the pids they started: no `pkill -f`, `pkill` by name, `killall` or
# `pgrep -f` in bench/, scripts/, tests/ (docs/hacking.md). `pkill -P PID`
# (the children of a pid the script started) is allowed. Exit 1 and the
# offending lines when one is found.
root=${1:?root}
cd "$root" || exit 2
hits=$(grep -rnE '(^|[^[:alnum:]_-])(pkill|killall|pgrep)([[:space:]]|$)' \
	bench scripts tests --include='*.sh' --include='*.py' --include='*.bash' \
	--include='*.c' 2>/dev/null |
	grep -vE 'pkill -[A-Z]+ -P |pkill -P ' |
	grep -v '^tests/docs/check_stop_by_pid.sh:')
if [ -n "$hits" ]; then
	echo "processes stopped by name, not by pid:"
	echo "$hits"
	exit 1
fi
echo "ok: every stop is by pid"
