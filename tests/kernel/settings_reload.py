#!/usr/bin/env python3
"""settings_reload.py DUMP SLUICECTL SOCKET ETC BASE [ALT] — for every row of
every settings block (tests/docs/tables_dump: the code's table, so a new row
is covered without a change here), reloads the running sluiced with BASE
changed in that one setting and checks what the table says a reload does:

  reload yes      `sluicectl settings` shows the new value, and the reply
                  does not call it NOT applied;
  reload restart  the reply says `BLOCK KEY NEW: NOT applied: restart
                  sluiced`, and `settings` still shows the running value;
  portal          (a setting sluice-portal reads; BASE has a portal) the
                  reply also says sluice-portal needs a restart.

The new value: a number one step from BASE's (within the row's range), an
enum's next word, a bool flipped, a string or list row's example (paths
under /etc/sluice/ become files under ETC, which the caller created). A
change BASE cannot take alone (a directory keytab, which excludes bind-dn)
(refused with BASE) is tried on ALT. (Observable effects of a few rows: the scenario.)

Prints `ok: ...` / `FAIL: ...` lines; the exit status is the number of
failures (at most 100)."""
import json
import os
import subprocess
import sys


def run(argv, timeout=20):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


class Lab:
    def __init__(self, ctl, sock, conf):
        self.ctl, self.sock, self.conf = ctl, sock, conf

    def cmd(self, *args):
        return run([self.ctl, "-s", self.sock, *args])

    def reload(self, text):
        with open(self.conf, "w") as f:
            f.write(text)
        rc, out = self.cmd("reload")
        return rc, out

    def settings(self):
        rc, out = self.cmd("settings", "--json")
        if rc != 0:
            raise RuntimeError(f"settings: {out}")
        doc = json.loads(out)
        return {(s["block"], s["key"]): s for s in doc["settings"]}


def rows(dump):
    out = subprocess.run([dump], check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        f = line.split("\t")
        if f[0] != "setting" or f[1] in ("verifier", "alert"):
            continue
        yield {"block": f[1], "key": f[2], "type": f[3], "min": int(f[4]),
               "max": int(f[5]), "enums": f[7].split(",") if f[7] else [],
               "reload": f[8], "example": f[9]}


SUFFIX = {"uint": "", "percent": "%", "ms": "ms", "s": "s"}


def number(shown, r):
    """The stored number of a shown value of numeric row R."""
    if r["type"] == "mode":
        return int(shown, 8)
    if r["type"] == "rate":
        return int(shown.split("/")[0])
    return int(shown[:len(shown) - len(SUFFIX[r["type"]])] if SUFFIX[r["type"]]
               else shown)


def write(n, r):
    if r["type"] == "mode":
        return "0%o" % n
    if r["type"] == "rate":
        return "%d/%s" % (n, r["enums"][0])
    return "%d%s" % (n, SUFFIX[r["type"]])


def new_value(r, shown, etc):
    """(text to write, text `settings` should show) for row R, whose value
    in force shows as SHOWN; None when the row has no way to change."""
    t = r["type"]
    if t in ("uint", "percent", "ms", "s", "rate", "mode"):
        n = number(shown, r)
        n = n + 1 if n + 1 <= r["max"] else n - 1
        return write(n, r), write(n, r)
    if t == "enum":
        w = r["enums"][(r["enums"].index(shown) + 1) % len(r["enums"])]
        return w, w
    if t in ("bool", "flag"):
        w = "no" if shown == "yes" else "yes"
        return w, w
    ex = r["example"]
    if not ex:
        return None
    ex = ex.replace("/etc/sluice/", etc + "/")
    if t == "string":
        return '"%s"' % ex.replace('"', '\\"'), ex
    return ex, ex  # a list: its words


def header(block):
    return "directory ldap" if block == "directory" else block


def main():
    dump, ctl, sock, etc, base_path = sys.argv[1:6]
    alt_path = sys.argv[6] if len(sys.argv) > 6 else None
    bases = [open(base_path).read()]
    if alt_path:
        bases.append(open(alt_path).read())
    lab = Lab(ctl, sock, os.path.join(os.path.dirname(base_path),
                                      "sluice.conf"))
    fails = 0

    def fail(msg):
        nonlocal fails
        fails += 1
        print(f"FAIL: {msg}", flush=True)

    def ok(msg):
        print(f"ok: {msg}", flush=True)

    base_values = {}
    code_rows = list(rows(dump))
    have = None
    n_rows = n_live = n_restart = n_portal = 0
    for r in code_rows:
        b, k = r["block"], r["key"]
        chosen = None
        for i, base in enumerate(bases):
            if i not in base_values:
                rc, out = lab.reload(base)
                if rc != 0:
                    fail(f"base {i} not accepted: {out.strip()}")
                    return fails
                base_values[i] = lab.settings()
                if have is None:
                    have = set(base_values[i])
                    want = {(x["block"], x["key"]) for x in code_rows}
                    if have != want:
                        fail(f"`settings` rows {sorted(have ^ want)} differ "
                             f"from the code's table")
            shown = base_values[i][(b, k)]["value"]
            nv = new_value(r, shown, etc)
            if nv is None:
                break
            text = base + f"\n{header(b)} {{ {k} {nv[0]} }}\n"
            rc, reply = lab.reload(text)
            if rc == 0:
                chosen = (i, base, shown, nv, text)
                break
            why = reply
        if nv is None:
            fail(f"{b} {k}: no new value (a string or list row without "
                 f".example?)")
            continue
        if not chosen:
            fail(f"{b} {k} {nv[0]}: no base takes it alone: {why.strip()}")
            continue
        i, base, before, (written, want), text = chosen
        after = lab.settings()[(b, k)]
        got = after["value"]
        n_rows += 1
        restart_line = f"{b} {k} {want}: NOT applied: restart sluiced"
        if r["reload"] == "restart":
            n_restart += 1
            if restart_line in reply and got == before:
                ok(f"{b} {k} {want}: restart, said, running value kept "
                   f"({got})")
            else:
                fail(f"{b} {k} {want}: a restart row: reply {reply!r}, "
                     f"settings {got!r} (running was {before!r})")
            continue
        n_live += 1
        listed = (r["type"] in ("strlist", "statuslist") and
                  set(want.split()) <= set(got.split()) and got != before)
        if (got == want or listed) and restart_line not in reply:
            ok(f"{b} {k}: {before or '-'} -> {got} applied on reload")
        else:
            fail(f"{b} {k} {want}: a live row shows {got!r} after reload "
                 f"(was {before!r}); reply {reply!r}")
        if r["reload"].endswith("sluice-portal: restart"):
            n_portal += 1
            line = f"{b} {k} {want}: applied by sluiced; sluice-portal: NOT applied"
            if line in reply:
                ok(f"{b} {k}: the reply says sluice-portal needs a restart")
            else:
                fail(f"{b} {k}: no sluice-portal line in {reply!r}")
    # back to the first base: what the daemon started with
    rc, out = lab.reload(bases[0])
    if rc != 0:
        fail(f"back to the base: {out.strip()}")
    print(f"{n_rows} of {len(code_rows)} settings reloaded: {n_live} live "
          f"({n_portal} also read by sluice-portal), {n_restart} restart",
          flush=True)
    if n_rows != len(code_rows):
        fail("not every settings row was reloaded")
    return fails


if __name__ == "__main__":
    sys.exit(min(main(), 100))
