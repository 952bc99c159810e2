#!/bin/bash
# check_unit.sh SRCROOT — the systemd unit (docs/sluiced.service):
#   - it is ordered after nftables.service (Debian's, whose start runs
#     `nft -f /etc/nftables.conf`, a `flush ruleset`: loaded first, it does
#     not flush the ruleset sluiced just installed) and before
#     network-pre.target, where nftables.service is too (no cycle: nftables
#     orders itself before network-pre.target only);
#   - sluiced(8) SYSTEMD shows it line for line (@sbindir@ → /usr/sbin,
#     @sysconfdir@ → /etc).
set -u
ROOT=${1:?usage: check_unit.sh SRCROOT}
UNIT=$ROOT/docs/sluiced.service
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
unit_key() { # unit_key KEY: the words of every KEY= line of [Unit]
	sed -n '/^\[Unit\]/,/^\[/p' "$UNIT" | sed -n "s/^$1=//p" | tr ' ' '\n'
}
unit_key After | grep -qx nftables.service || fail "no After=nftables.service in [Unit]"
unit_key Before | grep -qx network-pre.target || fail "no Before=network-pre.target in [Unit]"
unit_key Before | grep -qx nftables.service && fail "Before=nftables.service: a cycle with After="
diff <(sed -n '/^\[Unit\]/,$p' "$UNIT" | sed 's|@sbindir@|/usr/sbin|g; s|@sysconfdir@|/etc|g' |
	grep -v '^#' | grep -v '^$') \
     <(awk '/^## SYSTEMD/ { f = 1; next } /^## / { f = 0 } f' "$ROOT/docs/sluiced.8.md" |
	sed -n '/^    \[Unit\]/,/WantedBy/p' | sed 's/^    //' | grep -v '^$') ||
	fail "sluiced(8) SYSTEMD differs from docs/sluiced.service (above: < unit, > man page)"
[ "$fails" -eq 0 ] && echo "ok: the unit is ordered after nftables.service and sluiced(8) shows it"
exit "$fails"
