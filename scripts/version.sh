#!/bin/sh
# Prints the version: from git when the tree is a checkout, else the fallback.
cd "$(dirname "$0")/.." || exit 0
git describe --always --dirty 2>/dev/null || echo 0.1
