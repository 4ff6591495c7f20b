/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * DMA_MAP with memory the server cannot map: fds that cannot be mmapped
 * (pipe, socket, eventfd, directory), files opened without the access the
 * map asks for (O_WRONLY; O_RDONLY mapped writable; a memfd sealed against
 * writes), ranges past the end of the file, a range larger than the
 * address space, and an address-space limit (RLIMIT_AS). Each gets an
 * error reply with the mmap errno, keeps no fd and no mapping, and the
 * same connection then maps good memory and uses it.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "fault.h"

#define RW (VFIO_USER_DMA_MAP_F_READ | VFIO_USER_DMA_MAP_F_WRITE)
#define RO VFIO_USER_DMA_MAP_F_READ
#define IOVA 0x10000000ULL

/* One DMA_MAP the server must refuse with err, leaving nothing behind. */
static void
map_fails(struct rc *c, const struct pb *base, int fd, uint64_t size,
	  uint64_t offset, uint32_t flags, int err, const char *what)
{
	int ret = mi_map(c, IOVA, size, flags, fd, offset);

	if (ret != err)
		print_error("%s: DMA_MAP answered %d, expected %d\n", what, ret,
			    err);
	assert_int_equal(ret, err);
	assert_int_equal(rte_vfio_user_get_mem_table(mi_a.id)->nregions, 0);
	assert_true(pb_wait_back(base, 3000, stderr));
}

/* Bytes of address space this process uses (VmSize). */
static uint64_t
vm_size(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	unsigned long long kib = 0;
	char line[256];

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmSize: %llu kB", &kib) == 1)
			break;
	fclose(f);
	assert_true(kib > 0);
	return kib * 1024;
}

