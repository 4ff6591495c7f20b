#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# install: what `meson install` puts in place is usable as it is.
#
#   1. `meson install --destdir` into a private directory; the library,
#      headers, libdpdk-vfio-user.pc, the PMDs (in pkg-config's pmddir),
#      the tools and the skeleton example's sources must be there.
#   2. The skeleton device is built from its installed sources with its
#      Makefile: only pkg-config (PKG_CONFIG_PATH at the installation), no
#      path into this tree. It runs, the installed dpdk-vfio-user-info must
#      describe it as it is (ids, class, BAR0), and its DPDK telemetry
#      (/vfio_user/info,0, read with dpdk-telemetry.py) must show that
#      client's VERSION.
#   3. dpdk-testpmd loads the installed PMDs with -d <pmddir> (a directory,
#      as EAL's plugin directory) and serves net_vfio_user; the installed
#      info tool sees a virtio-net device (1af4:1041) on its socket.
# Nothing runs with LD_LIBRARY_PATH: the installed programs and PMDs find
# the library themselves (run-time paths relative to where they are).
#
#   test_install.sh BUILD_ROOT MESON DRIVERS(0|1)
# (DRIVERS 0: the PMDs were not built; their checks are left out.)

set -u
BUILD=${1:?usage: $0 BUILD_ROOT MESON DRIVERS}
MESON=${2:?usage: $0 BUILD_ROOT MESON DRIVERS}
DRIVERS=${3:-1}
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
. "$REPO/devtools/dpdk-run.sh"
TESTPMD=${VU_TESTPMD:-dpdk-testpmd}
TELPY=${VU_TELEMETRY_PY:-dpdk-telemetry.py}
TELCHECK=(python3 "$REPO/app/test/telemetry/tel_check.py")
unset LD_LIBRARY_PATH
PREFIXES=()

PIDS=()
WATCHDOG=
fail() {
	echo "FAIL: install: $*"
	exit 1
}
log() {
	echo "[install +${SECONDS}s] $*"
}
cleanup() {
	local rc=$? p
	trap - EXIT
	for p in "${PIDS[@]}"; do
		vu_stop "$p" 5
	done
	[ -n "$WATCHDOG" ] && kill -TERM -- "-$WATCHDOG" 2>/dev/null
	if [ "$rc" -ne 0 ] && [ -d "${WORK:-}" ]; then
		for f in "$WORK"/*.log; do
			[ -f "$f" ] || continue
			echo "---- last lines of $(basename "$f") ----"
			tail -n 20 "$f"
		done
	fi
	for p in "${PREFIXES[@]}"; do	# our EAL runtime directories
		rm -rf "/var/run/dpdk/$p" "${XDG_RUNTIME_DIR:-/tmp}/dpdk/$p"
	done
	[ -n "${WORK:-}" ] && rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
SECONDS=0
# EAL refuses a plugin below a world-writable directory (/tmp): the
# installation goes under $HOME's cache, as devtools/dpdk-run.sh does.
base=${XDG_CACHE_HOME:-$HOME/.cache}/dpdk-vfio-user
mkdir -p "$base" && chmod 755 "$base" || fail "cannot create $base"
WORK=$(mktemp -d "$base/install-test.XXXXXX") || fail "mktemp"
chmod 700 "$WORK"
DEST=$WORK/dest
# a watchdog in a session of its own: cleanup kills it whole
setsid bash -c 'sleep "$1"; kill -TERM "$2"' install-watchdog 150 $$ \
	</dev/null >/dev/null 2>&1 &
WATCHDOG=$!
trap 'fail "time limit reached"' TERM

# ---- 1. install ----
"$MESON" install -C "$BUILD" --no-rebuild --destdir "$DEST" \
	>"$WORK/install.log" 2>&1 || fail "meson install failed"
PC=$(find "$DEST" -name libdpdk-vfio-user.pc | head -n 1)
[ -n "$PC" ] || fail "no libdpdk-vfio-user.pc installed"
grep -q '^prefix=${pcfiledir}' "$PC" ||
	fail "$PC is not relocatable: configure with -Dpkgconfig.relocatable=true (the default of a new build directory)"
export PKG_CONFIG_PATH=${PC%/*}
pc() {
	pkg-config "$@" libdpdk-vfio-user || fail "pkg-config $* failed"
}
LIBDIR=$(readlink -f "$(pc --variable=libdir)")
INCDIR=$(readlink -f "$(pc --variable=includedir)")
BINDIR=$(cd "$(pc --variable=prefix)" && pwd)/bin
PMDS=()
if [ "$DRIVERS" = 1 ]; then
	PMDDIR=$(pc --variable=pmddir)
	[ -n "$PMDDIR" ] || fail "libdpdk-vfio-user.pc has no pmddir"
	PMDDIR=$(readlink -f "$PMDDIR")
	case "$PMDDIR" in
	*/dpdk/pmds-[0-9]*.[0-9]*) ;;
	*) fail "PMDs in ${PMDDIR#"$DEST"}, not <libdir>/dpdk/pmds-<ABI>";;
	esac
	PMDS=("$PMDDIR/librte_net_vfio_user.so"
	      "$PMDDIR/librte_net_vfio_user_client.so")
