#!/usr/bin/env python3
"""udp_talk.py ADDR PORT[,sourceport=N][,reuseaddr] [BIND]

Sends 5 lines as datagrams of one UDP session and prints how many lines
came back. The first datagram goes alone and the rest only once its answer
came (or 2 s passed): the first packet of a session is the one that crosses
to sluiced, and a session's later datagrams must not, so a test of "one
crossing" checks that property whatever the machine's load (datagrams sent
while the decision is still pending would legitimately join it)."""
import socket
import sys
import time


def main():
    addr = sys.argv[1].strip("[]")
    parts = sys.argv[2].split(",")
    port = int(parts[0])
    sport = 0
    for p in parts[1:]:
        if p.startswith("sourceport="):
            sport = int(p.split("=", 1)[1])
    bind = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((bind or ("::" if fam == socket.AF_INET6 else "0.0.0.0"), sport))
    s.connect((addr, port))
    got = 0

    def drain(until):
        nonlocal got
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return
            s.settimeout(left)
            try:
                got += s.recv(65535).count(b"\n")
            except (socket.timeout, ConnectionRefusedError):
                return

    s.send(b"line 1\n")
    start = time.monotonic()
    # wait for the first answer only: stop as soon as one line is back
    while got == 0 and time.monotonic() < start + 2.0:
        s.settimeout(start + 2.0 - time.monotonic())
        try:
            got += s.recv(65535).count(b"\n")
        except (socket.timeout, ConnectionRefusedError):
            break
    for i in range(2, 6):
        s.send(b"line %d\n" % i)
        time.sleep(0.05)
    drain(time.monotonic() + 0.5)
    print(got)


main()
