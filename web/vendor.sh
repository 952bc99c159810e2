#!/usr/bin/env bash
# vendor.sh — refreshes the charting library of sluiced's dashboard page
# (web/vendor/uplot/) from the npm registry, at the version package.json
# and package-lock.json pin (integrity checked by npm). Run by hand when
# the pin changes; the build never runs it: it reads the committed files in
# web/vendor/ only, so building sluice needs no network.
#   web/vendor.sh          # npm ci into a temporary folder, copy the files
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$tmp/"
(cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
src=$tmp/node_modules/uplot
ver=$(node -p 'require(process.argv[1]).version' "$src/package.json")
dst=$here/vendor/uplot
mkdir -p "$dst"
cp "$src/dist/uPlot.iife.min.js" "$src/dist/uPlot.min.css" "$src/LICENSE" "$dst/"
{
	echo "uplot $ver (MIT), from the npm registry by web/vendor.sh"
	echo "integrity $(node -p 'require(process.argv[1]).packages["node_modules/uplot"].integrity' "$here/package-lock.json")"
	(cd "$dst" && sha256sum uPlot.iife.min.js uPlot.min.css LICENSE)
} >"$dst/VERSION"
echo "vendored uplot $ver into $dst"
