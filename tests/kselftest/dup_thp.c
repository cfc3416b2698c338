// SPDX-License-Identifier: GPL-2.0
/*
 * dup_thp: transparent huge pages (contract semantics 2 and 6).  A 4 MiB
 * PMD-aligned source backed by two THPs is duplicated PMD-aligned (shared
 * at PMD level when COWDUP_FEAT_THP_PMD is set), misaligned (COWDUP_FIXED
 * at an address 4 KiB past a PMD boundary: mapped by PTEs), half-covered
 * (1 MiB inside a THP), then collapsed again with MADV_COLLAPSE; contents
 * byte for byte and independence both ways, and no data copied at the call
 * (AnonPages, pagemap PFNs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#define THP_LEN		(2 * PMD_SZ)
#define THP_PAGES	(THP_LEN / PAGE_SZ)
/* Growth of AnonPages that is not a copy: noise of a quiet guest */
#define SLACK_KB	512L

FIXTURE(thp) {
	int fd;
	int kmsg;
	bool pfns;
	bool pmd_feature;
	char *src;		/* THP_LEN, PMD aligned, pattern 1 */
};

static long anon_huge_kb(const void *p, size_t len)
{
	return smaps_range_kb((uintptr_t)p, (uintptr_t)p + len,
			      "AnonHugePages");
}

FIXTURE_SETUP(thp)
{
	struct cowdup_info info;
	char buf[256];

	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, cowdup_get_info(self->fd, &info));
	self->pmd_feature = !!(info.features & COWDUP_FEAT_THP_PMD);
	self->pfns = pagemap_has_pfns();
	if (read_file("/sys/kernel/mm/transparent_hugepage/enabled", buf,
		      sizeof(buf)) <= 0 || strstr(buf, "[never]"))
		SKIP(return, "THP disabled");
	self->src = mmap_aligned(THP_LEN, PMD_SZ, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS);
	ASSERT_NE(MAP_FAILED, self->src);
	ASSERT_EQ(0, madvise(self->src, THP_LEN, MADV_HUGEPAGE));
	pattern_fill(self->src, THP_LEN, 1);
	if (anon_huge_kb(self->src, THP_LEN) != (long)(THP_LEN / KiB))
		SKIP(return, "source not backed by THPs (AnonHugePages %ld kB)",
		     anon_huge_kb(self->src, THP_LEN));
}

FIXTURE_TEARDOWN(thp)
{
	close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/* MADV_COLLAPSE, retried on EAGAIN (transient, per the man page) */
static int collapse(void *p, size_t len)
{
	int i, r = -1;

	for (i = 0; i < 5; i++) {
		r = madvise(p, len, MADV_COLLAPSE);
		if (r == 0 || errno != EAGAIN)
			break;
	}
	return r ? -errno : 0;
}

#define ASSERT_SAME_PFNS(self, a, b, n) do { \
	if ((self)->pfns) \
		ASSERT_EQ((size_t)(n), pages_same_pfn((a), (b), (n))); \
} while (0)

