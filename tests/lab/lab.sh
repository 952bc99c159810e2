# lab.sh — network-namespace lab for sluice tests, benchmarks and the demo.
#
# Usage:   source tests/lab/lab.sh; lab_up; ...; (lab_down runs on exit)
# Needs:   root, iproute2. Bash only (sourced; does not change shell options).
#
# Topology (every namespace name is "sl<role>-$LAB_RUN"):
#
#   LAB_CLI  gw0 ─── cli0  LAB_GW  srv0 ─── gw0 LAB_SRV   (two addresses: the farm)
#   198.18.1.2,.3       .1          .1       198.18.2.2,.3
#   2001:db8:1::2,::3   ::1         ::1      2001:db8:2::2,::3
#                               dns0 ─── gw0 LAB_DNS   198.18.3.2  2001:db8:3::2
#                               dir0 ─── gw0 LAB_DIR   198.18.4.2  2001:db8:4::2
#
# The server "farm" is ONE namespace (LAB_SRV) holding two addresses on the
# same link (LAB_SRV4/LAB_SRV4B, LAB_SRV6/LAB_SRV6B); a server bound to one
# address acts as one farm member. The client likewise has a second source
# address (LAB_CLI4B/LAB_CLI6B). Interfaces are created inside the namespaces,
# so nothing is ever added to the root namespace and parallel runs never
# collide. Only lab addresses (198.18.0.0/15, 2001:db8::/32) are used.
#
# Cleanup: lab_up installs one trap on EXIT, INT and TERM that calls lab_down.
# An EXIT trap that existed before lab_up is kept and runs after lab_down
# (INT/TERM: lab_down, then the script exits 130/143). If you set your own
# trap after lab_up, call lab_down from it yourself. lab_down is idempotent.

# LAB_RUN is inherited when set: a helper script started by a lab user that
# sources this file sees the same namespace names (without calling lab_up).
# To build a second, independent lab from a child, unset LAB_RUN LAB_TMP first.
LAB_RUN=${LAB_RUN:-$(printf '%x%04x' "$$" "$RANDOM")}
export LAB_RUN
export LAB_CLI=slcli-$LAB_RUN LAB_GW=slgw-$LAB_RUN LAB_SRV=slsrv-$LAB_RUN \
       LAB_DNS=sldns-$LAB_RUN LAB_DIR=sldir-$LAB_RUN
export LAB_CLI4=198.18.1.2 LAB_CLI4B=198.18.1.3 LAB_GW_CLI4=198.18.1.1
export LAB_CLI6=2001:db8:1::2 LAB_CLI6B=2001:db8:1::3 LAB_GW_CLI6=2001:db8:1::1
export LAB_SRV4=198.18.2.2 LAB_SRV4B=198.18.2.3 LAB_GW_SRV4=198.18.2.1
export LAB_SRV6=2001:db8:2::2 LAB_SRV6B=2001:db8:2::3 LAB_GW_SRV6=2001:db8:2::1
export LAB_DNS4=198.18.3.2 LAB_GW_DNS4=198.18.3.1
export LAB_DNS6=2001:db8:3::2 LAB_GW_DNS6=2001:db8:3::1
export LAB_DIR4=198.18.4.2 LAB_GW_DIR4=198.18.4.1
export LAB_DIR6=2001:db8:4::2 LAB_GW_DIR6=2001:db8:4::1
# Per-run scratch directory: pid list, spawn logs. Tests may use it too.
export LAB_TMP=${LAB_TMP:-/tmp/sluice-lab-$LAB_RUN}

# lab_exec NS cmd... — run a command in a namespace (foreground).
lab_exec() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# lab_register_pid PID — have lab_down kill PID (kept in a file, so it also
# works from subshells such as $(lab_spawn ...)).
lab_register_pid() { mkdir -p "$LAB_TMP" && echo "$1" >> "$LAB_TMP/pids"; }

# lab_spawn NS cmd... — start cmd in the background in NS, register its pid,
# echo the pid. stdin is /dev/null; stdout and stderr are appended to
# $LAB_SPAWN_LOG (default $LAB_TMP/spawn.log), so `pid=$(lab_spawn ...)`
# returns at once. `ip netns exec` execs, so the pid is the command's pid.
lab_spawn() {
  local ns=$1; shift
  local log=${LAB_SPAWN_LOG:-$LAB_TMP/spawn.log}
  mkdir -p "$LAB_TMP"
  ip netns exec "$ns" "$@" </dev/null >>"$log" 2>&1 &
  local pid=$!
  lab_register_pid "$pid"
  echo "$pid"
}

# lab_kill PID... — TERM registered processes, wait up to 2 s, then KILL.
lab_kill() {
  local p i
  for p in "$@"; do kill -TERM "$p" 2>/dev/null; done
  for i in $(seq 20); do
    for p in "$@"; do kill -0 "$p" 2>/dev/null && break; p=; done
    [ -z "$p" ] && return 0
    sleep 0.1
  done
  for p in "$@"; do kill -KILL "$p" 2>/dev/null; done
  return 0
}

# _lab_link NS_A IF_A NS_B IF_B — veth pair between two lab namespaces.
_lab_link() {
  ip -n "$1" link add "$2" type veth peer name "$4" netns "$3" &&
  ip -n "$1" link set "$2" up && ip -n "$3" link set "$4" up
}

