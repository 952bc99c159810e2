#!/usr/bin/env bash
# 49_dashboard — sluiced's dashboard page (sluiced(8), DASHBOARD) on its
# metrics listener (127.0.0.1:9109 in the gateway), looked at in headless
# Chromium driven by chromedriver (tests/kernel/webdriver.py), all inside
# the gateway's namespace: nothing leaves it.
#   - the page, its script, style and charting library are served from
#     sluiced with their content types and a Content-Security-Policy;
#     data.json and history.json parse, every history series has values;
#   - in Chromium the page loads, refreshes by itself, draws its four
#     charts (a canvas with a size and pixels, the series count in the
#     DOM), lists both farm members up, the alerts, and the top users and
#     rules of the sessions held open (carol, and a user whose name is
#     HTML markup: shown as text, never run; "staff web" ...);
#   - one member's server stops: once sluiced knows it is down the page
#     shows it down within one refresh (checked by the page's own refresh
#     count, not by time), and the state history holds the down samples;
#   - a page opened later draws the history sluiced kept (not only what it
#     saw itself); no script error, no CSP violation.
# Screenshots are kept in BUILD/test-artifacts/49_dashboard/.
. "$(dirname "$0")/lib.sh"

command -v chromium >/dev/null && command -v chromedriver >/dev/null ||
	{ echo "$KT_NAME: SKIP: no chromium/chromedriver (scripts/setup.sh)"; exit 77; }
modprobe -q nf_conntrack 2>/dev/null || true
lab_up >/dev/null || { echo "$KT_NAME: lab_up failed" >&2; exit 1; }
KT_SOCK=$LAB_TMP/ctl.sock
ART=$KT_BUILD/test-artifacts/49_dashboard
rm -rf "$ART" && mkdir -p "$ART"
URL=http://127.0.0.1:9109
REFRESH=2 # the page's refresh period in this test (?refresh=2), seconds

# ---- two farm members: a TCP echo on port 80 of each server address ---------
member() { lab_spawn "$LAB_SRV" timeout 150 socat TCP4-LISTEN:80,bind=$1,reuseaddr,fork EXEC:cat; }
W1=$(member "$LAB_SRV4")
W2=$(member "$LAB_SRV4B")
conf=$(conf_with 'metrics { listen 127.0.0.1:9109 }' \
	'farm web_farm {' \
	'  server web1 198.18.2.2' \
	'  server web2 198.18.2.3' \
	'  verify tcp every 1s timeout 2s rise 1 fall 2' \
	'}' \
	'publish "public web" tcp 80 on 198.19.0.1 to web_farm')
kt_start "$conf" || kt_done

