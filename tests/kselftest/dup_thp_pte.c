// SPDX-License-Identifier: GPL-2.0
/*
 * dup_thp_pte: large folios mapped by PTEs (contract semantics 2 and 6).
 * The walk shares a run of entries that map consecutive pages of one large
 * folio at once, as fork does: these tests check what each side maps after
 * that, page by page.  The source is two THPs whose PMDs were split
 * (thp_by_ptes()), duplicated whole, in part at a misaligned address (runs
 * cut by the copy's PMD boundaries), and with entries that differ inside a
 * folio (holes, a foreign page, mixed write and soft-dirty bits); then a
 * private mapping of shmem huge pages (file rmap).  Checked: contents byte
 * for byte both ways, PFNs, the kernel's own mapcount of every page
 * (/proc/kpagecount), soft-dirty bits, smaps and meminfo counters.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#define LEN		(2 * PMD_SZ)
#define NPAGES		(LEN / PAGE_SZ)
/* Growth of AnonPages or Shmem that is not a copy: noise of a quiet guest */
#define SLACK_KB	512L

/* Every one of n pages at p is mapped exactly count times (root only). */
#define ASSERT_MAPCOUNT(pfns, p, n, count) do { \
	if (pfns) \
		ASSERT_EQ((size_t)(n), pages_mapcount((p), (n), (count))) \
			TH_LOG("pages at %s not mapped %d times", #p, (count)); \
} while (0)

static long range_kb(const void *p, size_t len, const char *field)
{
	return smaps_range_kb((uintptr_t)p, (uintptr_t)p + len, field);
}

FIXTURE(thp_pte) {
	int fd;
	int kmsg;
	bool pfns;
	char *src;		/* LEN, two THPs mapped by PTEs, pattern 1 */
};

FIXTURE_SETUP(thp_pte)
{
	char buf[256];

	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd);
	self->pfns = pagemap_has_pfns();
	if (read_file("/sys/kernel/mm/transparent_hugepage/enabled", buf,
		      sizeof(buf)) <= 0 || strstr(buf, "[never]"))
		SKIP(return, "THP disabled");
	self->src = thp_by_ptes(LEN, 1);
	if (!self->src)
		SKIP(return, "no THP to split");
}

