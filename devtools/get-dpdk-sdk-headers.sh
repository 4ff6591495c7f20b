#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Fetch the four DPDK driver-SDK headers that a vdev ethdev PMD needs and
# that Debian's libdpdk-dev does not install:
#
#   lib/ethdev/ethdev_driver.h      lib/ethdev/ethdev_vdev.h
#   drivers/bus/vdev/bus_vdev_driver.h  lib/eal/include/dev_driver.h
#
# They are taken from Debian's own dpdk source package of exactly the
# installed libdpdk-dev version. Checked for 22.11.11-0+deb12u1: the four
# files come from the upstream tarball (.orig.tar.xz), Debian's patches touch
# no header (the script re-checks this and refuses otherwise), and every
# source-tree header that is also installed in /usr/include/dpdk is
# byte-identical, so adding this directory to the include path is safe.
# The source package is downloaded with a PRIVATE apt configuration (own
# sources.list, state and cache directories): /etc/apt is never touched.
# apt verifies the download against the signed Debian archive index.
#
# On success the script prints the directory holding the four headers (flat)
# on stdout and exits 0; everything else goes to stderr. Pass that directory
# to meson as -Ddpdk_sdk_headers=<dir>.
#
# Environment:
#   XDG_CACHE_HOME        cache root (default: $HOME/.cache)
#   VU_DEBIAN_MIRROR      Debian mirror (default: http://deb.debian.org/debian)
#   VU_DEBIAN_SECURITY    security mirror
#                         (default: http://deb.debian.org/debian-security)
#   VU_DEBIAN_SUITE       suite (default: bookworm)

set -euo pipefail

HEADERS=(
	lib/ethdev/ethdev_driver.h
	lib/ethdev/ethdev_vdev.h
	drivers/bus/vdev/bus_vdev_driver.h
	lib/eal/include/dev_driver.h
)

