#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Benchmark (prints a figure, never fails on its value): the guest kernel's
# pktgen sends 64-byte frames through virtio_net to dpdk-testpmd in rxonly
# mode for a few seconds. The guest runs under TCG (no KVM here): this is a
# functional figure for the guest/device path, not a hardware one. The
# figure is testpmd's received packet count over pktgen's run time.
# Fails only if nothing arrives. Argument: seconds (default 5).

. "$(dirname "$(readlink -f "$0")")/vm_lib.sh"
secs=${1:-5}

vm_setup
tp_start rxonly "mac=02:76:6d:00:00:04"
vm_start pktgen "$VM_TEST_DIR/guest_pktgen.sh" --append "vmtest.secs=$secs"
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
	echo "BENCH vm_pktgen: $mpps Mpps, 64-byte frames, guest kernel pktgen -> virtio_net -> net_vfio_user -> dpdk-testpmd rxonly (${secs} s, 1 vCPU under TCG: a functional figure)"
fi
[ "${rx:-0}" -gt 0 ] || { echo "testpmd received nothing"; VM_FAILED=1; }
vm_done