/* Both sides PMD aligned: PMD-level sharing, no copy, 1 page per write */
TEST_F(thp, aligned)
{
	long anon0, anon1, anon2;
	char *copy;

	anon0 = meminfo_kb("AnonPages");
	copy = DUP_OK(self->fd, self->src, THP_LEN, 0, 0);
	anon1 = meminfo_kb("AnonPages");
	/* the module chose an address aligned like src modulo the PMD */
	ASSERT_EQ(0UL, (uintptr_t)copy % PMD_SZ);
	ASSERT_PATTERN(copy, THP_LEN, 1);
	ASSERT_SAME_PFNS(self, self->src, copy, THP_PAGES);
	ASSERT_LT(anon1 - anon0, SLACK_KB) TH_LOG("AnonPages %ld -> %ld kB",
						  anon0, anon1);
	if (self->pmd_feature) {
		ASSERT_EQ((long)(THP_LEN / KiB), anon_huge_kb(copy, THP_LEN));
		ASSERT_EQ((long)(THP_LEN / KiB),
			  anon_huge_kb(self->src, THP_LEN));
	} else {
		TH_LOG("COWDUP_FEAT_THP_PMD clear: copy AnonHugePages %ld kB",
		       anon_huge_kb(copy, THP_LEN));
	}

	/* one byte in the copy costs one page, not a huge page */
	copy[5 * PAGE_SZ + 7] ^= 0x5a;
	anon2 = meminfo_kb("AnonPages");
	ASSERT_LT(anon2 - anon1, SLACK_KB + 4) TH_LOG("AnonPages %ld -> %ld kB",
						      anon1, anon2);
	ASSERT_PATTERN(self->src, THP_LEN, 1);
	ASSERT_PATTERN_AT(copy, 0, 5, 1);
	ASSERT_PATTERN_AT(copy + 6 * PAGE_SZ, 6, THP_PAGES - 6, 1);
	copy[5 * PAGE_SZ + 7] ^= 0x5a;
	ASSERT_PAGE_PATTERN(copy + 5 * PAGE_SZ, 5, 1);
	if (self->pfns) {
		ASSERT_EQ(THP_PAGES - 1,
			  pages_same_pfn(self->src, copy, THP_PAGES));
	}
	if (self->pmd_feature) {
		/* the source keeps its PMD mappings */
		ASSERT_EQ((long)(THP_LEN / KiB),
			  anon_huge_kb(self->src, THP_LEN));
	}

	/* the source's writes stay in the source */
	pattern_fill_at(self->src + PMD_SZ, THP_PAGES / 2, THP_PAGES / 2, 2);
	ASSERT_PATTERN_AT(copy + PMD_SZ, THP_PAGES / 2, THP_PAGES / 2, 1);
	/* a hole in the copy's second THP */
	ASSERT_EQ(0, madvise(copy + PMD_SZ + 16 * PAGE_SZ, PAGE_SZ,
			     MADV_DONTNEED));
	ASSERT_PAGE_PATTERN(copy + PMD_SZ + 16 * PAGE_SZ, 0, 0);
	ASSERT_PATTERN_AT(self->src + PMD_SZ, THP_PAGES / 2, THP_PAGES / 2, 2);

	/* collapse the copy's first (split) PMD again: same bytes */
	ASSERT_EQ(0, collapse(copy, PMD_SZ));
	ASSERT_TRUE(thp_backed(copy));
	/* the second PMD has a hole: PTE mapped */
	ASSERT_EQ((long)(PMD_SZ / KiB), anon_huge_kb(copy, THP_LEN));
	ASSERT_PATTERN(copy, PMD_SZ, 1);
	pattern_fill(copy, PMD_SZ, 3);
	ASSERT_PATTERN(self->src, PMD_SZ, 1);
	munmap(copy, THP_LEN);
	ASSERT_PATTERN(self->src, PMD_SZ, 1);
}

