#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# fe_hostile: the frontend PMD (net_virtio_vfio_user, loaded with -d into
# fe_hostile_app) against hostile_dev.py, one device process per case, each
# misbehaving in one way. The cases and what must come of them:
#   notify_oob    probe refused, the log names the doorbell
#   ctrl_small4   control queue of 4: port up, the MQ command acked, the
#                 heap's element list intact
#   ctrl_small1   control queue of 1: probe refused ("we need 4")
#   mq_max        0x8000 queue pairs: probe refused ("queue pairs in")
#   packed_leak   packed + in order, ids out of order: all 192 packets in,
#                 every mbuf back in the pool after stop + close
#   mrg_stall     num_buffers 0xffff: that packet counted in ierrors, the 5
#                 good ones behind it received
#   mrg_partial   the first buffer of a 2-buffer frame, never the second:
#                 nothing received, the queue's stop counts it in imissed
#   notify_plain  a mappable notify area whose file can shrink: doorbells
#                 by message; a sealable one: sealed, then stores
#   notify_sealed (each with packed_leak's traffic)
#   io_fds_good   the device's ioeventfds: doorbells through them, none
#                 by message for the data queues (packed_leak's traffic)
#   io_fds_bad    ioeventfds a driver must not write (a pipe, a data
#                 match on another value, 4 bytes, PIO): none written,
#                 doorbells by message
#   fuzz_split    2 s of random ring writes, split then packed rings: errors
#   fuzz_packed   counted, every mbuf back in the pool
#   mute          a device that accepts and answers nothing, reconnect=100,
#                 timeout=1000: the port's attempts give up after 1 s and
#                 do not hold up the EAL interrupt thread (its alarms run
#                 on time; an attempt there made them 1 s late)
#   no_queue_vector   a device that refuses the receive queues' MSI-X
#                 vectors (reads back NO_VECTOR): the port says so and
#                 works (packed_leak's traffic)
#   no_config_vector  one that refuses the configuration vector: probe
#                 refused, the log says why
#   config_storm  a device signalling its configuration vector without
#                 pause for 3 s: the port reads the link at most every
#                 10 ms (it read it at every interrupt, thousands), and
#                 the EAL interrupt thread's alarms run on time
#   slow_reset    a device that completes a reset 300 ms after the write
#                 of 0 (device_status reads 1 until then): the port
#                 writes nothing to device_status before it reads 0
#                 (VIRTIO 1.2 4.1.4.3.2), then works (packed_leak's
#                 traffic); it wrote ACKNOWLEDGE at once before
#   no_reset      one that never completes it: probe refused after the
#                 request timeout (timeout=1000), the log says why
#   nomac         one without VIRTIO_NET_F_MAC: a random locally
#                 administered address (it was zeros)
#   cfg_strict    a device configuration of 8 bytes, reads past refused:
#                 the port reads what its features need (it read 24)
#   dupcap        two device configuration structures: the first used
#   speed         VIRTIO_NET_F_SPEED_DUPLEX (25000, half): the port's link
#                 says so; a device without it: 10G, full; one whose
#                 speed and duplex become 100000, full while the port
#                 runs (a configuration change): the port's link follows,
#                 with an LSC event (it kept the ones read at the setup)
#   macrefuse     CTRL_MAC_ADDR, the port's mac= refused: the setup goes
#                 on, the port keeps its address
#   evidx         EVENT_IDX: avail->flags 0 (VIRTIO 1.2 2.7.10.1; was 1)
#   mtu           VIRTIO_NET_F_MTU without mergeable buffers: a start
#                 with mbufs no frame of the MTU fits refused, saying why
#                 (it posted them); with large enough ones, it runs
#   one_vector    an MSI-X table of one vector: the configuration's, the
#                 receive queue without (the probe was refused)
#   late_dma      one that writes into the receive buffers it holds when
#                 the reset comes (allowed until it completes): no mbuf is
#                 written after the port gave it back to its pool (the
#                 application's pool marks freed mbufs and checks them)
#   fail_write    one that refuses the write of queue 0's queue_enable
#                 (the middle of the pipelined queue setup): probe refused
#                 with the device's error, the device reset (status 0)
#                 and MSI-X turned off again (control 0)
#   fail_msix     one that refuses the unmasking of MSI-X vector 1 (the
#                 middle of the pipelined MSI-X enable, whose rest is
#                 made): the same (MSI-X was left on)
#   no_ring_reset one without VIRTIO_F_RING_RESET: queue stop -ENOTSUP,
#                 saying why, the queues run on (packed_leak's traffic);
#                 a deferred start refused at the queue setup (-EINVAL)
#   ring_reset_stuck  one with it that never completes a queue's reset
#                 (queue_reset reads 1): the stop fails after the request
#                 timeout (timeout=1000, -ETIMEDOUT), saying so, the
#                 buffers left to the device until its reset at close,
#                 then every mbuf back in the pool, none written after
# In every case the application exits by itself with status 0, the heap's
# element list is intact after probe (and start, and close), and the
# device sees its client go. Memory is --no-huge (a memfd the device maps).
#
#   test_fe_hostile.sh BUILD_ROOT FE_HOSTILE_APP PYTHON3 HOSTILE_DEV_PY [CASE...]
#
# CASEs (meson runs three groups of them side by side), or
# VU_FE_CASES="NAME ...", run some of the cases only (all by default);
# VU_FE_SEED=N replays the fuzz cases' seed (each run prints its own).

