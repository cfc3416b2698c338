// SPDX-License-Identifier: GPL-2.0
/*
 * dup_errors: every error of contract section 2 that applies to private
 * anonymous memory.  Each failing call must leave /proc/self/maps byte for
 * byte as it was ("nothing is mapped and the address space is unchanged
 * on every error") and the memory it named untouched.
 *
 * Refused kinds of file, shared and hugetlb memory: dup_refused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#ifndef __NR_mseal
#define __NR_mseal 462
#endif

#define NPAGES	8
#define LEN	(NPAGES * PAGE_SZ)

FIXTURE(err) {
	int fd;
	int kmsg;
	char *src;		/* NPAGES pages, pattern 1 */
	char *free;		/* a free range of 2 * LEN */
	uintptr_t end;		/* first address past user space */
	struct maps_snap maps;
};

FIXTURE_SETUP(err)
{
	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd);
	self->end = user_space_end();	/* probes once, before any snapshot */
	self->src = anon_map(LEN);
	ASSERT_NE(MAP_FAILED, self->src);
	pattern_fill(self->src, LEN, 1);
	self->free = free_range(2 * LEN, PMD_SZ);
	ASSERT_NE(NULL, self->free);
}

FIXTURE_TEARDOWN(err)
{
	close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/* dup(src, len, dst, flags) fails with err; maps and src unchanged */
#define FAILS(self, err, s, l, d, f) do { \
	void *__dst = (void *)(d); \
	ASSERT_EQ(0, maps_snapshot(&(self)->maps)); \
	ASSERT_DUP_FAILS(err, (self)->fd, (s), (l), &__dst, (f), \
			 &(self)->maps); \
	ASSERT_EQ((void *)(d), __dst); \
	ASSERT_PATTERN((self)->src, LEN, 1); \
} while (0)

TEST_F(err, unaligned_src_einval)
{
	static const size_t offs[] = { 1, 8, 512, 2048, PAGE_SZ - 1 };
	size_t i;

	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		FAILS(self, EINVAL, self->src + offs[i], PAGE_SZ, 0, 0);
		FAILS(self, EINVAL, self->src + offs[i], 2 * PAGE_SZ,
		      self->free, COWDUP_FIXED);
		FAILS(self, EINVAL, self->src + offs[i], 2 * PAGE_SZ,
		      self->free, COWDUP_FIXED_NOREPLACE);
	}
}

TEST_F(err, zero_len_einval)
{
	FAILS(self, EINVAL, self->src, 0, 0, 0);
	FAILS(self, EINVAL, self->src, 0, self->free, COWDUP_FIXED);
	FAILS(self, EINVAL, self->src, 0, self->free, COWDUP_FIXED_NOREPLACE);
}

TEST_F(err, wrapping_range_einval)
{
	uintptr_t s = (uintptr_t)self->src;

	/* src + len wraps past 2^64 */
	FAILS(self, EINVAL, self->src, UINT64_MAX - s + 1 + PAGE_SZ, 0, 0);
	/* rounded up to pages, these wrap too */
	FAILS(self, EINVAL, self->src, UINT64_MAX, 0, 0);
	FAILS(self, EINVAL, self->src, UINT64_MAX - PAGE_SZ + 2, 0, 0);
	FAILS(self, EINVAL, self->src, (size_t)-PAGE_SZ, 0, 0);
	/* a fixed dst whose range wraps */
	FAILS(self, EINVAL, self->src, 2 * PAGE_SZ, (void *)-PAGE_SZ,
	      COWDUP_FIXED);
	FAILS(self, EINVAL, self->src, 2 * PAGE_SZ, (void *)-PAGE_SZ,
	      COWDUP_FIXED_NOREPLACE);
}

