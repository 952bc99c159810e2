#!/usr/bin/env python3
# ct_fill.py — N conntrack entries made over ctnetlink in the current
# network namespace, for tests and benchmarks that need a large table
# without the traffic: UDP sessions 198.19.S.S:P -> 198.18.2.2:53 (S from
# the entry's number, P its low bits), each with TIMEOUT seconds and ct
# mark MARK (sluiced's decision bits: see src/common/mark.h).
#   ct_fill.py N MARK [TIMEOUT]
# Prints the number made; exits 1 when the kernel refused one (its errno).
import socket
import struct
import sys

NETLINK_NETFILTER = 12
NFNL_SUBSYS_CTNETLINK = 1
IPCTNL_MSG_CT_NEW = 0
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 1, 4, 0x200, 0x400
NLA_F_NESTED = 0x8000
CTA_TUPLE_ORIG, CTA_TUPLE_REPLY, CTA_TIMEOUT, CTA_MARK = 1, 2, 7, 8
CTA_TUPLE_IP, CTA_TUPLE_PROTO = 1, 2
CTA_IP_V4_SRC, CTA_IP_V4_DST = 1, 2
CTA_PROTO_NUM, CTA_PROTO_SRC_PORT, CTA_PROTO_DST_PORT = 1, 2, 3
BATCH = 256


def attr(t, payload):
    a = struct.pack("=HH", 4 + len(payload), t) + payload
    return a + b"\0" * (-len(a) % 4)


def tuple_of(src, dst, sport, dport):
    ip = attr(CTA_TUPLE_IP | NLA_F_NESTED,
              attr(CTA_IP_V4_SRC, src) + attr(CTA_IP_V4_DST, dst))
    pr = attr(CTA_TUPLE_PROTO | NLA_F_NESTED,
              attr(CTA_PROTO_NUM, b"\x11") +
              attr(CTA_PROTO_SRC_PORT, struct.pack("!H", sport)) +
              attr(CTA_PROTO_DST_PORT, struct.pack("!H", dport)))
    return ip + pr


def message(seq, i, mark, timeout):
    src = bytes([198, 19, (i >> 8) & 255, i & 255])
    dst = bytes([198, 18, 2, 2])
    sport = 1024 + (i >> 16)
    body = struct.pack("=BBH", socket.AF_INET, 0, 0)
    body += attr(CTA_TUPLE_ORIG | NLA_F_NESTED, tuple_of(src, dst, sport, 53))
    body += attr(CTA_TUPLE_REPLY | NLA_F_NESTED, tuple_of(dst, src, 53, sport))
    body += attr(CTA_TIMEOUT, struct.pack("!I", timeout))
    body += attr(CTA_MARK, struct.pack("!I", mark))
    flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK
    hdr = struct.pack("=IHHII", 16 + len(body),
                      (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW,
                      flags, seq, 0)
    return hdr + body


def main():
    n, mark = int(sys.argv[1]), int(sys.argv[2], 0)
    timeout = int(sys.argv[3]) if len(sys.argv) > 3 else 600
    if not 0 < n <= (1 << 16) * 64:
        sys.exit("ct_fill: N must be 1..4194304")
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    made = 0
    for start in range(0, n, BATCH):
        end = min(n, start + BATCH)
        s.send(b"".join(message(i + 1, i, mark, timeout)
                        for i in range(start, end)))
        # one ACK (an nlmsgerr, error 0 when made) per message
        acks = 0
        while acks < end - start:
            data = s.recv(1 << 16)
            off = 0
            while off + 20 <= len(data):
                ln, = struct.unpack_from("=I", data, off)
                err, = struct.unpack_from("=i", data, off + 16)
                if err:
                    sys.exit("ct_fill: the kernel refused entry %d: errno %d"
                             % (made, -err))
                acks += 1
                made += 1
                off += (ln + 3) & ~3
    print(made)


main()
