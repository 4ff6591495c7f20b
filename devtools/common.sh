# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Setup steps shared by devtools/test.sh and devtools/demo.sh (sourced):
# Debian packages, hugepages, the DPDK driver-SDK headers, meson setup.
# Expects to run from the repository root.

# "label=path/to/testlog.json" for every test run that happened.
TESTLOGS=()
# Failures outside meson test (a build that broke, a runner that crashed):
# counted as failed tests in the summary so they cannot go unnoticed.
EXTRA_FAILURES=()
# meson options for the PMDs, filled in by configure_drivers.
DRIVER_OPTS=()

# A cross-CPU round trip over this many times the run's lowest: the host
# had the two vCPUs far apart (bench.sh's '!' marks, demo.sh's summary;
# the Python reports' --c2c-far, devtools/bench_c2c.py).
VU_C2C_FAR=2

# A step's heading, with the time since the script started: where a long
# run (devtools/test.sh in CI) spends its minutes.
step() {
	echo "== $* (at $((SECONDS / 60)) min $((SECONDS % 60)) s)"
}

# CI mode (CI=true, as .ci/run is run): whatever keeps the PMDs or the VM
# tests from being built or run is a failure, and so is a skipped test.
is_ci() {
	case "${CI:-}" in
	true|TRUE|True|1|yes) return 0 ;;
	esac
	return 1
}
warn() {
	echo "WARNING: $*" >&2
}

PACKAGES=(
	build-essential pkg-config meson ninja-build
	dpdk dpdk-dev libdpdk-dev python3-pyelftools libnuma-dev
	libjansson-dev libcmocka-dev
	clang libclang-rt-14-dev valgrind
	clang-format python3-sphinx graphviz doxygen
)

# --- 1. packages -----------------------------------------------------------

missing_packages() {
	local p status
	for p in "$@"; do
		status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) || status=
		[ "$status" = installed ] || echo "$p"
	done
}

ensure_packages() {
	local missing
	if [ "${VU_SKIP_INSTALL:-0}" = 1 ]; then
		return 0
	fi
	if ! command -v dpkg-query >/dev/null 2>&1; then
		warn "not a Debian system: cannot check packages (${PACKAGES[*]})"
		return 0
	fi
	mapfile -t missing < <(missing_packages "${PACKAGES[@]}")
	if [ ${#missing[@]} -eq 0 ]; then
		return 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "Missing Debian packages: ${missing[*]}" >&2
		echo "Install them as root with:" >&2
		echo "    apt-get install ${missing[*]}" >&2
		exit 1
	fi
	step "installing packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -q -o DPkg::Lock::Timeout=300 update
	apt-get -q -y -o DPkg::Lock::Timeout=300 install --no-install-recommends \
		"${missing[@]}"
}

# --- 2. hugepages ----------------------------------------------------------

hugepages_total() {
	awk '/^HugePages_Total:/ { print $2 }' /proc/meminfo 2>/dev/null || true
}

# Best effort, never fails: reserve 2 MB pages and mount hugetlbfs (EAL
# needs both to use them) when running as root and nothing is configured.
setup_hugepages() {
	local total
	total=$(hugepages_total)
	if [ "${total:-0}" -eq 0 ] && [ "$(id -u)" -eq 0 ]; then
		(echo 1024 > /proc/sys/vm/nr_hugepages) 2>/dev/null || true
		total=$(hugepages_total)
	fi
	if [ "${total:-0}" -eq 0 ]; then
		echo "hugepages: none (tests run without them)"
		return 0
	fi
	if ! grep -qs ' hugetlbfs ' /proc/mounts && [ "$(id -u)" -eq 0 ]; then
		{ mkdir -p /dev/hugepages &&
		  mount -t hugetlbfs nodev /dev/hugepages; } 2>/dev/null || true
	fi
	if grep -qs ' hugetlbfs ' /proc/mounts; then
		echo "hugepages: $total, hugetlbfs mounted"
	else
		echo "hugepages: $total reserved but no hugetlbfs mount (EAL cannot use them)"
	fi
}

# --- 3. DPDK driver-SDK headers (hook for the PMDs) ------------------------

# Debian's libdpdk-dev lacks the driver-SDK headers a vdev ethdev PMD needs;
# get-dpdk-sdk-headers.sh fetches them from Debian's source package of the
# installed version. If that fails the PMDs are not built, but the library,
# examples and tests still are; with CI=true that also counts as a failure
# (the PMD, pair and VM tests would be missing from the count).
configure_drivers() {
	local dir
	step "fetching DPDK driver-SDK headers"
	if dir=$(devtools/get-dpdk-sdk-headers.sh) && [ -n "$dir" ] && [ -d "$dir" ]; then
		echo "driver-SDK headers: $dir"
		DRIVER_OPTS=(-Ddrivers=true "-Ddpdk_sdk_headers=$dir")
	else
		warn "could not get the DPDK driver-SDK headers (see above):" \
			"building WITHOUT the PMDs (-Ddrivers=false)"
		DRIVER_OPTS=(-Ddrivers=false)
		if is_ci; then
			EXTRA_FAILURES+=("setup: no DPDK driver-SDK headers (CI=true): the PMDs and their nic, pair and vm tests cannot be built")
		fi
	fi
}

# --- 4./5. build and test --------------------------------------------------

# meson_setup DIR OPTION...: configure DIR, or reconfigure it if it exists.
meson_setup() {
	local dir=$1
	shift
	if [ -f "$dir/meson-private/coredata.dat" ]; then
		meson setup --reconfigure "$dir" "$@"
	else
		meson setup "$dir" "$@"
	fi
}

