/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Memory the frontend's process allocates after its port is up (DPDK's
 * dynamic memory: hugepages taken from the system as the heap grows, and
 * given back as it shrinks) reaches the device: net_virtio_vfio_user maps
 * it from its rte_mem_event callback and unmaps it when freed. Both PMDs
 * in one process, one thread, hugepages (dynamic memory needs them; the
 * test says why and is skipped without enough free ones):
 *   - a 64 MiB memzone reserved after start: every page of it translates
 *     on the device side to the same memory (a pattern written through
 *     the memzone is read through the device's translation);
 *   - a mempool created after start: frames the frontend sends from it
 *     arrive whole at the device port, and rte_eth_tx_done_cleanup()
 *     gives back every mbuf of it the frontend held;
 *   - both freed: the device keeps no region of the pages DPDK gave back,
 *     and traffic from the first pool still flows;
 *   - the device taken away and given back 20 times (reconnect=) while
 *     another thread grows and shrinks the heap without pause: the port's
 *     setup and the hotplug callback do not wait for each other (they
 *     did: a deadlock in the first round);
 *   - memory added while the device cannot map it: the link goes down
 *     and the port sets the device up again with all of it (it ran on
 *     with memory the device could not reach); without reconnect=
 *     (mem_hotplug_manual), the link stays down until a stop and start
 *     of the port, which sets the device up again (it stayed down);
 *   - the device moved to a second device port and back, 10 times, while
 *     the heap grows and shrinks: after each move the new device has
 *     every page of the live memzones (memory added during a move is
 *     mapped on both devices: without that, pages were missing);
 *   - last, the frontend closed while on the second device: its memory
 *     event callback goes with it (registered under the socket path a
 *     move rewrites, it stayed, to run on the freed port).
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <ethdev_driver.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_memzone.h>
#include <rte_rcu_qsbr.h>

#include "inproc_pair.h"
#include "rte_pmd_vfio_user_client.h"
#include "rte_vfio_user.h"

#define BURST		32
#define FRAME		128
#define HOT_ZONE	(64u << 20)
#define PAGE_2M		(2u << 20)
#define MIN_FREE_PAGES	256	/* 512 MiB of 2 MiB pages */

static struct {
	const char *layout;	/* frontend devargs that pick the rings */
	struct inproc_pair p;
	uint16_t be, fe;	/* p's */
	bool manual;		/* no reconnect= (argument "manual") */
	int dev;		/* the device port's vfio-user device */
	struct rte_mempool *fe_mp;
	uint16_t be2;		/* a second device port (moves) */
	char sock2[128];	/* its socket */
} g;

/*
 * The memory table of device dev, read online in its QSBR variable as a
 * data path reads it (net_vfio_user registered every lcore there): other
 * threads' memory (the ports' own allocations) may come and go
 * meanwhile, and the nodes of a table replaced are freed once no reader
 * is online. table_leave() when done with it. NULL: no table.
 */
static const struct rte_vfio_user_mem_table *
table_enter(int dev)
{
	struct rte_rcu_qsbr *q = rte_vfio_user_get_qsbr(dev);

	assert_non_null(q);
	rte_rcu_qsbr_thread_online(q, rte_lcore_id());
	return rte_vfio_user_get_mem_table(dev);
}

static void
table_leave(int dev)
{
	rte_rcu_qsbr_thread_offline(rte_vfio_user_get_qsbr(dev),
				    rte_lcore_id());
}

/* Regions of device dev, 0 if none. */
static uint32_t
nregions_of(int dev)
{
	const struct rte_vfio_user_mem_table *t = table_enter(dev);
	uint32_t n = t != NULL ? t->nregions : 0;

	table_leave(dev);
	return n;
}

/* Regions of the device port's device. */
static uint32_t
nregions(void)
{
	return nregions_of(g.dev);
}

/* The device's view of [va, va + len): each byte as ours, or NULL. */
static const uint8_t *
dev_view(const void *va, size_t len)
{
	const struct rte_vfio_user_mem_table *t = table_enter(g.dev);
	const uint8_t *p =
		t == NULL ? NULL :
			    rte_vfio_user_iova_to_va(t, (uintptr_t)va, len,
						     RTE_VFIO_USER_MEM_F_READ);

	table_leave(g.dev);
	return p;
}

/*
 * The first piece of mz that t lacks, page by page (a file per hugepage,
 * a region per page): its address (and *len), or 0 if t has all of mz.
 */
static uintptr_t
mz_missing(const struct rte_vfio_user_mem_table *t,
	   const struct rte_memzone *mz, size_t *len)
{
	uintptr_t end = (uintptr_t)mz->addr + mz->len, next;

	for (uintptr_t va = (uintptr_t)mz->addr; va < end; va = next) {
		next = RTE_ALIGN_FLOOR(va + PAGE_2M, (uintptr_t)PAGE_2M);
		*len = RTE_MIN(end, next) - va;
		if (t == NULL ||
		    rte_vfio_user_iova_to_va(t, va, *len,
					     RTE_VFIO_USER_MEM_F_READ) == NULL)
			return va;
	}
	return 0;
}

/* Send n frames of mp from the frontend, each stamped with its number;
 * the device port must receive all of them, whole. */
static void
traffic(struct rte_mempool *mp, uint32_t n)
{
	uint32_t sent = 0, got = 0;

	for (int i = 0; i < 100000 && got < n; i++) {
		struct rte_mbuf *m[BURST];
		uint16_t k = 0, s, r;

		while (k < BURST && sent + k < n) {
			struct rte_mbuf *b = rte_pktmbuf_alloc(mp);
			uint8_t *p;

			if (b == NULL)
				break;
			p = (uint8_t *)rte_pktmbuf_append(b, FRAME);
			memset(p, 0xa5, FRAME);
			memcpy(p, &(uint32_t){ sent + k }, 4);
			m[k++] = b;
		}
		s = rte_eth_tx_burst(g.fe, 0, m, k);
		rte_pktmbuf_free_bulk(&m[s], k - s);
		sent += s;
		r = rte_eth_rx_burst(g.be, 0, m, BURST);
		for (uint16_t j = 0; j < r; j++) {
			const uint8_t *p = rte_pktmbuf_mtod(m[j], uint8_t *);

			assert_int_equal(m[j]->pkt_len, FRAME);
			assert_int_equal(p[FRAME - 1], 0xa5);
		}
		rte_pktmbuf_free_bulk(m, r);
		got += r;
	}
	printf("%" PRIu32 " frames from pool %s sent, %" PRIu32 " received\n",
	       sent, mp->name, got);
	assert_int_equal(got, n);
}

static void
test_memzone_after_start(void **state)
{
	uint32_t before = nregions(), during;
	const struct rte_memzone *mz;

	(void)state;
	mz = rte_memzone_reserve("vu-hot", HOT_ZONE, SOCKET_ID_ANY, 0);
	assert_non_null(mz);
	during = nregions();
	printf("device regions: %u before, %u with the memzone\n", before,
	       during);
	assert_true(during > before);
	/* page by page: a file per hugepage, so a region per page */
	for (size_t off = 0; off < mz->len; off += PAGE_2M) {
		size_t len = RTE_MIN((size_t)PAGE_2M, mz->len - off);
		uint8_t *ours = (uint8_t *)mz->addr + off;
		const uint8_t *theirs;

		memset(ours, (int)(off / PAGE_2M) + 1, len);
		theirs = dev_view(ours, len);
		assert_non_null(theirs);
		assert_int_equal(theirs[0], (uint8_t)(off / PAGE_2M + 1));
		assert_int_equal(theirs[len - 1], (uint8_t)(off / PAGE_2M + 1));
	}
	assert_int_equal(rte_memzone_free(mz), 0);
	printf("device regions: %u after the free\n", nregions());
	assert_true(nregions() < during);
}

static void *
cleanup_thread(void *arg)
{
	*(int *)arg = rte_eth_tx_done_cleanup(g.fe, 0, 0);
	return NULL;
}

static void
test_mempool_after_start(void **state)
{
	struct rte_mempool *mp;

	(void)state;
	traffic(g.fe_mp, 1000);
	mp = rte_pktmbuf_pool_create("vu-hot-pool", 16383, 0, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	assert_non_null(mp);
	traffic(mp, 4000);
	/* the device took them all: the frontend gives back what it still
	 * held of them (a pool is freed only with none of it in use) */
	{
		/* not from a thread the data path cannot protect */
		pthread_t t;
		int ret = 0;

		assert_int_equal(pthread_create(&t, NULL, cleanup_thread, &ret),
				 0);
		pthread_join(t, NULL);
		assert_int_equal(ret, -EPERM);
	}
	assert_true(rte_eth_tx_done_cleanup(g.fe, 0, 0) >= 0);
	assert_int_equal(rte_mempool_in_use_count(mp), 0);
	rte_mempool_free(mp);
	traffic(g.fe_mp, 1000);
}

/*
 * Hotplug events, one after the other: each round frees the oldest of
 * CHURN_LIVE memzones and reserves a new one, for which the heap grows
 * (and shrinks with the free), until told to stop; the live ones stay
 * for churn_check(). A breath of 100 us between rounds: DPDK's memory
 * hotplug lock is a spinning rwlock without fairness, and a writer that
 * takes it again at once starves a reader on the other CPU (a move
 * waited 10 s).
 */
#define CHURN_LIVE	4
static volatile int churn_stop;
static unsigned int churn_rounds;
static pthread_mutex_t churn_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct rte_memzone *churn_mz[CHURN_LIVE];

static void *
churn_thread(void *arg)
{
	(void)arg;
	for (unsigned int k = 0; !churn_stop; k++) {
		unsigned int slot = k % CHURN_LIVE;
		char name[32];

		snprintf(name, sizeof(name), "vu-churn-%u", k);
		pthread_mutex_lock(&churn_lock);
		if (churn_mz[slot] != NULL)
			rte_memzone_free(churn_mz[slot]);
		churn_mz[slot] = rte_memzone_reserve(name, 4u << 20,
						     SOCKET_ID_ANY, 0);
		pthread_mutex_unlock(&churn_lock);
		churn_rounds++;
		rte_delay_us_sleep(100);
	}
	return NULL;
}

/* Every page of the churn's live memzones reaches the device at sock
 * (between two rounds); how many memzones were checked. */
static unsigned int
churn_check(const char *sock)
{
	int dev = rte_vfio_user_get_dev_id(sock);
	const struct rte_vfio_user_mem_table *t;
	const char *missing = NULL;
	unsigned int n = 0;
	uintptr_t at = 0;
	size_t len = 0;

	pthread_mutex_lock(&churn_lock);
	t = table_enter(dev);
	for (unsigned int i = 0; missing == NULL && i < CHURN_LIVE; i++) {
		const struct rte_memzone *mz = churn_mz[i];

		if (mz == NULL)
			continue;
		at = mz_missing(t, mz, &len);
		if (at != 0)
			missing = mz->name;
		n++;
	}
	table_leave(dev);
	pthread_mutex_unlock(&churn_lock);
	assert_non_null(t);	/* (the pointer only: not read any more) */
	if (missing != NULL)
		fail_msg("memzone %s: [0x%" PRIxPTR ", +0x%zx) not in the "
			 "device at %s",
			 missing, at, len, sock);
	return n;
}

static pthread_t churn_tid;
static bool churn_running;

/* Start the churn thread. */
static void
churn_begin(void)
{
	churn_stop = 0;
	churn_rounds = 0;
	assert_int_equal(pthread_create(&churn_tid, NULL, churn_thread, NULL),
			 0);
	churn_running = true;
}

/* Stop the churn thread, if it runs, and free its memzones. */
static void
churn_end(void)
{
	if (!churn_running)
		return;
	churn_stop = 1;
	pthread_join(churn_tid, NULL);
	churn_running = false;
	for (unsigned int i = 0; i < CHURN_LIVE; i++) {
		rte_memzone_free(churn_mz[i]);
		churn_mz[i] = NULL;
	}
}

/* Teardown of the tests with churn: after a failed assertion too. */
static int
churn_teardown(void **state)
{
	(void)state;
	alarm(0);
	churn_end();
	return 0;
}

/* The watchdog of test_reconnect_during_hotplug: a port that stays down
 * this long is stuck, and its threads with it: say so and end. */
static void
stuck(int sig)
{
	static const char msg[] =
		"FAIL: the frontend was not set up (or moved) in 10 s while "
		"memory was hotplugged (a deadlock between its setup and "
		"the memory hotplug lock?)\n";

	(void)sig;
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(1);
}

/*
 * The frontend sets the device up again (reconnect=) while another
 * thread grows and shrinks the heap: the setup maps memory under the
 * memory hotplug lock while holding the port's lock, and the hotplug
 * callback runs under that lock: they must not wait for each other.
 * Then the memory of the last round reaches the device.
 */
static void
test_reconnect_during_hotplug(void **state)
{
	int i;

	(void)state;
	churn_begin();
	signal(SIGALRM, stuck);
	for (i = 0; i < 20; i++) {
		int k;

		alarm(10);
		assert_int_equal(rte_vfio_user_stop(g.dev), 0);
		assert_int_equal(rte_vfio_user_start(g.dev), 0);
		/* the frontend finds the device gone, then comes back */
		for (k = 0; k < 10000 && rte_vfio_user_is_connected(g.dev) != 1;
		     k++)
			rte_delay_us_sleep(1000);
		assert_int_equal(rte_vfio_user_is_connected(g.dev), 1);
		assert_true(inproc_link_wait(g.fe, true, 10000));
	}
	churn_end();
	alarm(0);
	printf("%d reconnections during %u rounds of heap growth\n", i,
	       churn_rounds);
	assert_true(churn_rounds > 0);
	traffic(g.fe_mp, 1000);
}

/*
 * The frontend's device moved to a second device port and back, 10
 * times, while another thread grows and shrinks the heap: each move
 * completes (the move holds the port's lock while it maps memory on the
 * new device), the new device gets the memory added meanwhile and loses
 * the memory freed meanwhile (the callback maps and unmaps on both until
 * the switch), so once the heap is back each device the frontend is on
 * has exactly the regions it had before; then frames flow.
 */
/* The second device port (net_vfio_user1 at g.sock2), added once: the
 * same device (its MAC too), so the state of one loads into the other. */
static void
second_device(void)
{
	struct rte_ether_addr mac;
	char args[64];

	if (g.sock2[0] != '\0')
		return;
	assert_int_equal(rte_eth_macaddr_get(g.be, &mac), 0);
	snprintf(args, sizeof(args), "mac=" RTE_ETHER_ADDR_PRT_FMT,
		 RTE_ETHER_ADDR_BYTES(&mac));
	snprintf(g.sock2, sizeof(g.sock2), "%s/be2.sock", g.p.dir);
	assert_int_equal(inproc_device_add(&g.p, "net_vfio_user1", g.sock2,
					   args, &g.be2),
			 0);
}

static int
count_seg(const struct rte_memseg_list *msl, const struct rte_memseg *ms,
	  void *arg)
{
	(void)ms;
	if (!msl->external)
		(*(uint32_t *)arg)++;
	return 0;
}

/*
 * Whether the device at sock has exactly our memory: a region per page
 * DPDK holds (a file per hugepage), none of pages it gave back. Asked
 * again for up to 100 ms: the ports' own allocations may be on the way.
 */
static bool
device_has_our_memory(const char *sock, uint32_t *pages, uint32_t *regions)
{
	for (int k = 0; k < 100; k++) {
		*pages = 0;
		rte_memseg_walk(count_seg, pages);
		*regions = nregions_of(rte_vfio_user_get_dev_id(sock));
		if (*regions == *pages)
			return true;
		rte_delay_us_sleep(1000);
	}
	return false;
}

static void
test_move_during_hotplug(void **state)
{
	struct rte_pmd_vfio_user_client_move_stats st;
	unsigned int checked = 0;
	uint32_t pages, regions;
	int i;

	(void)state;
	second_device();
	churn_begin();
	signal(SIGALRM, stuck);
	for (i = 0; i < 10; i++) {
		alarm(10);
		assert_int_equal(rte_pmd_vfio_user_client_move(g.fe, g.sock2,
							       &st),
				 0);
		checked += churn_check(g.sock2);
		assert_int_equal(rte_pmd_vfio_user_client_move(g.fe, g.p.sock,
							       &st),
				 0);
		checked += churn_check(g.p.sock);
	}
	churn_end();
	alarm(0);
	printf("%d moves there and back during %u rounds of heap growth, "
	       "%u live memzones found whole on the device after a move\n",
	       i, churn_rounds, checked);
	assert_true(churn_rounds > 0);
	/* the churn's memory all given back: none of it left mapped */
	assert_true(device_has_our_memory(g.p.sock, &pages, &regions));
	printf("%u pages, %u regions\n", pages, regions);
	/* and on the other device, once more without churn */
	assert_int_equal(rte_pmd_vfio_user_client_move(g.fe, g.sock2, &st), 0);
	assert_true(device_has_our_memory(g.sock2, &pages, &regions));
	assert_int_equal(rte_pmd_vfio_user_client_move(g.fe, g.p.sock, &st), 0);
	traffic(g.fe_mp, 1000);
}

/*
 * Last: the frontend moved away from the device it was probed with, then
 * closed. Its memory event callback must go with it: it was registered
 * under the port's socket path, which the move rewrites, so the close
 * could not find it and it stayed, to run on the freed port at the next
 * heap growth. Then heap growth and shrink with no port left.
 */
static void
test_close_after_move(void **state)
{
	struct rte_pmd_vfio_user_client_move_stats st;
	void *priv = rte_eth_devices[g.fe].data->dev_private;
	const struct rte_memzone *mz;

	(void)state;
	second_device();
	assert_int_equal(rte_pmd_vfio_user_client_move(g.fe, g.sock2, &st), 0);
	assert_int_equal(rte_eth_dev_stop(g.fe), 0);
	assert_int_equal(rte_eth_dev_close(g.fe), 0);
	/* no callback left with the port's context, under either name */
	assert_int_equal(rte_mem_event_callback_unregister(g.p.sock, priv), -1);
	assert_int_equal(rte_errno, ENOENT);
	assert_int_equal(rte_mem_event_callback_unregister(
				 "net_virtio_vfio_user0", priv),
			 -1);
	assert_int_equal(rte_errno, ENOENT);
	mz = rte_memzone_reserve("vu-after-close", 8u << 20, SOCKET_ID_ANY, 0);
	assert_non_null(mz);
	assert_int_equal(rte_memzone_free(mz), 0);
	assert_int_equal(rte_eth_dev_stop(g.be2), 0);
	assert_int_equal(rte_eth_dev_close(g.be2), 0);
}

/* The number that fmt (one %llu) reads from a line of the file at path;
 * 0 if none. */
static unsigned long long
proc_field(const char *path, const char *fmt)
{
	FILE *f = fopen(path, "r");
	unsigned long long v = 0;
	char line[128];

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, fmt, &v) == 1)
			break;
	fclose(f);
	return v;
}

