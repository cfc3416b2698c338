// SPDX-License-Identifier: GPL-2.0
/*
 * dup_mem: what a dup costs and how its pages live on (contract semantics
 * 2 and 7): no data copied at the call (AnonPages in /proc/meminfo,
 * Pss_Anon in /proc/self/smaps_rollup), about one page per page written,
 * everything given back at munmap; swapped-out sources duplicated as swap
 * references; copies that reclaim can swap out and back through rmap;
 * KSM-merged sources; the zero page.
 *
 * Tolerance: AnonPages is read after vm.stat_refresh (exact), Pss_Anon is
 * exact; what else moves them in a quiet guest (our stack, the harness,
 * init) stays far below 1 MiB, while a copy of even 0.4% of 256 MiB
 * would exceed it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#define SLACK_KB	1024L

FIXTURE(mem) {
	int fd;
	int kmsg;
	bool pfns;
};

FIXTURE_SETUP(mem)
{
	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd);
	self->pfns = pagemap_has_pfns();
}

FIXTURE_TEARDOWN(mem)
{
	close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}


FIXTURE_VARIANT(big) {
	bool thp;
};
FIXTURE(big) {
	int fd;
	int kmsg;
};
FIXTURE_VARIANT_ADD(big, small_pages) { false };
FIXTURE_VARIANT_ADD(big, huge_pages) { true };

FIXTURE_SETUP(big)
{
	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(big)
{
	close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/*
 * 256 MiB: the dup adds no anonymous memory (Rss grows by the mapping, as
 * for a forked child); N=1024 pages written on the copy add N pages; the
 * munmap of the copy gives them back.
 */
TEST_F_TIMEOUT(big, counters_256m, 400)
{
	const size_t len = 256 * MiB, n = len / PAGE_SZ, nw = 1024;
	const size_t stride = n / nw;
	long anon0, anon1, anon2, anon3, pss0, pss1, pss2, pss3;
	long rss0, rss1;
	char *src, *copy;
	size_t i;

	src = mmap_aligned(len, PMD_SZ, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS);
	ASSERT_NE(MAP_FAILED, src);
	ASSERT_EQ(0, madvise(src, len, variant->thp ? MADV_HUGEPAGE :
						      MADV_NOHUGEPAGE));
	pattern_fill(src, len, 1);
	if (variant->thp)
		TH_LOG("source AnonHugePages %ld kB",
		       smaps_range_kb((uintptr_t)src, (uintptr_t)src + len,
				      "AnonHugePages"));

	anon0 = meminfo_kb("AnonPages");
	pss0 = smaps_rollup_kb("Pss_Anon");
	rss0 = smaps_rollup_kb("Rss");
	copy = DUP_OK(self->fd, src, len, 0, 0);
	anon1 = meminfo_kb("AnonPages");
	pss1 = smaps_rollup_kb("Pss_Anon");
	rss1 = smaps_rollup_kb("Rss");
	TH_LOG("dup: AnonPages %+ld kB, Pss_Anon %+ld kB, Rss %+ld kB",
	       anon1 - anon0, pss1 - pss0, rss1 - rss0);
	ASSERT_LT(labs_(anon1 - anon0), SLACK_KB);
	ASSERT_LT(labs_(pss1 - pss0), SLACK_KB);
	/* the copy's pages are mapped: Rss counts them once more */
	ASSERT_LT(labs_(rss1 - rss0 - (long)(len / KiB)), SLACK_KB);

	/* one page written every `stride` pages of the copy */
	for (i = 0; i < nw; i++)
		pattern_fill_at(copy + i * stride * PAGE_SZ, i * stride, 1, 2);
	anon2 = meminfo_kb("AnonPages");
	pss2 = smaps_rollup_kb("Pss_Anon");
	TH_LOG("%zu pages written: AnonPages %+ld kB, Pss_Anon %+ld kB", nw,
	       anon2 - anon1, pss2 - pss1);
	ASSERT_LT(labs_(anon2 - anon1 - (long)(nw * PAGE_SZ / KiB)), SLACK_KB);
	ASSERT_LT(labs_(pss2 - pss1 - (long)(nw * PAGE_SZ / KiB)), SLACK_KB);

	ASSERT_PATTERN(src, len, 1);
	for (i = 0; i < n; i++)
		ASSERT_PAGE_PATTERN(copy + i * PAGE_SZ, i,
				    i % stride ? 1 : 2);

	/* unmapping the copy gives back what it took */
	ASSERT_EQ(0, munmap(copy, len));
	anon3 = meminfo_kb("AnonPages");
	pss3 = smaps_rollup_kb("Pss_Anon");
	TH_LOG("munmap: AnonPages %+ld kB, Pss_Anon %+ld kB from before dup",
	       anon3 - anon0, pss3 - pss0);
	ASSERT_LT(labs_(anon3 - anon0), SLACK_KB);
	ASSERT_LT(labs_(pss3 - pss0), SLACK_KB);
	ASSERT_PATTERN(src, len, 1);
	munmap(src, len);
}

