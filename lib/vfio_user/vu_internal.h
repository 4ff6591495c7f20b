/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VU_INTERNAL_H
#define VU_INTERNAL_H

/* State shared by the server's files: devices, connections, messages. */

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "rte_vfio_user.h"
#include "vfio_user_proto.h"
#include "vu_dirty_kept.h"
#include "vu_log.h"
#include "vu_memmap.h"
#include "vu_memtable.h"
#include "vu_transport.h"

/* What a client negotiated in VERSION. */
struct vu_caps {
	uint16_t minor;
	uint32_t max_msg_fds;	/* the client accepts this many fds */
	uint32_t max_xfer;	/* the client's max_data_xfer_size */
	uint32_t max_dma_maps;	/* agreed: min of ours and the client's */
	uint64_t pgsizes;	/* agreed page sizes for DMA maps */
	bool write_multi;
	bool twin_socket;
	bool migration;		/* 0.9.1 "migration": the region is offered */
	uint32_t proposed;	/* bit i: the client's VERSION named numeric
				 * capability i (vu_version.c num_caps[]):
				 * the reply names no others */
	uint32_t send_fds;	/* the fds the client may send in a message:
				 * our max_msg_fds if the reply named it,
				 * else the spec's default, 1 */
};

/* A region as the library keeps it: the description plus owned copies. */
struct vu_region {
	struct rte_vfio_user_region d;
	struct rte_vfio_user_sparse_area *sparse;
	struct rte_vfio_user_io_fd *io_fds;
};

/* A DMA_READ/WRITE we sent and wait for (single-socket mode). */
struct vu_dma_req {
	uint16_t msg_id;
	uint16_t cmd;
	bool done;
	int err;
	uint32_t client_errno;	/* of an error reply (err is -EIO) */
	uint8_t *buf;		/* read: where the data goes */
	uint64_t addr;
	uint64_t len;
};

/* Nodes (and a table) an update replaced: freed once the QSBR readers
 * passed token. */
struct vu_retired {
	struct vu_retired *next;
	uint64_t token;
	struct vu_mt_ptrs ptrs;
};

/* Client memory of a device. */
struct vu_dma {
	pthread_mutex_t lock;	/* table changes and non-data-path readers */
	struct rte_vfio_user_mem_table *table;	/* published, RCU */
	struct rte_rcu_qsbr *qsbr;
	struct vu_mt regions;	/* the DMA regions (control path only) */
	struct vu_mt segs;	/* the segments behind table */
	struct vu_maps maps;	/* the client's files, mapped */
	struct vu_retired *retired;	/* oldest first */
	struct vu_retired **retired_tail;
	uint32_t nretired;
	bool logging;
	struct vu_dirty_kept kept;	/* of regions unmapped while logging */
	struct vu_view *views;	/* rte_vfio_user_mem_view() */
	uint32_t nviews;
	uint32_t nview_pieces;	/* mappings they take */
	bool unmapping;		/* in update_status(UNMAP_PRE): */
	uint64_t unmap_iova;	/* what goes */
	uint64_t unmap_len;
	uint16_t next_id;	/* message ids of our DMA_READ/WRITE */
	pthread_mutex_t req_lock;	/* one outstanding request */
	pthread_cond_t req_cond;
	struct vu_dma_req *req;
};

/* State of one interrupt vector. */
struct vu_irq_vec {
	int efd;		/* trigger eventfd, -1: none */
	int mask_efd;		/* signalled when masked, -1: none */
	int unmask_efd;		/* signalled when unmasked, -1: none */
	uint8_t masked;
	uint8_t pending;
};

/* One client connection of a device. */
struct vu_conn {
	struct vu_dev *dev;
	int fd;
	int timer_fd;		/* fires when a partial message stalls */
	bool negotiated;
	bool stop_asked;	/* rte_vfio_user_stop(): tear down (atomic) */
	struct vu_caps caps;
	struct vu_rx rx;
	uint64_t rx_activity_ms;	/* last bytes read (partial timeout) */
	uint8_t *reply;		/* reply payload buffer, VU_MAX_MSG_SIZE */
	struct vu_out out;	/* replies and our DMA requests */
	pthread_mutex_t ev_lock;	/* 'events', 'reading', the timer */
	uint64_t timer_due;	/* ms the timer is armed for; 0: disarmed */
	uint32_t events;	/* epoll events watched */
	bool reading;		/* false while too much output is queued */
	int twin_fd;		/* server end of the twin socket, or -1 */
	struct vu_rx twin_rx;
	uint64_t nmsgs;		/* commands handled (NORESIZE pieces) */
};