/* This process's address space (VmSize), bytes; 0 if unknown. */
static uint64_t
vm_size(void)
{
	return (uint64_t)proc_field("/proc/self/status", "VmSize: %llu kB")
	       << 10;
}

/*
 * Memory added while the device cannot map it (its mmap of our pages
 * fails: the address space is held at its size, so this in-process
 * server gets ENOMEM, while DPDK's own pages go into address space it
 * reserved at start): the port must not run on with memory the device
 * cannot reach. Its link goes down, and once the device can map again
 * the port sets it up from scratch (reconnect=): every page of the
 * memzone reaches the device, and frames flow.
 */
/* A 16 MiB memzone reserved while the address space is held at its
 * size: the device's mmap of the new pages fails. */
static const struct rte_memzone *
reserve_refused(const char *name)
{
	const struct rte_memzone *mz;
	struct rlimit old, tight;

	assert_int_equal(getrlimit(RLIMIT_AS, &old), 0);
	tight = old;
	tight.rlim_cur = vm_size() + (1u << 20);
	assert_true(tight.rlim_cur > (1u << 20));
	assert_int_equal(setrlimit(RLIMIT_AS, &tight), 0);
	mz = rte_memzone_reserve(name, 16u << 20, SOCKET_ID_ANY, 0);
	assert_int_equal(setrlimit(RLIMIT_AS, &old), 0);
	assert_non_null(mz);
	return mz;
}

