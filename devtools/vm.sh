#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# A small Linux VM whose NIC is our net_vfio_user: QEMU's vfio-user-pci
# client and a Debian guest kernel's stock virtio_net driver, from Debian
# packages only, on a fresh Debian 12 machine.
#
#   devtools/vm.sh build [guest|qemu]
#       Build (once) and cache everything; idempotent, prints progress:
#       - QEMU >= 10.1 (Debian 12 ships 7.2, without the vfio-user client)
#         from Debian's own qemu source package (sid), x86_64-softmmu only,
#         TCG, no UI; configured with the newer meson of Debian's meson
#         package, unpacked privately (the system meson is left alone).
#       - a guest: the kernel of Debian 12's linux-image-amd64 (booted
#         through its PVH entry point, taken out of the bzImage by
#         vm-kernel.py: no decompression by the emulated CPU) and an
#         initramfs of busybox-static and the kernel's virtio/pktgen
#         modules, whose /init loads virtio_pci + virtio_net, runs the test
#         script given to `run`, then powers off.
#       A first build takes 7-15 minutes (QEMU: ~1600 compile steps on 2
#       cores; the guest: under a minute); later runs find everything
#       cached and take a second, without network.
#
#   devtools/vm.sh run [--socket PATH] [--script FILE] [--file FILE]...
#                      [--append 'kernel args'] [--serial FILE] [--mem MB]
#                      [--mem-path DIR] [--smp N] [--trace PATTERN]
#                      [--qemu-arg ARG]...
#       Boot the VM (TCG: KVM does not work on these machines) with a
#       vfio-user-pci device on the vfio-user server socket PATH (a DPDK
#       application with --vdev net_vfio_user0,path=PATH must be serving
#       it). --script FILE is run by the guest's /init as /vmtest/script
#       (sh, with the helpers of /vmtest/lib.sh: vt_pass, vt_fail, vt_info,
#       vt_check, vt_param, vt_irqs, vt_wait); every --file is copied to
#       /vmtest/. Guest RAM is a shared memfd, or a shared file in DIR
#       with --mem-path (/dev/hugepages: hugetlbfs). Without --script you
#       get a busybox shell on the console
#       (exit powers the VM off). The serial console goes to stdout, or to
#       FILE with --serial. The command exec()s QEMU: its PID is the VM's.
#       The guest prints "VMTEST BOOT ...", then the script's
#       "VMTEST PASS name" / "VMTEST FAIL name: why" / "VMTEST INFO ..."
#       lines, then "VMTEST END rc=N", and powers off (QEMU exits).
#
#   devtools/vm.sh env      print the cached paths (QEMU, kernel, initrd)
#   devtools/vm.sh clean    remove the cache (next build starts over)
#
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/dpdk-vfio-user/vm (outside the
# clone; VU_VM_CACHE overrides it). Downloads use a PRIVATE apt
# configuration there (own sources.list, state and cache directories;
# /etc/apt is never touched); apt checks every file against the signed
# Debian archive indexes. Host packages the build needs (compiler, glib,
# ninja, ...) and the firmware QEMU runs with (seabios, ipxe-qemu,
# qemu-system-data) are installed with apt-get when running as root;
# otherwise the script says what to install.
#
# Exit status: 0 success; 1 failure; 3 (build) a download failed (no
# network to the Debian mirror?); 2 usage.
#
# Environment:
#   VU_VM_CACHE         cache directory (see above)
#   VU_DEBIAN_MIRROR    Debian mirror (default http://deb.debian.org/debian)
#   VU_QEMU_SUITE       suite of the QEMU source and meson (default sid)
#   VU_QEMU_VERSION     the Debian qemu source version to use, e.g.
#                       1:10.2.2+ds-1 (default: the newest >= 10.1 that the
#                       mirror serves; an index may list versions whose
#                       files are gone: the next older one is tried)
#   VU_GUEST_SUITE      suite of the guest kernel and busybox (default bookworm)
#   VU_VM_JOBS          parallel compile jobs for QEMU (default: nproc)

set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
VM_KERNEL_PY=$(dirname "$SELF")/vm-kernel.py
CACHE=${VU_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dpdk-vfio-user/vm}
MIRROR=${VU_DEBIAN_MIRROR:-http://deb.debian.org/debian}
QEMU_SUITE=${VU_QEMU_SUITE:-sid}
GUEST_SUITE=${VU_GUEST_SUITE:-bookworm}
QEMU_MIN=10.1
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
JOBS=${VU_VM_JOBS:-$(nproc 2>/dev/null || echo 2)}

# Guest kernel modules, in load (dependency) order.
GUEST_MODULES=(virtio virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev
	virtio_pci failover net_failover virtio_net pktgen)

# Host packages: to build QEMU, and to run it (BIOS, option ROMs).
BUILD_PACKAGES=(gcc libc6-dev make ninja-build pkg-config python3 python3-venv
	libglib2.0-dev libfdt-dev flex bison xz-utils gzip cpio apt dpkg)
RUN_PACKAGES=(seabios ipxe-qemu qemu-system-data)
# Where they put the firmware QEMU looks for (-L, in this order).
FIRMWARE_DIRS=(/usr/share/seabios /usr/lib/ipxe/qemu /usr/share/qemu)

log() {
	echo "vm.sh: $*" >&2
}
die() {
	echo "vm.sh: error: $*" >&2
	exit 1
}
die_download() {
	echo "vm.sh: error: $*" >&2
	exit 3
}

# ---------------------------------------------------------------------------
# host packages

missing_packages() {
	local p status
	for p in "$@"; do
		status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) ||
			status=
		[ "$status" = installed ] || echo "$p"
	done
}

ensure_packages() {
	local missing
	command -v dpkg-query >/dev/null 2>&1 ||
		die "dpkg-query not found: this script needs a Debian system"
	mapfile -t missing < <(missing_packages "$@")
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		die "missing Debian packages; as root run: apt-get install ${missing[*]}"
	fi
	log "installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! { apt-get -q -o DPkg::Lock::Timeout=300 update &&
	       apt-get -q -y -o DPkg::Lock::Timeout=300 install \
			--no-install-recommends "${missing[@]}"; } \
			>"$CACHE/apt-install.log" 2>&1; then
		tail -n 20 "$CACHE/apt-install.log" >&2
		die_download "apt-get install ${missing[*]} failed (see above)"
	fi
}