TEST_F(err, beyond_user_space_einval)
{
	static const uintptr_t kaddr[] = {
		0xffff888000000000UL,	/* direct map */
		0xffffffff81000000UL,	/* kernel text */
		0xffffffffff600000UL,	/* vsyscall page */
		0x8000000000000000UL,
	};
	uintptr_t e = self->end;
	size_t i;

	TH_LOG("user space ends at 0x%lx (la57 %d)", e, la57_active());
	FAILS(self, EINVAL, e, PAGE_SZ, 0, 0);
	FAILS(self, EINVAL, e - PAGE_SZ, 2 * PAGE_SZ, 0, 0);
	FAILS(self, EINVAL, e + PMD_SZ, PAGE_SZ, 0, 0);
	/* a real mapping, with a length that runs past the end */
	FAILS(self, EINVAL, self->src, e - (uintptr_t)self->src + PAGE_SZ, 0, 0);
	for (i = 0; i < sizeof(kaddr) / sizeof(kaddr[0]); i++)
		FAILS(self, EINVAL, kaddr[i], PAGE_SZ, 0, 0);
	/* an exact dst beyond the end (a mere hint is not: dup_anon) */
	FAILS(self, EINVAL, self->src, LEN, e, COWDUP_FIXED);
	FAILS(self, EINVAL, self->src, LEN, e - PAGE_SZ, COWDUP_FIXED);
	FAILS(self, EINVAL, self->src, LEN, e - PAGE_SZ, COWDUP_FIXED_NOREPLACE);
	FAILS(self, EINVAL, self->src, LEN, kaddr[0], COWDUP_FIXED);
	FAILS(self, EINVAL, self->src, LEN, kaddr[0], COWDUP_FIXED_NOREPLACE);
}

TEST_F(err, unknown_flags_einval)
{
	static const uint64_t flags[] = {
		1ULL << 2, 1ULL << 3, 1ULL << 7, 1ULL << 31, 1ULL << 32,
		1ULL << 63, COWDUP_FIXED | (1ULL << 5),
		COWDUP_FIXED_NOREPLACE | (1ULL << 62), ~0ULL,
	};
	size_t i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		FAILS(self, EINVAL, self->src, LEN, 0, flags[i]);
		FAILS(self, EINVAL, self->src, LEN, self->free, flags[i]);
	}
}

TEST_F(err, both_fixed_flags_einval)
{
	FAILS(self, EINVAL, self->src, LEN, self->free,
	      COWDUP_FIXED | COWDUP_FIXED_NOREPLACE);
	FAILS(self, EINVAL, self->src, LEN, 0,
	      COWDUP_FIXED | COWDUP_FIXED_NOREPLACE);
}

/* Checked first: overlap is EINVAL even where NOREPLACE would be EEXIST */
TEST_F(err, fixed_dst_overlapping_src_einval)
{
	char *s = self->src;
	const intptr_t deltas[] = {
		0, PAGE_SZ, -(intptr_t)PAGE_SZ, LEN - PAGE_SZ,
		-(intptr_t)(LEN - PAGE_SZ), 3 * PAGE_SZ,
	};
	size_t i;

	for (i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++) {
		FAILS(self, EINVAL, s, LEN, s + deltas[i], COWDUP_FIXED);
		FAILS(self, EINVAL, s, LEN, s + deltas[i],
		      COWDUP_FIXED_NOREPLACE);
	}
	/* part of the source onto another part of it */
	FAILS(self, EINVAL, s, 4 * PAGE_SZ, s + 2 * PAGE_SZ, COWDUP_FIXED);
	FAILS(self, EINVAL, s + 2 * PAGE_SZ, 4 * PAGE_SZ, s, COWDUP_FIXED);
}

TEST_F(err, fixed_dst_unaligned_einval)
{
	static const size_t offs[] = { 1, 8, 2048, PAGE_SZ - 1 };
	size_t i;

	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		FAILS(self, EINVAL, self->src, LEN, self->free + offs[i],
		      COWDUP_FIXED);
		FAILS(self, EINVAL, self->src, LEN, self->free + offs[i],
		      COWDUP_FIXED_NOREPLACE);
	}
}

/* Special mappings cannot be duplicated */
TEST_F(err, vdso_vvar_einval)
{
	uintptr_t s, e, vs, ve;
	bool have_vvar;

	ASSERT_EQ(0, maps_find_name("[vdso]", &s, &e));
	FAILS(self, EINVAL, s, e - s, 0, 0);
	FAILS(self, EINVAL, s, PAGE_SZ, self->free, COWDUP_FIXED);
	have_vvar = maps_find_name("[vvar]", &vs, &ve) == 0;
	if (have_vvar) {
		FAILS(self, EINVAL, vs, ve - vs, 0, 0);
		FAILS(self, EINVAL, vs, PAGE_SZ, 0, 0);
		/* [vvar] and [vdso] are adjacent: one range over both */
		if (ve == s)
			FAILS(self, EINVAL, vs, e - vs, 0, 0);
	} else {
		TH_LOG("no [vvar] mapping here");
	}
}

