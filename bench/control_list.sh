#!/usr/bin/env bash
# control_list.sh — how long sluiced's event loop stops while it answers
# `identity list` for a large address table: sluiced starts with N
# identities read back from its state file; `sluicectl identity list
# --json` runs while the control socket is asked `status` every 20 ms
# (from 0.5 s before the list until it ends); prints the list's time and
# size and the probes' median and longest answer (the longest stall).
# With BEFORE_BUILD, the same for that build (an older tree) in the same
# run, ROUNDS times each, alternating.
#   bench/control_list.sh [BUILD_DIR] [N] [BEFORE_BUILD_DIR] [ROUNDS]
# In a network namespace of its own (loopback only); sluiced is stopped by
# the pid this script started.
set -uo pipefail
B=$(cd "${1:-build}" && pwd); N=${2:-262144}; BEFORE=${3:-}; ROUNDS=${4:-1}
. "$(dirname "$0")/ns.sh"
ns_up ctllist
printf 'network clients { 198.18.0.0/15 }\nprotocol web tcp 80\nrule "web" allow web from clients to any\n' >"$D/p.conf"
identity_state "$D/p.conf" "$D/state" "$N"

run() { # run BUILD LABEL
	rm -f "$D"/ctl.sock*
	cp -p "$D/state" "$D/ctl.sock.identities"
	ns_sluiced "$1" "$D/p.conf"
	python3 - "$1/src/sluicectl/sluicectl" "$D/ctl.sock" "$2" "$D/list.json" <<'PY'
import json, subprocess, sys, threading, time
ctl, sock, label, out = sys.argv[1:5]
lat = []; done = threading.Event(); res = {}
def lister():
    time.sleep(0.5)
    t0 = time.time()
    with open(out, "w") as f:
        res["rc"] = subprocess.run([ctl, "-s", sock, "identity", "list", "--json"], stdout=f,
                                   stderr=subprocess.DEVNULL).returncode
    res["s"] = time.time() - t0
    done.set()
th = threading.Thread(target=lister); th.start()
end = time.time() + 60
while not done.is_set() and time.time() < end and len(lat) < 5000:
    t0 = time.time()
    subprocess.run([ctl, "-s", sock, "status"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lat.append(time.time() - t0)
    time.sleep(0.02)
th.join()
try:
    n = len(json.load(open(out)))
except Exception:
    n = -1
lat.sort()
print("%-7s list rc %d, %d entries in %.2f s; %d probes meanwhile: median %.0f ms, longest %.0f ms" % (
    label, res["rc"], n, res["s"], len(lat), lat[len(lat) // 2] * 1e3, lat[-1] * 1e3))
PY
	ns_sluiced_stop
}
for r in $(seq "$ROUNDS"); do
	[ -n "$BEFORE" ] && run "$(cd "$BEFORE" && pwd)" before
	run "$B" this
done
