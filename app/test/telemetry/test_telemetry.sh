#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# telemetry: what DPDK's telemetry socket of a running dpdk-testpmd says
# about our device, read with Debian's dpdk-telemetry.py, checked against
# what the test did to the device.
#
#   1. testpmd serves net_vfio_user (16 queue pairs, timeout=4000);
#      /vfio_user/list and /vfio_user/info,0 show the device, its
#      timeouts and no client.
#   2. tel_client (a raw vfio-user client) does a known list of commands,
#      some failing on purpose, maps 3 MiB in 2 DMA maps, sets eventfds on
#      MSI-X vectors 0-1 (1 masked) and INTx (masked), starts dirty logging, and
#      prints what /vfio_user/info must show: it is compared key by key
#      (messages and errors per command, DMA, IRQs, capabilities).
#   3. tel_client leaves: the counters stay, the maps, eventfds, masks and
#      dirty logging are gone.
#   4. a second testpmd drives the device with net_virtio_vfio_user and
#      sends 2 bursts (tx_first); /ethdev/xstats,0 of both processes shows
#      the per-queue counters of both PMDs, every queue's names present,
#      and the packets and bytes the sender's port counted.
#   5. devtools/telemetry-rates.py (devtools/demo.sh's per-second rates)
#      reads both processes' counters while the frontend sends: 3 intervals
#      with traffic and an average.
#
#   test_telemetry.sh BUILD_ROOT TEL_CLIENT

set -u
. "$(dirname "$0")/../pair/pair_lib.sh"

pair_init telemetry "${1:?usage: $0 BUILD_ROOT TEL_CLIENT}" 200
TEL_CLIENT=${2:?usage: $0 BUILD_ROOT TEL_CLIENT}
TELPY=${VU_TELEMETRY_PY:-dpdk-telemetry.py}
CHECK=(python3 "$(dirname "$0")/tel_check.py")
QUEUES=16
# the per-queue xstats of each PMD (rx_qN_<name>, tx_qN_<name>)
BE_QX=(packets bytes drops kicks interrupts bad_descriptors runts)
FE_QX=(packets bytes errors nombuf kicks ring_full dropped)

command -v "$TESTPMD" >/dev/null 2>&1 ||
	pair_skip "$TESTPMD not found (Debian package dpdk)"
command -v "$TELPY" >/dev/null 2>&1 ||
	pair_skip "$TELPY not found (Debian package dpdk)"

# tel OUT PREFIX CMD...: ask the telemetry socket of PREFIX's process, the
# replies (one JSON line per command) into OUT.json.
tel() {
	local out=$PAIR_WORK/$1.json pfx=$2
	shift 2
	printf '%s\n' "$@" | "$TELPY" -f "$pfx" >"$out" 2>&1 ||
		pair_fail "$TELPY -f $pfx failed: $(cat "$out")"
	grep -q '^{' "$out" || pair_fail "$TELPY -f $pfx: no reply: $(cat "$out")"
}

# get OUT CMD PATH: a value from a reply.
get() {
	"${CHECK[@]}" get "$PAIR_WORK/$1.json" "$2" "$3" ||
		pair_fail "no $3 in the reply to $2"
}

# expect OUT CMD PATH VALUE
expect() {
	local v
	v=$(get "$1" "$2" "$3")
	[ "$v" = "$4" ] || pair_fail "$2: $3 is '$v', expected '$4'"
}

SOCK=$PAIR_WORK/vnic.sock
MEM=$(pair_mem_args 128 2)
INFO=/vfio_user/info,0

# ---- 1. the device, no client ----
pair_prefix be
BE_PFX=$PFX
# shellcheck disable=SC2086
tp_start be -l 0,1 --file-prefix "$BE_PFX" $MEM --no-pci \
	-d "$VU_BACKEND_PMD" \
	--vdev "net_vfio_user0,path=$SOCK,queues=$QUEUES,timeout=4000" \
	-- -i --total-num-mbufs=4096 --rxq=1 --txq=1 --forward-mode=rxonly
