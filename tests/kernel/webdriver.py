#!/usr/bin/env python3
"""webdriver.py — a tiny W3C WebDriver client (plain HTTP/JSON, the
standard library only) for the kernel scenarios that look at a page in
headless Chromium through chromedriver (tests/kernel/49_dashboard.sh).

  webdriver.py PORT new PROFILE_DIR [WIDTH HEIGHT]   prints a session id
  webdriver.py PORT get SID URL
  webdriver.py PORT js SID SCRIPT [ARG...]          prints the result (JSON)
  webdriver.py PORT shot SID FILE.png
  webdriver.py PORT quit SID
  webdriver.py PORT ready SECONDS                   waits for chromedriver

Chromium runs headless with the flags that keep it off the network
(no background networking, component updates, sync or QUIC) and a fresh
profile in PROFILE_DIR. Every call has a timeout; errors exit 1 with the
driver's message on stderr.
"""
import base64
import json
import sys
import time
import urllib.error
import urllib.request

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars",
]


def call(port, method, path, body=None, timeout=60):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        "http://127.0.0.1:%d%s" % (port, path), data=data, method=method,
        headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.load(r).get("value")
    except urllib.error.HTTPError as e:
        try:
            v = json.load(e).get("value", {})
            msg = "%s: %s" % (v.get("error"), v.get("message", "")[:300])
        except ValueError:
            msg = str(e)
        sys.exit("webdriver %s %s: %s" % (method, path, msg))


def main(argv):
    port, cmd, args = int(argv[1]), argv[2], argv[3:]
    if cmd == "ready":
        end = time.time() + float(args[0])
        while time.time() < end:
            try:
                if call(port, "GET", "/status", timeout=2).get("ready"):
                    return 0
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        return 1
    if cmd == "new":
        w, h = (args[1], args[2]) if len(args) >= 3 else ("1280", "1600")
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": FLAGS + ["--user-data-dir=" + args[0],
                                 "--window-size=%s,%s" % (w, h)]}}}}
        v = call(port, "POST", "/session", caps, timeout=90)
        print(v["sessionId"])
        return 0
    sid = args[0]
    if cmd == "get":
        call(port, "POST", "/session/%s/url" % sid, {"url": args[1]})
    elif cmd == "js":
        v = call(port, "POST", "/session/%s/execute/sync" % sid,
                 {"script": args[1], "args": args[2:]})
        print(json.dumps(v))
    elif cmd == "shot":
        v = call(port, "GET", "/session/%s/screenshot" % sid)
        with open(args[1], "wb") as f:
            f.write(base64.b64decode(v))
    elif cmd == "quit":
        call(port, "DELETE", "/session/%s" % sid, timeout=30)
    else:
        sys.exit("webdriver: unknown command " + cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