static bool have_swap(void)
{
	return meminfo_kb("SwapTotal") > 0;
}

/* Swapped-out source pages are duplicated as swap entries, not read in */
TEST_F(mem, swapped_out_source)
{
	const size_t n = 64, len = n * PAGE_SZ;
	long anon0, anon1;
	char *src, *copy;

	if (!have_swap())
		SKIP(return, "no swap");
	src = anon_map(len);
	ASSERT_NE(MAP_FAILED, src);
	pattern_fill(src, len, 1);
	ASSERT_EQ(n, page_out(src, n));

	anon0 = meminfo_kb("AnonPages");
	copy = DUP_OK(self->fd, src, len, 0, 0);
	anon1 = meminfo_kb("AnonPages");
	/* nothing read in: both sides hold swap entries */
	ASSERT_EQ(n, count_swapped(copy, n));
	ASSERT_EQ(n, count_swapped(src, n));
	ASSERT_LT(labs_(anon1 - anon0), SLACK_KB);

	/* read in through the copy, then the source finds the same page */
	ASSERT_PATTERN(copy, len, 1);
	ASSERT_PATTERN(src, len, 1);
	if (self->pfns) {
		ASSERT_EQ(n, pages_same_pfn(src, copy, n));
	}
	pattern_fill(copy, len / 2, 2);
	ASSERT_PATTERN(src, len, 1);
	pattern_fill(src + len / 2, len / 2, 3);
	ASSERT_PATTERN_AT(copy + len / 2, n / 2, n / 2, 1);
	ASSERT_PATTERN(copy, len / 2, 2);
	munmap(copy, len);
	munmap(src, len);
}

/* Swapped out, duplicated, then the source read first: same story */
TEST_F(mem, swapped_out_source_read_src_first)
{
	const size_t n = 64, len = n * PAGE_SZ;
	char *src, *copy;

	if (!have_swap())
		SKIP(return, "no swap");
	src = anon_map(len);
	ASSERT_NE(MAP_FAILED, src);
	pattern_fill(src, len, 1);
	ASSERT_EQ(n, page_out(src, n));
	copy = DUP_OK(self->fd, src, len, 0, 0);
	ASSERT_EQ(n, count_swapped(copy, n));
	/* writes straight into swapped pages on either side */
	pattern_fill(src, len / 2, 2);
	ASSERT_PATTERN(copy, len, 1);
	pattern_fill(copy + len / 2, len / 2, 3);
	ASSERT_PATTERN(src, len / 2, 2);
	ASSERT_PATTERN_AT(src + len / 2, n / 2, n / 2, 1);
	munmap(src, len);
	ASSERT_PATTERN(copy, len / 2, 1);
	munmap(copy, len);
}

FIXTURE_VARIANT(swapside) {
	bool out_copy;		/* page out the copy (else the source) */
};
FIXTURE(swapside) {
	int fd;
	int kmsg;
};
FIXTURE_VARIANT_ADD(swapside, copy) { true };
FIXTURE_VARIANT_ADD(swapside, source) { false };