/*
 * Messages the dispatcher handled, per command (slot 0: unknown command
 * ids), and how many of them were answered with an error. Written by the
 * event thread, read by telemetry: relaxed atomics.
 */
struct vu_cmd_stats {
	uint64_t msgs[VFIO_USER_MAX_COMMAND];
	uint64_t errors[VFIO_USER_MAX_COMMAND];
};

/* A registered device. */
struct vu_dev {
	int id;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd;		/* -1 unless started on a path / listening fd */
	int accept_timer_fd;	/* retries accept() after EMFILE..., or -1 */
	bool accept_paused;	/* accept() failed: listen_fd not watched */
	int given_fd;		/* register_fd(): the caller's socket */
	bool from_fd;		/* registered with register_fd() */
	mode_t sock_mode;	/* of the socket file we create */
	struct rte_vfio_user_timeouts tmo;	/* no field 0; set before start */
	dev_t sock_dev;		/* the socket file we bound, to remove */
	ino_t sock_ino;		/* only it at stop; 0: none */
	bool started;
	struct rte_vfio_user_notify_ops ops;
	void *priv;
	struct rte_vfio_user_dev_info info;
	struct vu_region regions[RTE_VFIO_USER_MAX_REGIONS];
	struct rte_vfio_user_irq_info irqs[RTE_VFIO_USER_MAX_IRQ_TYPES];
	pthread_mutex_t lock;	/* conn pointer vs. stop/unregister */
	struct vu_conn *conn;	/* the client, or NULL */
	unsigned int teardowns;	/* connections being torn down */
	pthread_cond_t idle;	/* teardowns reached 0 */
	struct vu_dma dma;
	struct vu_irq_vec *irq_vec[RTE_VFIO_USER_MAX_IRQ_TYPES];
	struct vu_cmd_stats stats;
	struct vu_mig *mig;	/* migration, NULL: not migratable */
	struct rte_vfio_user_pci *pci;	/* attached PCI function; atomic */
};

/* A received request, as the handlers see it. */
struct vu_msg {
	struct vfio_user_header *hdr;
	uint8_t *payload;
	uint32_t size;		/* payload bytes */
	int *fds;		/* set an fd to -1 to keep it */
	unsigned int nfds;
};

/* What a handler answers: payload in conn->reply, optional fds. */
struct vu_reply {
	uint32_t size;
	int fds[VU_MAX_MSG_FDS];	/* sent, not closed (borrowed) */
	unsigned int nfds;
	int owned_fds[1];		/* closed once sent (twin socket end) */
	unsigned int nowned;
};

/*
 * A command handler. Returns 0 (reply with conn->reply[0..reply->size)) or
 * a negative errno (error reply). It runs only after the dispatcher checked
 * the payload size and fd count against its table entry.
 */
typedef int (*vu_handler_t)(struct vu_conn *c, struct vu_msg *m,
			    struct vu_reply *r);

/* vu_version.c */
int vu_handle_version(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r);

/* vu_device.c: device description and region/IRQ queries */
int vu_handle_get_info(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r);
int vu_handle_region_info(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r);
int vu_handle_region_io_fds(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r);
int vu_handle_irq_info(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r);
int vu_handle_region_read(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r);
int vu_handle_region_write(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r);
int vu_handle_write_multi(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r);
int vu_handle_reset(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r);
void vu_dev_desc_free(struct vu_dev *dev);
int vu_dev_desc_check(const struct vu_dev *dev);

/* vu_dma.c: client memory (DMA_MAP/UNMAP, dirty logging, DMA_READ/WRITE) */
int vu_handle_dma_map(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r);
int vu_handle_dma_unmap(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r);
int vu_handle_dirty_pages(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r);
int vu_handle_device_feature(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r);
void vu_dma_rw_reply(struct vu_dev *dev, struct vu_msg *m);
int vu_dma_dev_init(struct vu_dev *dev);
void vu_dma_dev_fini(struct vu_dev *dev);
void vu_dma_client_gone(struct vu_dev *dev);
/* Whether the calling thread is online in dev's QSBR variable under its
 * lcore id (such a thread must not wait for the event thread). */
