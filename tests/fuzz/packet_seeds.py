#!/usr/bin/env python3
"""packet_seeds.py DIR — writes a seed corpus for fuzz_packet: well-formed
queued packets (as NFQUEUE copies them, from the network header) of every
kind the parser knows: IPv4 (with options, first and later fragments) and
IPv6, TCP, UDP, ICMP echo, IPv6 extension headers (hop-by-hop, routing,
fragment, AH, ESP, No Next Header, chains of 40 headers and of 8 KiB), and
cut-short packets. fuzz_packet reads its first byte as where the copy is
cut (0xff: not cut), so each seed starts with 0xff, or 0x20 (256 bytes, the
old copy range) for the long chains."""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))
from ip6opts import opt  # noqa: E402


def ip4(proto, l4, frag=0):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, frag, 64,
                      proto, 0, bytes([198, 18, 1, 2]), bytes([198, 18, 2, 2]))
    return hdr + l4


def ip4opt(proto, l4, nopts):
    """IPv4 with NOPTS bytes (a multiple of 4) of NOP options."""
    ihl = 5 + nopts // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(l4), 1, 0,
                      64, proto, 0, bytes([198, 18, 1, 2]),
                      bytes([198, 18, 2, 2]))
    return hdr + b"\x01" * nopts + l4


def dstopt(nh, total):
    """A Destination Options header of TOTAL bytes (PadN)."""
    return opt(nh, total)


def ip6(nh, rest):
    src = bytes.fromhex("20010db8000100000000000000000002")
    dst = bytes.fromhex("20010db8000200000000000000000002")
    return struct.pack("!IHBB", 0x60000000, len(rest), nh, 64) + src + dst + rest


tcp = struct.pack("!HHIIBBHHH", 40000, 80, 1, 0, 0x50, 0x02, 65535, 0, 0)
udp = struct.pack("!HHHH", 40001, 5301, 12, 0) + b"ping"
icmp = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1) + b"abcdefgh"
icmp6 = struct.pack("!BBHHH", 128, 0, 0, 0x1234, 1) + b"abcdefgh"
hbh = bytes([6, 0]) + bytes(6)                      # next: TCP, 8 bytes
rt = bytes([44, 0, 0, 0]) + bytes(4)                # next: fragment
frag = bytes([6, 0]) + struct.pack("!HI", 0, 7)     # first fragment, TCP
ah = bytes([17, 1, 0, 0]) + bytes(8)                # next: UDP, 12 bytes

seeds = {
    "v4_tcp_syn": ip4(6, tcp),
    "v4_udp": ip4(17, udp),
    "v4_icmp_echo": ip4(1, icmp),
    "v4_later_fragment": ip4(6, tcp, frag=0x0004),
    "v6_tcp_syn": ip6(6, tcp),
    "v6_icmp6_echo": ip6(58, icmp6),
    "v6_hbh_tcp": ip6(0, hbh + tcp),
    "v6_rt_frag_tcp": ip6(43, rt + frag + tcp),
    "v6_ah_udp": ip6(51, ah + udp),
    "v4_opts40_tcp": ip4opt(6, tcp, 40),
    "v4_first_fragment": ip4(17, udp, frag=0x2000),
    "v6_later_fragment": ip6(44, bytes([6, 0]) + struct.pack("!HI", 800, 7) + tcp),
    "v6_dst40_tcp": ip6(60, b"".join(dstopt(60 if i < 39 else 6, 8)
                                     for i in range(40)) + tcp),
    "v6_dst8k_udp": ip6(60, b"".join(dstopt(60 if i < 3 else 17, 2048)
                                     for i in range(4)) + udp),
    "v6_esp": ip6(50, bytes(16)),
    "v6_none": ip6(60, dstopt(59, 8)),
}
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for name, pkt in seeds.items():
    for suffix, data in (("", pkt), ("_cut", pkt[: len(pkt) - 6])):
        with open(os.path.join(out, name + suffix), "wb") as f:
            f.write(b"\xff" + data)
    if len(pkt) > 256:
        with open(os.path.join(out, name + "_copy256"), "wb") as f:
            f.write(b"\x20" + pkt)
