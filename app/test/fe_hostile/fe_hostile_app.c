/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * fe_hostile_app: the application side of the fe_hostile test. It drives
 * port 0 (net_virtio_vfio_user, loaded with -d) against hostile_dev.py, a
 * device that misbehaves, and prints what the test checks:
 *
 *   fe: ports N                  after EAL init (0: the probe was refused)
 *   fe: heap ok|BAD ...          the DPDK heap's element list, walked
 *   fe: mac M max_mtu N          the port's
 *   fe: start RET
 *   fe: qstop rx_stop RET tx_stop RET   with --qstop, after start
 *   fe: deferred rx_setup RET tx_setup RET   with --qstop, after stop
 *   fe: link up|down speed N duplex full|half   after start
 *   fe: lsc link up|down speed N duplex full|half   each LSC event (--lsc)
 *   fe: rx N ipackets N ierrors N opackets N
 *   fe: rxq_stop RET ipackets N imissed N ierrors N   with --rxq-stop-end
 *   fe: mempool in_use N of N    after stop + close
 *   fe: uaf_mbufs N              mbufs written after the port freed them
 *   fe: alarms N late_max_ms N   with --alarms
 *
 *   fe_hostile_app <EAL args> -- [--secs S] [--rx N] [--tx] [--alarms S]
 *                  [--mbuf-size BYTES] [--lsc] [--qstop] [--qrestart]
 *                  [--rxq-stop-end]
 *
 * --secs: receive (and with --tx, send one frame per round) for at most S
 * seconds; --rx: stop as soon as N packets are in; --alarms: instead of
 * starting the port, run an EAL alarm every 50 ms for S seconds and say how
 * late the latest was (the EAL interrupt thread runs the alarms: anything
 * the port does there holds them up), then close the port; --mbuf-size:
 * the pool's data room after the headroom (default 2048); --lsc: configure
 * intr_conf.lsc and print the link at each LSC event (as the port stored
 * it: rte_eth_link_get_nowait() then asks the PMD nothing); --qstop: stop
 * rx and tx queue 0 once started (what the PMD answers; a queue stopped
 * is started again), and once the port is stopped set them up again with
 * a deferred start (what the PMD answers); --qrestart: with --qstop,
 * start them again whatever the stops answered; --rxq-stop-end: stop rx
 * queue 0 after the receive loop and print the counters then (what the
 * stop dropped). Exit status 0
 * when it got that far whatever the port did (the test judges the lines),
 * 1 when the application itself could not run.
 */

#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_alarm.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#define FE_NB_MBUF 4096

/*
 * The pool's mbufs are checked for writes after they were freed (a
 * device's DMA into buffers the port gave back before the device was done
 * with them): their data room is filled with 0xa5 when they go back, and
 * checked when they are taken again. The ring_mp_mc ops around that.
 */
static struct rte_mempool_ops poison_ops;
static const struct rte_mempool_ops *ring_ops;
static uint64_t uaf_mbufs;

static int
poison_enqueue(struct rte_mempool *mp, void *const *objs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		memset((uint8_t *)objs[i] + sizeof(struct rte_mbuf), 0xa5,
		       mp->elt_size - sizeof(struct rte_mbuf));
	return ring_ops->enqueue(mp, objs, n);
}

static int
poison_dequeue(struct rte_mempool *mp, void **objs, unsigned int n)
{
	int ret = ring_ops->dequeue(mp, objs, n);

	for (unsigned int i = 0; ret == 0 && i < n; i++) {
		const uint8_t *d = (const uint8_t *)objs[i] +
				   sizeof(struct rte_mbuf);

		for (size_t k = 0; k < mp->elt_size - sizeof(struct rte_mbuf);
		     k++) {
			if (d[k] != 0xa5) {
				if (uaf_mbufs++ < 3)
					printf("fe: mbuf %p: byte %zu is 0x%02x, "
					       "written after it was freed\n",
					       objs[i], k, d[k]);
				break;
			}
		}
	}
	return ret;
}

static int
poison_register(void)
{
	for (unsigned int i = 0; i < rte_mempool_ops_table.num_ops; i++)
		if (strcmp(rte_mempool_ops_table.ops[i].name, "ring_mp_mc") ==
		    0)
			ring_ops = &rte_mempool_ops_table.ops[i];
	if (ring_ops == NULL)
		return -1;
	poison_ops = *ring_ops;
	snprintf(poison_ops.name, sizeof(poison_ops.name), "fe_poison");
	poison_ops.enqueue = poison_enqueue;
	poison_ops.dequeue = poison_dequeue;
	return rte_mempool_register_ops(&poison_ops) < 0 ? -1 : 0;
}
#define FE_NB_DESC 256
#define FE_BURST 32

