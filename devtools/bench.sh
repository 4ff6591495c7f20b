#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Process-to-process data path benchmark: two Debian dpdk-testpmd processes,
# one forwarding lcore each on different CPUs, exchanging packets through
#
#   vfio-user*  net_vfio_user (backend, "be") <-> net_virtio_vfio_user ("fe"),
#               once per feature set the PMDs accept (split, packed, in-order)
#   vhost-user  net_vhost (be) <-> net_virtio_user (fe), default and with
#               virtio-user packed_vq=1,in_order=1,mrg_rxbuf=0 (its strongest)
#   memif       net_memif role=server (be) <-> role=client (fe)
#   vfio-user-offload
#               the data path offloaded (doc/guides/howto/offload.rst):
#               net_vhost, a vhost-user engine (be) <-> net_virtio_vfio_user
#               (fe), with a third testpmd hosting net_vfio_user with
#               offload=<engine socket> ("dv"), which does not forward and
#               whose port counters must stay 0
#
# with hugepages and/or --no-huge, for each frame size and test:
#   fe-to-be    frontend txonly -> backend rxonly
#   be-to-fe    backend txonly  -> frontend rxonly
#   loop        both in io mode; the frontend injects 4 bursts that then
#               go round (each side forwards what it receives)
# The figure is the receiver's Rx rate (loop: the mean of both sides) over
# a window, measured by testpmd itself ("show port stats": packets over
# its own clock). Rounds are interleaved (A B C A B C ...) and every round
# restarts the processes, so the spread (min..max) includes what a restart
# changes. A case that cannot run is FAILED with the reason from its log,
# and the script then exits 1; a benchmark never fails on a number.
#
#   devtools/bench.sh [options]
#     -r N          rounds (default 3)
#     -d SECONDS    measuring window per figure (default: fitted so the
#                   whole run stays under the time budget, 0.3..5 s)
#     -b SECONDS    time budget used to fit the window (default 540)
#     -g SECONDS    the near gate's budget for the whole run (default 90;
#                   0: no gate), see below
#     -m MODES      huge, nohuge, both or auto (default both; auto: huge
#                   when enough hugepages are free, else nohuge)
#     -s "SIZES"    frame sizes in bytes (default "64 1518 9000")
#     -S "SIZES"    more frame sizes (under 1519 B) measured on the
#                   ranking lines only: vfio-user and the two ratio
#                   references (default "512"; "" for none). In the pair
#                   that runs the small sizes (one more pair only when -s
#                   has none), so the default run fits 10 minutes
#     -t "TESTS"    any of fe-to-be be-to-fe loop (default all)
#     -V "NAMES"    variants to run (default all; -l lists them)
#     -o DIR        output directory (default build/bench/<date-time>)
#     -l            list the variants and exit
#     --quick       smoke run (under 60 s): 1 round, auto mode, 64 B on
#                   every variant and 9000 B on the first, 0.3 s windows,
#                   no -S sizes, no offloaded line unless -V names it
#     --no-dma      leave out the control-path part (below)
#
# Control path: after the data path, the run measures DMA_MAP + DMA_UNMAP
# pairs of one 4 KiB page per second (what a guest behind a strict vIOMMU
# costs per buffer) on the library's sample device and on net_vfio_user
# (no driver, driver up, rings in 4 KiB maps; port stopped and forwarding),
# with 1000 other regions mapped, through devtools/bench-dma.sh (which
# has the full matrix). Printed with the ratio to the sample device, and
# written to DIR/dma.csv.
#
# Output: progress while it runs, a summary table (median, min, max Mpps
# and the ratios to vhost-user-packed-inorder and to memif), DIR/results.csv
# (one line per figure and round), DIR/summary.csv, DIR/bench.png (needs
# python3-matplotlib, installed as root like the other packages) and the
# testpmd logs of every pair in DIR/logs/.
#
# Exit status: 0 all cases ran, 1 some case FAILED, 2 usage error.
# A figure marked "~" had a forwarding lcore that got less than 90 % of
# its CPU during the window (other work on the machine): the CSV has both
# shares (be_cpu_pct, fe_cpu_pct). A figure marked "!" was measured while
# a cache line took more than twice the run's lowest time to go from one
# CPU to the other and back (devtools/bench-c2c.c, run during each window
# at SCHED_FIFO priority, and before and after it; the probes during the
# window decide, those around it only without them; on a virtual machine,
# the host placing the two vCPUs far apart): every transport is slower
# then (doc/guides/perf.rst).
# The near gate: a window starts only once the probe finds the two CPUs
# near (it waits up to 1 s, probing every 50 ms), and a figure measured
# far is measured once more (the second figure is the one recorded);
# both only while
# the run's gate budget (-g) lasts, so the run stays bounded. The states
# alternate every few seconds: the gate makes every transport's figures
# mostly near ones (the state a ranking can compare), and the marks and
# the CSV still say which were not.
#
# Environment: VU_BUILD_DIR (default build), VU_TESTPMD (default
# dpdk-testpmd), VU_SKIP_INSTALL=1, VU_BENCH_SKIP_BUILD=1 (use the build
# as it is), VU_BENCH_APP_ARGS (more testpmd options for every process,
# e.g. "--record-burst-stats --record-core-cycles": the logs then have
# them at each stop).

set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
. devtools/common.sh
. devtools/dpdk-run.sh

# --- the variants ------------------------------------------------------------
#
# One line each: name | backend vdev | frontend vdev | EAL extras (both
# processes) [| device vdev: a third process, for offload]. "vfio-user" is what the PMDs negotiate by default (the best
# both sides offer: packed and in-order once they exist); the other
# vfio-user lines pin a feature set. @SOCK@ is the UNIX socket path; @BE@/@FE@ are the plugin .so
# of our backend/frontend PMD (given to EAL with -d when a line names
# net_vfio_user* or net_virtio_vfio_user*). A devarg our PMDs do not accept (checked against the
# parameter string they register, RTE_PMD_REGISTER_PARAM_STRING) skips the
# line with a note. vhost-user needs --single-file-segments with hugepages
# (vhost-user takes at most 8 memory regions); it is given in both modes.
# A fifth column makes a three-process line: the device's vdev, in a
# testpmd ("dv") that is not forwarding (--no-huge: its memory carries no
# packets); @ENGINE@ is the engine's vhost-user socket. The backend (be) is
# then the engine, the other end of the frontend's traffic.
VARIANTS='
vfio-user                 | net_vfio_user0,path=@SOCK@                                         | net_virtio_vfio_user0,path=@SOCK@                                         |
vfio-user-split           | net_vfio_user0,path=@SOCK@,packed_vq=0,in_order=0                  | net_virtio_vfio_user0,path=@SOCK@,packed_vq=0,in_order=0                  |
vfio-user-split-inorder   | net_vfio_user0,path=@SOCK@,packed_vq=0,in_order=1                  | net_virtio_vfio_user0,path=@SOCK@,packed_vq=0,in_order=1                  |
vfio-user-packed          | net_vfio_user0,path=@SOCK@,packed_vq=1,in_order=0                  | net_virtio_vfio_user0,path=@SOCK@,packed_vq=1,in_order=0                  |
vhost-user                | net_vhost0,iface=@SOCK@,queues=1                                   | net_virtio_user0,path=@SOCK@,queues=1                                     | --single-file-segments
vhost-user-packed-inorder | net_vhost0,iface=@SOCK@,queues=1                                   | net_virtio_user0,path=@SOCK@,queues=1,packed_vq=1,in_order=1,mrg_rxbuf=0  | --single-file-segments
memif                     | net_memif0,role=server,socket=@SOCK@,socket-abstract=no            | net_memif0,role=client,socket=@SOCK@,socket-abstract=no                   |
vfio-user-offload         | net_vhost0,iface=@ENGINE@,queues=1                                 | net_virtio_vfio_user0,path=@SOCK@                                         | --single-file-segments | net_vfio_user0,path=@SOCK@,offload=@ENGINE@
'
# The references of the ratio columns.
REF_VHOST=vhost-user-packed-inorder
REF_MEMIF=memif
# The offloaded data path and its reference, the in-process one.
REF_OFFLOAD=vfio-user-offload
REF_INPROC=vfio-user