# member_state NAME: the member's check in `sluicectl farm list --json`
member_state() {
	ctl farm list --json 2>/dev/null | python3 -c '
import json, sys
for f in json.load(sys.stdin)["farms"]:
    for m in f["members"]:
        if m["name"] == sys.argv[1]:
            print("drained" if m.get("drained") else m.get("check", m.get("state")))' "$1"
}
# wait_member NAME STATE SECONDS
wait_member() {
	local i
	for i in $(seq $(($3 * 10))); do
		[ "$(member_state "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
wait_member web1 up 10 && wait_member web2 up 10 && kt_ok "both members up (sluicectl)" ||
	kt_fail "members: $(ctl farm list)"

# sessions held open, with users: carol (staff web) and one whose name is
# markup (netops by its group): the page must show it as text
HOSTILE='<img src=x onerror="document.body.dataset.xss=1">'
export HOSTILE
ctl identity add "$LAB_CLI4" carol --groups staff >/dev/null
ctl identity add "$LAB_CLI4B" "$HOSTILE" --groups netadmins >/dev/null ||
	kt_fail "identity add of the markup name refused"
H1=$(hold "$LAB_CLI" TCP4 "$LAB_SRV4" 80 60 "$LAB_CLI4")
H2=$(hold "$LAB_CLI" TCP4 "$LAB_SRV4" 80 60 "$LAB_CLI4")
H3=$(hold "$LAB_CLI" TCP4 "$LAB_SRV4" 80 60 "$LAB_CLI4B")
for i in $(seq 50); do
	[ "$(held "$H1")" -ge 1 ] && [ "$(held "$H2")" -ge 1 ] && [ "$(held "$H3")" -ge 1 ] && break
	sleep 0.1
done
kt_check "three sessions held open (echoes $(held "$H1")/$(held "$H2")/$(held "$H3"))" \
	test "$(held "$H1")" -ge 1 -a "$(held "$H2")" -ge 1 -a "$(held "$H3")" -ge 1

# traffic: 15 short sessions sluiced allows (carol, staff web), 5 the kernel
# denies (ssh to servers), pings the kernel allows; for the charts
traffic() {
	local i pids=()
	for i in $(seq 15); do
		lab_exec "$LAB_CLI" timeout 5 socat -T1 /dev/null \
			"TCP4:$LAB_SRV4:80,connect-timeout=2,bind=$LAB_CLI4" >/dev/null 2>&1 &
		pids+=($!)
	done
	for i in $(seq 5); do
		lab_exec "$LAB_CLI" timeout 5 socat -T1 /dev/null \
			"TCP4:$LAB_SRV4:22,connect-timeout=1" >/dev/null 2>&1 &
		pids+=($!)
	done
	lab_exec "$LAB_CLI" ping -q -c 3 -i 0.2 -W 1 "$LAB_SRV4" >/dev/null 2>&1
	wait "${pids[@]}" 2>/dev/null
	return 0
}
traffic

# ---- over HTTP: types, headers, JSON ---------------------------------------
# head PATH: status line and headers of GET PATH
head_of() { lab_exec "$LAB_GW" curl -s -m 5 -o /dev/null -D - "$URL$1" | tr -d '\r'; }
ctype_is() {
	local got
	got=$(head_of "$1" | awk -F': ' 'tolower($1) == "content-type" { print $2 }')
	[ "$got" = "$2" ] && kt_ok "GET $1: $got" || kt_fail "GET $1: content type '$got', want '$2'"
}
ctype_is / "text/html; charset=utf-8"
ctype_is /dashboard "text/html; charset=utf-8"
ctype_is /dashboard/app.js "text/javascript; charset=utf-8"
ctype_is /dashboard/app.css "text/css; charset=utf-8"
ctype_is /dashboard/uPlot.iife.min.js "text/javascript; charset=utf-8"
ctype_is /dashboard/uPlot.min.css "text/css; charset=utf-8"
ctype_is /dashboard/data.json "application/json"
ctype_is /dashboard/history.json "application/json"
head_of / | grep -q "^Content-Security-Policy: default-src 'none'; script-src 'self'" &&
	kt_ok "the page has a Content-Security-Policy" || kt_fail "no CSP: $(head_of /)"
st=$(head_of /dashboard/nope | head -n1)
case $st in *" 404 "*) kt_ok "an unknown path: $st" ;; *) kt_fail "an unknown path: $st" ;; esac
lab_exec "$LAB_GW" curl -s -m 5 "$URL/dashboard/uPlot.iife.min.js" | cmp -s - "$KT_ROOT/web/vendor/uplot/uPlot.iife.min.js" &&
	kt_ok "uPlot served as vendored" || kt_fail "uPlot served differs from web/vendor/uplot"
lab_exec "$LAB_GW" curl -s -m 5 "$URL/metrics" | grep -q '^sluice_build_info' &&
	kt_ok "/metrics still served on the same listener" || kt_fail "/metrics"

# the first history sample is taken 1 s after the start
for i in $(seq 50); do
	n=$(lab_exec "$LAB_GW" curl -s -m 5 "$URL/dashboard/history.json" |
		python3 -c 'import json,sys; print(len(json.load(sys.stdin)["t"]))' 2>/dev/null)
	[ "${n:-0}" -ge 1 ] && break
	sleep 0.2
