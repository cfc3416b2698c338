// SPDX-License-Identifier: GPL-2.0
/*
 * dup_refused: kinds of memory a dup refuses (contract section 2, errors
 * and semantics 6; issue 4), each with its errno, alone, as part of a
 * range that starts with memory that could be duplicated, and as the
 * source of a COWDUP_FIXED copy (whose target must survive); /proc/self/maps
 * byte for byte unchanged after every refusal.
 *
 * - hugetlb (MAP_HUGETLB private and shared, MFD_HUGETLB memfd, a
 *   hugetlbfs file, SysV SHM_HUGETLB): EOPNOTSUPP while
 *   COWDUP_FEAT_HUGETLB is clear (these tests skip once it is set: then
 *   hugetlb needs dup tests of its own), huge page counts unchanged;
 * - memfd_secret memory: EINVAL (skipped where the syscall is off:
 *   6.1 needs secretmem.enable=1 on the kernel command line);
 * - MADV_DONTFORK file and shared memory: EINVAL;
 * - VM_PFNMAP/VM_MIXEDMAP (io_uring rings) next to a memfd: EINVAL.
 * The anonymous cases of the last two, /dev/mem, vdso/vvar: dup_errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#ifndef __NR_memfd_secret
#define __NR_memfd_secret 447
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif
#ifndef SHM_HUGETLB
#define SHM_HUGETLB 04000
#endif

#define LEN	(4 * PAGE_SZ)

static struct maps_snap maps_before;

/* dup must fail with err and leave the maps as they were */
#define REFUSED(fd, err, s, l, d, f) do { \
	void *__d = (void *)(d); \
	ASSERT_EQ(0, maps_snapshot(&maps_before)); \
	ASSERT_DUP_FAILS(err, (fd), (s), (l), &__d, (f), &maps_before); \
} while (0)

/*
 * An address X, aligned to align, with [X - PAGE_SZ, X + len) free: where
 * to map the refused kind (MAP_FIXED_NOREPLACE) so that an anonymous page
 * fits right before it.  NULL if there is no such room.
 */
static char *room_for(size_t len, size_t align)
{
	char *r = free_range(len + align, align);

	return r ? r + align : NULL;
}

/*
 * Refusals of [p, p + len): the whole, one page, a FIXED copy over a
 * scratch mapping (which keeps its contents), and, with an anonymous page
 * right before p (the caller left room), that page and p together, also
 * FIXED and FIXED_NOREPLACE.
 */
