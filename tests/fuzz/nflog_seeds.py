#!/usr/bin/env python3
"""nflog_seeds.py DIR — seeds for fuzz_nflog: NFLOG packet records as the
kernel sends them for sluice's `log` rules (IPv4 TCP SYN, IPv6 UDP, ICMP
echo; forwarded, to and from the gateway), and a datagram of two."""
import os
import socket
import struct
import sys

NFNL_SUBSYS_ULOG, NFULNL_MSG_PACKET = 4, 0
NFULA_PACKET_HDR, NFULA_PREFIX, NFULA_IFINDEX_INDEV = 1, 10, 4
NFULA_IFINDEX_OUTDEV, NFULA_PAYLOAD = 5, 9


def attr(t, v):
    a = struct.pack("=HH", 4 + len(v), t) + v
    return a + bytes((4 - len(a) % 4) % 4)


def msg(family, prefix, pkt, indev=True, outdev=True):
    body = struct.pack("!BBH", family, 0, 1714)  # nfgenmsg, group 1714
    body += attr(NFULA_PACKET_HDR, struct.pack("!HBB", 0x0800, 2, 0))
    body += attr(NFULA_PREFIX, prefix.encode() + b"\0")
    if indev:
        body += attr(NFULA_IFINDEX_INDEV, struct.pack("!I", 2))
    if outdev:
        body += attr(NFULA_IFINDEX_OUTDEV, struct.pack("!I", 3))
    body += attr(NFULA_PAYLOAD, pkt)
    return struct.pack("=IHHII", 16 + len(body),
                       (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET, 0, 0, 0) + body


def ip4(proto, l4):
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0x4000, 64,
                       proto, 0, socket.inet_aton("198.18.3.2"),
                       socket.inet_aton("198.18.2.2")) + l4


def ip6(nh, l4):
    return struct.pack("!IHBB16s16s", 6 << 28, len(l4), nh, 64,
                       socket.inet_pton(socket.AF_INET6, "2001:db8:3::2"),
                       socket.inet_pton(socket.AF_INET6, "2001:db8:2::2")) + l4


syn = struct.pack("!HHIIBBHHH", 34862, 22, 1, 0, 0x50, 0x02, 65535, 0, 0)
udp = struct.pack("!HHHH", 40000, 53, 8, 0)
echo = struct.pack("!BBHHH", 8, 0, 0, 7, 1)
seeds = {
    "tcp4_deny_fwd": msg(2, "sluice deny 6", ip4(6, syn)),
    "udp6_allow_in": msg(10, "sluice allow 12", ip6(17, udp), outdev=False),
    "icmp4_reject_out": msg(2, "sluice reject 3", ip4(1, echo), indev=False),
}
seeds["two"] = seeds["tcp4_deny_fwd"] + seeds["udp6_allow_in"]
os.makedirs(sys.argv[1], exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(sys.argv[1], name), "wb") as f:
        f.write(data)
