#!/usr/bin/env python3
"""ftp_overlap.py — a hand-made TCP session for tests/kernel/50_ftp.sh: the
attack of a first data segment that starts before the server's next
expected byte (the client's ISN + 1).

  ftp_overlap.py CLI SRV PORT PREFIX CMD

After the handshake (no bare ACK), sends one segment at ISN + 1 - len(PREFIX)
carrying PREFIX + CMD: a filter that starts its stream at the first byte it
sees reads a line starting with PREFIX's verb, the server drops PREFIX's
bytes as old and reads CMD. Then sends CMD again in order at ISN + 1 (what a
client resends when its segment was dropped), then a FIN. Prints "sent".
IPv4, raw sockets (root in the client's namespace); the client's own kernel
must be kept from resetting the session (an nft rule that drops its RSTs).
Only lab addresses (198.18.0.0/15).
"""
import random
import select
import socket
import struct
import sys
import time


def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def segment(cli, srv, sport, dport, seq, ack, flags, data=b''):
    """A TCP segment (no options), checksum over the IPv4 pseudo-header."""
    hdr = struct.pack('!HHIIBBHHH', sport, dport, seq, ack, 5 << 4, flags,
                      64240, 0, 0)
    pseudo = socket.inet_aton(cli) + socket.inet_aton(srv) + \
        struct.pack('!BBH', 0, socket.IPPROTO_TCP, len(hdr) + len(data))
    c = csum(pseudo + hdr + data)
    return hdr[:16] + struct.pack('!H', c) + hdr[18:] + data


def synack(sock, srv, sport, dport, deadline):
    """The server's SYN/ACK to us: its sequence number, or None."""
    while time.time() < deadline:
        r, _, _ = select.select([sock], [], [], deadline - time.time())
        if not r:
            break
        pkt, addr = sock.recvfrom(65535)
        ihl = (pkt[0] & 15) * 4
        if addr[0] != srv or len(pkt) < ihl + 20:
            continue
        sp, dp, seq, _ack, _off, flags = struct.unpack('!HHIIBB',
                                                       pkt[ihl:ihl + 14])
        if sp == dport and dp == sport and flags & 0x12 == 0x12:
            return seq
    return None


def main():
    cli, srv, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    prefix, cmd = sys.argv[4].encode(), sys.argv[5].encode()
    sport = random.randint(20000, 60000)
    isn = random.getrandbits(32)
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    sock.bind((cli, 0))

    def out(seq, ack, flags, data=b''):
        sock.sendto(segment(cli, srv, sport, port, seq & 0xffffffff,
                            ack & 0xffffffff, flags, data), (srv, 0))

    out(isn, 0, 0x02)  # SYN
    sseq = synack(sock, srv, sport, port, time.time() + 3)
    if sseq is None:
        print('no SYN/ACK')
        return 1
    ack = sseq + 1
    out(isn + 1 - len(prefix), ack, 0x18, prefix + cmd)  # PSH|ACK
    time.sleep(0.5)
    out(isn + 1, ack, 0x18, cmd)
    time.sleep(0.5)
    out(isn + 1 + len(cmd), ack, 0x11)  # FIN|ACK
    time.sleep(0.3)
    print('sent')
    return 0


if __name__ == '__main__':
    sys.exit(main())
