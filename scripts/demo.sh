#!/usr/bin/env bash
# demo.sh — set up, build, and run the main job: the policy of DESIGN.md §4
# checked and explained session by session with `sluicectl check`, the same
# engine the service decides with.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
CTL=build/src/sluicectl/sluicectl
CONF=examples/design.conf

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
what_if() { # what_if DESCRIPTION ARGS...: one offline decision
	local d=$1; shift
	printf '\n# %s\n$ sluicectl check -c %s %s\n' "$d" "$CONF" "${*@Q}"
	"$CTL" check -c "$CONF" "$@" | sed 's/^/  /'
}

say "1. The policy is valid"
"$CTL" check -c "$CONF"

say "2. What the kernel decides alone, and what needs the service"
what_if "from outside, ping: header facts decide (kernel)" \
	--flow 'icmp 192.0.2.9 -> 10.2.0.80 type echo-request' --time 'mon 09:00'
what_if "ftp into the dmz from outside: denied and logged (kernel)" \
	--flow 'tcp 192.0.2.9:40000 -> 10.2.0.80:21' --time 'mon 09:00'
what_if "an internal client: rule 1 needs to know who it is (service)" \
	--flow 'tcp 10.1.2.3:40000 -> 203.0.113.7:443' --time 'mon 09:30'

say "3. The service finishes with the facts its lookups found"
what_if "alice (netops) may go anywhere" \
	--flow 'tcp 10.1.2.3:40000 -> 203.0.113.7:22' --user alice --time 'sun 03:00'
what_if "carol (staff) to a work site in working hours: the name is needed" \
	--flow 'tcp 10.1.2.3:40000 -> 203.0.113.7:443' --user carol --groups staff --time 'mon 09:30'
what_if "... and the name is www.example.com: allowed" \
	--flow 'tcp 10.1.2.3:40000 -> 203.0.113.7:443' --user carol --groups staff \
	--name www.example.com --time 'mon 09:30'
what_if "... the same on Saturday: denied, no name lookup needed" \
	--flow 'tcp 10.1.2.3:40000 -> 203.0.113.7:443' --user carol --groups staff --time 'sat 10:00'
what_if "an unidentified client's DNS query: the dns filter decides" \
	--flow 'udp 10.1.2.3:5353 -> 192.0.2.53:53' --anonymous --json
what_if "the gateway's own HTTPS is not 'internal': default deny" \
	--flow 'tcp 10.1.0.1:40000 -> 203.0.113.7:443' --local --time 'mon 09:00'

say "4. A bad policy is rejected with every error located"
bad=$(mktemp /tmp/sluice-demo-XXXXXX.conf)
trap 'rm -f "$bad"' EXIT
cat >"$bad" <<'CONF'
network internal { 10.1.0.5/16 }
protocol web tcp { 80 443 70000 }
rule "staff web" allow web from intenral to any users staf
CONF
"$CTL" check -c "$bad" || echo "(exit code $?: invalid)"