bool vu_dma_caller_online(const struct vu_dev *dev);

int vu_dma_twin_setup(struct vu_conn *c, int *client_end);
void vu_dma_twin_close(struct vu_conn *c);

/* vu_memview.c: contiguous views of discontiguous client memory; drop
 * those touching [iova, iova + len) (with dma.lock, readers gone) */
struct vu_view;
void vu_views_drop(struct vu_dev *dev, uint64_t iova, uint64_t len);

/* vu_irq.c: SET_IRQS and the eventfd sets */
int vu_handle_set_irqs(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r);
void vu_irq_client_gone(struct vu_dev *dev);

/* vu_pci.c */
void vu_pci_client_gone(struct vu_dev *dev);
bool vu_pci_intx_asserted(struct vu_dev *dev);
int vu_irq_dev_start(struct vu_dev *dev);
void vu_irq_dev_fini(struct vu_dev *dev);

/* vu_mig.c: migration (the current text's FSM, 0.9.1's region) */
int vu_mig_handle_feature(struct vu_conn *c, struct vu_msg *m,
			  struct vu_reply *r);
int vu_handle_mig_data_read(struct vu_conn *c, struct vu_msg *m,
			    struct vu_reply *r);
int vu_handle_mig_data_write(struct vu_conn *c, struct vu_msg *m,
			     struct vu_reply *r);
/* The 0.9.1 migration region if index names it for this client, else NULL. */
const struct vu_region *vu_mig_region(const struct vu_conn *c, uint32_t index);
/* Regions the client sees: the device's, plus the migration region. */
uint32_t vu_mig_num_regions(const struct vu_conn *c);
/* Whether VERSION may grant 0.9.1's "migration" capability. */
bool vu_mig_supported(const struct vu_dev *dev);
void vu_mig_reset(struct vu_dev *dev);
void vu_mig_client_gone(struct vu_dev *dev);
void vu_mig_dev_fini(struct vu_dev *dev);

/* vu_server.c */
struct vu_dev *vu_dev_get(int dev_id);
/* Send a message to the client, queueing what the socket does not take
 * now (any thread; the caller keeps c alive). 0 or -errno. */
int vu_conn_send(struct vu_conn *c, struct vfio_user_header *hdr,
		 const struct iovec *iov, unsigned int iovcnt, const int *fds,
		 unsigned int nfds);

/* vu_refuse.c: answer a client refused with err (its first command gets
 * an error reply), then close fd (taken) once it goes */
void vu_refuse(int fd, const char *path, int err);
/* End every pending refusal (the last unregister: their fds would keep
 * the event thread). */
void vu_refuse_flush(void);
const char *vu_cmd_name(uint16_t cmd);

/* vu_irq.c, for telemetry (under vu_telemetry_lock()) */
uint32_t vu_irq_nvec(const struct vu_dev *dev, uint32_t index);
void vu_irq_vec_load(const struct vu_dev *dev, uint32_t index, uint32_t vector,
		     struct vu_irq_vec *out);

/*
 * vu_telemetry.c: /vfio_user/ telemetry commands. They run on DPDK's
 * telemetry thread and read a device under this lock: whoever frees or
 * replaces what they read (the device itself, its description, its IRQ
 * vector sets) does it under the lock, or after vu_telemetry_sync().
 */
void vu_telemetry_lock(void);
void vu_telemetry_unlock(void);
void vu_telemetry_sync(void);

/* Count a message the dispatcher handled (err: 0 or the errno replied). */
static inline void
vu_stats_count(struct vu_dev *dev, uint16_t cmd, int err)
{
	unsigned int i = cmd < VFIO_USER_MAX_COMMAND ? cmd : 0;

	__atomic_fetch_add(&dev->stats.msgs[i], 1, __ATOMIC_RELAXED);
	if (err != 0)
		__atomic_fetch_add(&dev->stats.errors[i], 1, __ATOMIC_RELAXED);
}

#endif /* VU_INTERNAL_H */
