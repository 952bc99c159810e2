#!/usr/bin/env bash
# 43_json_strict — every `--json` output of a live sluiced (every command
# and form of sluicectl) is one JSON document a strict parser takes (UTF-8
# only, no duplicate keys, no NaN): an object with schema_version, or a
# list of objects; the text of every listing fits 100 columns, has no
# number in e-notation and no control character; with
# hostile names in the policy (a quote, a backslash, byte 0xE9, control
# characters) in rules, a farm, its publish and a verifier; the same
# names in the Prometheus labels pass promtool.
. "$(dirname "$0")/lib.sh"
kt_up
H=$(printf 'Ren\xe9 \\"q\\" back\\\\slash \x01\x7f end')
conf=$(conf_with 'metrics { listen 127.0.0.1:9109 }' \
	"rule \"$H\" allow ping from clients to servers" \
	"rule \"$H 2\" deny ssh from clients to servers" \
	'farm web_farm {' \
	'  server web1 198.18.2.2' \
	'  server web2 198.18.2.3' \
	'  verify tcp every 1s timeout 500ms rise 1 fall 1' \
	'}' \
	"publish \"$H pub\" tcp 80 on 198.19.0.1 to web_farm" \
	"verifier \"v $H\" tcp 198.18.4.2 port 389 every 1s timeout 500ms rise 1 fall 1")
# the same name on a rule that decides ping from clients (before the
# lab's "ping"), so a kernel-decided session carries it in `sessions`
python3 - "$conf" "$H" <<'PY'
import sys
path, h = sys.argv[1], sys.argv[2].encode("utf-8", "surrogateescape")
lines = open(path, "rb").read().split(b"\n")
i = next(n for n, l in enumerate(lines) if l.startswith(b'rule "ping"'))
lines.insert(i, b'rule "' + h + b' icmp" allow ping from clients to servers')
open(path, "wb").write(b"\n".join(lines))
PY
kt_start "$conf" || kt_done
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
ctl identity add "$LAB_CLI4B" 'o"brien\x' --groups 'st\aff' >/dev/null 2>&1
# a user and a group name with byte 0xE9 (Latin-1), a quote, a control
# character: taken or refused, the outputs stay strict JSON
HU=$(printf 'Ren\xe9 "q" \x01u')
ctl identity add 198.18.1.79 "$HU" --groups "$(printf 'gr\xe9"p')" >"$LAB_TMP/hu.out" 2>&1
echo "identity add of a hostile user: rc $? $(head -c 200 "$LAB_TMP/hu.out" | od -c | head -2 | tr -s ' ')"
ctl creations add "$LAB_SRV4" tcp 8080 --timeout 30 >/dev/null 2>&1
hold_n=$(hold "$LAB_CLI" TCP4 "$LAB_SRV4" 80 6)
lab_exec "$LAB_CLI" ping -c 1 -W 1 "$LAB_SRV4" >/dev/null
sleep 1.5

strict() { # strict WHAT FILE: the file is one strict JSON value
	python3 - "$2" <<'PY'
import json, sys
raw = open(sys.argv[1], "rb").read()
text = raw.decode("utf-8")  # strict: invalid UTF-8 raises
def no_dups(pairs):
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), "duplicate keys %r" % keys
    return dict(pairs)
def no_const(c):
    raise ValueError("non-standard constant " + c)
v = json.loads(text, object_pairs_hook=no_dups, parse_constant=no_const)
assert isinstance(v, (dict, list)), type(v)
PY
}
n=0
while IFS= read -r cmd; do
	n=$((n + 1))
	# shellcheck disable=SC2086
	ctl $cmd --json >"$LAB_TMP/j.$n" 2>"$LAB_TMP/j.$n.err"
	rc=$?
	if strict "$cmd" "$LAB_TMP/j.$n" 2>"$LAB_TMP/j.$n.py"; then
		kt_ok "sluicectl $cmd --json (rc $rc): strict JSON"
	else
		kt_fail "sluicectl $cmd --json (rc $rc): $(tail -1 "$LAB_TMP/j.$n.py"): $(head -c 300 "$LAB_TMP/j.$n" | od -c | head -5)"
	fi