/* A pointer as printf's %p wrote it ("(nil)" for NULL). */
static uintptr_t
dump_ptr(const char *s)
{
	if (strncmp(s, "(nil)", 5) == 0)
		return 0;
	return (uintptr_t)strtoull(s, NULL, 16);
}

/*
 * The heap's elements, in the order of their list, as rte_malloc_dump_heaps()
 * prints them ("Malloc element at ADDR", then "prev: P next: N"): each must
 * be its predecessor's next and name it as its prev. A device writing past
 * a ring's memzone lands in the header of the element after it
 * (rte_malloc_validate() checks nothing without RTE_MALLOC_DEBUG, which
 * Debian's DPDK is built without). Returns the number of elements, or -1
 * (and says why) when the list is broken.
 */
static long
heap_check(const char *when)
{
	char *buf = NULL, *line, *save = NULL;
	uintptr_t addr = 0, prev_addr = 0, prev_next = 0;
	bool in_heap = false, have_prev = false;
	size_t len = 0;
	long n = 0;
	FILE *f;

	f = open_memstream(&buf, &len);
	if (f == NULL) {
		printf("fe: heap BAD %s: open_memstream failed\n", when);
		return -1;
	}
	rte_malloc_dump_heaps(f);
	fclose(f);
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		void *p;

		if (strncmp(line, "Heap id:", 8) == 0) {
			/* a new heap: its first element has no prev */
			if (have_prev && prev_next != 0)
				goto bad_end;
			in_heap = true;
			have_prev = false;
		} else if (in_heap &&
			   sscanf(line, "Malloc element at %p", &p) == 1) {
			addr = (uintptr_t)p;
			n++;
		} else if (in_heap && strstr(line, "prev: ") != NULL &&
			   strstr(line, "next: ") != NULL) {
			uintptr_t pv = dump_ptr(strstr(line, "prev: ") + 6);
			uintptr_t nx = dump_ptr(strstr(line, "next: ") + 6);

			if (have_prev ? (prev_next != addr || pv != prev_addr) :
					pv != 0) {
				printf("fe: heap BAD %s: element %#" PRIxPTR
				       " has prev %#" PRIxPTR
				       ", follows %#" PRIxPTR
				       " whose next is %#" PRIxPTR "\n",
				       when, addr, pv,
				       have_prev ? prev_addr : 0,
				       have_prev ? prev_next : 0);
				free(buf);
				return -1;
			}
			prev_addr = addr;
			prev_next = nx;
			have_prev = true;
		}
	}
	if (have_prev && prev_next != 0)
		goto bad_end;
	free(buf);
	if (n == 0) {
		/* not a heap without elements: a dump we cannot read */
		printf("fe: heap BAD %s: no element in the dump\n", when);
		return -1;
	}
	printf("fe: heap ok %s: %ld elements\n", when, n);
	return n;
bad_end:
	printf("fe: heap BAD %s: the last element %#" PRIxPTR
	       " has next %#" PRIxPTR "\n",
	       when, prev_addr, prev_next);
	free(buf);
	return -1;
}

#define FE_ALARM_US 50000

static struct {
	uint64_t due;		/* timer cycles */
	uint64_t n;
	uint64_t late_max;	/* ms */
	uint32_t stop;
} alarm_probe;

static void
alarm_cb(void *arg)
{
	uint64_t now = rte_get_timer_cycles(), hz = rte_get_timer_hz();
	uint64_t late = now > alarm_probe.due ?
				(now - alarm_probe.due) * 1000 / hz :
				0;

	RTE_SET_USED(arg);
	alarm_probe.n++;
	if (late > alarm_probe.late_max)
		alarm_probe.late_max = late;
	if (__atomic_load_n(&alarm_probe.stop, __ATOMIC_ACQUIRE))
		return;
	alarm_probe.due = now + FE_ALARM_US * hz / 1000000;
	if (rte_eal_alarm_set(FE_ALARM_US, alarm_cb, NULL) != 0)
		printf("fe: alarm set failed\n");
}

/* EAL alarms every 50 ms for secs seconds: how late did they run? */
static void
alarms_run(double secs)
{
	alarm_probe.due = rte_get_timer_cycles() +
			  FE_ALARM_US * rte_get_timer_hz() / 1000000;
	if (rte_eal_alarm_set(FE_ALARM_US, alarm_cb, NULL) != 0) {
		printf("fe: alarm set failed\n");
		return;
	}
	usleep((useconds_t)(secs * 1e6));
	__atomic_store_n(&alarm_probe.stop, 1, __ATOMIC_RELEASE);
	rte_eal_alarm_cancel(alarm_cb, NULL);
	printf("fe: alarms %" PRIu64 " late_max_ms %" PRIu64 "\n",
	       alarm_probe.n, alarm_probe.late_max);
}

