#!/usr/bin/env python3
"""packet_classify.py — crafted packets for tests/kernel/21_packet_classify.sh.

  gen FILE                      writes "NAME HEX EXPECTED" lines: IPv4 and IPv6
                                packets (extension chains, fragments, AH, ESP,
                                odd lengths, IPv4 options), each tagged by a
                                unique IPv6 flow label / IPv4 id; EXPECTED is
                                how sluiced must read it ("6:80", "51:-",
                                "58:type:128", "unreadable")
  rules FILE PARSED TABLE       an nft script: a prerouting chain (priority
                                -500, before defrag and conntrack) counting,
                                per packet, what the kernel matched: the
                                packet, any l4proto, the l4proto sluiced
                                read, the port or ICMP type sluiced read,
                                any transport port; then drops it
  send IFACE SRCMAC DSTMAC FILE sends every packet as an Ethernet frame
  compare FILE PARSED NFTLIST   one line per packet, "ok" or "FAIL <why>";
                                exit status = failures
  e2e IFACE SRCMAC DSTMAC SET   sends, through the gateway to the server,
                                first packets with long extension chains and
                                IPv4 options (valid checksums, so conntrack
                                takes them). SET anon: TCP/80 from ports
                                41001-41003, UDP/5301 from 41011-41012;
                                SET staff: UDP/5301 from 41021-41022;
                                SET ah: a TCP/80 SYN inside IPv6 AH from
                                port 41031

Only lab addresses (198.18.0.0/15, 2001:db8::/32); frames go out of IFACE, a
lab veth, only.
"""
import os
import re
import socket
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))
from ip6opts import opt  # noqa: E402

SRC6 = socket.inet_pton(socket.AF_INET6, "2001:db8:1::2")
DST6 = socket.inet_pton(socket.AF_INET6, "2001:db8:1::1")
SRC4 = socket.inet_pton(socket.AF_INET, "198.18.1.2")
DST4 = socket.inet_pton(socket.AF_INET, "198.18.1.1")
TAG0 = 4000  # first flow label / IPv4 id


def tcp(dport):
    return struct.pack("!HHIIBBHHH", 40000, dport, 1, 0, 0x50, 0x02, 65535, 0, 0)


def udp(dport, data=b"x"):
    return struct.pack("!HHHH", 40001, dport, 8 + len(data), 0) + data


def icmp6_echo():
    return struct.pack("!BBHHH", 128, 0, 0, 0x1234, 1) + b"ping"


def icmp4_echo():
    return struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1) + b"ping"


def rt(nh):
    """A routing header, type 4 (SRH-like), segments left 0: 24 bytes."""
    return bytes([nh, 2, 4, 0]) + bytes(20)


def frag(nh, offset, more, ident=7):
    return struct.pack("!BBHI", nh, 0, offset << 3 | (1 if more else 0), ident)


def ah(nh):
    """An AH header of 24 bytes (payload length field 4)."""
    return bytes([nh, 4, 0, 0]) + struct.pack("!II", 0x100, 1) + bytes(12)


def v6(tag, nh, rest):
    return struct.pack("!IHBB", 0x60000000 | tag, len(rest), nh, 64) + SRC6 + DST6 + rest


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def v4(tag, proto, rest, options=b"", frag_field=0):
    ihl = 5 + len(options) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(rest), tag,
                      frag_field, 64, proto, 0, SRC4, DST4) + options
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + rest


