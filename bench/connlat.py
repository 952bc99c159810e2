#!/usr/bin/env python3
"""connlat.py — a legitimate client's TCP connect latency, for
bench/flood_bench.sh: one connect every INTERVAL seconds from BIND to
DST:PORT for SECONDS (a rate below the flood limits); prints
"n N ok K median_us M p99_us P" (failed connects count as the timeout).

  connlat.py DST PORT BIND INTERVAL SECONDS
"""
import socket
import sys
import time

dst, port, bind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
interval, secs = float(sys.argv[4]), float(sys.argv[5])
lat, ok, end = [], 0, time.monotonic() + secs
while time.monotonic() < end:
    t0 = time.monotonic()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    s.bind((bind, 0))
    try:
        s.connect((dst, port))
        ok += 1
        lat.append(time.monotonic() - t0)
    except OSError:
        lat.append(3.0)
    s.close()
    rest = interval - (time.monotonic() - t0)
    if rest > 0:
        time.sleep(rest)
lat.sort()
n = len(lat)
med = lat[n // 2] if n else 0
p99 = lat[min(n - 1, int(n * 0.99))] if n else 0
print("n %d ok %d median_us %d p99_us %d" % (n, ok, med * 1e6, p99 * 1e6))
