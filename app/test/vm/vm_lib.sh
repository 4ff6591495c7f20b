# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Host side of the VM tests (sourced by app/test/vm/test_*.sh): Debian's
# dpdk-testpmd serves net_vfio_user on a socket in a private directory, a
# QEMU (devtools/vm.sh) boots a Debian guest on it whose stock virtio_net
# driver drives our device, the guest script prints "VMTEST PASS/FAIL"
# lines on the serial console, and every process is stopped by PID with
# bounded waits.
#
# A test exits 77 (skipped) only when the VM cannot be built here
# (devtools/vm.sh build failed: no network to the Debian mirror, ...);
# with CI=true that is a failure (exit 1) instead: CI must run them.
#
# Environment: VU_TEST_BUILD_ROOT (set by meson), VU_TESTPMD (default
# dpdk-testpmd), VU_VM_KEEP=1 keeps the work directory (logs) afterwards,
# VU_VM_TP_LOG=TYPE:LEVEL one more testpmd --log-level (e.g.
# lib.vfio_user:debug: every DMA_MAP/UNMAP), VM_MEM_PATH=DIR guest RAM in
# a file in DIR (devtools/vm.sh --mem-path).

set -euo pipefail

VM_TEST_DIR=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
REPO=$(cd "$VM_TEST_DIR/../../.." && pwd)
BUILD=${VU_TEST_BUILD_ROOT:?"run me through meson test (VU_TEST_BUILD_ROOT)"}
TESTPMD=${VU_TESTPMD:-dpdk-testpmd}
# The guest's address and the one testpmd's icmpecho mode answers for
# (TEST-NET-1, RFC 5737: never routed; the packets only ever travel over
# the vfio-user socket between QEMU and testpmd).
GUEST_IP=192.0.2.2
PEER_IP=192.0.2.1

VM_PIDS=()
VM_WORK=
TP_PID=
TP_SOCK=
TP_LOG=

vm_skip() {
	case "${CI:-}" in
	true|TRUE|True|1|yes)
		echo "FAIL (CI=true, would be skipped): $*"
		exit 1
		;;
	esac
	echo "SKIP: $*"
	exit 77
}
vm_die() {
	echo "FAIL: $*"
	exit 1
}

