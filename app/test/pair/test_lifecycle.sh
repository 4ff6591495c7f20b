#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# pair_lifecycle: one side is killed with SIGKILL and restarted, again and
# again, while the other side (the survivor, a dpdk-testpmd forwarding in
# io mode, 2 queue pairs) keeps running:
#   A. the frontend (pktcheck + net_virtio_vfio_user) dies and comes back;
#      the survivor is the backend (net_vfio_user), no hugepages;
#   B. the backend (pktcheck + net_vfio_user) dies and comes back; the
#      survivor is the frontend with reconnect=100, hugepages if free.
#      In odd cycles the new backend starts its port 200 ms after it
#      began listening: the frontend has reconnected by then and learns
#      of the link only by the device's config interrupt; in even ones at
#      once (the frontend finds the link up when it connects, or learns
#      of it by the interrupt, as their race goes).
# Each cycle the new peer sends sequenced frames (64..9000 bytes, the
# device has mtu=9000) on both queues and must
# get every one back through the survivor unchanged and in order (a
# bounded window in flight), the survivor's port counters must have grown,
# its link must be reported up again, with an LSC event for every change,
# then the peer is killed in the middle of its traffic (and every tenth
# cycle one more peer is killed at a random point of its start: before it
# connects, while it negotiates or maps its memory). The survivor's open
# fds, /proc maps lines and VmRSS are taken at cycle 5 and at the last
# cycle: fds and maps must not grow, RSS only by a little.
#
#   test_lifecycle.sh BUILD_ROOT PKTCHECK

set -u
. "$(dirname "$0")/pair_lib.sh"

pair_init pair_lifecycle "${1:?usage: $0 BUILD_ROOT PKTCHECK}" 420
PKTCHECK=${2:?usage: $0 BUILD_ROOT PKTCHECK}
[ -x "$PKTCHECK" ] || pair_fail "no pktcheck program at $PKTCHECK"
command -v "$TESTPMD" >/dev/null 2>&1 ||
	pair_skip "$TESTPMD not found (Debian package dpdk)"

# a sanitizer build checks memory errors, not growth (maps and RSS are
# not compared there): fewer cycles keep the CI run short
if [ -n "$PAIR_ASAN_LIB" ]; then
	CYCLES=${VU_PAIR_CYCLES:-12}
else
	CYCLES=${VU_PAIR_CYCLES:-50}
fi
EARLY=0
SAMPLE_AT=5
RSS_SLACK_KB=${VU_PAIR_RSS_SLACK_KB:-4096}
QUEUES=2
SUMMARY=()

# resources PID: "fds maps rss_kb"
resources() {
	local pid=$1 fds maps rss
	fds=$(ls "/proc/$pid/fd" | wc -l)
	maps=$(wc -l <"/proc/$pid/maps")
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
	echo "$fds $maps $rss"
}

ms_since() {
	echo $(( ($(date +%s%N) - $1) / 1000000 ))
}

