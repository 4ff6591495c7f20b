# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Sourced by the pair_* tests (net_vfio_user and net_virtio_vfio_user in
# two DPDK processes). Gives each test:
#   - a private work directory (sockets, fifos, logs) removed at exit;
#   - background processes tracked by PID and stopped with bounded waits;
#   - a hard time limit (a watchdog that fails the test);
#   - memory options with or without hugepages (vu_mem_args);
#   - testpmd driven interactively through a fifo, with its statistics
#     parsed from its output;
#   - PASS / FAIL / SKIP lines (exit 0 / 1 / 77; with CI=true a skip is a
#     failure).
#
#   . pair_lib.sh
#   pair_init NAME BUILD_ROOT LIMIT_SECONDS

PAIR_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PAIR_REPO=$(cd "$PAIR_SRC/../../.." && pwd)
. "$PAIR_REPO/devtools/dpdk-run.sh"

TESTPMD=${VU_TESTPMD:-dpdk-testpmd}
# what stdbuf preloads (coreutils' fixed path)
PAIR_STDBUF_LIB=${VU_STDBUF_LIB:-/usr/libexec/coreutils/libstdbuf.so}
PAIR_PIDS=()
PAIR_PREFIXES=()
PAIR_WATCHDOG=
PAIR_DONE=0

pair_log() {
	echo "[$PAIR_NAME +${SECONDS}s] $*"
}

pair_fail() {
	echo "FAIL: $PAIR_NAME: $*"
	PAIR_DONE=1
	exit 1
}

pair_pass() {
	echo "PASS: $PAIR_NAME: $*"
	PAIR_DONE=0
	exit 0
}

pair_skip() {
	case "${CI:-}" in
	true|TRUE|True|1|yes)
		echo "FAIL: $PAIR_NAME (CI=true, would be skipped): $*"
		PAIR_DONE=1
		exit 1
		;;
	esac
	echo "SKIP: $PAIR_NAME: $*"
	exit 77
}