# ---------------------------------------------------------------------------
# private apt configuration: sid (or VU_QEMU_SUITE) for the QEMU source and
# meson, bookworm (or VU_GUEST_SUITE) for the guest kernel and busybox

APT_DIR=$CACHE/apt
APT_OPTS=(
	-o "Dir::Etc::sourcelist=$APT_DIR/sources.list"
	-o "Dir::Etc::sourceparts=-"
	-o "Dir::State=$APT_DIR/state"
	-o "Dir::Cache=$APT_DIR/cache"
	-o "Dir::Cache::pkgcache="
	-o "Dir::Cache::srcpkgcache="
	-o "APT::Sandbox::User=$(id -un)"
	# fail in seconds, not minutes, without a route to the mirror
	-o "Acquire::http::Timeout=30"
	-o "Acquire::Retries=1"
	-q
)
APT_UPDATED=0

apt_private() {
	apt-get "${APT_OPTS[@]}" "$@"
}

apt_update() {
	[ $APT_UPDATED = 1 ] && return 0
	[ -r "$KEYRING" ] ||
		die "$KEYRING missing (apt-get install debian-archive-keyring)"
	mkdir -p "$APT_DIR/state/lists/partial" "$APT_DIR/cache/archives/partial"
	cat > "$APT_DIR/sources.list" <<EOF
deb [signed-by=$KEYRING] $MIRROR $QEMU_SUITE main
deb-src [signed-by=$KEYRING] $MIRROR $QEMU_SUITE main
deb [signed-by=$KEYRING] $MIRROR $GUEST_SUITE main
EOF
	log "fetching the Debian package indexes ($QEMU_SUITE, $GUEST_SUITE) from $MIRROR"
	if ! apt_private update >"$APT_DIR/update.log" 2>&1 ||
	   grep -q '^[WE]:' "$APT_DIR/update.log"; then
		cat "$APT_DIR/update.log" >&2
		die_download "could not fetch the Debian package indexes from $MIRROR (no network to the mirror?)"
	fi
	APT_UPDATED=1
}