static void
test_mmap_bad_fds(void **state)
{
	char dir_path[128], file[160];
	int p[2], sv[2], efd, dfd, wo, ro, sealed, big, good;
	uint8_t *mem, v = 0;
	struct pb base;
	struct rc c;

	(void)state;
	snprintf(dir_path, sizeof(dir_path), "%s", mi_dir_path());
	snprintf(file, sizeof(file), "%s/mmap-file", dir_path);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	efd = mi_efd();
	dfd = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	wo = open(file, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(wo >= 0);
	assert_int_equal(ftruncate(wo, 64 * 1024), 0);
	ro = open(file, O_RDONLY | O_CLOEXEC);
	assert_true(ro >= 0);
	assert_int_equal(unlink(file), 0);
	sealed = memfd_create("fault-sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(sealed >= 0);
	assert_int_equal(ftruncate(sealed, 64 * 1024), 0);
	assert_int_equal(fcntl(sealed, F_ADD_SEALS, F_SEAL_WRITE), 0);
	/* a sparse file as large as the address space */
	big = memfd_create("fault-big", MFD_CLOEXEC);
	assert_true(big >= 0);
	assert_int_equal(ftruncate(big, (off_t)1 << 47), 0);
	good = mi_memfd(64 * 1024, &mem);

	fault_probe_reset();
	mi_open(&c, &mi_a, NULL);
	assert_int_equal(pb_take(&base), 0);

	map_fails(&c, &base, p[0], 4096, 0, RO, -ENODEV, "pipe");
	map_fails(&c, &base, sv[0], 4096, 0, RW, -ENODEV, "socket");
	map_fails(&c, &base, efd, 4096, 0, RW, -ENODEV, "eventfd");
	map_fails(&c, &base, dfd, 4096, 0, RO, -ENODEV, "directory");
	map_fails(&c, &base, wo, 4096, 0, RW, -EACCES, "O_WRONLY file");
	map_fails(&c, &base, wo, 4096, 0, RO, -EACCES, "O_WRONLY file, read");
	map_fails(&c, &base, ro, 4096, 0, RW, -EACCES, "O_RDONLY file, write");
	map_fails(&c, &base, sealed, 4096, 0, RW, -EPERM, "F_SEAL_WRITE memfd");
	/* ranges the file does not hold */
	map_fails(&c, &base, good, 4096, 64 * 1024, RW, -EINVAL,
		  "offset at the end");
	map_fails(&c, &base, good, 128 * 1024, 0, RW, -EINVAL, "size past end");
	map_fails(&c, &base, good, 8192, 60 * 1024, RW, -EINVAL,
		  "offset + size past end");
	map_fails(&c, &base, good, 4096, 1ULL << 63, RW, -EINVAL,
		  "offset past 2^63");
	map_fails(&c, &base, good, 4096, ~0ULL << 12, RW, -EINVAL,
		  "offset + size wrapping");
	/* more than the address space */
	map_fails(&c, &base, big, 1ULL << 47, 0, RW, -ENOMEM, "128 TiB");

	/* what may be mapped still maps, on the same connection */
	assert_int_equal(mi_map(&c, IOVA, 4096, RO, ro, 0), 0);
	assert_int_equal(mi_map(&c, IOVA + 0x100000, 4096, RO, sealed, 0), 0);
	assert_int_equal(mi_map(&c, IOVA + 0x200000, 64 * 1024, RW, good, 0),
			 0);
	mem[100] = 0x77;
	assert_int_equal(rte_vfio_user_dma_read(mi_a.id, IOVA + 0x200000 + 100,
						&v, 1),
			 0);
	assert_int_equal(v, 0x77);
	v = 0x33;
	assert_int_equal(rte_vfio_user_dma_write(mi_a.id, IOVA + 0x200000 + 200,
						 &v, 1),
			 0);
	assert_int_equal(mem[200], 0x33);
	assert_int_equal(rte_vfio_user_get_mem_table(mi_a.id)->nregions, 3);
	assert_int_equal(mi_unmap(&c, IOVA, 4096, 0), 0);
	assert_int_equal(mi_unmap(&c, IOVA + 0x100000, 4096, 0), 0);
	assert_int_equal(mi_unmap(&c, IOVA + 0x200000, 64 * 1024, 0), 0);
	fault_assert_back(&base);
	mi_close(&c, &mi_a);
	fault_probe_check();
	pb_free(&base);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
	close(efd);
	close(dfd);
	close(wo);
	close(ro);
	close(sealed);
	close(big);
	close(good);
	munmap(mem, 64 * 1024);
}

/*
 * The address space limited (RLIMIT_AS) to what the process uses plus a
 * little: a 64 MiB map fails with ENOMEM, a 4 KiB one still works.
 * ASan reserves terabytes of shadow memory up front and cannot run under
 * an address-space limit; its builds have the 128 TiB case above for
 * ENOMEM instead.
 */
static void
test_mmap_rlimit_as(void **state)
{
#if PB_ANON_SLACK == 0
	struct rlimit saved, rl;
	uint8_t *mem, v = 0;
	struct pb base;
	struct rc c;
	int good, ret;

	(void)state;
	good = mi_memfd(64 << 20, &mem);
	fault_probe_reset();
	mi_open(&c, &mi_a, NULL);
	assert_int_equal(pb_take(&base), 0);
	assert_int_equal(getrlimit(RLIMIT_AS, &saved), 0);
	rl = saved;
	rl.rlim_cur = vm_size() + (16 << 20);
	assert_int_equal(setrlimit(RLIMIT_AS, &rl), 0);
	ret = mi_map(&c, IOVA, 64 << 20, RW, good, 0);
	assert_int_equal(setrlimit(RLIMIT_AS, &saved), 0);
	assert_int_equal(ret, -ENOMEM);
	assert_int_equal(rte_vfio_user_get_mem_table(mi_a.id)->nregions, 0);
	fault_assert_back(&base);
	assert_int_equal(mi_map(&c, IOVA, 64 << 20, RW, good, 0), 0);
	mem[(32 << 20) + 1] = 0x44;
	assert_int_equal(rte_vfio_user_dma_read(mi_a.id, IOVA + (32 << 20) + 1,
						&v, 1),
			 0);
	assert_int_equal(v, 0x44);
	assert_int_equal(mi_unmap(&c, IOVA, 64 << 20, 0), 0);
	fault_assert_back(&base);
	mi_close(&c, &mi_a);
	fault_probe_check();
	pb_free(&base);
	close(good);
	munmap(mem, 64 << 20);
#else
	(void)state;
	(void)vm_size;
	print_message("sanitizer build: RLIMIT_AS does not apply (see the "
		      "128 TiB case of test_mmap_bad_fds)\n");
#endif
}

#define T(f) \
	cmocka_unit_test_setup_teardown(f, mi_test_setup, fault_test_teardown)
const struct CMUnitTest fault_mmap_tests[] = {
	T(test_mmap_bad_fds),
	T(test_mmap_rlimit_as),
};
const size_t fault_mmap_tests_n = sizeof(fault_mmap_tests) /
				  sizeof(fault_mmap_tests[0]);