/* dst not aligned like src: PTE-mapped copy, same bytes, no copy */
TEST_F(thp, misaligned_dst)
{
	static const size_t pages[] = { 0, 1, 511, 512, 513, 1023 };
	char *base, *dst, *copy, *chunk;
	long anon0, anon1;
	size_t k, off;

	base = free_range(THP_LEN + 2 * PMD_SZ, PMD_SZ);
	ASSERT_NE(NULL, base);
	dst = base + PMD_SZ + PAGE_SZ;
	anon0 = meminfo_kb("AnonPages");
	copy = DUP_OK(self->fd, self->src, THP_LEN, dst, COWDUP_FIXED);
	anon1 = meminfo_kb("AnonPages");
	ASSERT_EQ(dst, copy);
	ASSERT_PATTERN(copy, THP_LEN, 1);
	ASSERT_SAME_PFNS(self, self->src, copy, THP_PAGES);
	ASSERT_EQ(0, anon_huge_kb(copy, THP_LEN));
	ASSERT_LT(anon1 - anon0, SLACK_KB) TH_LOG("AnonPages %ld -> %ld kB",
						  anon0, anon1);

	/* writes at the edges and inside, both directions */
	for (k = 0; k < sizeof(pages) / sizeof(pages[0]); k++)
		pattern_fill_at(copy + pages[k] * PAGE_SZ, pages[k], 1, 10 + k);
	ASSERT_PATTERN(self->src, THP_LEN, 1);
	for (k = 0; k < sizeof(pages) / sizeof(pages[0]); k++)
		ASSERT_PAGE_PATTERN(copy + pages[k] * PAGE_SZ, pages[k],
				    10 + k);
	pattern_fill_at(self->src + 700 * PAGE_SZ, 700, 1, 20);
	ASSERT_PAGE_PATTERN(copy + 700 * PAGE_SZ, 700, 1);
	ASSERT_PAGE_PATTERN(copy + 2 * PAGE_SZ, 2, 1);

	/* the aligned 2 MiB inside the copy collapses, bytes kept */
	chunk = base + 2 * PMD_SZ;
	off = (chunk - copy) / PAGE_SZ;		/* pattern page index */
	ASSERT_EQ(0, collapse(chunk, PMD_SZ));
	ASSERT_TRUE(thp_backed(chunk));
	/* the only PMD-mappable part of the misaligned copy */
	ASSERT_EQ((long)(PMD_SZ / KiB), anon_huge_kb(copy, THP_LEN));
	for (k = 0; k < PMD_SZ / PAGE_SZ; k++) {
		size_t idx = off + k;
		uint64_t seed = 1;

		if (idx == 511)
			seed = 12;
		else if (idx == 512)
			seed = 13;
		else if (idx == 513)
			seed = 14;
		else if (idx == 1023)
			seed = 15;
		ASSERT_PAGE_PATTERN(chunk + k * PAGE_SZ, idx, seed);
	}
	pattern_fill_at(chunk, off, PMD_SZ / PAGE_SZ, 30);
	ASSERT_PAGE_PATTERN(self->src + off * PAGE_SZ, off, 1);
	ASSERT_PAGE_PATTERN(self->src + 700 * PAGE_SZ, 700, 20);
	munmap(copy, THP_LEN);
}