# Frames above this size run in a second pair of processes with mbufs big
# enough for one frame (--mbuf-size): with testpmd's default 2 KB mbufs a
# 9000 B frame is a 5-segment chain, which virtio-user without mrg_rxbuf
# cannot receive. Same for every transport: one mbuf per frame.
JUMBO_MIN=1519
JUMBO_MBUF_SIZE=9344		# 9216 B of data + 128 B headroom
# net_vfio_user's mtu= there: frames as long as an mbuf's data (the
# device passes mtu + 18: Ethernet header and a VLAN tag)
JUMBO_MTU=$((JUMBO_MBUF_SIZE - 128 - 18))
JUMBO_MBUFS=8192
MBUFS=16384
MEM_MB=256
LOOP_BURSTS=4			# bursts the frontend injects into the loop
SETTLE=0.1			# seconds between the starts and the window
CPU_WARN=90			# flag figures whose forwarding lcores got less CPU
ZERO_RETRIES=3			# windows measured again when no packet came
GATE_WAIT_US=1000000		# near gate: at most this long before a window
GATE_STEP=0.05			# near gate: seconds between two probes

usage() {
	# the comment block at the top, after the copyright
	awk 'NR < 5 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
	exit 2
}

ROUNDS=3
WINDOW=
BUDGET=540
GATE=
MODES=both
SIZES="64 1518 9000"
RANK_SIZES="512"
TESTS="fe-to-be be-to-fe loop"
ONLY=
OUT=
QUICK=0
LIST=0
DMA=1
while [ $# -gt 0 ]; do
	case $1 in
	-r) ROUNDS=$2; shift ;;
	-d) WINDOW=$2; shift ;;
	-b) BUDGET=$2; shift ;;
	-g) GATE=$2; shift ;;
	-m) MODES=$2; shift ;;
	-s) SIZES=$2; shift ;;
	-S) RANK_SIZES=$2; shift ;;
	-t) TESTS=$2; shift ;;
	-V) ONLY=$2; shift ;;
	-o) OUT=$2; shift ;;
	-l) LIST=1 ;;
	--quick) QUICK=1 ;;
	--no-dma) DMA=0 ;;
	-h|--help) usage ;;
	*) echo "unknown option: $1" >&2; usage ;;
	esac
	shift
done
if [ $QUICK = 1 ]; then
	ROUNDS=1 MODES=auto SIZES="64 9000" RANK_SIZES='' WINDOW=${WINDOW:-0.3} GATE=${GATE:-0}
fi
GATE=${GATE:-90}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "-r: a number of rounds" >&2; exit 2; }
if [ -n "$WINDOW" ] && ! [[ $WINDOW =~ ^[0-9]*\.?[0-9]+$ ]]; then
	echo "-d: seconds" >&2
	exit 2
fi
[[ $BUDGET =~ ^[1-9][0-9]*$ ]] || { echo "-b: seconds" >&2; exit 2; }
[[ $GATE =~ ^(0|[1-9][0-9]*)$ ]] || { echo "-g: seconds" >&2; exit 2; }
for t in $TESTS; do
	case $t in fe-to-be|be-to-fe|loop) ;; *) echo "-t: unknown test $t" >&2; exit 2 ;; esac
done
for s in $SIZES; do
	if ! [[ $s =~ ^[0-9]+$ ]] || [ "$s" -lt 60 ] || [ "$s" -gt 9200 ]; then
		echo "-s: sizes from 60 to 9200 bytes" >&2
		exit 2
	fi
done
for s in $RANK_SIZES; do
	if ! [[ $s =~ ^[0-9]+$ ]] || [ "$s" -lt 60 ] || [ "$s" -gt 1518 ]; then
		echo "-S: sizes from 60 to 1518 bytes" >&2
		exit 2
	fi
	[[ " $SIZES " == *" $s "* ]] && { echo "-S: $s is in -s already" >&2; exit 2; }
done
case $MODES in
huge) MODES="huge" ;; nohuge) MODES="nohuge" ;; both) MODES="huge nohuge" ;;
auto) ;; *) echo "-m: huge, nohuge, both or auto" >&2; exit 2 ;;
esac

# Variant table -> arrays.
V_NAME=() V_BE=() V_FE=() V_EAL=() V_DEV=()
while IFS='|' read -r name be fe eal dev; do
	name=$(echo "$name" | xargs)
	[ -z "$name" ] && continue
	V_NAME+=("$name")
	V_BE+=("$(echo "$be" | xargs)")
	V_FE+=("$(echo "$fe" | xargs)")
	V_EAL+=("$(echo "$eal" | xargs)")
	V_DEV+=("$(echo "$dev" | xargs)")
done <<<"$VARIANTS"

if [ $LIST = 1 ]; then
	for i in "${!V_NAME[@]}"; do
		printf '%-26s be: %s\n%-26s fe: %s%s\n' "${V_NAME[$i]}" "${V_BE[$i]}" "" \
			"${V_FE[$i]}" "${V_EAL[$i]:+  (EAL: ${V_EAL[$i]})}"
		[ -n "${V_DEV[$i]}" ] && printf '%-26s dv: %s\n' "" "${V_DEV[$i]}"
	done
	exit 0
fi