# Stop every process we started (by PID), the watchdog, and remove what we
# created. On failure the end of every log goes to the test output first.
pair_cleanup() {
	local rc=$? i f idx=("${!PAIR_PIDS[@]}")
	trap - EXIT INT TERM
	# the last started first: a device must not go away under a driver
	# still starting (it would log errors that are not the failure)
	for ((i = ${#idx[@]} - 1; i >= 0; i--)); do
		vu_stop "${PAIR_PIDS[${idx[$i]}]}" 5
	done
	if [ -n "$PAIR_WATCHDOG" ]; then
		kill -TERM -- "-$PAIR_WATCHDOG" 2>/dev/null
		wait "$PAIR_WATCHDOG" 2>/dev/null
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -d "${PAIR_WORK:-}" ]; then
		[ "$PAIR_DONE" = 1 ] || echo "FAIL: $PAIR_NAME: exit status $rc"
		echo "---- $PAIR_WORK ----"
		ls -la "$PAIR_WORK"
		for f in "$PAIR_WORK"/*.log; do
			[ -f "$f" ] || continue
			echo "---- last lines of $(basename "$f") ----"
			tail -n 25 "$f" | tr -d '\r' | sed 's/\x1b\[[0-9;]*[A-Za-z]//g'
		done
	fi
	# our EAL runtime directories (one per --file-prefix)
	vu_rm_runtime "${PAIR_PREFIXES[@]}"
	vu_cleanup
	# VU_TEST_KEEP=1: leave the logs for a post-mortem
	if [ -n "${PAIR_WORK:-}" ] && [ "${VU_TEST_KEEP:-0}" = 1 ]; then
		echo "logs kept in $PAIR_WORK" >&2
	elif [ -n "${PAIR_WORK:-}" ]; then
		rm -rf "$PAIR_WORK"
	fi
	exit "$rc"
}

pair_init() {
	PAIR_NAME=$1
	PAIR_BUILD=$2
	PAIR_LIMIT=$3
	SECONDS=0
	[ -d "$PAIR_BUILD" ] || pair_fail "no build directory '$PAIR_BUILD'"
	PAIR_WORK=$(mktemp -d "${TMPDIR:-/tmp}/vu-$PAIR_NAME.XXXXXX") ||
		pair_fail "mktemp"
	trap pair_cleanup EXIT
	trap 'pair_fail "interrupted"' INT
	trap 'pair_fail "hard time limit of ${PAIR_LIMIT}s reached"' TERM
	vu_plugin_dir "$PAIR_BUILD" >/dev/null ||
		pair_fail "PMDs not built in $PAIR_BUILD"
	# A sanitizer build: PMDs built with -fsanitize=address load into
	# Debian's uninstrumented testpmd only with the ASan runtime preloaded
	# (first); testpmd's own leaks at exit are not ours to report. All is
	# slower: the time limit is 3 times longer (meson test is run with
	# --timeout-multiplier 3 there).
	PAIR_ASAN_LIB=$(ldd "$VU_BACKEND_PMD" 2>/dev/null |
		awk '/libasan\.so/ { print $3; exit }')
	if [ -n "$PAIR_ASAN_LIB" ]; then
		PAIR_LIMIT=$((PAIR_LIMIT * 3))
		pair_log "sanitizer build: testpmd runs with $PAIR_ASAN_LIB preloaded"
	fi
	# the watchdog is a session of its own: cleanup kills it whole
	setsid bash -c 'sleep "$1"; kill -TERM "$2"' pair-watchdog \
		"$PAIR_LIMIT" $$ </dev/null >/dev/null 2>&1 &
	PAIR_WATCHDOG=$!
}

# pair_prefix NAME: a --file-prefix of our own in PFX (not in a $(...):
# its runtime directory is recorded to be removed at exit).
pair_prefix() {
	PFX="vu-$PAIR_NAME-$1-$$"
	PAIR_PREFIXES+=("$PFX")
}

# EAL memory options for one of NPROCS processes of MB megabytes each:
# hugepages if VU_NO_HUGE is not 1 and enough are free for all of them,
# else --no-huge. Hugepage files are unlinked at once (--huge-unlink): a
# process that dies leaves nothing behind in hugetlbfs.
pair_mem_args() {
	local mb=$1 nprocs=${2:-1}
	if [ "${VU_NO_HUGE:-0}" != 1 ] &&
	   [ "$(vu_free_hugepages)" -ge $((nprocs * ((mb + 1) / 2 + 16))) ]; then
		echo "$(vu_mem_args "$mb") --huge-unlink"
	else
		VU_NO_HUGE=1 vu_mem_args "$mb"
	fi
}

pair_mem_mode() {
	case "$1" in *no-huge*) echo "no hugepages (memfd)";; *) echo "hugepages";; esac
}

# kB of hugepage mappings of a process (mappings whose kernel page size is
# larger than the base page), from /proc/PID/smaps.
pair_huge_kb() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / { size = 0 }
	     /^Size:/ { size = $2 }
	     /^KernelPageSize:/ && $2 > 4 { total += size }
	     END { print total + 0 }' "/proc/$1/smaps" 2>/dev/null || echo 0
}

# pair_check_mem LABEL PID MEM: what pair_mem_mode says of MEM is what the
# process got: hugepages mapped for a hugepage run, none with --no-huge.
# A run reported as "hugepages" has used them.
pair_check_mem() {
	local label=$1 pid=$2 mem=$3 kb
	kb=$(pair_huge_kb "$pid")
	case $mem in
	*no-huge*)
		[ "$kb" -eq 0 ] ||
			pair_fail "$label: started with --no-huge, but pid $pid maps $kb kB of hugepages"
		;;
	*)
		[ "$kb" -gt 0 ] ||
			pair_fail "$label: a hugepage run, but pid $pid maps no hugepages"
		pair_log "$label: pid $pid maps $kb kB of hugepages"
		;;
	esac
}

# pair_bg NAME CMD...: start CMD in the background, output in NAME.log.
# Sets PID_NAME.
pair_bg() {
	local name=$1
	shift
	# emptied here, not by the child: no stale lines once we return
	: >"$PAIR_WORK/$name.log"
	"$@" </dev/null >>"$PAIR_WORK/$name.log" 2>&1 &
	printf -v "PID_$name" %s $!
	PAIR_PIDS+=($!)
}

# pair_bg_testpmd NAME ARGS...: testpmd in the background (as pair_bg),
# with the ASan runtime preloaded in a sanitizer build (as tp_start does).
pair_bg_testpmd() {
	local name=$1
	shift
	if [ -n "$PAIR_ASAN_LIB" ]; then
		pair_bg "$name" env LD_PRELOAD="$PAIR_ASAN_LIB" \
			ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
			"$TESTPMD" "$@"
	else
		pair_bg "$name" "$TESTPMD" "$@"
	fi
}

# pair_forget PID: a process that ended and was reaped is no longer ours
# to stop (its PID may be reused).
pair_forget() {
	local i
	for i in "${!PAIR_PIDS[@]}"; do
		[ "${PAIR_PIDS[$i]}" = "$1" ] && unset "PAIR_PIDS[$i]"
	done
}

pair_alive() {
	kill -0 "$1" 2>/dev/null
}

# pair_wait_exit PID SECS: wait for a process to end; its status in
# PAIR_STATUS (124 if it had to be killed).
pair_wait_exit() {
	local pid=$1 secs=$2 i
	for ((i = 0; i < secs * 100; i++)); do
		pair_alive "$pid" || break
		sleep 0.01
	done
	if pair_alive "$pid"; then
		vu_stop "$pid" 3
		pair_forget "$pid"
		PAIR_STATUS=124
		return 1
	fi
	wait "$pid" 2>/dev/null
	PAIR_STATUS=$?
	pair_forget "$pid"
	return 0
}

# pair_wait_log NAME REGEX SECS [PID]: wait for a line matching REGEX in
# NAME.log; fails at once if PID died.
pair_wait_log() {
	local name=$1 re=$2 secs=$3 pid=${4:-} i
	for ((i = 0; i < secs * 50; i++)); do
		grep -a -q -E -- "$re" "$PAIR_WORK/$name.log" 2>/dev/null && return 0
		if [ -n "$pid" ] && ! pair_alive "$pid"; then
			grep -a -q -E -- "$re" "$PAIR_WORK/$name.log" 2>/dev/null &&
				return 0
			return 1
		fi
		sleep 0.02
	done
	return 1
}

# ---- testpmd, interactive, commands through a fifo ----

# tp_start NAME EAL/testpmd ARGS...: starts "$TESTPMD ARGS -i" (-i is added
# by the caller after --) and waits for its first prompt.
tp_start() {
	local name=$1 fd
	shift
	mkfifo "$PAIR_WORK/$name.in"
	: >"$PAIR_WORK/$name.log"
	# line-buffered stdout (stdbuf): statistics show up in the log as
	# printed
	if [ -n "$PAIR_ASAN_LIB" ]; then
		# stdbuf's own preload after ASan's, which must come first
		env LD_PRELOAD="$PAIR_ASAN_LIB $PAIR_STDBUF_LIB" _STDBUF_O=L \
			ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
			"$TESTPMD" "$@" <"$PAIR_WORK/$name.in" \
			>>"$PAIR_WORK/$name.log" 2>&1 &
	else
		stdbuf -oL "$TESTPMD" "$@" <"$PAIR_WORK/$name.in" \
			>>"$PAIR_WORK/$name.log" 2>&1 &
	fi
	printf -v "PID_$name" %s $!
	PAIR_PIDS+=($!)
	exec {fd}>"$PAIR_WORK/$name.in"
	printf -v "TPFD_$name" %s "$fd"
	tp_wait_prompts "$name" 1 60 ||
		pair_fail "$name: testpmd did not come up"
}

tp_prompts() {
	grep -a -o 'testpmd> ' "$PAIR_WORK/$1.log" 2>/dev/null | wc -l
}

tp_wait_prompts() {
	local name=$1 n=$2 secs=$3 i pidv="PID_$1"
	for ((i = 0; i < secs * 50; i++)); do
		[ "$(tp_prompts "$name")" -ge "$n" ] && return 0
		pair_alive "${!pidv}" || return 1
		sleep 0.02
	done
	return 1
}

# tp_cmd NAME CMD [SECS]: run one command and wait for it to finish (the
# next prompt).
tp_cmd() {
	local name=$1 cmd=$2 secs=${3:-30} n fdv="TPFD_$1"
	n=$(tp_prompts "$name")
	echo "$cmd" >&"${!fdv}" || pair_fail "$name: cannot send '$cmd'"
	tp_wait_prompts "$name" $((n + 1)) "$secs" ||
		pair_fail "$name: '$cmd' did not complete in ${secs}s"
}

# tp_quit NAME: "quit", then the process must end by itself, status 0.
tp_quit() {
	local name=$1 fdv="TPFD_$1" pidv="PID_$1"
	{ echo quit >&"${!fdv}"; } 2>/dev/null
	eval "exec {$fdv}>&-"
	pair_wait_exit "${!pidv}" 30 ||
		pair_fail "$name: testpmd did not exit after quit"
	[ "$PAIR_STATUS" -eq 0 ] ||
		pair_fail "$name: testpmd exited with status $PAIR_STATUS"
}

# The last NIC statistics block ("show port stats"): sets NIC_RX NIC_TX
# NIC_RXB NIC_TXB NIC_MISSED NIC_RXERR NIC_TXERR NIC_NOMBUF.
tp_nic_stats() {
	local log="$PAIR_WORK/$1.log" block
	block=$(tr -d '\r' <"$log" |
		awk '/NIC statistics for port/ { b = "" } { b = b $0 "\n" }
		     END { printf "%s", b }')
	NIC_RX=$(echo "$block" | sed -n 's/.*RX-packets: *\([0-9]*\).*RX-missed.*/\1/p' | head -1)
	NIC_MISSED=$(echo "$block" | sed -n 's/.*RX-missed: *\([0-9]*\).*/\1/p' | head -1)
	NIC_RXB=$(echo "$block" | sed -n 's/.*RX-bytes: *\([0-9]*\).*/\1/p' | head -1)
	NIC_RXERR=$(echo "$block" | sed -n 's/.*RX-errors: *\([0-9]*\).*/\1/p' | head -1)
	NIC_NOMBUF=$(echo "$block" | sed -n 's/.*RX-nombuf: *\([0-9]*\).*/\1/p' | head -1)
	NIC_TX=$(echo "$block" | sed -n 's/.*TX-packets: *\([0-9]*\).*TX-errors.*/\1/p' | head -1)
	NIC_TXERR=$(echo "$block" | sed -n 's/.*TX-errors: *\([0-9]*\).*/\1/p' | head -1)
	NIC_TXB=$(echo "$block" | sed -n 's/.*TX-bytes: *\([0-9]*\).*/\1/p' | head -1)
	[ -n "$NIC_RX" ] && [ -n "$NIC_TX" ] ||
		pair_fail "$1: no port statistics in its output"
}

# The last "Accumulated forward statistics" block: sets FWD_RX FWD_RXDROP
# FWD_TX FWD_TXDROP.
tp_fwd_stats() {
	local log="$PAIR_WORK/$1.log" block
	block=$(tr -d '\r' <"$log" |
		awk '/Accumulated forward statistics/ { b = ""; on = 1; next }
		     on && /RX-packets|TX-packets/ { b = b $0 "\n" }
		     on && /\+\+\+\+\+\+\+\+\+\+$/ { on = 0 }
		     END { printf "%s", b }')
	FWD_RX=$(echo "$block" | sed -n 's/.*RX-packets: *\([0-9]*\).*/\1/p' | head -1)
	FWD_RXDROP=$(echo "$block" | sed -n 's/.*RX-dropped: *\([0-9]*\).*/\1/p' | head -1)
	FWD_TX=$(echo "$block" | sed -n 's/.*TX-packets: *\([0-9]*\).*/\1/p' | head -1)
	FWD_TXDROP=$(echo "$block" | sed -n 's/.*TX-dropped: *\([0-9]*\).*/\1/p' | head -1)
	[ -n "$FWD_RX" ] && [ -n "$FWD_TX" ] ||
		pair_fail "$1: no forward statistics in its output"
}

# Mpps over SECONDS (awk: bash has no floating point).
pair_mpps() {
	awk -v p="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.3f", p / s / 1e6; else print "-" }'
}

# EAL's runtime directory (where each process has its telemetry socket).
PAIR_RT=/var/run/dpdk
[ "$(id -u)" -eq 0 ] || PAIR_RT=${XDG_RUNTIME_DIR:-/tmp}/dpdk

# pair_wait_telemetry PREFIX: wait (5 s at most) for the telemetry socket
# of the process with EAL file prefix PREFIX; fails the test without it.
pair_wait_telemetry() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ -S "$PAIR_RT/$1/dpdk_telemetry.v2" ] && return 0
		sleep 0.1
	done
	pair_fail "$1: no telemetry socket"
}

# pair_tel_kv PREFIX COMMAND: one request to the telemetry socket of the
# process with EAL file prefix PREFIX; prints the reply's values as
# "key=value" words ("result=bad-reply" when the value is no object).
pair_tel_kv() {
	python3 - "$PAIR_RT/$1/dpdk_telemetry.v2" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(30)
s.connect(sys.argv[1])
json.loads(s.recv(4096).decode())
s.send(sys.argv[2].encode())
reply = json.loads(s.recv(1 << 16).decode())
val = list(reply.values())[0]
if not isinstance(val, dict):
    print("result=bad-reply")
else:
    print(" ".join("%s=%s" % (k, str(v).replace(" ", "_"))
                   for k, v in val.items()))
PY
}

# pair_kv_word KEY LINE: the value of key=value in LINE (of pair_tel_kv).
pair_kv_word() {
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}