/* Every page of mz reaches the device port's device. */
static void
assert_dev_has(const struct rte_memzone *mz)
{
	uintptr_t at;
	size_t len;

	at = mz_missing(table_enter(g.dev), mz, &len);
	table_leave(g.dev);
	if (at != 0)
		fail_msg("memzone %s: [0x%" PRIxPTR ", +0x%zx) not in the "
			 "device",
			 mz->name, at, len);
}

/* The port back up with mz: every page of it in the device, frames flow
 * (from the first pool), and once mz is freed too. */
static void
assert_back_with(const struct rte_memzone *mz)
{
	assert_true(inproc_link_up(g.fe));
	assert_dev_has(mz);
	traffic(g.fe_mp, 1000);
	assert_int_equal(rte_memzone_free(mz), 0);
	traffic(g.fe_mp, 1000);
}

static void
test_map_refused_after_start(void **state)
{
	const struct rte_memzone *mz;
	bool went_down = false;
	int k;

	(void)state;
	mz = reserve_refused("vu-refused");
	/* down (the device lacks memory), then up again once it is set up
	 * with all of it */
	for (k = 0; k < 5000; k++) {
		bool up = inproc_link_up(g.fe);

		went_down |= !up;
		if (went_down && up)
			break;
		rte_delay_us_sleep(1000);
	}
	printf("link %s, then %s after %d ms\n",
	       went_down ? "went down" : "stayed up",
	       inproc_link_up(g.fe) ? "up" : "down", k);
	assert_true(went_down);
	assert_back_with(mz);
}

