#!/usr/bin/env python3
"""dns_seeds.py DIR — writes a seed corpus for fuzz_dns: DNS answers (QR
set, so the harness asks their question first) with CNAME chains, many A and
AAAA records, compression pointers, truncation and error flags, a query and
cut-short copies; and DNS-over-TCP streams (a control byte, then
length-prefixed messages: a query and its answer, pipelined answers)."""
import os
import struct
import sys


def name(n):
    out = b""
    for lab in n.split("."):
        out += bytes([len(lab)]) + lab.encode()
    return out + b"\0"


def msg(flags, qname, qtype, answers):
    hdr = struct.pack("!HHHHHH", 0x1234, flags, 1, len(answers), 0, 0)
    return hdr + name(qname) + struct.pack("!HH", qtype, 1) + b"".join(answers)


def rr(owner, typ, ttl, rdata):
    return owner + struct.pack("!HHIH", typ, 1, ttl, len(rdata)) + rdata


Q = b"\xc0\x0c"  # pointer to the question name
seeds = {
    "a": msg(0x8180, "www.example.com", 1, [rr(Q, 1, 60, bytes([198, 18, 2, 50]))]),
    "cname": msg(0x8180, "www.example.com", 1, [
        rr(Q, 5, 300, name("edge.cdn.net")),
        rr(name("edge.cdn.net"), 1, 60, bytes([198, 18, 2, 51])),
        rr(name("edge.cdn.net"), 1, 60, bytes([10, 0, 0, 1]))]),
    "aaaa": msg(0x8180, "v6.example", 28, [
        rr(Q, 28, 60, bytes.fromhex("20010db8000200000000000000000050"))]),
    "rr40": msg(0x8180, "rr40.example", 1, [
        rr(Q, 1, 60, bytes([198, 18, 12, i])) for i in range(1, 41)]),
    "tc": msg(0x8380, "tc.example", 1, []),
    "nxdomain": msg(0x8183, "nx.example", 1, []),
    "query": msg(0x0100, "www.example.com", 1, []),
    "axfr": msg(0x0000, "example.com", 252, []),
}
os.makedirs(sys.argv[1], exist_ok=True)
for k, v in seeds.items():
    with open(os.path.join(sys.argv[1], k), "wb") as f:
        f.write(v)
    with open(os.path.join(sys.argv[1], k + "-cut"), "wb") as f:
        f.write(v[: len(v) * 2 // 3])


def tcp(*msgs):
    return b"".join(struct.pack("!H", len(m)) + m for m in msgs)


streams = {
    "tcp-pair": bytes([3]) + tcp(seeds["query"], seeds["a"]),
    "tcp-rr40": bytes([0x85]) + tcp(msg(0x0100, "rr40.example", 1, []), seeds["rr40"]),
    "tcp-pipelined": bytes([17]) + tcp(seeds["cname"], seeds["aaaa"], seeds["nxdomain"]),
    "tcp-axfr": bytes([200]) + tcp(seeds["axfr"], seeds["a"]),
}
for k, v in streams.items():
    with open(os.path.join(sys.argv[1], k), "wb") as f:
        f.write(v)
