/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Receive interrupts of net_vfio_user (intr_conf.rxq), against the test
 * driver, split (with and without EVENT_IDX) and packed rings:
 *  - disarmed, the driver's transmitqs ask for no doorbell; armed
 *    (rte_eth_dev_rx_intr_enable()), the next buffer's doorbell is asked
 *    for (flags 0, avail_event at the next entry, ENABLE) and wakes the
 *    application's rte_epoll_wait() on the queue's interrupt; disarmed
 *    again, no doorbell, no wakeup;
 *  - a frame made available while disarmed wakes an arming at once (no
 *    doorbell could come for it);
 *  - a queue armed before the driver sets it up asks for doorbells from
 *    its start, and wakes the application then;
 *  - fewer receive queues than pairs: a queue's interrupt is woken by a
 *    doorbell on any pair it polls;
 *  - a doorbell rung through its ioeventfd (GET_REGION_IO_FDS) wakes too;
 *  - without intr_conf.rxq, or off an EAL thread, no interrupts (errors).
 */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_interrupts.h>

#include "nic_common.h"

#define EVENT_IDX NIC_F(VIRTIO_RING_F_EVENT_IDX)
#define PACKED	  NIC_F(VIRTIO_F_RING_PACKED)

static uint32_t seq = 1;

static const struct {
	const char *name;
	uint64_t f;
} modes[] = {
	{ "split", NIC_OFFERED & ~EVENT_IDX },
	{ "split, EVENT_IDX", NIC_OFFERED },
	{ "packed", (NIC_OFFERED & ~EVENT_IDX) | PACKED },
	{ "packed, EVENT_IDX", NIC_OFFERED | PACKED },
};

/* The port again with nrx receive queues (NIC_QUEUES transmit queues) and
 * receive interrupts as asked; started. */
static void
port_setup(uint16_t nrx, bool rxq_intr)
{
	struct rte_eth_conf conf = {
		.rxmode = { .mtu = NIC_MTU,
			    .offloads = RTE_ETH_RX_OFFLOAD_SCATTER },
		.txmode = { .offloads = RTE_ETH_TX_OFFLOAD_MULTI_SEGS },
		.intr_conf = { .lsc = 1, .rxq = rxq_intr },
	};

	nic_port_stop();
	assert_int_equal(rte_eth_dev_configure(nic.port, nrx, NIC_QUEUES,
					       &conf),
			 0);
	for (uint16_t q = 0; q < nrx; q++)
		assert_int_equal(rte_eth_rx_queue_setup(nic.port, q, 512,
							SOCKET_ID_ANY, NULL,
							nic.rx_mp),
				 0);
	for (uint16_t q = 0; q < NIC_QUEUES; q++)
		assert_int_equal(rte_eth_tx_queue_setup(nic.port, q, 512,
							SOCKET_ID_ANY, NULL),
				 0);
	nic_port_start();
}

/* Rx queues [0, n) in this thread's epoll set (add) or out of it. */
static void
intr_ctl(uint16_t n, bool add)
{
	for (uint16_t q = 0; q < n; q++)
		assert_int_equal(rte_eth_dev_rx_intr_ctl_q(
					 nic.port, q, RTE_EPOLL_PER_THREAD,
					 add ? RTE_INTR_EVENT_ADD :
					       RTE_INTR_EVENT_DEL,
					 (void *)(uintptr_t)(q + 1)),
				 0);
}

/* The rx queues whose interrupt fired within ms, as a bit mask (bit q). */
static unsigned int
woken(int ms)
{
	struct rte_epoll_event ev[4];
	unsigned int mask = 0;
	int n = rte_epoll_wait(RTE_EPOLL_PER_THREAD, ev, RTE_DIM(ev), ms);

	for (int i = 0; i < n; i++)
		mask |= 1u << ((uintptr_t)ev[i].epdata.data - 1);
	return mask;
}

/* Whether the driver is asked for doorbells on transmitq q. */
static bool
kicks_asked(struct nic_drv *d, const struct dvq *q)
{
	if (q->packed)
		return (__atomic_load_n(&q->dev_ev->flags, __ATOMIC_ACQUIRE) &
			3) != VRING_PACKED_EVENT_FLAG_DISABLE;
	if (d->features & EVENT_IDX)
		/* its next buffer's, the one at avail_idx */
		return dvq_avail_event(q) == q->avail_idx;
	return !(__atomic_load_n(&q->used->flags, __ATOMIC_ACQUIRE) &
		 VRING_USED_F_NO_NOTIFY);
}

