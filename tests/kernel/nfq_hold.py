#!/usr/bin/env python3
# nfq_hold.py NUM READY SECONDS — binds NFQUEUE queue NUM in this network
# namespace (raw nfnetlink: NFQNL_MSG_CONFIG, NFQA_CFG_CMD BIND), as another
# program that uses the queue (an IPS) would, writes READY once bound, and
# holds it for SECONDS. Exits non-zero when the kernel refuses the bind.
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE, NFQNL_MSG_CONFIG = 3, 2
NFQA_CFG_CMD, NFQNL_CFG_CMD_BIND = 1, 1
NLM_F_REQUEST, NLM_F_ACK = 1, 4

num, ready, hold = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
s.bind((0, 0))
attr = struct.pack("=HHBBH", 8, NFQA_CFG_CMD, NFQNL_CFG_CMD_BIND, 0, 0)
body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(num)) + attr
hdr = struct.pack("=IHHII", 16 + len(body),
                  (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_CONFIG,
                  NLM_F_REQUEST | NLM_F_ACK, 1, 0)
s.send(hdr + body)
err = struct.unpack("=i", s.recv(4096)[16:20])[0]
if err:
    sys.exit("nfq_hold: bind queue %d: error %d" % (num, err))
with open(ready, "w") as f:
    f.write("bound\n")
time.sleep(hold)
