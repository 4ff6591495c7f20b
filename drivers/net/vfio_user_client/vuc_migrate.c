/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Moving the device of a port from its backend process (A) to another
 * one (B) on the same host, while the port runs: the migration FSM of
 * the vfio-user specification driven from our side, through the client
 * API (rte_vfio_user_client_mig_*).
 *
 *   connect to B, DMA-map the port's memory, give B the interrupt
 *   eventfds, B -> RESUMING                        (A still runs)
 *   A -> PRE_COPY, its state to B (B checks it)    (A still runs)
 *   A -> STOP_COPY, the rest of its state to B     (downtime starts)
 *   B -> RUNNING                                   (downtime ends)
 *   doorbells to B (QSBR grace period), A let go, every queue kicked once
 *
 * Nothing of the port's rings changes: B takes over A's state, indices
 * included, and goes on from where A stopped. The data path is never
 * paused: bursts meanwhile find the device idle; its doorbells go to A
 * (a stopped device ignores them) until the switch, which publishes B's
 * client and waits for the bursts that may still use A's before A goes.
 *
 * Triggered by rte_pmd_vfio_user_client_move() or by the telemetry
 * command /vfio_user_client/move,<port>,<path> (any application,
 * testpmd included).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <ethdev_driver.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_telemetry.h>

#include "rte_pmd_vfio_user_client.h"
#include "vuc.h"

#define CHUNK (64u * 1024)

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Copy the migration stream from a to b until a has no more (for now);
 * bytes copied or -errno. */
static int64_t
copy_state(struct rte_vfio_user_client *a, struct rte_vfio_user_client *b,
	   uint8_t *buf)
{
	int64_t total = 0;

	for (;;) {
		ssize_t n = rte_vfio_user_client_mig_read(a, buf, CHUNK);
		int ret;

		if (n < 0)
			return n;
		if (n > 0) {
			ret = rte_vfio_user_client_mig_write(b, buf, (size_t)n);
			if (ret < 0)
				return ret;
			total += n;
		}
		if ((size_t)n < CHUNK)
			return total;
	}
}

/* B serves the same kind of device as A: identity and queue layout. */
static int
same_device(struct vuc_dev *d, struct rte_vfio_user_client *a,
	    struct rte_vfio_user_client *b)
{
	struct vfio_user_device_info ia, ib;
	uint8_t ca[64], cb[64];
	uint64_t flags;
	int ret;

	if ((ret = rte_vfio_user_client_device_info(a, &ia)) < 0 ||
	    (ret = rte_vfio_user_client_device_info(b, &ib)) < 0)
		return ret;
	if ((ret = rte_vfio_user_client_region_read(
		     a, VFIO_USER_PCI_CONFIG_REGION_INDEX, 0, ca, sizeof(ca))) <
		    0 ||
	    (ret = rte_vfio_user_client_region_read(
		     b, VFIO_USER_PCI_CONFIG_REGION_INDEX, 0, cb, sizeof(cb))) <
		    0)
		return ret;
	/* ids, class, subsystem, capabilities pointer */
	if (ia.flags != ib.flags || ia.num_irqs != ib.num_irqs ||
	    memcmp(ca, cb, 4) != 0 || memcmp(ca + 8, cb + 8, 4) != 0 ||
	    memcmp(ca + 0x2c, cb + 0x2c, 4) != 0 || ca[0x34] != cb[0x34]) {
		VUC_LOG(ERR, "%s: not the same kind of device as %s", d->path,
			"the new backend");
		return -EINVAL;
	}
	ret = rte_vfio_user_client_mig_flags(b, &flags);
	if (ret == -ENOTSUP)
		VUC_LOG(ERR, "new backend: its device is not migratable");
	return ret;
}

/* The notify area of b, mapped as A's was; NULL if A's was not. */
static uint8_t *
map_notify_on(struct vuc_dev *d, struct rte_vfio_user_client *b)
{
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t start = RTE_ALIGN_FLOOR(d->notify_base, pg);
	uint8_t *p;

	if (d->notify_map == NULL)
		return NULL;
	p = vuc_notify_mmap(d, b, start, d->notify_map_len);
	return p == NULL ? NULL : p + (d->notify_base - start);
}

static void
unmap_notify(uint8_t *p, uint64_t len)
{
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);

	if (p != NULL)
		munmap((void *)RTE_ALIGN_FLOOR((uintptr_t)p, pg), len);
}

/* The move; d->lock held. */
static int
move(struct vuc_dev *d, const char *path,
     struct rte_pmd_vfio_user_client_move_stats *st)
{
	struct rte_vfio_user_client_conf conf = {
		.path = path,
		.timeout_ms = d->timeout_ms,
		.max_xfer = CHUNK,
		.on_disconnect = vuc_on_disconnect,
		.cb_arg = d,
	};
	struct rte_vfio_user_client *a = d->client, *b;
	struct vuc_bells bells = { .n = 0 };	/* b's doorbell ioeventfds */
	uint64_t t0 = now_us(), t_stop = 0, t_run, flags;
	uint8_t *buf = NULL, *bell = NULL;
	bool a_stopped = false;
	int64_t n;
	int ret;

