# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Guest script of test_hotplug.sh: the guest boots without our device; for
# each plug from vmtest.first to vmtest.last it says it waits, the host
# plugs the device into the PCIe root port (device_add), the guest finds
# it bound to virtio-pci/virtio_net, brings the link up, pings and checks
# a payload, says so, and the host unplugs it (device_del): the PCI
# function and its interface must go.

. /vmtest/guest_lib.sh
first=$(vt_param first 1)
last=$(vt_param last 2)

g_no_dev() { ! g_find_dev; }

[ "$first" = 1 ] && vt_check boot_no_device g_no_dev
for c in $(seq "$first" "$last"); do
	vt_info "waiting for the device (plug $c)"
	vt_check "plug${c}_device" vt_wait 60 g_find_dev
	[ -n "$IF" ] || break
	ifname=$IF
	vt_info "plug $c: PCI function $PCIDEV, interface $IF"
	vt_check "plug${c}_driver" \
		[ "$(basename "$(readlink "$PCIDEV"/virtio*/driver)")" = virtio_net ]
	vt_check "plug${c}_link_up" g_net_up
	vt_check "plug${c}_ping" g_ping 3
	vt_check "plug${c}_payload" vmtool echo "$PEER_IP" 300 1400 8
	vt_info "unplug me (plug $c)"
	vt_check "unplug${c}_gone" vt_wait 60 g_no_dev
	vt_check "unplug${c}_no_netdev" sh -c "! [ -e /sys/class/net/$ifname ]"
done