vu_wait_socket "$SOCK" 20 || pair_fail "no socket $SOCK"
tel idle "$BE_PFX" /vfio_user/list "$INFO"
expect idle /vfio_user/list "" "[0]"
expect idle "$INFO" path "$SOCK"
expect idle "$INFO" started 1
expect idle "$INFO" connected 0
expect idle "$INFO" messages 0
expect idle "$INFO" dma.maps 0
expect idle "$INFO" regions.7.name CONFIG
expect idle "$INFO" irqs.2.name MSIX
for t in msg_ms reply_ms dma_ms; do
	expect idle "$INFO" "timeouts.$t" 4000	# the devarg timeout=
done
pair_log "1. device 0 listed, no client, no messages, timeouts 4000 ms"

# ---- 2. a raw client's known commands ----
mkfifo "$PAIR_WORK/client.in"
"$TEL_CLIENT" "$SOCK" <"$PAIR_WORK/client.in" >"$PAIR_WORK/client.log" 2>&1 &
PID_client=$!
PAIR_PIDS+=("$PID_client")
exec {CLIENT_FD}>"$PAIR_WORK/client.in"
pair_wait_log client '^READY' 30 "$PID_client" ||
	pair_fail "tel_client did not get through its commands"
head -n 1 "$PAIR_WORK/client.log" >"$PAIR_WORK/expect.json"
tel busy "$BE_PFX" "$INFO"
expect busy "$INFO" connected 1
expect busy "$INFO" negotiated 1
"${CHECK[@]}" subset "$PAIR_WORK/expect.json" "$PAIR_WORK/busy.json" "$INFO" ||
	pair_fail "/vfio_user/info differs from what tel_client did (above)"
pair_log "2. tel_client: $(get busy "$INFO" messages) messages," \
	"$(get busy "$INFO" errors) errors, $(get busy "$INFO" dma.maps) maps of" \
	"$(get busy "$INFO" dma.bytes) bytes, MSI-X eventfds" \
	"$(get busy "$INFO" irqs.2.eventfd_vectors), INTx masked" \
	"$(get busy "$INFO" irqs.0.masked_vectors), dirty logging" \
	"$(get busy "$INFO" dma.dirty_logging): as expected"

# ---- 3. the client leaves ----
echo go >&"$CLIENT_FD"
exec {CLIENT_FD}>&-
pair_wait_exit "$PID_client" 10 || pair_fail "tel_client did not exit"
[ "$PAIR_STATUS" -eq 0 ] || pair_fail "tel_client exited with $PAIR_STATUS"
for ((i = 0; i < 50; i++)); do	# the teardown is the event thread's
	tel gone "$BE_PFX" "$INFO"
	[ "$(get gone "$INFO" connected)" = 0 ] && break
	sleep 0.1
