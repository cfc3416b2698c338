// SPDX-License-Identifier: GPL-2.0
/*
 * dup_query: COWDUP_IOC_QUERY (contract section 3): one state byte per
 * page (NONE, ZERO, SHARED, EXCLUSIVE, FILE, SWAP, | HUGE for large
 * folios), counts equal to the vector's tally, holes are NONE, and the
 * argument errors.  Skipped as a whole while COWDUP_FEAT_QUERY is clear
 * (dev_basic then checks that QUERY is ENOTTY).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#define N	16
#define LEN	(N * PAGE_SZ)

FIXTURE(query) {
	int fd;
	int kmsg;
	unsigned char vec[1024];
	struct cowdup_query_args q;
	struct maps_snap maps;
};

FIXTURE_SETUP(query)
{
	struct cowdup_info info;

	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, cowdup_get_info(self->fd, &info));
	if (!(info.features & COWDUP_FEAT_QUERY))
		SKIP(return, "COWDUP_FEAT_QUERY clear");
}

FIXTURE_TEARDOWN(query)
{
	close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/* QUERY [p, p + n pages) into self->vec/self->q; 0 or -errno */
static int query(FIXTURE_DATA(query) *self, const void *p, size_t len,
		 bool with_vec)
{
	memset(&self->q, 0, sizeof(self->q));
	memset(self->vec, 0xee, sizeof(self->vec));
	self->q.size = sizeof(self->q);
	self->q.addr = (uintptr_t)p;
	self->q.len = len;
	self->q.vec = with_vec ? (uintptr_t)self->vec : 0;
	return cowdup_ioctl(self->fd, COWDUP_IOC_QUERY, &self->q);
}

/* the counts are the vector's tally (HUGE ignored), n bytes written */
#define ASSERT_TALLY(self, n) do { \
	uint64_t __t[6] = { 0 }; \
	size_t __i; \
	for (__i = 0; __i < (n); __i++) { \
		unsigned __s = (self)->vec[__i] & COWDUP_PAGE_STATE_MASK; \
		ASSERT_GE(5U, __s); \
		ASSERT_EQ(0, (self)->vec[__i] & 0x70); \
		__t[__s]++; \
	} \
	ASSERT_EQ(0xee, (self)->vec[n]); \
	ASSERT_EQ(__t[COWDUP_PAGE_NONE], (self)->q.nr_none); \
	ASSERT_EQ(__t[COWDUP_PAGE_ZERO], (self)->q.nr_zero); \
	ASSERT_EQ(__t[COWDUP_PAGE_SHARED], (self)->q.nr_shared); \
	ASSERT_EQ(__t[COWDUP_PAGE_EXCLUSIVE], (self)->q.nr_exclusive); \
	ASSERT_EQ(__t[COWDUP_PAGE_FILE], (self)->q.nr_file); \
	ASSERT_EQ(__t[COWDUP_PAGE_SWAP], (self)->q.nr_swap); \
} while (0)

#define STATE(self, i) ((self)->vec[i] & COWDUP_PAGE_STATE_MASK)

TEST_F(query, states_of_anonymous_pages)
{
	volatile char c;
	char *p, *copy;
	size_t i;

	p = anon_map(LEN);
	ASSERT_NE(MAP_FAILED, p);
	/* 0-3 written, 4-5 read (zero page), 6 hole, 7-15 untouched */
	pattern_fill(p, 4 * PAGE_SZ, 1);
	c = p[4 * PAGE_SZ];
	c = p[5 * PAGE_SZ];
	(void)c;
	ASSERT_EQ(0, munmap(p + 6 * PAGE_SZ, PAGE_SZ));

	ASSERT_EQ(0, query(self, p, LEN, true));
	ASSERT_TALLY(self, N);
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(COWDUP_PAGE_EXCLUSIVE, self->vec[i]);
	}
	ASSERT_EQ(COWDUP_PAGE_ZERO, self->vec[4]);
	ASSERT_EQ(COWDUP_PAGE_ZERO, self->vec[5]);
	for (i = 6; i < N; i++) {
		ASSERT_EQ(COWDUP_PAGE_NONE, self->vec[i]);
	}

	/* after a dup: shared on both sides until written */
	copy = DUP_OK(self->fd, p, 6 * PAGE_SZ, 0, 0);
	ASSERT_EQ(0, query(self, copy, 6 * PAGE_SZ, true));
	ASSERT_TALLY(self, 6);
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(COWDUP_PAGE_SHARED, self->vec[i]);
	}
	ASSERT_EQ(0, query(self, p, 4 * PAGE_SZ, true));
	ASSERT_EQ(4ULL, self->q.nr_shared);
	pattern_fill_at(copy + PAGE_SZ, 1, 1, 2);
	ASSERT_EQ(0, query(self, p, 4 * PAGE_SZ, true));
	ASSERT_TALLY(self, 4);
	ASSERT_EQ(COWDUP_PAGE_SHARED, self->vec[0]);
	ASSERT_EQ(COWDUP_PAGE_EXCLUSIVE, self->vec[1]);
	ASSERT_EQ(0, query(self, copy + PAGE_SZ, PAGE_SZ, true));
	ASSERT_EQ(COWDUP_PAGE_EXCLUSIVE, self->vec[0]);

	/* counts only: vec 0 */
	ASSERT_EQ(0, query(self, p, LEN, false));
	ASSERT_EQ(0xee, self->vec[0]);
	ASSERT_EQ(3ULL, self->q.nr_shared);
	ASSERT_EQ(1ULL, self->q.nr_exclusive);
	ASSERT_EQ(2ULL, self->q.nr_zero);
	ASSERT_EQ(10ULL, self->q.nr_none);
	/* len rounded up to pages */
	ASSERT_EQ(0, query(self, p, PAGE_SZ + 1, true));
	ASSERT_TALLY(self, 2);
	munmap(copy, 6 * PAGE_SZ);
	munmap(p, LEN);
}