done <<'CMDS'
status
sessions
pending
counters
alerts
verifiers
farm
farm list
identity
identity list
creations
creations list
farm drain web1
farm resume web1
alerts reset backlog
alerts reset
identity add 198.18.1.77 eve --groups staff,ops --ttl 60
identity del 198.18.1.77
identity del 198.18.1.78
creations add 198.18.2.2 tcp 8081 --timeout 30
creations del 198.18.2.2 tcp 8081
confirm
farm drain nosuchmember
reload
floods
identity sources
identity login 198.18.1.80 dave --lifetime 60
identity logout 198.18.1.80
settings
CMDS
# every answer is an object with schema_version 1 (a list as
# {"schema_version": 1, KIND: [objects]}), but `identity list`, a bare
# array of objects (the feeders' scripts read it so; sluicectl(8))
python3 - "$LAB_TMP" "$n" <<'PY' && kt_ok "every --json answer has schema_version 1 (identity list: an array)" || kt_fail "schema_version missing"
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
arrays = (9, 10)  # identity, identity list
lists = {2: "sessions", 3: "pending", 5: "alerts", 6: "verifiers", 7: "farms",
         8: "farms", 11: "creations", 12: "creations", 25: "floods"}
for i in range(1, n + 1):
    v = json.load(open("%s/j.%d" % (d, i), encoding="utf-8"))
    if i in arrays:
        assert isinstance(v, list) and all(isinstance(e, dict) for e in v), (i, v[:2])
        continue
    assert isinstance(v, dict) and v.get("schema_version") == 1, (i, v)
    if i in lists and v.get("ok") is not False:
        k = lists[i]
        assert isinstance(v[k], list) and all(isinstance(e, dict) for e in v[k]), (i, k, v)
        assert set(v) == {"schema_version", k}, (i, list(v))
