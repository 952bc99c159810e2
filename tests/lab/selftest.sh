#!/usr/bin/env bash
# selftest.sh — the lab works: ping and TCP through the gateway, IPv4 and
# IPv6, then a clean teardown (no namespace with the run suffix left).
# Exit 0 on success; non-zero with a message on failure. Needs root.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lab.sh"

fail() { echo "selftest: FAIL: $*" >&2; exit 1; }

# Run the lab in a subshell so that its EXIT trap tears it down, then check
# from outside that nothing is left.
(
  lab_up || fail "lab_up"
  for pair in "$LAB_CLI $LAB_GW_CLI4" "$LAB_CLI $LAB_SRV4" "$LAB_CLI $LAB_SRV4B" \
              "$LAB_CLI $LAB_DNS4" "$LAB_CLI $LAB_DIR4" "$LAB_SRV $LAB_CLI4B" \
              "$LAB_CLI $LAB_GW_CLI6" "$LAB_CLI $LAB_SRV6" "$LAB_CLI $LAB_SRV6B" \
              "$LAB_CLI $LAB_DNS6" "$LAB_CLI $LAB_DIR6" "$LAB_SRV $LAB_CLI6B"; do
    set -- $pair
    lab_exec "$1" ping -n -q -c 1 -W 1 "$2" >/dev/null || fail "ping $2 from $1"
  done
  # TCP through the gateway: a one-shot socat echo server on each farm address.
  for dst in "$LAB_SRV4" "$LAB_SRV6B"; do
    case $dst in *:*) l="TCP6-LISTEN:7001,bind=[$dst]" c="TCP6:[$dst]:7001" ;;
                  *)  l="TCP4-LISTEN:7001,bind=$dst"   c="TCP4:$dst:7001" ;; esac
    lab_spawn "$LAB_SRV" timeout 5 socat "$l,reuseaddr" EXEC:cat >/dev/null
    ok=
    for i in 1 2 3 4 5 6 7 8 9 10; do      # wait for the listener (≤ 1 s)
      lab_exec "$LAB_SRV" ss -Hltn | grep -q ":7001" && { ok=1; break; }
      sleep 0.1
    done
    [ -n "$ok" ] || fail "socat listener on $dst did not start"
    got=$(echo "lab-$LAB_RUN" | lab_exec "$LAB_CLI" timeout 3 socat - "$c,connect-timeout=2")
    [ "$got" = "lab-$LAB_RUN" ] || fail "TCP echo via $dst: got '$got'"
    sleep 0.2   # the one-shot listener exits after its connection
  done
  echo "selftest: ping + TCP (v4, v6) through $LAB_GW ok"
) || exit 1

left=$(ip netns list | grep -- "-$LAB_RUN" || true)
[ -z "$left" ] || { echo "selftest: FAIL: namespaces left: $left" >&2; exit 1; }
[ ! -e "$LAB_TMP" ] || { echo "selftest: FAIL: $LAB_TMP left" >&2; exit 1; }
echo "selftest: teardown clean (run $LAB_RUN)"
exit 0
