#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# A Linux guest's stock virtio_net on net_vfio_user in offload mode
# (doc/guides/howto/offload.rst): three processes besides QEMU,
#   - the engine: Debian's dpdk-testpmd with net_vhost (a vhost-user back
#     end, server mode) in icmpecho mode: it answers the guest's ARP and
#     pings straight from the guest's rings and buffers;
#   - the device: a dpdk-testpmd hosting net_vfio_user0 with
#     offload=<engine socket>, interactive and not forwarding;
#   - the VM: QEMU's vfio-user-pci on the device's socket.
# The guest runs guest_basic.sh (the checks of test_basic.sh: ids and
# drivers, MAC and MTU from the devargs, link up, ping, the payload check,
# interrupts growing). Here, in addition: the device handed the data
# queues to the engine (its log), the engine answered (its counters grow)
# and net_vfio_user's own port counters stay 0: the data went through the
# engine only.
#
# Argument: msix (default): the engine signals the guest's MSI-X eventfds
# itself (the call fds are QEMU's irqfds); intx (guest pci=nomsi): the
# call fds are an eventfd of the device's, which relays them into INTx
# and the ISR queue bit. Either way the guest's interrupts of the mode
# must grow while it pings: with the device's own data path idle (its
# counters 0), only the engine (MSI-X) or the device's relay of the
# engine's calls (INTx) can raise them.
# viommu: MSI-X, the guest behind QEMU's Intel IOMMU (intel_iommu=on,
# strict unmaps: a DMA map and unmap per buffer, at IOVAs that are no
# guest-physical address) and the engine with net_vhost's iommu-support=1:
# the device hands the queues over in IOTLB mode (vun_iotlb.h), answers
# the engine's IOTLB misses and invalidates each unmap; the device's log
# must say IOTLB mode, and the engine must have been sent IOTLB messages.

. "$(dirname "$(readlink -f "$0")")/vm_lib.sh"
mode=${1:-msix}
irq=$mode
eng_vdev_args=
eng_log_level=
case $mode in
msix | intx) ;;
viommu)
	irq=msix
	export VM_VIOMMU=1
	eng_vdev_args=",iommu-support=1"
	# the IOTLB messages are logged at debug level
	eng_log_level="--log-level=lib.vhost.config:debug"
	;;
*) vm_die "usage: $0 msix|intx|viommu" ;;
esac
mac=02:76:6d:00:00:05
mtu=1500
[ "$mode" = intx ] && mac=02:76:6d:00:00:06 && mtu=1400
[ "$mode" = viommu ] && mac=02:76:6d:00:00:07
append="vmtest.mac=$mac vmtest.mtu=$mtu vmtest.irq=$irq"
[ "$mode" = intx ] && append="$append pci=nomsi"
# strict unmaps; no boot-time timer check under interrupt remapping (see
# test_basic.sh)
[ "$mode" = viommu ] && append="$append intel_iommu=on iommu.strict=1 no_timer_check"

ENG_PID=
DEV_PID=
DEV_FD=

vm_setup
ENG_SOCK=$VM_WORK/engine.sock
ENG_LOG=$VM_WORK/engine.log
DEV_LOG=$VM_WORK/device.log
TP_SOCK=$VM_WORK/vnic.sock
TP_LOG=$DEV_LOG		# what vm_done shows on failure
trap 'vu_rm_runtime "vuvme$$" "vuvmd$$"; vm_cleanup' EXIT

# The engine: icmpecho on net_vhost0, its forwarding lcore on CPU 0.
"$TESTPMD" -l 0,1 --main-lcore 1 --no-huge -m 256 --file-prefix "vuvme$$" \
	--no-pci --vdev "net_vhost0,iface=$ENG_SOCK$eng_vdev_args" $eng_log_level \
	-- --forward-mode=icmpecho --stats-period=1 --total-num-mbufs=16384 \
	</dev/null >"$ENG_LOG" 2>&1 &
ENG_PID=$!
VM_PIDS+=("$ENG_PID")
vu_wait_socket "$ENG_SOCK" 30 || { cat "$ENG_LOG"; vm_die "the engine did not create $ENG_SOCK"; }
echo "engine (pid $ENG_PID): dpdk-testpmd --vdev net_vhost0,iface=$ENG_SOCK$eng_vdev_args --forward-mode=icmpecho"

# The device: interactive, never started forwarding; fed through a FIFO.
mkfifo "$VM_WORK/device.in"
stdbuf -oL "$TESTPMD" -l 0,1 --no-huge -m 128 --file-prefix "vuvmd$$" \
	--no-pci -d "$VU_BACKEND_PMD" --log-level=pmd.net.vfio_user:info \
	--vdev "net_vfio_user0,path=$TP_SOCK,mac=$mac,mtu=$mtu,offload=$ENG_SOCK" \
	-- -i --total-num-mbufs=2048 <"$VM_WORK/device.in" >"$DEV_LOG" 2>&1 &
