#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Instructions per packet of the data path, repeatable on a busy machine:
# build/app/bench/ring_bench (both PMDs in one process, one thread
# alternating between them) under valgrind's callgrind. Prints, for each
# direction, the instructions per packet of the whole loop, of the sending
# and receiving PMD's burst functions (inclusive of what they call), of the
# rest (the benchmark's own mbuf alloc/fill/free), and the functions that
# cost most.
#
#   devtools/ring-bench.sh [-b BUILD_DIR] [-s SIZE] [-n BURSTS] [-k]
#                          [-B be-devargs] [-F fe-devargs]
#                          [-t vfio-user|vhost|memif] [-V]
#
# -t vhost measures DPDK's net_vhost + net_virtio_user the same way (e.g.
# -F packed_vq=1,in_order=1,mrg_rxbuf=0), -t memif net_memif's server and
# client. -V tags every frame (802.1Q) and gives net_vfio_user the MTU of
# the frame less its tagged header (-s 1518 -V: MTU-sized tagged frames).
# -k keeps the callgrind output (its path is printed). Figures are
# instructions, not time: they leave out cache misses and the cache lines
# two cores trade; see doc/guides/perf.rst.

set -euo pipefail

BUILD=build
SIZE=64
BURSTS=20000
KEEP=0
BE_ARGS=
FE_ARGS=
TRANSPORT=vfio-user
VLAN=()
while getopts "b:s:n:kB:F:t:Vh" o; do
	case $o in
	b) BUILD=$OPTARG ;;
	s) SIZE=$OPTARG ;;
	n) BURSTS=$OPTARG ;;
	k) KEEP=1 ;;
	B) BE_ARGS=$OPTARG ;;
	F) FE_ARGS=$OPTARG ;;
	t) TRANSPORT=$OPTARG ;;
	V) VLAN=(--vlan) ;;
	*) sed -n '3,22p' "$0"; exit 2 ;;
	esac
done
BENCH=$BUILD/app/bench/ring_bench
[ -x "$BENCH" ] || { echo "no $BENCH: build with -Ddrivers=true" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "valgrind not found (Debian package valgrind)" >&2; exit 1; }

OUT=$(mktemp "${TMPDIR:-/tmp}/ring-bench.cg.XXXXXX")
LOG=$OUT.log
valgrind --tool=callgrind --callgrind-out-file="$OUT" --collect-atstart=no \
	--toggle-collect=bench_fe_to_be --toggle-collect=bench_be_to_fe \
	"$BENCH" --bursts "$BURSTS" --size "$SIZE" --be-args "$BE_ARGS" \
	--fe-args "$FE_ARGS" --transport "$TRANSPORT" ${VLAN[@]+"${VLAN[@]}"} \
	>"$LOG" 2>&1 ||
	{ tail -20 "$LOG"; exit 1; }
grep -E '^(fe-be|be-fe):' "$LOG" | sed 's/^/# /'

python3 - "$OUT" "$LOG" <<'PY'
import collections, re, sys

cg, log = sys.argv[1], sys.argv[2]
pkts = {}
for line in open(log):
    m = re.match(r'(fe-be|be-fe):.*\((\d+) packets in all\)', line)
    if m:
        pkts[m.group(1)] = int(m.group(2))

names, objs = {}, {}
self_ir = collections.Counter()   # (object, function) -> Ir
calls = collections.defaultdict(collections.Counter)  # caller -> callee -> Ir
cur = cur_ob = callee = call_ob = None
in_call = False

def ref(table, spec):
    m = re.match(r'\((\d+)\)(?: (.*))?$', spec)
    if not m:
        return spec
    if m.group(2) is not None:
        table[m.group(1)] = m.group(2)
    return table[m.group(1)]

def short(o):
    o = (o or '?').rsplit('/', 1)[-1]
    return {'librte_net_vfio_user.so': 'device PMD',
            'librte_net_vfio_user_client.so': 'client PMD'}.get(o, o)

for line in open(cg):
    line = line.rstrip('\n')
    if line.startswith('ob='):
        cur_ob = short(ref(objs, line[3:]))
    elif line.startswith('fn='):
        cur = (cur_ob, ref(names, line[3:]))
        in_call = False
        call_ob = None
    elif line.startswith('cob='):
        call_ob = short(ref(objs, line[4:]))
    elif line.startswith('cfn='):
        callee = (call_ob or cur_ob, ref(names, line[4:]))
        call_ob = None
    elif line.startswith('calls='):
        in_call = True
    elif line and (line[0].isdigit() or line[0] in '+-*'):
        f = line.split()
        if len(f) < 2:
            continue
        if in_call:
            calls[cur][callee] += int(f[1])
            in_call = False
        else:
            self_ir[cur] += int(f[1])

def incl(fn):
    return self_ir[fn] + sum(calls[fn].values())

def side(callee, d):
    """fe or be for a PMD the benchmark called in direction d, else None"""
    o, fn = callee
    if re.search(r'tx|xmit', fn):
        return 'fe' if d == 'fe-be' else 'be'
    if re.search(r'rx|recv', fn):
        return 'be' if d == 'fe-be' else 'fe'
    if re.search(r'virtio|client', o):       # stripped: by library
        return 'fe'
    if re.search(r'vhost|vfio_user|device PMD', o):
        return 'be'
    return None

# The PMD the benchmark calls to send and the one it calls to receive:
# the frontend (fe) sends in fe-be and receives in be-fe.
print(f"{'direction':10} {'Ir/pkt':>8} {'fe PMD':>8} {'be PMD':>8} {'PMDs':>8} {'rest':>7}")
for d, name in (('fe-be', 'bench_fe_to_be'), ('be-fe', 'bench_be_to_fe')):
    if d not in pkts:
        continue
    n = pkts[d]
    fn = ('ring_bench', name)
    by = collections.Counter()
    for callee, v in calls[fn].items():
        if callee[0] == 'ring_bench' or callee[0].startswith('librte_m') \
           or callee[0].startswith('ld-linux'):
            continue        # the benchmark's own mbuf alloc/free, PLT
        by[side(callee, d)] += v
    total = incl(fn)
    pmds = sum(by.values())
    fe = f"{by['fe'] / n:8.1f}" if by[None] == 0 else f"{'-':>8}"
    be = f"{by['be'] / n:8.1f}" if by[None] == 0 else f"{'-':>8}"
    print(f"{d:10} {total / n:8.1f} {fe} {be} {pmds / n:8.1f} {(total - pmds) / n:7.1f}")
for d, name in (('fe-be', 'bench_fe_to_be'), ('be-fe', 'bench_be_to_fe')):
    if d not in pkts:
        continue
    n = pkts[d]
    print(f"\n{d}: burst functions, inclusive Ir/pkt")
    for callee, v in sorted(calls[('ring_bench', name)].items(),
                            key=lambda x: -x[1]):
        if v / n >= 0.5:
            print(f"  {v / n:8.1f}  {callee[1]} ({callee[0]})")
tot = max(pkts.values())
print("\nmost self Ir per packet (of the direction the function serves):")
for f, v in self_ir.most_common(12):
    if v:
        print(f"  {v / tot:8.1f}  {f[1]} ({f[0]})")
PY
if [ "$KEEP" = 1 ]; then
	echo "callgrind output: $OUT"
	rm -f "$LOG"
else
	rm -f "$OUT" "$LOG"
fi