# download_deb DIR PKG[/SUITE]: the .deb into DIR; prints its path
download_deb() {
	local dir=$1 spec=$2 name=${2%%/*} f
	mkdir -p "$dir"
	if ! (cd "$dir" && apt_private download "$spec") >"$dir/download.log" 2>&1; then
		cat "$dir/download.log" >&2
		die_download "could not download $spec from $MIRROR"
	fi
	f=$(ls -t "$dir/${name}_"*.deb 2>/dev/null | sed -n 1p)
	[ -n "$f" ] || die "$spec: no .deb after download"
	echo "$f"
}

# ---------------------------------------------------------------------------
# QEMU

QEMU_PREFIX=$CACHE/qemu
QEMU_BIN=$QEMU_PREFIX/bin/qemu-system-x86_64

qemu_ok() {
	[ -x "$QEMU_BIN" ] && [ -f "$QEMU_PREFIX/.complete" ]
}

# A meson new enough for QEMU (>= 1.5; Debian 12 has 1.0.1): Debian's meson
# package of $QEMU_SUITE, unpacked into the cache, used only for QEMU.
private_meson() {
	local dir=$CACHE/meson deb v
	if [ ! -f "$dir/.complete" ]; then
		apt_update
		deb=$(download_deb "$CACHE/debs" "meson/$QEMU_SUITE")
		rm -rf "$dir"
		mkdir -p "$dir"
		dpkg-deb -x "$deb" "$dir"
		touch "$dir/.complete"
	fi
	v=$(PYTHONPATH=$dir/usr/lib/python3/dist-packages \
		/usr/bin/python3 "$dir/usr/bin/meson" --version) ||
		die "the private meson in $dir does not run"
	dpkg --compare-versions "$v" ge 1.5 ||
		die "meson $v from $QEMU_SUITE is older than 1.5 (QEMU needs >= 1.5)"
	MESON_DIR=$dir
	log "meson $v (private, $dir)"
}

# Download the newest qemu source >= QEMU_MIN the mirror serves (or
# VU_QEMU_VERSION). Sets QEMU_SRC_DIR (directory holding the files) and
# QEMU_VERSION.
fetch_qemu_source() {
	local versions v dir
	apt_update
	if [ -n "${VU_QEMU_VERSION:-}" ]; then
		versions=$VU_QEMU_VERSION
	else
		versions=$(apt-cache "${APT_OPTS[@]}" showsrc qemu 2>/dev/null |
			sed -n 's/^Version: //p' | sort -u | sort -r -V) || versions=
	fi
	[ -n "$versions" ] || die_download "no qemu source package in $QEMU_SUITE on $MIRROR"
	for v in $versions; do
		local up=${v#*:}
		up=${up%%+*}
		up=${up%%-*}
		if ! dpkg --compare-versions "$up" ge "$QEMU_MIN"; then
			log "qemu $v: older than $QEMU_MIN (no vfio-user client), skipped"
			continue
		fi
		dir=$CACHE/src/qemu-$up
		if ls "$dir"/qemu_*.orig.tar.* >/dev/null 2>&1 && [ -f "$dir/.complete" ]; then
			QEMU_SRC_DIR=$dir
			QEMU_VERSION=$up
			return 0
		fi
		rm -rf "$dir"
		mkdir -p "$dir"
		log "downloading Debian's qemu source package $v (~40 MB)"
		if (cd "$dir" && apt_private source --download-only "qemu=$v") \
			>"$dir/download.log" 2>&1; then
			touch "$dir/.complete"
			QEMU_SRC_DIR=$dir
			QEMU_VERSION=$up
			return 0
		fi
		log "qemu $v: download failed ($(grep -m1 '^E:' "$dir/download.log" || true)); trying an older one"
	done
	die_download "could not download any qemu source >= $QEMU_MIN from $MIRROR"
}

build_qemu() {
	local src build orig tree rc
	if qemu_ok; then
		log "QEMU: cached ($("$QEMU_BIN" --version | sed -n 1p))"
		return 0
	fi
	ensure_packages "${BUILD_PACKAGES[@]}" "${RUN_PACKAGES[@]}"
	private_meson
	fetch_qemu_source
	orig=$(ls "$QEMU_SRC_DIR"/qemu_*.orig.tar.* | sed -n 1p)
	src=$CACHE/build/qemu-src
	build=$CACHE/build/qemu-build
	rm -rf "$CACHE/build"
	mkdir -p "$src" "$build"
	log "unpacking $(basename "$orig")"
	tar -xf "$orig" -C "$src" --strip-components=1
	[ -d "$src/subprojects" ] || die "$(basename "$orig") has no meson subprojects"
	# As Debian's own package does (debian/patches/skip-unpack-edk2-blobs,
	# skip-install-dtb, disable-pycotap): the +ds tarball has no firmware
	# blobs, and pycotap is only for QEMU's own tests.
	sed -i 's/^if unpack_edk2_blobs$/if unpack_edk2_blobs and false/' \
		"$src/pc-bios/meson.build"
	sed -i "s/^subdir('dtb')/#subdir('dtb')/" "$src/pc-bios/meson.build"
	sed -i 's/^pycotap = /#pycotap = /' "$src/pythondeps.toml"
	grep -q '^if unpack_edk2_blobs and false' "$src/pc-bios/meson.build" ||
		die "could not disable the edk2 blob unpacking in pc-bios/meson.build"
	[ -f "$src/hw/vfio-user/Kconfig" ] ||
		die "qemu $QEMU_VERSION has no hw/vfio-user (vfio-user client)"

	log "configuring QEMU $QEMU_VERSION (log: $build/configure.log)"
	# Debian's python (not a pyenv one first on PATH); the private meson
	# comes first on PATH and PYTHONPATH for QEMU's build only.
	if ! (cd "$build" &&
	      env PATH="$MESON_DIR/usr/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
		PYTHONPATH="$MESON_DIR/usr/lib/python3/dist-packages" \
		"$src/configure" --python=/usr/bin/python3 \
		--prefix="$CACHE/qemu-$QEMU_VERSION" \
		--target-list=x86_64-softmmu --without-default-features \
		--enable-tcg --enable-fdt=system --disable-docs --disable-werror \
		--disable-tools --disable-user --disable-install-blobs \
		--disable-download) >"$build/configure.log" 2>&1; then
		tail -n 30 "$build/configure.log" >&2
		die "QEMU configure failed (see above, $build/configure.log)"
	fi
	grep -q '^#define CONFIG_VFIO_USER 1' \
		"$build/x86_64-softmmu-config-devices.h" ||
		die "QEMU configured without the vfio-user client (CONFIG_VFIO_USER)"

	log "compiling QEMU with $JOBS jobs (about 1600 steps, 7-15 minutes on 2 cores; log: $build/build.log)"
	rc=0
	# only the emulator: QEMU's own tests and tools are not needed
	(cd "$build" &&
	 env PATH="$MESON_DIR/usr/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
		PYTHONPATH="$MESON_DIR/usr/lib/python3/dist-packages" \
		ninja -j "$JOBS" qemu-system-x86_64 2>&1) | tee "$build/build.log" |
		awk '/^\[[0-9]+\/[0-9]+\]/ { split(substr($1, 2), a, "/");
			if (a[1] % 200 == 0 || a[1] == a[2]) {
				printf "vm.sh:   QEMU %s\n", $1; fflush() } }' >&2 ||
		rc=$?
	if [ $rc -ne 0 ] || [ ! -x "$build/qemu-system-x86_64" ] ||
	   grep -q '^ninja: build stopped' "$build/build.log"; then
		grep -B 5 -A 15 -m 1 'error' "$build/build.log" >&2 ||
			tail -n 30 "$build/build.log" >&2
		die "QEMU build failed (see above, $build/build.log)"
	fi
	tree=$CACHE/qemu-$QEMU_VERSION
	rm -rf "$tree"
	mkdir -p "$tree/bin" "$tree/share/qemu"
	cp "$build/qemu-system-x86_64" "$tree/bin/"
	# (grep -c reads it all: no SIGPIPE for QEMU under pipefail)
	[ "$("$tree/bin/qemu-system-x86_64" -device help 2>/dev/null |
		grep -c '"vfio-user-pci"')" != 0 ] ||
		die "the built QEMU has no vfio-user-pci device"
	rm -rf "$QEMU_PREFIX"
	ln -s "qemu-$QEMU_VERSION" "$QEMU_PREFIX"
	touch "$QEMU_PREFIX/.complete"
	rm -rf "$CACHE/build"
	log "QEMU: built $("$QEMU_BIN" --version | sed -n 1p)"
}

# ---------------------------------------------------------------------------
# guest

GUEST_DIR=$CACHE/guest

# The packed initramfs carries /init and /vmtest/lib.sh written below, and
# the kernel booted comes out of vm-kernel.py: repacked (no download)
# whenever they, or vmlinuz itself, change.
guest_stamp() {
	{
		declare -f write_init pack_guest
		cat "$VM_KERNEL_PY"
		md5sum <"$GUEST_DIR/vmlinuz" 2>/dev/null
	} | md5sum | cut -d' ' -f1
}

guest_ok() {
	[ -f "$GUEST_DIR/.fetched" ] && [ -f "$GUEST_DIR/vmlinuz" ] &&
		[ -f "$GUEST_DIR/initramfs.cpio.gz" ] &&
		[ -f "$GUEST_DIR/$(cat "$GUEST_DIR/BOOT" 2>/dev/null)" ] &&
		[ "$(cat "$GUEST_DIR/.packed" 2>/dev/null)" = "$(guest_stamp)" ]
}

write_init() {
	local root=$1
	cat > "$root/init" <<'EOF'
#!/bin/busybox sh
# /init of the devtools/vm.sh guest: mount, load virtio_pci + virtio_net,
# run /vmtest/script (or a shell), power off.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /tmp /run
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
hostname vm
ip link set lo up
depmod
echo "VMTEST BOOT kernel=$(uname -r) cmdline=$(cat /proc/cmdline)"
modules="virtio_pci virtio_net"
for w in $(cat /proc/cmdline); do
	case $w in vmtest.modules=*) modules=$(echo "${w#*=}" | tr , ' ') ;; esac
done
for m in $modules; do
	modprobe "$m" || echo "VMTEST INFO modprobe $m failed"
done
if [ -f /vmtest/script ]; then
	cd /vmtest
	sh -c '. /vmtest/lib.sh; . /vmtest/script; vt_end'
	echo "VMTEST END rc=$?"
else
	echo "vm.sh: no --script: a shell (exit powers the VM off)"
	setsid cttyhack sh
fi
sync
poweroff -f
EOF
	chmod 755 "$root/init"
	mkdir -p "$root/vmtest"
	cat > "$root/vmtest/lib.sh" <<'EOF'
# Helpers for /vmtest/script (sourced by /init). Results go to the serial
# console as "VMTEST PASS name" / "VMTEST FAIL name: why" lines.
VT_FAILED=0
vt_pass() { echo "VMTEST PASS $1"; }
vt_fail() { local n=$1; shift; echo "VMTEST FAIL $n: $*"; VT_FAILED=1; }
vt_info() { echo "VMTEST INFO $*"; }
# vt_check NAME CMD...: PASS if CMD succeeds
vt_check() {
	local n=$1; shift
	if "$@"; then vt_pass "$n"; else vt_fail "$n" "failed: $*"; fi
}
# vt_param NAME DEFAULT: value of vmtest.NAME=... on the kernel command line
vt_param() {
	local w
	for w in $(cat /proc/cmdline); do
		case $w in "vmtest.$1="*) echo "${w#*=}"; return 0 ;; esac
	done
	echo "$2"
}
# vt_wait SECONDS CMD...: retry CMD every 0.2 s until it succeeds
vt_wait() {
	local n=$(( $1 * 5 )); shift
	while [ $n -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}
# vt_irqs PATTERN: interrupts counted so far (all CPUs) on the
# /proc/interrupts lines matching PATTERN
vt_irqs() {
	awk -v pat="$1" 'NR == 1 { ncpu = NF; next }
		$0 ~ pat { for (i = 2; i <= ncpu + 1; i++) s += $i }
		END { print s + 0 }' /proc/interrupts
}
vt_end() { return $VT_FAILED; }
EOF
}

# Download the kernel and busybox, unpack what the guest needs into
# $GUEST_DIR/base (modules, busybox) and $GUEST_DIR/vmlinuz.
fetch_guest() {
	local work debs kdeb meta kver root m f n bb
	[ -f "$GUEST_DIR/.fetched" ] && return 0
	ensure_packages xz-utils gzip dpkg apt
	apt_update
	work=$CACHE/guest.tmp
	rm -rf "$work"
	mkdir -p "$work/base" "$work/x"
	debs=$CACHE/debs
	meta=$(download_deb "$debs" "linux-image-amd64/$GUEST_SUITE")
	kdeb=$(dpkg-deb -f "$meta" Depends | tr ',' '\n' |
		sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' | sed -n 1p)
	[ -n "$kdeb" ] || die "cannot tell the kernel package from $(basename "$meta")"
	log "guest kernel: $kdeb ($GUEST_SUITE)"
	kdeb=$(download_deb "$debs" "$kdeb/$GUEST_SUITE")
	log "unpacking the kernel and its virtio modules"
	dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$work/x" --wildcards \
		'./boot/vmlinuz-*' './lib/modules/*/modules.builtin*' \
		'*/drivers/virtio/*' '*/drivers/net/virtio_net.ko*' \
		'*/drivers/net/net_failover.ko*' '*/net/core/failover.ko*' \
		'*/net/core/pktgen.ko*' ||
		die "unpacking $(basename "$kdeb") failed"
	f=$(ls "$work"/x/boot/vmlinuz-* | sed -n 1p)
	kver=${f##*/vmlinuz-}
	cp "$f" "$work/vmlinuz"
	root=$work/base
	mkdir -p "$root/lib/modules/$kver/kernel"
	cp "$work"/x/lib/modules/"$kver"/modules.builtin* \
		"$root/lib/modules/$kver/" 2>/dev/null || true
	for m in "${GUEST_MODULES[@]}"; do
		f=$(find "$work/x/lib/modules/$kver" -name "$m.ko*" | sed -n 1p)
		if [ -z "$f" ]; then
			# built into the kernel, or missing
			grep -q "/$m.ko" "$work/x/lib/modules/$kver/modules.builtin" \
				2>/dev/null && continue
			die "module $m not in $(basename "$kdeb")"
		fi
		n=$root/lib/modules/$kver/${f#"$work/x/lib/modules/$kver/"}
		mkdir -p "$(dirname "$n")"
		# busybox insmod/modprobe load plain .ko only
		case $f in
		*.ko.xz) xz -dc "$f" > "${n%.xz}" ;;
		*.ko.zst) zstd -qdc "$f" > "${n%.zst}" ||
			die "zstd needed to unpack $m (apt-get install zstd)" ;;
		*.ko.gz) gzip -dc "$f" > "${n%.gz}" ;;
		*) cp "$f" "$n" ;;
		esac
	done
	bb=$(download_deb "$debs" "busybox-static/$GUEST_SUITE")
	dpkg-deb -x "$bb" "$work/bb"
	mkdir -p "$root/bin"
	cp "$work/bb/bin/busybox" "$root/bin/busybox"
	cp "$root/bin/busybox" "$work/busybox"
	echo "$kver" > "$work/KVER"
	{ basename "$kdeb"; basename "$bb"; } > "$work/SOURCE"
	rm -rf "$work/x" "$work/bb"
	touch "$work/.fetched"
	rm -rf "$GUEST_DIR"
	mv "$work" "$GUEST_DIR"
}

