#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Multi-queue (queues=N, first argument, default 2; with 8 the device has 18
# MSI-X vectors: more than QEMU passes fds in one message; testpmd's port
# with A queues, second argument, default N: with fewer, each of its receive
# queues polls several pairs), MTU 9000 with mergeable receive buffers
# (mtu=9000) and large transfers with payload checks between a Linux
# guest's virtio_net and Debian's dpdk-testpmd (icmpecho echoes the ICMP
# payload back; the guest compares every byte).

. "$(dirname "$(readlink -f "$0")")/vm_lib.sh"

q=${1:-2}
a=${2:-$q}

vm_setup
tp_start icmpecho "queues=$q,mtu=9000,mac=02:76:6d:00:00:02" --rxq="$a" --txq="$a"
vm_start "mq$q" "$VM_TEST_DIR/guest_mq.sh" \
	--append "vmtest.queues=$q vmtest.app_queues=$a"
vm_finish 240 || VM_FAILED=1
vm_expect pci_device link_up mtu_9000_offered mrg_rxbuf mq_feature \
	channels_max channels_set channels_now ping_last_queue last_queue_tx \
	last_queue_rx last_queue_interrupts \
	transfer_1500 set_mtu_9000 ping_8000 transfer_9000 ping_8972
grep -E "RX-packets|TX-packets" "$TP_LOG" | tail -n 2
vm_done
