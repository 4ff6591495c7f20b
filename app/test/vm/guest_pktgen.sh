# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Guest script of test_pktgen.sh: the kernel's pktgen sends 64-byte frames
# (60 bytes + FCS) on the virtio_net interface for vmtest.secs seconds.

. /vmtest/guest_lib.sh
secs=$(vt_param secs 5)

vt_check pci_device g_find_dev
vt_check link_up g_net_up
vt_check modprobe_pktgen modprobe pktgen
pg=/proc/net/pktgen
pgset() { echo "$1" > "$2" || vt_fail pktgen_config "$1 > $2"; }
pgset "rem_device_all" $pg/kpktgend_0
pgset "add_device $IF" $pg/kpktgend_0
pgset "count 0" $pg/$IF
pgset "pkt_size 60" $pg/$IF
pgset "delay 0" $pg/$IF
pgset "clone_skb 1000" $pg/$IF
pgset "burst 32" $pg/$IF
pgset "dst $PEER_IP" $pg/$IF
pgset "dst_mac 02:76:6d:ff:ff:ff" $pg/$IF
vt_info "PKTGEN START"
echo start > $pg/pgctrl &
sleep "$secs"
echo stop > $pg/pgctrl
wait
vt_info "PKTGEN STOP"
grep -A 2 "Result" $pg/$IF | g_show
vt_check pktgen_sent grep -q "Result: OK" $pg/$IF
