// SPDX-License-Identifier: GPL-2.0
/*
 * dup_restore: restoring a snapshot (contract section 4, cowdup_restore():
 * a COWDUP_FIXED dup of the snapshot over the live range; section 2,
 * semantics 1, 2, 4, 6, 7 and 8 for what the result must be).
 *
 * A target that maps like a copy of the snapshot (what a snapshot taken
 * of it and restored over it is) only has its page-table entries that
 * differ replaced; any other target is unmapped and copied again.  Both
 * must end the same way, and that is what is checked, never how long it
 * took:
 *
 *   restore_scattered_writes   every 97th live page and a few snapshot
 *                              pages written, three rounds: contents, PFNs
 *                              shared, AnonPages, independence both ways
 *   restore_holes_and_zero_pages  never touched, zero page and
 *                              MADV_DONTNEED holes on either side: the
 *                              same pages present, zeros where the
 *                              snapshot has holes
 *   restore_swapped_pages      MADV_PAGEOUT on both sides before and after
 *                              writes: the same swap entries, not read in;
 *                              then the same pages once read
 *   restore_incompatible_target_falls_back  part of the target read-only,
 *                              target mlocked (and snapshot mlocked), an
 *                              unrelated target, a target at another page
 *                              offset, named targets and snapshots
 *                              (CONFIG_ANON_VMA_NAME kernels only)
 *   restore_partial_ranges     a sub-range, a snapshot spanning two VMAs,
 *                              both sides split alike: /proc/self/maps
 *                              outside the range byte-identical
 *   restore_thp                PMD-mapped THPs shared by the snapshot:
 *                              never split by a restore of the whole
 *                              range (AnonHugePages); the copy shares
 *                              them by PMD as a new copy would
 *   restore_many_times_no_leak 200 write/restore cycles: AnonPages,
 *                              Committed_AS and the VMA count unchanged
 *   soft_dirty_marks_what_changed  a new copy is all soft-dirty; a
 *                              restore dirties the pages it changed only
 *
 * Regions are MADV_NOHUGEPAGE except in restore_thp, so pagemap PFNs can
 * be compared page by page (root only: self->pfns).
 *
 * Tolerance: AnonPages and Committed_AS are read exact (meminfo_kb folds
 * the per-cpu counts); every helper that touches memory of its own (maps and smaps
 * buffers, our stack) is used once before a baseline is taken, so what
 * moves them otherwise in a quiet guest stays far below SLACK_KB.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#ifndef PR_SET_VMA
#define PR_SET_VMA		0x53564d41
#define PR_SET_VMA_ANON_NAME	0
#endif

#define SLACK_KB	256L
#define PAGE_KB		((long)(PAGE_SZ / KiB))
#define PG(i)		((size_t)(i) * PAGE_SZ)

FIXTURE(restore) {
	int fd;
	int kmsg;
	bool pfns;
};

/* Everything a baseline must not see allocated for the first time */
static void warm_up(void)
{
	char c = 0;

	meminfo_kb("AnonPages");
	meminfo_kb("Committed_AS");
	maps_snapshot(&maps_scratch);
	maps_count();
	smaps_range_kb(0, 1, "Rss");
	pagemap_entry(&c);
	zero_page_pfn();
}

FIXTURE_SETUP(restore)
{
	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", COWDUP_DEVICE_PATH,
				      strerror(errno));
	self->pfns = pagemap_has_pfns();
	if (!self->pfns)
		TH_LOG("pagemap shows no PFNs: sharing checks skipped");
	warm_up();
}

FIXTURE_TEARDOWN(restore)
{
	close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/* got within SLACK_KB of want (kB) */
#define ASSERT_KB_NEAR(what, got, want) do { \
	long __g = (got), __w = (want); \
	if (labs_(__g - __w) >= SLACK_KB) \
		TH_LOG("%s: %ld kB, expected %ld kB (+-%ld)", (what), __g, \
		       __w, SLACK_KB); \
	ASSERT_GT(SLACK_KB, labs_(__g - __w)); \
} while (0)

/*
 * Page i of [p, p + n pages) holds pattern page i of seed exp[i] (0: all
 * zero): -1, else the byte offset of the first difference in the first
 * page that differs, whose index goes to *page.
 */
static long check_seeds(const char *p, const uint8_t *exp, size_t n,
			size_t *page)
{
	size_t i;
	long off;

	for (i = 0; i < n; i++) {
		off = pattern_check_page(p + PG(i), i, exp[i]);
		if (off >= 0) {
			*page = i;
			return off;
		}
	}
	return -1;
}

#define ASSERT_SEEDS(p, exp, n) do { \
	size_t __pg = 0; \
	long __off = check_seeds((p), (exp), (n), &__pg); \
	if (__off >= 0) \
		TH_LOG("%s page %zu differs from pattern %u at byte %ld: " \
		       "got 0x%02x", #p, __pg, (unsigned int)(exp)[__pg], \
		       __off, ((const unsigned char *)(p))[PG(__pg) + __off]); \
	ASSERT_EQ(-1, __off); \
} while (0)

/* Pages first.. first + npages of p (a pattern region) with seed */
static void fill_seed(char *p, uint8_t *exp, size_t first, size_t npages,
		      uint8_t seed)
{
	pattern_fill_at(p + PG(first), first, npages, seed);
	memset(exp + first, seed, npages);
}

static void read_pages(const char *p, size_t first, size_t npages)
{
	size_t i;

	for (i = first; i < first + npages; i++)
		(void)*(const volatile char *)(p + PG(i));
}

/* The restore itself: live must read what snap reads */
static void restore(struct __test_metadata *_metadata, int fd, void *live,
		    void *snap, size_t len)
{
	void *back = DUP_OK(fd, snap, len, live, COWDUP_FIXED);

	ASSERT_EQ(live, back);
}