vm_cleanup() {
	local i
	# newest first: the VMs before the testpmd serving them
	for ((i = ${#VM_PIDS[@]} - 1; i >= 0; i--)); do
		vu_stop "${VM_PIDS[i]}" 10
	done
	vu_rm_runtime "vuvm$$"
	vu_cleanup 2>/dev/null || true
	if [ -n "$VM_WORK" ]; then
		if [ "${VU_VM_KEEP:-0}" = 1 ]; then
			echo "logs kept in $VM_WORK"
		else
			rm -rf "$VM_WORK"
		fi
	fi
}

# Build (or find cached) QEMU and guest, the plugin dir and vmtool.
vm_setup() {
	VM_WORK=$(mktemp -d "${TMPDIR:-/tmp}/vu-vm.XXXXXX")
	. "$REPO/devtools/dpdk-run.sh"
	trap vm_cleanup EXIT
	# meson's timeout sends SIGTERM: exit through the EXIT trap, which
	# stops testpmd and QEMU
	trap 'exit 143' TERM INT
	if ! "$REPO/devtools/vm.sh" build >"$VM_WORK/build.log" 2>&1; then
		tail -n 25 "$VM_WORK/build.log"
		vm_skip "the VM (QEMU >= 10.1 with vfio-user-pci, Debian guest kernel) cannot be built on this machine: see devtools/vm.sh's messages above"
	fi
	eval "$("$REPO/devtools/vm.sh" env)"
	echo "VM: QEMU $VM_QEMU_VERSION, guest kernel $VM_KERNEL_VERSION"
	command -v "$TESTPMD" >/dev/null ||
		vm_die "$TESTPMD not found (apt-get install dpdk)"
	[ -f "$BUILD/drivers/net/vfio_user/librte_net_vfio_user.so" ] ||
		vm_die "net_vfio_user not built in $BUILD"
	vu_plugin_dir "$BUILD" || vm_die "cannot copy the PMDs"
	# the guest tool (static: the guest has no libc but busybox's; plain
	# -O2: the emulated CPU has none of the build machine's extensions),
	# built once per build directory, again when vmtool.c changes
	local tool=$BUILD/app/test/vm/vmtool-guest
	if ! [ -x "$tool" ] || [ "$VM_TEST_DIR/vmtool.c" -nt "$tool" ]; then
		mkdir -p "$(dirname "$tool")"
		cc -static -O2 -o "$tool.$$" "$VM_TEST_DIR/vmtool.c" &&
			mv "$tool.$$" "$tool" ||
			vm_die "cannot build the guest tool vmtool.c (cc -static)"
	fi
	cp "$tool" "$VM_WORK/vmtool"
}

# tp_start FWD_MODE DEVARGS [testpmd application args...]
# Start testpmd serving net_vfio_user0 on $VM_WORK/vnic.sock; wait until
# it forwards. Sets TP_PID, TP_SOCK, TP_LOG. TP_EAL_ARGS (an array): more
# EAL arguments (another --vdev).
TP_EAL_ARGS=()
tp_start() {
	local fwd=$1 devargs=$2 i
	shift 2
	TP_SOCK=$VM_WORK/vnic.sock
	TP_LOG=$VM_WORK/testpmd.log
	rm -f "$TP_SOCK"
	# --no-huge: testpmd's memory is one mapping made at start, so the
	# leak check of the lifecycle test compares like with like.
	"$TESTPMD" -l 0,1 --no-huge -m 512 --file-prefix "vuvm$$" --no-pci \
		-d "$VU_BACKEND_PMD" \
		--vdev "net_vfio_user0,path=$TP_SOCK${devargs:+,$devargs}" \
		${TP_EAL_ARGS[@]+"${TP_EAL_ARGS[@]}"} \
		--log-level=pmd.net.vfio_user:info ${VU_VM_TP_LOG:+--log-level=$VU_VM_TP_LOG} \
		-- --forward-mode="$fwd" --stats-period=1 \
		--total-num-mbufs=16384 "$@" </dev/null >"$TP_LOG" 2>&1 &
	TP_PID=$!
	VM_PIDS+=("$TP_PID")
	for ((i = 0; i < 300; i++)); do
		grep -q "NIC statistics for port" "$TP_LOG" 2>/dev/null && break
		kill -0 "$TP_PID" 2>/dev/null || break
		sleep 0.1
	done
	if ! [ -S "$TP_SOCK" ] || ! kill -0 "$TP_PID" 2>/dev/null; then
		cat "$TP_LOG"
		vm_die "testpmd did not start serving $TP_SOCK"
	fi
	echo "testpmd (pid $TP_PID): --forward-mode=$fwd --vdev net_vfio_user0,path=$TP_SOCK${devargs:+,$devargs} $*"
}

# ---- testpmd's counters, through its telemetry socket ----
TELPY=${VU_TELEMETRY_PY:-dpdk-telemetry.py}
TELCHECK=(python3 "$REPO/app/test/telemetry/tel_check.py")

# tp_telemetry FILE CMD...: testpmd's replies to CMD... (e.g.
# /ethdev/xstats,0) into FILE; false, said and the test failed, without
tp_telemetry() {
	local out=$1
	shift
	command -v "$TELPY" >/dev/null 2>&1 ||
		vm_die "$TELPY not found (Debian package dpdk)"
	printf '%s\n' "$@" | "$TELPY" -f "vuvm$$" >"$out" 2>&1 || true
	if ! grep -q '^{' "$out"; then
		cat "$out"
		echo "host: no reply from testpmd's telemetry socket (prefix vuvm$$)"
		VM_FAILED=1
		return 1
	fi
}

# tel_get FILE CMD NAME: the value NAME of CMD's reply in FILE, or "?"
tel_get() {
	"${TELCHECK[@]}" get "$1" "$2" "$3" 2>/dev/null || echo "?"
}

# tp_count PATTERN: how many lines of testpmd's log match PATTERN
tp_count() { grep -ac -- "$1" "$TP_LOG" || true; }

# tp_check WHAT CONDITION...: a host-side check, said; the test fails if
# CONDITION does not hold
tp_check() {
	local what=$1
	shift
	if "$@" 2>/dev/null; then
		echo "host: $what: ok"
	else
		echo "host: $what: FAILED ($*)"
		VM_FAILED=1
	fi
}

# ---- testpmd's file descriptors and mappings, before and after VMs ----
# Run the test with MALLOC_ARENA_MAX=1: otherwise glibc maps a new 64 MiB
# arena for the vfio-user event thread at its first malloc (the first
# connection), two more lines in /proc/PID/maps that are no leak. With one
# arena, a mapping that stays is a real one (mmap, or a large malloc).
tp_count_fds() { ls "/proc/$TP_PID/fd" | wc -l; }
tp_count_maps() { wc -l < "/proc/$TP_PID/maps"; }
tp_list_fds() { ls -l "/proc/$TP_PID/fd" | awk '{ print $9, $10, $11 }'; }

# tp_resources_before: what testpmd holds before the first QEMU (after a
# settling delay: its forwarding start allocates)
TP_FDS0=
TP_MAPS0=
tp_resources_before() {
	sleep 2
	TP_FDS0=$(tp_count_fds)
	TP_MAPS0=$(tp_count_maps)
	cp "/proc/$TP_PID/maps" "$VM_WORK/maps.before"
	tp_list_fds > "$VM_WORK/fds.before"
	echo "testpmd before the first QEMU: $TP_FDS0 fds, $TP_MAPS0 mappings"
}

# tp_resources_check: testpmd still runs and holds no more descriptors or
# mappings than tp_resources_before saw (waiting up to 10 s: a disconnect
# is asynchronous); the differences are printed and the test fails if not
tp_resources_check() {
	local fds=$TP_FDS0 maps=$TP_MAPS0 i
	kill -0 "$TP_PID" 2>/dev/null || { echo "testpmd died"; VM_FAILED=1; return; }
	for ((i = 0; i < 50; i++)); do
		fds=$(tp_count_fds)
		maps=$(tp_count_maps)
		[ "$fds" -le "$TP_FDS0" ] && [ "$maps" -le "$TP_MAPS0" ] && break
		sleep 0.2
	done
	echo "testpmd after the last QEMU: $fds fds (before: $TP_FDS0), $maps mappings (before: $TP_MAPS0)"
	if [ "$fds" -gt "$TP_FDS0" ] || [ "$maps" -gt "$TP_MAPS0" ]; then
		echo "testpmd leaks file descriptors or mappings (before -> after):"
		tp_list_fds | diff "$VM_WORK/fds.before" - | sed 's/^/  | /'
		diff "$VM_WORK/maps.before" "/proc/$TP_PID/maps" | sed 's/^/  | /'
		VM_FAILED=1
	fi
}

tp_stop() {
	[ -n "$TP_PID" ] && vu_stop "$TP_PID" 10
	TP_PID=
}

# vm_start NAME SCRIPT [vm.sh run args...]: boot a VM in the background
# on TP_SOCK. Sets VM_PID, VM_LOG. With VM_VIOMMU=1 the device sits behind
# QEMU's emulated Intel IOMMU (created first, caching-mode=on, as
# doc/guides/howto/vm.rst says); the guest's command line turns it on.
# With VM_HOTPLUG=1 the VM boots without the device, with an empty PCIe
# root port (rp0) to plug it into and QMP on VM_QMP (vm_plug, vm_unplug).
VM_QMP=
vm_start() {
	local name=$1 script=$2
	local dev=(--socket "$TP_SOCK")
	shift 2
	if [ "${VM_HOTPLUG:-0}" = 1 ]; then
		VM_QMP=$VM_WORK/qmp-$name.sock
		dev=(--qemu-arg -device
		     --qemu-arg pcie-root-port,id=rp0,chassis=1,slot=1
		     --qemu-arg -qmp
		     --qemu-arg "unix:$VM_QMP,server=on,wait=off")
	elif [ "${VM_VIOMMU:-0}" = 1 ]; then
		dev=(--qemu-arg -device --qemu-arg intel-iommu,caching-mode=on
		     --qemu-arg -device --qemu-arg
		     "{\"driver\":\"vfio-user-pci\",\"socket\":{\"type\":\"unix\",\"path\":\"$TP_SOCK\"}}")
	fi
	# VM_MEM_PATH=DIR: guest RAM in a file there (/dev/hugepages)
	[ -n "${VM_MEM_PATH:-}" ] && dev+=(--mem-path "$VM_MEM_PATH")
	# 256 MiB of guest RAM (VM_MEM_MB): plenty for the busybox guest, and
	# testpmd (mlockall) prefaults all of it at the first DMA_MAP (2 s
	# for 512 MiB on this machine)
	dev+=(--mem "${VM_MEM_MB:-256}")
	VM_NAME=$name
	VM_LOG=$VM_WORK/serial-$name.log
	: > "$VM_LOG"
	"$REPO/devtools/vm.sh" run "${dev[@]}" --script "$script" \
		--file "$VM_WORK/vmtool" --file "$VM_TEST_DIR/guest_lib.sh" \
		--serial "$VM_LOG" "$@" \
		>"$VM_WORK/qemu-$name.log" 2>&1 &
	VM_PID=$!
	VM_PIDS+=("$VM_PID")
	echo "VM $name (QEMU pid $VM_PID) booting: $(basename "$script") $*"
}

# vm_qmp COMMAND [JSON-ARGS] [--event NAME] [--timeout S]: one QMP
# command to the running VM (app/test/vm/qmp.py), its reply printed
vm_qmp() {
	local i
	for ((i = 0; i < 50; i++)); do	# QEMU makes the socket at start
		[ -S "$VM_QMP" ] && break
		sleep 0.1
	done
	python3 "$VM_TEST_DIR/qmp.py" "$VM_QMP" "$@" 2>&1 | sed 's/^/  qmp| /'
	return "${PIPESTATUS[0]}"
}

# vm_plug: hot-plug our device (id vnic, on TP_SOCK) into the root port
vm_plug() {
	echo "host: device_add vfio-user-pci on $TP_SOCK"
	vm_qmp device_add "{\"driver\":\"vfio-user-pci\",\"id\":\"vnic\",\"bus\":\"rp0\",\"socket\":{\"type\":\"unix\",\"path\":\"$TP_SOCK\"}}"
}

# vm_unplug: ask the guest to let the device go (device_del) and wait up
# to 60 s until QEMU has removed it (DEVICE_DELETED)
vm_unplug() {
	echo "host: device_del vnic"
	vm_qmp device_del '{"id":"vnic"}' --event DEVICE_DELETED --timeout 60
}

# vm_wait_for PATTERN SECONDS: wait until the serial log matches (0), the
# VM exits (1) or time runs out (2).
vm_wait_for() {
	local pat=$1 secs=$2 i
	for ((i = 0; i < secs * 5; i++)); do
		grep -qE "$pat" "$VM_LOG" 2>/dev/null && return 0
		if grep -q "Kernel panic" "$VM_LOG" 2>/dev/null; then
			sleep 1
			return 1
		fi
		kill -0 "$VM_PID" 2>/dev/null || {
			grep -qE "$pat" "$VM_LOG" 2>/dev/null && return 0
			return 1
		}
		sleep 0.2
	done
	return 2
}

# vm_finish SECONDS: wait for the guest to power off (QEMU exits), killing
# QEMU after SECONDS. Prints the serial log. 0 if the guest got to
# "VMTEST END".
vm_finish() {
	local secs=$1 rc=0
	vm_wait_for "VMTEST END" "$secs" || rc=$?
	# the guest powers off right after END
	for ((i = 0; i < 100; i++)); do
		kill -0 "$VM_PID" 2>/dev/null || break
		sleep 0.1
	done
	vu_stop "$VM_PID" 5
	echo "---- serial console ($VM_LOG) ----"
	tr -d '\r' < "$VM_LOG" | sed 's/^/  | /'
	echo "---- end of serial console ----"
	if [ -s "$VM_WORK/qemu-$VM_NAME.log" ]; then
		echo "---- QEMU's messages ----"
		sed 's/^/  | /' "$VM_WORK/qemu-$VM_NAME.log"
	fi
	case $rc in
	0) return 0 ;;
	1) echo "VM exited before VMTEST END"; return 1 ;;
	*) echo "VM timed out after $secs s (killed)"; return 1 ;;
	esac
}

