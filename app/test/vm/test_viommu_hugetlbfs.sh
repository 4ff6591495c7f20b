#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# test_basic.sh viommu-strict with the guest's RAM in hugetlbfs
# (VM_MEM_PATH=/dev/hugepages): a Linux guest behind the vIOMMU scatters
# each ring over 4 KiB IOVA pages of its 2 MiB pages, which net_vfio_user
# cannot map again as one range (mremap of part of a hugetlbfs mapping
# fails): such rings run through shadow copies (doc/guides/nics/
# vfio_user.rst). How many did is printed: it depends on the pages the
# guest got (app/test/nic's *_shadow tests check the path itself).
#
# Argument: more net_vfio_user devargs; with ring_copy=1 in them every
# queue must run on shadow rings (checked).
#
# Needs 128 free 2 MiB hugepages (the guest's 256 MiB, vm_lib.sh) and hugetlbfs on
# /dev/hugepages. As root, it reserves the hugepages it lacks and gives
# them back afterwards; otherwise it says why it cannot run (exit 77).

dir=${VM_HUGETLBFS:-/dev/hugepages}
need=128
meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
skip() {
	echo "SKIP: $*"
	exit 77
}

[ "$(meminfo Hugepagesize)" = 2048 ] ||
	skip "the default hugepage size is $(meminfo Hugepagesize) kB, not 2048"
[ "$(stat -f -c %T "$dir" 2>/dev/null)" = hugetlbfs ] ||
	skip "$dir is not a hugetlbfs mount (mount -t hugetlbfs nodev $dir)"
total0=$(meminfo HugePages_Total)
free=$(meminfo HugePages_Free)
raised=
if [ "$free" -lt "$need" ]; then
	want=$((total0 + need - free))
	if (echo "$want" > /proc/sys/vm/nr_hugepages) 2>/dev/null; then
		raised=1
	fi
	free=$(meminfo HugePages_Free)
	[ "$free" -ge "$need" ] || {
		[ -n "$raised" ] && echo "$total0" > /proc/sys/vm/nr_hugepages
		skip "$free free 2 MiB hugepages, $need needed for the guest's 256 MiB (and none could be reserved: echo N > /proc/sys/vm/nr_hugepages as root)"
	}
fi
echo "hugepages: $free free (total $(meminfo HugePages_Total)${raised:+, raised from $total0}), guest RAM in $dir"
devargs=${1:-}
min=0
case ",$devargs," in *,ring_copy=1,*) min=3 ;; esac
rc=0
VM_MEM_PATH=$dir VM_COUNT_SHADOW=1 VM_MIN_SHADOW=$min VM_TP_DEVARGS=$devargs \
	bash "$(dirname "$(readlink -f "$0")")/test_basic.sh" viommu-strict || rc=$?
[ -n "$raised" ] && echo "$total0" > /proc/sys/vm/nr_hugepages
exit "$rc"