/* A frame on transmitq q, the doorbell rung if asked for: whether it was. */
static bool
send_one(struct nic_drv *d, struct dvq *q, uint32_t s)
{
	uint16_t old = q->avail_idx;

	drv_send(d, q, 200, s, TX_ONE, 0);
	return dvq_kick(d, q, old);
}

/* The frame s came on rx queue qid. */
static void
recv_one(uint16_t qid, uint32_t s)
{
	struct rte_mbuf *m;

	assert_int_equal(nic_rx(qid, &m, 1, 1000), 1);
	assert_true(nic_mbuf_check(m, 200, s));
	rte_pktmbuf_free(m);
}

/* A frame on transmitq q: the doorbell rung (asked for) if kick, the rx
 * queues in mask woken (none: 50 ms without), the frame received on
 * qid. */
static void
frame_wakes(struct nic_drv *d, struct dvq *q, bool kick, unsigned int mask,
	    uint16_t qid)
{
	uint32_t s = seq++;

	assert_int_equal(send_one(d, q, s), kick);
	assert_int_equal(woken(mask != 0 ? 1000 : 50), mask);
	recv_one(qid, s);
}

static void
one_mode(uint64_t f)
{
	struct nic_drv *d;
	struct dvq *q0, *q1;
	uint32_t s;

	port_setup(NIC_QUEUES, true);
	intr_ctl(NIC_QUEUES, true);
	/* rx queue 1 armed before the driver sets its transmitq up */
	assert_int_equal(rte_eth_dev_rx_intr_enable(nic.port, 1), 0);
	assert_int_equal(woken(50), 0);

	d = drv_open();
	drv_init(d, f, NIC_NVQS);
	q0 = &d->vq[1];
	q1 = &d->vq[3];
	/* queue 1 woke at its start, and asks for doorbells */
	assert_int_equal(woken(1000), 2);
	assert_true(kicks_asked(d, q1));
	assert_false(kicks_asked(d, q0));

	/* disarmed: no doorbell, no wakeup (the burst finds it) */
	frame_wakes(d, q0, false, 0, 0);

	/* armed: the doorbell asked for, and it wakes queue 0 only */
	assert_int_equal(rte_eth_dev_rx_intr_enable(nic.port, 0), 0);
	assert_true(kicks_asked(d, q0));
	assert_int_equal(woken(50), 0);
	frame_wakes(d, q0, true, 1, 0);
	assert_int_equal(rte_eth_dev_rx_intr_disable(nic.port, 0), 0);
	assert_false(kicks_asked(d, q0));
	frame_wakes(d, q0, false, 0, 0);

	/* a frame there before the arming: woken at once, no doorbell */
	s = seq++;
	assert_false(send_one(d, q0, s));
	assert_int_equal(rte_eth_dev_rx_intr_enable(nic.port, 0), 0);
	assert_int_equal(woken(1000), 1);
	recv_one(0, s);
	assert_int_equal(rte_eth_dev_rx_intr_disable(nic.port, 0), 0);

	/* queue 1's doorbell wakes queue 1 */
	frame_wakes(d, q1, true, 2, 1);
	assert_int_equal(rte_eth_dev_rx_intr_disable(nic.port, 1), 0);
	assert_false(kicks_asked(d, q1));

	assert_int_equal(drv_tx_reclaim(q0), 4);
	assert_int_equal(drv_tx_reclaim(q1), 1);
	assert_true(drv_canary_ok(d));
	drv_close(d);
	intr_ctl(NIC_QUEUES, false);
}

static void
test_modes(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < RTE_DIM(modes); i++) {
		printf("  %s\n", modes[i].name);
		one_mode(modes[i].f);
	}
}