# the cases are called by name ("case_$CASE"), which shellcheck cannot see
# shellcheck disable=SC2317

set -u
# shellcheck source-path=SCRIPTDIR source=../pair/pair_lib.sh
. "$(dirname "$0")/../pair/pair_lib.sh"

pair_init fe_hostile "${1:?usage: $0 BUILD_ROOT APP PYTHON3 DEVICE [CASE...]}" 90
APP=${2:?}
PYTHON=${3:?}
DEVICE=${4:?}
shift 4
ARG_CASES="$*"
[ -x "$APP" ] || pair_fail "no application at $APP"
[ -f "$DEVICE" ] || pair_fail "no device script at $DEVICE"

# fe_case MODE DEVARGS APP_OPTS [DEVICE_OPTS]: case CASE: the device in
# MODE, then the application against it, which must end by itself (status
# 0), then the device, whose client went away. Sets FE_LOG and DEV_LOG.
fe_case() {
	local name=$CASE mode=$1 devargs=$2 sock=$PAIR_WORK/$CASE.sock pid
	local -a app_opts dev_opts
	read -r -a app_opts <<<"$3"
	read -r -a dev_opts <<<"${4:-}"

	pair_log "$name: device mode $mode${4:+ $4}, devargs '${devargs#,}'"
	pair_bg "${name}_dev" "$PYTHON" "$DEVICE" "$sock" "$mode" \
		"${dev_opts[@]}"
	vu_wait_socket "$sock" 10 || pair_fail "$name: the device is not listening"
	pair_prefix "$name"
	pair_bg "${name}_fe" "$APP" -l 0 --no-huge -m 128 --no-pci \
		--file-prefix "$PFX" -d "$VU_FRONTEND_PMD" \
		--log-level=pmd.net.virtio_vfio_user:info \
		--vdev "net_virtio_vfio_user0,path=$sock$devargs" \
		-- "${app_opts[@]}"
	FE_LOG=$PAIR_WORK/${name}_fe.log
	DEV_LOG=$PAIR_WORK/${name}_dev.log
	pid=PID_${name}_fe
	pair_wait_exit "${!pid}" 30 ||
		pair_fail "$name: the application did not exit by itself"
	[ "$PAIR_STATUS" -eq 0 ] ||
		pair_fail "$name: the application exited with status $PAIR_STATUS"
	pid=PID_${name}_dev
	pair_wait_exit "${!pid}" 5 ||
		pair_fail "$name: the device did not see its client go"
	! grep -a "^fe: heap BAD" "$FE_LOG" ||
		pair_fail "$name: the DPDK heap is corrupt"
	grep -a -q "^fe: heap ok after probe" "$FE_LOG" ||
		pair_fail "$name: no heap check after probe"
}