FIXTURE_TEARDOWN(thp_pte)
{
	unmap(self->src, LEN);
	close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/* The whole range, then a copy of the copy; writes, then unmaps */
TEST_F(thp_pte, whole_range)
{
	long anon0, anon1;
	char *copy, *copy2;

	anon0 = meminfo_kb("AnonPages");
	copy = DUP_OK(self->fd, self->src, LEN, 0, 0);
	anon1 = meminfo_kb("AnonPages");
	ASSERT_LT(anon1 - anon0, SLACK_KB) TH_LOG("AnonPages %ld -> %ld kB",
						  anon0, anon1);
	ASSERT_PATTERN(copy, LEN, 1);
	ASSERT_SHARED(self, self->src, copy, NPAGES);
	ASSERT_MAPCOUNT(self->pfns, self->src, NPAGES, 2);
	/* mapped by PTEs on both sides, every page counted once per side */
	ASSERT_EQ(0, range_kb(copy, LEN, "AnonHugePages"));
	ASSERT_EQ((long)(LEN / KiB), range_kb(copy, LEN, "Rss"));
	ASSERT_EQ((long)(LEN / KiB), range_kb(copy, LEN, "Anonymous"));
	ASSERT_EQ((long)(LEN / KiB), range_kb(self->src, LEN, "Rss"));

	copy2 = DUP_OK(self->fd, copy, LEN, 0, 0);
	ASSERT_PATTERN(copy2, LEN, 1);
	ASSERT_SHARED(self, self->src, copy2, NPAGES);
	ASSERT_MAPCOUNT(self->pfns, self->src, NPAGES, 3);

	/* one write, one page, on its own side only */
	pattern_fill_at(copy + 5 * PAGE_SZ, 5, 1, 2);
	pattern_fill_at(self->src + 700 * PAGE_SZ, 700, 1, 3);
	pattern_fill_at(copy2 + 511 * PAGE_SZ, 511, 2, 4);
	ASSERT_LT(meminfo_kb("AnonPages") - anon1, SLACK_KB + 16);
	ASSERT_PAGE_PATTERN(self->src + 5 * PAGE_SZ, 5, 1);
	ASSERT_PAGE_PATTERN(copy2 + 5 * PAGE_SZ, 5, 1);
	ASSERT_PAGE_PATTERN(copy + 700 * PAGE_SZ, 700, 1);
	ASSERT_PAGE_PATTERN(copy2 + 700 * PAGE_SZ, 700, 1);
	ASSERT_PATTERN_AT(self->src + 511 * PAGE_SZ, 511, 2, 1);
	ASSERT_PATTERN_AT(copy + 511 * PAGE_SZ, 511, 2, 1);
	ASSERT_MAPCOUNT(self->pfns, self->src + 6 * PAGE_SZ, 505, 3);

	munmap(copy2, LEN);
	ASSERT_MAPCOUNT(self->pfns, self->src, 5, 2);
	ASSERT_MAPCOUNT(self->pfns, self->src + 6 * PAGE_SZ, 694, 2);
	munmap(copy, LEN);
	ASSERT_MAPCOUNT(self->pfns, self->src, NPAGES, 1);
	ASSERT_PATTERN_AT(self->src, 0, 700, 1);
	ASSERT_PAGE_PATTERN(self->src + 700 * PAGE_SZ, 700, 3);
	ASSERT_PATTERN_AT(self->src + 701 * PAGE_SZ, 701, NPAGES - 701, 1);
}

/*
 * Part of the range, from inside the first folio to inside the second, to
 * an address 37 pages past a PMD boundary: the copy's PMD boundary cuts a
 * run in the middle of a folio.
 */
TEST_F(thp_pte, part_misaligned)
{
	const size_t first = 3, n = NPAGES / 2 + 200;
	const size_t cut = 512 - 37;	/* the copy's first PMD boundary */
	char *base, *dst, *copy, *from = self->src + first * PAGE_SZ;

	base = free_range(LEN + 2 * PMD_SZ, PMD_SZ);
	ASSERT_NE(NULL, base);
	dst = base + PMD_SZ + 37 * PAGE_SZ;
	copy = DUP_OK(self->fd, from, n * PAGE_SZ, dst, COWDUP_FIXED);
	ASSERT_EQ(dst, copy);
	ASSERT_PATTERN_AT(copy, first, n, 1);
	ASSERT_SHARED(self, from, copy, n);
	ASSERT_MAPCOUNT(self->pfns, from, n, 2);
	ASSERT_MAPCOUNT(self->pfns, self->src, first, 1);
	ASSERT_MAPCOUNT(self->pfns, from + n * PAGE_SZ, NPAGES - first - n, 1);

	/* both sides of the cut and of the folio boundary, both ways */
	pattern_fill_at(copy + (cut - 1) * PAGE_SZ, first + cut - 1, 2, 2);
	pattern_fill_at(copy + (n - 1) * PAGE_SZ, first + n - 1, 1, 2);
	pattern_fill_at(self->src + 511 * PAGE_SZ, 511, 2, 3);
	ASSERT_PATTERN_AT(from + (cut - 1) * PAGE_SZ, first + cut - 1, 2, 1);
	ASSERT_PAGE_PATTERN(from + (n - 1) * PAGE_SZ, first + n - 1, 1);
	ASSERT_PATTERN_AT(copy + (511 - first) * PAGE_SZ, 511, 2, 1);
	ASSERT_PATTERN_AT(copy, first, cut - 1, 1);
	ASSERT_PATTERN_AT(copy + (cut + 1) * PAGE_SZ, first + cut + 1,
			  511 - first - cut - 1, 1);
	ASSERT_MAPCOUNT(self->pfns, copy, cut - 1, 2);

	munmap(copy, n * PAGE_SZ);
	ASSERT_MAPCOUNT(self->pfns, self->src, 511, 1);
	ASSERT_MAPCOUNT(self->pfns, self->src + 513 * PAGE_SZ, NPAGES - 513, 1);
}

/*
 * Entries of one folio that differ: after clear_refs (soft-dirty cleared,
 * every entry write-protected) pages 300-310 are written again (writable,
 * soft-dirty); page 100 is a hole, page 600 a small page of its own.  The
 * run spans the write and soft-dirty differences and stops at the others.
 */
TEST_F(thp_pte, mixed_entries)
{
	uint64_t sd[NPAGES];
	char *copy;
	size_t i;

	/* Every entry dirty, whatever the split left: runs must not stop there. */
	pattern_fill(self->src, LEN, 1);
	if (write_file("/proc/self/clear_refs", "4"))
		SKIP(return, "no soft-dirty tracking");
	pattern_fill_at(self->src + 300 * PAGE_SZ, 300, 11, 2);
	ASSERT_EQ(0, madvise(self->src + 100 * PAGE_SZ, PAGE_SZ, MADV_DONTNEED));
	ASSERT_EQ(0, madvise(self->src + 600 * PAGE_SZ, PAGE_SZ, MADV_DONTNEED));
	pattern_fill_at(self->src + 600 * PAGE_SZ, 600, 1, 3);
	for (i = 0; i < NPAGES; i++)
		sd[i] = pagemap_entry(self->src + i * PAGE_SZ) & PM_SOFT_DIRTY;
	ASSERT_NE(0ULL, sd[305]);

	copy = DUP_OK(self->fd, self->src, LEN, 0, 0);
	ASSERT_PATTERN_AT(copy, 0, 100, 1);
	ASSERT_EQ(0UL, pages_present(copy + 100 * PAGE_SZ, 1));
	ASSERT_PATTERN_AT(copy + 101 * PAGE_SZ, 101, 199, 1);
	ASSERT_PATTERN_AT(copy + 300 * PAGE_SZ, 300, 11, 2);
	ASSERT_PATTERN_AT(copy + 311 * PAGE_SZ, 311, 289, 1);
	ASSERT_PAGE_PATTERN(copy + 600 * PAGE_SZ, 600, 3);
	ASSERT_PATTERN_AT(copy + 601 * PAGE_SZ, 601, NPAGES - 601, 1);
	ASSERT_SHARED(self, self->src, copy, 100);
	ASSERT_SHARED(self, self->src + 101 * PAGE_SZ, copy + 101 * PAGE_SZ,
		      NPAGES - 101);
	ASSERT_MAPCOUNT(self->pfns, self->src, 100, 2);
	ASSERT_MAPCOUNT(self->pfns, self->src + 101 * PAGE_SZ, NPAGES - 101, 2);

	/* the source keeps its own soft-dirty bits; the copy's are all set */
	for (i = 0; i < NPAGES; i++) {
		if (i == 100)
			continue;
		ASSERT_EQ(sd[i], pagemap_entry(self->src + i * PAGE_SZ) &
				 PM_SOFT_DIRTY) TH_LOG("source page %zu", i);
		ASSERT_NE(0ULL, pagemap_entry(copy + i * PAGE_SZ) &
				PM_SOFT_DIRTY) TH_LOG("copy page %zu", i);
	}

	/* every source entry of the run is read-only now: no write leaks */
	pattern_fill_at(self->src + 299 * PAGE_SZ, 299, 3, 4);
	pattern_fill_at(self->src + 310 * PAGE_SZ, 310, 1, 4);
	pattern_fill_at(self->src + 600 * PAGE_SZ, 600, 1, 4);
	ASSERT_PAGE_PATTERN(copy + 299 * PAGE_SZ, 299, 1);
	ASSERT_PATTERN_AT(copy + 300 * PAGE_SZ, 300, 11, 2);
	ASSERT_PAGE_PATTERN(copy + 600 * PAGE_SZ, 600, 3);
	pattern_fill_at(copy + 305 * PAGE_SZ, 305, 1, 5);
	ASSERT_PAGE_PATTERN(self->src + 305 * PAGE_SZ, 305, 2);
	munmap(copy, LEN);
	ASSERT_MAPCOUNT(self->pfns, self->src + 311 * PAGE_SZ, 289, 1);
}

/*
 * A private mapping of shmem huge pages, 4 KiB past a PMD boundary so
 * that they are mapped by PTEs, with one page written (the VMA gets an
 * anon_vma, so the walk copies its page-cache entries too).
 */
FIXTURE(shmem_pte) {
	int fd;
	int kmsg;
	bool pfns;
};

FIXTURE_SETUP(shmem_pte)
{
	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd);
	self->pfns = pagemap_has_pfns();
}

