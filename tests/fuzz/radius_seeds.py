#!/usr/bin/env python3
"""radius_seeds.py DIR — seeds for fuzz_radius: Accounting-Requests
(Start, Interim-Update, Stop; IPv4, IPv6 address, Framed-IPv6-Prefix and
Delegated-IPv6-Prefix, prefixes in full and in the bytes their length
needs, and prefixes of bad length) behind the harness's first byte 0x80
(signed by the harness), one unsigned, and one state file behind 0xfe."""
import os
import socket
import struct
import sys


def attr(t, v):
    return bytes([t, len(v) + 2]) + v


def request(ident, attrs):
    body = b"".join(attrs)
    return struct.pack("!BBH", 4, ident, 20 + len(body)) + bytes(16) + body


def status(s):
    return attr(40, struct.pack("!I", s))


def prefix(t, text, nbytes=None):
    """An IPv6 prefix attribute T (97 or 123) for TEXT "ADDR/LEN": its
    Prefix in NBYTES bytes (default: those LEN needs)."""
    a, n = text.split("/")
    n = int(n)
    p = socket.inet_pton(socket.AF_INET6, a)
    return attr(t, bytes([0, n]) + p[:(n + 7) // 8 if nbytes is None else nbytes])


seeds = {
    "start4": b"\x80" + request(1, [status(1), attr(1, b"carol"),
                                    attr(8, socket.inet_aton("198.18.1.2"))]),
    "interim6": b"\x80" + request(2, [status(3), attr(1, b"dave"),
                                      attr(168, socket.inet_pton(socket.AF_INET6, "2001:db8::2"))]),
    "prefix6": b"\x80" + request(3, [status(1), attr(1, b"erin"),
                                     attr(97, b"\x00\x80" + socket.inet_pton(socket.AF_INET6, "2001:db8::3")),
                                     attr(97, b"\x00\x40" + bytes(8))]),
    "stop": b"\x80" + request(4, [status(2), attr(1, b"carol"), attr(44, b"sess-1"),
                                  attr(8, socket.inet_aton("198.18.1.2"))]),
    "delegated6": b"\x80" + request(6, [status(1), attr(1, b"erin"),
                                        prefix(97, "2001:db8:1::/64"),
                                        prefix(123, "2001:db8:7:ab00::/56"),
                                        attr(168, socket.inet_pton(socket.AF_INET6, "2001:db8:1::2"))]),
    "stop6": b"\x80" + request(7, [status(2), attr(1, b"erin"),
                                   prefix(97, "2001:db8:1::/64", 16),
                                   prefix(123, "2001:db8:7:ab00::/56")]),
    "prefix6-bad": b"\x80" + request(8, [status(1), attr(1, b"erin"),
                                         attr(97, b"\x00\x81" + bytes(16)),
                                         attr(123, b"\x00\x40\x20\x01"),
                                         prefix(123, "::/0")]),
    "unsigned": b"\x00" + request(5, [status(1), attr(1, b"x")]),
    "state": b"\xfe" + b'{"version": 1, "entries": [{"address": "198.18.1.2", '
             b'"user": "carol", "groups": ["staff"], "source": "radius", '
             b'"learned": 1, "seen": 2, "expires": 99999999999}]}',
}
os.makedirs(sys.argv[1], exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(sys.argv[1], name), "wb") as f:
        f.write(data)