static void
link_print(const char *what)
{
	struct rte_eth_link link;

	if (rte_eth_link_get_nowait(0, &link) == 0)
		printf("fe: %slink %s speed %u duplex %s\n", what,
		       link.link_status ? "up" : "down", link.link_speed,
		       link.link_duplex ? "full" : "half");
	fflush(stdout);
}

/* An LSC event (on the EAL interrupt thread): the link the port stored. */
static int
lsc_cb(uint16_t port, enum rte_eth_event_type type, void *arg, void *ret)
{
	RTE_SET_USED(port);
	RTE_SET_USED(type);
	RTE_SET_USED(arg);
	RTE_SET_USED(ret);
	link_print("lsc ");
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "secs", required_argument, NULL, 's' },
		{ "rx", required_argument, NULL, 'r' },
		{ "tx", no_argument, NULL, 't' },
		{ "alarms", required_argument, NULL, 'a' },
		{ "mbuf-size", required_argument, NULL, 'm' },
		{ "lsc", no_argument, NULL, 'l' },
		{ "qstop", no_argument, NULL, 'q' },
		{ "qrestart", no_argument, NULL, 'Q' },
		{ "rxq-stop-end", no_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	struct rte_mempool *mp;
	struct rte_eth_stats st;
	uint64_t rx = 0, want = UINT64_MAX, end;
	double secs = 2, alarms = 0;
	uint16_t room = RTE_MBUF_DEFAULT_DATAROOM;
	bool tx = false, qstop = false, qrestart = false, rxq_stop_end = false;
	uint16_t nq;
	int ret, c;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "fe: EAL init failed\n");
		return 1;
	}
	argc -= ret;
	argv += ret;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			secs = atof(optarg);
			break;
		case 'r':
			want = strtoull(optarg, NULL, 0);
			break;
		case 't':
			tx = true;
			break;
		case 'a':
			alarms = atof(optarg);
			break;
		case 'm':
			room = (uint16_t)atoi(optarg);
			break;
		case 'l':
			conf.intr_conf.lsc = 1;
			break;
		case 'q':
			qstop = true;
			break;
		case 'Q':
			qrestart = true;
			break;
		case 'e':
			rxq_stop_end = true;
			break;
		default:
			fprintf(stderr, "fe: bad option\n");
			return 1;
		}
	}
	printf("fe: ports %u\n", rte_eth_dev_count_avail());
	heap_check("after probe");
	if (rte_eth_dev_count_avail() == 0) {
		/* a refused probe must leave EAL in a state to exit cleanly */
		fflush(stdout);
		return rte_eal_cleanup() == 0 ? 0 : 1;
	}
	if (alarms > 0) {
		alarms_run(alarms);
		rte_eth_dev_close(0);
		heap_check("after close");
		fflush(stdout);
		return rte_eal_cleanup() == 0 ? 0 : 1;
	}
	if (rte_eth_dev_info_get(0, &info) != 0)
		return 1;
	{
		struct rte_ether_addr mac;

		if (rte_eth_macaddr_get(0, &mac) == 0)
			printf("fe: mac " RTE_ETHER_ADDR_PRT_FMT
			       " max_mtu %u\n",
			       RTE_ETHER_ADDR_BYTES(&mac), info.max_mtu);
	}
	nq = info.max_rx_queues;
	/* no per-lcore cache: every mbuf not in the pool is one the port
	 * holds */
	if (poison_register() < 0) {
		fprintf(stderr, "fe: no ring_mp_mc mempool ops\n");
		return 1;
	}
	mp = rte_pktmbuf_pool_create_by_ops("fe", FE_NB_MBUF, 0, 0,
					    RTE_PKTMBUF_HEADROOM + room,
					    SOCKET_ID_ANY, "fe_poison");
	if (mp == NULL || rte_eth_dev_configure(0, nq, nq, &conf) < 0) {
		fprintf(stderr, "fe: configure failed\n");
		return 1;
	}
	for (uint16_t q = 0; q < nq; q++) {
		if (rte_eth_rx_queue_setup(0, q, FE_NB_DESC, SOCKET_ID_ANY,
					   NULL, mp) < 0 ||
		    rte_eth_tx_queue_setup(0, q, FE_NB_DESC, SOCKET_ID_ANY,
					   NULL) < 0) {
			fprintf(stderr, "fe: queue setup failed\n");
			return 1;
		}
	}
	if (conf.intr_conf.lsc &&
	    rte_eth_dev_callback_register(0, RTE_ETH_EVENT_INTR_LSC, lsc_cb,
					  NULL) != 0) {
		fprintf(stderr, "fe: no LSC callback\n");
		return 1;
	}
	ret = rte_eth_dev_start(0);
	printf("fe: start %d\n", ret);
	if (ret == 0)
		link_print("");
	if (ret == 0 && qstop) {
		int rs = rte_eth_dev_rx_queue_stop(0, 0);
		int ts = rte_eth_dev_tx_queue_stop(0, 0);

		printf("fe: qstop rx_stop %d tx_stop %d\n", rs, ts);
		if (qrestart) {
			/* whatever the stops answered (ethdev marks a queue
			 * STOPPED once its stop was tried) */
			struct rte_eth_txq_info ti;

			rs = rte_eth_dev_rx_queue_start(0, 0);
			ts = rte_eth_dev_tx_queue_start(0, 0);
			printf("fe: qstart rx_start %d tx_start %d\n", rs, ts);
			if (rte_eth_tx_queue_info_get(0, 0, &ti) == 0)
				printf("fe: qstate tx_state %u\n",
				       ti.queue_state);
		} else {
			if (rs == 0)
				rte_eth_dev_rx_queue_start(0, 0);
			if (ts == 0)
				rte_eth_dev_tx_queue_start(0, 0);
		}
	}
	heap_check("after start");
	fflush(stdout);
	end = rte_get_timer_cycles() + (uint64_t)(secs * rte_get_timer_hz());
	while (ret == 0 && rx < want && rte_get_timer_cycles() < end) {
		struct rte_mbuf *m[FE_BURST];

		for (uint16_t q = 0; q < nq; q++) {
			uint16_t k = rte_eth_rx_burst(0, q, m, FE_BURST);

			rx += k;
			rte_pktmbuf_free_bulk(m, k);
		}
		if (tx && rte_pktmbuf_alloc_bulk(mp, m, 1) == 0) {
			rte_pktmbuf_append(m[0], 60);
			if (rte_eth_tx_burst(0, 0, m, 1) == 0)
				rte_pktmbuf_free(m[0]);
		}
		usleep(1000);
	}
	if (rte_eth_stats_get(0, &st) != 0)
		memset(&st, 0, sizeof(st));
	printf("fe: rx %" PRIu64 " ipackets %" PRIu64 " ierrors %" PRIu64
	       " opackets %" PRIu64 " oerrors %" PRIu64 "\n",
	       rx, st.ipackets, st.ierrors, st.opackets, st.oerrors);
	if (ret == 0 && rxq_stop_end) {
		/* what the stop dropped of what the device had delivered */
		int rs = rte_eth_dev_rx_queue_stop(0, 0);

		if (rte_eth_stats_get(0, &st) != 0)
			memset(&st, 0, sizeof(st));
		printf("fe: rxq_stop %d ipackets %" PRIu64 " imissed %" PRIu64
		       " ierrors %" PRIu64 "\n",
		       rs, st.ipackets, st.imissed, st.ierrors);
	}
	rte_eth_dev_stop(0);
	if (qstop) {
		struct rte_eth_rxconf rxc = info.default_rxconf;
		struct rte_eth_txconf txc = info.default_txconf;

		rxc.rx_deferred_start = 1;
		txc.tx_deferred_start = 1;
		printf("fe: deferred rx_setup %d tx_setup %d\n",
		       rte_eth_rx_queue_setup(0, 0, FE_NB_DESC, SOCKET_ID_ANY,
					      &rxc, mp),
		       rte_eth_tx_queue_setup(0, 0, FE_NB_DESC, SOCKET_ID_ANY,
					      &txc));
	}
	rte_eth_dev_close(0);
	printf("fe: mempool in_use %u of %u\n", rte_mempool_in_use_count(mp),
	       FE_NB_MBUF);
	{
		/* every mbuf taken once more: checked */
		static struct rte_mbuf *all[FE_NB_MBUF];
		unsigned int k = rte_mempool_avail_count(mp);

		if (rte_mempool_get_bulk(mp, (void **)all, k) == 0)
			rte_mempool_put_bulk(mp, (void **)all, k);
		printf("fe: uaf_mbufs %" PRIu64 "\n", uaf_mbufs);
	}
	heap_check("after close");
	rte_mempool_free(mp);
	fflush(stdout);
	return rte_eal_cleanup() == 0 ? 0 : 1;
}
