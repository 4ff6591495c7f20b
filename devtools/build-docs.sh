#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Build the documentation into build-doc/ (or $1):
#   build-doc/guides/  the sphinx guides (doc/guides), HTML; warnings are
#                      errors; the pictures (doc/guides/img/*.dot) are drawn
#                      by graphviz
#   build-doc/api/     the doxygen API reference of lib/vfio_user's public
#                      headers (doc/api/Doxyfile), HTML; warnings are listed
#                      in build-doc/api/warnings.log
# Installs python3-sphinx, graphviz and doxygen when missing (as root;
# otherwise says what to install). Works from any current directory.
# devtools/test.sh runs it: a warning fails the run.

set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

OUT=${1:-build-doc}
# python3-matplotlib: the benchmark chart of perf.rst, drawn at build time
PACKAGES=(python3-sphinx graphviz doxygen python3-matplotlib)

missing=()
for p in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) || status=
	[ "$status" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "Missing Debian packages: ${missing[*]}" >&2
		echo "Install them as root with:" >&2
		echo "    apt-get install ${missing[*]}" >&2
		exit 1
	fi
	echo "== installing packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -q -o DPkg::Lock::Timeout=300 update
	apt-get -q -y -o DPkg::Lock::Timeout=300 install --no-install-recommends \
		"${missing[@]}"
fi

mkdir -p "$OUT"

echo "== building guides (sphinx) in $OUT/guides"
# /usr/bin/sphinx-build runs Debian's python3, whatever python3 is on PATH.
# -E: read every source again; a saved environment would skip a file
# whose warnings failed the previous run
sphinx-build -q -E -W --keep-going -b html -d "$OUT/.doctrees" \
	doc/guides "$OUT/guides"

echo "== building API reference (doxygen) in $OUT/api"
mkdir -p "$OUT/api"
# Same configuration, output directory overridden.
{ cat doc/api/Doxyfile; echo "OUTPUT_DIRECTORY = $OUT/api"; } |
	doxygen - 2> "$OUT/api/warnings.log"
nwarn=$(grep -c 'warning:' "$OUT/api/warnings.log" || true)
if [ "$nwarn" -gt 0 ]; then
	echo "doxygen: $nwarn warnings (undocumented API), see $OUT/api/warnings.log"
fi

echo "guides: $OUT/guides/index.html"
echo "API:    $OUT/api/html/index.html"
