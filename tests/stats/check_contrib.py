#!/usr/bin/env python3
"""check_contrib.py COUNTERS_MD ALERTS_YML ALERTS_TEST_YML DASHBOARD_JSON —
contrib/ against the built-in alerts and itself:

- the Prometheus rules hold exactly the built-in default alerts of
  docs/counters.md's counters tables (column "default alert", which
  tests/docs checks against the code): each rule's sluice_alert label is an
  alert's name and its sluice_condition the counter and condition there;
- `promtool check rules` and `promtool test rules` pass (skipped, with a
  note, when promtool is missing);
- the Grafana dashboard is JSON, every panel has a title and targets with
  an expr, and each panel's ids are unique.
Prints every difference; exit status 1 when there is one."""
import json
import re
import shutil
import subprocess
import sys

md, rules, tests, dash = sys.argv[1:5]
bad = []

builtin = {}
for line in open(md, encoding="utf-8"):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) < 6 or not cells[0].startswith("`"):
        continue
    m = re.fullmatch(r"`([^`]+)` \(`([^`]+)`\)", cells[4])
    if m:
        builtin[m.group(2)] = "%s %s" % (cells[0].strip("`"), m.group(1))

text = open(rules, encoding="utf-8").read()
names = re.findall(r"^\s+sluice_alert: (\S+)$", text, re.M)
conds = re.findall(r'^\s+sluice_condition: "([^"]+)"$', text, re.M)
if len(names) != len(conds):
    bad.append("rules: %d sluice_alert labels, %d sluice_condition" % (len(names), len(conds)))
got = dict(zip(names, conds))
for n in sorted(set(builtin) | set(got)):
    if n not in got:
        bad.append("built-in alert %s (%s) has no Prometheus rule" % (n, builtin[n]))
    elif n not in builtin:
        bad.append("rule %s is no built-in alert" % n)
    elif got[n] != builtin[n]:
        bad.append("alert %s: rule says %r, built-in %r" % (n, got[n], builtin[n]))
if not builtin:
    bad.append("no default alert found in " + md)

promtool = shutil.which("promtool")
if promtool:
    for args in (["check", "rules", rules], ["test", "rules", tests]):
        r = subprocess.run([promtool] + args, capture_output=True, text=True)
        if r.returncode:
            bad.append("promtool %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
else:
    print("note: promtool missing (Debian prometheus): rules not run")

d = json.load(open(dash, encoding="utf-8"))
ids = set()
for p in d.get("panels", []):
    if p.get("type") == "row":
        continue
    if not p.get("title"):
        bad.append("dashboard: a panel without a title")
    if p.get("id") in ids:
        bad.append("dashboard: panel id %s twice" % p.get("id"))
    ids.add(p.get("id"))
    if not p.get("targets") or not all(t.get("expr") for t in p["targets"]):
        bad.append("dashboard: panel %r without an expr" % p.get("title"))
if len(ids) < 8:
    bad.append("dashboard: only %d panels" % len(ids))

for b in bad:
    print(b)
print("%d built-in alerts, %d rules, %d dashboard panels" % (len(builtin), len(got), len(ids)))
sys.exit(1 if bad else 0)