/* [p, p + len) lies inside one VMA with these permissions */
static void one_vma(struct __test_metadata *_metadata, const void *p,
		    size_t len, const char *perms)
{
	char got[5], name[256];
	uintptr_t s, e;

	ASSERT_EQ(0, maps_find((uintptr_t)p, &s, &e, got, name, sizeof(name)));
	ASSERT_LE(s, (uintptr_t)p);
	ASSERT_LE((uintptr_t)p + len, e)
		TH_LOG("VMA %lx-%lx does not cover %p+0x%zx",
		       (unsigned long)s, (unsigned long)e, p, len);
	ASSERT_STREQ(perms, got);
}

/* The name maps shows for the VMA at p ("" for none) */
static void vma_name(struct __test_metadata *_metadata, const void *p,
		     char *name, size_t namesz)
{
	ASSERT_EQ(0, maps_find((uintptr_t)p, NULL, NULL, NULL, name, namesz));
}

/* ---- 1. scattered writes on both sides ------------------------------ */

#define SW_PAGES	2048
#define SW_STRIDE	97

TEST_F_TIMEOUT(restore, restore_scattered_writes, 300)
{
	const size_t n = SW_PAGES, len = PG(n);
	/* snapshot pages written each round (+ round), none a multiple of 97 */
	static const size_t snap_pages[] = { 5, 500, 1001, 1500, 2045 };
	const size_t ns = ARRAY_SIZE(snap_pages);
	const size_t nl = (n + SW_STRIDE - 1) / SW_STRIDE;
	static uint8_t exp[SW_PAGES], old[SW_PAGES];
	long base, a0;
	char *live, *snap;
	size_t i, k, j, q;
	int round;

	live = anon_map(len);
	ASSERT_NE(MAP_FAILED, live);
	fill_seed(live, exp, 0, n, 1);
	snap = DUP_OK(self->fd, live, len, 0, 0);
	ASSERT_SEEDS(snap, exp, n);
	ASSERT_SHARED(self, live, snap, n);
	base = meminfo_kb("AnonPages");

	for (round = 0; round < 3; round++) {
		a0 = meminfo_kb("AnonPages");
		memcpy(old, exp, n);
		for (i = 0; i < n; i += SW_STRIDE)
			pattern_fill_at(live + PG(i), i, 1, 10 + round);
		for (k = 0; k < ns; k++)
			fill_seed(snap, exp, snap_pages[k] + round, 1,
				  20 + round);
		/* each side sees only its own writes */
		for (i = 0; i < n; i++)
			ASSERT_PAGE_PATTERN(live + PG(i), i, i % SW_STRIDE ?
					    old[i] : 10 + round);
		ASSERT_SEEDS(snap, exp, n);
		ASSERT_KB_NEAR("AnonPages after the writes",
			       meminfo_kb("AnonPages") - a0,
			       (long)(nl + ns) * PAGE_KB);

		restore(_metadata, self->fd, live, snap, len);
		ASSERT_SEEDS(live, exp, n);
		ASSERT_EQ(0, memcmp(live, snap, len));
		ASSERT_SEEDS(snap, exp, n);
		ASSERT_SHARED(self, live, snap, n);
		one_vma(_metadata, live, len, "rw-p");
		/*
		 * The live side's copies are gone, and so are the pages the
		 * snapshot wrote over (the live side was their last mapper):
		 * back to where the round began.
		 */
		ASSERT_KB_NEAR("AnonPages after the restore",
			       meminfo_kb("AnonPages") - a0, 0L);

		/* independent both ways afterwards */
		j = 100 + round;
		q = 200 + round;
		pattern_fill_at(live + PG(j), j, 1, 30 + round);
		ASSERT_SEEDS(snap, exp, n);
		pattern_fill_at(snap + PG(q), q, 1, 40 + round);
		ASSERT_PAGE_PATTERN(live + PG(q), q, exp[q]);
		ASSERT_PAGE_PATTERN(live + PG(j), j, 30 + round);
		exp[q] = 40 + round;
		ASSERT_SEEDS(snap, exp, n);

		/* and back: one page of each side replaced */
		restore(_metadata, self->fd, live, snap, len);
		ASSERT_SEEDS(live, exp, n);
		ASSERT_SHARED(self, live, snap, n);
		ASSERT_KB_NEAR("AnonPages after the round",
			       meminfo_kb("AnonPages") - base, 0L);
	}
	ASSERT_EQ(0, munmap(live, len));
	ASSERT_SEEDS(snap, exp, n);
	ASSERT_EQ(0, munmap(snap, len));
}

/* ---- 2. holes and zero pages ---------------------------------------- */

#define HZ_PAGES	1024

static void dontneed(struct __test_metadata *_metadata, char *p,
		     uint8_t *exp, bool *present, size_t first, size_t npages)
{
	ASSERT_EQ(0, madvise(p + PG(first), PG(npages), MADV_DONTNEED));
	if (exp) {
		memset(exp + first, 0, npages);
		memset(present + first, 0, npages);
	}
}

/*
 * In the first PMD of a PMD-aligned range, pages 0-127 and 384-511
 * written, 128-255 read only (zero page), 256-383 never touched; the
 * second PMD (512-1023) never touched, so no page table maps it.  After
 * the snapshot both sides punch holes, write where the zero page or
 * nothing was mapped, read where nothing was.
 */