# _lab_addr NS IF ADDR/LEN... — add addresses (IPv6 without DAD). An IPv6
# address after the first on a device gets preferred_lft 0: usable when bound
# explicitly, but never picked as a source address (otherwise Linux prefers
# the newest one, and e.g. replies of a UDP server come from the wrong one).
_lab_addr() {
  local ns=$1 dev=$2 a first6=1; shift 2
  for a in "$@"; do
    case $a in
      *:*) if [ -n "$first6" ]; then
             ip -n "$ns" -6 addr add "$a" dev "$dev" nodad || return 1; first6=
           else
             ip -n "$ns" -6 addr add "$a" dev "$dev" nodad preferred_lft 0 || return 1
           fi ;;
      *)   ip -n "$ns" addr add "$a" dev "$dev" || return 1 ;;
    esac
  done
}

# _lab_leaf NS IF GW4 GW6 — default routes of a leaf namespace via the gw.
_lab_leaf() {
  ip -n "$1" route add default via "$3" dev "$2" &&
  ip -n "$1" -6 route add default via "$4" dev "$2"
}

# lab_up — build the lab (see the diagram above); install the cleanup trap.
lab_up() {
  local ns
  mkdir -p "$LAB_TMP" || return 1
  _lab_trap
  for ns in "$LAB_CLI" "$LAB_GW" "$LAB_SRV" "$LAB_DNS" "$LAB_DIR"; do
    ip netns add "$ns" || { echo "lab_up: cannot create $ns" >&2; return 1; }
    echo "$ns" >> "$LAB_TMP/netns"
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
      net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.disable_ipv6=0
  done
  ip netns exec "$LAB_GW" sysctl -qw net.ipv4.ip_forward=1 \
    net.ipv6.conf.all.forwarding=1 || return 1
  _lab_link "$LAB_GW" cli0 "$LAB_CLI" gw0 &&
  _lab_link "$LAB_GW" srv0 "$LAB_SRV" gw0 &&
  _lab_link "$LAB_GW" dns0 "$LAB_DNS" gw0 &&
  _lab_link "$LAB_GW" dir0 "$LAB_DIR" gw0 || { echo "lab_up: veth failed" >&2; return 1; }
  _lab_addr "$LAB_GW" cli0 "$LAB_GW_CLI4/24" "$LAB_GW_CLI6/64" &&
  _lab_addr "$LAB_GW" srv0 "$LAB_GW_SRV4/24" "$LAB_GW_SRV6/64" &&
  _lab_addr "$LAB_GW" dns0 "$LAB_GW_DNS4/24" "$LAB_GW_DNS6/64" &&
  _lab_addr "$LAB_GW" dir0 "$LAB_GW_DIR4/24" "$LAB_GW_DIR6/64" &&
  _lab_addr "$LAB_CLI" gw0 "$LAB_CLI4/24" "$LAB_CLI4B/24" "$LAB_CLI6/64" "$LAB_CLI6B/64" &&
  _lab_addr "$LAB_SRV" gw0 "$LAB_SRV4/24" "$LAB_SRV4B/24" "$LAB_SRV6/64" "$LAB_SRV6B/64" &&
  _lab_addr "$LAB_DNS" gw0 "$LAB_DNS4/24" "$LAB_DNS6/64" &&
  _lab_addr "$LAB_DIR" gw0 "$LAB_DIR4/24" "$LAB_DIR6/64" &&
  _lab_leaf "$LAB_CLI" gw0 "$LAB_GW_CLI4" "$LAB_GW_CLI6" &&
  _lab_leaf "$LAB_SRV" gw0 "$LAB_GW_SRV4" "$LAB_GW_SRV6" &&
  _lab_leaf "$LAB_DNS" gw0 "$LAB_GW_DNS4" "$LAB_GW_DNS6" &&
  _lab_leaf "$LAB_DIR" gw0 "$LAB_GW_DIR4" "$LAB_GW_DIR6" ||
    { echo "lab_up: addressing failed" >&2; return 1; }
}

# lab_down — kill registered processes and anything left in the lab
# namespaces, delete the namespaces and LAB_TMP. Safe to call repeatedly.
lab_down() {
  local pids=() ns p
  [ -f "$LAB_TMP/pids" ] && mapfile -t pids < "$LAB_TMP/pids"
  for ns in "$LAB_CLI" "$LAB_GW" "$LAB_SRV" "$LAB_DNS" "$LAB_DIR"; do
    [ -e "/run/netns/$ns" ] || continue
    for p in $(ip netns pids "$ns" 2>/dev/null); do pids+=("$p"); done
  done
  [ ${#pids[@]} -gt 0 ] && lab_kill "${pids[@]}"
  for ns in "$LAB_CLI" "$LAB_GW" "$LAB_SRV" "$LAB_DNS" "$LAB_DIR"; do
    [ -e "/run/netns/$ns" ] && ip netns del "$ns" 2>/dev/null
  done
  case $LAB_TMP in /tmp/sluice-lab-*) rm -rf "$LAB_TMP" ;; esac
  return 0
}

# _lab_trap — EXIT/INT/TERM → lab_down, keeping a pre-existing EXIT trap.
_lab_trap() {
  [ -n "${_LAB_TRAPPED:-}" ] && return 0
  _LAB_TRAPPED=1
  _LAB_PREV_EXIT=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
  trap 'lab_down; eval "$_LAB_PREV_EXIT"' EXIT
  trap 'lab_down; exit 130' INT
  trap 'lab_down; exit 143' TERM
}