# The initramfs: busybox, the modules, /init and /vmtest/lib.sh.
pack_guest() {
	local root=$GUEST_DIR/root
	rm -rf "$root"
	cp -a "$GUEST_DIR/base" "$root"
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc,root}
	ln -sf busybox "$root/bin/sh"
	echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
	echo "root:x:0:" > "$root/etc/group"
	write_init "$root"
	log "packing the initramfs (busybox, modules, /init)"
	# busybox's own cpio: no host cpio needed
	(cd "$root" && find . | LC_ALL=C sort |
		"$GUEST_DIR/busybox" cpio -o -H newc 2>/dev/null) |
		gzip -9 > "$GUEST_DIR/initramfs.cpio.gz.tmp"
	mv "$GUEST_DIR/initramfs.cpio.gz.tmp" "$GUEST_DIR/initramfs.cpio.gz"
	rm -rf "$root"
	# The kernel QEMU boots: the ELF image inside the bzImage when it has
	# a PVH entry point (no decompression in the emulated CPU: 3 s less
	# per boot under TCG), else the bzImage itself.
	rm -f "$GUEST_DIR/vmlinux" "$GUEST_DIR/vmlinux.tmp"
	if command -v python3 >/dev/null &&
		python3 "$VM_KERNEL_PY" "$GUEST_DIR/vmlinuz" \
			"$GUEST_DIR/vmlinux.tmp" >"$GUEST_DIR/boot.log" 2>&1; then
		mv "$GUEST_DIR/vmlinux.tmp" "$GUEST_DIR/vmlinux"
		echo vmlinux > "$GUEST_DIR/BOOT"
	else
		rm -f "$GUEST_DIR/vmlinux.tmp"
		echo vmlinuz > "$GUEST_DIR/BOOT"
	fi
	log "guest boots $(cat "$GUEST_DIR/BOOT"): $(tail -n 1 "$GUEST_DIR/boot.log" 2>/dev/null || echo 'no python3')"
	guest_stamp > "$GUEST_DIR/.packed"
}