fi
for f in "$LIBDIR/librte_vfio_user.so" "$INCDIR/dpdk-vfio-user/rte_vfio_user.h" \
	"$INCDIR/dpdk-vfio-user/rte_vfio_user_pci.h" \
	"$INCDIR/dpdk-vfio-user/rte_vfio_user_client.h" \
	"$INCDIR/dpdk-vfio-user/vfio_user_proto.h" \
	"$BINDIR/dpdk-vfio-user-info" "$BINDIR/dpdk-vfio-user-sample" \
	"${PMDS[@]}"; do
	[ -e "$f" ] || fail "not installed: ${f#"$DEST"}"
done
pc --cflags --libs | grep -q -- '-lrte_vfio_user' ||
	fail "pkg-config --libs has no -lrte_vfio_user"
pkg-config --print-requires libdpdk-vfio-user | grep -q libdpdk ||
	fail "libdpdk-vfio-user does not require libdpdk"
log "1. installed: library, headers, pkg-config file, tools," \
	"${PMDDIR:+PMDs in ${PMDDIR#"$DEST"}}"

# ---- 1a. dpdk-pmdinfo.py describes the installed PMDs ----
# (names and devargs, from the PMD_INFO_STRING each PMD carries)
PMDINFO=${VU_PMDINFO:-dpdk-pmdinfo.py}
if [ "$DRIVERS" != 1 ]; then
	log "1a. left out: the PMDs were not built"
elif ! command -v "$PMDINFO" >/dev/null 2>&1; then
	log "1a. skipped: $PMDINFO not found (Debian package dpdk)"
else
	"$PMDINFO" "${PMDS[@]}" >"$WORK/pmdinfo.json" 2>"$WORK/pmdinfo.log" ||
		fail "$PMDINFO failed on the installed PMDs"
	python3 - "$WORK/pmdinfo.json" <<'PY' || fail "dpdk-pmdinfo.py: $(tr -d '\n' <"$WORK/pmdinfo.json")"
import json, sys
info = {d["name"]: d.get("params", "") for d in json.load(open(sys.argv[1]))}
want = {"net_vfio_user": ("path=", "queues=", "mtu=", "offload="),
        "net_virtio_vfio_user": ("path=", "queues=", "reconnect=", "timeout=")}
sys.exit(0 if all(n in info and all(k in info[n] for k in keys)
                  for n, keys in want.items()) else 1)
PY
	log "1a. $PMDINFO: net_vfio_user, net_virtio_vfio_user and their devargs"
fi

