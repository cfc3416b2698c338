// SPDX-License-Identifier: GPL-2.0
/*
 * dup_unsupported: kinds of memory the module does not duplicate yet must
 * be refused with EOPNOTSUPP, with nothing mapped and /proc/self/maps
 * unchanged, even when only part of the range is of that kind.
 *
 * TEMPORARY: each test skips once the feature bit announcing the kind is
 * set (COWDUP_FEAT_DUP_SHARED, COWDUP_FEAT_DUP_FILE, COWDUP_FEAT_HUGETLB);
 * delete the test then, and this program with the last of them.
 * (VM_PFNMAP / VM_MIXEDMAP / VM_IO mappings are EINVAL for good:
 * dup_errors.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#define LEN	(4 * PAGE_SZ)

FIXTURE(unsup) {
	int fd;
	int kmsg;
	uint64_t features;
	long nr_hugepages;
	bool restore_huge;
	struct maps_snap maps;
};

FIXTURE_SETUP(unsup)
{
	struct cowdup_info info;

	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, cowdup_get_info(self->fd, &info));
	self->features = info.features;
	(void)user_space_end();
}

FIXTURE_TEARDOWN_PARENT(unsup)
{
	if (self->restore_huge) {
		EXPECT_EQ(0, write_long("/proc/sys/vm/nr_hugepages",
					self->nr_hugepages));
	}
}

#define REQUIRE_UNSUPPORTED(self, feat) do { \
	if ((self)->features & (feat)) \
		SKIP(return, #feat " is set: this kind is supported now, " \
		     "delete this test"); \
} while (0)

#define UNSUPPORTED(self, s, l, d, f) do { \
	void *__d = (void *)(d); \
	ASSERT_EQ(0, maps_snapshot(&(self)->maps)); \
	ASSERT_DUP_FAILS(EOPNOTSUPP, (self)->fd, (s), (l), &__d, (f), \
			 &(self)->maps); \
} while (0)

/* a private anonymous page right before p (NULL if that place is taken) */
static char *anon_before(char *p)
{
	char *a = mmap(p - PAGE_SZ, PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		       -1, 0);

	if (a == MAP_FAILED)
		return NULL;
	pattern_fill(a, PAGE_SZ, 1);
	return a;
}

TEST_F(unsup, shared_anonymous_eopnotsupp)
{
	char *sh, *a, *dst;

	REQUIRE_UNSUPPORTED(self, COWDUP_FEAT_DUP_SHARED);
	sh = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	pattern_fill(sh, LEN, 2);
	dst = free_range(2 * LEN, PAGE_SZ);
	ASSERT_NE(NULL, dst);
	UNSUPPORTED(self, sh, LEN, 0, 0);
	UNSUPPORTED(self, sh + PAGE_SZ, PAGE_SZ, 0, 0);
	UNSUPPORTED(self, sh, LEN, dst, COWDUP_FIXED_NOREPLACE);
	/* a mixed range: private anonymous, then shared */
	a = anon_before(sh);
	if (a) {
		UNSUPPORTED(self, a, PAGE_SZ + LEN, 0, 0);
		UNSUPPORTED(self, a, 2 * PAGE_SZ, dst, COWDUP_FIXED);
		ASSERT_PATTERN(a, PAGE_SZ, 1);
	}
	ASSERT_PATTERN(sh, LEN, 2);
}

TEST_F(unsup, sysv_shm_eopnotsupp)
{
	char *p;
	int id;

	REQUIRE_UNSUPPORTED(self, COWDUP_FEAT_DUP_SHARED);
	id = shmget(IPC_PRIVATE, LEN, IPC_CREAT | 0600);
	if (id < 0)
		SKIP(return, "shmget: %s", strerror(errno));
	p = shmat(id, NULL, 0);
	shmctl(id, IPC_RMID, NULL);
	ASSERT_NE((void *)-1, p);
	pattern_fill(p, LEN, 3);
	UNSUPPORTED(self, p, LEN, 0, 0);
	ASSERT_PATTERN(p, LEN, 3);
	shmdt(p);
}

TEST_F(unsup, shared_file_eopnotsupp)
{
	char *p, *a;
	int mfd;

	REQUIRE_UNSUPPORTED(self, COWDUP_FEAT_DUP_SHARED);
	mfd = memfd_create("cowdup-unsup", MFD_CLOEXEC);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, LEN));
	p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	pattern_fill(p, LEN, 4);
	UNSUPPORTED(self, p, LEN, 0, 0);
	a = anon_before(p);
	if (a) {
		UNSUPPORTED(self, a, 2 * PAGE_SZ, 0, 0);
	}
	ASSERT_PATTERN(p, LEN, 4);
	close(mfd);
}

/* an address in this program's text */
static void __attribute__((noinline)) text_marker(void)
{
	__asm__ volatile("");
}

TEST_F(unsup, private_file_eopnotsupp)
{
	char exe[512], name[512];
	uintptr_t s, e;
	char perms[5], *p, *a;
	ssize_t n;
	int mfd;
	static char data[LEN];

	REQUIRE_UNSUPPORTED(self, COWDUP_FEAT_DUP_FILE);
	mfd = memfd_create("cowdup-unsup", MFD_CLOEXEC);
	ASSERT_LE(0, mfd);
	pattern_fill(data, LEN, 7);
	ASSERT_EQ((ssize_t)LEN, pwrite(mfd, data, LEN, 0));
	p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, mfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	/* page cache pages (read) and private COW pages in one file VMA */
	ASSERT_PATTERN_AT(p, 0, 2, 7);
	pattern_fill_at(p + 2 * PAGE_SZ, 2, 2, 5);
	UNSUPPORTED(self, p, LEN, 0, 0);
	UNSUPPORTED(self, p + 2 * PAGE_SZ, PAGE_SZ, 0, 0);
	a = anon_before(p);
	if (a) {
		UNSUPPORTED(self, a, 2 * PAGE_SZ, 0, 0);
	}
	ASSERT_PATTERN_AT(p, 0, 2, 7);
	ASSERT_PATTERN_AT(p + 2 * PAGE_SZ, 2, 2, 5);
	close(mfd);

	/* this program's own text */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ASSERT_LT(0, n);
	exe[n] = 0;
	ASSERT_EQ(0, maps_find((uintptr_t)text_marker, &s,
			       &e, perms, name, sizeof(name)));
	ASSERT_STREQ(exe, name);
	UNSUPPORTED(self, s, e - s, 0, 0);
}

TEST_F(unsup, hugetlb_eopnotsupp)
{
	char *p;

	REQUIRE_UNSUPPORTED(self, COWDUP_FEAT_HUGETLB);
	ASSERT_EQ(0, read_long("/proc/sys/vm/nr_hugepages",
			       &self->nr_hugepages));
	self->restore_huge = true;
	if (write_long("/proc/sys/vm/nr_hugepages", self->nr_hugepages + 2))
		SKIP(return, "cannot reserve huge pages");
	p = mmap(NULL, PMD_SZ, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED)
		SKIP(return, "MAP_HUGETLB: %s", strerror(errno));
	pattern_fill(p, PMD_SZ, 6);
	UNSUPPORTED(self, p, PMD_SZ, 0, 0);
	ASSERT_PATTERN(p, PMD_SZ, 6);
	munmap(p, PMD_SZ);
}

TEST_HARNESS_MAIN