FIXTURE_SETUP(swapside)
{
	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(swapside)
{
	close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/*
 * After the dup, the other side writes every page: the old pages belong to
 * one side alone, and MADV_PAGEOUT must find them there through rmap.
 */
TEST_F(swapside, page_out_after_dup)
{
	const size_t n = 64, len = n * PAGE_SZ;
	char *src, *copy, *out, *other;

	if (!have_swap())
		SKIP(return, "no swap");
	src = anon_map(len);
	ASSERT_NE(MAP_FAILED, src);
	pattern_fill(src, len, 1);
	copy = DUP_OK(self->fd, src, len, 0, 0);
	out = variant->out_copy ? copy : src;
	other = variant->out_copy ? src : copy;
	pattern_fill(other, len, 2);
	ASSERT_EQ(n, page_out(out, n));
	ASSERT_EQ((size_t)0, count_swapped(other, n));
	ASSERT_PATTERN(out, len, 1);
	ASSERT_PATTERN(other, len, 2);
	/* and out again, then written while out */
	ASSERT_EQ(0, madvise(out, len, MADV_PAGEOUT));
	pattern_fill(out, len / 2, 3);
	ASSERT_PATTERN(out, len / 2, 3);
	ASSERT_PATTERN_AT(out + len / 2, n / 2, n / 2, 1);
	ASSERT_PATTERN(other, len, 2);
	munmap(src, len);
	munmap(copy, len);
}

/*
 * Memory-cgroup reclaim of pages still shared by source and copy: reclaim
 * unmaps a page from every mapping it finds through rmap, so a copy whose
 * mapping rmap cannot find would keep a freed page.  Both sides must read
 * right afterwards, and a page is either swapped out on both sides or on
 * neither.
 */
#define CG_ROOT	"/sys/fs/cgroup"
#define CG_DIR	CG_ROOT "/cowdup-ksft"

FIXTURE(reclaim) {
	int fd;
	int kmsg;
	bool made_cg;
};

FIXTURE_SETUP(reclaim)
{
	char buf[256];

	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd);
	if (!have_swap())
		SKIP(return, "no swap");
	if (read_file(CG_ROOT "/cgroup.controllers", buf, sizeof(buf)) <= 0 ||
	    !strstr(buf, "memory"))
		SKIP(return, "no cgroup v2 memory controller");
	write_file(CG_ROOT "/cgroup.subtree_control", "+memory");
	if (mkdir(CG_DIR, 0755) && errno != EEXIST)
		SKIP(return, "mkdir %s: %s", CG_DIR, strerror(errno));
	self->made_cg = true;
	if (!path_exists(CG_DIR "/memory.reclaim"))
		SKIP(return, "no memory.reclaim");
	ASSERT_EQ(0, write_long(CG_DIR "/cgroup.procs", getpid()));
}

FIXTURE_TEARDOWN_PARENT(reclaim)
{
	/* the test process has exited: the group is empty */
	if (self->made_cg)
		rmdir(CG_DIR);
}

TEST_F_TIMEOUT(reclaim, shared_pages_reclaimed_both_sides, 200)
{
	const size_t n = 4096, len = n * PAGE_SZ;
	size_t i, out = 0;
	char *src, *copy, *copy2;
	int r, tries;

	/* charged to the group: allocated after the move */
	src = anon_map(len);
	ASSERT_NE(MAP_FAILED, src);
	pattern_fill(src, len, 1);
	copy = DUP_OK(self->fd, src, len, 0, 0);
	copy2 = DUP_OK(self->fd, copy, len, 0, 0);
	/* a few pages no longer shared */
	pattern_fill_at(copy, 0, 8, 2);

	for (tries = 0; tries < 8; tries++) {
		r = write_file(CG_DIR "/memory.reclaim", "64M");
		(void)r;	/* EAGAIN when less than asked could go */
		out = count_swapped(src, n);
		if (out >= n / 2)
			break;
	}
	TH_LOG("%zu of %zu source pages swapped out", out, n);
	ASSERT_LT(n / 4, out);
	for (i = 8; i < n; i++) {
		bool a = pagemap_entry(src + i * PAGE_SZ) & PM_SWAP;
		bool b = pagemap_entry(copy + i * PAGE_SZ) & PM_SWAP;
		bool c = pagemap_entry(copy2 + i * PAGE_SZ) & PM_SWAP;

		ASSERT_TRUE(a == b && b == c) {
			TH_LOG("page %zu: swapped src %d copy %d copy2 %d",
			       i, a, b, c);
		}
	}
	ASSERT_PATTERN(src, len, 1);
	ASSERT_PATTERN_AT(copy, 0, 8, 2);
	ASSERT_PATTERN_AT(copy + 8 * PAGE_SZ, 8, n - 8, 1);
	ASSERT_PATTERN(copy2, len, 1);
	pattern_fill(copy2, len, 3);
	ASSERT_PATTERN(src, len, 1);
	ASSERT_PATTERN_AT(copy + 8 * PAGE_SZ, 8, n - 8, 1);
	munmap(src, len);
	munmap(copy, len);
	munmap(copy2, len);
	/* leave the group before it is removed */
	write_long(CG_ROOT "/cgroup.procs", getpid());
}

/* ---- KSM ----------------------------------------------------------- */

#define KSM "/sys/kernel/mm/ksm/"

FIXTURE(ksm) {
	int fd;
	int kmsg;
	long run, pages_to_scan, sleep_ms;
	bool restore;
};

FIXTURE_SETUP(ksm)
{
	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd);
	if (!path_exists(KSM "run"))
		SKIP(return, "no KSM");
	if (!pagemap_has_pfns())
		SKIP(return, "pagemap PFNs needed to see merged pages");
	ASSERT_EQ(0, read_long(KSM "run", &self->run));
	ASSERT_EQ(0, read_long(KSM "pages_to_scan", &self->pages_to_scan));
	ASSERT_EQ(0, read_long(KSM "sleep_millisecs", &self->sleep_ms));
	self->restore = true;
	ASSERT_EQ(0, write_long(KSM "pages_to_scan", 10000));
	ASSERT_EQ(0, write_long(KSM "sleep_millisecs", 1));
	ASSERT_EQ(0, write_long(KSM "run", 1));
}

