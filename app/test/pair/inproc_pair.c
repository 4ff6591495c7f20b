/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_bus_vdev.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_pause.h>

#include "eal_exit.h"
#include "inproc_pair.h"

static struct inproc_pair *last_up;	/* for inproc_group_teardown() */

bool
inproc_link_up(uint16_t port)
{
	struct rte_eth_link l;

	return rte_eth_link_get_nowait(port, &l) == 0 &&
	       l.link_status == RTE_ETH_LINK_UP;
}

bool
inproc_link_wait(uint16_t port, bool up, unsigned int ms)
{
	for (unsigned int i = 0; i < ms && inproc_link_up(port) != up; i++)
		rte_delay_ms(1);
	return inproc_link_up(port) == up;
}

/* inproc_port_start() with pairs queue pairs */
static int
queues_start(uint16_t port, const struct rte_eth_conf *conf, uint16_t nrx,
	     uint16_t ntx, uint16_t nb_rx, uint16_t nb_tx,
	     struct rte_mempool *mp)
{
	static const struct rte_eth_conf defaults;
	const char *what = "configure";
	int ret;

	ret = rte_eth_dev_configure(port, nrx, ntx,
				    conf != NULL ? conf : &defaults);
	for (uint16_t q = 0; ret == 0 && q < nrx; q++) {
		what = "rx queue setup";
		ret = rte_eth_rx_queue_setup(port, q, nb_rx, SOCKET_ID_ANY,
					     NULL, mp);
	}
	for (uint16_t q = 0; ret == 0 && q < ntx; q++) {
		what = "tx queue setup";
		ret = rte_eth_tx_queue_setup(port, q, nb_tx, SOCKET_ID_ANY,
					     NULL);
	}
	if (ret == 0) {
		what = "start";
		ret = rte_eth_dev_start(port);
	}
	if (ret != 0)
		fprintf(stderr, "port %u: %s: %s\n", port, what,
			strerror(-ret));
	return ret;
}

int
inproc_port_start(uint16_t port, const struct rte_eth_conf *conf,
		  uint16_t nb_rx, uint16_t nb_tx, struct rte_mempool *mp)
{
	return queues_start(port, conf, 1, 1, nb_rx, nb_tx, mp);
}

int
inproc_fe_restart(struct inproc_pair *p, const struct rte_eth_conf *conf)
{
	int ret = rte_eth_dev_stop(p->fe);

	if (ret == 0)
		ret = inproc_port_start(p->fe, conf, 0, 0, p->fe_mp);
	if (ret == 0 && (!inproc_link_wait(p->fe, true, 2000) ||
			 !inproc_link_wait(p->be, true, 2000))) {
		fprintf(stderr, "links not up again\n");
		ret = -ETIMEDOUT;
	}
	return ret;
}

