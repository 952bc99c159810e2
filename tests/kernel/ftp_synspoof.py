#!/usr/bin/env python3
"""ftp_synspoof.py IFACE GWMAC DST DPORT FIRST LAST PORTS: raw SYNs from
every IPv4 address 198.18.1.FIRST..LAST (the sender's own subnet: strict
reverse-path lets them through), PORTS source ports each, to DST:DPORT;
prints how many (tests/kernel/50_ftp.sh: the FTP filter's slots)."""
import socket, struct, sys, time
ifc, gwmac, dst, dport, first, last, ports = sys.argv[1:8]
dport, first, last, ports = int(dport), int(first), int(last), int(ports)
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s >> 16) + (s & 0xffff)
    return ~s & 0xffff
r = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); r.bind((ifc, 0))
mine = bytes.fromhex(open("/sys/class/net/%s/address" % ifc).read().strip().replace(":", ""))
eth = bytes.fromhex(gwmac.replace(":", "")) + mine + b"\x08\x00"
d = socket.inet_aton(dst); n = 0
for p in range(ports):
    for a in range(first, last + 1):
        s = socket.inet_aton("198.18.1.%d" % a)
        tcp = struct.pack("!HHIIBBHHH", 20000 + p, dport, 77 + p, 0, 5 << 4, 0x02, 64240, 0, 0)
        tcp = tcp[:16] + struct.pack("!H", csum(s + d + struct.pack("!xBH", 6, 20) + tcp)) + tcp[18:]
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, n & 0xffff, 0, 64, 6, 0, s, d)
        r.send(eth + h[:10] + struct.pack("!H", csum(h)) + h[12:] + tcp); n += 1
    time.sleep(0.01)
print(n)