TEST_F(query, swapped_and_file_pages)
{
	char *p, *f;
	int mfd;
	size_t i;

	p = anon_map(LEN);
	ASSERT_NE(MAP_FAILED, p);
	pattern_fill(p, LEN, 1);
	if (meminfo_kb("SwapTotal") > 0) {
		ASSERT_EQ((size_t)N / 2, page_out(p, N / 2));
		ASSERT_EQ(0, query(self, p, LEN, true));
		ASSERT_TALLY(self, N);
		for (i = 0; i < N; i++) {
			ASSERT_EQ(i < N / 2 ? COWDUP_PAGE_SWAP :
					      COWDUP_PAGE_EXCLUSIVE,
				  self->vec[i]) TH_LOG("page %zu", i);
		}
	}
	mfd = memfd_create("cowdup-query", MFD_CLOEXEC);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, LEN));
	f = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, f);
	pattern_fill(f, LEN / 2, 3);
	ASSERT_EQ(0, query(self, f, LEN, true));
	ASSERT_TALLY(self, N);
	for (i = 0; i < N / 2; i++) {
		ASSERT_EQ(COWDUP_PAGE_FILE, STATE(self, i));
	}
	close(mfd);
	munmap(f, LEN);
	munmap(p, LEN);
}

TEST_F(query, huge_bit)
{
	char *t;
	size_t i;

	t = mmap_aligned(PMD_SZ, PMD_SZ, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS);
	ASSERT_NE(MAP_FAILED, t);
	madvise(t, PMD_SZ, MADV_HUGEPAGE);
	pattern_fill(t, PMD_SZ, 1);
	if (smaps_range_kb((uintptr_t)t, (uintptr_t)t + PMD_SZ,
			   "AnonHugePages") != (long)(PMD_SZ / KiB))
		SKIP(return, "no THP");
	ASSERT_EQ(0, query(self, t, PMD_SZ, true));
	ASSERT_EQ((uint64_t)(PMD_SZ / PAGE_SZ), self->q.nr_exclusive);
	for (i = 0; i < PMD_SZ / PAGE_SZ && i < sizeof(self->vec) - 1; i++) {
		ASSERT_EQ(COWDUP_PAGE_EXCLUSIVE | COWDUP_PAGE_HUGE,
			  self->vec[i]) TH_LOG("page %zu", i);
	}
	munmap(t, PMD_SZ);
}