# fe_value KEY: the number after "KEY " in the application's last line
# having it (lines "fe: ... KEY N ...").
fe_value() {
	grep -a "^fe: .*\<$1 -\?[0-9]" "$FE_LOG" | tail -1 |
		sed -n "s/.*\<$1 \(-\?[0-9][0-9]*\).*/\1/p"
}

# fe_expect KEY VALUE WHAT: the application said KEY VALUE
fe_expect() {
	local v
	v=$(fe_value "$1")
	[ "$v" = "$2" ] || pair_fail "$CASE: $3: $1 is '$v', not $2"
}

# a probe the PMD must refuse, saying REGEX
fe_refused() {
	local regex=$1
	fe_expect ports 0 "the probe must be refused"
	grep -a -q -E -- "$regex" "$FE_LOG" ||
		pair_fail "$CASE: no log line matching '$regex'"
	pair_log "$CASE: refused: $(grep -a -E -- "$regex" "$FE_LOG" | head -1)"
}

# a port that ran: up, stopped, closed, every mbuf back in the pool and the
# heap intact after each step
fe_ran() {
	fe_expect ports 1 "the probe must succeed"
	fe_expect start 0 "the port must start"
	fe_expect in_use 0 "every mbuf must be back in the pool after close"
	if ! grep -a -q "^fe: heap ok after start" "$FE_LOG" ||
	   ! grep -a -q "^fe: heap ok after close" "$FE_LOG"; then
		pair_fail "$CASE: no heap check after start and close"
	fi
	pair_log "$CASE: $(grep -a "^fe: rx " "$FE_LOG" | tail -1)"
}

case_notify_oob() {
	fe_case notify_oob "" ""
	fe_refused "doorbell at \+0x3fffc is outside the notify capability"
}

case_ctrl_small4() {
	fe_case ctrl_small ",queues=2" "--secs 0.2" "--ctrl-qmax 4"
	fe_ran
	# VIRTIO_NET_CTRL_MQ (4) VQ_PAIRS_SET (0) 2 pairs, in a queue of 4
	grep -a -q "^dev: ctrl: class 4 cmd 0 arg 2 acked (3 descriptors, queue size 4)" \
		"$DEV_LOG" || pair_fail "$CASE: the device acked no MQ command"
}

case_ctrl_small1() {
	fe_case ctrl_small ",queues=2" "" "--ctrl-qmax 1"
	fe_refused "queue 4: the device allows 1 entries, we need 4"
}

case_mq_max() {
	fe_case mq_max ",queues=2" ""
	fe_refused "device has 32768 queue pairs in 65535 queues"
}

case_packed_leak() {
	fe_case packed_leak ",packed_vq=1,in_order=1" "--secs 8 --rx 192"
	fe_ran
	fe_expect rx 192 "every packet the device used must be received"
	# in order, a buffer's position is its id: the ids were not errors
	fe_expect ierrors 0 "nothing was wrong but the ids"
}

case_mrg_stall() {
	fe_case mrg_stall ",mrg_rxbuf=1" "--secs 8 --rx 5"
	fe_ran
	fe_expect ierrors 1 "the packet naming 0xffff buffers must be counted"
	fe_expect rx 5 "the 5 packets behind it must be received"
}

