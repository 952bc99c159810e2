#!/bin/sh
# Prints sluice's version. Its one place is the first line of
# debian/changelog ("sluice (0.2.0-1) ..."): the upstream part, without the
# Debian revision. meson.build (project version, SLUICE_VERSION) and the
# package both read it there; a release is tagged v<version>.
cd "$(dirname "$0")/.." || exit 1
v=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog 2>/dev/null)
v=${v%-*}     # Debian revision
v=${v#*:}     # epoch
[ -n "$v" ] || { echo "version.sh: no version in debian/changelog" >&2; exit 1; }
echo "$v"
