#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# pair_multiprocess: DPDK secondary processes see both PMDs' ports. Two
# testpmd primaries (net_vfio_user "be" receiving, net_virtio_vfio_user
# "fe" sending); while frames flow:
#   1. dpdk-proc-info (a secondary) reads each port's statistics and xstats
#      and its description (--show-port): the counters move, the xstats
#      name the driver's state;
#   2. dpdk-pdump (a secondary) captures what the device's port receives:
#      exactly the frames it counted, in a pcap file;
#   3. dpdk-proc-info --stats-reset clears the primary's counters (the
#      secondary's ops act on the port's shared data);
# and the primaries go on: traffic after the secondaries left, clean quit.
# Secondary processes map the primary's hugepage files: without hugepages
# (DPDK has no multi-process support with --no-huge) the test is skipped,
# which CI=true turns into a failure.
#
#   test_multiprocess.sh BUILD_ROOT

set -u
. "$(dirname "$0")/pair_lib.sh"

pair_init pair_multiprocess "${1:?usage: $0 BUILD_ROOT}" 150
command -v "$TESTPMD" >/dev/null 2>&1 ||
	pair_skip "$TESTPMD not found (Debian package dpdk)"
for t in dpdk-proc-info dpdk-pdump; do
	command -v $t >/dev/null 2>&1 ||
		pair_skip "$t not found (Debian package dpdk)"
done
MB=256
[ "$(vu_free_hugepages)" -ge $((2 * (MB / 2 + 16))) ] ||
	pair_skip "secondary processes need hugepages: $(vu_free_hugepages) free, $((2 * (MB / 2 + 16))) needed"

# A secondary runs with the ASan runtime first in a sanitizer build (as
# testpmd), and with the mempool drivers Debian's testpmd links preloaded:
# mempool ops are numbered in registration order and a pool carries the
# number, so a secondary must register them in the primary's order
# (without this dpdk-pdump's pool, created in the secondary, is a dpaa2
# pool in testpmd: every copy fails).
SEC_PRELOAD=$(ldd "$(command -v "$TESTPMD")" |
	awk '/librte_(bus_dpaa|mempool_)/ { printf "%s ", $3 }')
[ -n "$PAIR_ASAN_LIB" ] && SEC_PRELOAD="$PAIR_ASAN_LIB $SEC_PRELOAD"

# secondary NAME PREFIX PMD TOOL ARGS...: TOOL as a secondary of the
# process with EAL file prefix PREFIX, output in NAME.log (foreground,
# bounded); its status in SEC_STATUS
secondary() {
	local name=$1 prefix=$2 pmd=$3 tool=$4
	shift 4
	: >"$PAIR_WORK/$name.log"
	env LD_PRELOAD="$SEC_PRELOAD" \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		timeout -k 5 30 "$tool" --file-prefix "$prefix" --no-pci \
		-d "$pmd" "$@" >"$PAIR_WORK/$name.log" 2>&1
	SEC_STATUS=$?
}

# value NAME KEY: the number after "KEY: " in NAME.log (first match)
value() {
	tr -d '\r' <"$PAIR_WORK/$1.log" |
		sed -n "s/^ *$2: *\([0-9][0-9]*\).*/\1/p" | head -1
}

# The primaries' memory at an address their secondaries have free too
# (EAL's --base-virtaddr): by default EAL reserves it just below the
# shared libraries, where a secondary with other libraries (the ASan
# runtime, the preloaded drivers) may have something already ("Cannot
# get a virtual area at requested address", seen in a sanitizer run).
# 32 TiB: above ASan's shadow, far below where libraries are mapped.
BASE_VA=0x200000000000

sock=$PAIR_WORK/be.sock
pair_prefix be
BE_PFX=$PFX
# hugepages kept as files (no --huge-unlink): the secondaries map them
tp_start be -l 0,1 --file-prefix "$BE_PFX" -m $MB --no-pci \
	--base-virtaddr $BASE_VA \
	-d "$VU_BACKEND_PMD" --vdev "net_vfio_user0,path=$sock" \
	-- -i --total-num-mbufs=8192 --forward-mode=rxonly
vu_wait_socket "$sock" 20 || pair_fail "no socket $sock"
pair_prefix fe
FE_PFX=$PFX
tp_start fe -l 0,1 --main-lcore 1 --file-prefix "$FE_PFX" -m $MB --no-pci \
	--base-virtaddr $BASE_VA \
	-d "$VU_FRONTEND_PMD" --vdev "net_virtio_vfio_user0,path=$sock" \
	-- -i --total-num-mbufs=8192 --forward-mode=txonly
tp_cmd be start
tp_cmd fe start
sleep 0.5

# 1. statistics, xstats and the port's description from secondaries
# (one report a run: --stats wins over --xstats)
secondary be_info "$BE_PFX" "$VU_BACKEND_PMD" dpdk-proc-info -- --stats
[ "$SEC_STATUS" = 0 ] || pair_fail "dpdk-proc-info on be: status $SEC_STATUS"
secondary be_xstats "$BE_PFX" "$VU_BACKEND_PMD" dpdk-proc-info -- --xstats
[ "$SEC_STATUS" = 0 ] || pair_fail "dpdk-proc-info on be: status $SEC_STATUS"
rx1=$(value be_info RX-packets)
q0=$(value be_xstats rx_q0_packets)
[ "${rx1:-0}" -gt 0 ] && [ "${q0:-0}" -gt 0 ] ||
	pair_fail "be's port as a secondary sees it: RX-packets '${rx1:-}', rx_q0_packets '${q0:-}'"