TEST_F(query, argument_errors)
{
	char *p, *ro;

	p = anon_map(LEN);
	ASSERT_NE(MAP_FAILED, p);
	pattern_fill(p, LEN, 1);
	ASSERT_EQ(0, maps_snapshot(&self->maps));
	ASSERT_EQ(-EINVAL, query(self, p + 1, PAGE_SZ, true));
	ASSERT_EQ(-EINVAL, query(self, p + 2048, PAGE_SZ, true));
	ASSERT_EQ(-EINVAL, query(self, p, 0, true));
	ASSERT_EQ(-EINVAL, query(self, (void *)user_space_end(), PAGE_SZ,
				 true));
	ASSERT_EQ(-EINVAL, query(self, p, UINT64_MAX, true));
	ASSERT_EQ(-EINVAL, query(self, (void *)0xffff888000000000UL, PAGE_SZ,
				 true));
	/* flags must be 0 */
	memset(&self->q, 0, sizeof(self->q));
	self->q.size = sizeof(self->q);
	self->q.addr = (uintptr_t)p;
	self->q.len = PAGE_SZ;
	self->q.flags = 1;
	ASSERT_EQ(-EINVAL, cowdup_ioctl(self->fd, COWDUP_IOC_QUERY, &self->q));
	self->q.flags = 1ULL << 63;
	ASSERT_EQ(-EINVAL, cowdup_ioctl(self->fd, COWDUP_IOC_QUERY, &self->q));
	ASSERT_MAPS_UNCHANGED(&self->maps);
	/* an unwritable vector */
	ro = mmap(NULL, PAGE_SZ, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	self->q.flags = 0;
	self->q.vec = (uintptr_t)ro;
	ASSERT_EQ(-EFAULT, cowdup_ioctl(self->fd, COWDUP_IOC_QUERY, &self->q));
	/* a hole is not an error */
	ASSERT_EQ(0, munmap(p + PAGE_SZ, PAGE_SZ));
	ASSERT_EQ(0, query(self, p, LEN, true));
	ASSERT_EQ(COWDUP_PAGE_NONE, self->vec[1]);
	ASSERT_EQ(1ULL, self->q.nr_none);
	munmap(ro, PAGE_SZ);
	munmap(p, LEN);
}

/*
 * Counts only over a mostly empty range: empty stretches are counted
 * without being walked, so the counts must still equal the tally of the
 * vector a second query fills, and the pages written.
 */
TEST_F(query, sparse_counts_equal_vector)
{
	const size_t len = 1UL << 30, n = len / PAGE_SZ;
	const size_t at[] = { 0, 1, 511, 512, 513, 4096, 65535, 65536,
			      131071, 200000, n - 1 };
	struct cowdup_query_args counts;
	unsigned char *vec;
	uint64_t t[6] = { 0 };
	size_t i, written = 0;
	char *p, *copy;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	vec = mmap(NULL, n, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, vec);
	madvise(p, len, MADV_NOHUGEPAGE);
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		p[at[i] * PAGE_SZ] = 1;
	/* a shared stretch after a dup, then a hole between VMAs (made
	 * after the dup, so the copy is not placed in it) */
	memset(p + 100000 * PAGE_SZ, 2, 64 * PAGE_SZ);
	copy = DUP_OK(self->fd, p + 100000 * PAGE_SZ, 64 * PAGE_SZ, 0, 0);
	ASSERT_EQ(0, munmap(p + 150000 * PAGE_SZ, 1000 * PAGE_SZ));
	written = sizeof(at) / sizeof(at[0]) + 64;

	ASSERT_EQ(0, query(self, p, len, false));
	counts = self->q;
	memset(&self->q, 0, sizeof(self->q));
	self->q.size = sizeof(self->q);
	self->q.addr = (uintptr_t)p;
	self->q.len = len;
	self->q.vec = (uintptr_t)vec;
	ASSERT_EQ(0, cowdup_ioctl(self->fd, COWDUP_IOC_QUERY, &self->q));
	for (i = 0; i < n; i++)
		t[vec[i] & COWDUP_PAGE_STATE_MASK]++;
	ASSERT_EQ(t[COWDUP_PAGE_NONE], counts.nr_none);
	ASSERT_EQ(t[COWDUP_PAGE_SHARED], counts.nr_shared);
	ASSERT_EQ(t[COWDUP_PAGE_EXCLUSIVE], counts.nr_exclusive);
	ASSERT_EQ(t[COWDUP_PAGE_ZERO], counts.nr_zero);
	ASSERT_EQ(t[COWDUP_PAGE_FILE], counts.nr_file);
	ASSERT_EQ(t[COWDUP_PAGE_SWAP], counts.nr_swap);
	ASSERT_EQ(64ULL, counts.nr_shared);
	ASSERT_EQ((uint64_t)written - 64, counts.nr_exclusive);
	ASSERT_EQ((uint64_t)(n - written), counts.nr_none);
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		ASSERT_EQ(COWDUP_PAGE_EXCLUSIVE, vec[at[i]]);
	}

	munmap(copy, 64 * PAGE_SZ);
	munmap(vec, n);
	munmap(p, len);
}

TEST_HARNESS_MAIN
