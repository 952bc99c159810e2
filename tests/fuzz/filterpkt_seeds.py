#!/usr/bin/env python3
"""filterpkt_seeds.py DIR — seed packets for fuzz_filterpkt: the first byte
picks the reader (even: the DNS filter's, odd: the FTP filter's), the rest
is an IPv4 or IPv6 packet as the kernel queues it (lab addresses only)."""
import os
import struct
import sys


def ip4(proto, payload):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000,
                    64, proto, 0, bytes([198, 18, 0, 2]),
                    bytes([198, 18, 0, 1]))
    return h + payload


def ip6(proto, payload):
    h = struct.pack("!IHBB16s16s", 6 << 28, len(payload), proto, 64,
                    bytes.fromhex("20010db8" + "00" * 11 + "02"),
                    bytes.fromhex("20010db8" + "00" * 11 + "01"))
    return h + payload


def udp(sport, dport, data):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def tcp(sport, dport, seq, flags, data):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags,
                       65535, 0, 0) + data


def dns_query(name, qtype=1, qid=0x1234):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + b"\0" + \
        struct.pack("!HH", qtype, 1)


def dns_answer(name, addr, qid=0x1234):
    q = dns_query(name, 1, qid)
    hdr = struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0)
    return hdr + q[12:] + struct.pack("!HHHIH", 0xc00c, 1, 1, 300, 4) + \
        bytes(addr)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    q = dns_query("www.example.org")
    a = dns_answer("www.example.org", [198, 19, 0, 80])
    seeds = {
        "dns_udp4_query": b"\0" + ip4(17, udp(40000, 53, q)),
        "dns_udp4_answer": b"\0" + ip4(17, udp(53, 40000, a)),
        "dns_udp6_query": b"\0" + ip6(17, udp(40000, 53, q)),
        "dns_tcp4_query": b"\0" + ip4(6, tcp(40000, 53, 1, 0x18,
                                             struct.pack("!H", len(q)) + q)),
        "dns_tcp6_answer": b"\0" + ip6(6, tcp(53, 40000, 1, 0x18,
                                              struct.pack("!H", len(a)) + a)),
        "ftp_tcp4_retr": b"\1" + ip4(6, tcp(40001, 21, 1000, 0x18,
                                            b"RETR file\r\nLIST\r\n")),
        "ftp_tcp4_stor": b"\1" + ip4(6, tcp(40001, 21, 1000, 0x18,
                                            b"STOR file\r\nDELE x\r\n")),
        "ftp_tcp6_mixed": b"\1" + ip6(6, tcp(40001, 21, 1000, 0x18,
                                             b"USER a\r\nMKD d\r\nSTO")),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