done
expect gone "$INFO" connected 0
expect gone "$INFO" dma.maps 0
expect gone "$INFO" dma.bytes 0
expect gone "$INFO" dma.dirty_logging 0
expect gone "$INFO" irqs.2.eventfds 0
expect gone "$INFO" irqs.0.eventfds 0
expect gone "$INFO" irqs.0.masked 0
expect gone "$INFO" irqs.2.masked 0
"${CHECK[@]}" subset <(python3 -c 'import json,sys
print(json.dumps({"commands": json.loads(sys.stdin.readline())["commands"]}))' \
	<"$PAIR_WORK/expect.json") "$PAIR_WORK/gone.json" "$INFO" ||
	pair_fail "the counters changed when the client left"
pair_log "3. client gone: counters kept, no maps, eventfds, masks or logging"

# ---- 4. a frontend's packets, as ethdev xstats ----
pair_prefix fe
FE_PFX=$PFX
# shellcheck disable=SC2086
tp_start fe -l 0,1 --main-lcore 1 --file-prefix "$FE_PFX" $MEM --no-pci \
	-d "$VU_FRONTEND_PMD" --vdev "net_virtio_vfio_user0,path=$SOCK" \
	-- -i --total-num-mbufs=4096 --rxq=1 --txq=1 --forward-mode=rxonly
tp_cmd be start
tp_cmd fe "start tx_first 2"
# until the backend's port received what the frontend's sent (5 s at most)
for ((i = 0; i < 50; i++)); do
	tp_cmd fe "show port stats 0"
	tp_nic_stats fe
	FE_TX=$NIC_TX
	tp_cmd be "show port stats 0"
	tp_nic_stats be
	[ "$FE_TX" -gt 0 ] && [ "$NIC_RX" = "$FE_TX" ] && break
	sleep 0.1
done
tp_cmd fe stop
tp_cmd be stop
tp_cmd fe "show port stats 0"
tp_nic_stats fe
FE_TX=$NIC_TX FE_TXB=$NIC_TXB
[ "$FE_TX" -gt 0 ] || pair_fail "the frontend sent nothing"
tel be_x "$BE_PFX" /ethdev/xstats,0 "$INFO"
tel fe_x "$FE_PFX" /ethdev/xstats,0
expect be_x /ethdev/xstats,0 rx_q0_packets "$FE_TX"
expect be_x /ethdev/xstats,0 rx_q0_bytes "$FE_TXB"
expect be_x /ethdev/xstats,0 rx_good_packets "$FE_TX"
expect fe_x /ethdev/xstats,0 tx_q0_packets "$FE_TX"
expect fe_x /ethdev/xstats,0 tx_q0_bytes "$FE_TXB"
names=()
for ((q = 0; q < QUEUES; q++)); do
	for x in "${BE_QX[@]}"; do
		names+=("rx_q${q}_$x" "tx_q${q}_$x")
	done
done
"${CHECK[@]}" has "$PAIR_WORK/be_x.json" /ethdev/xstats,0 "${names[@]}" ||
	pair_fail "backend xstats missing from telemetry"
names=()
for x in "${FE_QX[@]}"; do
	names+=("rx_q0_$x" "tx_q0_$x")
done
names+=(rx_q0_csum_kept)	# (receive queues only)
"${CHECK[@]}" has "$PAIR_WORK/fe_x.json" /ethdev/xstats,0 "${names[@]}" ||
	pair_fail "frontend xstats missing from telemetry"
expect be_x "$INFO" connected 1
expect be_x "$INFO" negotiated 1
expect be_x "$INFO" commands.VERSION.messages 2
[ "$(get be_x "$INFO" dma.maps)" -gt 0 ] ||
	pair_fail "the frontend's memory is not in the DMA table"
pair_log "4. frontend sent $FE_TX packets ($FE_TXB bytes): backend rx_q0" \
	"and frontend tx_q0 xstats agree; all $QUEUES queues' xstats present;" \
	"frontend memory: $(get be_x "$INFO" dma.maps) maps," \
	"$(get be_x "$INFO" dma.bytes) bytes"

# ---- 5. per-interval rates from telemetry (devtools/demo.sh's) ----
tp_cmd be start
tp_cmd fe "set fwd txonly"
tp_cmd fe start
"$PAIR_REPO/devtools/telemetry-rates.py" -n 3 --wait 30 \
	"fe tx=$FE_PFX:0:opackets" "be rx=$BE_PFX:0:ipackets" \
	>"$PAIR_WORK/rates.log" 2>&1 ||
	pair_fail "telemetry-rates.py failed: $(cat "$PAIR_WORK/rates.log")"
tp_cmd fe stop
tp_cmd be stop
awk '/^ *[0-9]+s +fe tx +[0-9.]+ Mpps +be rx +[0-9.]+ Mpps$/ &&
	$4 > 0 && $8 > 0 { n++ }
	/^average fe_tx [0-9]+ be_rx [0-9]+ over [0-9.]+$/ && $3 > 0 { a++ }
	END { exit !(n == 3 && a == 1) }' "$PAIR_WORK/rates.log" ||
	pair_fail "telemetry-rates.py: not 3 intervals with traffic and an average: $(cat "$PAIR_WORK/rates.log")"
pair_log "5. telemetry-rates.py: $(tr '\n' ';' <"$PAIR_WORK/rates.log")"

tp_quit fe
tp_quit be
pair_pass "/vfio_user/list, /vfio_user/info and /ethdev/xstats match what was done"