TEST_F_TIMEOUT(restore, restore_holes_and_zero_pages, 120)
{
	const size_t n = HZ_PAGES, len = PG(n);
	static uint8_t exp[HZ_PAGES];
	static bool present[HZ_PAGES];
	uint64_t zpfn = self->pfns ? zero_page_pfn() : 0;
	size_t i, npresent = 0;
	char *live, *snap;

	live = mmap_aligned(len, PMD_SZ, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS);
	ASSERT_NE(MAP_FAILED, live);
	ASSERT_EQ(0, madvise(live, len, MADV_NOHUGEPAGE));
	memset(exp, 0, sizeof(exp));
	memset(present, 0, sizeof(present));
	fill_seed(live, exp, 0, 128, 1);
	fill_seed(live, exp, 384, 128, 1);
	read_pages(live, 128, 128);
	for (i = 0; i < 512; i++)
		present[i] = i < 256 || i >= 384;
	if (zpfn)
		ASSERT_EQ(zpfn, pagemap_pfn(pagemap_entry(live + PG(200))));
	snap = DUP_OK(self->fd, live, len, 0, 0);
	ASSERT_EQ(0UL, ((uintptr_t)snap - (uintptr_t)live) % PMD_SZ);

	/* the live side moves on */
	dontneed(_metadata, live, NULL, NULL, 10, 10);
	dontneed(_metadata, live, NULL, NULL, 140, 10);
	pattern_fill_at(live + PG(150), 150, 5, 2);
	read_pages(live, 260, 10);
	pattern_fill_at(live + PG(270), 270, 5, 2);
	dontneed(_metadata, live, NULL, NULL, 400, 10);
	pattern_fill_at(live + PG(600), 600, 5, 2);
	read_pages(live, 700, 5);

	/* and the snapshot too */
	dontneed(_metadata, snap, exp, present, 30, 10);
	dontneed(_metadata, snap, exp, present, 160, 10);
	fill_seed(snap, exp, 170, 5, 3);
	dontneed(_metadata, snap, exp, present, 150, 2);
	read_pages(snap, 280, 10);
	memset(present + 280, 1, 10);
	fill_seed(snap, exp, 290, 5, 3);
	memset(present + 290, 1, 5);
	fill_seed(snap, exp, 265, 3, 3);
	memset(present + 265, 1, 3);
	read_pages(snap, 272, 2);
	memset(present + 272, 1, 2);
	dontneed(_metadata, snap, exp, present, 405, 10);
	fill_seed(snap, exp, 800, 5, 3);
	memset(present + 800, 1, 5);
	read_pages(snap, 900, 3);
	memset(present + 900, 1, 3);
	for (i = 0; i < n; i++) {
		bool p = pagemap_entry(snap + PG(i)) & PM_PRESENT;

		ASSERT_EQ(present[i], p) TH_LOG("snapshot page %zu", i);
	}

	restore(_metadata, self->fd, live, snap, len);
	/* before anything is read: mapped where the snapshot maps */
	for (i = 0; i < n; i++) {
		bool p = pagemap_entry(live + PG(i)) & PM_PRESENT;

		ASSERT_EQ(present[i], p) TH_LOG("live page %zu", i);
		npresent += p;
	}
	if (self->pfns) {
		ASSERT_EQ(npresent, pages_same_pfn(live, snap, n));
		/* the snapshot's zero pages are the live side's too */
		for (i = 128; i < n; i++) {
			uint64_t pfn;

			if (!present[i] || exp[i])
				continue;
			pfn = pagemap_pfn(pagemap_entry(live + PG(i)));
			ASSERT_EQ(zpfn, pfn) TH_LOG("live page %zu", i);
		}
	}
	ASSERT_SEEDS(live, exp, n);
	ASSERT_SEEDS(snap, exp, n);

	/* a hole filled on one side stays a hole on the other */
	pattern_fill_at(live + PG(30), 30, 1, 4);
	ASSERT_PAGE_PATTERN(snap + PG(30), 30, 0);
	pattern_fill_at(snap + PG(35), 35, 1, 5);
	ASSERT_PAGE_PATTERN(live + PG(35), 35, 0);
	pattern_fill_at(snap + PG(300), 300, 1, 5);
	ASSERT_PAGE_PATTERN(live + PG(300), 300, 0);
	pattern_fill_at(live + PG(1000), 1000, 1, 4);
	ASSERT_PAGE_PATTERN(snap + PG(1000), 1000, 0);
	ASSERT_EQ(0, munmap(live, len));
	ASSERT_EQ(0, munmap(snap, len));
}

/* ---- 3. swapped-out pages ------------------------------------------- */

#define SWP_PAGES	1024

static bool swap_active(void)
{
	static char buf[4096];
	char *nl;

	if (read_file("/proc/swaps", buf, sizeof(buf)) <= 0)
		return false;
	/* a header line, then one line per active swap area */
	nl = strchr(buf, '\n');
	return nl && nl[1];
}

#define ASSERT_PAGED_OUT(p, first, npages) \
	ASSERT_EQ((size_t)(npages), page_out((p) + PG(first), (npages)))

/* What pagemap tells of an entry: present, swapped, PFN / swap slot */
#define PM_KIND	(PM_PRESENT | PM_SWAP | PM_PFN_MASK)

