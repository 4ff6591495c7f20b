# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Guest side helpers of the VM tests, sourced by the guest scripts
# (guest_*.sh) after devtools/vm.sh's /vmtest/lib.sh (vt_pass, vt_fail,
# vt_info, vt_check, vt_param, vt_wait, vt_irqs).

GUEST_IP=$(vt_param ip 192.0.2.2)
PEER_IP=$(vt_param peer 192.0.2.1)
export PATH=/vmtest:$PATH
chmod +x /vmtest/vmtool

# Print a file (or stdin) as VMTEST INFO lines.
g_show() {
	local l
	while IFS= read -r l; do
		echo "VMTEST INFO   $l"
	done < "${1:-/dev/stdin}"
}

# Find our NIC: PCIDEV, the sysfs directory of the 1af4:1041 function,
# and IF, its network interface (none while virtio_net is not bound).
g_find_dev() {
	local d n
	PCIDEV=
	IF=
	for d in /sys/bus/pci/devices/*; do
		if [ "$(cat "$d/vendor")" = 0x1af4 ] &&
		   [ "$(cat "$d/device")" = 0x1041 ]; then
			PCIDEV=$d
		fi
	done
	[ -n "$PCIDEV" ] || return 1
	for n in "$PCIDEV"/virtio*/net/*; do
		[ -e "$n" ] && IF=${n##*/}
	done
	[ -n "$IF" ]
}

g_carrier() {
	[ "$(cat "/sys/class/net/$IF/carrier" 2>/dev/null)" = 1 ] &&
		[ "$(cat "/sys/class/net/$IF/operstate" 2>/dev/null)" = up ]
}

# Address the interface, bring it up, wait for the link (carrier).
g_net_up() {
	ip addr flush dev "$IF"
	ip addr add "$GUEST_IP/24" dev "$IF" || return 1
	ip link set "$IF" up || return 1
	vt_wait 15 g_carrier
}

# g_ping COUNT [SIZE]: every one of COUNT pings to PEER_IP answered (sent
# 0.2 s apart: each still waits for its answer up to the end, 5 s after
# the last).
g_ping() {
	local n=$1 size=${2:-56} out
	out=$(ping -c "$n" -i 0.2 -W 5 -s "$size" "$PEER_IP" 2>&1)
	echo "$out" | tail -n 2 | g_show
	echo "$out" | grep -q " $n packets received"
}