done
lab_exec "$LAB_GW" curl -s -m 5 "$URL/dashboard/history.json" >"$LAB_TMP/h1.json"
# the top users and rules: null until the first count, started by the
# first request and read from conntrack as it comes, has ended
for i in $(seq 50); do
	lab_exec "$LAB_GW" curl -s -m 5 "$URL/dashboard/data.json" >"$LAB_TMP/d1.json"
	python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["top_users"] is None)' "$LAB_TMP/d1.json" 2>/dev/null && break
	sleep 0.2
done
[ "$i" -lt 50 ] && kt_ok "data.json has the top users after $i request(s)" || kt_fail "data.json: no top users in 10 s"
out=$(python3 - "$LAB_TMP/h1.json" "$LAB_TMP/d1.json" <<'PY' 2>&1
import json, os, sys
h = json.load(open(sys.argv[1]))
d = json.load(open(sys.argv[2]))
bad = []
if h["interval_s"] != 10 or h["capacity"] != 360:
    bad.append("interval %s capacity %s" % (h["interval_s"], h["capacity"]))
n = len(h["t"])
for k, v in h["series"].items():
    if len(v) != n or any(x is None for x in v):
        bad.append("series %s: %s" % (k, v))
    if k not in d["counters"]:
        bad.append("series %s is no counter of data.json" % k)
for k in ("status", "counters", "alerts", "farms", "verifiers", "top_users", "top_rules"):
    if d.get(k) is None:
        bad.append("data.json has no " + k)
members = sorted(m["name"] for f in d["farms"] or [] for m in f["members"])
if members != ["web1", "web2"]:
    bad.append("members %s" % members)
users = {u["name"]: u["sessions"] for u in d["top_users"]}
rules = {r["name"]: r["sessions"] for r in d["top_rules"]}
if users.get("carol", 0) < 2 or users.get(os.environ["HOSTILE"], 0) < 1:
    bad.append("top users %s" % users)
if rules.get("staff web", 0) < 2 or rules.get("netops anywhere", 0) < 1 or "(sluiced)" in rules:
    bad.append("top rules %s" % rules)
if bad:
    print("; ".join(bad))
    sys.exit(1)
print("%d samples, %d series; users %s; rules %s" % (n, len(h["series"]), users, rules))
PY
) && kt_ok "data.json and history.json: $out" || kt_fail "JSON: $out"

# ---- in headless Chromium ---------------------------------------------------
WD_PORT=9515
CHR=$LAB_TMP/chromium
mkdir -p "$CHR"
LAB_SPAWN_LOG=$LAB_TMP/chromedriver.log lab_spawn "$LAB_GW" chromedriver --port=$WD_PORT >/dev/null
wd() { lab_exec "$LAB_GW" python3 "$KT_ROOT/tests/kernel/webdriver.py" $WD_PORT "$@"; }
wd ready 20 || { kt_fail "chromedriver not ready: $(tail -5 "$LAB_TMP/chromedriver.log")"; kt_done; }
SID=$(wd new "$CHR/profile" 1280 1560) || { kt_fail "no Chromium session"; kt_done; }
kt_ok "Chromium session $SID"
wd get "$SID" "$URL/?refresh=$REFRESH" >/dev/null || kt_fail "cannot load the page"

