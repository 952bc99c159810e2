#!/bin/sh
# meson-postinstall.sh SYSUSERS TMPFILES — after `meson install` into the
# running system (no DESTDIR; a package does this in its postinst): create
# the _sluice user and sluiced's folders, index the man pages.
set -u
[ -z "${DESTDIR:-}" ] || exit 0
if command -v systemd-sysusers >/dev/null; then
	systemd-sysusers "$1" || echo "sluice: systemd-sysusers $1 failed" >&2
fi
if command -v systemd-tmpfiles >/dev/null; then
	systemd-tmpfiles --create "$2" || echo "sluice: systemd-tmpfiles $2 failed" >&2
fi
command -v mandb >/dev/null && mandb -q 2>/dev/null
exit 0