TEST_F_TIMEOUT(restore, restore_swapped_pages, 300)
{
	const size_t n = SWP_PAGES, len = PG(n);
	static uint8_t exp[SWP_PAGES];
	uint64_t mask = self->pfns ? PM_KIND : PM_PRESENT | PM_SWAP;
	char *live, *snap;
	size_t i;

	if (!swap_active())
		SKIP(return, "no active swap in /proc/swaps");
	live = anon_map(len);
	ASSERT_NE(MAP_FAILED, live);
	fill_seed(live, exp, 0, n, 1);
	/* pages 0-255 are out before the snapshot: both sides hold slots */
	ASSERT_PAGED_OUT(live, 0, 256);
	snap = DUP_OK(self->fd, live, len, 0, 0);
	ASSERT_EQ((size_t)256, count_swapped(snap, 256));

	/* writes on both sides, in and out of the swapped-out part */
	pattern_fill_at(live, 0, 8, 2);
	pattern_fill_at(live + PG(300), 300, 8, 2);
	pattern_fill_at(live + PG(600), 600, 8, 2);
	read_pages(live, 48, 8);
	fill_seed(snap, exp, 16, 8, 3);
	fill_seed(snap, exp, 320, 8, 3);
	read_pages(snap, 32, 8);
	/* and out again: pages only one side maps */
	ASSERT_PAGED_OUT(live, 0, 4);
	ASSERT_PAGED_OUT(live, 300, 8);
	ASSERT_PAGED_OUT(live, 600, 4);
	ASSERT_PAGED_OUT(snap, 16, 4);
	ASSERT_PAGED_OUT(snap, 320, 8);
	ASSERT_PAGED_OUT(snap, 32, 2);

	restore(_metadata, self->fd, live, snap, len);
	/* nothing read in: each entry what the snapshot's is */
	for (i = 0; i < n; i++) {
		uint64_t l = pagemap_entry(live + PG(i)) & mask;
		uint64_t s = pagemap_entry(snap + PG(i)) & mask;

		ASSERT_EQ(s, l)
			TH_LOG("page %zu: live entry 0x%llx, snapshot 0x%llx",
			       i, (unsigned long long)l, (unsigned long long)s);
	}
	ASSERT_LT((size_t)200, count_swapped(live, n));

	ASSERT_SEEDS(live, exp, n);
	ASSERT_SEEDS(snap, exp, n);
	/* read in through either side: one page again */
	ASSERT_EQ(n, pages_present(live, n));
	ASSERT_EQ(n, pages_present(snap, n));
	ASSERT_SHARED(self, live, snap, n);

	pattern_fill_at(live + PG(10), 10, 1, 4);
	ASSERT_SEEDS(snap, exp, n);
	pattern_fill_at(snap + PG(700), 700, 1, 5);
	ASSERT_PAGE_PATTERN(live + PG(700), 700, 1);
	ASSERT_EQ(0, munmap(live, len));
	ASSERT_EQ(0, munmap(snap, len));
}

/* ---- 4. targets that do not map like a copy ------------------------- */

#define FB_PAGES	256

/*
 * A source (seed 1) and its snapshot, the snapshot then written in pages
 * 40-49 (seed 2): exp is what the snapshot reads.
 */
static char *fb_snapshot(struct __test_metadata *_metadata, int fd,
			 char **src, uint8_t *exp)
{
	const size_t len = PG(FB_PAGES);
	char *snap;

	*src = anon_map(len);
	ASSERT_NE(MAP_FAILED, *src);
	fill_seed(*src, exp, 0, FB_PAGES, 1);
	snap = DUP_OK(fd, *src, len, 0, 0);
	fill_seed(snap, exp, 40, 10, 2);
	return snap;
}

/* After a restore of snap over live: same bytes, same pages, independent */
static void fb_check(struct __test_metadata *_metadata, bool pfns,
		     char *live, char *snap, const uint8_t *exp)
{
	const size_t n = FB_PAGES;

	ASSERT_SEEDS(live, exp, n);
	ASSERT_SEEDS(snap, exp, n);
	if (pfns)
		ASSERT_EQ(n, pages_same_pfn(live, snap, n));
	pattern_fill_at(live + PG(7), 7, 1, 8);
	ASSERT_SEEDS(snap, exp, n);
	pattern_fill_at(snap + PG(9), 9, 1, 9);
	ASSERT_PAGE_PATTERN(live + PG(9), 9, exp[9]);
	pattern_fill_at(snap + PG(9), 9, 1, exp[9]);
}