/*
 * The same without reconnect=: the link goes down and stays down (nothing
 * sets the device up by itself), then a stop and start of the port sets
 * it up again with all the memory (it stayed down until the close).
 */
static void
test_map_refused_stop_start(void **state)
{
	const struct rte_memzone *mz;
	int k;

	(void)state;
	assert_true(inproc_link_up(g.fe));
	mz = reserve_refused("vu-refused-manual");
	rte_delay_us_sleep(200 * 1000);
	assert_false(inproc_link_up(g.fe));
	assert_int_equal(rte_eth_dev_stop(g.fe), 0);
	assert_int_equal(rte_eth_dev_start(g.fe), 0);
	for (k = 0; k < 5000 && !inproc_link_up(g.fe); k++)
		rte_delay_us_sleep(1000);
	printf("link down for 200 ms, up %d ms after the start\n", k);
	assert_back_with(mz);
}

static int
free_hugepages(void)
{
	return (int)proc_field("/proc/meminfo", "HugePages_Free: %llu");
}

static int
group_setup(void **state)
{
	(void)state;
	/* no -m: memory comes and goes with the heap (dynamic mode) */
	char devargs[128];

	/* reconnect=: test_reconnect_during_hotplug takes the device away
	 * (not for the tests of a port without it) */
	snprintf(devargs, sizeof(devargs), "%s%s%s", g.layout,
		 g.layout[0] != '\0' && !g.manual ? "," : "",
		 g.manual ? "" : "reconnect=10");
	if (inproc_pair_up(&g.p, "mem-hotplug", "--huge-unlink", devargs) != 0)
		return -1;
	g.be = g.p.be;
	g.fe = g.p.fe;
	g.fe_mp = g.p.fe_mp;
	g.dev = rte_vfio_user_get_dev_id(g.p.sock);
	return g.dev >= 0 ? 0 : -1;
}