for kv in driver_queue_pairs=1 pci_power_state=0 pci_bus_master=1; do
	k=${kv%=*}
	[ "$(value be_xstats "$k")" = "${kv#*=}" ] ||
		pair_fail "be xstat $k: '$(value be_xstats "$k")', not ${kv#*=}"
done
pair_log "be seen from a secondary: $rx1 frames received (rx_q0_packets $q0)"
secondary fe_info "$FE_PFX" "$VU_FRONTEND_PMD" dpdk-proc-info -- --stats
[ "$SEC_STATUS" = 0 ] || pair_fail "dpdk-proc-info on fe: status $SEC_STATUS"
tx1=$(value fe_info TX-packets)
secondary fe_port "$FE_PFX" "$VU_FRONTEND_PMD" dpdk-proc-info -- --show-port
[ "$SEC_STATUS" = 0 ] || pair_fail "dpdk-proc-info on fe: status $SEC_STATUS"
[ "${tx1:-0}" -gt 0 ] || pair_fail "fe's TX-packets from a secondary: '${tx1:-}'"
grep -a -q -i "net_virtio_vfio_user0" "$PAIR_WORK/fe_port.log" ||
	pair_fail "fe's --show-port does not name the port"
grep -a -q -E "Link up at" "$PAIR_WORK/fe_port.log" ||
	pair_fail "fe's --show-port does not show its link up"
pair_log "fe seen from a secondary: $tx1 frames sent, link up"
# the counters move under the secondary's eyes
secondary be_info2 "$BE_PFX" "$VU_BACKEND_PMD" dpdk-proc-info -- --stats
rx2=$(value be_info2 RX-packets)
[ "${rx2:-0}" -gt "$rx1" ] ||
	pair_fail "be's RX-packets did not move: $rx1 then '${rx2:-}'"

# 2. dpdk-pdump captures what be receives: a fixed number of frames sent
# while it listens, counted in its pcap file
tp_cmd fe stop
tp_cmd fe "set fwd io"
tp_cmd be "show port stats 0"
tp_nic_stats be
before=$NIC_RX
pcap=$PAIR_WORK/be-rx.pcap
: >"$PAIR_WORK/pdump.log"
# (its output line-buffered, as stdbuf -oL does: we wait for a line)
env LD_PRELOAD="$SEC_PRELOAD $PAIR_STDBUF_LIB" _STDBUF_O=L \
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	dpdk-pdump --file-prefix "$BE_PFX" --no-pci -d "$VU_BACKEND_PMD" \
	-- --pdump "port=0,queue=*,rx-dev=$pcap" \
	>"$PAIR_WORK/pdump.log" 2>&1 &
PDUMP=$!
PAIR_PIDS+=("$PDUMP")
pair_wait_log pdump "capture for" 20 "$PDUMP" ||
	pair_fail "dpdk-pdump did not start capturing"
sleep 1	# its callbacks are in place once the primary answered
tp_cmd fe "start tx_first 4"	# 4 bursts of 32 frames
sleep 0.5
tp_cmd fe stop
for ((i = 0; i < 50; i++)); do
	tp_cmd be "show port stats 0"
	tp_nic_stats be
	[ $((NIC_RX - before)) -ge 128 ] && break
	sleep 0.1
done
got=$((NIC_RX - before))
[ "$got" = 128 ] || pair_fail "be received $got of the 128 frames sent"
sleep 0.5
kill -INT "$PDUMP"
pair_wait_exit "$PDUMP" 10 || pair_fail "dpdk-pdump did not stop at SIGINT"
[ "$PAIR_STATUS" = 0 ] || pair_fail "dpdk-pdump exited with status $PAIR_STATUS"
frames=$(python3 - "$pcap" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
magic = struct.unpack_from("<I", data, 0)[0]
end = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
off, n = 24, 0
while off + 16 <= len(data):
    incl = struct.unpack_from(end + "I", data, off + 8)[0]
    off += 16 + incl
    n += 1
print(n)
PY
)
[ "$frames" = "$got" ] ||
	pair_fail "dpdk-pdump captured $frames frames, the port received $got"
pair_log "dpdk-pdump captured the $frames frames be received"

# 3. a secondary resets the primary's counters
secondary be_reset "$BE_PFX" "$VU_BACKEND_PMD" dpdk-proc-info -- --stats-reset
[ "$SEC_STATUS" = 0 ] || pair_fail "--stats-reset: status $SEC_STATUS"
tp_cmd be "show port stats 0"
tp_nic_stats be
[ "$NIC_RX" = 0 ] || pair_fail "be's RX-packets after a secondary's reset: $NIC_RX"

# the secondaries let go of the ports quietly (a release that tried to
# close a port again said "Invalid port_id")
! grep -a -l "Invalid port_id" "$PAIR_WORK"/be_*.log "$PAIR_WORK"/fe_*.log \
	"$PAIR_WORK/pdump.log" ||
	pair_fail "a secondary process complained of its port at exit"

# the primaries go on without their secondaries
tp_cmd fe "start tx_first 1"
sleep 0.3
tp_cmd fe stop
tp_cmd be "show port stats 0"
tp_nic_stats be
[ "$NIC_RX" = 32 ] || pair_fail "be received $NIC_RX frames after the secondaries, not 32"
tp_cmd be stop
tp_quit fe
tp_quit be
pair_pass "proc-info stats/xstats/show-port/stats-reset and pdump capture through secondaries of both PMDs' primaries"
