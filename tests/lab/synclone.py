#!/usr/bin/env python3
"""synclone.py IFACE DST DPORT MODE ARG [TIMEOUT]

For the kernel scenarios, run in the client's namespace: waits (at most
TIMEOUT seconds, default 8) for the first TCP SYN to DST:DPORT that a
normal socket sends out of IFACE, then sends crafted copies of it through a
raw socket, so the normal socket's handshake completes if the gateway lets
any copy through. MODE:

  dup K       K identical copies (IPv4 or IPv6)
  destopt N   IPv6 only: one copy with a Destination Options header of N
              bytes (a multiple of 8, 16..2048, unknown skip-type options)
              between the IPv6 and the TCP header

Prints "synclone: listening" once it captures, then what it sent; exits 0,
or 2 when no SYN came within TIMEOUT.
Only lab addresses are ever in play: it copies what the lab's own socket
sent, to the same destination.
"""
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp_with_checksum(src, dst, tcp, v6):
    """The segment with its full checksum (a captured outgoing packet on a
    veth carries only the partial one the offload would finish)."""
    tcp = bytearray(tcp)
    tcp[16:18] = b"\0\0"
    if v6:
        pseudo = src + dst + struct.pack("!IxxxB", len(tcp), 6)
    else:
        pseudo = src + dst + struct.pack("!xBH", 6, len(tcp))
    struct.pack_into("!H", tcp, 16, checksum(pseudo + bytes(tcp)))
    return bytes(tcp)


def destopt(next_hdr, size):
    """A Destination Options header of SIZE bytes: options of type 0x1e
    (unknown, action "skip"), each at most 255 bytes of data."""
    if size % 8 or not 16 <= size <= 2048:
        raise ValueError("destopt size: a multiple of 8, 16..2048")
    body, left = b"", size - 2
    while left:
        n = min(255, left - 2)
        if left - (n + 2) == 1:  # never leave a single byte
            n -= 1
        body += bytes([0x1E, n]) + b"\xaa" * n
        left -= n + 2
    return bytes([next_hdr, size // 8 - 1]) + body


def first_syn(iface, dst_raw, dport, v6, timeout):
    cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    cap.bind((iface, ETH_P_ALL))
    cap.settimeout(0.2)
    print("synclone: listening", flush=True)
    end = time.time() + timeout
    try:
        while time.time() < end:
            try:
                data, addr = cap.recvfrom(65535)
            except socket.timeout:
                continue
            if addr[2] != PACKET_OUTGOING or len(data) < 14:
                continue
            etype, ip = struct.unpack("!H", data[12:14])[0], data[14:]
            if v6 and etype == 0x86DD and len(ip) >= 60 and ip[6] == 6 \
                    and ip[24:40] == dst_raw:
                ihl = 40
            elif not v6 and etype == 0x0800 and len(ip) >= 40 and ip[9] == 6 \
                    and ip[16:20] == dst_raw:
                ihl = (ip[0] & 15) * 4
            else:
                continue
            tcp = ip[ihl:]
            if struct.unpack("!H", tcp[2:4])[0] == dport and tcp[13] & 0x3F == 0x02:
                return ip, ihl
    finally:
        cap.close()
    return None, 0


def main():
    if len(sys.argv) < 6:
        print(__doc__, file=sys.stderr)
        return 1
    iface, dst, dport, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    arg = int(sys.argv[5])
    timeout = float(sys.argv[6]) if len(sys.argv) > 6 else 8.0
    v6 = ":" in dst
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    ip, ihl = first_syn(iface, socket.inet_pton(fam, dst), dport, v6, timeout)
    if ip is None:
        print("synclone: no SYN seen", file=sys.stderr)
        return 2
    if v6:
        ip = ip[:40] + tcp_with_checksum(ip[8:24], ip[24:40], ip[40:], True)
    else:
        ip = ip[:ihl] + tcp_with_checksum(ip[12:16], ip[16:20], ip[ihl:], False)
    if mode == "dup":
        out = [ip] * max(0, min(arg, 1000))
    elif mode == "destopt" and v6:
        hdr, tcp = bytearray(ip[:40]), ip[40:]
        ext = destopt(6, arg)
        hdr[6] = 60  # next header: destination options
        struct.pack_into("!H", hdr, 4, len(ext) + len(tcp))
        out = [bytes(hdr) + ext + tcp]
    else:
        print("synclone: unknown mode (destopt is IPv6 only)", file=sys.stderr)
        return 1
    raw = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for pkt in out:
        raw.sendto(pkt, (dst, 0))
    raw.close()
    print("synclone: sent %d packet(s) of %d bytes (%s)" % (len(out), len(out[0]) if out else 0, mode))
    return 0


if __name__ == "__main__":
    sys.exit(main())
