#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Two builds of our PMDs side by side on the data path, split by where the
# host had the two vCPUs: one testpmd pair at a time (backend
# net_vfio_user, frontend net_virtio_vfio_user, one forwarding lcore each
# on CPUs 0 and 1), the two builds' plugins alternating (A B A B ...),
# each pair forwarding for SECONDS with testpmd's --stats-period 1 while
# bench-c2c --every probes the CPU 0 <-> 1 cache-line round trip once a
# second. Each of the receiver's Rx-pps lines is "near" when every probe of
# its second was within twice the run's lowest, "far" when every one was
# above, "mixed" otherwise; the medians are printed per build and state.
# The host moves the two vCPUs between the two states every few seconds
# (doc/guides/perf.rst, "Probed during the window"), so plain medians of
# whole runs rank whichever build had more near seconds: compare a
# build's near figures with the other's near ones, far with far.
#
#   devtools/bench-ab.sh [options] BUILD_A BUILD_B
#     -r N          rounds, each one pair per build (default 4)
#     -d SECONDS    forwarding time per pair (default 20)
#     -t TEST       fe-to-be (frontend txonly -> backend rxonly, default)
#                   or be-to-fe
#     -s SIZE       frame size in bytes (default 64)
#     -m MODE       huge, nohuge or auto (default auto: hugepages when
#                   enough are free)
#     -o FILE       also write every line "build round mpps state probes"
#
# BUILD_A and BUILD_B are meson build directories of this tree (built);
# their drivers/net/*/ hold the plugins. Needs root (SCHED_FIFO for the
# probe; without it the lines are all "unknown" and only the overall
# medians mean anything). About (SECONDS + 5) x 2 x N seconds.
# Exit status: 0, 1 when a pair printed no rate, 2 usage error.

set -euo pipefail

usage() {
	awk 'NR < 5 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
	exit 2
}

ROUNDS=4
SECS=20
TEST="fe-to-be"
SIZE=64
MODE=auto
OUTFILE=
while getopts "r:d:t:s:m:o:h" o; do
	case $o in
	r) ROUNDS=$OPTARG ;;
	d) SECS=$OPTARG ;;
	t) TEST=$OPTARG ;;
	s) SIZE=$OPTARG ;;
	m) MODE=$OPTARG ;;
	o) OUTFILE=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || usage
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "-r: a number of rounds" >&2; exit 2; }
if ! [[ $SECS =~ ^[1-9][0-9]*$ ]] || [ "$SECS" -lt 3 ]; then
	echo "-d: whole seconds, 3 or more" >&2
	exit 2
fi
if ! [[ $SIZE =~ ^[0-9]+$ ]] || [ "$SIZE" -lt 60 ] || [ "$SIZE" -gt 1518 ]; then
	echo "-s: 60 to 1518 bytes" >&2
	exit 2
fi
case $TEST in
fe-to-be) BE_FWD=rxonly FE_FWD=txonly RX=be ;;
be-to-fe) BE_FWD=txonly FE_FWD=rxonly RX=fe ;;
*) echo "-t: fe-to-be or be-to-fe" >&2; exit 2 ;;
esac
case $MODE in huge|nohuge|auto) ;; *) echo "-m: huge, nohuge or auto" >&2; exit 2 ;; esac

# paths given relative to where we were called from
A_DIR=$(realpath -m "$1") B_DIR=$(realpath -m "$2")
[ -n "$OUTFILE" ] && OUTFILE=$(realpath -m "$OUTFILE")
cd "$(dirname "$0")/.."
. devtools/dpdk-run.sh
TESTPMD=${VU_TESTPMD:-dpdk-testpmd}
command -v "$TESTPMD" >/dev/null || { echo "no $TESTPMD (apt-get install dpdk)" >&2; exit 2; }

vu_tool_work vu-bench-ab
# each build's plugins and library in a directory of their own; each
# process gets its build's directory as LD_LIBRARY_PATH
declare -A FE_SO BE_SO LIBDIR
PLUGIN_DIRS=()
LD0=${LD_LIBRARY_PATH:-}
for b in A B; do
	dir=$A_DIR
	[ $b = B ] && dir=$B_DIR
	[ -d "$dir/drivers" ] || { echo "$dir: not a build directory" >&2; exit 2; }
	vu_plugin_dir "$dir" >/dev/null ||
		{ echo "$dir: no PMDs built there" >&2; exit 2; }
	FE_SO[$b]=$VU_FRONTEND_PMD BE_SO[$b]=$VU_BACKEND_PMD
	LIBDIR[$b]=$VU_PLUGIN_DIR${LD0:+:$LD0}
	PLUGIN_DIRS+=("$VU_PLUGIN_DIR")
	echo "build $b: $dir"