PY
# the text tables fit 100 columns and print human units: no e-notation
# (1.69779e+07), no raw milliseconds; hostile names in them escaped
for cmd in status sessions pending counters alerts verifiers "farm list" identity \
	"identity sources" creations floods settings; do
	# shellcheck disable=SC2086
	ctl $cmd >"$LAB_TMP/t" 2>&1
	r=$(python3 - "$LAB_TMP/t" <<'PY'
import re, sys
text = open(sys.argv[1], "rb").read().decode("utf-8")  # valid UTF-8
lines = text.splitlines()
w = max((len(l) for l in lines), default=0)
enot = [l for l in lines if re.search(r"\d\.?\d*e[+-]\d", l)]
ctrl = [l for l in lines if re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", l)]
print("%d columns, %d lines, %d with e-notation, %d with control characters%s"
      % (w, len(lines), len(enot), len(ctrl), (": " + ascii(enot[0] if enot else ctrl[0])) if enot or ctrl else ""))
sys.exit(0 if w <= 100 and not enot and not ctrl and lines else 1)
PY
) && kt_ok "sluicectl $cmd: $r" || kt_fail "sluicectl $cmd: $r"
done
# the text of the actions, rendered from their JSON by sluicectl too
for cmd in "farm drain web1" "farm resume web1" "alerts reset" reload \
	"identity add 198.18.1.82 zed --groups staff" "identity del 198.18.1.82" \
	"creations add 198.18.2.2 tcp 8082 --timeout 30" "creations del 198.18.2.2 tcp 8082"; do
	# shellcheck disable=SC2086
	ctl $cmd >"$LAB_TMP/ta" 2>&1; rc=$?
	r=$(python3 - "$LAB_TMP/ta" <<'PY'
import re, sys
text = open(sys.argv[1], "rb").read().decode("utf-8")
lines = text.splitlines()
ctrl = [l for l in lines if re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", l)]
bad = [l for l in lines if l.startswith("{") or l.startswith("[")]
print("%d lines, %d with control characters, %d JSON: %s" % (len(lines), len(ctrl), len(bad), ascii(lines[:2])))
sys.exit(0 if lines and not ctrl and not bad else 1)
PY
) && [ "$rc" = 0 ] && kt_ok "sluicectl $cmd (text): $r" || kt_fail "sluicectl $cmd (text, rc $rc): $r"
done
# the hostile names in the tables: escaped (\xe9, \x01), not lost
for cmd in sessions verifiers "farm list"; do
	# shellcheck disable=SC2086
	ctl $cmd >"$LAB_TMP/th" 2>&1
	grep -qF 'Ren\xe9 "q" back' "$LAB_TMP/th" &&
		kt_ok "sluicectl $cmd: the hostile name shown escaped: $(grep -F 'Ren\xe9' "$LAB_TMP/th" | head -1 | tr -s ' ')" ||
		kt_fail "sluicectl $cmd: no escaped hostile name: $(head -c 600 "$LAB_TMP/th" | od -c | head -8)"
done
ctl verifiers >"$LAB_TMP/tv" 2>&1
python3 - "$LAB_TMP/tv" <<'PY' && kt_ok "verifiers: the times in units (s, ms, µs)" || kt_fail "verifiers: $(head -c 600 "$LAB_TMP/tv")"
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
rows = [l for l in text.splitlines() if l.startswith("web_farm/web1")]
assert rows, text
assert re.search(r"\d (s|ms|µs|min)\s*$", rows[0]), rows[0]
assert "v Ren\\xe9" in text, text
print(rows[0])
PY
"$SLUICECTL" check -c "$KT_CONF" --json >"$LAB_TMP/jc" 2>/dev/null
strict check "$LAB_TMP/jc" && kt_ok "sluicectl check --json: strict JSON" || kt_fail "check --json: $(head -c 300 "$LAB_TMP/jc")"
# the what-if names the hostile rule (byte 0xE9, quotes, control bytes)
"$SLUICECTL" check -c "$KT_CONF" --flow "icmp $LAB_CLI4 -> $LAB_SRV4 type echo-request" --anonymous \
	--in cli0 --json >"$LAB_TMP/jf" 2>/dev/null
strict check "$LAB_TMP/jf" && python3 -c '
import json, sys
v = json.load(open(sys.argv[1], encoding="utf-8"))
assert v["verdict"] == "allow" and v["rule"].startswith("Ren") and v["rule"].endswith(" icmp"), v
assert v["from"]["network"] == "clients" and v["spoofed"] is False, v
print("check --flow --json: rule", ascii(v["rule"]))' "$LAB_TMP/jf" &&
	kt_ok "sluicectl check --flow --json: strict JSON with the hostile rule name" ||
	kt_fail "check --flow --json: $(head -c 300 "$LAB_TMP/jf" | od -c | head -4)"
python3 - "$LAB_TMP" <<'PY' && kt_ok "reload --json: an object with schema_version, generation 2" || kt_fail "reload --json: $(cat "$LAB_TMP"/j.24)"
import json, sys
v = json.load(open(sys.argv[1] + "/j.24"))
assert v["schema_version"] == 1 and v["ok"] is True and v["generation"] == 2, v
assert any("reloaded" in m for m in v["messages"]), v
for i in (1, 4, 13, 14):  # status, counters, farm drain/resume: objects
    o = json.load(open(sys.argv[1] + "/j.%d" % i))
    assert o["schema_version"] == 1, (i, o)
e = json.load(open(sys.argv[1] + "/j.22"))  # confirm: nothing to confirm
assert e["ok"] is False and e["error"], e
PY
# the lists built with jansson show the hostile names, escaped, not lost
python3 - "$LAB_TMP" <<'PY' && kt_ok "sessions and identity list --json carry the hostile rule and user names" || kt_fail "hostile names in the lists: $(head -c 400 "$LAB_TMP/j.2"; head -c 400 "$LAB_TMP/j.10")"
import json, sys
d = sys.argv[1]
sess = json.load(open(d + "/j.2", encoding="utf-8"))["sessions"]
assert isinstance(sess, list) and sess, sess
assert any(isinstance(r["rule"], str) and r["rule"].startswith("Ren") and '"q"' in r["rule"]
           and r["rule"].endswith(" icmp") for r in sess), [r["rule"] for r in sess]
ids = json.load(open(d + "/j.10", encoding="utf-8"))
assert isinstance(ids, list), ids
users = [r["user"] for r in ids]
assert 'o"brien\\x' in users or any(u.startswith('o"brien') for u in users), users
hu = [r for r in ids if r["user"].startswith("Ren")]
if hu:  # taken: shown as valid text, the bad byte as \xE9 text
    assert "\\x" in hu[0]["user"] or "\u00e9" in hu[0]["user"], hu
    print("hostile user shown as", ascii(hu[0]["user"]), "groups", ascii(hu[0]["groups"]))
else:
    print("hostile user refused; users:", ascii(users))
fl = json.load(open(d + "/j.25", encoding="utf-8"))
assert isinstance(fl.get("floods"), list) or fl.get("ok") is False, fl
src = json.load(open(d + "/j.26", encoding="utf-8"))
assert src.pop("schema_version") == 1, src
assert isinstance(src, dict) and all("entries" in v for v in src.values()), src
PY
grep -q 'Ren' "$LAB_TMP/j.1" "$LAB_TMP/j.3" "$LAB_TMP/j.6" "$LAB_TMP/j.7" 2>/dev/null &&
	kt_ok "the hostile names are in the outputs" || kt_fail "no hostile name shown anywhere"
lab_exec "$LAB_GW" curl -s --max-time 5 http://127.0.0.1:9109/metrics >"$LAB_TMP/m"
out=$(promtool check metrics <"$LAB_TMP/m" 2>&1) && kt_ok "promtool: clean with hostile labels" || kt_fail "promtool: $out"
python3 -c "open('$LAB_TMP/m','rb').read().decode('utf-8')" && kt_ok "/metrics is UTF-8" || kt_fail "/metrics not UTF-8"
kt_done