if [ -n "$ONLY" ]; then
	for n in ${ONLY//,/ }; do
		found=0
		for i in "${!V_NAME[@]}"; do [ "${V_NAME[$i]}" = "$n" ] && found=1; done
		[ $found = 1 ] || { echo "-V: no variant named $n (see -l)" >&2; exit 2; }
	done
fi

BUILD_DIR=${VU_BUILD_DIR:-build}
TESTPMD=${VU_TESTPMD:-dpdk-testpmd}
BENCH_START=$SECONDS

# --- setup -------------------------------------------------------------------

# The chart is optional: as root, install python3-matplotlib with the rest;
# otherwise the run ends with a note instead of a chart.
[ "$(id -u)" -eq 0 ] && PACKAGES+=(python3-matplotlib)
ensure_packages
setup_hugepages
if [ "${VU_BENCH_SKIP_BUILD:-0}" != 1 ]; then
	configure_drivers
	if [ "${DRIVER_OPTS[0]}" = -Ddrivers=false ]; then
		echo "The benchmark needs the PMDs, which need the DPDK driver-SDK headers." >&2
		exit 1
	fi
	step "building in $BUILD_DIR"
	meson_setup "$BUILD_DIR" "${DRIVER_OPTS[@]}" >/dev/null
	ninja -C "$BUILD_DIR" >/dev/null
fi
command -v "$TESTPMD" >/dev/null || { echo "$TESTPMD not found (Debian package dpdk)" >&2; exit 1; }
vu_plugin_dir "$BUILD_DIR"

OUT=${OUT:-$BUILD_DIR/bench/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/logs"
OUT=$(readlink -f "$OUT")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vu-bench.XXXXXX")
RAW=$OUT/results.csv
echo "round,mode,variant,test,size,mpps,status,reason,window_s,rx_packets,be_cpu_pct,fe_cpu_pct,c2c_before_ns,c2c_after_ns,c2c_during_ns" >"$RAW"

# Processes of the current pair: BE and FE (and DV, the device of an
# offload line); FIFO fds for their stdin; their forwarding threads.
declare -A PID FD LOG WTID
PREFIXES=()
cleanup() {
	local p
	[ -n "${C2C_DURING_PID:-}" ] && vu_stop "$C2C_DURING_PID" 1
	for p in fe dv be; do
		[ -n "${PID[$p]:-}" ] && vu_stop "${PID[$p]}" 5
	done
	for p in fe dv be; do
		[ -n "${FD[$p]:-}" ] && eval "exec ${FD[$p]}>&-"
	done
	hugepage_files_cleanup
	vu_cleanup
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# writing to the FIFO of a testpmd that died must not kill the script
trap '' PIPE

# EAL keeps hugepage files when it cannot unlink them (--single-file-segments
# excludes --huge-unlink): remove those of our prefixes, and their runtime
# directories.
hugepage_files_cleanup() {
	local mnt pfx
	for mnt in $(awk '$3 == "hugetlbfs" { print $2 }' /proc/mounts); do
		for pfx in "${PREFIXES[@]}"; do
			rm -f "$mnt/${pfx}map_"* 2>/dev/null || true
		done
	done
	vu_rm_runtime "${PREFIXES[@]}"
	PREFIXES=()
}

# --- which variants can run ----------------------------------------------------

# The parameter string a plugin registers (RTE_PMD_REGISTER_PARAM_STRING):
# "path=<socket> queues=<1-16> ...".
pmd_params() {
	strings -a "$1" 2>/dev/null | grep -m1 -E '^([a-z_]+=<[^>]*> ?)+$' || true
}
BE_PARAMS=$(pmd_params "$VU_BACKEND_PMD")
FE_PARAMS=$(pmd_params "$VU_FRONTEND_PMD")

# unsupported_devargs VDEV PARAMS: the keys of VDEV missing from PARAMS.
unsupported_devargs() {
	local kv key absent=''
	IFS=, read -ra kv <<<"${1#*,}"
	for key in "${kv[@]}"; do
		key=${key%%=*}
		[[ " $2" == *" $key="* ]] || absent+="${absent:+,}$key"
	done
	echo "$absent"
}

RUN_V=()
step "variants"
for i in "${!V_NAME[@]}"; do
	name=${V_NAME[$i]}
	if [ -n "$ONLY" ] && [[ " ${ONLY//,/ } " != *" $name "* ]]; then
		continue
	fi
	# three processes take twice as long to come up: --quick would go
	# over 90 s on a loaded 2-core machine (101 s measured)
	if [ $QUICK = 1 ] && [ -z "$ONLY" ] && [ -n "${V_DEV[$i]}" ]; then
		echo "  skip  $name: not in --quick (three processes); -V $name runs it"
		continue
	fi
	skip=
	for side in BE FE DV; do
		case $side in
		BE) vdev=${V_BE[$i]} params=$BE_PARAMS ;;
		FE) vdev=${V_FE[$i]} params=$FE_PARAMS ;;
		DV) vdev=${V_DEV[$i]} params=$BE_PARAMS ;;
		esac
		case $vdev in net_vfio_user*|net_virtio_vfio_user*) ;; *) continue ;; esac
		if [ -z "$params" ]; then
			skip="no parameter string found in the $side plugin"
			break
		fi
		m=$(unsupported_devargs "$vdev" "$params")
		if [ -n "$m" ]; then
			skip="${vdev%%,*} does not take $m (its parameters: $params)"
			break
		fi
	done
	if [ -n "$skip" ]; then
		echo "  skip  $name: $skip"
		continue
	fi
	echo "  run   $name"
	RUN_V+=("$i")