MIRROR=${VU_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${VU_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
SUITE=${VU_DEBIAN_SUITE:-bookworm}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

die() {
	echo "get-dpdk-sdk-headers: error: $*" >&2
	exit 1
}
log() {
	echo "get-dpdk-sdk-headers: $*" >&2
}

command -v dpkg-query >/dev/null 2>&1 ||
	die "dpkg-query not found: this script needs a Debian system"

status=$(dpkg-query -W -f='${db:Status-Status}' libdpdk-dev 2>/dev/null) || status=
[ "$status" = installed ] ||
	die "libdpdk-dev is not installed (apt-get install libdpdk-dev)"
version=$(dpkg-query -W -f='${Version}' libdpdk-dev)
# Epochs (N:) never appear in file names; keep the cache name file-safe.
safe_version=${version//:/_}

home=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
[ -n "${XDG_CACHE_HOME:-}" ] || [ -n "$home" ] ||
	die "neither XDG_CACHE_HOME nor HOME is set: no cache directory"
cache_root=${XDG_CACHE_HOME:-$home/.cache}/dpdk-vfio-user
outdir=$cache_root/dpdk-sdk-$safe_version

have_all() {
	local h
	for h in "${HEADERS[@]}"; do
		[ -s "$outdir/$(basename "$h")" ] || return 1
	done
}

# Fast path: already cached.
if have_all; then
	echo "$outdir"
	exit 0
fi

for tool in apt-get tar xz; do
	command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found"
done
[ -r "$KEYRING" ] ||
	die "$KEYRING missing (apt-get install debian-archive-keyring)"

mkdir -p "$cache_root"
work=$(mktemp -d "$cache_root/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Private apt configuration: own sources.list, empty sources.list.d, own
# state, lists and cache directories. Trusted keys and the dpkg status file
# stay the system's (read only).
mkdir -p "$work/etc/sources.list.d" "$work/state/lists/partial" \
	"$work/cache/archives/partial" "$work/src"
cat > "$work/etc/sources.list" <<EOF
deb-src [signed-by=$KEYRING] $MIRROR $SUITE main
deb-src [signed-by=$KEYRING] $MIRROR $SUITE-updates main
deb-src [signed-by=$KEYRING] $SECURITY $SUITE-security main
EOF

apt_opts=(
	-o "Dir::Etc::sourcelist=$work/etc/sources.list"
	-o "Dir::Etc::sourceparts=$work/etc/sources.list.d"
	-o "Dir::State=$work/state"
	-o "Dir::Cache=$work/cache"
	-o "Dir::Cache::pkgcache="
	-o "Dir::Cache::srcpkgcache="
	# Download as the invoking user: the private dirs need not be
	# readable by apt's '_apt' sandbox user.
	-o "APT::Sandbox::User=$(id -un)"
	-q
)

log "libdpdk-dev $version: fetching Debian's dpdk source package index"
update_rc=0
apt-get "${apt_opts[@]}" update >"$work/update.log" 2>&1 || update_rc=$?
shopt -s nullglob
sources_lists=("$work"/state/lists/*_Sources*)
shopt -u nullglob
if [ ${#sources_lists[@]} -eq 0 ]; then
	cat "$work/update.log" >&2
	die "could not fetch any Debian source index from $MIRROR or $SECURITY (see apt's messages above). Is the network to the Debian mirror reachable?"
fi
if [ $update_rc -ne 0 ] || grep -q '^[WE]:' "$work/update.log"; then
	# Some index failed, others came: the one we need may be there,
	# let 'apt-get source' decide.
	cat "$work/update.log" >&2
	log "warning: 'apt-get update' reported problems (see above); trying anyway"
fi

log "downloading dpdk=$version source (download only)"
if ! (cd "$work/src" &&
	apt-get "${apt_opts[@]}" source --download-only "dpdk=$version") \
	>"$work/source.log" 2>&1; then
	cat "$work/source.log" >&2
	die "could not download Debian source package dpdk=$version from $MIRROR ($SUITE, $SUITE-updates, $SUITE-security). Is the network to the Debian mirror reachable?"
fi

shopt -s nullglob
orig=("$work"/src/dpdk_*.orig.tar.*)
debtar=("$work"/src/dpdk_*.debian.tar.*)
shopt -u nullglob
[ ${#orig[@]} -eq 1 ] ||
	die "expected one dpdk_*.orig.tar.* in the source package, found ${#orig[@]}"

# The upstream tarball has one top-level directory (dpdk-stable-22.11.N/);
# match the headers below any top directory.
patterns=()
for h in "${HEADERS[@]}"; do
	patterns+=("*/$h")
done
mkdir -p "$work/x"
tar -xf "${orig[0]}" -C "$work/x" --wildcards --no-anchored "${patterns[@]}" ||
	die "extracting the headers from $(basename "${orig[0]}") failed"

# Debian's patches must not change these headers (checked for 22.11.x);
# refuse rather than silently use an unpatched header if they ever do.
if [ ${#debtar[@]} -eq 1 ]; then
	tar -xf "${debtar[0]}" -C "$work/x" debian/patches 2>/dev/null ||
		log "note: no debian/patches in $(basename "${debtar[0]}")"
	if [ -d "$work/x/debian/patches" ]; then
		for h in "${HEADERS[@]}"; do
			if grep -rqsE -- "^\+\+\+ [^/]+/$h" "$work/x/debian/patches"; then
				die "Debian patch touches $h: applying patches is not implemented; extend this script"
			fi
		done
	fi
fi

stage=$(mktemp -d "$cache_root/.stage.XXXXXX")
chmod 755 "$stage"
for h in "${HEADERS[@]}"; do
	f=$(find "$work/x" -path "*/$h" -type f | head -n 1)
	[ -n "$f" ] || { rm -rf "$stage"; die "$h not found in $(basename "${orig[0]}")"; }
	cp "$f" "$stage/$(basename "$h")"
done
{
	echo "Driver-SDK headers from Debian source package dpdk=$version"
	echo "tarball: $(basename "${orig[0]}")"
	for h in "${HEADERS[@]}"; do
		echo "$h"
	done
} > "$stage/SOURCE"

# Publish by rename, so a run that dies half way leaves no partial cache.
rm -rf "$outdir"
mv "$stage" "$outdir" 2>/dev/null || {
	rm -rf "$stage"
	have_all || die "could not create $outdir"
}
have_all || die "headers missing in $outdir after extraction"
log "cached in $outdir"
echo "$outdir"