static void refuse_all(struct __test_metadata *_metadata, int dev, int err,
		       char *p, size_t len)
{
	char *scratch, *a, *free;

	a = mmap(p - PAGE_SZ, PAGE_SZ, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ASSERT_EQ(p - PAGE_SZ, a) TH_LOG("no room before %p", p);
	pattern_fill(a, PAGE_SZ, 8);
	REFUSED(dev, err, p, len, 0, 0);
	REFUSED(dev, err, p + len - PAGE_SZ, PAGE_SZ, 0, 0);
	scratch = anon_map(len);
	ASSERT_NE(MAP_FAILED, scratch);
	pattern_fill(scratch, len, 9);
	REFUSED(dev, err, p, len, scratch, COWDUP_FIXED);
	REFUSED(dev, err, p, PAGE_SZ, scratch + PAGE_SZ, COWDUP_FIXED);
	REFUSED(dev, err, a, PAGE_SZ + len, 0, 0);
	REFUSED(dev, err, a, 2 * PAGE_SZ, scratch, COWDUP_FIXED);
	free = free_range(2 * PAGE_SZ, PAGE_SZ);
	ASSERT_NE(NULL, free);
	REFUSED(dev, err, a, 2 * PAGE_SZ, free, COWDUP_FIXED_NOREPLACE);
	ASSERT_PATTERN(a, PAGE_SZ, 8);
	ASSERT_PATTERN(scratch, len, 9);
	/* the anonymous page alone is fine */
	munmap(DUP_OK(dev, a, PAGE_SZ, 0, 0), PAGE_SZ);
	munmap(a, PAGE_SZ);
	munmap(scratch, len);
}

/* ---- hugetlb ---------------------------------------------------------- */

enum hkind {
	H_PRIVATE,	/* MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB */
	H_SHARED,	/* MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB */
	H_MEMFD_SHARED,	/* memfd_create(MFD_HUGETLB), MAP_SHARED */
	H_MEMFD_PRIVATE,
	H_FILE_SHARED,	/* a file on hugetlbfs (/dev/hugepages) */
	H_SYSV,		/* shmget(SHM_HUGETLB) */
};

FIXTURE_VARIANT(huge) {
	enum hkind kind;
};
FIXTURE(huge) {
	int dev;
	int kmsg;
	long nr_hugepages;
	bool restore;
	char path[64];
	int shmid;
};
FIXTURE_VARIANT_ADD(huge, private_anon) { H_PRIVATE };
FIXTURE_VARIANT_ADD(huge, shared_anon) { H_SHARED };
FIXTURE_VARIANT_ADD(huge, memfd_shared) { H_MEMFD_SHARED };
FIXTURE_VARIANT_ADD(huge, memfd_private) { H_MEMFD_PRIVATE };
FIXTURE_VARIANT_ADD(huge, hugetlbfs_file) { H_FILE_SHARED };
FIXTURE_VARIANT_ADD(huge, sysv_shm) { H_SYSV };

FIXTURE_SETUP(huge)
{
	struct cowdup_info info;

	self->kmsg = kmsg_open();
	self->dev = cowdup_open();
	ASSERT_LE(0, self->dev);
	self->path[0] = 0;
	self->shmid = -1;
	ASSERT_EQ(0, cowdup_get_info(self->dev, &info));
	if (info.features & COWDUP_FEAT_HUGETLB)
		SKIP(return, "COWDUP_FEAT_HUGETLB is set: hugetlb is "
		     "duplicated now, it needs dup tests instead");
	ASSERT_EQ(0, read_long("/proc/sys/vm/nr_hugepages",
			       &self->nr_hugepages));
	self->restore = true;
	if (write_long("/proc/sys/vm/nr_hugepages", self->nr_hugepages + 4))
		SKIP(return, "cannot reserve huge pages");
	(void)user_space_end();
}

/* In the parent: runs even when the test process dies */
FIXTURE_TEARDOWN_PARENT(huge)
{
	if (self->path[0])
		unlink(self->path);
	if (self->shmid >= 0)
		shmctl(self->shmid, IPC_RMID, NULL);
	if (self->restore)
		EXPECT_EQ(0, write_long("/proc/sys/vm/nr_hugepages",
					self->nr_hugepages));
}

static char *huge_map(FIXTURE_DATA(huge) *self, enum hkind kind)
{
	const int rw = PROT_READ | PROT_WRITE, fx = MAP_FIXED_NOREPLACE;
	char *at = room_for(PMD_SZ, PMD_SZ), *p;
	int fd;

	if (!at)
		return MAP_FAILED;

	switch (kind) {
	case H_PRIVATE:
		return mmap(at, PMD_SZ, rw, MAP_PRIVATE | MAP_ANONYMOUS |
			    MAP_HUGETLB | fx, -1, 0);
	case H_SHARED:
		return mmap(at, PMD_SZ, rw, MAP_SHARED | MAP_ANONYMOUS |
			    MAP_HUGETLB | fx, -1, 0);
	case H_MEMFD_SHARED:
	case H_MEMFD_PRIVATE:
		fd = memfd_create("cowdup-huge", MFD_CLOEXEC | MFD_HUGETLB);
		if (fd < 0)
			return MAP_FAILED;
		if (ftruncate(fd, PMD_SZ)) {
			close(fd);
			return MAP_FAILED;
		}
		p = mmap(at, PMD_SZ, rw, (kind == H_MEMFD_SHARED ?
			 MAP_SHARED : MAP_PRIVATE) | fx, fd, 0);
		close(fd);
		return p;
	case H_FILE_SHARED:
		snprintf(self->path, sizeof(self->path),
			 "/dev/hugepages/cowdup-XXXXXX");
		fd = mkstemp(self->path);
		if (fd < 0) {
			self->path[0] = 0;
			return MAP_FAILED;
		}
		if (ftruncate(fd, PMD_SZ)) {
			close(fd);
			return MAP_FAILED;
		}
		p = mmap(at, PMD_SZ, rw, MAP_SHARED | fx, fd, 0);
		close(fd);
		return p;
	case H_SYSV:
		self->shmid = shmget(IPC_PRIVATE, PMD_SZ,
				     IPC_CREAT | SHM_HUGETLB | 0600);
		if (self->shmid < 0)
			return MAP_FAILED;
		p = shmat(self->shmid, at, 0);
		return p == (void *)-1 ? MAP_FAILED : p;
	}
	return MAP_FAILED;
}

/*
 * EOPNOTSUPP, whole or in part, FIXED or not, mixed with an anonymous
 * page; the huge page counts (free, reserved) stay as they were.
 */
TEST_F(huge, eopnotsupp)
{
	long free0, rsvd0;
	char *p;

	p = huge_map(self, variant->kind);
	if (p == MAP_FAILED)
		SKIP(return, "hugetlb mapping: %s", strerror(errno));
	pattern_fill(p, PMD_SZ, 6);
	free0 = meminfo_kb("HugePages_Free");
	rsvd0 = meminfo_kb("HugePages_Rsvd");
	refuse_all(_metadata, self->dev, EOPNOTSUPP, p, PMD_SZ);
	ASSERT_EQ(free0, meminfo_kb("HugePages_Free"));
	ASSERT_EQ(rsvd0, meminfo_kb("HugePages_Rsvd"));
	ASSERT_PATTERN(p, PMD_SZ, 6);
	if (self->shmid >= 0) {
		struct shmid_ds ds;

		ASSERT_EQ(0, shmctl(self->shmid, IPC_STAT, &ds));
		ASSERT_EQ(1UL, (unsigned long)ds.shm_nattch);
	}
	munmap(p, PMD_SZ);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/* ---- other refusals ----------------------------------------------------- */

FIXTURE(refuse) {
	int dev;
	int kmsg;
};

FIXTURE_SETUP(refuse)
{
	self->kmsg = kmsg_open();
	self->dev = cowdup_open();
	ASSERT_LE(0, self->dev);
	(void)user_space_end();
}

FIXTURE_TEARDOWN(refuse)
{
	close(self->dev);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/*
 * memfd_secret memory is out of the kernel's direct map for one mapping
 * only: EINVAL.
 */
TEST_F(refuse, secretmem_einval)
{
	char *p;
	int fd;

	fd = syscall(__NR_memfd_secret, 0);
	if (fd < 0 && (errno == ENOSYS || errno == EINVAL))
		SKIP(return, "memfd_secret: %s (6.1: boot with "
		     "secretmem.enable=1)", strerror(errno));
	ASSERT_LE(0, fd) TH_LOG("memfd_secret: %s", strerror(errno));
	ASSERT_EQ(0, ftruncate(fd, LEN));
	p = mmap(room_for(LEN, PAGE_SZ), LEN, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap secretmem: %s", strerror(errno));
	pattern_fill(p, LEN, 3);
	refuse_all(_metadata, self->dev, EINVAL, p, LEN);
	ASSERT_PATTERN(p, LEN, 3);
	munmap(p, LEN);
	close(fd);
}

/* MADV_DONTFORK on private file and shared memory: EINVAL */
TEST_F(refuse, dontfork_file_and_shared_einval)
{
	static const int flags[] = { MAP_PRIVATE, MAP_SHARED };
	char *p, *sh;
	size_t i;
	int fd;

	fd = memfd_create("cowdup-dontfork", MFD_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, file_pattern_write(fd, 0, 4, 1));
	for (i = 0; i < 2; i++) {
		p = mmap(room_for(LEN, PAGE_SZ), LEN, PROT_READ | PROT_WRITE,
			 flags[i] | MAP_FIXED_NOREPLACE, fd, 0);
		ASSERT_NE(MAP_FAILED, p);
		ASSERT_EQ(0, madvise(p, LEN, MADV_DONTFORK));
		ASSERT_TRUE(smaps_has_flag((uintptr_t)p, "dc"));
		refuse_all(_metadata, self->dev, EINVAL, p, LEN);
		ASSERT_PATTERN(p, LEN, 1);
		/* undone: duplicated again */
		ASSERT_EQ(0, madvise(p, LEN, MADV_DOFORK));
		munmap(DUP_OK(self->dev, p, LEN, 0, 0), LEN);
		munmap(p, LEN);
	}
	sh = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	ASSERT_EQ(0, madvise(sh + PAGE_SZ, PAGE_SZ, MADV_DONTFORK));
	REFUSED(self->dev, EINVAL, sh, LEN, 0, 0);
	REFUSED(self->dev, EINVAL, sh + PAGE_SZ, PAGE_SZ, 0, 0);
	munmap(DUP_OK(self->dev, sh, PAGE_SZ, 0, 0), PAGE_SZ);
	munmap(sh, LEN);
	close(fd);
}

/* An io_uring ring (VM_PFNMAP or VM_MIXEDMAP) after a memfd view: EINVAL */
TEST_F(refuse, pfnmap_after_file_einval)
{
	struct io_uring_params prm;
	char *ring, *v;
	size_t rlen;
	int ufd, mfd;

	memset(&prm, 0, sizeof(prm));
	ufd = syscall(__NR_io_uring_setup, 4, &prm);
	if (ufd < 0)
		SKIP(return, "io_uring_setup: %s", strerror(errno));
	rlen = (prm.sq_off.array + prm.sq_entries * sizeof(__u32) +
		PAGE_SZ - 1) & ~(PAGE_SZ - 1);
	ring = mmap(NULL, rlen, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, ufd, IORING_OFF_SQ_RING);
	ASSERT_NE(MAP_FAILED, ring);
	ASSERT_TRUE(smaps_has_flag((uintptr_t)ring, "mm") ||
		    smaps_has_flag((uintptr_t)ring, "pf"));
	mfd = memfd_create("cowdup-pfn", MFD_CLOEXEC);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, file_pattern_write(mfd, 0, 2, 1));
	v = mmap(ring - 2 * PAGE_SZ, 2 * PAGE_SZ, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED_NOREPLACE, mfd, 0);
	if (v != ring - 2 * PAGE_SZ)
		SKIP(return, "no room before the ring");
	REFUSED(self->dev, EINVAL, ring, rlen, 0, 0);
	REFUSED(self->dev, EINVAL, v, 2 * PAGE_SZ + rlen, 0, 0);
	REFUSED(self->dev, EINVAL, v + PAGE_SZ, 2 * PAGE_SZ, 0, 0);
	ASSERT_PATTERN(v, 2 * PAGE_SZ, 1);
	/* the memfd part alone duplicates */
	munmap(DUP_OK(self->dev, v, 2 * PAGE_SZ, 0, 0), 2 * PAGE_SZ);
	munmap(v, 2 * PAGE_SZ);
	munmap(ring, rlen);
	close(mfd);
	close(ufd);
}

TEST_HARNESS_MAIN