case_mrg_partial() {
	fe_case mrg_partial ",mrg_rxbuf=1" "--secs 1 --rxq-stop-end" \
		"--ring-reset-slow 1"
	fe_ran
	fe_expect rx 0 "half a frame must not be received"
	fe_expect rxq_stop 0 "the receive queue must stop"
	fe_expect imissed 1 "the half frame the queue stop freed must be counted"
	fe_expect ierrors 0 "nothing the device published was malformed"
}

case_notify_plain() {
	fe_case packed_leak "" "--secs 8 --rx 192" "--notify-map plain"
	fe_ran
	grep -a -q "the notify area's file can shrink: doorbells by message" \
		"$FE_LOG" || pair_fail "$CASE: the shrinkable notify area was mapped"
}

case_notify_sealed() {
	fe_case packed_leak "" "--secs 8 --rx 192" "--notify-map sealable"
	fe_ran
	grep -a -q "doorbells through the mmapped notify area" "$FE_LOG" ||
		pair_fail "$CASE: the sealed notify area was not mapped"
}

# the device's ioeventfds (DEVICE_GET_REGION_IO_FDS): doorbells through
# them, none by message for those queues; or ones a driver must not write
# (a pipe, a data match that is not the queue index, 4 bytes, PIO): none
# written, the doorbells by message
case_io_fds_good() {
	fe_case packed_leak "" "--secs 8 --rx 192" "--io-fds good"
	fe_ran
	grep -a -q "doorbells through the device's ioeventfds" "$FE_LOG" ||
		pair_fail "$CASE: the ioeventfds were not taken"
	grep -a -q "io_fds: doorbell for queue 0 through its eventfd" \
		"$DEV_LOG" ||
		pair_fail "$CASE: receiveq 0's doorbell not through its eventfd"
	! grep -a "io_fds: doorbell for queue [01] by message" "$DEV_LOG" ||
		pair_fail "$CASE: a data queue's doorbell came as a message"
}

case_io_fds_bad() {
	fe_case packed_leak "" "--secs 8 --rx 192" "--io-fds bad"
	fe_ran
	! grep -a "io_fds: doorbell for queue .* through" "$DEV_LOG" ||
		pair_fail "$CASE: $(grep -a "io_fds: .* through" "$DEV_LOG" | head -1)"
	grep -a -q "io_fds: doorbell for queue 0 by message" "$DEV_LOG" ||
		pair_fail "$CASE: receiveq 0's doorbells neither by fd nor by message"
}

fe_fuzz() {
	fe_case "$1" "" "--secs 2.5 --tx" "--secs 2 --seed $SEED"
	fe_ran
	[ "$(fe_value ierrors)" -gt 0 ] ||
		pair_fail "$CASE: the driver counted none of the device's bad entries"
	grep -a -q "^dev: fuzz: [1-9][0-9]* rounds" "$DEV_LOG" ||
		pair_fail "$CASE: the device did not fuzz"
	pair_log "$CASE: $(grep -a "^dev: fuzz:" "$DEV_LOG"), seed $SEED"
}

case_fuzz_split() {
	fe_fuzz fuzz_split
}

case_fuzz_packed() {
	fe_fuzz fuzz_packed
}

case_mute() {
	local late
	fe_case mute ",reconnect=100,timeout=1000" "--alarms 4" \
		"--secs 8 --hold 3"
	fe_expect ports 1 "the port must exist (reconnect=)"
	grep -a -q "device not up yet, retrying every 100 ms" "$FE_LOG" ||
		pair_fail "$CASE: the probe did not go on to reconnect"
	# each attempt gives up after timeout= (1 s), not the device's 3 s
	# hold (the default 5 s would wait that out: 3 connections, 5 here)
	grep -a -q -E "^dev: mute: ([4-9]|[1-9][0-9]+) connections" "$DEV_LOG" ||
		pair_fail "$CASE: the port did not give up after 1 s: $(grep -a "^dev: mute" "$DEV_LOG")"
	late=$(fe_value late_max_ms)
	[ -n "$late" ] || pair_fail "$CASE: no alarm figures"
	[ "$late" -lt 750 ] ||
		pair_fail "$CASE: an EAL alarm ran $late ms late while the port reconnected"
	pair_log "$CASE: $(grep -a "^fe: alarms" "$FE_LOG"), $(grep -a "^dev: mute" "$DEV_LOG")"
}