TEST_F_TIMEOUT(restore, restore_incompatible_target_falls_back, 300)
{
	const size_t n = FB_PAGES, len = PG(n);
	static uint8_t exp[FB_PAGES];
	char *src, *snap, *live, name[256];
	long lck0, r;
	size_t i;

	snap = fb_snapshot(_metadata, self->fd, &src, exp);

	/* (a) the middle of the target made read-only: three VMAs */
	live = DUP_OK(self->fd, snap, len, 0, 0);
	pattern_fill_at(live, 0, n, 3);
	ASSERT_EQ(0, mprotect(live + PG(100), PG(50), PROT_READ));
	ASSERT_EQ(3, maps_count_range((uintptr_t)live, (uintptr_t)live + len));
	restore(_metadata, self->fd, live, snap, len);
	one_vma(_metadata, live, len, "rw-p");
	fb_check(_metadata, self->pfns, live, snap, exp);
	ASSERT_EQ(0, munmap(live, len));

	/* (b) an mlocked target: the restored range is not locked */
	lck0 = status_kb("VmLck");
	live = DUP_OK(self->fd, snap, len, 0, 0);
	pattern_fill_at(live + PG(30), 30, 30, 3);
	ASSERT_EQ(0, mlock(live, len));
	ASSERT_TRUE(smaps_has_flag((uintptr_t)live, "lo"));
	ASSERT_EQ(lck0 + (long)(len / KiB), status_kb("VmLck"));
	restore(_metadata, self->fd, live, snap, len);
	ASSERT_FALSE(smaps_has_flag((uintptr_t)live, "lo"));
	ASSERT_EQ(0, smaps_range_kb((uintptr_t)live, (uintptr_t)live + len,
				    "Locked"));
	ASSERT_EQ(lck0, status_kb("VmLck"));
	one_vma(_metadata, live, len, "rw-p");
	fb_check(_metadata, self->pfns, live, snap, exp);
	ASSERT_EQ(0, munmap(live, len));

	/* (b2) an mlocked snapshot: the copy over the target is not locked */
	live = DUP_OK(self->fd, snap, len, 0, 0);
	pattern_fill_at(live + PG(30), 30, 30, 3);
	ASSERT_EQ(0, mlock(snap, len));
	restore(_metadata, self->fd, live, snap, len);
	ASSERT_FALSE(smaps_has_flag((uintptr_t)live, "lo"));
	ASSERT_TRUE(smaps_has_flag((uintptr_t)snap, "lo"));
	ASSERT_EQ(0, smaps_range_kb((uintptr_t)live, (uintptr_t)live + len,
				    "Locked"));
	ASSERT_EQ(lck0 + (long)(len / KiB), status_kb("VmLck"));
	fb_check(_metadata, self->pfns, live, snap, exp);
	ASSERT_EQ(0, munlock(snap, len));
	ASSERT_EQ(lck0, status_kb("VmLck"));
	ASSERT_EQ(0, munmap(live, len));

	/* (c) an unrelated mapping, not a copy of the snapshot */
	live = anon_map(len);
	ASSERT_NE(MAP_FAILED, live);
	pattern_fill(live, len, 4);
	restore(_metadata, self->fd, live, snap, len);
	one_vma(_metadata, live, len, "rw-p");
	fb_check(_metadata, self->pfns, live, snap, exp);
	ASSERT_EQ(0, munmap(live, len));

	/*
	 * (e) a copy of the snapshot, restored one page off: the page offsets
	 * do not line up.  Page 0 stays, pages 1.. read snapshot pages 0..
	 */
	live = DUP_OK(self->fd, snap, len, 0, 0);
	restore(_metadata, self->fd, live + PAGE_SZ, snap, len - PAGE_SZ);
	ASSERT_PAGE_PATTERN(live, 0, exp[0]);
	for (i = 1; i < n; i++)
		ASSERT_EQ(0, memcmp(live + PG(i), snap + PG(i - 1), PAGE_SZ))
			TH_LOG("live page %zu", i);
	if (self->pfns)
		ASSERT_EQ(n - 1, pages_same_pfn(live + PAGE_SZ, snap, n - 1));
	ASSERT_SEEDS(snap, exp, n);
	ASSERT_EQ(0, munmap(live, len));

	/* (d) a named target: the copy has the snapshot's name, none */
	live = DUP_OK(self->fd, snap, len, 0, 0);
	pattern_fill_at(live + PG(60), 60, 10, 3);
	r = prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)live, len,
		  (unsigned long)"cowdup-live");
	if (r) {
		ASSERT_EQ(EINVAL, errno);
		TH_LOG("PR_SET_VMA_ANON_NAME: %s: named cases skipped",
		       strerror(errno));
	} else {
		vma_name(_metadata, live, name, sizeof(name));
		ASSERT_STREQ("[anon:cowdup-live]", name);
		restore(_metadata, self->fd, live, snap, len);
		vma_name(_metadata, live, name, sizeof(name));
		ASSERT_STREQ("", name);
		one_vma(_metadata, live, len, "rw-p");
		fb_check(_metadata, self->pfns, live, snap, exp);

		/* (d2) a named snapshot: the target takes its name */
		ASSERT_EQ(0, prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME,
				   (unsigned long)snap, len,
				   (unsigned long)"cowdup-snap"));
		pattern_fill_at(live + PG(60), 60, 10, 3);
		restore(_metadata, self->fd, live, snap, len);
		vma_name(_metadata, live, name, sizeof(name));
		ASSERT_STREQ("[anon:cowdup-snap]", name);
		vma_name(_metadata, snap, name, sizeof(name));
		ASSERT_STREQ("[anon:cowdup-snap]", name);
		fb_check(_metadata, self->pfns, live, snap, exp);
	}
	ASSERT_EQ(0, munmap(live, len));
	ASSERT_PATTERN(src, len, 1);
	ASSERT_EQ(0, munmap(src, len));
	ASSERT_EQ(0, munmap(snap, len));
}

/* ---- 5. partial ranges ---------------------------------------------- */

#define PR_PAGES	1024

static struct maps_snap maps_before, maps_after, cut_before, cut_after;

/*
 * out = s with [rs, re) cut out: lines inside it dropped, lines across an
 * end of it clipped to their part outside (addresses printed again, the
 * rest of each line copied as it is).
 */
static void maps_outside(const struct maps_snap *s, uintptr_t rs,
			 uintptr_t re, struct maps_snap *out)
{
	const char *p = s->buf, *end = s->buf + s->len;
	size_t o = 0, room = sizeof(out->buf) - 1;

	while (p < end && o < room) {
		const char *eol = memchr(p, '\n', end - p);
		unsigned long a, b;
		int pos = 0, rl;

		if (!eol)
			eol = end;
		if (sscanf(p, "%lx-%lx%n", &a, &b, &pos) == 2 && pos > 0) {
			rl = (int)(eol - (p + pos));
			if (a < rs && o < room)
				o += snprintf(out->buf + o, room - o,
					      "%lx-%lx%.*s\n", a,
					      b < rs ? b : (unsigned long)rs,
					      rl, p + pos);
			if (b > re && o < room)
				o += snprintf(out->buf + o, room - o,
					      "%lx-%lx%.*s\n",
					      a > re ? a : (unsigned long)re,
					      b, rl, p + pos);
		}
		p = eol + 1;
	}
	out->len = o < room ? o : room;
	out->buf[out->len] = 0;
}

/* maps_before and maps_after equal outside [p, p + len) */
static void maps_same_outside(struct __test_metadata *_metadata,
			      const void *p, size_t len)
{
	const char *d;

	maps_outside(&maps_before, (uintptr_t)p, (uintptr_t)p + len,
		     &cut_before);
	maps_outside(&maps_after, (uintptr_t)p, (uintptr_t)p + len,
		     &cut_after);
	d = maps_diff(&cut_before, &cut_after);
	if (d)
		TH_LOG("/proc/self/maps outside %p+0x%zx changed: %s", p, len,
		       d);
	ASSERT_EQ(NULL, d);
}

/* pagemap entries of [p, p + n pages) (PFN or swap slot when root) */
static void pagemap_save(const char *p, size_t n, uint64_t *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = pagemap_entry(p + PG(i)) &
			 (PM_PRESENT | PM_SWAP | PM_PFN_MASK);
}