FIXTURE_TEARDOWN_PARENT(ksm)
{
	if (!self->restore)
		return;
	EXPECT_EQ(0, write_long(KSM "run", self->run));
	EXPECT_EQ(0, write_long(KSM "pages_to_scan", self->pages_to_scan));
	EXPECT_EQ(0, write_long(KSM "sleep_millisecs", self->sleep_ms));
}

/*
 * All @n identical pages merged: one KSM page mapped at every address.
 * The page frame is what proves it: 6.12's /proc/kpageflags sets KPF_KSM
 * on every anonymous page (it tests the KSM mapping bits with '&'), so
 * that bit alone cannot tell a KSM page from another.
 */
static bool all_ksm(const char *p, size_t n)
{
	uint64_t pfn0 = pagemap_pfn(pagemap_entry(p));
	size_t i;

	if (!pfn0 || !(kpageflags(pfn0) & (1ULL << KPF_KSM)))
		return false;
	for (i = 1; i < n; i++)
		if (pagemap_pfn(pagemap_entry(p + i * PAGE_SZ)) != pfn0)
			return false;
	return true;
}

TEST_F_TIMEOUT(ksm, merged_source_copy_unmerged, 300)
{
	const size_t n = 64, len = n * PAGE_SZ;
	uint64_t ksm_pfn;
	long scans0, scans;
	char *src, *copy;
	size_t i;

	/* every page has the same bytes: all merge into one KSM page */
	src = anon_map(len);
	ASSERT_NE(MAP_FAILED, src);
	for (i = 0; i < n; i++)
		pattern_fill_page(src + i * PAGE_SZ, 0, 7);
	ASSERT_EQ(0, madvise(src, len, MADV_MERGEABLE));
	ASSERT_EQ(0, read_long(KSM "full_scans", &scans0));
	do {
		usleep(20000);
		ASSERT_EQ(0, read_long(KSM "full_scans", &scans));
	} while (!all_ksm(src, n) && scans < scans0 + 20);
	if (!all_ksm(src, n))
		SKIP(return, "KSM did not merge the source in 20 scans");
	/*
	 * Stop ksmd (merged pages stay merged): the copy may be mergeable
	 * like its source, and ksmd merging it after the call is fine; what
	 * the call itself gives the copy is what is checked here.
	 */
	ASSERT_EQ(0, write_long(KSM "run", 0));
	ASSERT_TRUE(all_ksm(src, n));

	ksm_pfn = pagemap_pfn(pagemap_entry(src));
	copy = DUP_OK(self->fd, src, len, 0, 0);
	TH_LOG("copy VMA mergeable: %d",
	       smaps_has_flag((uintptr_t)copy, "mg"));
	/* Each copy page is a page of its own: not the KSM page, unshared. */
	for (i = 0; i < n; i++) {
		uint64_t e = pagemap_entry(copy + i * PAGE_SZ);
		uint64_t pfn = pagemap_pfn(e);
		size_t j;

		ASSERT_PAGE_PATTERN(copy + i * PAGE_SZ, 0, 7);
		ASSERT_NE(0ULL, pfn) TH_LOG("copy page %zu not present", i);
		ASSERT_NE(ksm_pfn, pfn) {
			TH_LOG("copy page %zu is the KSM page", i);
		}
		ASSERT_NE(0ULL, e & PM_MMAP_EXCLUSIVE) {
			TH_LOG("copy page %zu is mapped more than once", i);
		}
		for (j = 0; j < i; j++)
			ASSERT_NE(pagemap_pfn(pagemap_entry(copy + j * PAGE_SZ)), pfn);
	}
	ASSERT_TRUE(all_ksm(src, n));
	/* independent both ways */
	pattern_fill_at(copy + 3 * PAGE_SZ, 3, 1, 8);
	for (i = 0; i < n; i++)
		ASSERT_PAGE_PATTERN(src + i * PAGE_SZ, 0, 7);
	pattern_fill_at(src + 4 * PAGE_SZ, 4, 1, 9);
	ASSERT_PAGE_PATTERN(copy + 4 * PAGE_SZ, 0, 7);
	ASSERT_PAGE_PATTERN(copy + 3 * PAGE_SZ, 3, 8);
	munmap(copy, len);
	munmap(src, len);
}

