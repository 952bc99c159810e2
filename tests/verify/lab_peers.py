#!/usr/bin/env python3
"""lab_peers.py — small test peers for the verifier lab (loopback only).

  lab_peers.py blackhole PORT LIFETIME
      accepts TCP connections and never answers (HTTP timeout checks).
  lab_peers.py ntlm PORT LIFETIME LOG USER
      a fake NTLM server: 401 + `WWW-Authenticate: NTLM`, answers a Type-1
      message with a Type-2 challenge and accepts a Type-3 message for USER
      *on the same connection*; an authenticated connection then serves
      requests without a new handshake (as IIS does). It does not verify the
      password (no NTLM password database here); it checks the message flow,
      which is what libcurl's connection-bound NTLM needs from the engine.
      Every event is logged to LOG as `conn=N type1|type3 user=U|reuse`.
  lab_peers.py dns PORT LIFETIME
      a misbehaving DNS server on UDP: the first label of the name asked
      for picks the answer: `servfail` SERVFAIL; `truncrr` NOERROR with an
      A record cut short (malformed); `wrongid` a good answer under another
      id; `otherq` a good answer to another question (both must be ignored,
      RFC 5452 §9.1); anything else is not answered.

All exit by themselves after LIFETIME seconds.
"""
import base64
import http.server
import itertools
import socket
import struct
import sys
import threading
import time


def blackhole(port, lifetime):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(1024)
    s.settimeout(0.5)
    held = []
    end = time.monotonic() + lifetime
    while time.monotonic() < end:
        try:
            c, _ = s.accept()
            held.append(c)
            if len(held) > 4096:
                held.pop(0).close()
        except socket.timeout:
            pass


CONN_IDS = itertools.count(1)


def type2():
    flags = 0x00000001 | 0x00000200 | 0x00000004 | 0x00800000 | 0x00080000
    tinfo = struct.pack("<HH", 0, 0)  # MsvAvEOL
    hdr = b"NTLMSSP\x00" + struct.pack("<I", 2)
    hdr += struct.pack("<HHI", 0, 0, 48)  # target name: empty
    hdr += struct.pack("<I", flags)
    hdr += b"\x01\x23\x45\x67\x89\xab\xcd\xef"  # server challenge
    hdr += b"\x00" * 8  # context
    hdr += struct.pack("<HHI", len(tinfo), len(tinfo), 48)
    return base64.b64encode(hdr + tinfo).decode()


def type3_user(msg):
    ln, _, off = struct.unpack_from("<HHI", msg, 36)
    flags = struct.unpack_from("<I", msg, 60)[0] if len(msg) >= 64 else 1
    raw = msg[off:off + ln]
    return raw.decode("utf-16-le") if flags & 1 else raw.decode("latin-1")


def ntlm(port, lifetime, logpath, user):
    log = open(logpath, "a", buffering=1)

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            self.conn_id = next(CONN_IDS)
            self.stage = 0

        def log_message(self, *a):
            pass

        def reply(self, code, body=b"", hdrs=()):
            self.send_response(code)
            for k, v in hdrs:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            auth = self.headers.get("Authorization", "")
            if self.stage == 2 and not auth:
                log.write(f"conn={self.conn_id} reuse\n")
                return self.reply(200, b"ntlm ok\n")
            if not auth.startswith("NTLM "):
                self.stage = 0
                return self.reply(401, b"", [("WWW-Authenticate", "NTLM")])
            msg = base64.b64decode(auth[5:])
            if not msg.startswith(b"NTLMSSP\x00"):
                return self.reply(400)
            kind = struct.unpack_from("<I", msg, 8)[0]
            if kind == 1:
                log.write(f"conn={self.conn_id} type1\n")
                self.stage = 1
                return self.reply(401, b"", [("WWW-Authenticate",
                                              "NTLM " + type2())])
            if kind == 3 and self.stage == 1:
                u = type3_user(msg)
                log.write(f"conn={self.conn_id} type3 user={u}\n")
                if u == user:
                    self.stage = 2
                    return self.reply(200, b"ntlm ok\n")
            self.stage = 0
            return self.reply(401, b"", [("WWW-Authenticate", "NTLM")])

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
    srv.daemon_threads = True
    threading.Timer(lifetime, srv.shutdown).start()
    srv.serve_forever(poll_interval=0.2)


def dns_answer(q):
    """The answer the dns peer sends to query Q (bytes), or None."""
    if len(q) < 12:
        return None
    qid, flags, qd = struct.unpack("!HHH", q[:6])
    if qd != 1:
        return None
    i, labels = 12, []
    while i < len(q) and q[i] != 0:
        n = q[i]
        labels.append(q[i + 1:i + 1 + n].decode("ascii", "replace").lower())
        i += 1 + n
    question = q[12:i + 5]
    first = labels[0] if labels else ""
    rd = flags & 0x0100
    def head(rid, rcode, an):
        return struct.pack("!HHHHHH", rid, 0x8080 | rd | rcode, 1, an, 0, 0)
    a_rr = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([198, 18, 0, 10])
    if first == "servfail":
        return head(qid, 2, 0) + question
    if first == "truncrr":
        return head(qid, 0, 1) + question + a_rr[:-2]
    if first == "wrongid":
        return head(qid ^ 0x5a5a, 0, 1) + question + a_rr
    if first == "otherq":
        other = b"\x05other\x08lab\x04test\x00" + question[-4:]
        return head(qid, 0, 1) + other + a_rr
    return None


def dns(port, lifetime):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    s.settimeout(0.5)
    end = time.monotonic() + lifetime
    while time.monotonic() < end:
        try:
            q, peer = s.recvfrom(4096)
        except socket.timeout:
            continue
        a = dns_answer(q)
        if a:
            s.sendto(a, peer)


if __name__ == "__main__":
    what, port, lifetime = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    if what == "blackhole":
        blackhole(port, lifetime)
    elif what == "dns":
        dns(port, lifetime)
    elif what == "ntlm":
        ntlm(port, lifetime, sys.argv[4], sys.argv[5])
    else:
        sys.exit("unknown peer " + what)