DEV_PID=$!
VM_PIDS+=("$DEV_PID")
exec {DEV_FD}>"$VM_WORK/device.in"
# the socket exists from the probe on; the device serves it once the port
# has started (testpmd's prompt)
for ((i = 0; i < 300; i++)); do
	grep -aq "testpmd> " "$DEV_LOG" 2>/dev/null && break
	kill -0 "$DEV_PID" 2>/dev/null || break
	sleep 0.1
done
if ! [ -S "$TP_SOCK" ] || ! grep -aq "testpmd> " "$DEV_LOG"; then
	cat "$DEV_LOG"
	vm_die "the device did not start serving $TP_SOCK"
fi
echo "device (pid $DEV_PID): dpdk-testpmd -i --vdev net_vfio_user0,path=$TP_SOCK,mac=$mac,mtu=$mtu,offload=$ENG_SOCK"

vm_start "offload-$mode" "$VM_TEST_DIR/guest_basic.sh" --append "$append"
vm_finish 150 || VM_FAILED=1
vm_expect pci_device pci_driver_virtio_pci virtio_driver_virtio_net mac mtu \
	link_up "irq_mode_$irq" ping echo_payload interrupts_grow

# net_vfio_user's own counters (the device process's port 0)
echo "show port stats 0" >&"$DEV_FD"
for ((i = 0; i < 50; i++)); do
	tr -d '\r' <"$DEV_LOG" | grep -q "TX-packets:.*TX-errors" && break
	sleep 0.1
done
stats=$(tr -d '\r' <"$DEV_LOG" |
	awk '/NIC statistics for port 0/ { b = "" } { b = b $0 "\n" } END { printf "%s", b }')
dev_rx=$(echo "$stats" | sed -n 's/.*RX-packets: *\([0-9]*\).*RX-missed.*/\1/p' | head -1)
dev_tx=$(echo "$stats" | sed -n 's/.*TX-packets: *\([0-9]*\).*TX-errors.*/\1/p' | head -1)
echo "net_vfio_user's own counters: rx ${dev_rx:-?} tx ${dev_tx:-?} packets"
if [ "${dev_rx:-x}" != 0 ] || [ "${dev_tx:-x}" != 0 ]; then
	echo "net_vfio_user's port counters are not 0 (or missing): the data did not go through the engine only"
	VM_FAILED=1
fi

# the hand-over, in the device's log
handed=$(grep -a -c "offload: [0-9]* queues handed to" "$DEV_LOG" || true)
echo "hand-overs logged by the device: $handed"
grep -a "offload" "$DEV_LOG" | tr -d '\r' | sed 's/^/  device | /'
[ "${handed:-0}" -ge 1 ] || { echo "no hand-over to the engine"; VM_FAILED=1; }
if [ "$mode" = viommu ]; then
	iotlb=$(grep -a -c "handed to .*(IOTLB mode)" "$DEV_LOG" || true)
	nmsg=$(grep -a -c "read message VHOST_USER_IOTLB_MSG" "$ENG_LOG" || true)
	echo "IOTLB-mode hand-overs: $iotlb; IOTLB messages the engine read: $nmsg"
	[ "${iotlb:-0}" -ge 1 ] || { echo "the queues were not handed over in IOTLB mode"; VM_FAILED=1; }
	# at least an update per ring and the guest's buffers' updates and
	# invalidations (strict: each echo maps and unmaps buffers)
	[ "${nmsg:-0}" -ge 400 ] || { echo "too few IOTLB messages for 205 echoes under a strict vIOMMU"; VM_FAILED=1; }
fi

# the engine's forwarding counters, which it prints when it stops
# (SIGTERM): it received the guest's packets and answered them
vu_stop "$ENG_PID" 10
fwd=$(tr -d '\r' <"$ENG_LOG" | sed -n '/Accumulated forward statistics/,$p')
eng_rx=$(echo "$fwd" | sed -n 's/.*RX-packets: *\([0-9]*\).*/\1/p' | head -1)
eng_tx=$(echo "$fwd" | sed -n 's/.*TX-packets: *\([0-9]*\).*/\1/p' | head -1)
echo "the engine forwarded: rx ${eng_rx:-?} tx ${eng_tx:-?} packets"
if [ "${eng_rx:-0}" -lt 205 ] || [ "${eng_tx:-0}" -lt 205 ]; then
	echo "the engine did not see the guest's traffic (5 pings and 200 payload-check echoes, at least)"
	VM_FAILED=1
fi

echo quit >&"$DEV_FD"
exec {DEV_FD}>&-
vm_done