# cycles PHASE SURVIVOR PEER_ARGS...: the kill/restart loop against the
# running SURVIVOR testpmd; PEER_ARGS start one peer pktcheck, and
# ODD_ARGS (words) are added to them in odd cycles.
cycles() {
	local phase=$1 surv=$2 c t0 ms peer pid prev_rx=0 prev_tx=0 line
	local min=999999 max=0 total=0 s5 sN
	local pv="PID_$surv"
	local -a odd
	shift 2
	peer=${phase}peer
	read -r -a odd <<<"${ODD_ARGS:-}"
	for ((c = 1; c <= CYCLES; c++)); do
		if [ $((c % 10)) -eq 7 ]; then
			# and once in a while a peer killed at a random point
			# of its start: connecting, negotiating, mapping memory
			pair_bg $peer "$@"
			pid=PID_$peer
			pid=${!pid}
			sleep "0.$(printf %02d $((RANDOM % 60 + 5)))"
			{
				kill -KILL "$pid"
				pair_wait_exit "$pid" 10
			} 2>/dev/null || pair_fail "$phase: early kill: peer did not die"
			EARLY=$((EARLY + 1))
		fi
		t0=$(date +%s%N)
		if [ $((c % 2)) -eq 1 ]; then
			pair_bg $peer "$@" "${odd[@]}"
		else
			pair_bg $peer "$@"
		fi
		pid=PID_$peer
		pid=${!pid}
		pair_wait_log $peer ": CHECKPOINT" 30 "$pid" ||
			pair_fail "$phase: cycle $c: no traffic through the survivor"
		line=$(grep -a ": CHECKPOINT" "$PAIR_WORK/$peer.log" | head -1)
		case $line in
		*" errors 0 "*) ;;
		*) pair_fail "$phase: cycle $c: $line";;
		esac
		pair_alive "${!pv}" || pair_fail "$phase: cycle $c: the survivor died"
		tp_cmd "$surv" "show port stats 0"
		tp_nic_stats "$surv"
		[ "$NIC_RX" -gt "$prev_rx" ] && [ "$NIC_TX" -gt "$prev_tx" ] ||
			pair_fail "$phase: cycle $c: survivor counters did not grow (rx $prev_rx -> $NIC_RX, tx $prev_tx -> $NIC_TX)"
		prev_rx=$NIC_RX
		prev_tx=$NIC_TX
		survivor_link_up "$surv" ||
			pair_fail "$phase: cycle $c: survivor link not up again ($LINK_STATE) or its LSC events lost ($LSC_EVENTS events for $LINK_CHANGES changes)"
		if [ "$c" -eq "$SAMPLE_AT" ]; then
			s5=$(resources "${!pv}")
			cp "/proc/${!pv}/maps" "$PAIR_WORK/$phase.maps.$c"
		fi
		if [ "$c" -eq "$CYCLES" ]; then
			sN=$(resources "${!pv}")
			cp "/proc/${!pv}/maps" "$PAIR_WORK/$phase.maps.$c"
		fi
		# in the middle of its traffic (bash's "Killed" note silenced)
		{
			kill -KILL "$pid"
			pair_wait_exit "$pid" 10
		} 2>/dev/null || pair_fail "$phase: cycle $c: peer did not die"
		ms=$(ms_since "$t0")
		total=$((total + ms))
		[ "$ms" -lt "$min" ] && min=$ms
		[ "$ms" -gt "$max" ] && max=$ms
		if [ $((c % 10)) -eq 0 ] || [ "$c" -eq 1 ]; then
			pair_log "$phase: cycle $c: ${ms} ms, survivor rx $NIC_RX tx $NIC_TX"
		fi
	done
	pair_log "$phase: cycle times min ${min} ms, avg $((total / CYCLES)) ms, max ${max} ms; $EARLY peers killed early so far"
	if [ -n "${s5:-}" ] && [ -n "${sN:-}" ]; then
		set -- $s5 $sN
		pair_log "$phase: survivor at cycle $SAMPLE_AT: $1 fds, $2 maps, RSS $3 kB; at cycle $CYCLES: $4 fds, $5 maps, RSS $6 kB"
		[ "$4" -le "$1" ] ||
			pair_fail "$phase: survivor fds grew from $1 to $4"
		if [ -n "$PAIR_ASAN_LIB" ]; then
			# ASan's allocator maps more as its quarantine fills
			pair_log "$phase: sanitizer build: maps and RSS not checked"
		else
			if [ "$5" -gt "$2" ]; then
				# what came (or went): a leak, or glibc's own
				# (a malloc arena, a thread stack)?
				diff "$PAIR_WORK/$phase.maps.$SAMPLE_AT" \
					"$PAIR_WORK/$phase.maps.$CYCLES" |
					grep '^[<>]' | head -20
				pair_fail "$phase: survivor maps grew from $2 to $5 lines"
			fi
			[ "$6" -le $(($3 + RSS_SLACK_KB)) ] ||
				pair_fail "$phase: survivor RSS grew from $3 to $6 kB"
		fi
		SUMMARY+=("$phase: $CYCLES cycles (min ${min} / avg $((total / CYCLES)) / max ${max} ms), survivor fds $1 -> $4, maps $2 -> $5, RSS $3 -> $6 kB")
	else
		SUMMARY+=("$phase: $CYCLES cycles (min ${min} / avg $((total / CYCLES)) / max ${max} ms)")
	fi
}