case_no_queue_vector() {
	fe_case packed_leak "" "--secs 8 --rx 192" "--no-vector queue"
	fe_expect rx 192 "all packets must come in"
	grep -a -q "queue 0: the device refused MSI-X vector 1 (it says 65535)" "$FE_LOG" ||
		pair_fail "$CASE: the refused queue vector went unnoticed"
}

case_no_config_vector() {
	fe_case packed_leak "" "--secs 8 --rx 192" "--no-vector config"
	fe_expect ports 0 "a device without a configuration interrupt"
	grep -a -q "configuration 0: the device refused MSI-X vector 0 (it says 65535)" "$FE_LOG" &&
		grep -a -q "without a configuration interrupt is not driven" "$FE_LOG" ||
		pair_fail "$CASE: the refused configuration vector went unnoticed"
}

case_config_storm() {
	local reads late
	fe_case config_storm "" "--alarms 4" "--secs 3"
	fe_expect ports 1 "the port must exist"
	reads=$(grep -a "^dev: config_storm:" "$DEV_LOG" |
		sed -n 's/.* \([0-9]*\) link reads.*/\1/p')
	[ -n "$reads" ] ||
		pair_fail "$CASE: the storm did not run: $(grep -a "^dev:" "$DEV_LOG" | tail -3)"
	# 3 s at one read per 10 ms: 300, and the reads the storm began in
	[ "$reads" -le 330 ] ||
		pair_fail "$CASE: $reads link reads in 3 s of interrupts (at most one per 10 ms expected)"
	late=$(fe_value late_max_ms)
	[ -n "$late" ] || pair_fail "$CASE: no alarm figures"
	[ "$late" -lt 750 ] ||
		pair_fail "$CASE: an EAL alarm ran $late ms late during the storm"
	pair_log "$CASE: $(grep -a "^fe: alarms" "$FE_LOG"), $(grep -a "^dev: config_storm" "$DEV_LOG")"
}

case_slow_reset() {
	fe_case packed_leak "" "--secs 8 --rx 192" "--slow-reset 300"
	fe_expect rx 192 "all packets must come in"
	grep -a -q "^dev: slow_reset: reset 1," "$DEV_LOG" ||
		pair_fail "$CASE: the device was not reset"
	if grep -a -q "^dev: slow_reset: status .* written before" "$DEV_LOG"; then
		pair_fail "$CASE: the port did not wait for the reset: $(grep -a "^dev: slow_reset" "$DEV_LOG" | head -3)"
	fi
}

# the device writes into the receive buffers it holds as the reset comes:
# allowed until the reset completes, and the port gives them back to its
# pool only after (it freed them before, and 256 were written after)
case_late_dma() {
	fe_case late_dma "" "--secs 0.5" ""
	fe_ran
	fe_expect uaf_mbufs 0 "no mbuf may be written after the port freed it"
	grep -a -q -E "^dev: late_dma: wrote into [1-9][0-9]* available" \
		"$DEV_LOG" ||
		pair_fail "$CASE: the device wrote into no buffer: $(grep -a "^dev: late_dma" "$DEV_LOG")"
	pair_log "$CASE: $(grep -a "^dev: late_dma" "$DEV_LOG"), $(grep -a "^fe: uaf_mbufs" "$FE_LOG")"
}

