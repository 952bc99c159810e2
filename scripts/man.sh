#!/bin/sh
# man.sh IN.md OUT VERSION — one man page from docs/NAME.S.md: its title
# line "# name(S)" becomes the header go-md2man(1) reads, the rest is
# converted to roff as it is. Used by docs/meson.build.
set -eu
in=$1 out=$2 version=$3
title=$(sed -n '1s/^# *\([^()]*\)(\([0-9a-z]*\)).*/\1 \2/p' "$in")
[ -n "$title" ] || { echo "man.sh: $in: first line is not '# name(S)'" >&2; exit 1; }
set -- $title
name=$(printf '%s' "$1" | tr '[:lower:]' '[:upper:]')
case $2 in 5) sect="File Formats";; 8) sect="System Administration";; *) sect="sluice";; esac
# go-md2man takes the pandoc title block "% NAME SECTION DATE SOURCE MANUAL"
{ printf '%% %s %s "" "sluice %s" "%s"\n' "$name" "$2" "$version" "$sect"
  tail -n +2 "$in"; } | go-md2man |
# NAME as man(7) and mandb want it: one line "name \- what it is"
awk '/^\.SH NAME/ { print; n = 1; next }
     n == 1 && /^\.PP/ { next }
     n == 1 && /^$/ { sub(/ +$/, "", line); gsub(/ — /, " \\- ", line); print line; print ""; n = 2; next }
     n == 1 { line = line (line == "" ? "" : " ") $0; next }
     { print }' > "$out.tmp"
mv "$out.tmp" "$out"