TEST_F_TIMEOUT(restore, restore_partial_ranges, 300)
{
	const size_t n = PR_PAGES, len = PG(n);
	static uint8_t exp_live[PR_PAGES], exp_snap[PR_PAGES];
	static uint64_t pm_before[PR_PAGES], pm_after[PR_PAGES];
	char *live, *snap;
	uintptr_t s, e;
	char perms[5];
	size_t i;

	/* pages 100..299 of a 1024-page snapshot onto the same live pages */
	live = anon_map(len);
	ASSERT_NE(MAP_FAILED, live);
	fill_seed(live, exp_live, 0, n, 1);
	snap = DUP_OK(self->fd, live, len, 0, 0);
	memcpy(exp_snap, exp_live, n);
	for (i = 0; i < n; i += 10)
		fill_seed(live, exp_live, i, 1, 2);
	fill_seed(snap, exp_snap, 150, 10, 3);
	fill_seed(snap, exp_snap, 50, 1, 3);
	fill_seed(snap, exp_snap, 900, 1, 3);
	ASSERT_EQ(0, madvise(live + PG(120), PG(5), MADV_DONTNEED));
	memset(exp_live + 120, 0, 5);
	ASSERT_EQ(0, madvise(live + PG(500), PG(5), MADV_DONTNEED));
	memset(exp_live + 500, 0, 5);
	pagemap_save(live, n, pm_before);
	ASSERT_EQ(0, maps_snapshot(&maps_before));
	restore(_metadata, self->fd, live + PG(100), snap + PG(100), PG(200));
	ASSERT_EQ(0, maps_snapshot(&maps_after));
	maps_same_outside(_metadata, live + PG(100), PG(200));
	/* outside the range the live side maps exactly what it mapped */
	pagemap_save(live, n, pm_after);
	for (i = 0; i < n; i++) {
		if (i >= 100 && i < 300)
			continue;
		ASSERT_EQ(pm_before[i], pm_after[i]) TH_LOG("live page %zu", i);
	}
	memcpy(exp_live + 100, exp_snap + 100, 200);
	ASSERT_SEEDS(live, exp_live, n);
	ASSERT_SEEDS(snap, exp_snap, n);
	ASSERT_SHARED(self, live + PG(100), snap + PG(100), 200);
	one_vma(_metadata, live + PG(100), PG(200), "rw-p");
	pattern_fill_at(live + PG(150), 150, 1, 4);
	ASSERT_SEEDS(snap, exp_snap, n);
	ASSERT_EQ(0, munmap(live, len));
	ASSERT_EQ(0, munmap(snap, len));

	/*
	 * A snapshot spanning two VMAs (its second half made read-only),
	 * pages 400..699 restored across the boundary at 512.
	 */
	live = anon_map(len);
	ASSERT_NE(MAP_FAILED, live);
	fill_seed(live, exp_live, 0, n, 4);
	snap = DUP_OK(self->fd, live, len, 0, 0);
	memcpy(exp_snap, exp_live, n);
	fill_seed(snap, exp_snap, 450, 10, 5);
	fill_seed(snap, exp_snap, 600, 10, 5);
	ASSERT_EQ(0, mprotect(snap + PG(512), PG(512), PROT_READ));
	for (i = 0; i < n; i += 10)
		fill_seed(live, exp_live, i, 1, 6);
	pagemap_save(live, n, pm_before);
	ASSERT_EQ(0, maps_snapshot(&maps_before));
	restore(_metadata, self->fd, live + PG(400), snap + PG(400), PG(300));
	ASSERT_EQ(0, maps_snapshot(&maps_after));
	maps_same_outside(_metadata, live + PG(400), PG(300));
	pagemap_save(live, n, pm_after);
	for (i = 0; i < n; i++) {
		if (i >= 400 && i < 700)
			continue;
		ASSERT_EQ(pm_before[i], pm_after[i]) TH_LOG("live page %zu", i);
	}
	/* each part keeps its snapshot VMA's protection */
	ASSERT_EQ(0, maps_find((uintptr_t)live + PG(400), &s, &e, perms,
			       NULL, 0));
	ASSERT_EQ((uintptr_t)live + PG(512), e);
	ASSERT_STREQ("rw-p", perms);
	ASSERT_EQ(0, maps_find((uintptr_t)live + PG(512), &s, &e, perms,
			       NULL, 0));
	ASSERT_EQ((uintptr_t)live + PG(512), s);
	ASSERT_EQ((uintptr_t)live + PG(700), e);
	ASSERT_STREQ("r--p", perms);
	memcpy(exp_live + 400, exp_snap + 400, 300);
	ASSERT_SEEDS(live, exp_live, n);
	ASSERT_SEEDS(snap, exp_snap, n);
	ASSERT_SHARED(self, live + PG(400), snap + PG(400), 300);
	ASSERT_EQ(0, munmap(live, len));
	ASSERT_EQ(0, munmap(snap, len));

	/*
	 * Both sides split alike (second halves read-only): the whole range
	 * back, each part in its own VMA, holes where the snapshot has them.
	 */
	live = anon_map(len);
	ASSERT_NE(MAP_FAILED, live);
	fill_seed(live, exp_live, 0, n, 7);
	snap = DUP_OK(self->fd, live, len, 0, 0);
	memcpy(exp_snap, exp_live, n);
	ASSERT_EQ(0, mprotect(snap + PG(512), PG(512), PROT_READ));
	ASSERT_EQ(0, mprotect(live + PG(512), PG(512), PROT_READ));
	for (i = 0; i < 512; i += 10)
		pattern_fill_at(live + PG(i), i, 1, 8);
	ASSERT_EQ(0, madvise(live + PG(600), PG(10), MADV_DONTNEED));
	fill_seed(snap, exp_snap, 100, 10, 9);
	ASSERT_EQ(0, madvise(snap + PG(800), PG(5), MADV_DONTNEED));
	memset(exp_snap + 800, 0, 5);
	ASSERT_EQ(0, maps_snapshot(&maps_before));
	restore(_metadata, self->fd, live, snap, len);
	ASSERT_EQ(0, maps_snapshot(&maps_after));
	maps_same_outside(_metadata, live, len);
	ASSERT_EQ(0, maps_find((uintptr_t)live, &s, &e, perms, NULL, 0));
	ASSERT_EQ((uintptr_t)live + PG(512), e);
	ASSERT_STREQ("rw-p", perms);
	ASSERT_EQ(0, maps_find((uintptr_t)live + PG(512), &s, &e, perms,
			       NULL, 0));
	ASSERT_EQ((uintptr_t)live + PG(512), s);
	ASSERT_EQ((uintptr_t)live + len, e);
	ASSERT_STREQ("r--p", perms);
	for (i = 0; i < n; i++) {
		bool lp = pagemap_entry(live + PG(i)) & PM_PRESENT;
		bool sp = pagemap_entry(snap + PG(i)) & PM_PRESENT;

		ASSERT_EQ(sp, lp) TH_LOG("page %zu", i);
	}
	if (self->pfns)
		ASSERT_EQ(n - 5, pages_same_pfn(live, snap, n));
	ASSERT_SEEDS(live, exp_snap, n);
	ASSERT_SEEDS(snap, exp_snap, n);
	ASSERT_EQ(0, munmap(live, len));
	ASSERT_EQ(0, munmap(snap, len));
}