int
inproc_pair_up(struct inproc_pair *p, const char *name, const char *mem_args,
	       const char *fe_devargs)
{
	char vdev[160], prefix[64], mem[64];
	char *eal[16], *tok, *save = NULL;
	int n = 0;

	memset(p, 0, sizeof(*p));
	last_up = p;
	snprintf(p->dir, sizeof(p->dir), "/tmp/%s.XXXXXX", name);
	if (mkdtemp(p->dir) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(p->sock, sizeof(p->sock), "%s/be.sock", p->dir);
	snprintf(prefix, sizeof(prefix), "%s-%d", name, (int)getpid());
	snprintf(vdev, sizeof(vdev), "net_vfio_user0,path=%s", p->sock);
	snprintf(mem, sizeof(mem), "%s", mem_args);
	eal[n++] = (char *)(uintptr_t)name;
	eal[n++] = (char *)(uintptr_t) "-l";
	eal[n++] = (char *)(uintptr_t) "0";
	for (tok = strtok_r(mem, " ", &save); tok != NULL && n < 8;
	     tok = strtok_r(NULL, " ", &save))
		eal[n++] = tok;
	eal[n++] = (char *)(uintptr_t) "--no-pci";
	eal[n++] = (char *)(uintptr_t) "--no-telemetry";
	eal[n++] = (char *)(uintptr_t) "--no-shconf";
	eal[n++] = (char *)(uintptr_t) "--file-prefix";
	eal[n++] = prefix;
	eal[n++] = (char *)(uintptr_t) "--vdev";
	eal[n++] = vdev;
	eal[n++] = (char *)(uintptr_t) "--log-level=pmd.net.vfio_user*:warning";
	if (rte_eal_init(n, eal) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	p->be_mp = rte_pktmbuf_pool_create("be", 4095, 256, 0,
					   RTE_MBUF_DEFAULT_BUF_SIZE,
					   SOCKET_ID_ANY);
	p->fe_mp = rte_pktmbuf_pool_create("fe", 4095, 256, 0,
					   RTE_MBUF_DEFAULT_BUF_SIZE,
					   SOCKET_ID_ANY);
	if (p->be_mp == NULL || p->fe_mp == NULL ||
	    rte_eth_dev_get_port_by_name("net_vfio_user0", &p->be) != 0 ||
	    inproc_port_start(p->be, NULL, 1024, 1024, p->be_mp) != 0) {
		fprintf(stderr, "device port setup failed\n");
		return -1;
	}
	if (inproc_frontend_add(p, "net_virtio_vfio_user0", p->sock, fe_devargs,
				1, &p->fe) != 0)
		return -1;
	if (!inproc_link_wait(p->be, true, 5000) ||
	    !inproc_link_wait(p->fe, true, 5000)) {
		fprintf(stderr, "links not up\n");
		return -1;
	}
	return 0;
}

int
inproc_device_add(struct inproc_pair *p, const char *name, const char *sock,
		  const char *devargs, uint16_t *port)
{
	char args[256];

	snprintf(args, sizeof(args), "path=%s%s%s", sock,
		 devargs[0] != '\0' ? "," : "", devargs);
	if (rte_vdev_init(name, args) != 0 ||
	    rte_eth_dev_get_port_by_name(name, port) != 0 ||
	    inproc_port_start(*port, NULL, 1024, 1024, p->be_mp) != 0) {
		fprintf(stderr, "device port %s setup failed\n", name);
		return -1;
	}
	return 0;
}

int
inproc_frontend_add(struct inproc_pair *p, const char *name, const char *sock,
		    const char *devargs, uint16_t pairs, uint16_t *port)
{
	char args[256];

	snprintf(args, sizeof(args), "path=%s%s%s", sock,
		 devargs[0] != '\0' ? "," : "", devargs);
	if (rte_vdev_init(name, args) != 0 ||
	    rte_eth_dev_get_port_by_name(name, port) != 0 ||
	    (pairs > 0 &&
	     queues_start(*port, NULL, pairs, pairs, 0, 0, p->fe_mp) != 0)) {
		fprintf(stderr, "frontend port %s setup failed\n", name);
		return -1;
	}
	return 0;
}

void
inproc_mq_ports(struct inproc_pair *p, uint16_t ports[2], int i, uint16_t nrx,
		uint16_t ntx, const char *be_args, uint16_t fe_pairs,
		uint16_t fe_nb_rx, uint16_t fe_nb_tx, const char *fe_args)
{
	char sock[128], name[2][32], args[256];

	snprintf(sock, sizeof(sock), "%s/mq%d.sock", p->dir, i);
	snprintf(name[0], sizeof(name[0]), "net_vfio_user%d", i);
	snprintf(name[1], sizeof(name[1]), "net_virtio_vfio_user%d", i);
	snprintf(args, sizeof(args), "path=%s,queues=2%s%s", sock,
		 be_args[0] != '\0' ? "," : "", be_args);
	assert_int_equal(rte_vdev_init(name[0], args), 0);
	assert_int_equal(rte_eth_dev_get_port_by_name(name[0], &ports[0]), 0);
	assert_int_equal(queues_start(ports[0], NULL, nrx, ntx, 1024, 1024,
				      p->be_mp),
			 0);
	snprintf(args, sizeof(args), "queues=%u%s%s", fe_pairs,
		 fe_args[0] != '\0' ? "," : "", fe_args);
	assert_int_equal(inproc_frontend_add(p, name[1], sock, args, 0,
					     &ports[1]),
			 0);
	assert_int_equal(queues_start(ports[1], NULL, fe_pairs, fe_pairs,
				      fe_nb_rx, fe_nb_tx, p->fe_mp),
			 0);
	assert_true(inproc_link_wait(ports[1], true, 5000));
	assert_true(inproc_link_wait(ports[0], true, 5000));
}

void
inproc_mq_ports_close(const uint16_t ports[2])
{
	for (int i = 1; i >= 0; i--) {
		assert_int_equal(rte_eth_dev_stop(ports[i]), 0);
		assert_int_equal(rte_eth_dev_close(ports[i]), 0);
	}
}

void
inproc_pair_down(struct inproc_pair *p)
{
	/* either may be gone already (a test removed it) */
	rte_eth_dev_stop(p->fe);
	rte_eth_dev_close(p->fe);
	rte_eth_dev_stop(p->be);
	rte_eth_dev_close(p->be);
	vu_eal_exit();
	unlink(p->sock);
	rmdir(p->dir);
}

int
inproc_group_teardown(void **state)
{
	(void)state;
	if (last_up != NULL)
		inproc_pair_down(last_up);
	return 0;
}

uint64_t
inproc_xstat(uint16_t port, const char *name)
{
	uint64_t id, v;

	assert_int_equal(rte_eth_xstats_get_id_by_name(port, name, &id), 0);
	assert_int_equal(rte_eth_xstats_get_by_id(port, &id, &v, 1), 1);
	return v;
}

uint8_t
inproc_queue_state(uint16_t port, uint16_t q, bool tx)
{
	struct rte_eth_rxq_info rqi;
	struct rte_eth_txq_info tqi;

	if (tx) {
		assert_int_equal(rte_eth_tx_queue_info_get(port, q, &tqi), 0);
		return tqi.queue_state;
	}
	assert_int_equal(rte_eth_rx_queue_info_get(port, q, &rqi), 0);
	return rqi.queue_state;
}

void
inproc_thread_any_cpu(void)
{
	cpu_set_t cpus;

	CPU_ZERO(&cpus);
	for (int c = 0; c < CPU_SETSIZE; c++)
		CPU_SET(c, &cpus);
	pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);
}

static void *
rx_worker(void *arg)
{
	struct inproc_rx_worker *w = arg;

	inproc_thread_any_cpu();
	if (rte_thread_register() != 0) {
		w->err = rte_errno != 0 ? rte_errno : EINVAL;
		w->ready = true;
		return NULL;
	}
	w->ready = true;
	while (!w->quit) {
		struct rte_mbuf *m[32];
		uint16_t n = rte_eth_rx_burst(w->port, 0, m, RTE_DIM(m));

		rte_pktmbuf_free_bulk(m, n);
		__atomic_fetch_add(&w->got, n, __ATOMIC_RELAXED);
	}
	rte_thread_unregister();
	return NULL;
}

bool
inproc_rx_stop_late(uint16_t port)
{
	struct rte_eth_stats a, b;

	assert_int_equal(rte_eth_dev_rx_queue_stop(port, 0), 0);
	assert_int_equal(rte_eth_stats_get(port, &a), 0);
	rte_delay_us_block(200);
	assert_int_equal(rte_eth_stats_get(port, &b), 0);
	return b.ipackets != a.ipackets;
}

void
inproc_rx_worker_start(struct inproc_rx_worker *w, uint16_t port)
{
	*w = (struct inproc_rx_worker){ .port = port };
	assert_int_equal(pthread_create(&w->thread, NULL, rx_worker, w), 0);
	while (!w->ready)
		rte_pause();
	if (w->err != 0) {
		pthread_join(w->thread, NULL);
		fail_msg("rte_thread_register: %s", rte_strerror(w->err));
	}
}

void
inproc_rx_worker_stop(struct inproc_rx_worker *w)
{
	w->quit = true;
	pthread_join(w->thread, NULL);
}

#define BURST 32	/* frames a burst of inproc_tx(), inproc_rx() */

/* per port: the next sequence number sent to it, the next it must get */
static uint32_t seq_next[RTE_MAX_ETHPORTS], seq_want[RTE_MAX_ETHPORTS];

uint32_t
inproc_tx(uint16_t port, uint16_t q, uint16_t to, struct rte_mempool *mp,
	  uint32_t n)
{
	uint32_t sent = 0;

	for (int t = 0; t < 1000 && sent < n; t++) {
		struct rte_mbuf *m[BURST];
		uint16_t k = (uint16_t)RTE_MIN(n - sent, (uint32_t)BURST), s;

		assert_int_equal(rte_pktmbuf_alloc_bulk(mp, m, k), 0);
		for (uint16_t i = 0; i < k; i++) {
			uint32_t seq = seq_next[to] + i;

			memset(rte_pktmbuf_append(m[i], INPROC_FRAME), 0x5a,
			       INPROC_FRAME);
			memcpy(rte_pktmbuf_mtod(m[i], uint8_t *), &seq, 4);
		}
		s = rte_eth_tx_burst(port, q, m, k);
		rte_pktmbuf_free_bulk(&m[s], k - s);
		seq_next[to] += s;
		sent += s;
		if (s == 0 && t >= 3)
			break;	/* takes nothing: stalled */
	}
	return sent;
}

/* inproc_rx() for at most ms milliseconds */
static uint32_t
rx_for(uint16_t port, uint16_t q, uint32_t want, unsigned int ms)
{
	uint64_t end = rte_get_timer_cycles() + rte_get_timer_hz() * ms / 1000;
	uint32_t got = 0;

	while (got < want) {
		struct rte_mbuf *m[BURST];
		uint16_t n = rte_eth_rx_burst(port, q, m, BURST);

		for (uint16_t k = 0; k < n; k++) {
			const uint8_t *b = rte_pktmbuf_mtod(m[k], uint8_t *);
			uint32_t seq;

			assert_int_equal(m[k]->pkt_len, INPROC_FRAME);
			memcpy(&seq, b, 4);
			assert_int_equal(seq, seq_want[port]);
			seq_want[port]++;
			assert_int_equal(b[INPROC_FRAME - 1], 0x5a);
		}
		rte_pktmbuf_free_bulk(m, n);
		got += n;
		if (n == 0 && rte_get_timer_cycles() > end)
			break;
	}
	return got;
}

uint32_t
inproc_rx(uint16_t port, uint16_t q, uint32_t want)
{
	return rx_for(port, q, want, 2000);
}

bool
inproc_rx_none(uint16_t port, uint16_t q)
{
	return rx_for(port, q, 1, 50) == 0;
}

void
inproc_flows(uint16_t from, struct rte_mempool *mp, uint16_t to, uint32_t n)
{
	uint32_t sent = 0, got = 0;

	while (got < n) {
		uint32_t k = RTE_MIN(n - sent, (uint32_t)BURST), s = 0, r;

		if (k > 0)
			s = inproc_tx(from, 0, to, mp, k);
		sent += s;
		r = inproc_rx(to, 0, RTE_MIN(sent - got, (uint32_t)BURST));
		got += r;
		if (s == 0 && r == 0)
			break;	/* stalled */
	}
	assert_int_equal(sent, n);
	assert_int_equal(got, n);
}

void
inproc_seq_resync(uint16_t port)
{
	seq_want[port] = seq_next[port];
}

void
inproc_seq_follow(uint16_t port, uint16_t from)
{
	seq_next[port] = seq_next[from];
	seq_want[port] = seq_want[from];
}

int
inproc_nocache_pools(struct rte_mempool **rx, struct rte_mempool **tx)
{
	*rx = rte_pktmbuf_pool_create("fe_rx", 2047, 0, 0,
				      RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	*tx = rte_pktmbuf_pool_create("fe_tx", 8191, 0, 0,
				      RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (*rx == NULL || *tx == NULL) {
		fprintf(stderr, "frontend pools: %s\n",
			rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

static struct {
	FILE *f;
	char *buf;
	size_t len;
} log_mem;

void
inproc_log_start(void)
{
	log_mem.buf = NULL;
	log_mem.len = 0;
	log_mem.f = open_memstream(&log_mem.buf, &log_mem.len);
	assert_non_null(log_mem.f);
	assert_int_equal(rte_openlog_stream(log_mem.f), 0);
}

char *
inproc_log_end(void)
{
	rte_openlog_stream(NULL);
	fclose(log_mem.f);
	log_mem.f = NULL;
	return log_mem.buf;
}
