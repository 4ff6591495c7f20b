/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef MI_COMMON_H
#define MI_COMMON_H

/*
 * Shared fixture of the memory_irq tests: two small PCI-ish devices served
 * in-process by librte_vfio_user on sockets in a private mkdtemp directory,
 * and client-side helpers built on the raw test client.
 *
 * Device A: MSI-X (index 2) is NORESIZE; device B: MSI-X is resizable and
 * MSI (index 1) has 100 vectors (to de-assign more vectors than fit in one
 * message's fds). Both: config space (region 7, 256 bytes), BAR0 (4 KiB),
 * INTx (index 0, count 1, EVENTFD|MASKABLE|AUTOMASKED), ERR (index 3, count
 * 1, EVENTFD only: not maskable).
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include <rte_vfio_user.h>

#include "raw_client.h"
#include "vfio_user_proto.h"

#define MI_PAGE 4096u

/* Defined in an AddressSanitizer build (gcc's macro, clang's feature). */
#if defined(__SANITIZE_ADDRESS__)
#define MI_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MI_ASAN 1
#endif
#endif

#define MI_INTX 0u
#define MI_MSI 1u
#define MI_MSIX 2u
#define MI_ERR 3u
#define MI_MSIX_COUNT 8u
#define MI_MSI_COUNT_B 100u
/*
 * How long the devices wait for their client (rte_vfio_user_set_timeouts():
 * a message's rest, unread replies, DMA message replies): shorter than the
 * library's 5 s default, so that the tests of those limits run in a
 * fraction of the time.
 */
#define MI_TIMEOUT_MS 1500u

/* QSBR thread ids the tests use. */
#define MI_QS_MAIN 0u	/* the main thread, online only around triggers */
#define MI_QS_READER 1u	/* the quiescence test's reader */

/* State of one test device (the device model's context). */
struct mi_dev {
	int id;
	char path[108];
	uint8_t config[256];
	uint8_t bar0[MI_PAGE];
	/* callback counters */
	int new_count;
	int destroy_count;
	int dma_changed;
	int unmap_pre;
	int irq_changed;
	/* what dirty_log answers RTE_VFIO_USER_DIRTY_SYNC (0: done) */
	int dirty_sync_err;
	/* called from update_status on the event thread when set */
	void (*hook)(struct mi_dev *d, enum rte_vfio_user_status st);
	void *hook_arg;
};

extern struct mi_dev mi_a, mi_b;

/* Register and start both devices (once per process). */
int mi_server_setup(void **state);
/* Unregister both, remove the directory. */
int mi_server_teardown(void **state);
/* The private directory of the sockets. */
const char *mi_dir_path(void);
/* Per-test: arm a watchdog so a hang fails fast. */
int mi_test_setup(void **state);
int mi_test_teardown(void **state);

/* Read an atomic counter of a device. */
int mi_load(const int *p);

/* Connect to a device and negotiate with json (NULL: none). */
void mi_open(struct rc *c, struct mi_dev *d, const char *json);
/* As mi_open(), returning the VERSION reply (caller frees it). */
void mi_open_reply(struct rc *c, struct mi_dev *d, const char *json,
		   struct rc_reply *r);
/* Close the client and wait until the server has torn the connection down. */
void mi_close(struct rc *c, struct mi_dev *d);
/* Remember an fd to close if the test fails (d: the device it is a client
 * of, or NULL); forget it. */
void mi_track(int fd, struct mi_dev *d);
void mi_untrack(int fd);
/* Nothing of a client left on d: not connected, no memory, INTx and MSI-X
 * off, the teardown over (rte_vfio_user_is_idle()). */
bool mi_client_gone(struct mi_dev *d);
/* Wait until the server finished tearing down after destroy count > n. */
void mi_wait_teardown(struct mi_dev *d, int destroy_before);

/* memfd of size bytes mapped shared read/write here. */
int mi_memfd(size_t size, uint8_t **map);

/* Client commands; each returns 0 or -errno of the reply. */
int mi_map(struct rc *c, uint64_t iova, uint64_t size, uint32_t flags,
	   int fd, uint64_t offset);
int mi_unmap(struct rc *c, uint64_t iova, uint64_t size, uint32_t flags);
int mi_set_irqs(struct rc *c, uint32_t flags, uint32_t index, uint32_t start,
		uint32_t count, const uint8_t *bools, const int *fds, int nfds);
int mi_region_rw(struct rc *c, uint32_t region, uint64_t offset, void *buf,
		 uint32_t count, bool write);

/* Read an eventfd without blocking: its counter, 0 if not signalled. */
uint64_t mi_efd_read(int fd);
/* New non-blocking eventfd. */
int mi_efd(void);

/* rte_vfio_user_irq_trigger() from the main thread, online in the QSBR
 * variable of the device just for the call, as the API asks. */
int mi_trigger(struct mi_dev *d, uint32_t index, uint32_t vector);

/* The capabilities object of a VERSION reply (*root: the caller's to
 * json_decref()). */
struct json_t;
struct json_t *mi_version_caps(const struct rc_reply *r, struct json_t **root);
/* Negotiate twin_socket (extra: more JSON members, "" for none); returns
 * the client end of the twin socket. */
int mi_open_twin(struct rc *c, struct mi_dev *d, const char *extra);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t mi_now_ms(void);

/* Poll cond every 200 us for up to ms milliseconds; true if it held. */
#define MI_WAIT(cond, ms) ({						\
	uint64_t _end = mi_now_ms() + (ms);				\
	bool _ok;							\
	while (!(_ok = (cond)) && mi_now_ms() < _end)			\
		usleep(200);						\
	_ok;								\
})

/* Test groups. */
extern const struct CMUnitTest mi_dma_tests[];
extern const size_t mi_dma_tests_n;
extern const struct CMUnitTest mi_dirty_tests[];
extern const size_t mi_dirty_tests_n;
extern const struct CMUnitTest mi_irq_tests[];
extern const size_t mi_irq_tests_n;
extern const struct CMUnitTest mi_conn_tests[];
extern const size_t mi_conn_tests_n;
extern const struct CMUnitTest mi_hostile_tests[];
extern const size_t mi_hostile_tests_n;
extern const struct CMUnitTest mi_sock_tests[];
extern const size_t mi_sock_tests_n;
extern const struct CMUnitTest mi_segments_tests[];
extern const size_t mi_segments_tests_n;
extern const struct CMUnitTest mi_handoff_tests[];
extern const size_t mi_handoff_tests_n;

#endif /* MI_COMMON_H */