# no VIRTIO_NET_F_MAC: a locally administered unicast address, not zeros
case_nomac() {
	fe_case nomac "" "--secs 0.3" ""
	fe_ran
	local mac
	mac=$(grep -a "^fe: mac " "$FE_LOG" | awk '{ print $3 }')
	[ -n "$mac" ] && [ "$mac" != 00:00:00:00:00:00 ] &&
		(( (16#${mac:0:2} & 3) == 2 )) ||
		pair_fail "$CASE: the port's address is '$mac'"
	pair_log "$CASE: mac $mac"
}

# a device configuration of the 8 bytes it has (mac, status), reads past
# them refused: the port reads no more than the features need
case_cfg_strict() {
	fe_case cfg_strict "" "--secs 0.3" ""
	fe_ran
	! grep -a -q "^dev: devcfg: read" "$DEV_LOG" ||
		pair_fail "$CASE: $(grep -a "^dev: devcfg: read" "$DEV_LOG" | head -1)"
}

# VIRTIO_NET_F_SPEED_DUPLEX: the port's link has the device's speed and
# duplex (25000, half); without it (any other case) the ports' 10G, full
case_speed() {
	fe_case speed "" "--secs 0.3" ""
	fe_ran
	grep -a -q "^fe: link up speed 25000 duplex half$" "$FE_LOG" ||
		pair_fail "$CASE: $(grep -a "^fe: link" "$FE_LOG")"
	CASE=speed_not_offered fe_case nomac "" "--secs 0.3" ""
	fe_ran
	grep -a -q "^fe: link up speed 10000 duplex full$" "$FE_LOG" ||
		pair_fail "$CASE: $(grep -a "^fe: link" "$FE_LOG")"
	# VIRTIO 1.2 5.1.4.2: speed and duplex read again at a configuration
	# change (the LSC event's link is the one the interrupt's read stored)
	CASE=speed_change
	fe_case speed_change "" "--secs 1.5 --lsc" ""
	fe_ran
	grep -a -q "^fe: link up speed 25000 duplex half$" "$FE_LOG" ||
		pair_fail "$CASE: at start: $(grep -a "^fe: link" "$FE_LOG")"
	grep -a -q "^dev: speed_change: speed 100000 duplex 1," "$DEV_LOG" ||
		pair_fail "$CASE: the device changed nothing: $(grep -a "^dev:" "$DEV_LOG" | tail -3)"
	grep -a -q "^fe: lsc link up speed 100000 duplex full$" "$FE_LOG" ||
		pair_fail "$CASE: the port's link did not follow the change: $(grep -a "^fe: .*link" "$FE_LOG" | tr '\n' ';')"
	pair_log "$CASE: $(grep -a "^fe: .*link" "$FE_LOG" | tr '\n' ';')"
}

# VIRTIO_NET_F_CTRL_MAC_ADDR, the port's mac= refused by the device: the
# setup goes on (a warning), the port keeps its address
case_macrefuse() {
	fe_case macrefuse ",mac=02:aa:bb:cc:dd:ee" "--secs 0.3" ""
	fe_ran
	grep -a -q "^dev: ctrl: class 1 cmd 1 .* refused" "$DEV_LOG" ||
		pair_fail "$CASE: the device was not asked"
	grep -a -q "refused the port's MAC address" "$FE_LOG" ||
		pair_fail "$CASE: the port did not say it was refused"
	grep -a -q "^fe: mac 02:AA:BB:CC:DD:EE \|^fe: mac 02:aa:bb:cc:dd:ee " \
		"$FE_LOG" || pair_fail "$CASE: $(grep -a "^fe: mac" "$FE_LOG")"
}

# two device configuration structures: the first is the one used
case_dupcap() {
	fe_case dupcap "" "--secs 0.3" ""
	fe_ran
	grep -a -q "^fe: mac 02:00:00:00:00:01 " "$FE_LOG" ||
		pair_fail "$CASE: not the first structure's address: $(grep -a "^fe: mac" "$FE_LOG")"
}

# EVENT_IDX: avail->flags 0 on every queue (used_event suppresses)
case_evidx() {
	fe_case evidx "" "--secs 1" ""
	fe_ran
	[ "$(grep -a -c "^dev: evidx: queue [01] avail->flags 0$" "$DEV_LOG")" = 2 ] ||
		pair_fail "$CASE: $(grep -a "^dev: evidx" "$DEV_LOG")"
}

# VIRTIO_NET_F_MTU without mergeable buffers (VIRTIO 1.2 5.1.4.2: room
# for a frame of the MTU): MTU 9000 with 9 KiB mbufs runs (max_mtu 9000);
# with 2 KiB mbufs, and MTU 1500 with 1 KiB ones, the start is refused,
# saying why (it posted buffers no such frame fits)
case_mtu() {
	fe_case mtu9000 "" "--secs 0.3 --mbuf-size 9100" ""
	fe_ran
	grep -a -q "^fe: mac .* max_mtu 9000$" "$FE_LOG" ||
		pair_fail "$CASE: $(grep -a "^fe: mac" "$FE_LOG")"
	for c in "mtu9000 2048 9000" "mtu1500 1024 1500"; do
		set -- $c
		CASE=$1_$2 fe_case "$1" "" "--secs 0.3 --mbuf-size $2" ""
		fe_expect ports 1 "the probe must succeed"
		fe_expect start -22 "the start must be refused"
		fe_expect in_use 0 "every mbuf must be back in the pool after close"
		grep -a -q "the device's MTU $3 without mergeable buffers needs" \
			"$FE_LOG" || pair_fail "$CASE: the refusal does not say why"
	done
}

# one MSI-X vector: the configuration's; the receive queue goes without
# one (the probe was refused: 2 needed)
case_one_vector() {
	fe_case packed_leak "" "--secs 8 --rx 192" "--nvec 1"
	fe_ran
	fe_expect rx 192 "all packets must come in"
	grep -a -q "1 MSI-X vectors for 1 queue pairs: receive queues 0 and up have no interrupt" \
		"$FE_LOG" || pair_fail "$CASE: not said"
}

case_no_reset() {
	fe_case packed_leak ",timeout=1000" "--secs 8 --rx 192" \
		"--slow-reset 100000"
	fe_expect ports 0 "a device that never completes its reset"
	grep -a -q "the device did not complete its reset in 1000 ms" "$FE_LOG" ||
		pair_fail "$CASE: the reset that never completed went unnoticed"
	if grep -a -q "^dev: slow_reset: status .* written before" "$DEV_LOG"; then
		pair_fail "$CASE: the port went on before the reset completed"
	fi
}

# fail_case FAIL_AT REFUSED: the device refuses the write at FAIL_AT; its
# log must say REFUSED; the setup fails, the device is reset, MSI-X off.
fail_case() {
	fe_case packed_leak "" "--secs 8 --rx 192" "--fail-write $1"
	fe_expect ports 0 "a device that refused a write of the setup"
	grep -a -q "^dev: fail_write: refused the write of $2" "$DEV_LOG" ||
		pair_fail "$CASE: the write was not refused: $(grep -a "^dev:" "$DEV_LOG" | tail -3)"
	grep -a -q "device setup failed: Invalid argument" "$FE_LOG" ||
		pair_fail "$CASE: the device's error went unnoticed"
	[ "$(grep -a "^dev: fail_write: then status" "$DEV_LOG" | tail -1)" = \
		"dev: fail_write: then status 0x0" ] ||
		pair_fail "$CASE: the device was not reset after the failure: $(grep -a "^dev: fail_write" "$DEV_LOG" | tail -3)"
	[ "$(grep -a "^dev: fail_write: then MSI-X" "$DEV_LOG" | tail -1)" = \
		"dev: fail_write: then MSI-X control 0x0" ] ||
		pair_fail "$CASE: MSI-X was left on after the failure: $(grep -a "^dev: fail_write" "$DEV_LOG" | tail -3)"
}

case_fail_write() {
	fail_case 0x1c "0x1 at 0x1c (queue 0)"
}

case_fail_msix() {
	fail_case bar1:0x1c "0x0 at bar1:0x1c"
}

case_no_ring_reset() {
	fe_case packed_leak "" "--secs 8 --rx 192 --qstop" ""
	fe_ran
	fe_expect rx_stop -95 "a queue stop without RING_RESET"
	fe_expect tx_stop -95 "a queue stop without RING_RESET"
	fe_expect rx 192 "the queues run on after a refused stop"
	fe_expect rx_setup -22 "a deferred start without RING_RESET"
	fe_expect tx_setup -22 "a deferred start without RING_RESET"
	for what in "stop of rx queue 0" "stop of tx queue 0" \
		"deferred start of rx queue 0" "deferred start of tx queue 0"; do
		grep -a -q "$what is not supported: VIRTIO_F_RING_RESET is not offered by the device" \
			"$FE_LOG" || pair_fail "$CASE: '$what' refused without saying why"
	done
}

case_ring_reset_stuck() {
	fe_case packed_leak ",timeout=1000" "--secs 1 --rx 192 --qstop" \
		"--ring-reset-stuck"
	fe_ran
	fe_expect rx_stop -110 "a queue reset that never completes"
	fe_expect uaf_mbufs 0 "the buffers left to the device"
	grep -a -q "^dev: ring_reset: queue 0 reset" "$DEV_LOG" ||
		pair_fail "$CASE: the device saw no queue reset"
	grep -a -q "rx queue 0 (virtqueue 0): the device did not complete its reset in 1000 ms" \
		"$FE_LOG" || pair_fail "$CASE: the stuck reset went unnoticed"
}

# (review) ring_reset_slow: a queue reset that completes 1.5 s after the
# write, with timeout=1000: each stop fails (-ETIMEDOUT); a queue start
# after it must not have the queue used by the data path until the device
# has it again (its reset complete, set up and enabled): no doorbell for a
# queue whose reset is pending or that was reset and not enabled again;
# or the start must fail.
case_ring_reset_slow() {
	local rs ts
	fe_case speed ",timeout=1000" "--secs 3 --tx --qstop --qrestart" \
		"--ring-reset-slow 1500"
	fe_ran
	fe_expect rx_stop -110 "a queue reset that does not complete in time"
	fe_expect tx_stop -110 "a queue reset that does not complete in time"
	rs=$(fe_value rx_start)
	ts=$(fe_value tx_start)
	pair_log "$CASE: start after the failed stops: rx $rs tx $ts, $(grep -a "^dev: ring_reset" "$DEV_LOG" | tr '\n' ';')"
	if [ "$ts" = 0 ] && grep -a -q "^dev: ring_reset: doorbell for queue 1" "$DEV_LOG"; then
		pair_fail "$CASE: tx queue 0 started (0) after its failed stop and used while the device has it reset: $(grep -a "^dev: ring_reset: doorbell" "$DEV_LOG" | head -1)"
	fi
}

SEED=${VU_FE_SEED:-$RANDOM}
ALL_CASES="notify_oob ctrl_small4 ctrl_small1 mq_max packed_leak mrg_stall mrg_partial notify_plain notify_sealed io_fds_good io_fds_bad fuzz_split fuzz_packed mute no_queue_vector no_config_vector config_storm slow_reset no_reset late_dma nomac cfg_strict dupcap speed macrefuse evidx mtu one_vector fail_write fail_msix no_ring_reset ring_reset_stuck ring_reset_slow"
CASES=${VU_FE_CASES:-${ARG_CASES:-$ALL_CASES}}
N=0
for CASE in $CASES; do
	declare -F "case_$CASE" >/dev/null || pair_fail "no case '$CASE'"
	"case_$CASE"
	N=$((N + 1))
done
pair_pass "$N cases of a hostile device, in ${SECONDS}s"