done
VU_PLUGIN_DIR=
trap 'rm -rf "${PLUGIN_DIRS[@]}"; vu_tool_cleanup; vu_rm_runtime "$PREFIX-be" "$PREFIX-fe"' EXIT

cc -O2 -pthread -o "$WORK/bench-c2c" devtools/bench-c2c.c
case $MODE in
huge) MEM="-m 256 --huge-unlink" ;;
nohuge) MEM="--no-huge -m 256" ;;
auto) MEM=$(vu_mem_args 256 2) ;;
esac
echo "$TEST, $SIZE B, $ROUNDS rounds of $SECS s per build, EAL memory: $MEM"

# testpmd's output, each line prefixed with the time it came.
stamp() {
	local l
	while IFS= read -r l; do echo "$EPOCHREALTIME $l"; done
}

# start_tp SIDE BUILD SO VDEV FWD [EAL...]: a forwarding testpmd of the
# build, its output time-stamped in $WORK/SIDE.log; its PID into PIDS.
start_tp() {
	local side=$1 b=$2 so=$3 vdev=$4 fwd=$5

	shift 5
	# shellcheck disable=SC2086
	LD_LIBRARY_PATH=${LIBDIR[$b]} \
	"$TESTPMD" -l 0,1 "$@" --file-prefix "$PREFIX-$side" $MEM --no-pci \
		-d "$so" --vdev "$vdev" -- --forward-mode="$fwd" \
		--txpkts="$SIZE" --stats-period 1 --no-flush-rx \
		--total-num-mbufs=16384 > >(stamp > "$WORK/$side.log") 2>&1 &
	PIDS+=($!)
}

# Stop what start_tp and the probe started, the probe and the sender first.
stop_all() {
	local i

	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		vu_stop "${PIDS[$i]}" 5
	done
	PIDS=()
	sleep 0.3	# the stamp readers' last lines
}

# run BUILD ROUND: one pair; appends "BUILD ROUND MPPS PROBE..." lines.
run() {
	local b=$1 r=$2 sock=$WORK/ab.sock

	rm -f "$sock"
	start_tp be "$b" "${BE_SO[$b]}" "net_vfio_user0,path=$sock" "$BE_FWD"
	if ! vu_wait_socket "$sock" 20; then
		stop_all
		echo "build $b round $r: the backend did not come up" >&2
		tail -3 "$WORK/be.log" >&2
		return 1
	fi
	start_tp fe "$b" "${FE_SO[$b]}" "net_virtio_vfio_user0,path=$sock" \
		"$FE_FWD" --main-lcore 1
	sleep 3
	"$WORK/bench-c2c" --every 1000 0 1 1000 2>"$WORK/c2c.err" \
		> >(stamp > "$WORK/c2c.txt") &
	PIDS+=($!)
	sleep "$SECS"
	stop_all
	python3 devtools/bench-ab-report.py pair "$WORK/$RX.log" "$WORK/c2c.txt" \
		"$b" "$r" >> "$WORK/lines"
	if ! grep -q "^$b $r " "$WORK/lines"; then
		echo "build $b round $r: no rate from the $RX side" >&2
		tail -3 "$WORK/$RX.log" >&2
		return 1
	fi
}

status=0
: > "$WORK/lines"
for r in $(seq "$ROUNDS"); do
	for b in A B; do
		run "$b" "$r" || status=1
		n=$(grep -c "^$b $r " "$WORK/lines" || true)
		echo "round $r/$ROUNDS build $b: $n lines, load $(cut -d' ' -f1 /proc/loadavg)"
	done
done
[ -s "$WORK/c2c.err" ] && echo "probe: $(head -1 "$WORK/c2c.err")"

python3 devtools/bench-ab-report.py summary ${OUTFILE:+-o "$OUTFILE"} "$WORK/lines"
exit $status
