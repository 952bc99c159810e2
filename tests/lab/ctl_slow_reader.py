#!/usr/bin/env python3
# ctl_slow_reader.py — a control-socket client that asks and does not read:
# sends request COMMAND (no arguments) on the unix socket SOCK, waits
# (at most 30 s) until the file GO exists, then reads the whole answer
# into OUT. Kernel tests use it to check that a large list left unread
# holds up nobody and is still sent whole.
#   ctl_slow_reader.py SOCK COMMAND OUT GO
import json
import os
import socket
import sys
import time

sock, command, out, go = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sock)
s.sendall((json.dumps({"command": command}) + "\n").encode())
for _ in range(300):
    if os.path.exists(go):
        break
    time.sleep(0.1)
data = []
while True:
    b = s.recv(1 << 20)
    if not b:
        break
    data.append(b)
with open(out, "wb") as f:
    f.write(b"".join(data))