TEST_F(err, dontfork_einval)
{
	ASSERT_EQ(0, madvise(self->src + 3 * PAGE_SZ, 2 * PAGE_SZ,
			     MADV_DONTFORK));
	ASSERT_TRUE(smaps_has_flag((uintptr_t)self->src + 3 * PAGE_SZ, "dc"));
	/* the whole range, the DONTFORK part alone, and ranges touching it */
	FAILS(self, EINVAL, self->src, LEN, 0, 0);
	FAILS(self, EINVAL, self->src + 3 * PAGE_SZ, 2 * PAGE_SZ, 0, 0);
	FAILS(self, EINVAL, self->src + 4 * PAGE_SZ, PAGE_SZ, 0, 0);
	FAILS(self, EINVAL, self->src, 4 * PAGE_SZ, 0, 0);
	FAILS(self, EINVAL, self->src + 4 * PAGE_SZ, 4 * PAGE_SZ, self->free,
	      COWDUP_FIXED);
}

static int uring_setup(unsigned int entries, struct io_uring_params *p)
{
	return syscall(__NR_io_uring_setup, entries, p);
}

/* VM_PFNMAP / VM_MIXEDMAP / VM_IO memory cannot be duplicated */
TEST_F(err, pfnmap_mixedmap_einval)
{
	struct io_uring_params p;
	char *ring = MAP_FAILED, *mem = MAP_FAILED, *anon;
	size_t rlen = 0;
	int ufd, mfd;
	bool tested = false;

	memset(&p, 0, sizeof(p));
	ufd = uring_setup(4, &p);
	if (ufd >= 0) {
		rlen = (p.sq_off.array + p.sq_entries * sizeof(__u32) +
			PAGE_SZ - 1) & ~(PAGE_SZ - 1);
		/* io_uring refuses a fixed address: the ring goes anywhere */
		ring = mmap(NULL, rlen, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_POPULATE, ufd, IORING_OFF_SQ_RING);
		ASSERT_NE(MAP_FAILED, ring) TH_LOG("mmap ring: %s",
						   strerror(errno));
		/* and an anonymous page right before it: one range, two kinds */
		anon = mmap(ring - PAGE_SZ, PAGE_SZ, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			    -1, 0);
		ASSERT_TRUE(smaps_has_flag((uintptr_t)ring, "mm") ||
			    smaps_has_flag((uintptr_t)ring, "pf"));
		FAILS(self, EINVAL, ring, rlen, 0, 0);
		FAILS(self, EINVAL, ring, PAGE_SZ, 0, 0);
		if (anon == ring - PAGE_SZ) {
			pattern_fill(anon, PAGE_SZ, 3);
			FAILS(self, EINVAL, anon, PAGE_SZ + rlen, 0, 0);
			FAILS(self, EINVAL, anon, 2 * PAGE_SZ, self->free,
			      COWDUP_FIXED);
			ASSERT_PATTERN(anon, PAGE_SZ, 3);
		} else {
			TH_LOG("no room before the ring: mixed range not tried");
		}
		tested = true;
	} else {
		TH_LOG("io_uring_setup: %s", strerror(errno));
	}

	/* /dev/mem: VM_IO | VM_PFNMAP (the BIOS area below 1 MiB) */
	mfd = open("/dev/mem", O_RDONLY);
	if (mfd >= 0)
		mem = mmap(NULL, PAGE_SZ, PROT_READ, MAP_SHARED, mfd, 0xf0000);
	if (mem != MAP_FAILED) {
		ASSERT_TRUE(smaps_has_flag((uintptr_t)mem, "pf"));
		FAILS(self, EINVAL, mem, PAGE_SZ, 0, 0);
		munmap(mem, PAGE_SZ);
		mem = mmap(NULL, PAGE_SZ, PROT_READ, MAP_PRIVATE, mfd, 0xf0000);
		if (mem != MAP_FAILED) {
			FAILS(self, EINVAL, mem, PAGE_SZ, 0, 0);
			munmap(mem, PAGE_SZ);
		}
		tested = true;
	} else {
		TH_LOG("no /dev/mem mapping: %s", strerror(errno));
	}
	if (mfd >= 0)
		close(mfd);
	if (ufd >= 0)
		close(ufd);
	if (!tested)
		SKIP(return, "neither io_uring nor /dev/mem available");
}

