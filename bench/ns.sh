# bench/ns.sh — sourced by the benchmarks that run sluiced alone in a
# network namespace of its own (loopback only, no lab): the namespace and
# a scratch folder removed on exit, sluiced started and stopped by the pid
# it was started with, never by name; a state file of N identities.

# ns_up NAME: the namespace NS=NAME$$ with its loopback up and a scratch
# folder D, both removed (and sluiced stopped) when the script exits; ends
# the script when the namespace cannot be made.
ns_up() {
	NS=$1$$
	D=$(mktemp -d "/tmp/$1.XXXXXX")
	P=
	trap 'ns_sluiced_stop; ip netns del "$NS" 2>/dev/null; rm -rf "$D"' EXIT
	ip netns add "$NS" && ip netns exec "$NS" ip link set lo up || exit 1
}

# ns_sluiced BUILD CONF: BUILD's sluiced in NS on CONF, its control socket
# $D/ctl.sock (state files beside it), its log $D/log, its pid P; returns
# once `sluicectl status` answers (at most 60 s: a large state file takes
# seconds to read back).
ns_sluiced() {
	local i
	ip netns exec "$NS" "$1/src/sluiced/sluiced" -f -c "$2" -s "$D/ctl.sock" >"$D/log" 2>&1 &
	P=$!
	for i in $(seq 600); do
		"$1/src/sluicectl/sluicectl" -s "$D/ctl.sock" status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# ns_sluiced_stop: TERM to the sluiced ns_sluiced started, and waits.
ns_sluiced_stop() {
	[ -n "${P:-}" ] && kill "$P" 2>/dev/null && wait "$P" 2>/dev/null
	P=
}

# identity_state POLICY FILE N: FILE, sluiced's identity state file for
# POLICY, with N RADIUS logins at 10.x.y.z (users userI, group staff), valid
# for two hours.
identity_state() {
	python3 - "$1" "$2" "$3" <<'PY'
import json, os, sys, time
pol = os.path.realpath(sys.argv[1]); n = int(sys.argv[3]); now = int(time.time())
ents = [{"address": "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255),
         "user": "user%d" % i, "groups": ["staff"], "source": "radius",
         "learned": now, "seen": now, "expires": now + 7200} for i in range(n)]
with open(sys.argv[2], "w") as f:
    json.dump({"policy": pol, "table": {"version": 1, "entries": ents}}, f, separators=(",", ":"))
PY
	chmod 600 "$2"
}

# ns_list_probe BUILD LABEL COMMAND KEY NOUN: `sluicectl COMMAND --json`
# on the sluiced ns_sluiced started, with a `status` asked 50 ms after it
# starts; prints LABEL, how long each took and how many items the
# answer's list KEY had (NOUN: what they are).
ns_list_probe() {
	local t0 t1 n st ctl="$1/src/sluicectl/sluicectl -s $D/ctl.sock"
	t0=$(date +%s%N)
	( $ctl "$3" --json >"$D/list.json" 2>/dev/null
	  echo $((($(date +%s%N) - t0) / 1000000)) >"$D/list.ms" ) &
	sleep 0.05
	t1=$(date +%s%N)
	$ctl status >/dev/null 2>&1
	st=$((($(date +%s%N) - t1) / 1000000))
	wait $!
	n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))[sys.argv[2]]))' "$D/list.json" "$4" 2>/dev/null)
	printf '%-7s %s --json: %5d ms, %s %s; status asked meanwhile: %5d ms\n' "$2" "$3" "$(cat "$D/list.ms")" "${n:-none}" "$5" "$st"
}