FIXTURE_TEARDOWN(shmem_pte)
{
	close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

TEST_F(shmem_pte, private_mapping)
{
	static const char knob[] =
		"/sys/kernel/mm/transparent_hugepage/shmem_enabled";
	char old[128], *p, *shared, *base, *priv, *copy;
	long anon0, shmem0;
	int memfd;

	if (read_file(knob, old, sizeof(old)) <= 0 || !(p = strchr(old, '[')))
		SKIP(return, "no shmem THP");
	*strchr(p, ']') = 0;
	memfd = memfd_create("cowdup-thp-pte", MFD_CLOEXEC);
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, LEN));
	base = free_range(LEN + 2 * PMD_SZ, PMD_SZ);
	ASSERT_NE(NULL, base);
	shared = mmap(base, LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		      memfd, 0);
	ASSERT_EQ(base, shared);
	if (write_file(knob, "advise"))
		SKIP(return, "cannot set %s", knob);
	ASSERT_EQ(0, madvise(shared, LEN, MADV_HUGEPAGE));
	pattern_fill(shared, LEN, 1);
	ASSERT_EQ(0, write_file(knob, p + 1));
	if (range_kb(shared, LEN, "ShmemPmdMapped") != (long)(LEN / KiB))
		SKIP(return, "no shmem huge pages (ShmemPmdMapped %ld kB)",
		     range_kb(shared, LEN, "ShmemPmdMapped"));
	munmap(shared, LEN);

	priv = mmap(base + PAGE_SZ, LEN, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_FIXED, memfd, 0);
	ASSERT_EQ(base + PAGE_SZ, priv);
	ASSERT_PATTERN(priv, LEN, 1);
	pattern_fill_at(priv + 9 * PAGE_SZ, 9, 1, 2);
	ASSERT_EQ((long)(LEN / KiB), range_kb(priv, LEN, "Rss"));
	ASSERT_EQ(4L, range_kb(priv, LEN, "Anonymous"));

	anon0 = meminfo_kb("AnonPages");
	shmem0 = meminfo_kb("Shmem");
	copy = DUP_OK(self->fd, priv, LEN, 0, 0);
	ASSERT_LT(labs_(meminfo_kb("AnonPages") - anon0), SLACK_KB);
	ASSERT_LT(labs_(meminfo_kb("Shmem") - shmem0), SLACK_KB);
	ASSERT_PATTERN_AT(copy, 0, 9, 1);
	ASSERT_PAGE_PATTERN(copy + 9 * PAGE_SZ, 9, 2);
	ASSERT_PATTERN_AT(copy + 10 * PAGE_SZ, 10, NPAGES - 10, 1);
	ASSERT_EQ((long)(LEN / KiB), range_kb(copy, LEN, "Rss"));
	ASSERT_EQ(4L, range_kb(copy, LEN, "Anonymous"));
	ASSERT_SHARED(self, priv, copy, NPAGES);
	ASSERT_MAPCOUNT(self->pfns, priv, NPAGES, 2);

	/* a write to the copy stays in the copy: the file keeps its bytes */
	pattern_fill_at(copy + 100 * PAGE_SZ, 100, 1, 3);
	pattern_fill_at(priv + 513 * PAGE_SZ, 513, 1, 4);
	ASSERT_PAGE_PATTERN(priv + 100 * PAGE_SZ, 100, 1);
	ASSERT_PAGE_PATTERN(copy + 513 * PAGE_SZ, 513, 1);
	ASSERT_FILE_PATTERN(memfd, 0, NPAGES, 1);
	munmap(copy, LEN);
	ASSERT_MAPCOUNT(self->pfns, priv, NPAGES, 1);
	munmap(priv, LEN);
	close(memfd);
}

TEST_HARNESS_MAIN