/* A hole anywhere in the source range */
TEST_F(err, hole_in_source_efault)
{
	char *target;
	void *d = NULL;

	ASSERT_EQ(0, munmap(self->src + 6 * PAGE_SZ, PAGE_SZ));
	/* middle, trailing and leading holes, and nothing mapped at all */
	ASSERT_EQ(0, maps_snapshot(&self->maps));
	ASSERT_DUP_FAILS(EFAULT, self->fd, self->src, LEN, &d, 0, &self->maps);
	ASSERT_DUP_FAILS(EFAULT, self->fd, self->src + 5 * PAGE_SZ,
			 2 * PAGE_SZ, &d, 0, &self->maps);
	ASSERT_DUP_FAILS(EFAULT, self->fd, self->src + 6 * PAGE_SZ,
			 2 * PAGE_SZ, &d, 0, &self->maps);
	ASSERT_DUP_FAILS(EFAULT, self->fd, self->src + 6 * PAGE_SZ,
			 PAGE_SZ, &d, 0, &self->maps);
	ASSERT_DUP_FAILS(EFAULT, self->fd, self->free, LEN, &d, 0,
			 &self->maps);
	ASSERT_DUP_FAILS(EFAULT, self->fd, (void *)PAGE_SZ, PAGE_SZ, &d, 0,
			 &self->maps);
	ASSERT_EQ(NULL, d);

	/* FIXED is atomic: the mapping at dst survives a failed call */
	target = mmap(self->free, LEN, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ASSERT_EQ(self->free, target);
	pattern_fill(target, LEN, 9);
	ASSERT_EQ(0, maps_snapshot(&self->maps));
	d = target;
	ASSERT_DUP_FAILS(EFAULT, self->fd, self->src, LEN, &d, COWDUP_FIXED,
			 &self->maps);
	ASSERT_PATTERN(target, LEN, 9);
	ASSERT_PATTERN_AT(self->src, 0, 6, 1);
}

/* DUP's output (dst) cannot be written: EFAULT, and nothing mapped */
TEST_F(err, readonly_args_efault)
{
	struct cowdup_dup_args *a;

	a = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, a);
	a->size = sizeof(*a);
	a->src = (uintptr_t)self->src;
	a->len = LEN;
	a->dst = 0;
	a->flags = 0;
	ASSERT_EQ(0, mprotect(a, PAGE_SZ, PROT_READ));
	ASSERT_EQ(0, maps_snapshot(&self->maps));
	ASSERT_EQ(-EFAULT, cowdup_ioctl(self->fd, COWDUP_IOC_DUP, a));
	ASSERT_MAPS_UNCHANGED(&self->maps);
	ASSERT_EQ(0ULL, a->dst);
	munmap(a, PAGE_SZ);
}