# page: the page's self-description (JSON)
PAGE_JS='
const b = document.body, q = (s) => Array.from(document.querySelectorAll(s));
return {
  refreshes: Number(b.dataset.refreshes), state: b.dataset.state,
  error: b.dataset.error || null, jsError: b.dataset.jsError || null,
  csp: b.dataset.cspViolation || null,
  charts: q(".chart").map((c) => {
    const cv = c.querySelector("canvas");
    let ink = 0;
    if (cv && cv.width && cv.height) {
      const px = cv.getContext("2d").getImageData(0, 0, cv.width, cv.height).data;
      for (let i = 3; i < px.length; i += 4) if (px[i]) ink++;
    }
    return {id: c.id, series: Number(c.dataset.series), points: Number(c.dataset.points),
            w: cv ? cv.width : 0, h: cv ? cv.height : 0, ink: ink,
            legend: q("#" + c.id + " .u-legend .u-series").length - 1};
  }),
  members: Object.fromEntries(q("tr[data-member]").map((r) => [r.dataset.member, r.dataset.state])),
  strips: q("tr[data-member] canvas.strip").length,
  users: q("#top-users tbody tr").map((r) => r.textContent),
  rules: q("#top-rules tbody tr").map((r) => r.textContent),
  alerts: q("#alerts tbody tr[data-alert]").length,
  markup: q("main img").length + (b.dataset.xss ? 100 : 0),
  header: ["version", "uptime", "generation"].map((i) => document.getElementById(i).textContent).join(" | "),
  verifiers: Object.fromEntries(q("tr[data-verifier]").map((r) => [r.dataset.verifier, r.dataset.state])),
};'
page() { wd js "$SID" "$PAGE_JS"; }
# pget JSON EXPR: a python expression on the page's JSON (as p)
pget() { python3 -c 'import json,os,sys; p = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }

for i in $(seq 60); do
	P=$(page) || P='{}'
	[ "$(pget "$P" 'p.get("refreshes", 0) >= 2 and p.get("state") == "ok"')" = True ] && break
	sleep 0.5
done
[ "$(pget "$P" 'p.get("refreshes", 0) >= 2 and p.get("state") == "ok"')" = True ] &&
	kt_ok "the page refreshed by itself: $(pget "$P" 'p["refreshes"]') refreshes, state ok" ||
	kt_fail "the page did not refresh: $P"
out=$(pget "$P" '"; ".join("%s %d series %d points %dx%d ink %d legend %d" % (c["id"], c["series"], c["points"], c["w"], c["h"], c["ink"], c["legend"]) for c in p["charts"])')
[ "$(pget "$P" 'len(p["charts"]) == 4 and all(c["w"] > 0 and c["h"] > 0 and c["ink"] > 0 and c["series"] >= 2 and c["legend"] == c["series"] and c["points"] >= 1 for c in p["charts"])')" = True ] &&
	kt_ok "four charts drawn: $out" || kt_fail "charts: $out"
hdr=$(pget "$P" 'p["header"]')
case $hdr in "sluiced "?*" | up "*":"??":"??" | policy generation 1, 9 rules")
	kt_ok "the header: $hdr" ;;
*) kt_fail "the header: '$hdr'" ;; esac
[ "$(pget "$P" 'p["verifiers"]')" = "{'web_farm/web1': 'up', 'web_farm/web2': 'up'}" ] &&
	kt_ok "verifiers listed: $(pget "$P" 'p["verifiers"]')" || kt_fail "verifiers: $(pget "$P" 'p["verifiers"]')"
[ "$(pget "$P" 'p["members"]')" = "{'web_farm/web1': 'up', 'web_farm/web2': 'up'}" ] &&
	[ "$(pget "$P" 'p["strips"]')" = 2 ] &&
	kt_ok "both members shown up, with their state strips" || kt_fail "members: $(pget "$P" 'p["members"]'), strips $(pget "$P" 'p["strips"]')"
[ "$(pget "$P" 'any(u.startswith("carol") for u in p["users"]) and any(u.startswith(os.environ["HOSTILE"]) for u in p["users"]) and any(r.startswith("staff web") for r in p["rules"])')" = True ] &&
	kt_ok "top users $(pget "$P" 'p["users"]'), top rules $(pget "$P" 'p["rules"]')" ||
	kt_fail "tops: users $(pget "$P" 'p["users"]') rules $(pget "$P" 'p["rules"]')"
[ "$(pget "$P" 'p["markup"]')" = 0 ] && kt_ok "the markup user name is shown as text (no element made, nothing run)" ||
	kt_fail "a user name became markup: $(pget "$P" 'p["markup"]')"
[ "$(pget "$P" 'p["alerts"]')" -ge 1 ] && kt_ok "alerts listed: $(pget "$P" 'p["alerts"]')" ||
	kt_fail "no alerts listed"
wd shot "$SID" "$ART/1-members-up.png" && kt_ok "screenshot $ART/1-members-up.png" || kt_fail "screenshot"

