#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Lifecycle of the device under a real guest and QEMU, against one
# dpdk-testpmd (icmpecho) for the whole test:
#  1. ethtool -G in the guest (each queue reset and set up again: the
#     device logs the resets), traffic after; rmmod/modprobe virtio_net in
#     the guest, traffic after; the function
#     unbound from virtio-pci (Bus Master Enable cleared: the device says
#     it stopped) and bound again, traffic after; the function reset
#     from the guest's sysfs (PM reset: D3hot, then D0) and a suspend to
#     RAM up to the platform step (testpmd logs both D3hot/D0 rounds),
#     traffic after each; guest `reboot -f` (QEMU resets the device),
#     traffic on the second boot
#  2. QEMU killed with SIGKILL while the guest runs traffic, a new QEMU on
#     the same socket: the device accepts it and traffic works again
#  3. testpmd holds no more file descriptors or memory mappings after the
#     last QEMU than before the first one (after a settling delay)
#  4. a second QEMU on the socket of a running VM: refused (EBUSY), it
#     exits with an error, not an abort, and the first VM's device stays
#     connected; then testpmd quits under the running guest: the guest
#     sees the link go down and goes on (it used to hang on its control
#     queue when the connection went before it read the link)

. "$(dirname "$(readlink -f "$0")")/vm_lib.sh"

# one malloc arena (tp_resources_check)
export MALLOC_ARENA_MAX=1

vm_setup
tp_start icmpecho "mac=02:76:6d:00:00:03"
tp_resources_before

echo "== 1. module reload and guest reboot"
vm_start full "$VM_TEST_DIR/guest_lifecycle.sh" --append "vmtest.mode=full"
vm_finish 240 || VM_FAILED=1
vm_expect boot1_device boot1_link_up boot1_ping ring_reset_feature \
	rings_set rings_now rings_payload rings_set_back rings_back_payload \
	rmmod_virtio_net \
	netdev_gone modprobe_virtio_net reload_device reload_link_up \
	reload_ping unbind_virtio_pci unbound_no_netdev bind_virtio_pci \
	rebind_device rebind_link_up rebind_ping reset_method_pm \
	reset_unbind reset_function reset_bind reset_device reset_link_up \
	reset_ping suspend_platform suspend_link_up suspend_ping \
	suspend_payload reboot_device reboot_link_up reboot_ping
for what in "bus mastering off" "bus mastering back" \
	"virtqueue 0 reset by the driver" "virtqueue 1 reset by the driver"; do
	grep -q "$what" "$TP_LOG" ||
		{ echo "testpmd never logged \"$what\""; VM_FAILED=1; }
done
# the sysfs reset and the suspend: D3hot, then D0 resetting the function
n3=$(tp_count "power state D0 -> D3")
n0=$(tp_count "power state D3 -> D0: function reset")
echo "testpmd saw $n3 changes to D3hot and $n0 resets coming back to D0"
[ "$n3" = 2 ] && [ "$n0" = 2 ] ||
	{ echo "expected two D3hot/D0 rounds (reset, suspend)"; VM_FAILED=1; }
boots=$(tr -d '\r' < "$VM_LOG" | grep -c "^VMTEST BOOT" || true)
echo "guest booted $boots times"
[ "$boots" = 2 ] || { echo "expected 2 boots"; VM_FAILED=1; }

echo "== 2. QEMU killed with SIGKILL, then a new QEMU on the same socket"
vm_start hold "$VM_TEST_DIR/guest_lifecycle.sh" --append "vmtest.mode=hold"
if vm_wait_for "VMTEST INFO holding" 150; then
	kill -KILL "$VM_PID"
	wait "$VM_PID" 2>/dev/null || true
	echo "QEMU $VM_PID killed (SIGKILL)"
else
	echo "the guest never got to its traffic"
	VM_FAILED=1
fi
vm_finish 1 >/dev/null 2>&1 || true
tr -d '\r' < "$VM_LOG" | grep "^VMTEST" | sed 's/^/  | /'
vm_expect hold_device hold_link_up hold_ping
sleep 1
vm_start after-kill "$VM_TEST_DIR/guest_lifecycle.sh" --append "vmtest.mode=ping"
vm_finish 150 || VM_FAILED=1
vm_expect after_kill_device after_kill_link_up after_kill_ping after_kill_payload

echo "== 3. testpmd's file descriptors and mappings"
tp_resources_check

echo "== 4. a second QEMU on the busy socket; testpmd quits under the guest"
vm_start last "$VM_TEST_DIR/guest_lifecycle.sh" --append "vmtest.mode=last"
if vm_wait_for "VMTEST INFO holding until the server goes" 150; then
	rc=0
	timeout 60 "$REPO/devtools/vm.sh" run --socket "$TP_SOCK" \
		>"$VM_WORK/qemu-second.log" 2>&1 </dev/null || rc=$?
	echo "second QEMU: exit status $rc"
	sed 's/^/  | /' "$VM_WORK/qemu-second.log" | tail -n 5
	case $rc in
	0) echo "the second QEMU ran"; VM_FAILED=1 ;;
	124|134|137|139) echo "the second QEMU hung or crashed"; VM_FAILED=1 ;;
	esac
	grep -q "client refused: device already has a client" "$TP_LOG" ||
		{ echo "testpmd did not refuse the second client"; VM_FAILED=1; }
	kill -0 "$VM_PID" 2>/dev/null ||
		{ echo "the first QEMU is gone"; VM_FAILED=1; }
	grep -q "client disconnected" <(sed -n '/client refused/,$p' "$TP_LOG") &&
		{ echo "the first VM lost its device"; VM_FAILED=1; }
	tp_stop
	grep -q "driver did not read the configuration change" "$TP_LOG" &&
		{ echo "testpmd closed before the guest read the link"; VM_FAILED=1; }
else
	echo "the guest never got to its traffic"
	VM_FAILED=1
fi
vm_finish 90 || VM_FAILED=1
vm_expect last_device last_link_up last_ping last_link_down last_survived
vm_done
