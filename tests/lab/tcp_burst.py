#!/usr/bin/env python3
"""tcp_burst.py ADDR PORT N HOLD BIND PACE: N TCP connects to ADDR:PORT at
once (non-blocking), from address BIND when not empty, held HOLD seconds;
prints how many were established. With PACE > 0 (seconds), each connect
first waits up to PACE for the one before to be established."""
import select, socket, sys, time
addr, port, n, hold, bind = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
pace = float(sys.argv[6])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
socks = []
for _ in range(n):
    if pace and socks:
        select.select([], [socks[-1]], [], pace)
    s = socket.socket(fam, socket.SOCK_STREAM)
    if bind:
        s.bind((bind, 0))
    s.setblocking(False)
    try:
        s.connect((addr, port))
    except BlockingIOError:
        pass
    socks.append(s)
end = time.monotonic() + hold
up = set()
while time.monotonic() < end:
    _, w, _ = select.select([], [s for s in socks if s not in up], [], 0.1)
    for s in w:
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
            up.add(s)
print(len(up))
for s in socks:
    s.close()