build_guest() {
	if guest_ok; then
		log "guest: cached (kernel $(cat "$GUEST_DIR/KVER"))"
		return 0
	fi
	fetch_guest
	pack_guest
	log "guest: kernel $(cat "$GUEST_DIR/KVER"), initramfs $(du -h "$GUEST_DIR/initramfs.cpio.gz" | cut -f1)"
}

cmd_build() {
	local what=${1:-all} t0=$SECONDS
	mkdir -p "$CACHE"
	# one build at a time per cache (two test runs may start together)
	exec 8>"$CACHE/.lock"
	if ! flock -n 8; then
		log "another vm.sh build is running on $CACHE: waiting for it"
		flock 8
	fi
	case $what in
	all) build_guest; build_qemu ;;
	guest) build_guest ;;
	qemu) build_qemu ;;
	*) usage ;;
	esac
	ensure_packages "${RUN_PACKAGES[@]}"
	log "ready in $((SECONDS - t0)) s: $CACHE"
}

# ---------------------------------------------------------------------------
# run

usage() {
	sed -n '3,/^set -euo/p' "$SELF" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
	exit 2
}

cmd_run() {
	local socket= script= append= serial= mem=512 smp=1 trace= a
	local mem_path=
	local files=() qemu_args=()
	while [ $# -gt 0 ]; do
		case $1 in
		--socket) socket=$2; shift 2 ;;
		--script) script=$2; shift 2 ;;
		--file) files+=("$2"); shift 2 ;;
		--append) append=$2; shift 2 ;;
		--serial) serial=$2; shift 2 ;;
		--mem) mem=$2; shift 2 ;;
		--mem-path) mem_path=$2; shift 2 ;;
		--smp) smp=$2; shift 2 ;;
		--trace) trace=$2; shift 2 ;;
		--qemu-arg) qemu_args+=("$2"); shift 2 ;;
		-h|--help) usage ;;
		*) echo "vm.sh run: unknown option $1" >&2; usage ;;
		esac
	done
	qemu_ok && guest_ok || die "not built yet: run '$0 build' first"
	for a in "${FIRMWARE_DIRS[@]}"; do
		[ -d "$a" ] || die "$a missing (apt-get install ${RUN_PACKAGES[*]})"
	done

	# The run's own files in a second initramfs after the cached one (the
	# kernel unpacks concatenated archives in order). Passed to QEMU as an
	# open descriptor of an already deleted file: nothing to clean up
	# after exec.
	local tmp initrd
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/vm-run.XXXXXX")
	mkdir -p "$tmp/root/vmtest"
	if [ -n "$script" ]; then
		cp "$script" "$tmp/root/vmtest/script" || die "cannot read $script"
	fi
	for a in "${files[@]}"; do
		cp "$a" "$tmp/root/vmtest/" || die "cannot read $a"
	done
	initrd=$tmp/initrd
	cp "$GUEST_DIR/initramfs.cpio.gz" "$initrd"
	(cd "$tmp/root" && find . | LC_ALL=C sort |
		"$GUEST_DIR/busybox" cpio -o -H newc 2>/dev/null) | gzip >> "$initrd"
	exec 9<"$initrd"
	rm -rf "$tmp"

	local cmd=("$QEMU_BIN" -L "$QEMU_PREFIX/share/qemu")
	for a in "${FIRMWARE_DIRS[@]}"; do
		cmd+=(-L "$a")
	done
	local backend="memory-backend-memfd,id=mem,size=${mem}M,share=on"
	# a file in DIR (hugetlbfs: /dev/hugepages) instead of a memfd
	[ -n "$mem_path" ] &&
		backend="memory-backend-file,id=mem,size=${mem}M,mem-path=$mem_path,share=on"
	# cryptomgr.notests: no self-tests of the kernel's crypto algorithms
	# at boot (0.6 of the 2.2 s to /init under TCG)
	cmd+=(-machine q35 -accel tcg -smp "$smp" -m "${mem}M"
		-object "$backend"
		-numa node,memdev=mem
		-nodefaults -no-user-config -display none
		-kernel "$GUEST_DIR/$(cat "$GUEST_DIR/BOOT")" -initrd /dev/fd/9
		-append "console=ttyS0 mitigations=off cryptomgr.notests $append")
	if [ -n "$serial" ]; then
		cmd+=(-serial "file:$serial")
	else
		cmd+=(-serial mon:stdio)
	fi
	if [ -n "$socket" ]; then
		cmd+=(-device "{\"driver\":\"vfio-user-pci\",\"socket\":{\"type\":\"unix\",\"path\":\"$socket\"}}")
	fi
	[ -n "$trace" ] && cmd+=(-trace "$trace")
	cmd+=("${qemu_args[@]}")
	exec "${cmd[@]}"
}

cmd_env() {
	qemu_ok || die "QEMU not built yet ($0 build)"
	guest_ok || die "guest not built yet ($0 build)"
	echo "VM_CACHE=$CACHE"
	echo "VM_QEMU=$QEMU_BIN"
	echo "VM_QEMU_VERSION=$("$QEMU_BIN" --version | sed -n '1s/.*version //p')"
	echo "VM_KERNEL=$GUEST_DIR/$(cat "$GUEST_DIR/BOOT")"
	echo "VM_KERNEL_VERSION=$(cat "$GUEST_DIR/KVER")"
	echo "VM_INITRD=$GUEST_DIR/initramfs.cpio.gz"
}

case ${1:-} in
build) shift; cmd_build "$@" ;;
run) shift; cmd_run "$@" ;;
env) shift; cmd_env "$@" ;;
clean) rm -rf "$CACHE"; log "removed $CACHE" ;;
*) usage ;;
esac