# ---- 1b. every installed header compiles alone, as C and as C++ ----
# (as DPDK's chkincs: an application includes one without the others,
# and the headers say extern "C" for C++ users)
HDRS=()
while IFS= read -r h; do HDRS+=("$h"); done < <(find "$INCDIR" -name '*.h' | sort)
[ ${#HDRS[@]} -ge 5 ] || fail "only ${#HDRS[@]} headers installed"
for h in "${HDRS[@]}"; do
	for cc in "cc -x c -std=gnu11" "c++ -x c++ -std=gnu++14"; do
		# shellcheck disable=SC2086 # $cc is a command and its flags
		printf '#include <%s>\n' "${h##*/}" |
			$cc -fsyntax-only -Wall -Wextra -Werror \
			-DALLOW_EXPERIMENTAL_API $(pc --cflags) - \
			>"$WORK/hdr.log" 2>&1 ||
			{ cat "$WORK/hdr.log" >&2; fail "${h#"$DEST"} does not compile alone (${cc%% *})"; }
	done
done
log "1b. ${#HDRS[@]} installed headers compile alone as C and C++"

# ---- 2. an out-of-tree device built with pkg-config ----
SRC=$(find "$DEST" -type d -path '*/examples/vfio_user_skeleton' | head -n 1)
[ -n "$SRC" ] || fail "the skeleton example's sources were not installed"
cp -r "$SRC" "$WORK/skeleton"
make -C "$WORK/skeleton" >"$WORK/make.log" 2>&1 || fail "make failed"
grep -q -- "$REPO" "$WORK/make.log" &&
	fail "the out-of-tree build used a path into the source tree"
SKEL=$WORK/skeleton/build/dpdk-vfio-user-skeleton
SKEL_PFX=vu-install-skel-$$
PREFIXES+=("$SKEL_PFX")
"$SKEL" -l 0 --no-huge -m 64 --no-pci --file-prefix "$SKEL_PFX" \
	-- "$WORK/skel.sock" >"$WORK/skeleton.log" 2>&1 &
PIDS+=($!)
vu_wait_socket "$WORK/skel.sock" 10 || fail "the skeleton did not listen"
"$BINDIR/dpdk-vfio-user-info" --json "$WORK/skel.sock" >"$WORK/skel.json" \
	2>"$WORK/info.log" || fail "dpdk-vfio-user-info failed on the skeleton"
python3 - "$WORK/skel.json" <<'EOF' || fail "the skeleton is not described as built"
import json, sys
d = json.load(open(sys.argv[1]))
pci = d["pci"]
bar0 = [b for b in pci["bars"] if b["index"] == 0]
ok = (pci["vendor_id"] == 0x1234 and pci["device_id"] == 0x5e1e and
      pci["class_code"] == 0xff0000 and d["flags"] == ["PCI"] and
      bar0 and bar0[0]["size"] == 4096 and bar0[0]["type"] == "memory" and
      d["regions"][0]["size"] == 4096 and d["regions"][7]["size"] == 256)
print(f"skeleton: {pci['vendor_id']:04x}:{pci['device_id']:04x} class "
      f"{pci['class_code']:06x}, BAR0 {bar0[0]['size'] if bar0 else None} bytes")
sys.exit(0 if ok else 1)
EOF
# its DPDK telemetry: the info tool was its one client (VERSION once)
if command -v "$TELPY" >/dev/null 2>&1; then
	for ((i = 0; i < 50; i++)); do
		echo /vfio_user/info,0 | "$TELPY" -f "$SKEL_PFX" >"$WORK/skel-tel.json" 2>&1
		[ "$("${TELCHECK[@]}" get "$WORK/skel-tel.json" /vfio_user/info \
			connected 2>/dev/null)" = 0 ] && break
		sleep 0.1
	done
	for kv in "path=$WORK/skel.sock" connected=0 commands.VERSION.messages=1 \
		commands.VERSION.errors=0 regions.0.size=4096 regions.7.name=CONFIG; do
		v=$("${TELCHECK[@]}" get "$WORK/skel-tel.json" /vfio_user/info \
			"${kv%%=*}") || fail "telemetry of the skeleton: no ${kv%%=*}"
		[ "$v" = "${kv#*=}" ] ||
			fail "telemetry of the skeleton: ${kv%%=*} is '$v', expected '${kv#*=}'"
	done
	TEL_NOTE="; its telemetry (/vfio_user/info,0) saw the info tool's VERSION"
fi
log "2. skeleton built with pkg-config only, described by the installed info tool${TEL_NOTE:-}"

# ---- 3. the installed PMDs in testpmd ----
if [ "$DRIVERS" != 1 ]; then
	log "3. left out: the PMDs were not built"
	echo "PASS: install (without PMDs)"
	exit 0
fi
if ! command -v "$TESTPMD" >/dev/null 2>&1; then
	log "3. skipped: $TESTPMD not found (Debian package dpdk)"
	echo "PASS: install (without testpmd)"
	exit 0
fi
PFX=vu-install-$$
PREFIXES+=("$PFX")
"$TESTPMD" -l 0,1 --no-huge -m 128 --file-prefix "$PFX" --no-pci \
	-d "$PMDDIR" --vdev "net_vfio_user0,path=$WORK/vnic.sock" \
	-- --total-num-mbufs=2048 --forward-mode=rxonly --stats-period 100 \
	</dev/null >"$WORK/testpmd.log" 2>&1 &
PIDS+=($!)
vu_wait_socket "$WORK/vnic.sock" 30 ||
	fail "testpmd with the installed PMDs did not serve the device"
"$BINDIR/dpdk-vfio-user-info" "$WORK/vnic.sock" >"$WORK/vnic.txt" \
	2>>"$WORK/info.log" || fail "dpdk-vfio-user-info failed on net_vfio_user"
grep -q 'Vendor 1af4 Device 1041' "$WORK/vnic.txt" ||
	fail "no virtio-net device on the installed PMD's socket"
log "3. testpmd -d ${PMDDIR#"$DEST"}: net_vfio_user serves 1af4:1041"
echo "PASS: install"
