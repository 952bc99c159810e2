#!/usr/bin/env python3
"""portal_browser.py — drives headless Chromium through the login portal
(tests/kernel/51_portal.sh), by chromedriver's WebDriver HTTP/JSON API
(W3C WebDriver) from the standard library, with webdriver.py's flags. Runs inside the client's
network namespace. Prints one "ok: ..." or "FAIL: ..." line per check;
exit status = the number of FAILs.

  portal_browser.py OUT_DIR SERVER PORTAL_URL USER GOOD_PASSWORD SLUICECTL SOCKET

OUT_DIR gets the screenshots (PNG) and Chromium's profile. SERVER is the
staff-only server's address (a TCP echo on port 80: reachable means five
lines come back). Every wait is a bounded poll; observed values are
printed."""
import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webdriver import FLAGS  # noqa: E402  the flags that keep Chromium off the network

OUT, SERVER, PORTAL, USER, GOOD, SLUICECTL, SOCK = sys.argv[1:8]
fails = 0


def ok(msg):
    print("ok: " + msg, flush=True)


def fail(msg):
    global fails
    fails += 1
    print("FAIL: " + msg, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


PORT = free_port()
BASE = "http://127.0.0.1:%d" % PORT


def call(method, path, body=None, timeout=60):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read() or b"{}").get("value")
    except urllib.error.HTTPError as e:
        raise RuntimeError("%s %s: %s" % (method, path, e.read()[:300]))


def echo_lines(timeout=3.0):
    """Five lines through one new TCP session to SERVER:80; how many came
    back unchanged (the echo server), 0 when refused or dropped."""
    got = 0
    try:
        with socket.create_connection((SERVER, 80), timeout=timeout) as s:
            s.settimeout(timeout)
            buf = b""
            for i in range(5):
                line = b"line %d\n" % i
                s.sendall(line)
                end = time.monotonic() + timeout
                while line not in buf and time.monotonic() < end:
                    chunk = s.recv(4096)
                    if not chunk:
                        return got
                    buf += chunk
                if line in buf:
                    got += 1
                else:
                    return got
    except OSError:
        pass
    return got


def wait_echo(want, seconds):
    """Polls echo_lines until it equals (want True) or differs from 5."""
    end = time.monotonic() + seconds
    while True:
        n = echo_lines()
        if (n == 5) == want or time.monotonic() > end:
            return n
        time.sleep(0.5)


def identity():
    r = subprocess.run([SLUICECTL, "-s", SOCK, "identity"],
                       capture_output=True, text=True, timeout=10)
    return r.stdout


driver = subprocess.Popen(["chromedriver", "--port=%d" % PORT],
                          stdout=subprocess.DEVNULL,
                          stderr=open(os.path.join(OUT, "chromedriver.log"), "w"))
sid = None
try:
    for _ in range(100):
        try:
            if call("GET", "/status", timeout=2).get("ready"):
                break
        except Exception:
            pass
        time.sleep(0.1)
    caps = {"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "acceptInsecureCerts": True,
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": FLAGS + ["--ignore-certificate-errors",  # the lab's certificate
                             "--window-size=800,600",
                             "--user-data-dir=" + os.path.join(OUT, "profile")]}}}}
    sid = call("POST", "/session", caps)["sessionId"]
    S = "/session/" + sid
    call("POST", S + "/timeouts", {"pageLoad": 30000, "implicit": 0})

    def shot(name):
        png = base64.b64decode(call("GET", S + "/screenshot"))
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(png)

    def find(css):
        try:
            return call("POST", S + "/element",
                        {"using": "css selector", "value": css})
        except RuntimeError:
            return None

    def text(css):
        e = find(css)
        return call("GET", S + "/element/%s/text" % list(e.values())[0]) if e else None

    def wait_for(css, seconds=15):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            e = find(css)
            if e:
                return e
            time.sleep(0.2)
        return None

    def eid(e):
        return list(e.values())[0]

    def sign_in(user, password):
        for css, value in (("#user", user), ("#password", password)):
            e = wait_for(css)
            call("POST", S + "/element/%s/clear" % eid(e), {})
            call("POST", S + "/element/%s/value" % eid(e), {"text": value})
        call("POST", S + "/element/%s/click" % eid(find("#signin")), {})

    def url():
        return call("GET", S + "/url")

    # 1. an unidentified client opens the server's web page: the portal
    n = echo_lines()
    if n != 5:
        ok("before sign-in the server's port 80 is not reached (%d echoes)" % n)
    else:
        fail("before sign-in the server echoed 5 lines")
    call("POST", S + "/url", {"url": "http://%s/" % SERVER})
    if url().startswith(PORTAL + "/") and wait_for("#password"):
        ok("http://%s/ lands on the portal (%s)" % (SERVER, url()))
    else:
        fail("http://%s/ led to %s" % (SERVER, url()))
    shot("portal-1-signin.png")

    # 2. a wrong password: refused with a message
    sign_in(USER, "not the password")
    wait_for("#msg")
    msg = text("#msg") or ""
    if "refused" in msg and find("#who") is None:
        ok("a wrong password is refused: %r" % msg)
    else:
        fail("after a wrong password: message %r, url %s" % (msg, url()))
    shot("portal-2-refused.png")
    n = echo_lines()
    if n != 5:
        ok("still no server after the refusal (%d echoes)" % n)
    else:
        fail("the server echoed 5 lines after a refused sign-in")

    # 3. the right password (odd bytes): signed in, the server reachable
    sign_in(USER, GOOD)
    who = text("#who") if wait_for("#who") else None
    if who == USER:
        ok("signed in as %s with a password of odd bytes" % who)
    else:
        fail("sign-in: #who %r, message %r" % (who, text("#msg")))
    shot("portal-3-signed-in.png")
    ids = identity()
    line = [l for l in ids.splitlines() if " %s " % USER in " %s " % l]
    if line and "portal" in line[0]:
        ok("sluicectl identity: %s" % " ".join(line[0].split()))
    else:
        fail("sluicectl identity: %s" % ids)
    n = wait_echo(True, 10)
    if n == 5:
        ok("the staff-only server is reachable after sign-in (%d echoes)" % n)
    else:
        fail("after sign-in the server echoed %d lines" % n)
    call("POST", S + "/url", {"url": PORTAL + "/"})

    # 4. sign-out: access gone
    e = wait_for("#signout")
    if e:
        call("POST", S + "/element/%s/click" % eid(e), {})
    if wait_for("#password"):
        ok("the sign-out button leads back to the sign-in form")
    else:
        fail("after sign-out: %s" % url())
    shot("portal-4-signed-out.png")
    n = wait_echo(False, 10)
    if n != 5:
        ok("after sign-out the server is not reached (%d echoes)" % n)
    else:
        fail("after sign-out the server still echoes")
    ids = identity()
    if " %s " % USER not in " %s " % ids.replace("\n", " "):
        ok("sluicectl identity no longer lists %s" % USER)
    else:
        fail("after sign-out: %s" % ids)
except Exception as e:  # a broken step is a failure, never a pass
    fail("browser step: %r" % (e,))
finally:
    if sid:
        try:
            call("DELETE", "/session/" + sid, timeout=20)
        except Exception:
            pass
    driver.terminate()
    try:
        driver.wait(10)
    except subprocess.TimeoutExpired:
        driver.kill()
sys.exit(fails)