	if (a == NULL || !rte_vfio_user_client_connected(a))
		return -ENOTCONN;
	if (strlen(path) >= sizeof(d->path)) {
		VUC_LOG(ERR, "%s: cannot move: path too long", d->path);
		return -EINVAL;
	}
	if (strcmp(path, d->path) == 0) {
		VUC_LOG(ERR, "%s: cannot move: the device is there already",
			d->path);
		return -EINVAL;
	}
	ret = rte_vfio_user_client_mig_flags(a, &flags);
	if (ret < 0) {
		VUC_LOG(ERR, "%s: cannot move: the device is %s", d->path,
			ret == -ENOTSUP ? "not migratable" : strerror(-ret));
		return ret;
	}
	buf = malloc(CHUNK);
	if (buf == NULL)
		return -ENOMEM;
	b = rte_vfio_user_client_attach(&conf);
	if (b == NULL) {
		ret = -rte_errno;
		VUC_LOG(ERR, "%s: cannot move to %s: %s", d->path, path,
			strerror(rte_errno));
		free(buf);
		return ret;
	}
	/* B gets the memory and the eventfds while A still runs */
	ret = same_device(d, a, b);
	if (ret == 0)
		ret = vuc_map_memory_on(d, b);
	if (ret == 0)
		ret = vuc_irqs_setup(d, b);
	if (ret == 0 && d->notify_map != NULL &&
	    (bell = map_notify_on(d, b)) == NULL)
		ret = -rte_errno;
	if (ret == 0 && d->notify_map == NULL)
		vuc_bells_get(d, b, &bells);	/* none: messages */
	if (ret == 0)
		ret = rte_vfio_user_client_mig_set_state(
			b, VFIO_USER_DEVICE_STATE_RESUMING);
	if (ret < 0)
		goto fail;
	st->precopy_bytes = 0;
	if (flags & VFIO_USER_MIGRATION_PRE_COPY) {
		ret = rte_vfio_user_client_mig_set_state(
			a, VFIO_USER_DEVICE_STATE_PRE_COPY);
		n = ret < 0 ? ret : copy_state(a, b, buf);
		if (n < 0) {
			ret = (int)n;
			goto fail;
		}
		st->precopy_bytes = (uint64_t)n;
	}
	t_stop = now_us();
	a_stopped = true;
	ret = rte_vfio_user_client_mig_set_state(
		a, VFIO_USER_DEVICE_STATE_STOP_COPY);
	n = ret < 0 ? ret : copy_state(a, b, buf);
	if (n < 0) {
		ret = (int)n;
		goto fail;
	}
	st->stopcopy_bytes = (uint64_t)n;
	ret = rte_vfio_user_client_mig_set_state(
		b, VFIO_USER_DEVICE_STATE_RUNNING);
	if (ret < 0)
		goto fail;
	t_run = now_us();

	/* B runs: doorbells to B (unless it refused memory added since it
	 * was mapped), and A goes once no burst can use it */
	ret = vuc_move_switch(d, b);
	if (ret < 0) {
		VUC_LOG(ERR, "%s: %s refused memory added during the move",
			d->path, path);
		goto fail;
	}
	{
		uint8_t *old_map = d->notify_map;
		struct vuc_bells old_bells = d->bells;

		for (uint16_t i = 0; i < VUC_MAX_VQS; i++) {
			struct vuc_vq *vq = &d->vq[i];

			if (vq->notify_mmap == NULL) {
				__atomic_store_n(&vq->bell_fd,
						 vuc_bells_fd(&bells,
							      vq->notify_off,
							      vq->index),
						 __ATOMIC_RELEASE);
				continue;
			}
			__atomic_store_n(&vq->notify_mmap,
					 (volatile uint16_t
						  *)(bell +
						     ((const volatile uint8_t *)
							      vq->notify_mmap -
						      old_map)),
					 __ATOMIC_RELEASE);
		}
		d->notify_map = bell;
		d->bells = bells;
		rte_vfio_user_qsbr_barrier();
		rte_rcu_qsbr_synchronize(d->qsbr, RTE_QSBR_THRID_INVALID);
		rte_vfio_user_client_detach(a);
		unmap_notify(old_map, d->notify_map_len);
		vuc_bells_close(&old_bells);
	}
	/* a doorbell rung meanwhile went to A: ring them all once */
	for (uint16_t i = 0; i < VUC_MAX_VQS; i++)
		if (__atomic_load_n(&d->vq[i].ready, __ATOMIC_ACQUIRE))
			vuc_kick(&d->vq[i]);
	memcpy(d->path, path, strlen(path) + 1);
	free(buf);
	st->downtime_us = t_run - t_stop;
	st->total_us = now_us() - t0;
	d->move.moves++;
	d->move.last_downtime_us = st->downtime_us;
	d->move.max_downtime_us = RTE_MAX(d->move.max_downtime_us,
					  st->downtime_us);
	VUC_LOG(NOTICE,
		"port %u: device moved to %s: downtime %" PRIu64
		" us (state %" PRIu64 " + %" PRIu64 " bytes), %" PRIu64
		" us in all",
		d->port_id, path, st->downtime_us, st->precopy_bytes,
		st->stopcopy_bytes, st->total_us);
	if (d->started)
		vuc_link_set(d, vuc_read_link(d));
	return 0;

fail:
	VUC_LOG(ERR, "%s: move to %s failed (%s): staying on %s", d->path, path,
		strerror(-ret), d->path);
	/* B forgets it all when we leave it; A runs on with its own state */
	vuc_move_forget(d);
	rte_vfio_user_client_detach(b);
	unmap_notify(bell, d->notify_map_len);
	vuc_bells_close(&bells);
	if ((a_stopped || (flags & VFIO_USER_MIGRATION_PRE_COPY)) &&
	    rte_vfio_user_client_mig_set_state(a,
					       VFIO_USER_DEVICE_STATE_RUNNING) <
		    0)
		VUC_LOG(ERR, "%s: the device does not run again", d->path);
	free(buf);
	d->move.failed++;
	return ret;
}