/* ---- 6. transparent huge pages -------------------------------------- */

#define THP_RLEN	(4 * PMD_SZ)
#define THP_RPAGES	(THP_RLEN / PAGE_SZ)

static long anon_huge_kb(const void *p, size_t len)
{
	return smaps_range_kb((uintptr_t)p, (uintptr_t)p + len,
			      "AnonHugePages");
}

/*
 * After a restore: live reads what snap reads, the snapshot's huge pages
 * were not split (its AnonHugePages as before, snap_kb), and where the
 * copy can share them by PMD it does, as a new copy would.  A restore of
 * part of a THP (!whole) is a copy of part of it, mapped by PTEs: as any
 * such dup (dup_thp half_covered) it may split that one PMD of the
 * snapshot, never another.
 */
static void thp_check(struct __test_metadata *_metadata, const char *step,
		      bool pfns, bool thp, bool pmd_feature, char *live,
		      char *snap, const uint8_t *exp, long snap_kb, bool whole)
{
	const size_t n = THP_RPAGES;

	TH_LOG("%s: AnonHugePages snapshot %ld -> %ld kB, live %ld kB", step,
	       snap_kb, anon_huge_kb(snap, THP_RLEN),
	       anon_huge_kb(live, THP_RLEN));
	ASSERT_SEEDS(live, exp, n);
	ASSERT_SEEDS(snap, exp, n);
	if (pfns)
		ASSERT_EQ(n, pages_same_pfn(live, snap, n));
	if (!thp)
		return;
	if (!whole) {
		ASSERT_LE(snap_kb - (long)(PMD_SZ / KiB),
			  anon_huge_kb(snap, THP_RLEN));
		return;
	}
	ASSERT_EQ(snap_kb, anon_huge_kb(snap, THP_RLEN));
	if (pmd_feature)
		ASSERT_EQ(snap_kb, anon_huge_kb(live, THP_RLEN));
}

TEST_F_TIMEOUT(restore, restore_thp, 300)
{
	const size_t n = THP_RPAGES, len = THP_RLEN;
	static uint8_t exp[THP_RPAGES];
	struct cowdup_info info;
	bool thp, pmd_feature;
	long live_kb, snap_kb;
	char *live, *snap, buf[256];

	if (read_file("/sys/kernel/mm/transparent_hugepage/enabled", buf,
		      sizeof(buf)) <= 0 || strstr(buf, "[never]"))
		SKIP(return, "THP disabled");
	ASSERT_EQ(0, cowdup_get_info(self->fd, &info));
	pmd_feature = !!(info.features & COWDUP_FEAT_THP_PMD);
	live = mmap_aligned(len, PMD_SZ, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS);
	ASSERT_NE(MAP_FAILED, live);
	ASSERT_EQ(0, madvise(live, len, MADV_HUGEPAGE));
	fill_seed(live, exp, 0, n, 1);
	live_kb = anon_huge_kb(live, len);
	thp = live_kb > 0;
	TH_LOG("live AnonHugePages %ld kB, COWDUP_FEAT_THP_PMD %s", live_kb,
	       pmd_feature ? "set" : "clear");
	if (!thp)
		TH_LOG("no THP backs the live range: AnonHugePages unchecked");
	snap = DUP_OK(self->fd, live, len, 0, 0);
	ASSERT_EQ(0UL, ((uintptr_t)snap - (uintptr_t)live) % PMD_SZ);

	/* nothing written: nothing to replace */
	snap_kb = anon_huge_kb(snap, len);
	restore(_metadata, self->fd, live, snap, len);
	thp_check(_metadata, "nothing written", self->pfns, thp, pmd_feature,
		  live, snap, exp, snap_kb, true);
	if (thp && pmd_feature)
		ASSERT_EQ(live_kb, anon_huge_kb(live, len));

	/* one byte written in the live side (its PMD split there) */
	live[PG(700) + 123] ^= 0x5a;
	snap_kb = anon_huge_kb(snap, len);
	restore(_metadata, self->fd, live, snap, len);
	thp_check(_metadata, "live written", self->pfns, thp, pmd_feature,
		  live, snap, exp, snap_kb, true);

	/* one page written in the snapshot (its PMD split there) */
	fill_seed(snap, exp, 1300, 1, 2);
	snap_kb = anon_huge_kb(snap, len);
	restore(_metadata, self->fd, live, snap, len);
	thp_check(_metadata, "snapshot written", self->pfns, thp, pmd_feature,
		  live, snap, exp, snap_kb, true);

	/* one byte in the live side, 200 pages inside a THP restored */
	live[PG(150) + 5] ^= 0xa5;
	snap_kb = anon_huge_kb(snap, len);
	restore(_metadata, self->fd, live + PG(100), snap + PG(100), PG(200));
	thp_check(_metadata, "part restored", self->pfns, thp, pmd_feature,
		  live, snap, exp, snap_kb, false);

	/* independent both ways */
	live[PG(3)] ^= 1;
	ASSERT_SEEDS(snap, exp, n);
	live[PG(3)] ^= 1;
	fill_seed(snap, exp, 1800, 1, 3);
	ASSERT_PAGE_PATTERN(live + PG(1800), 1800, 1);
	ASSERT_EQ(0, munmap(live, len));
	ASSERT_SEEDS(snap, exp, n);
	ASSERT_EQ(0, munmap(snap, len));
}

