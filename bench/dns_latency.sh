#!/usr/bin/env bash
# dns_latency.sh — the latency the DNS filter adds to a DNS answer crossing
# the gateway: a client in the lab sends N queries, one at a
# time, on one UDP socket to dnsmasq beyond the gateway and times each
# answer; the same policy with `filter dns` (every query and answer of the
# session crosses sluiced's DNS queue, the answer bound before release)
# and without it (the kernel passes the session), alternating ROUNDS times
# in one run (a reload switches them). Prints p50/p99 per round. RT_PRIO
# (1..99): sluiced runs with --dns-rt-priority RT_PRIO (the DNS filter's
# thread SCHED_FIFO); 0 or absent: the default scheduling. Last, the
# run's verdict against the target (p99 with the filter at most 50 us over
# the p99 without, same run): per round, and over all rounds pooled (every
# answer of a mode in one distribution).
#   bench/dns_latency.sh [BUILD_DIR] [N] [ROUNDS] [RT_PRIO]
set -uo pipefail
B=$(cd "${1:-build}" && pwd); N=${2:-5000}; ROUNDS=${3:-3}; RT=${4:-0}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/tests/lab/lab.sh"
lab_up >/dev/null || exit 1
T=$LAB_TMP/dnslat; mkdir -p "$T"
printf 'no-resolv\nno-hosts\nkeep-in-foreground\nbind-interfaces\nlisten-address=%s\nport=53\nlocal=/lab.sluice.test/\nhost-record=www.work.lab.sluice.test,198.18.2.45\n' \
	"$LAB_DNS4" >"$T/dnsmasq.conf"
lab_spawn "$LAB_DNS" dnsmasq --conf-file="$T/dnsmasq.conf" >/dev/null
for i in $(seq 50); do lab_exec "$LAB_DNS" ss -Hlun | grep -q "$LAB_DNS4:53" && break; sleep 0.1; done
conf() { # conf FILTER
	cat >"$T/sluice.conf" <<CONF
network clients { 198.18.1.0/24 }
network infra   { 198.18.3.0/24 }
protocol dns udp 53 $1
rule "dns" allow dns from clients to infra
CONF
}
SOCK=$LAB_TMP/ctl.sock
conf "filter dns"
RTOPT=(); [ "$RT" -gt 0 ] && RTOPT=(--dns-rt-priority "$RT")
LAB_SPAWN_LOG=$T/sluiced.log lab_spawn "$LAB_GW" "$B/src/sluiced/sluiced" -f -c "$T/sluice.conf" -s "$SOCK" "${RTOPT[@]}" >/dev/null
for i in $(seq 50); do "$B/src/sluicectl/sluicectl" -s "$SOCK" status >/dev/null 2>&1 && break; sleep 0.1; done
cat >"$T/lat.py" <<'PY'
import socket, struct, sys, time
n, server = int(sys.argv[1]), sys.argv[2]
q = b"".join(bytes([len(l)]) + l.encode() for l in "www.work.lab.sluice.test".split(".")) + b"\0" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
s.connect((server, 53))
lat = []
for i in range(n):
    m = struct.pack(">HHHHHH", i & 0xffff, 0x0100, 1, 0, 0, 0) + q
    t0 = time.perf_counter_ns(); s.send(m)
    try:
        while True:
            a = s.recv(4096)
            if a[:2] == m[:2]: break
    except OSError:
        continue
    lat.append(time.perf_counter_ns() - t0)
if len(sys.argv) > 3:
    open(sys.argv[3], "w").write("".join(f"{v}\n" for v in lat))
lat.sort()
p = lambda x: lat[min(len(lat) - 1, int(len(lat) * x))] / 1000
print(f"answers {len(lat)}/{n}  p50 {p(0.5):.1f} us  p99 {p(0.99):.1f} us")
PY
for r in $(seq "$ROUNDS"); do
	for f in "filter dns" ""; do
		conf "$f"; "$B/src/sluicectl/sluicectl" -s "$SOCK" reload >/dev/null || echo "reload failed"
		printf 'round %d %-14s ' "$r" "${f:-no filter}"
		lab_exec "$LAB_CLI" python3 "$T/lat.py" "$N" "$LAB_DNS4" "$T/ns.${f:+f}$r"
	done
done
python3 - "$T" "$ROUNDS" <<'PY'
import sys
t, rounds = sys.argv[1], int(sys.argv[2])
def load(name):
    try:
        return sorted(int(l) for l in open(f"{t}/{name}"))
    except OSError:
        return []
def p99(v):
    return v[min(len(v) - 1, int(len(v) * 0.99))] / 1000 if v else float("nan")
met, allf, alln = 0, [], []
for r in range(1, rounds + 1):
    f, n = load(f"ns.f{r}"), load(f"ns.{r}")
    allf += f; alln += n
    met += p99(f) - p99(n) <= 50
allf.sort(); alln.sort()
d = p99(allf) - p99(alln)
print(f"p99 over the unfiltered path (target <= 50 us): met in {met} of {rounds} rounds; "
      f"all rounds pooled: filter {p99(allf):.1f} us, no filter {p99(alln):.1f} us, "
      f"{d:+.1f} us ({'met' if d <= 50 else 'missed'})")
PY
"$B/src/sluicectl/sluicectl" -s "$SOCK" counters 2>/dev/null | grep dns_filter_answers_bound
grep -h "SCHED_FIFO" "$T/sluiced.log" 2>/dev/null
