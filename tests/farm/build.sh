#!/usr/bin/env bash
# build.sh — builds farm_driver (tests/farm/farm_driver.c) with gcc until
# the meson build links src/verify and src/sluiced/farms.c.
#   usage: tests/farm/build.sh BUILD_DIR OUT
# FARM_CFLAGS adds compiler flags (e.g. -fsanitize=address).
# Uses BUILD_DIR's policy, kernel and common libraries (ninja must have run).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${1:-$root/build}" && pwd)
OUT=${2:-$B/farm_driver}
gcc -std=gnu17 -D_GNU_SOURCE -O1 -g ${FARM_CFLAGS:-} -Wall -Wextra -Wshadow \
	-Wmissing-prototypes -Wstrict-prototypes -Wformat=2 -Wno-unused-parameter -Werror -I"$root/src" \
	"$root/tests/farm/farm_driver.c" "$root/src/sluiced/farms.c" \
	"$root"/src/verify/*.c "$root/src/control/control.c" \
	"$root/src/control/client.c" \
	"$B/src/kernel/libsluice_kernel.a" "$B/src/stats/libsluice_stats.a" \
	"$B/src/policy/libsluice_policy.a" \
	"$B/src/common/libsluice_common.a" \
	-o "$OUT" -levent -lcurl -lnftables -lnetfilter_conntrack
echo "$OUT"
