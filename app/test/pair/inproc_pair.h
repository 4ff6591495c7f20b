/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VU_INPROC_PAIR_H
#define VU_INPROC_PAIR_H

/*
 * Both PMDs in one process (linked in: pmds_linked_in), one thread: a
 * device port (net_vfio_user) serving a socket in a directory of its own,
 * and the frontend (net_virtio_vfio_user) driving it. For the tests that
 * need the two ports side by side (queue_depth, mem_hotplug).
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_mempool.h>

struct inproc_pair {
	char dir[64];
	char sock[96];
	uint16_t be, fe;		/* device port, frontend port */
	struct rte_mempool *be_mp, *fe_mp;	/* 4095 mbufs each */
};

/*
 * EAL up with mem_args (e.g. "--no-huge -m 256", or "" for dynamic
 * hugepage memory), the pools, the device port started (one queue pair
 * of 1024 entries), the frontend probed with path= and fe_devargs (may be
 * empty) and started with default queue sizes, both links up. name: the
 * program's, for EAL and the temporary directory. 0, or -1 said on
 * stderr.
 */
int inproc_pair_up(struct inproc_pair *p, const char *name,
		   const char *mem_args, const char *fe_devargs);

/* Another device port (vdev name, e.g. "net_vfio_user1") serving sock,
 * with devargs (may be empty), started as the pair's (receiving into
 * be_mp): a move's destination. 0, or -1 said on stderr. The caller
 * stops and closes it. */
int inproc_device_add(struct inproc_pair *p, const char *name, const char *sock,
		      const char *devargs, uint16_t *port);

/* Another frontend port (vdev name, e.g. "net_virtio_vfio_user1")
 * driving the device at sock, with devargs (may be empty): configured
 * with pairs queue pairs of the default sizes (receiving into fe_mp) and
 * started, or with pairs 0 only probed (the caller configures it). 0, or
 * -1 said on stderr. The caller stops and closes it. */
int inproc_frontend_add(struct inproc_pair *p, const char *name,
			const char *sock, const char *devargs, uint16_t pairs,
			uint16_t *port);

/*
 * Configure port with conf (NULL: the defaults) and one queue pair of
 * nb_rx / nb_tx descriptors (0: the PMD's default), receiving into mp,
 * and start it. 0, or the failing call's negative errno (said on stderr).
 */
int inproc_port_start(uint16_t port, const struct rte_eth_conf *conf,
		      uint16_t nb_rx, uint16_t nb_tx, struct rte_mempool *mp);

/* The frontend port stopped, configured again with conf (default queue
 * sizes) and started, both links up again. 0, or the failing call's
 * negative errno (said on stderr), -ETIMEDOUT for a link. */
int inproc_fe_restart(struct inproc_pair *p, const struct rte_eth_conf *conf);

/*
 * A device and its frontend beside the pair's: device port
 * net_vfio_user<i> of 2 pairs (more devargs in be_args, may be empty)
 * with nrx receive and ntx transmit queues of 1024 entries (receiving
 * into be_mp), serving mq<i>.sock in the pair's directory, in ports[0];
 * frontend net_virtio_vfio_user<i> on it with fe_pairs pairs of fe_nb_rx
 * / fe_nb_tx descriptors (0: the default; receiving into fe_mp; more
 * devargs in fe_args, may be empty), in ports[1]; both started, links
 * up. A cmocka failure if not.
 */
void inproc_mq_ports(struct inproc_pair *p, uint16_t ports[2], int i,
		     uint16_t nrx, uint16_t ntx, const char *be_args,
		     uint16_t fe_pairs, uint16_t fe_nb_rx, uint16_t fe_nb_tx,
		     const char *fe_args);

/* Both of inproc_mq_ports() stopped and closed, the frontend first. */
void inproc_mq_ports_close(const uint16_t ports[2]);

/* Both ports stopped and closed, EAL cleaned up, the directory gone. */
void inproc_pair_down(struct inproc_pair *p);

/* A cmocka group teardown: inproc_pair_down() of the pair the last
 * inproc_pair_up() brought up. */
int inproc_group_teardown(void **state);

