# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Guest script of test_lifecycle.sh. vmtest.mode=
#   full  first boot: ping, ring sizes changed (ethtool -G: each queue
#         reset and set up again, VIRTIO_F_RING_RESET) and a payload
#         check, rmmod virtio_net, modprobe it, ping again,
#         unbind the function from virtio-pci (which clears Bus Master
#         Enable) and bind it again, ping again; the function reset
#         through sysfs (its PM reset method) with the driver unbound,
#         ping again; suspend to RAM up to the platform step (pm_test:
#         D3hot and back), ping and a payload check, then `reboot -f`;
#         second boot (a CMOS byte counts the boots): ping again
#   hold  ping, then wait (the host kills QEMU with SIGKILL)
#   ping  ping only (a new QEMU after the killed one)
#   last  ping, then wait for the link to go down (the host stops testpmd)
#         and say the guest survived it: a guest that hung (its control
#         queue command waiting for ever) says nothing more

. /vmtest/guest_lib.sh
mode=$(vt_param mode ping)
BOOTS_CMOS=0x6e		# a free CMOS NVRAM byte: survives a reset

g_no_carrier() { ! g_carrier; }

boot=$(vmtool cmos $BOOTS_CMOS)
vt_info "mode $mode, boot $((boot + 1))"
vmtool cmos $BOOTS_CMOS $((boot + 1))

case $mode.$boot in
full.0)
	vt_check boot1_device g_find_dev
	vt_check boot1_link_up g_net_up
	vt_check boot1_ping g_ping 3
	# VIRTIO_F_RING_RESET is feature bit 40
	feat=$(cat "$PCIDEV"/virtio*/features)
	vt_check ring_reset_feature [ "$(echo "$feat" | cut -c41)" = 1 ]
	vmtool rings "$IF" | g_show
	vt_check rings_set vmtool rings "$IF" 256 128
	vt_check rings_now sh -c "vmtool rings $IF | grep -q '^rx 256 tx 128 '"
	vt_check rings_payload vmtool echo "$PEER_IP" 300 1400 8
	vt_check rings_set_back vmtool rings "$IF" 1024 1024
	vt_check rings_back_payload vmtool echo "$PEER_IP" 300 1400 8
	vt_check rmmod_virtio_net rmmod virtio_net
	vt_check netdev_gone sh -c "! [ -e /sys/class/net/$IF ]"
	vt_check modprobe_virtio_net modprobe virtio_net
	vt_check reload_device vt_wait 10 g_find_dev
	vt_check reload_link_up g_net_up
	vt_check reload_ping g_ping 3
	bdf=${PCIDEV##*/}
	vt_check unbind_virtio_pci sh -c \
		"echo $bdf > /sys/bus/pci/drivers/virtio-pci/unbind"
	vt_check unbound_no_netdev sh -c "! [ -e /sys/class/net/$IF ]"
	vt_check bind_virtio_pci sh -c \
		"echo $bdf > /sys/bus/pci/drivers/virtio-pci/bind"
	vt_check rebind_device vt_wait 10 g_find_dev
	vt_check rebind_link_up g_net_up
	vt_check rebind_ping g_ping 3
	# the function's reset method: its PM capability (D3hot, then D0,
	# which resets it), taken with the driver unbound
	vt_info "reset methods: $(cat "$PCIDEV/reset_method")"
	vt_check reset_method_pm grep -qw pm "$PCIDEV/reset_method"
	vt_check reset_unbind sh -c \
		"echo $bdf > /sys/bus/pci/drivers/virtio-pci/unbind"
	vt_check reset_function sh -c "echo 1 > $PCIDEV/reset"
	vt_check reset_bind sh -c \
		"echo $bdf > /sys/bus/pci/drivers/virtio-pci/bind"
	vt_check reset_device vt_wait 10 g_find_dev
	vt_check reset_link_up g_net_up
	vt_check reset_ping g_ping 3
	# suspend to RAM up to the platform step: the driver freezes, the
	# PCI core puts the function in D3hot, then back in D0 (a reset)
	# and the driver restores
	vt_check suspend_platform sh -c \
		"echo platform > /sys/power/pm_test && echo mem > /sys/power/state"
	echo none > /sys/power/pm_test
	vt_check suspend_link_up vt_wait 10 g_net_up
	vt_check suspend_ping g_ping 3
	vt_check suspend_payload vmtool echo "$PEER_IP" 300 1400 8
	vt_info "rebooting"
	sync
	reboot -f
	sleep 60	# not reached
	;;
full.*)
	vt_check reboot_device g_find_dev
	vt_check reboot_link_up g_net_up
	vt_check reboot_ping g_ping 3
	;;
hold.*)
	vt_check hold_device g_find_dev
	vt_check hold_link_up g_net_up
	vt_check hold_ping g_ping 3
	vt_info "holding until killed"
	sleep 600
	;;
last.*)
	vt_check last_device g_find_dev
	vt_check last_link_up g_net_up
	vt_check last_ping g_ping 3
	vt_info "holding until the server goes"
	# the carrier is the driver's state: reading it touches no device
	vt_check last_link_down vt_wait 120 g_no_carrier
	sleep 3
	vt_check last_survived true
	;;
ping.*)
	vt_check after_kill_device g_find_dev
	vt_check after_kill_link_up g_net_up
	vt_check after_kill_ping g_ping 3
	vt_check after_kill_payload vmtool echo "$PEER_IP" 300 1400 8
	;;
esac