done
[ ${#RUN_V[@]} -gt 0 ] || { echo "no variant to run" >&2; exit 2; }

# --- memory ------------------------------------------------------------------

# Pages one process needs with -m MEM_MB, plus EAL's own margin.
PAGES_PER_PROC=$(( (MEM_MB + 1) / 2 + 16 ))
if [ "$MODES" = auto ]; then
	if [ "$(vu_free_hugepages)" -ge $((2 * PAGES_PER_PROC)) ]; then
		MODES=huge
	else
		MODES=nohuge
	fi
fi

mem_args() {	# mem_args MODE EAL_EXTRAS
	if [ "$1" = huge ]; then
		# --single-file-segments is not compatible with --huge-unlink
		if [[ " $2 " == *" --single-file-segments "* ]]; then
			echo "-m $MEM_MB"
		else
			echo "-m $MEM_MB --huge-unlink"
		fi
	else
		echo "--no-huge -m $MEM_MB"
	fi
}

# Cache-line round trip between the two forwarding CPUs (devtools/
# bench-c2c.c), measured with both testpmd stopped before and after each
# figure, and during its window (bench-c2c --every: short probes at
# SCHED_FIFO priority while both lcores forward). On a virtual machine it
# changes when the host moves the vCPUs: every transport then loses, see
# doc/guides/perf.rst. The state can change within a window, so the
# probes during the window are the ones that say in which state it was
# measured: a figure whose largest probe during the window was above
# C2C_FAR times the run's lowest round trip is marked '!' (without probes
# during the window: its probe before or after).
C2C=$WORK/bench-c2c
C2C_MIN=''
C2C_FAR=$VU_C2C_FAR
C2C_DURING=1	# 0 once bench-c2c --every cannot have SCHED_FIFO
if ! cc -O2 -pthread -o "$C2C" devtools/bench-c2c.c 2>"$WORK/c2c.err"; then
	warn "cannot build devtools/bench-c2c.c: no cross-CPU latency probe ($(head -1 "$WORK/c2c.err")), no near gate"
	C2C='' GATE=0 C2C_DURING=0
fi
c2c() {	# c2c -> C2C_V (empty without the probe)
	C2C_V=''
	[ -n "$C2C" ] || return 0
	C2C_V=$("$C2C" 0 1 8000 2>/dev/null) || { C2C_V=''; return 0; }
	c2c_low "$C2C_V"
}
c2c_low() {	# c2c_low NS: the run's lowest round trip, C2C_MIN, lowered
	if [ -z "$C2C_MIN" ] || [ "$1" -lt "$C2C_MIN" ]; then C2C_MIN=$1; fi
}
# c2c_during_start / c2c_during_stop -> C2C_V: probes during a window
# (every quarter of it, 50 to 250 ms apart), C2C_V the largest (empty
# without them).
C2C_DURING_PID=''
c2c_during_start() {
	local ms
	[ -n "$C2C" ] && [ $C2C_DURING = 1 ] || return 0
	ms=$(awk -v w="$WINDOW" 'BEGIN { m = w * 250; printf "%d", (m < 50 ? 50 : (m > 250 ? 250 : m)) }')
	"$C2C" --every "$ms" 0 1 >"$WORK/c2c-during" 2>"$WORK/c2c-during.err" &
	C2C_DURING_PID=$!
}
c2c_during_stop() {
	local v rc=0
	C2C_V=''
	[ -n "$C2C_DURING_PID" ] || return 0
	# not vu_stop: its exit status, and no 20 ms polling step per window
	kill -TERM "$C2C_DURING_PID" 2>/dev/null || true
	wait "$C2C_DURING_PID" || rc=$?
	C2C_DURING_PID=''
	# 143: TERM before its handler was in place (nothing probed yet)
	if [ $rc != 0 ] && [ $rc != 143 ]; then
		warn "no probes during the windows: bench-c2c --every exited $rc: $(head -1 "$WORK/c2c-during.err")"
		C2C_DURING=0
		return 0
	fi
	for v in $(grep -E '^[0-9]+$' "$WORK/c2c-during" || true); do
		if [ -z "$C2C_V" ] || [ "$v" -gt "$C2C_V" ]; then C2C_V=$v; fi
		c2c_low "$v"
	done
}
fig_far() {	# fig_far BEFORE AFTER DURING: the figure measured far
	if [ -n "$3" ]; then c2c_far "$3"; else c2c_far "$1" "$2"; fi
}
c2c_far() {	# c2c_far NS NS: true if either is far above the lowest seen
	local v
	for v in "$@"; do
		[ -n "$v" ] && [ -n "$C2C_MIN" ] && [ "$v" -gt $((C2C_FAR * C2C_MIN)) ] && return 0
	done
	return 1
}
# The near gate (see the top): GATE_LEFT_US that it may spend now (each
# round adds its share of the run's budget: a far spell early in the run
# does not leave the last rounds without a gate), GATE_SPENT_US in all,
# GATE_WAITS windows that waited, GATE_REDONE figures measured again.
GATE_LEFT_US=0 GATE_SPENT_US=0 GATE_WAITS=0 GATE_REDONE=0
gate_spend() {	# gate_spend MICROSECONDS
	GATE_SPENT_US=$((GATE_SPENT_US + $1))
	GATE_LEFT_US=$((GATE_LEFT_US - $1))
	[ "$GATE_LEFT_US" -gt 0 ] || GATE_LEFT_US=0
}
usec() { echo "${EPOCHREALTIME//[!0-9]/}"; }	# any decimal point
# near_wait -> C2C_V: probe until the CPUs are near, for at most
# GATE_WAIT_US and while the gate's budget lasts.
near_wait() {
	local t0 t waited=0
	c2c
	c2c_far "$C2C_V" || return 0
	[ "$GATE_LEFT_US" -gt 0 ] || return 0
	t0=$(usec)
	GATE_WAITS=$((GATE_WAITS + 1))
	while c2c_far "$C2C_V"; do
		t=$(usec)
		waited=$((t - t0))
		[ $waited -lt $GATE_WAIT_US ] && [ $waited -lt "$GATE_LEFT_US" ] || break
		sleep $GATE_STEP
		c2c
	done
	t=$(usec)
	gate_spend $((t - t0))
}

# --- the plan and the window ---------------------------------------------------

SMALL_SIZES='' JUMBO_SIZES=''
for s in $SIZES; do
	if [ "$s" -ge $JUMBO_MIN ]; then JUMBO_SIZES+=" $s"; else SMALL_SIZES+=" $s"; fi
done
N_MODES=$(wc -w <<<"$MODES")
N_TESTS=$(wc -w <<<"$TESTS")
N_SIZES=$(wc -w <<<"$SIZES")
PAIRS_PER=$(( ${SMALL_SIZES:+1}+0 + ${JUMBO_SIZES:+1}+0 ))
N_PAIRS=$((ROUNDS * N_MODES * ${#RUN_V[@]} * PAIRS_PER))
N_FIG=$((ROUNDS * N_MODES * ${#RUN_V[@]} * N_SIZES * N_TESTS))
# the -S sizes: on the ranking lines that run, in their small-size pair
# (which they add when -s has no small size)
RANK_V=() RANK_SORTED=''
N_RANK=$(wc -w <<<"$RANK_SIZES")
if [ "$N_RANK" -gt 0 ]; then
	for vi in "${RUN_V[@]}"; do
		case ${V_NAME[$vi]} in
		"$REF_INPROC"|"$REF_VHOST"|"$REF_MEMIF") RANK_V+=("$vi") ;;
		esac
	done
	N_FIG=$((N_FIG + ROUNDS * N_MODES * ${#RANK_V[@]} * N_RANK * N_TESTS))
	[ -z "$SMALL_SIZES" ] && N_PAIRS=$((N_PAIRS + ROUNDS * N_MODES * ${#RANK_V[@]}))
	RANK_SORTED=$(tr ' ' '\n' <<<"$SMALL_SIZES $RANK_SIZES" | grep . | sort -n | tr '\n' ' ')
fi
is_rank_v() {	# is_rank_v VI
	[[ " ${RANK_V[*]} " == *" $1 "* ]]
}
# --quick (a smoke test): the jumbo sizes on the first variant only; every
# variant still comes up and moves its small frames
QUICK_JUMBO_V=
if [ $QUICK = 1 ] && [ -n "$SMALL_SIZES" ] && [ -n "$JUMBO_SIZES" ] &&
   [ ${#RUN_V[@]} -gt 1 ]; then
	QUICK_JUMBO_V=${RUN_V[0]}
	N_PAIRS=$((N_PAIRS - ROUNDS * N_MODES * (${#RUN_V[@]} - 1)))
	N_FIG=$((N_FIG - ROUNDS * N_MODES * (${#RUN_V[@]} - 1) * \
		$(wc -w <<<"$JUMBO_SIZES") * N_TESTS))
fi
# Measured on the project's 2-core machine: about 1.4-2 s to bring a pair
# up and down, about 0.3 s of commands and settling per figure besides
# the window (full default runs: 493-542 s on 2026-12-03 with 432
# figures, 527 s on 2026-12-04 with 486, of which 29 s of building and
# 30 s of the control path that the estimate leaves out).
PAIR_COST=2.0 FIG_COST=0.3
# fit_window SECONDS_LEFT PAIRS_LEFT FIGURES_LEFT -> WINDOW
fit_window() {
	WINDOW=$(awk -v b="$1" -v p="$2" -v f="$3" -v pc=$PAIR_COST -v fc=$FIG_COST \
		'BEGIN { w = f > 0 ? (b - p * pc - f * fc) / f : 5
			if (w < 0.3) w = 0.3; if (w > 5) w = 5; printf "%.1f", w }')
}
FIT_WINDOW=0
if [ -z "$WINDOW" ]; then
	FIT_WINDOW=1
	fit_window $((BUDGET - GATE)) $N_PAIRS $N_FIG
fi
EST=$(awk -v w="$WINDOW" -v p=$N_PAIRS -v f=$N_FIG -v pc=$PAIR_COST -v fc=$FIG_COST -v g=$GATE \
	'BEGIN { printf "%d", p * pc + f * (fc + w) + g }')

step "plan: $ROUNDS round(s) x modes [$MODES] x ${#RUN_V[@]} variant(s) x tests [$TESTS] x sizes [$SIZES]"
[ ${#RANK_V[@]} -gt 0 ] &&
	echo "  and sizes [$RANK_SIZES] on $(for vi in "${RANK_V[@]}"; do printf '%s ' "${V_NAME[$vi]}"; done)only (-S)"
echo "  $N_FIG figures from $N_PAIRS process pairs, ${WINDOW} s windows, about $((EST / 60))m$((EST % 60))s"
[ "$GATE" -gt 0 ] &&
	echo "  near gate: up to $((GATE_WAIT_US / 1000000)) s before a window for the CPUs to be near, $GATE s in all"
[ -n "$QUICK_JUMBO_V" ] &&
	echo "  --quick: sizes [$JUMBO_SIZES ] on ${V_NAME[$QUICK_JUMBO_V]} only"
echo "  output: $OUT"
# the run's lowest round trip so far: a few probes, so that a run which
# starts in the far state does not take it for the near one
if [ "$GATE" -gt 0 ]; then
	for _ in 1 2 3 4 5 6 7 8 9 10; do c2c; sleep 0.1; done
fi
c2c
echo "  machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $(vu_free_hugepages) free hugepages${C2C_V:+, CPU 0<->1 cache-line round trip $C2C_V ns}"

# --- talking to interactive testpmd ------------------------------------------------

MARK=0
# send P LINE...: write command lines to process P's stdin.
# A process that went away is noticed by the caller (kill -0, sync_p).
send() {
	local p=$1
	shift
	printf '%s\n' "$@" 2>/dev/null 1>&"${FD[$p]}" || true
}
# sync P [TIMEOUT]: wait until P has executed everything sent so far (it
# echoes a comment line when it reads it, after the commands before it).
sync_p() {
	local p=$1 t=${2:-10} i
	MARK=$((MARK + 1))
	send "$p" "# mark $MARK"
	for ((i = 0; i < t * 50; i++)); do
		grep -aqE "# mark $MARK([^0-9]|\$)" "${LOG[$p]}" && return 0
		kill -0 "${PID[$p]}" 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}
# What went wrong in a log: the first error-looking line that says more
# than "exiting", and the "Cause:" of an rte_exit().
ERR_RE='error|fail|cannot|invalid|not supported|give up|panic|abort|unable|refused|no such|insecure|unrecognized|> device max'
log_reason() {
	local first cause
	first=$(grep -aiE "$ERR_RE" "$1" |
		grep -avE '^testpmd> |RX-errors|TX-errors|missed|error handling mode|Error - exiting|Start ports failed|Cause:' |
		head -1 | tr -d '\r' | sed 's/^ *//' | cut -c1-140 || true)
	cause=$(grep -a 'Cause:' "$1" | tail -1 | tr -d '\r' | sed 's/^ *//' | cut -c1-100 || true)
	echo "$first${first:+${cause:+; }}$cause"
}
# A port that did not start: testpmd stays up at its prompt without it.
start_error() {	# start_error P
	if grep -aq 'Start ports failed' "${LOG[$1]}"; then
		echo "$1 port did not start: $(log_reason "${LOG[$1]}")"
	fi
}
dead_reason() {	# dead_reason P
	local r rc=0
	r=$(log_reason "${LOG[$1]}")
	wait "${PID[$1]}" 2>/dev/null || rc=$?
	if [ $rc -gt 128 ]; then
		r="killed by signal $((rc - 128))${r:+; log: $r}"
	elif [ $rc -gt 0 ]; then
		r="status $rc${r:+: $r}"
	fi
	echo "$1 testpmd exited${r:+ ($r)}"
}
# Rx-pps, Tx-pps and RX-packets of the last "show port stats" in P's log.
last_stats() {
	awk '/NIC statistics for port/ { rx = ""; rxp = ""; txp = "" }
	     /RX-packets:/ { rx = $2 }
	     /Rx-pps:/ { rxp = $2 }
	     /Tx-pps:/ { txp = $2 }
	     END { print (rxp == "" ? "-" : rxp), (txp == "" ? "-" : txp), (rx == "" ? "-" : rx) }' "${LOG[$1]}"
}

# start_tp P EAL_ARGS... -- APP_ARGS...: interactive testpmd with its stdin
# on a FIFO we hold open.
start_tp() {
	local p=$1 fifo=$WORK/$1.in fd
	shift
	rm -f "$fifo"
	mkfifo "$fifo"
	LOG[$p]=$PAIR_DIR/$p.log
	: >"${LOG[$p]}"
	# the child must not hold the other process's FIFO open (EOF on its
	# stdin is what stops a testpmd whose script went away)
	(
		for o in be dv; do
			[ -n "${FD[$o]:-}" ] && eval "exec ${FD[$o]}>&-"
		done
		exec nice stdbuf -oL "$TESTPMD" "$@" <"$fifo" >"${LOG[$p]}" 2>&1
	) &
	PID[$p]=$!
	exec {fd}>"$fifo"
	FD[$p]=$fd
}

# quit both (frontend first, then the device of an offload line), give
# them 5 s, then signals.
stop_pair() {
	local p i
	for p in fe dv be; do
		[ -n "${PID[$p]:-}" ] || continue
		send "$p" "stop" "quit"
		for ((i = 0; i < 50; i++)); do
			kill -0 "${PID[$p]}" 2>/dev/null || break
			sleep 0.1
		done
	done
	for p in fe dv be; do
		[ -n "${PID[$p]:-}" ] || continue
		vu_stop "${PID[$p]}" 5
		[ -n "${FD[$p]:-}" ] && eval "exec ${FD[$p]}>&-"
		PID[$p]='' FD[$p]=''
	done
	hugepage_files_cleanup
}

# --- one pair of processes, several figures ----------------------------------

FAILED=()
record() {	# record ROUND MODE VARIANT TEST SIZE MPPS STATUS REASON [RXPKTS BECPU FECPU C2C0 C2C1 C2CDURING]
	local reason=${8//,/;}
	echo "$1,$2,$3,$4,$5,$6,$7,\"${reason//\"/\'}\",$WINDOW,${9:-},${10:-},${11:-},${12:-},${13:-},${14:-}" >>"$RAW"
	if [ "$7" = FAILED ]; then
		FAILED+=("$2 $3 $4 $5 B round $1: $8")
	fi
}
fmt_fig() {	# fmt_fig TEST MPPS|FAILED|SKIPPED [FLAG]
	case $2 in
	FAILED|SKIPPED|n/a) printf '%s %s' "$1" "$2" ;;
	*) printf '%s %6.2f%-2s' "$1" "$2" "${3:-}" ;;
	esac
}

# CPU time (clock ticks) of P's forwarding lcore thread: EAL names it
# rte-worker-N. What it got of its CPU during a window says whether other
# work on the machine took part of it.
CLK_TCK=$(getconf CLK_TCK)
worker_tid() {	# worker_tid P -> sets WTID[P]
	local t
	WTID[$1]=''
	for t in /proc/"${PID[$1]}"/task/*; do
		if [[ $(cat "$t/comm" 2>/dev/null) == rte-worker-* ]]; then
			WTID[$1]=${t##*/}
			return
		fi
	done
}
worker_ticks() {	# worker_ticks P
	awk '{ print $14 + $15 }' "/proc/${PID[$1]}/task/${WTID[$1]}/stat" 2>/dev/null || echo 0
}
now() { date +%s.%N; }


# run_pair ROUND MODE VARIANT_INDEX JUMBO(0|1) SIZES...
run_pair() {
	local round=$1 mode=$2 vi=$3 jumbo=$4
	shift 4
	local sizes=("$@") name=${V_NAME[$vi]} eal=${V_EAL[$vi]}
	local sock mem be_vdev fe_vdev be_d=() fe_d=() app=() t0 size test
	local eng='' dv_vdev='' be_sock
	local reason=''
	local suffix=''
	[ "$jumbo" = 1 ] && suffix=-jumbo
	LOG[be]='' LOG[fe]='' LOG[dv]=''
	PAIR_DIR=$OUT/logs/r$round-$mode-$name$suffix
	mkdir -p "$PAIR_DIR"
	sock=$WORK/$name.sock
	rm -f "$sock"
	be_sock=$sock
	if [ -n "${V_DEV[$vi]}" ]; then
		# offload: the engine (be) serves @ENGINE@, the device (dv) @SOCK@
		eng=$WORK/$name-engine.sock
		rm -f "$eng"
		be_sock=$eng
		dv_vdev=${V_DEV[$vi]//@SOCK@/$sock}
		dv_vdev=${dv_vdev//@ENGINE@/$eng}
	fi
	be_vdev=${V_BE[$vi]//@SOCK@/$sock}
	be_vdev=${be_vdev//@ENGINE@/$eng}
	fe_vdev=${V_FE[$vi]//@SOCK@/$sock}
	if [ "$jumbo" = 1 ]; then
		# our device drops frames longer than its MTU + 18 once the
		# driver negotiated VIRTIO_NET_F_MTU (VIRTIO 5.1.4.2)
		case $be_vdev in net_vfio_user*) be_vdev+=",mtu=$JUMBO_MTU" ;; esac
		case $dv_vdev in net_vfio_user*) dv_vdev+=",mtu=$JUMBO_MTU" ;; esac
	fi
	case $be_vdev in net_vfio_user*) be_d=(-d "$VU_BACKEND_PMD") ;; esac
	case $fe_vdev in net_virtio_vfio_user*) fe_d=(-d "$VU_FRONTEND_PMD") ;; esac
	mem=$(mem_args "$mode" "$eal")
	app=(-i --no-flush-rx "--total-num-mbufs=$MBUFS")
	[ "$jumbo" = 1 ] && app=(-i --no-flush-rx "--total-num-mbufs=$JUMBO_MBUFS"
		"--mbuf-size=$JUMBO_MBUF_SIZE")
	# shellcheck disable=SC2206
	app+=(${VU_BENCH_APP_ARGS:-})
	printf '  %-26s ' "$name$suffix"
	t0=$SECONDS

	if [ "$mode" = huge ] &&
	   [ "$(vu_free_hugepages)" -lt $((2 * PAGES_PER_PROC)) ]; then
		reason="not enough free hugepages ($(vu_free_hugepages) free, $((2 * PAGES_PER_PROC)) needed)"
	fi
	if [ -z "$reason" ]; then
		PREFIXES+=("vub$$be" "vub$$fe")
		# shellcheck disable=SC2086
		start_tp be -l 0,1 --file-prefix "vub$$be" $mem $eal --no-pci "${be_d[@]}" \
			--vdev "$be_vdev" -- "${app[@]}"
		if ! sync_p be 60; then
			reason=$(dead_reason be)
		elif reason=$(start_error be) && [ -n "$reason" ]; then
			:
		elif ! vu_wait_socket "$be_sock" 20; then
			reason="backend did not create $be_sock"
		fi
	fi
	if [ -z "$reason" ] && [ -n "$dv_vdev" ]; then
		# the device: no forwarding, so no lcore of its own is busy
		PREFIXES+=("vub$$dv")
		start_tp dv -l 0,1 --file-prefix "vub$$dv" --no-huge -m 128 --no-pci \
			-d "$VU_BACKEND_PMD" --log-level=pmd.net.vfio_user:info \
			--vdev "$dv_vdev" -- -i --total-num-mbufs=2048
		if ! sync_p dv 60; then
			reason=$(dead_reason dv)
		elif reason=$(start_error dv) && [ -n "$reason" ]; then
			:
		elif ! vu_wait_socket "$sock" 20; then
			reason="device did not create $sock"
		fi
	fi
	if [ -z "$reason" ]; then
		# shellcheck disable=SC2086
		start_tp fe -l 0,1 --main-lcore 1 --file-prefix "vub$$fe" $mem $eal --no-pci \
			"${fe_d[@]}" --vdev "$fe_vdev" -- "${app[@]}"
		if ! sync_p fe 60; then
			reason=$(dead_reason fe)
		else
			reason=$(start_error fe)
		fi
	fi
	# link up on both sides
	if [ -z "$reason" ]; then
		local up=0 i p
		for ((i = 0; i < 100 && up < 2; i++)); do
			up=0
			for p in be fe; do
				send "$p" "show port info 0"
				sync_p "$p" 5 || { reason=$(dead_reason "$p"); break 2; }
				[ "$(grep -a 'Link status:' "${LOG[$p]}" | tail -1 | awk '{print $3}')" = up ] &&
					up=$((up + 1))
			done
			[ $up -lt 2 ] && sleep 0.2
		done
		if [ -z "$reason" ] && [ $up -lt 2 ]; then
			reason="link not up after 20 s"
			for p in be fe; do
				i=$(log_reason "${LOG[$p]}")
				[ -n "$i" ] && reason+="; $p: $i"
			done
		fi
	fi
	if [ -n "$reason" ]; then
		local status=FAILED
		[[ $reason == "not enough free hugepages"* ]] && status=SKIPPED
		# other work took the hugepages between the check and EAL's init
		if [ "$mode" = huge ] && grep -aqsE 'Not enough memory available|Cannot get hugepage|Cannot init memory' \
			"${LOG[be]:-/dev/null}" "${LOG[fe]:-/dev/null}"; then
			status=SKIPPED
			reason="not enough free hugepages at start-up ($(vu_free_hugepages) free now): $reason"
		fi
		for size in "${sizes[@]}"; do
			for test in $TESTS; do
				record "$round" "$mode" "$name" "$test" "$size" "" $status "$reason"
			done
		done
		echo "$status: $reason"
		stop_pair
		return
	fi
	printf '(up in %2ds)' $((SECONDS - t0))
	worker_tid be
	worker_tid fe

	# one line per size, each figure printed as soon as it is measured
	for size in "${sizes[@]}"; do
		printf '\n  %-26s %5s B ' '' "$size"
		for test in $TESTS; do
			run_figure "$round" "$mode" "$name" "$test" "$size"
			printf '  %s' "$(fmt_fig "$test" "$FIG" "$FIG_FLAG")"
		done
	done
	echo
	[ -n "$dv_vdev" ] && dev_counters_zero "$round" "$mode" "$name$suffix"
	stop_pair
}

# dev_counters_zero ROUND MODE NAME: the device of an offload line moved
# no packet itself (the engine did): its port counters are 0.
dev_counters_zero() {
	local rx tx
	kill -0 "${PID[dv]}" 2>/dev/null || { FAILED+=("$2 $3 round $1: $(dead_reason dv)"); return; }
	send dv "show port stats 0"
	sync_p dv 10 || { FAILED+=("$2 $3 round $1: $(dead_reason dv)"); return; }
	rx=$(awk '/NIC statistics for port/ { v = "" } /RX-packets:/ { v = $2 } END { print v }' "${LOG[dv]}")
	tx=$(awk '/NIC statistics for port/ { v = "" } /TX-packets:/ { v = $2 } END { print v }' "${LOG[dv]}")
	if [ "$rx" != 0 ] || [ "$tx" != 0 ]; then
		echo "  the device's port counters: rx ${rx:-?} tx ${tx:-?} packets, not 0: FAILED"
		FAILED+=("$2 $3 round $1: the device's own port counters are rx ${rx:-?} tx ${tx:-?}, not 0 (the data did not go through the engine only)")
	fi
}

# mpps_of SUM N: the figure, Mpps, of N receivers' summed packets/s
mpps_of() {
	awk -v a="$1" -v n="$2" 'BEGIN { printf "%.3f", a / n / 1e6 }'
}

# run_figure ROUND MODE NAME TEST SIZE -> FIG (Mpps, or FAILED)
#
# Both sides get their commands at once (testpmd runs them in order; with
# --no-flush-rx nothing is lost if the sender starts first), the receiver's
# first "show port stats" after SETTLE starts the window, its second one
# ends it: testpmd prints the Rx-pps between the two calls.
run_figure() {
	local round=$1 mode=$2 name=$3 test=$4 size=$5
	local tx rx p reason s rs mpps i off_be off_fe
	local c0_be c0_fe t_0 cpu_be cpu_fe c2c0 c2c1 c2cd redo=0 t s0
	local -a st r0
	# the near gate: once more if the CPUs were far (fig_far: during the
	# window, or around it without probes during it; the first figure is
	# then recorded as REDONE)
	while :; do
		reason='' cpu_be='' cpu_fe='' c2c0='' c2c1='' c2cd=''
		t=$(usec) s0=$GATE_SPENT_US
		measure_figure
		# a redo is the gate's, less the wait near_wait charged already
		[ $redo = 1 ] && gate_spend $(($(usec) - t - (GATE_SPENT_US - s0)))
		# (only if the gate can pay for it: the window, the settling, the
		# commands and the probes, about a second and a half besides)
		if [ -z "$reason" ] && [ $redo = 0 ] && fig_far "$c2c0" "$c2c1" "$c2cd" &&
		   [ "$GATE_LEFT_US" -gt "$(awk -v w="$WINDOW" 'BEGIN { printf "%d", (w + 1.5) * 1e6 }')" ]; then
			redo=1 GATE_REDONE=$((GATE_REDONE + 1))
			record "$round" "$mode" "$name" "$test" "$size" \
				"$(mpps_of "$mpps" "$i")" \
				REDONE "the CPUs far ($c2c0 ns; during ${c2cd:--} ns; $c2c1 ns): measured again" "$rs" \
				"$cpu_be" "$cpu_fe" "$c2c0" "$c2c1" "$c2cd"
			continue
		fi
		break
	done
	if [ -z "$reason" ]; then
		mpps=$(mpps_of "$mpps" "$i")
	fi
	if [ -n "$reason" ]; then
		FIG=FAILED FIG_FLAG=''
		record "$round" "$mode" "$name" "$test" "$size" "" FAILED "$reason" "" "$cpu_be" "$cpu_fe" \
			"$c2c0" "$c2c1" "$c2cd"
	else
		FIG=$mpps FIG_FLAG=''
		[ "$cpu_be" -lt "$CPU_WARN" ] || [ "$cpu_fe" -lt "$CPU_WARN" ] && FIG_FLAG='~'
		fig_far "$c2c0" "$c2c1" "$c2cd" && FIG_FLAG+='!'
		record "$round" "$mode" "$name" "$test" "$size" "$mpps" ok "" "$rs" "$cpu_be" "$cpu_fe" \
			"$c2c0" "$c2c1" "$c2cd"
	fi
}

# drain_pair: both sides receive (and drop) for a moment. A figure stops
# both sides at once, so it leaves frames in the rings: those a stopped
# receiver had not taken yet, and those a sender had sent but the other
# side's device had not (a ring's worth with a fast sender). A loop started
# on top of them would circulate them too, and tx_first, finding the
# transmit ring still full, would drop its bursts: the loop would run with
# whatever the earlier tests left, a number that depends on the
# transport's ring sizes, instead of LOOP_BURSTS bursts.
drain_pair() {
	local p
	for p in be fe; do send "$p" "set fwd rxonly" "start"; done
	for p in be fe; do sync_p "$p" 10 || return 0; done
	sleep 0.05
	for p in be fe; do send "$p" "stop"; done
}

# measure_figure: one window of run_figure's figure, in its variables
# (bash's dynamic scope): reason, or mpps (the sum over the i receivers,
# packets per second), rs, cpu_be, cpu_fe, c2c0, c2c1, c2cd.
measure_figure() {
	case $test in
	fe-to-be) tx=fe rx=be ;;
	be-to-fe) tx=be rx=fe ;;
	loop) tx=fe rx="be fe" ;;
	esac
	for p in be fe; do
		kill -0 "${PID[$p]}" 2>/dev/null || { reason=$(dead_reason "$p"); break; }
	done
	if [ -z "$reason" ]; then
		near_wait
		c2c0=$C2C_V
		off_be=$(stat -c %s "${LOG[be]}") off_fe=$(stat -c %s "${LOG[fe]}")
		if [ "$test" = loop ]; then
			drain_pair
			send be "set fwd io" "start"
			send fe "set fwd io" "set txpkts $size" "start tx_first $LOOP_BURSTS"
		else
			send "$rx" "set fwd rxonly" "start"
			send "$tx" "set fwd txonly" "set txpkts $size" "start"
		fi
		sleep "$SETTLE"
	fi
	# A window without a packet is measured again, up to ZERO_RETRIES
	# times: on a loaded machine a forwarding lcore can get no CPU for a
	# second; a data path that is stuck stays at zero.
	local try=0
	while [ -z "$reason" ]; do
		c0_be=$(worker_ticks be) c0_fe=$(worker_ticks fe) t_0=$(now)
		for p in $rx; do send "$p" "show port stats 0"; done
		r0=()
		for p in $rx; do
			sync_p "$p" 10 || { reason=$(dead_reason "$p"); break; }
			read -ra st <<<"$(last_stats "$p")"
			r0+=("${st[2]}")
		done
		[ -n "$reason" ] && break
		c2c_during_start
		sleep "$WINDOW"
		c2c_during_stop
		c2cd=$C2C_V
		for p in $rx; do send "$p" "show port stats 0"; done
		cpu_be=$(awk -v a="$c0_be" -v b="$(worker_ticks be)" -v t0="$t_0" -v t1="$(now)" -v hz="$CLK_TCK" \
			'BEGIN { printf "%.0f", 100 * (b - a) / hz / (t1 - t0) }')
		cpu_fe=$(awk -v a="$c0_fe" -v b="$(worker_ticks fe)" -v t0="$t_0" -v t1="$(now)" -v hz="$CLK_TCK" \
			'BEGIN { printf "%.0f", 100 * (b - a) / hz / (t1 - t0) }')
		mpps=0 rs=0 i=0
		for p in $rx; do
			sync_p "$p" 10 || { reason=$(dead_reason "$p"); break; }
			read -ra st <<<"$(last_stats "$p")"
			if ! [[ ${st[0]} =~ ^[0-9]+$ && ${st[2]} =~ ^[0-9]+$ && ${r0[$i]} =~ ^[0-9]+$ ]]; then
				reason="$p: could not read its port statistics"
				break
			fi
			mpps=$(awk -v a="$mpps" -v b="${st[0]}" 'BEGIN { print a + b }')
			rs=$((rs + st[2] - r0[i]))
			i=$((i + 1))
		done
		[ -n "$reason" ] && break
		[ "$rs" -gt 0 ] && break
		try=$((try + 1))
		if [ $try -gt $ZERO_RETRIES ]; then
			reason="no packets received in $try windows of ${WINDOW} s (forwarding lcores' CPU in the last: be ${cpu_be} %, fe ${cpu_fe} %)"
			s=$(log_reason "${LOG[$tx]}")
			[ -n "$s" ] && reason+="; $tx log: $s"
			break
		fi
	done
	send fe "stop"
	send be "stop"
	if [ -z "$reason" ]; then
		# both stopped (the sender alive and done with its commands)
		for p in fe be; do
			sync_p "$p" 10 || { reason=$(dead_reason "$p"); break; }
		done
	fi
	if [ -z "$reason" ]; then
		c2c
		c2c1=$C2C_V
	fi
	if [ -z "$reason" ]; then
		# a refused command ("txpkts ignored", "give up", "Bad arguments")
		s=$( { tail -c +$((off_be + 1)) "${LOG[be]}"; tail -c +$((off_fe + 1)) "${LOG[fe]}"; } |
			grep -aiE 'ignored|give up|invalid|not supported|bad arguments|error|fail' |
			grep -avE 'RX-errors|TX-errors' | tail -1 | tr -d '\r' | cut -c1-160 || true)
		[ -n "$s" ] && reason="testpmd: $s"
	fi
	return 0
}

# --- main loop: rounds interleaved ------------------------------------------------

PAIRS_DONE=0 FIGS_DONE=0
for ((round = 1; round <= ROUNDS; round++)); do
	GATE_LEFT_US=$((GATE_LEFT_US + GATE * 1000000 / ROUNDS))
	for mode in $MODES; do
		# a slow machine (pairs taking longer to come up) gets shorter
		# windows for the rest, so the run stays within the budget
		if [ $FIT_WINDOW = 1 ] && [ $PAIRS_DONE -gt 0 ]; then
			fit_window $((BUDGET - (SECONDS - BENCH_START) - GATE + GATE_SPENT_US / 1000000)) \
				$((N_PAIRS - PAIRS_DONE)) $((N_FIG - FIGS_DONE))
		fi
		step "round $round/$ROUNDS, $( [ "$mode" = huge ] && echo hugepages || echo --no-huge), elapsed $((SECONDS - BENCH_START)) s, ${WINDOW} s windows, load $(cut -d' ' -f1 /proc/loadavg)"
		for vi in "${RUN_V[@]}"; do
			# a ranking line's small pair also runs the -S sizes
			small=$SMALL_SIZES
			if is_rank_v "$vi"; then
				small=$RANK_SORTED
				FIGS_DONE=$((FIGS_DONE + N_RANK * N_TESTS))
				[ -z "$SMALL_SIZES" ] && PAIRS_DONE=$((PAIRS_DONE + 1))
			fi
			# shellcheck disable=SC2086
			[ -n "$small" ] && run_pair "$round" "$mode" "$vi" 0 $small
			# shellcheck disable=SC2086
			[ -n "$JUMBO_SIZES" ] &&
			{ [ -z "$QUICK_JUMBO_V" ] || [ "$vi" = "$QUICK_JUMBO_V" ]; } &&
				run_pair "$round" "$mode" "$vi" 1 $JUMBO_SIZES
			PAIRS_DONE=$((PAIRS_DONE + PAIRS_PER))
			FIGS_DONE=$((FIGS_DONE + N_SIZES * N_TESTS))
		done
	done
done

# --- control path: DMA map/unmap pairs per second ------------------------------

# One short line per case of bench-dma.sh (1000 background regions only),
# under the data path's processes' prefixes (none is left running here).
dma_bench() {
	local secs=1 pairs=20000 rc=0
	[ $QUICK = 1 ] && secs=0.3 pairs=3000
	if [ ! -x "$BUILD_DIR/app/test/bench/vu-dma-bench" ]; then
		warn "no $BUILD_DIR/app/test/bench/vu-dma-bench (configure with -Dtests=true): no control-path figures"
		return 0
	fi
	step "control path: DMA_MAP + DMA_UNMAP pairs of a 4 KiB page, 1000 other regions mapped, ${secs} s or $pairs pairs per case"
	VU_BUILD_DIR=$BUILD_DIR VU_TESTPMD=$TESTPMD \
		devtools/bench-dma.sh -n $pairs -t $secs -b 1000 >"$OUT/logs/dma.log" 2>&1 || rc=$?
	# "LABEL: N pairs in S s: R pairs/s, pair P us; map median M us p99 X;
	#  unmap median U us p99 Y (...)"
	awk 'BEGIN { print "case,pairs,pairs_per_s,pair_us,map_median_us,map_p99_us,unmap_median_us,unmap_p99_us" }
	     / pairs in .* pairs\/s, pair / {
		i = index($0, ": "); label = substr($0, 1, i - 1); rest = substr($0, i + 2)
		n = split(rest, f, /[ ,;:()]+/)
		# f: pairs "pairs" "in" S "s" R "pairs/s" "pair" P "us" "map" "median" M "us" "p99" X ...
		printf "\"%s\",%s,%s,%s,%s,%s,%s,%s\n", label, f[1], f[6], f[9], f[13], f[16], f[19], f[22]
	     }' "$OUT/logs/dma.log" >"$OUT/dma.csv"
	if [ $rc -ne 0 ] || [ "$(wc -l <"$OUT/dma.csv")" -lt 2 ]; then
		FAILED+=("control path (bench-dma.sh exit $rc): $(grep -v '^==' "$OUT/logs/dma.log" | tail -1)")
		return 0
	fi
	# the label has commas: the figures are the last 7 fields
	awk -F, 'NR == 1 { next }
		{ l = $0; sub(/",[^"]*$/, "", l); sub(/^"/, "", l)
		  lab[NR] = l; r[NR] = $(NF - 5); if (l == "sample device") ref = r[NR] }
		END {
			printf "  %-76s %9s %8s\n", "case", "pairs/s", "x sample"
			for (i = 2; i <= NR; i++)
				printf "  %-76s %9.0f %8s\n", lab[i], r[i], (ref > 0 ? sprintf("%.2f", r[i] / ref) : "-")
		}' "$OUT/dma.csv"
	grep -h 'NEEDS_RESET' "$OUT/logs/dma.log" | sed 's/^/  /' || true
}
# --- report -------------------------------------------------------------------

step "summary: Mpps over $ROUNDS round(s) (median, min, max), ratios of the medians of per-round ratios"
python3 devtools/bench-report.py --c2c-far "$C2C_FAR" \
	--ref-vhost "$REF_VHOST" --ref-memif "$REF_MEMIF" \
	--ref-offload "$REF_OFFLOAD=$REF_INPROC" "$RAW" "$OUT/summary.csv"
[ $DMA = 1 ] && dma_bench
# Debian's python3-matplotlib is for Debian's python3, which need not be
# the first python3 in PATH.
PLOT_PY=
for py in /usr/bin/python3 python3; do
	if "$py" -c 'import matplotlib' 2>/dev/null; then
		PLOT_PY=$py
		break
	fi
done
if [ -n "$PLOT_PY" ]; then
	if "$PLOT_PY" devtools/bench-plot.py "$OUT/summary.csv" "$OUT/bench.png" \
		"$(date -u +%Y-%m-%d), $(nproc) CPUs, $ROUNDS round(s), $(awk -F, 'NR > 1 && $9 != "" {
			if (lo == "" || $9 < lo) lo = $9; if ($9 > hi) hi = $9 }
			END { print (lo == hi ? lo : lo "-" hi) " s windows" }' "$RAW")"; then
		echo "chart:   $OUT/bench.png"
	else
		warn "could not draw the chart"
	fi
else
	warn "python3-matplotlib is not installed: no chart (apt-get install python3-matplotlib)"
fi
echo "results: $RAW"
echo "summary: $OUT/summary.csv"
[ -f "$OUT/dma.csv" ] && echo "dma:     $OUT/dma.csv"
echo "logs:    $OUT/logs/"
[ "$GATE" -gt 0 ] &&
	echo "near gate: $GATE_WAITS window(s) waited for the CPUs to be near, $GATE_REDONE figure(s) measured again (the first windows are REDONE lines of results.csv), $((GATE_SPENT_US / 1000000)) s of its $GATE s"
echo "took $((SECONDS - BENCH_START)) s"
N_SKIPPED=$(awk -F, 'NR > 1 && $7 == "SKIPPED"' "$RAW" | wc -l)
if [ "$N_SKIPPED" -gt 0 ]; then
	step "$N_SKIPPED case(s) SKIPPED (see the summary): not failures, not measured either"
fi
if [ ${#FAILED[@]} -gt 0 ]; then
	step "${#FAILED[@]} case(s) FAILED"
	printf '  %s\n' "${FAILED[@]}"
	exit 1
fi
