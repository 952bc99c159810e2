#!/usr/bin/env bash
# identity_save.sh — how long sluiced's event loop stops while it saves a
# large identity table (FILES, SOCKET.identities; every 10 s when the table
# changed): sluiced starts with N identities read back from its state file,
# one `sluicectl identity add` changes the table, and the control socket is
# asked `status` every 20 ms for 25 s (two housekeeping ticks); the longest
# answer is the longest stall. With BEFORE_BUILD, the same for that build
# (an older tree) in the same run.
#   bench/identity_save.sh [BUILD_DIR] [N] [BEFORE_BUILD_DIR]
# In a network namespace of its own (loopback only); sluiced is stopped by
# the pid this script started.
set -uo pipefail
B=$(cd "${1:-build}" && pwd); N=${2:-262144}; BEFORE=${3:-}
. "$(dirname "$0")/ns.sh"
ns_up idsave
printf 'network clients { 198.18.0.0/15 }\nprotocol web tcp 80\nrule "web" allow web from clients to any\n' >"$D/p.conf"

run() { # run BUILD LABEL
	rm -f "$D"/ctl.sock*
	identity_state "$D/p.conf" "$D/ctl.sock.identities" "$N"
	ns_sluiced "$1" "$D/p.conf"
	local back
	back=$(grep -o "identities: [0-9]* read back" "$D/log" | grep -o "[0-9]*")
	"$1/src/sluicectl/sluicectl" -s "$D/ctl.sock" identity add 10.200.0.1 newuser >/dev/null
	python3 - "$1/src/sluicectl/sluicectl" "$D/ctl.sock" "$2" "${back:-0}" <<'PY'
import subprocess, sys, time
lat = []; end = time.time() + 25
while time.time() < end and len(lat) < 2000:
    t0 = time.time()
    subprocess.run([sys.argv[1], "-s", sys.argv[2], "status"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lat.append(time.time() - t0)
    time.sleep(0.02)
lat.sort()
print("%-8s %s identities read back; %d probes: median %.0f ms, longest %.0f ms (next %s)" % (
    sys.argv[3], sys.argv[4], len(lat), lat[len(lat) // 2] * 1e3, lat[-1] * 1e3,
    ", ".join("%.0f" % (x * 1e3) for x in lat[-4:-1][::-1])))
PY
	ns_sluiced_stop
}
[ -n "$BEFORE" ] && run "$(cd "$BEFORE" && pwd)" before
run "$B" this
echo "state file: $(stat -c %s "$D/ctl.sock.identities") bytes"
