#!/usr/bin/env bash
# deb.sh [OUT] — builds the Debian package from this tree into OUT
# (default build-deb/): a copy of the tracked files (plus uncommitted
# changes) in OUT/sluice-VERSION, `dpkg-buildpackage -b -us -uc` there, so
# nothing is written into the tree or beside it. Prints the .deb's path
# last. Needs the build dependencies of debian/control (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ver=$(scripts/version.sh)
out=$(mkdir -p "${1:-build-deb}" && cd "${1:-build-deb}" && pwd)
src=$out/sluice-$ver
rm -rf "$src" "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
mkdir -p "$src"
# the files git knows, as they are in the work tree
git ls-files -z --cached --others --exclude-standard | grep -zv '^build' |
	xargs -0 cp --parents -t "$src"
(cd "$src" && dpkg-buildpackage -b -us -uc >"$out/build.log" 2>&1) ||
	{ tail -40 "$out/build.log"; exit 1; }
ls "$out"/sluice_"$ver"-*_*.deb
