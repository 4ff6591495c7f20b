#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Benchmark (prints a figure, never fails on its value): the guest kernel's
# pktgen sends 64-byte frames through virtio_net to dpdk-testpmd in rxonly
# mode for a few seconds. The guest runs under TCG (no KVM here): this is a
# functional figure for the guest/device path, not a hardware one. The
# figure is testpmd's received packet count over pktgen's run time.
# Fails unless pktgen reports frames sent and testpmd received at least
# VU_PKTGEN_MIN_PCT percent of them (default 90: the virtio ring is
# lossless, what is still in it when the guest powers off may be lost;
# the guest's own ARP/IPv6 packets, a handful, are not subtracted). A
# figure over 100% by more than that handful would mean testpmd counted
# what pktgen did not send. Arguments: seconds (default 5), then the
# IOMMU: none (default), or viommu-strict / viommu-lazy as in
# test_basic.sh (the device behind QEMU's Intel IOMMU, the guest's IOMMU
# on with strict or lazy unmaps).

. "$(dirname "$(readlink -f "$0")")/vm_lib.sh"
secs=${1:-5}
iommu=${2:-none}
min_pct=${VU_PKTGEN_MIN_PCT:-90}
append="vmtest.secs=$secs"
case $iommu in
none) ;;
viommu-strict | viommu-lazy)
	export VM_VIOMMU=1
	strict=1
	[ "$iommu" = viommu-lazy ] && strict=0
	# no_timer_check: see test_basic.sh
	append="$append intel_iommu=on iommu.strict=$strict no_timer_check"
	;;
*) vm_die "unknown IOMMU mode '$iommu' (none, viommu-strict, viommu-lazy)" ;;
esac

vm_setup
tp_start rxonly "mac=02:76:6d:00:00:04"
vm_start "pktgen-$iommu" "$VM_TEST_DIR/guest_pktgen.sh" --append "$append"
vm_finish $((120 + secs)) || VM_FAILED=1
vm_expect pci_device link_up modprobe_pktgen pktgen_sent
# The figure: what testpmd received (its RX-total at exit: the pktgen
# frames plus a handful of ARP/IPv6 packets) over the time pktgen ran (its
# own "Result: OK: <usec>" line). testpmd's 1-s Rx-pps samples are printed
# too; on a loaded 2-core machine its stats thread wakes irregularly, so
# they are indicative only.
tp_stop		# testpmd prints its totals when it exits
rx=$(grep -a "RX-total:" "$TP_LOG" | tail -n 1 | awk '{ print $NF }') || true
res=$(tr -d '\r' < "$VM_LOG" | sed -n \
	's/.*Result: OK: \([0-9]*\)(.*) usec, \([0-9]*\) (.*/\1 \2/p' |
	tail -n 1) || true
usec=${res%% *}
sent=${res##* }
echo "testpmd Rx-pps samples: $(awk '/Rx-pps:/ && $2 > 0 { printf "%s ", $2 }' "$TP_LOG")"
echo "pktgen: ${sent:-?} frames sent in ${usec:-?} us; testpmd: ${rx:-?} packets received"
if [ -n "${rx:-}" ] && [ -n "${usec:-}" ] && [ "$usec" -gt 0 ]; then
	mpps=$(awk -v r="$rx" -v u="$usec" 'BEGIN { printf "%.3f", r / u }')
	echo "BENCH vm_pktgen: $mpps Mpps, 64-byte frames, guest kernel pktgen -> virtio_net -> net_vfio_user -> dpdk-testpmd rxonly (${secs} s, IOMMU $iommu, 1 vCPU under TCG: a functional figure)"
fi
if [ -z "${sent:-}" ] || [ -z "${rx:-}" ] || [ "${sent:-0}" -le 0 ]; then
	echo "no figures: pktgen sent '${sent:-?}', testpmd received '${rx:-?}'"
	VM_FAILED=1
elif [ $((rx * 100)) -lt $((sent * min_pct)) ]; then
	echo "testpmd received $rx of the $sent frames pktgen sent: fewer than $min_pct%"
	VM_FAILED=1
elif [ "$rx" -gt $((sent + 1000)) ]; then
	echo "testpmd received $rx packets, pktgen sent $sent: more than the guest's own traffic explains"
	VM_FAILED=1
else
	echo "testpmd received $rx packets for the $sent frames pktgen sent ($((rx * 100 / sent))%, at least $min_pct% required)"
fi
vm_done
