#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Style check of a change: clang-format (Debian's clang-format-14, with the
# repository's .clang-format, DPDK's coding style) on the lines of C files
# that the change touched, and nothing else, so code that was never
# reformatted does not get in the way.
#
#   devtools/check-style.sh [--fix] [BASE]
#
# The change is the working tree (committed or not) against BASE: by
# default the merge base with origin/main (or main), or HEAD~1 when that is
# HEAD itself (as in CI, on main: the last commit is checked). Every
# statement clang-format would change on a touched line is printed with its
# fix; whitespace that only aligns (before a trailing comment, after a
# #define's name) is left to the author. Exit status 0: clean; 1: changes
# to make; 2: cannot check (no clang-format, bad BASE); 77: no commit to
# compare with (a clone of depth 1). --fix makes the changes it prints, in
# place.
#
# Environment: VU_CLANG_FORMAT=program (default clang-format-14, else
# clang-format).

set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

FIX=0
if [ "${1:-}" = --fix ]; then
	FIX=1
	shift
fi

CF=${VU_CLANG_FORMAT:-}
if [ -z "$CF" ]; then
	for c in clang-format-14 clang-format; do
		if command -v "$c" >/dev/null 2>&1; then
			CF=$c
			break
		fi
	done
fi
if [ -z "$CF" ]; then
	echo "check-style: no clang-format (Debian: apt-get install clang-format)" >&2
	exit 2
fi

if [ $# -gt 0 ]; then
	BASE=$1
else
	BASE=
	for ref in origin/main main; do
		if git rev-parse -q --verify "$ref^{commit}" >/dev/null; then
			BASE=$(git merge-base HEAD "$ref")
			break
		fi
	done
	if [ -z "$BASE" ] || [ "$BASE" = "$(git rev-parse HEAD)" ]; then
		BASE=HEAD~1
	fi
fi
if ! git rev-parse -q --verify "$BASE^{commit}" >/dev/null; then
	echo "check-style: no commit '$BASE' to compare with" >&2
	[ $# -gt 0 ] && exit 2
	exit 77	# a clone with one commit: nothing to check against
fi

mapfile -t FILES < <(git diff --name-only --diff-filter=ACMR "$BASE" -- \
	'*.c' '*.h')
echo "check-style: $CF on the lines changed since $(git rev-parse --short "$BASE") in ${#FILES[@]} C file(s)"
[ ${#FILES[@]} -gt 0 ] || exit 0

python3 - "$CF" "$BASE" "$FIX" "${FILES[@]}" <<'EOF'
import difflib
import re
import subprocess
import sys

cf, base, fix, files = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4:]
HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


def touched(path):
    """Line ranges [first, last] (1-based) of path that the change touched."""
    out = subprocess.run(["git", "diff", "-U0", "--no-color", base, "--", path],
                         check=True, capture_output=True, text=True).stdout
    ranges = []
    for line in out.splitlines():
        m = HUNK.match(line)
        if m:
            start, count = int(m.group(1)), int(m.group(2) or 1)
            if count > 0:
                ranges.append((start, start + count - 1))
    return ranges


def normalize(lines):
    """What alignment whitespace cannot change: runs of blanks before a
    trailing comment and between a #define's name and its value."""
    out = []
    for line in lines:
        line = re.sub(r"(\S)[ \t]+(/[*/])", r"\1 \2", line)
        line = re.sub(r"^(#\s*define\s+\w+(?:\([^)]*\))?)[ \t]+", r"\1 ", line)
        out.append(line)
    return out


problems = 0
for path in files:
    ranges = touched(path)
    if not ranges:
        continue
    with open(path, encoding="utf-8", errors="replace") as f:
        old = f.read().splitlines()
    args = [cf, "--style=file", "--assume-filename=" + path]
    args += [f"--lines={a}:{b}" for a, b in ranges]
    with open(path, "rb") as f:
        res = subprocess.run(args, stdin=f, capture_output=True)
    if res.returncode != 0:
        print(f"{path}: {cf} failed: {res.stderr.decode(errors='replace')}")
        sys.exit(2)
    new = res.stdout.decode("utf-8", errors="replace").splitlines()
    lines = set()
    for a, b in ranges:
        lines.update(range(a, b + 1))
    sm = difflib.SequenceMatcher(None, old, new, autojunk=False)
    fixed, pos = [], 0
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            continue
        # lines i1+1..i2 of the file (an insertion: the line before it)
        span = range(i1 + 1, i2 + 1) if i2 > i1 else range(i1, i1 + 1)
        if not lines.intersection(span):
            continue
        if normalize(old[i1:i2]) == normalize(new[j1:j2]):
            continue
        problems += 1
        print(f"{path}:{span[0]}: clang-format would write this differently:")
        for line in old[i1:i2]:
            print(f"  -{line}")
        for line in new[j1:j2]:
            print(f"  +{line}")
        fixed += old[pos:i1] + new[j1:j2]	# only what was reported
        pos = i2
    if fix and pos > 0:
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(fixed + old[pos:]) + "\n")

if problems and not fix:
    print(f"check-style: {problems} place(s) to change "
          "(devtools/check-style.sh --fix applies them)")
    sys.exit(1)
print("check-style: " + ("fixed" if problems else "clean"))
EOF