def packets():
    """(name, bytes, expected) for every crafted packet."""
    out = []

    def add6(name, nh, rest, want):
        out.append((name, v6(TAG0 + len(out), nh, rest), want))

    def add4(name, proto, rest, want, **kw):
        out.append((name, v4(TAG0 + len(out), proto, rest, **kw), want))

    add6("v6_tcp", 6, tcp(80), "6:80")
    add6("v6_dst9_tcp", 60, b"".join(opt(60 if i < 8 else 6, 8) for i in range(9)) + tcp(80), "6:80")
    add6("v6_dst40_udp", 60, b"".join(opt(60 if i < 39 else 17, 8) for i in range(40)) + udp(5301), "17:5301")
    add6("v6_dst304_udp", 60, opt(17, 304) + udp(5301), "17:5301")
    add6("v6_dst2048x4_tcp", 60, b"".join(opt(60 if i < 3 else 6, 2048) for i in range(4)) + tcp(22), "6:22")
    add6("v6_hbh_rt_dst_tcp", 0, opt(43, 8) + rt(60) + opt(6, 16) + tcp(443), "6:443")
    add6("v6_first_frag_tcp", 44, frag(6, 0, True) + tcp(22), "6:22")
    add6("v6_atomic_frag_udp", 44, frag(17, 0, False) + udp(53), "17:53")
    add6("v6_later_frag_tcp", 44, frag(6, 100, False) + tcp(80), "unreadable")
    add6("v6_later_frag_dst", 44, frag(60, 100, False) + opt(6, 8) + tcp(80), "unreadable")
    add6("v6_dst_ah_tcp", 60, opt(51, 8) + ah(6) + tcp(80), "51:-")
    add6("v6_esp", 50, struct.pack("!II", 0x100, 1) + bytes(24), "50:-")
    add6("v6_dst_none", 60, opt(59, 8) + bytes(8), "59:-")
    add6("v6_dst_icmp6", 60, opt(58, 8) + icmp6_echo(), "58:type:128")
    add6("v6_tcp_cut", 60, opt(6, 8) + b"\x9c\x40", "unreadable")
    add6("v6_chain_cut", 60, opt(60, 8) + b"\x06", "unreadable")
    add6("v6_udp_odd", 17, udp(5301, b"abc"), "17:5301")
    add4("v4_tcp", 6, tcp(80), "6:80")
    add4("v4_opts40_tcp", 6, tcp(8080), "6:8080", options=b"\x01" * 40)
    add4("v4_opts4_udp_odd", 17, udp(53, b"abcde"), "17:53", options=b"\x01\x01\x01\x00")
    add4("v4_first_frag_udp", 17, udp(53), "17:53", frag_field=0x2000)
    add4("v4_later_frag_udp", 17, udp(53), "unreadable", frag_field=0x0010)
    add4("v4_icmp", 1, icmp4_echo(), "1:type:8")
    add4("v4_ah", 51, ah(6) + tcp(80), "51:-")
    add4("v4_tcp_cut", 6, b"\x9c\x40", "unreadable")
    add4("v4_gre", 47, bytes(8), "47:-")
    return out


def l4_csum(src, dst, proto, seg):
    """SEG with its TCP/UDP checksum filled in (IPv4 or IPv6 pseudo-header)."""
    off = 16 if proto == 6 else 6
    seg = bytearray(seg)
    seg[off:off + 2] = b"\0\0"
    if len(src) == 16:
        pseudo = src + dst + struct.pack("!IxxxB", len(seg), proto)
    else:
        pseudo = src + dst + struct.pack("!xBH", proto, len(seg))
    struct.pack_into("!H", seg, off, csum(pseudo + bytes(seg)) or 0xFFFF)
    return bytes(seg)


def e2e_packets(which):
    """First packets to the lab server, as a client sends them."""
    srv6 = socket.inet_pton(socket.AF_INET6, "2001:db8:2::2")
    srv4 = socket.inet_pton(socket.AF_INET, "198.18.2.2")

    def seg(sport, proto, dport, v6_=True):
        if proto == 6:
            b = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, 0x02, 65535, 0, 0)
        else:
            b = struct.pack("!HHHH", sport, dport, 12, 0) + b"ping"
        return l4_csum(SRC6 if v6_ else SRC4, srv6 if v6_ else srv4, proto, b)

    def six(chain_of, proto, sport, dport):
        rest = chain_of(proto) + seg(sport, proto, dport)
        return struct.pack("!IHBB", 0x60000000, len(rest), 60, 64) + SRC6 + srv6 + rest

    dst40 = lambda p: b"".join(opt(60 if i < 39 else p, 8) for i in range(40))
    big = lambda p: b"".join(opt(60 if i < 3 else p, 2048) for i in range(4))
    dst304 = lambda p: opt(p, 304)
    tcp4 = seg(41003, 6, 80, False)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x4F, 0, 60 + len(tcp4), 1, 0, 64, 6, 0,
                      SRC4, srv4) + b"\x01" * 40
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    if which == "ah":
        rest = ah(6) + seg(41031, 6, 80)
        return [struct.pack("!IHBB", 0x60000000, len(rest), 51, 64) + SRC6 + srv6 + rest]
    if which == "staff":
        return [six(dst304, 17, 41021, 5301), six(big, 17, 41022, 5301)]
    return [six(dst40, 6, 41001, 80), six(big, 6, 41002, 80), hdr + tcp4,
            six(dst304, 17, 41011, 5301), six(big, 17, 41012, 5301)]


def send_frames(iface, srcmac, dstmac, pkts):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    src, dst = bytes.fromhex(srcmac.replace(":", "")), bytes.fromhex(dstmac.replace(":", ""))
    for pkt in pkts:
        etype = 0x86DD if pkt[0] >> 4 == 6 else 0x0800
        s.send(dst + src + struct.pack("!H", etype) + pkt)
    s.close()


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            name, hx, want = line.split()
            rows.append((name, bytes.fromhex(hx), want))
    return rows