# survivor_link_up NAME: the survivor's PMD reports the link up again
# (its last "link up/down" info line, waited for a little), and the
# application got an LSC event for every change (testpmd prints them).
survivor_link_up() {
	local log="$PAIR_WORK/$1.log" i
	for ((i = 0; i < 250; i++)); do
		LINK_STATE=$(tr -d '\r' <"$log" | grep -a -o -E ': link (up|down)$' |
			tail -1)
		LINK_CHANGES=$(tr -d '\r' <"$log" | grep -a -c -E ': link (up|down)$')
		LSC_EVENTS=$(grep -a -c 'link state change event' "$log")
		if [ "$LINK_STATE" = ": link up" ] &&
		   [ "$LSC_EVENTS" -eq "$LINK_CHANGES" ]; then
			return 0
		fi
		sleep 0.02
	done
	return 1
}

# survivor_end NAME: it must still forward, stop and quit cleanly.
survivor_end() {
	tp_cmd "$1" stop
	tp_fwd_stats "$1"
	pair_log "$1: forwarded rx $FWD_RX tx $FWD_TX (dropped $FWD_TXDROP while its peer was away)"
	tp_quit "$1"
}

PEER_OPTS=(--queues "$QUEUES" --tx -1 --loopback --window 256 --max-size 9000
	   --checkpoint 2000 --timeout 120 --link-timeout 20)

# ---- A: the frontend dies, the backend survives ----
SOCK_A=$PAIR_WORK/a.sock
MEM_A=$(VU_NO_HUGE=1 pair_mem_args 128 2)
pair_log "A: frontend killed and restarted $CYCLES times, backend survives; $(pair_mem_mode "$MEM_A")"
pair_prefix sa
# shellcheck disable=SC2086
tp_start sa -l 0,1 --file-prefix "$PFX" $MEM_A --no-pci \
	--log-level=pmd.net.vfio_user:info -d "$VU_BACKEND_PMD" \
	--vdev "net_vfio_user0,path=$SOCK_A,queues=$QUEUES,mtu=9000" \
	-- -i --total-num-mbufs=8192 --rxq=$QUEUES --txq=$QUEUES \
	--forward-mode=io
vu_wait_socket "$SOCK_A" 20 || pair_fail "A: no socket"
pair_check_mem "A: backend" "$PID_sa" "$MEM_A"
tp_cmd sa start
pair_prefix pa
# shellcheck disable=SC2086
cycles A sa "$PKTCHECK" -l 0 --file-prefix "$PFX" $MEM_A --no-pci \
	-d "$VU_FRONTEND_PMD" \
	--vdev "net_virtio_vfio_user0,path=$SOCK_A,queues=$QUEUES" \
	-- --name fe --stream 7 "${PEER_OPTS[@]}"
survivor_end sa

# ---- B: the backend dies, the frontend survives (reconnect=100) ----
SOCK_B=$PAIR_WORK/b.sock
MEM_B=$(pair_mem_args 128 2)
pair_log "B: backend killed and restarted $CYCLES times, frontend survives (reconnect=100); $(pair_mem_mode "$MEM_B")"
pair_prefix sb
# started before any backend exists: it keeps trying
# shellcheck disable=SC2086
tp_start sb -l 0,1 --file-prefix "$PFX" $MEM_B --no-pci \
	--log-level=pmd.net.virtio_vfio_user:info -d "$VU_FRONTEND_PMD" \
	--vdev "net_virtio_vfio_user0,path=$SOCK_B,queues=$QUEUES,reconnect=100" \
	-- -i --total-num-mbufs=8192 --rxq=$QUEUES --txq=$QUEUES \
	--forward-mode=io
pair_check_mem "B: frontend" "$PID_sb" "$MEM_B"
tp_cmd sb start
pair_prefix pb
# shellcheck disable=SC2086
ODD_ARGS="--start-delay 200" \
cycles B sb "$PKTCHECK" -l 0 --file-prefix "$PFX" $MEM_B --no-pci \
	-d "$VU_BACKEND_PMD" \
	--vdev "net_vfio_user0,path=$SOCK_B,queues=$QUEUES,mtu=9000" \
	-- --name be --stream 9 "${PEER_OPTS[@]}"
survivor_end sb

for s in "${SUMMARY[@]}"; do
	echo "  $s"
done
pair_pass "both sides killed and restarted $CYCLES times each; the survivor recovered every time without growing"