/* 1 MiB from the middle of a THP */
TEST_F(thp, half_covered)
{
	const size_t off = 512 * KiB, len = 1 * MiB, n = len / PAGE_SZ;
	const size_t first = off / PAGE_SZ;
	char *copy, *copy2;
	long anon0, anon1;

	anon0 = meminfo_kb("AnonPages");
	copy = DUP_OK(self->fd, self->src + off, len, 0, 0);
	anon1 = meminfo_kb("AnonPages");
	ASSERT_EQ(0UL, ((uintptr_t)copy - (uintptr_t)(self->src + off)) % PMD_SZ);
	ASSERT_PATTERN_AT(copy, first, n, 1);
	ASSERT_SAME_PFNS(self, self->src + off, copy, n);
	ASSERT_EQ(0, anon_huge_kb(copy, len));
	ASSERT_LT(anon1 - anon0, SLACK_KB) TH_LOG("AnonPages %ld -> %ld kB",
						  anon0, anon1);
	/* the rest of the source is untouched and intact, one VMA */
	ASSERT_PATTERN(self->src, THP_LEN, 1);
	ASSERT_EQ(1, maps_count_range((uintptr_t)self->src,
				      (uintptr_t)self->src + THP_LEN));

	pattern_fill_at(copy, first, n / 2, 2);
	ASSERT_PATTERN(self->src, THP_LEN, 1);
	pattern_fill_at(self->src + off + len / 2, first + n / 2, n / 2, 3);
	ASSERT_PATTERN_AT(copy + len / 2, first + n / 2, n / 2, 1);
	ASSERT_PATTERN_AT(copy, first, n / 2, 2);

	/* a dup of the whole source now spans split and intact THPs */
	copy2 = DUP_OK(self->fd, self->src, THP_LEN, 0, 0);
	ASSERT_PATTERN_AT(copy2, 0, first + n / 2, 1);
	ASSERT_PATTERN_AT(copy2 + off + len / 2, first + n / 2, n / 2, 3);
	ASSERT_PATTERN_AT(copy2 + off + len, first + n, THP_PAGES - first - n, 1);

	/*
	 * collapse the source's first PMD again: every copy keeps its bytes.
	 * (khugepaged and MADV_COLLAPSE want one writable PTE: SCAN_PAGE_RO)
	 */
	pattern_fill_at(self->src, 0, 1, 1);
	ASSERT_EQ(0, collapse(self->src, PMD_SZ));
	ASSERT_TRUE(thp_backed(self->src));
	ASSERT_LE((long)(PMD_SZ / KiB), anon_huge_kb(self->src, THP_LEN));
	ASSERT_PATTERN_AT(self->src, 0, first + n / 2, 1);
	ASSERT_PATTERN_AT(self->src + off + len / 2, first + n / 2, n / 2, 3);
	pattern_fill(self->src, PMD_SZ, 4);
	ASSERT_PATTERN_AT(copy, first, n / 2, 2);
	ASSERT_PATTERN_AT(copy + len / 2, first + n / 2, n / 2, 1);
	ASSERT_PATTERN_AT(copy2, 0, first + n / 2, 1);
	munmap(copy, len);
	munmap(copy2, THP_LEN);
	ASSERT_PATTERN(self->src, PMD_SZ, 4);
}

/* A THP region never written maps the huge zero page: shared, not copied */
TEST_F(thp, huge_zero_page)
{
	char *z, *copy;
	volatile char c;
	long anon0, anon1;
	size_t i;

	z = mmap_aligned(THP_LEN, PMD_SZ, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS);
	ASSERT_NE(MAP_FAILED, z);
	ASSERT_EQ(0, madvise(z, THP_LEN, MADV_HUGEPAGE));
	for (i = 0; i < THP_LEN; i += PAGE_SZ)
		c = z[i];
	(void)c;
	anon0 = meminfo_kb("AnonPages");
	copy = DUP_OK(self->fd, z, THP_LEN, 0, 0);
	anon1 = meminfo_kb("AnonPages");
	ASSERT_LT(anon1 - anon0, SLACK_KB);
	ASSERT_PATTERN(copy, THP_LEN, 0);
	/* the huge zero page, or the small one: no memory either way */
	if (self->pfns) {
		uint64_t zp = zero_page_pfn();

		for (i = 0; i < THP_PAGES; i++) {
			uint64_t a = pagemap_pfn(pagemap_entry(z + i * PAGE_SZ));
			uint64_t b = pagemap_pfn(pagemap_entry(copy + i * PAGE_SZ));

			ASSERT_TRUE(b == a || b == zp) {
				TH_LOG("page %zu: pfn 0x%llx, source 0x%llx, "
				       "zero page 0x%llx", i,
				       (unsigned long long)b,
				       (unsigned long long)a,
				       (unsigned long long)zp);
			}
		}
	}
	ASSERT_LT(meminfo_kb("AnonPages") - anon0, SLACK_KB);
	pattern_fill(copy, PAGE_SZ, 5);
	ASSERT_PATTERN(z, THP_LEN, 0);
	pattern_fill(z + PMD_SZ, PAGE_SZ, 6);
	ASSERT_PATTERN_AT(copy + PMD_SZ, 0, 1, 0);
	munmap(copy, THP_LEN);
	munmap(z, THP_LEN);
}

TEST_HARNESS_MAIN
