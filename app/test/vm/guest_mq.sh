# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Guest script of test_mq_mtu.sh (device: queues=N, mtu=9000; testpmd's
# port: A queues; kernel command line vmtest.queues=N vmtest.app_queues=A):
#  - multi-queue: N combined channels offered; `ethtool -L eth0 combined N`
#    (vmtool channels, ETHTOOL_SCHANNELS: the control queue's MQ command);
#    transmit steered to the last queue (XPS), counted on it by the
#    driver's per-queue statistics and its MSI-X vector; the echoes come
#    back on queue (N - 1) % A (testpmd's receive queue of that pair,
#    which its icmpecho answers on), counted there the same way
#  - MTU 9000 with mergeable receive buffers: ping -s 8000 and 8000-byte
#    payload checks (each reply spans several receive buffers)
#  - a large transfer with payload check at MTU 1500

. /vmtest/guest_lib.sh

vt_check pci_device g_find_dev
vt_check link_up g_net_up
vt_check mtu_9000_offered [ "$(cat "/sys/class/net/$IF/mtu")" = 9000 ]
# VIRTIO_NET_F_MRG_RXBUF is feature bit 15, VIRTIO_NET_F_MQ bit 22
feat=$(cat "$PCIDEV"/virtio*/features)
vt_info "virtio features $feat"
vt_check mrg_rxbuf [ "$(echo "$feat" | cut -c16)" = 1 ]
vt_check mq_feature [ "$(echo "$feat" | cut -c23)" = 1 ]

n=$(vt_param queues 2)
last=$((n - 1))
back=$((last % $(vt_param app_queues "$n")))
vmtool channels "$IF" | g_show
vt_check channels_max sh -c "vmtool channels $IF | grep -q 'max_combined $n\$'"
vt_check channels_set vmtool channels "$IF" "$n"
vt_check channels_now sh -c "vmtool channels $IF | grep -q '^combined $n '"
# one vCPU: send everything through the last queue
for q in $(seq 0 $last); do
	echo 0 > "/sys/class/net/$IF/queues/tx-$q/xps_cpus"
done
echo 1 > "/sys/class/net/$IF/queues/tx-$last/xps_cpus"
irq_in=$(vt_irqs "virtio[0-9]+-input.$back\$")
irq_out=$(vt_irqs "virtio[0-9]+-output.$last\$")
vt_check ping_last_queue g_ping 5
vmtool stats "$IF" | grep -E "^(rx|tx)_queue_(0|$back|$last)_(packets|bytes) " | g_show
txq=$(vmtool stats "$IF" tx_queue_${last}_packets | awk '{ print $2 }')
rxq=$(vmtool stats "$IF" rx_queue_${back}_packets | awk '{ print $2 }')
vt_check last_queue_tx [ "${txq:-0}" -ge 5 ]
vt_check last_queue_rx [ "${rxq:-0}" -ge 5 ]
grep -E "virtio[0-9]*-(input.$back|output.$last)\$" /proc/interrupts | g_show
last_irqs_grew() {
	[ "$(vt_irqs "virtio[0-9]+-input.$back\$")" -gt "$irq_in" ] &&
		[ "$(vt_irqs "virtio[0-9]+-output.$last\$")" -gt "$irq_out" ]
}
vt_check last_queue_interrupts last_irqs_grew
# back to queue 0 for the rest
echo 1 > "/sys/class/net/$IF/queues/tx-0/xps_cpus"
echo 0 > "/sys/class/net/$IF/queues/tx-$last/xps_cpus"

# large transfer with payload check at MTU 1500: 3000 x 1472 bytes
vt_check transfer_1500 vmtool echo "$PEER_IP" 3000 1472 16

# MTU 9000, mergeable buffers
vt_check set_mtu_9000 ip link set "$IF" mtu 9000
vt_check ping_8000 g_ping 3 8000
vt_check transfer_9000 vmtool echo "$PEER_IP" 400 8000 4
vt_check ping_8972 g_ping 2 8972
vmtool stats "$IF" | grep -E '^(rx|tx)_queue_[01]_(packets|bytes) ' | g_show
