#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Build the documentation into build-doc/ (or $1):
#   build-doc/guides/  the sphinx guides (doc/guides), HTML; warnings are
#                      errors; the pictures (doc/guides/img/*.dot) are drawn
#                      by graphviz
#   build-doc/api/     the doxygen API reference of the public headers
#                      (doc/api/Doxyfile), HTML; a doxygen warning (an
#                      undocumented member or parameter, a bad command) is
#                      an error, and so is an installed header (meson's
#                      install_headers) that the reference leaves out; the
#                      warnings stay in build-doc/api/warnings.log
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
# from scratch: a page left from an earlier run would hide a header that
# is no longer in the reference
rm -rf "$OUT/api"
mkdir -p "$OUT/api"
# Same configuration, output directory overridden. With QUIET, all doxygen
# writes to stderr is a warning or an error.
{ cat doc/api/Doxyfile; echo "OUTPUT_DIRECTORY = $OUT/api"; } |
	doxygen - 2> "$OUT/api/warnings.log"
if [ -s "$OUT/api/warnings.log" ]; then
	cat "$OUT/api/warnings.log" >&2
	nwarn=$(grep -c -E '(warning|error):' "$OUT/api/warnings.log" || true)
	echo "doxygen: $nwarn warning(s) (see above, and $OUT/api/warnings.log):" \
		"document every public member and parameter" >&2
	exit 1
fi

# Every installed header must be in the reference: one named in an
# install_headers() of a meson.build, directly or through a files() list.
# Doxygen gives a documented file the page <name>_8h.html, with each "_"
# of the name doubled.
mapfile -t mesons < <(git ls-files '*meson.build' 2>/dev/null ||
	find . -name meson.build -not -path './.git/*')
mapfile -t public < <(python3 - "${mesons[@]}" <<'EOF'
import os, re, sys
for mb in sys.argv[1:]:
    text = open(mb).read()
    lists = {m.group(1): re.findall(r"'([^']+\.h)'", m.group(2))
             for m in re.finditer(r"(\w+)\s*=\s*files\(([^)]*)\)", text)}
    for m in re.finditer(r"install_headers\(([^)]*)\)", text):
        for arg in m.group(1).split(","):
            arg = arg.strip()
            if ":" in arg:      # subdir: and other keywords
                continue
            for h in re.findall(r"'([^']+\.h)'", arg) or lists.get(arg, []):
                print(os.path.normpath(os.path.join(os.path.dirname(mb), h)))
EOF
)
if [ ${#public[@]} -eq 0 ]; then
	echo "build-docs: found no installed header in the meson.build files" >&2
	exit 1
fi
missing=()
for h in "${public[@]}"; do
	page=$(basename "$h" .h | sed 's/_/__/g')_8h.html
	[ -f "$OUT/api/html/$page" ] || missing+=("$h")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "doxygen: installed headers missing from the API reference" \
		"(add them to INPUT in doc/api/Doxyfile, with a @file comment):" >&2
	printf '    %s\n' "${missing[@]}" >&2
	exit 1
fi
echo "API reference: ${#public[@]} public headers, no warnings"

echo "guides: $OUT/guides/index.html"
echo "API:    $OUT/api/html/index.html"