# vm_expect NAME...: every NAME has a "VMTEST PASS NAME" line in VM_LOG
# and no "VMTEST FAIL" line appeared, and QEMU warned of nothing. Adds to
# VM_FAILED.
VM_FAILED=0
vm_expect() {
	local n log=$VM_LOG.txt
	# a plain copy first: `tr | grep -q` would fail under pipefail when
	# grep stops reading early (SIGPIPE to tr)
	tr -d '\r' < "$VM_LOG" > "$log"
	for n in "$@"; do
		if ! grep -qx "VMTEST PASS $n" "$log"; then
			echo "missing: VMTEST PASS $n"
			VM_FAILED=1
		fi
	done
	if grep -q "^VMTEST FAIL" "$log"; then
		grep "^VMTEST FAIL" "$log"
		VM_FAILED=1
	fi
	# QEMU has nothing to warn about our device (a user sees it at every
	# start: "Could not enable error recovery" came with an ERR count 0)
	if grep -qi "warning:" "$VM_WORK/qemu-$VM_NAME.log" 2>/dev/null; then
		echo "QEMU warned:"
		grep -i "warning:" "$VM_WORK/qemu-$VM_NAME.log"
		VM_FAILED=1
	fi
}

vm_done() {
	if [ "$VM_FAILED" != 0 ]; then
		echo "---- testpmd log (periodic statistics left out) ----"
		grep -avE '^ *(RX-|TX-|Rx-|Tx-|#|Throughput|Port statistics|$)' \
			"$TP_LOG" | grep -av $'\e\\[2J' | tail -n 80 | sed 's/^/  | /'
		echo "FAIL"
		exit 1
	fi
	echo "PASS"
}
