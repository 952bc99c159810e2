#!/usr/bin/env python3
"""ftp_seeds.py DIR — seeds for fuzz_ftp: client command streams cut into
segments (2-byte offset, 1-byte length, bytes), with splits, overlaps and
retransmissions of uploads and deletes."""
import os
import sys


def seg(off, b):
    return bytes([off >> 8, off & 255, len(b)]) + b


SEEDS = [
    seg(0, b"USER anonymous\r\n") + seg(16, b"STOR x\r\n") + seg(24, b"RETR y\r\n"),
    seg(0, b"ST") + seg(2, b"OR x\r\n"),
    seg(0, b"RETR a\r\n") + seg(0, b"NOOP STOR b\r\n"),
    seg(0, b"NOOPX \n") + seg(0, b"NOOP AASTOR b\r\n"),
    seg(0, b"dele f\r\nmkd g\r\n") + seg(3, b"XXXX\r\nSITE x\r\n"),
    seg(0, b"EPSV\r\n") + seg(6, b"LIST\r\n") + seg(12, b"RNFR a\r\nRNTO b\r\n"),
]

os.makedirs(sys.argv[1], exist_ok=True)
for i, s in enumerate(SEEDS):
    with open(os.path.join(sys.argv[1], "seed%d" % i), "wb") as f:
        f.write(s)