/* test_mem_hotplug [DEVARGS [manual]]: DEVARGS (e.g. packed_vq=0) go to
 * the frontend, which then negotiates that ring layout; with "manual",
 * the frontend has no reconnect= and the tests of that case run. */
int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memzone_after_start),
		cmocka_unit_test(test_mempool_after_start),
		cmocka_unit_test_teardown(test_reconnect_during_hotplug,
					  churn_teardown),
		cmocka_unit_test(test_map_refused_after_start),
		cmocka_unit_test_teardown(test_move_during_hotplug,
					  churn_teardown),
		cmocka_unit_test(test_close_after_move),
	};
	const struct CMUnitTest manual_tests[] = {
		cmocka_unit_test(test_memzone_after_start),
		cmocka_unit_test(test_map_refused_stop_start),
	};
	int free_pages = free_hugepages();

	g.layout = argc > 1 ? argv[1] : "";
	g.manual = argc > 2 && strcmp(argv[2], "manual") == 0;
	printf("frontend ring layout: %s\n",
	       g.layout[0] != '\0' ? g.layout : "default (packed, in order)");

	if (free_pages < MIN_FREE_PAGES) {
		/* dynamic memory is hugepages taken as the heap grows; with
		 * --no-huge the memory is all there from the start */
		printf("SKIP: mem_hotplug needs %d free 2 MiB hugepages, %d "
		       "free (echo 1024 > /proc/sys/vm/nr_hugepages)\n",
		       MIN_FREE_PAGES, free_pages);
		return 77;
	}
	if (g.manual)
		return cmocka_run_group_tests_name("mem_hotplug_manual",
						   manual_tests, group_setup,
						   inproc_group_teardown);
	return cmocka_run_group_tests_name("mem_hotplug", tests, group_setup,
					   inproc_group_teardown);
}