/* ---- zero page ------------------------------------------------------ */

/*
 * Pages only read map the zero page; the copy shares it.  fork() copies
 * such PTEs; leaving them empty is as good (reads fault the zero page in
 * again), so the copy may show either, but never memory of its own.
 */
TEST_F(mem, zero_page_shared)
{
	const size_t n = 256, len = n * PAGE_SZ;
	volatile char c;
	long anon0, anon1;
	uint64_t zp, pfn;
	char *src, *copy;
	size_t i, mapped = 0;

	if (!self->pfns)
		SKIP(return, "pagemap PFNs needed");
	zp = zero_page_pfn();
	ASSERT_NE(0ULL, zp);
	src = anon_map(len);
	ASSERT_NE(MAP_FAILED, src);
	for (i = 0; i < n; i++)
		c = src[i * PAGE_SZ];
	(void)c;
	ASSERT_EQ(zp, pagemap_pfn(pagemap_entry(src)));
	anon0 = meminfo_kb("AnonPages");
	copy = DUP_OK(self->fd, src, len, 0, 0);
	anon1 = meminfo_kb("AnonPages");
	for (i = 0; i < n; i++) {
		pfn = pagemap_pfn(pagemap_entry(copy + i * PAGE_SZ));
		ASSERT_TRUE(pfn == 0 || pfn == zp) {
			TH_LOG("copy page %zu: pfn 0x%llx, zero page 0x%llx",
			       i, (unsigned long long)pfn,
			       (unsigned long long)zp);
		}
		mapped += pfn == zp;
	}
	TH_LOG("%zu of %zu copy pages map the zero page right after the dup",
	       mapped, n);
	ASSERT_LT(labs_(anon1 - anon0), SLACK_KB);
	ASSERT_PATTERN(copy, len, 0);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(zp, pagemap_pfn(pagemap_entry(copy + i * PAGE_SZ)));
	}
	ASSERT_LT(labs_(meminfo_kb("AnonPages") - anon0), SLACK_KB);
	pattern_fill_at(copy + PAGE_SZ, 1, 1, 4);
	pattern_fill_at(src + 2 * PAGE_SZ, 2, 1, 5);
	ASSERT_PAGE_PATTERN(src + PAGE_SZ, 1, 0);
	ASSERT_PAGE_PATTERN(copy + 2 * PAGE_SZ, 2, 0);
	ASSERT_EQ(zp, pagemap_pfn(pagemap_entry(src + 3 * PAGE_SZ)));
	munmap(copy, len);
	munmap(src, len);
}

TEST_HARNESS_MAIN