# ---- a member's server stops ------------------------------------------------
# once the state history (a sample every 10 s) holds web2 up: on a loaded
# host the steps above may take less than one sample's time after web2
# came up, and a sample late by a moment would then see it down already
for i in $(seq 100); do # bounded: 25 s
	s=$(lab_exec "$LAB_GW" curl -s -m 5 "$URL/dashboard/history.json" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["members"].get("web_farm/web2", ""))' 2>/dev/null)
	case $s in *u*) break ;; esac
	sleep 0.25
done
lab_kill "$W2"
if wait_member web2 down 20; then
	R0=$(pget "$(page)" 'p["refreshes"]')
	kt_ok "web2 down for sluiced at page refresh $R0"
	seen=
	for i in $(seq 120); do # bounded: 30 s; the refresh count decides
		P=$(page) || P='{}'
		r=$(pget "$P" 'p.get("refreshes", 0)')
		if [ "$(pget "$P" 'p.get("members", {}).get("web_farm/web2")')" = down ]; then
			seen=$r
			break
		fi
		[ "$r" -gt $((R0 + 2)) ] && break
		sleep 0.25
	done
	# the refresh in flight when sluiced knew may carry the old state; the
	# next one (R0 + 2) must show it
	[ -n "$seen" ] && [ "$seen" -le $((R0 + 2)) ] &&
		kt_ok "the page shows web2 down at refresh $seen (sluiced knew at $R0: within one refresh)" ||
		kt_fail "web2 not shown down within one refresh (knew at $R0, now $(pget "$P" 'p.get("refreshes")'), members $(pget "$P" 'p.get("members")'))"
	[ "$(pget "$P" 'p["members"].get("web_farm/web1")')" = up ] && kt_ok "web1 still shown up" ||
		kt_fail "web1: $(pget "$P" 'p["members"]')"
else
	kt_fail "web2 never went down: $(ctl farm list)"
fi
wd shot "$SID" "$ART/2-member-down.png" && kt_ok "screenshot $ART/2-member-down.png" || kt_fail "screenshot"

# the state history takes the down samples (one every 10 s)
for i in $(seq 100); do # bounded: 25 s
	s=$(lab_exec "$LAB_GW" curl -s -m 5 "$URL/dashboard/history.json" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["members"].get("web_farm/web2", ""))' 2>/dev/null)
	case $s in *d) break ;; esac
	sleep 0.25
done
case $s in *u*d) kt_ok "history of web2: '$s' (up, then down)" ;;
*) kt_fail "history of web2: '$s'" ;; esac

traffic

# ---- a page opened later draws what sluiced kept ------------------------------
n=$(lab_exec "$LAB_GW" curl -s -m 5 "$URL/dashboard/history.json" |
	python3 -c 'import json,sys; print(len(json.load(sys.stdin)["t"]))')
wd get "$SID" "$URL/?refresh=$REFRESH" >/dev/null
for i in $(seq 40); do
	P=$(page) || P='{}'
	[ "$(pget "$P" 'p.get("refreshes", 0) >= 1')" = True ] && break
	sleep 0.25
done
pts=$(pget "$P" 'min(c["points"] for c in p["charts"]) if p.get("charts") else 0')
[ "$pts" -ge "$n" ] && [ "$n" -ge 2 ] &&
	kt_ok "a page opened later draws the $n samples sluiced kept at its first refresh ($pts points)" ||
	kt_fail "a page opened later: $pts points, history $n samples"
[ "$(pget "$P" 'p["jsError"] is None and p["csp"] is None and p["error"] is None')" = True ] &&
	kt_ok "no script error, no CSP violation" ||
	kt_fail "page errors: js $(pget "$P" 'p["jsError"]') csp $(pget "$P" 'p["csp"]') fetch $(pget "$P" 'p["error"]')"
wd shot "$SID" "$ART/3-reopened.png" || kt_fail "screenshot"
wd quit "$SID" >/dev/null || true
ls "$ART"/*.png >/dev/null 2>&1 && kt_ok "screenshots kept in $ART: $(cd "$ART" && echo *.png)"
kt_done