TEST_F(err, noreplace_over_mapping_eexist)
{
	char *t;

	t = mmap(self->free + PAGE_SZ, 2 * PAGE_SZ, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ASSERT_EQ(self->free + PAGE_SZ, t);
	pattern_fill(t, 2 * PAGE_SZ, 9);
	/* over it exactly, covering it, starting in it, ending in it */
	FAILS(self, EEXIST, self->src, 2 * PAGE_SZ, t, COWDUP_FIXED_NOREPLACE);
	FAILS(self, EEXIST, self->src, LEN, self->free, COWDUP_FIXED_NOREPLACE);
	FAILS(self, EEXIST, self->src, LEN, t + PAGE_SZ,
	      COWDUP_FIXED_NOREPLACE);
	FAILS(self, EEXIST, self->src, 2 * PAGE_SZ, self->free,
	      COWDUP_FIXED_NOREPLACE);
	/* over a PROT_NONE mapping too */
	ASSERT_EQ(0, mprotect(t, 2 * PAGE_SZ, PROT_NONE));
	FAILS(self, EEXIST, self->src, PAGE_SZ, t + PAGE_SZ,
	      COWDUP_FIXED_NOREPLACE);
	ASSERT_EQ(0, mprotect(t, 2 * PAGE_SZ, PROT_READ));
	ASSERT_PATTERN(t, 2 * PAGE_SZ, 9);
}

/* Replacing sealed memory is EPERM */
TEST_F(err, fixed_over_sealed_eperm)
{
	char *t;

	t = mmap(self->free, 2 * PAGE_SZ, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ASSERT_EQ(self->free, t);
	pattern_fill(t, 2 * PAGE_SZ, 9);
	if (syscall(__NR_mseal, t, 2 * PAGE_SZ, 0) != 0)
		SKIP(return, "mseal: %s", strerror(errno));
	FAILS(self, EPERM, self->src, 2 * PAGE_SZ, t, COWDUP_FIXED);
	FAILS(self, EPERM, self->src, PAGE_SZ, t + PAGE_SZ, COWDUP_FIXED);
	/* partly over it */
	FAILS(self, EPERM, self->src, 2 * PAGE_SZ, t + PAGE_SZ, COWDUP_FIXED);
	ASSERT_PATTERN(t, 2 * PAGE_SZ, 9);
}

/* "No room": a copy larger than the free address space */
TEST_F_TIMEOUT(err, no_room_enomem, 120)
{
	const size_t big = 80UL << 40;	/* 80 TiB of the 128 TiB */
	char *huge;

	if (la57_active())
		SKIP(return, "5-level paging: the address space has room");
	huge = mmap(NULL, big, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (huge == MAP_FAILED)
		SKIP(return, "cannot reserve 80 TiB: %s", strerror(errno));
	FAILS(self, ENOMEM, huge, big, 0, 0);
	munmap(huge, big);
}

/* ---- limits: RLIMIT_AS, vm.max_map_count, overcommit --------------- */

FIXTURE(limits) {
	int fd;
	int kmsg;
	long max_map_count;
	long oc_memory, oc_ratio, oc_kbytes;
	bool restore_mmc, restore_oc;
	struct maps_snap maps;
};

FIXTURE_SETUP(limits)
{
	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, read_long("/proc/sys/vm/max_map_count",
			       &self->max_map_count));
	ASSERT_EQ(0, read_long("/proc/sys/vm/overcommit_memory",
			       &self->oc_memory));
	ASSERT_EQ(0, read_long("/proc/sys/vm/overcommit_ratio",
			       &self->oc_ratio));
	ASSERT_EQ(0, read_long("/proc/sys/vm/overcommit_kbytes",
			       &self->oc_kbytes));
	(void)user_space_end();
}

/* In the parent: runs even when the test process dies */
FIXTURE_TEARDOWN_PARENT(limits)
{
	if (self->restore_mmc) {
		EXPECT_EQ(0, write_long("/proc/sys/vm/max_map_count",
					self->max_map_count));
	}
	if (self->restore_oc) {
		EXPECT_EQ(0, write_long("/proc/sys/vm/overcommit_memory",
					self->oc_memory));
		/* writing one of ratio/kbytes clears the other */
		if (self->oc_kbytes) {
			EXPECT_EQ(0, write_long("/proc/sys/vm/overcommit_kbytes",
						self->oc_kbytes));
		} else {
			EXPECT_EQ(0, write_long("/proc/sys/vm/overcommit_ratio",
						self->oc_ratio));
		}
	}
	/* self->fd and self->kmsg belong to the test process: nothing here */
}

TEST_F(limits, rlimit_as_enomem)
{
	const size_t len = 16 * MiB;
	struct rlimit rl;
	long vmsize;
	char *src, *small;
	void *d = NULL;

	src = anon_map(len);
	ASSERT_NE(MAP_FAILED, src);
	pattern_fill(src, 64 * PAGE_SZ, 1);
	vmsize = status_kb("VmSize");
	ASSERT_LT(0, vmsize);
	/* room for half of the copy */
	rl.rlim_cur = rl.rlim_max = vmsize * KiB + len / 2;
	ASSERT_EQ(0, setrlimit(RLIMIT_AS, &rl));
	ASSERT_EQ(0, maps_snapshot(&self->maps));
	ASSERT_DUP_FAILS(ENOMEM, self->fd, src, len, &d, 0, &self->maps);
	ASSERT_DUP_FAILS(ENOMEM, self->fd, src, len, &d, 0, &self->maps);
	/* the same limit lets a small copy through */
	small = DUP_OK(self->fd, src, 64 * PAGE_SZ, 0, 0);
	ASSERT_PATTERN(small, 64 * PAGE_SZ, 1);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/* mm->map_count as the kernel counts it: maps lines minus the gate VMA */
static long map_count(void)
{
	uintptr_t s, e;
	long n = maps_count();

	if (maps_find_name("[vsyscall]", &s, &e) == 0)
		n--;
	return n;
}

TEST_F(limits, max_map_count_enomem)
{
	const size_t len = 6 * PAGE_SZ;
	char *src, *one;
	void *d = NULL;
	long count;

	/* a source of three VMAs, and a one-VMA source */
	src = anon_map(len);
	ASSERT_NE(MAP_FAILED, src);
	pattern_fill(src, len, 1);
	ASSERT_EQ(0, mprotect(src + 2 * PAGE_SZ, 2 * PAGE_SZ, PROT_READ));
	one = anon_map(PAGE_SZ);
	ASSERT_NE(MAP_FAILED, one);
	pattern_fill(one, PAGE_SZ, 2);

	count = map_count();
	self->restore_mmc = true;
	/* room for one more VMA, not three */
	ASSERT_EQ(0, write_long("/proc/sys/vm/max_map_count", count + 1));
	ASSERT_EQ(0, maps_snapshot(&self->maps));
	ASSERT_DUP_FAILS(ENOMEM, self->fd, src, len, &d, 0, &self->maps);
	d = DUP_OK(self->fd, one, PAGE_SZ, 0, 0);
	ASSERT_PATTERN(d, PAGE_SZ, 2);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

TEST_F_TIMEOUT(limits, overcommit_never_enomem, 120)
{
	const size_t len = 512 * MiB;
	long committed, swap, limit;
	char *src, *small;
	void *d = NULL;

	/* accounted (private writable) before the policy changes */
	src = anon_map(len);
	ASSERT_NE(MAP_FAILED, src);
	pattern_fill(src, 64 * PAGE_SZ, 1);
	swap = meminfo_kb("SwapTotal");
	ASSERT_LE(0, swap);

	self->restore_oc = true;
	/*
	 * Switch to "never" with room to spare first: only then is
	 * Committed_AS exact.  Under the other policies each CPU may hold up
	 * to a quarter of its share of RAM uncounted, so a limit derived
	 * from an earlier reading could lie below what is really committed
	 * and starve every process (the test runner too).
	 */
	ASSERT_EQ(0, write_long("/proc/sys/vm/overcommit_kbytes", 1L << 40));
	ASSERT_EQ(0, write_long("/proc/sys/vm/overcommit_memory", 2));
	committed = meminfo_kb("Committed_AS");
	ASSERT_LT(0, committed);
	ASSERT_LT(swap, committed + 65536);
	/* CommitLimit = overcommit_kbytes + swap = committed + 64 MiB */
	ASSERT_EQ(0, write_long("/proc/sys/vm/overcommit_kbytes",
				committed + 65536 - swap));
	limit = meminfo_kb("CommitLimit");
	committed = meminfo_kb("Committed_AS");
	TH_LOG("CommitLimit %ld kB, Committed_AS %ld kB", limit, committed);
	ASSERT_LT(committed + 16384, limit);
	ASSERT_LT(limit, committed + (long)(len / KiB));

	ASSERT_EQ(0, maps_snapshot(&self->maps));
	ASSERT_DUP_FAILS(ENOMEM, self->fd, src, len, &d, 0, &self->maps);
	/* a copy that fits the remaining commit */
	small = DUP_OK(self->fd, src, 1 * MiB, 0, 0);
	ASSERT_PATTERN(small, 64 * PAGE_SZ, 1);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

TEST_HARNESS_MAIN