/* ---- 7. many restores ----------------------------------------------- */

#define MT_PAGES	1024
#define MT_CYCLES	200
#define MT_WRITES	(MT_PAGES / 100)

TEST_F_TIMEOUT(restore, restore_many_times_no_leak, 300)
{
	const size_t n = MT_PAGES, len = PG(n);
	long anon0, commit0, vmas0, anon1, commit1;
	char *live, *snap;
	size_t k, pg;
	int c;

	live = anon_map(len);
	ASSERT_NE(MAP_FAILED, live);
	pattern_fill(live, len, 1);
	snap = DUP_OK(self->fd, live, len, 0, 0);
	warm_up();
	vmas0 = maps_count();
	anon0 = meminfo_kb("AnonPages");
	commit0 = meminfo_kb("Committed_AS");

	for (c = 0; c < MT_CYCLES; c++) {
		for (k = 0; k < MT_WRITES; k++) {
			pg = ((size_t)c * 37 + k * 103) % n;
			pattern_fill_at(live + PG(pg), pg, 1, 2 + c);
		}
		restore(_metadata, self->fd, live, snap, len);
		for (k = 0; k < MT_WRITES; k++) {
			pg = ((size_t)c * 37 + k * 103) % n;
			ASSERT_PAGE_PATTERN(live + PG(pg), pg, 1);
		}
		if (c % 50 == 49) {
			ASSERT_PATTERN(live, len, 1);
			ASSERT_PATTERN(snap, len, 1);
			ASSERT_SHARED(self, live, snap, n);
			ASSERT_EQ(vmas0, maps_count());
		}
	}
	anon1 = meminfo_kb("AnonPages");
	commit1 = meminfo_kb("Committed_AS");
	TH_LOG("%d restores: AnonPages %+ld kB, Committed_AS %+ld kB, VMAs %ld -> %ld",
	       MT_CYCLES, anon1 - anon0, commit1 - commit0, vmas0,
	       maps_count());
	ASSERT_KB_NEAR("AnonPages", anon1, anon0);
	ASSERT_KB_NEAR("Committed_AS", commit1, commit0);
	ASSERT_EQ(vmas0, maps_count());
	ASSERT_EQ(0, munmap(live, len));
	ASSERT_PATTERN(snap, len, 1);
	ASSERT_EQ(0, munmap(snap, len));
}

/* ---- 8. soft-dirty: new contents at an address are dirty ------------ */

#define SOFT_DIRTY	(1ULL << 55)	/* pagemap bit */

static size_t count_soft_dirty(const char *p, size_t n)
{
	size_t i, d = 0;

	for (i = 0; i < n; i++)
		d += !!(pagemap_entry(p + PG(i)) & SOFT_DIRTY);
	return d;
}

/*
 * A soft-dirty tracker (CRIU) clears the bits, then dumps what became dirty.
 * A copy's pages are new contents at their address: dirty, as mremap()
 * marks what it moves.  A restore dirties exactly the pages it changed:
 * the entries it replaced, not those it kept.
 */
TEST_F(restore, soft_dirty_marks_what_changed)
{
	const size_t n = 64, len = PG(n);
	char *live, *snap, *copy;

	live = anon_map(len);
	ASSERT_NE(MAP_FAILED, live);
	madvise(live, len, MADV_NOHUGEPAGE);
	pattern_fill(live, len, 1);
	snap = DUP_OK(self->fd, live, len, 0, 0);

	ASSERT_EQ(0, write_file("/proc/self/clear_refs", "4"));
	pattern_fill_at(live + PG(5), 5, 1, 2);
	if (!(pagemap_entry(live + PG(5)) & SOFT_DIRTY)) {
		munmap(live, len);
		munmap(snap, len);
		SKIP(return, "no soft-dirty bits (CONFIG_MEM_SOFT_DIRTY off)");
	}
	pattern_fill_at(live + PG(5), 5, 1, 1);

	/* a new copy made after the clear: every page dirty */
	ASSERT_EQ(0, write_file("/proc/self/clear_refs", "4"));
	ASSERT_EQ((size_t)0, count_soft_dirty(live, n));
	copy = DUP_OK(self->fd, live, len, 0, 0);
	ASSERT_EQ(n, count_soft_dirty(copy, n));
	ASSERT_EQ((size_t)0, count_soft_dirty(live, n));
	munmap(copy, len);

	/*
	 * Three live pages changed (and page 5, written above: its bytes
	 * are the snapshot's again, but in a page of its own), the bits
	 * cleared, then a restore: those four entries are replaced.
	 */
	pattern_fill_at(live + PG(3), 3, 1, 7);
	pattern_fill_at(live + PG(40), 40, 2, 7);
	ASSERT_EQ(0, write_file("/proc/self/clear_refs", "4"));
	restore(_metadata, self->fd, live, snap, len);
	ASSERT_PATTERN(live, len, 1);
	ASSERT_EQ((size_t)4, count_soft_dirty(live, n));
	ASSERT_TRUE(!!(pagemap_entry(live + PG(5)) & SOFT_DIRTY));
	ASSERT_TRUE(!!(pagemap_entry(live + PG(3)) & SOFT_DIRTY));
	ASSERT_TRUE(!!(pagemap_entry(live + PG(40)) & SOFT_DIRTY));
	ASSERT_TRUE(!!(pagemap_entry(live + PG(41)) & SOFT_DIRTY));

	munmap(live, len);
	munmap(snap, len);
}

TEST_HARNESS_MAIN