/* The value of port's xstat name (a cmocka failure if it has none). */
uint64_t inproc_xstat(uint16_t port, const char *name);

/* Whether port's link is up now. */
bool inproc_link_up(uint16_t port);

/* Wait up to ms milliseconds for port's link to be up (or down); whether
 * it is. */
bool inproc_link_wait(uint16_t port, bool up, unsigned int ms);

/* What DPDK logs from now until inproc_log_end(), kept in memory (and
 * not written to stderr meanwhile). */
void inproc_log_start(void);

/* The log since inproc_log_start(), a string to free(). */
char *inproc_log_end(void);

/* The state (RTE_ETH_QUEUE_STATE_*) of port's receive (tx false) or
 * transmit queue q (a cmocka failure if it cannot be read). */
uint8_t inproc_queue_state(uint16_t port, uint16_t q, bool tx);

/*
 * Test traffic between ports of the process: frames of INPROC_FRAME bytes
 * of 0x5a, the first 4 a sequence number per receiving port, kept here
 * (the next one sent to the port, the next one it must receive; 0 at
 * first).
 */
#define INPROC_FRAME 64

/* Send up to n numbered frames of mp from port's queue q to port to, 32 at
 * a time, for at most 1000 bursts; it gives up at a burst that takes
 * nothing from the fourth on (stalled). How many it took. */
uint32_t inproc_tx(uint16_t port, uint16_t q, uint16_t to,
		   struct rte_mempool *mp, uint32_t n);

/* Receive on port's queue q until want frames came, for at most 2 s (then
 * up to the first burst that brings none); how many. Each must be intact
 * and the next of port's sequence (a cmocka failure if not). */
uint32_t inproc_rx(uint16_t port, uint16_t q, uint32_t want);

/* Whether nothing comes on port's queue q in 50 ms (what comes is
 * checked as inproc_rx() does). */
bool inproc_rx_none(uint16_t port, uint16_t q);

/* n frames of mp from port from's queue 0 to port to's, a burst at a time
 * (inproc_tx(), inproc_rx()): a cmocka failure unless all are sent and
 * received; a round that neither sends nor receives one ends it. */
void inproc_flows(uint16_t from, struct rte_mempool *mp, uint16_t to,
		  uint32_t n);

/* Frames to port lost (dropped with a ring, a stop, a reconnection, or
 * received elsewhere): its sequence goes on from what is sent next. */
void inproc_seq_resync(uint16_t port);

/* port's sequence taken over from from's (the frames sent to from arrive
 * at port: its device moved there). */
void inproc_seq_follow(uint16_t port, uint16_t from);

/* The frontend's pools without a cache, so that what is not in a pool is
 * held by someone (a ring, the test): *rx of 2047 mbufs ("fe_rx"), *tx of
 * 8191 ("fe_tx"). 0, or -1 said on stderr. */
int inproc_nocache_pools(struct rte_mempool **rx, struct rte_mempool **tx);

/* Stop port's receive queue 0 (a cmocka failure if it cannot); whether
 * its ipackets still moved in the 200 us after the stop returned: a
 * burst past the stop, which the stop's grace period must prevent. */
bool inproc_rx_stop_late(uint16_t port);

/* Let the calling thread run on every CPU: a thread created by the main
 * lcore inherits its one CPU, and would then never run beside it. */
void inproc_thread_any_cpu(void);

/*
 * A thread receiving on port's queue 0 back to back, freeing and counting
 * what comes, on an lcore id of its own (rte_thread_register()) and any
 * CPU (inproc_thread_any_cpu()): bursts that race the control path for
 * real.
 */
struct inproc_rx_worker {
	uint16_t port;
	volatile bool quit;
	volatile bool ready;
	int err;		/* rte_thread_register()'s rte_errno, if it
				 * failed */
	uint64_t got;		/* atomic: frames received */
	pthread_t thread;
};

/* Start it (a cmocka failure if it cannot). */
void inproc_rx_worker_start(struct inproc_rx_worker *w, uint16_t port);

/* Stop and join it: its got is final then. */
void inproc_rx_worker_stop(struct inproc_rx_worker *w);

#endif /* VU_INPROC_PAIR_H */