def parsed(path):
    res = {}
    with open(path) as f:
        for line in f:
            w = line.split()
            res[w[0]] = "unreadable" if w[1] != "ok" else "%s:%s" % (w[2], w[3])
    return res


def later_fragment(pkt):
    """True for an IPv4 or IPv6 fragment other than the first."""
    if pkt[0] >> 4 == 4:
        return struct.unpack("!H", pkt[6:8])[0] & 0x1FFF != 0
    nh, off = pkt[6], 40
    while nh in (0, 43, 60, 44) and off + 4 <= len(pkt):
        if nh == 44:
            return struct.unpack("!H", pkt[off + 2:off + 4])[0] & 0xFFF8 != 0
        nh, off = pkt[off], off + (pkt[off + 1] + 1) * 8
    return False


def tag_match(pkt):
    if pkt[0] >> 4 == 6:
        return "ip6 flowlabel %d" % (struct.unpack("!I", pkt[:4])[0] & 0xFFFFF)
    return "meta nfproto ipv4 ip id %d" % struct.unpack("!H", pkt[4:6])[0]


def rules(path, parsed_path, table):
    res = parsed(parsed_path)
    print("table inet %s {" % table)
    print("\tchain pre {")
    print("\t\ttype filter hook prerouting priority -500; policy accept;")
    for name, pkt, _ in load(path):
        m = tag_match(pkt)
        r = res.get(name, "unreadable")
        print('\t\t%s counter comment "%s seen"' % (m, name))
        print('\t\t%s meta l4proto 0-255 counter comment "%s l4any"' % (m, name))
        print('\t\t%s th dport 0-65535 counter comment "%s thany"' % (m, name))
        if r != "unreadable":
            proto, port = r.split(":", 1)
            print('\t\t%s meta l4proto %s counter comment "%s l4"' % (m, proto, name))
            if port.startswith("type:"):
                print('\t\t%s meta l4proto %s @th,0,8 %s counter comment "%s port"'
                      % (m, proto, port[5:], name))
            elif port != "-":
                print('\t\t%s meta l4proto %s th dport %s counter comment "%s port"'
                      % (m, proto, port, name))
        print("\t\t%s drop" % m)
    print("\t}")
    print("}")


def send(iface, srcmac, dstmac, path):
    send_frames(iface, srcmac, dstmac, [pkt for _, pkt, _ in load(path)])


def compare(path, parsed_path, listing):
    res = parsed(parsed_path)
    counts = {}
    with open(listing) as f:
        for line in f:
            m = re.search(r'counter packets (\d+) .*comment "(\S+) (\w+)"', line)
            if m:
                counts[(m.group(2), m.group(3))] = int(m.group(1))
    fails = 0
    for name, pkt, want in load(path):
        r = res.get(name, "missing")
        c = lambda k: counts.get((name, k), -1)
        why = []
        if r != want:
            why.append("sluiced reads %s, want %s" % (r, want))
        if c("seen") != 1:
            why.append("the kernel saw it %d times, want 1" % c("seen"))
        elif r == "unreadable":
            # the kernel must not have read a transport with ports either,
            # except in a later fragment, where nft's fast payload path
            # reads "ports" from bytes that are none (sluiced refuses it)
            if c("l4any") == 1 and c("thany") == 1 and not later_fragment(pkt):
                why.append("the kernel read l4proto and a port, sluiced nothing")
        else:
            proto, port = r.split(":", 1)
            if c("l4") != 1:
                why.append("kernel l4proto is not %s" % proto)
            if port != "-" and c("port") != 1:
                why.append("kernel port/type is not %s" % port)
        if why:
            fails += 1
            print("FAIL %s (%s, %d bytes): %s" % (name, r, len(pkt), "; ".join(why)))
        else:
            print("ok %s: kernel and sluiced read %s (%d bytes)" % (name, r, len(pkt)))
    return fails


def main():
    a = sys.argv[1:]
    if a[:1] == ["gen"] and len(a) == 2:
        with open(a[1], "w") as f:
            for name, pkt, want in packets():
                f.write("%s %s %s\n" % (name, pkt.hex(), want))
        return 0
    if a[:1] == ["rules"] and len(a) == 4:
        rules(a[1], a[2], a[3])
        return 0
    if a[:1] == ["send"] and len(a) == 5:
        send(a[1], a[2], a[3], a[4])
        return 0
    if a[:1] == ["e2e"] and len(a) == 5:
        send_frames(a[1], a[2], a[3], e2e_packets(a[4]))
        return 0
    if a[:1] == ["compare"] and len(a) == 4:
        return min(compare(a[1], a[2], a[3]), 100)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