/* One receive queue for the two pairs: either pair's doorbell wakes it. */
static void
test_set(void **state)
{
	struct nic_drv *d;

	(void)state;
	port_setup(1, true);
	intr_ctl(1, true);
	d = drv_open();
	drv_init(d, NIC_OFFERED, NIC_NVQS);
	assert_int_equal(rte_eth_dev_rx_intr_enable(nic.port, 0), 0);
	assert_true(kicks_asked(d, &d->vq[1]) && kicks_asked(d, &d->vq[3]));
	for (int p = 1; p >= 0; p--) {
		frame_wakes(d, &d->vq[2 * p + 1], true, 1, 0);
		/* armed still: the next buffer's doorbell is asked for */
		assert_int_equal(rte_eth_dev_rx_intr_enable(nic.port, 0), 0);
	}
	assert_int_equal(rte_eth_dev_rx_intr_disable(nic.port, 0), 0);
	assert_false(kicks_asked(d, &d->vq[1]) || kicks_asked(d, &d->vq[3]));
	assert_int_equal(drv_tx_reclaim(&d->vq[1]), 1);
	assert_int_equal(drv_tx_reclaim(&d->vq[3]), 1);
	drv_close(d);
	intr_ctl(1, false);
	/* back to a queue per pair: pair 1 wakes queue 1 now */
	port_setup(NIC_QUEUES, true);
	intr_ctl(NIC_QUEUES, true);
	d = drv_open();
	drv_init(d, NIC_OFFERED, NIC_NVQS);
	assert_int_equal(rte_eth_dev_rx_intr_enable(nic.port, 0), 0);
	assert_int_equal(rte_eth_dev_rx_intr_enable(nic.port, 1), 0);
	frame_wakes(d, &d->vq[3], true, 2, 1);
	assert_int_equal(rte_eth_dev_rx_intr_disable(nic.port, 0), 0);
	assert_int_equal(rte_eth_dev_rx_intr_disable(nic.port, 1), 0);
	drv_close(d);
	intr_ctl(NIC_QUEUES, false);
}

/*
 * A client that takes the doorbells' ioeventfds (GET_REGION_IO_FDS) rings
 * a transmitq's by writing its eventfd, which is the receive queue's
 * wakeup.
 */
static void
test_ioeventfd(void **state)
{
	struct rte_vfio_user_client_io_fd fds[2 * NIC_NVQS];
	struct nic_drv *d;
	struct dvq *q;
	uint32_t count = 0, s;
	uint64_t at;
	int fd = -1;

	(void)state;
	port_setup(NIC_QUEUES, true);
	intr_ctl(NIC_QUEUES, true);
	d = drv_open();
	drv_init(d, NIC_OFFERED, NIC_NVQS);
	q = &d->vq[3];
	at = d->notify + (uint64_t)q->notify_off * d->notify_mult;
	assert_int_equal(rte_vfio_user_client_region_io_fds(d->c, NIC_BAR, fds,
							    RTE_DIM(fds),
							    &count),
			 0);
	assert_true(count <= RTE_DIM(fds));
	for (uint32_t i = 0; i < count; i++) {
		if (fds[i].offset == at)
			fd = fds[i].fd;
		else
			close(fds[i].fd);
	}
	assert_true(fd >= 0);
	assert_int_equal(rte_eth_dev_rx_intr_enable(nic.port, 1), 0);
	s = seq++;
	drv_send(d, q, 200, s, TX_ONE, 0);
	assert_int_equal(woken(50), 0);	/* no doorbell yet */
	assert_int_equal(eventfd_write(fd, 1), 0);
	assert_int_equal(woken(1000), 2);
	assert_int_equal(rte_eth_dev_rx_intr_disable(nic.port, 1), 0);
	recv_one(1, s);
	assert_int_equal(drv_tx_reclaim(q), 1);
	close(fd);
	drv_close(d);
	intr_ctl(NIC_QUEUES, false);
}

static void *
enable_off_eal(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)rte_eth_dev_rx_intr_enable(nic.port, 0);
}

/* Refused: without intr_conf.rxq, and from a thread that is not EAL's. */
static void
test_refused(void **state)
{
	pthread_t t;
	void *ret;

	(void)state;
	port_setup(NIC_QUEUES, true);
	assert_int_equal(pthread_create(&t, NULL, enable_off_eal, NULL), 0);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_int_equal((intptr_t)ret, -EPERM);
	port_setup(NIC_QUEUES, false);
	assert_int_equal(rte_eth_dev_rx_intr_enable(nic.port, 0), -ENOTSUP);
	assert_int_not_equal(rte_eth_dev_rx_intr_ctl_q(nic.port, 0,
						       RTE_EPOLL_PER_THREAD,
						       RTE_INTR_EVENT_ADD,
						       NULL),
			     0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_modes, nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_set, nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_ioeventfd, nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_refused, nic_test_setup,
						nic_test_teardown),
	};

#ifdef NIC_RING_COPY
	/* the same on shadow rings (net_vfio_user's ring_copy) */
	nic_devargs_extra = ",ring_copy=1";
	nic_rings_across = true;
#define NIC_PROG "test_nic_rx_intr_shadow"
#else
#define NIC_PROG "test_nic_rx_intr"
#endif
	if (nic_group_setup(NIC_PROG) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, nic_group_teardown);
}