int
rte_pmd_vfio_user_client_move(uint16_t port_id, const char *path,
			      struct rte_pmd_vfio_user_client_move_stats *stats)
{
	struct rte_pmd_vfio_user_client_move_stats local;
	struct vuc_dev *d;
	int ret;

	if (!vuc_is_ours(port_id))
		return -ENODEV;
	if (path == NULL || path[0] == '\0')
		return -EINVAL;
	d = rte_eth_devices[port_id].data->dev_private;
	memset(stats != NULL ? stats : &local, 0, sizeof(local));
	pthread_mutex_lock(&d->lock);
	ret = move(d, path, stats != NULL ? stats : &local);
	pthread_mutex_unlock(&d->lock);
	return ret;
}

/* ---- telemetry ---- */

/* "<port>,<path>" or "<port>": the port, and *rest after its comma. */
static int
parse_port(const char *params, const char **rest)
{
	char *end;
	unsigned long v;

	if (params == NULL)
		return -1;
	v = strtoul(params, &end, 10);
	if (end == params || v >= RTE_MAX_ETHPORTS || (*end != ',' && *end))
		return -1;
	*rest = *end == ',' ? end + 1 : end;
	return (int)v;
}

static int
tel_move(const char *cmd, const char *params, struct rte_tel_data *t)
{
	struct rte_pmd_vfio_user_client_move_stats st;
	const char *path = NULL;
	int port = parse_port(params, &path), ret;

	RTE_SET_USED(cmd);
	if (port < 0 || path == NULL || path[0] == '\0')
		return -EINVAL;
	ret = rte_pmd_vfio_user_client_move((uint16_t)port, path, &st);
	rte_tel_data_start_dict(t);
	rte_tel_data_add_dict_int(t, "port", port);
	rte_tel_data_add_dict_string(t, "path", path);
	rte_tel_data_add_dict_int(t, "result", ret);
	if (ret < 0) {
		rte_tel_data_add_dict_string(t, "error", strerror(-ret));
		return 0;
	}
	rte_tel_data_add_dict_u64(t, "downtime_us", st.downtime_us);
	rte_tel_data_add_dict_u64(t, "total_us", st.total_us);
	rte_tel_data_add_dict_u64(t, "precopy_bytes", st.precopy_bytes);
	rte_tel_data_add_dict_u64(t, "stopcopy_bytes", st.stopcopy_bytes);
	return 0;
}

static int
tel_info(const char *cmd, const char *params, struct rte_tel_data *t)
{
	const char *rest;
	int port = parse_port(params, &rest);
	struct vuc_dev *d;

	RTE_SET_USED(cmd);
	if (port < 0 || !vuc_is_ours((uint16_t)port))
		return -EINVAL;
	d = rte_eth_devices[port].data->dev_private;
	rte_tel_data_start_dict(t);
	pthread_mutex_lock(&d->lock);
	rte_tel_data_add_dict_string(t, "path", d->path);
	rte_tel_data_add_dict_int(t, "connected",
				  d->client != NULL &&
					  rte_vfio_user_client_connected(
						  d->client));
	rte_tel_data_add_dict_u64(t, "moves", d->move.moves);
	rte_tel_data_add_dict_u64(t, "failed_moves", d->move.failed);
	rte_tel_data_add_dict_u64(t, "last_downtime_us",
				  d->move.last_downtime_us);
	rte_tel_data_add_dict_u64(t, "max_downtime_us",
				  d->move.max_downtime_us);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

RTE_INIT(vuc_telemetry_init)
{
	rte_telemetry_register_cmd(
		"/vfio_user_client/move", tel_move,
		"Move a port's device to another backend. Parameters: "
		"port, socket path");
	rte_telemetry_register_cmd(
		"/vfio_user_client/info", tel_info,
		"Backend of a port and its moves. Parameter: port");
}
