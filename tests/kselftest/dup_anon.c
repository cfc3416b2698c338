// SPDX-License-Identifier: GPL-2.0
/*
 * dup_anon: copy-on-write of private anonymous memory (contract section 2,
 * semantics 1, 3, 4, 5, 8, 9): both directions, copies of copies, several
 * VMAs, mprotect/madvise/munmap/mremap on either side, placement (hint,
 * FIXED, FIXED_NOREPLACE), restore, sealed and wipe-on-fork sources,
 * mlock, and threads writing the source during the call.
 *
 * Regions are MADV_NOHUGEPAGE (huge pages: dup_thp) so pagemap PFNs can be
 * compared page by page: right after a dup both sides map the same
 * physical page, after a write they do not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#ifndef __NR_mseal
#define __NR_mseal 462
#endif

FIXTURE(anon) {
	int fd;
	int kmsg;
	bool pfns;
	struct maps_snap maps;
};

FIXTURE_SETUP(anon)
{
	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", COWDUP_DEVICE_PATH,
				      strerror(errno));
	self->pfns = pagemap_has_pfns();
	if (!self->pfns)
		TH_LOG("pagemap shows no PFNs: sharing checks skipped");
}

FIXTURE_TEARDOWN(anon)
{
	close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}


/* After writes on one side: no page is shared any more */
#define ASSERT_NOT_SHARED(self, a, b, n) do { \
	if ((self)->pfns) \
		ASSERT_EQ((size_t)0, pages_same_pfn((a), (b), (n))); \
} while (0)

/* pagemap "exclusively mapped" bit of every page of [p, p + n pages) */
static size_t count_exclusive(const void *p, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		if (pagemap_entry((const char *)p + i * PAGE_SZ) &
		    PM_MMAP_EXCLUSIVE)
			c++;
	return c;
}

FIXTURE_VARIANT(anon_cow) {
	size_t npages;
	bool copy_first;	/* which side is written first */
};
FIXTURE(anon_cow) {
	int fd;
	int kmsg;
	bool pfns;
};
FIXTURE_VARIANT_ADD(anon_cow, one_page_copy_first) { 1, true };
FIXTURE_VARIANT_ADD(anon_cow, one_page_src_first) { 1, false };
FIXTURE_VARIANT_ADD(anon_cow, pages_64_copy_first) { 64, true };
FIXTURE_VARIANT_ADD(anon_cow, pages_64_src_first) { 64, false };
FIXTURE_VARIANT_ADD(anon_cow, pages_1027_copy_first) { 1027, true };
FIXTURE_VARIANT_ADD(anon_cow, pages_1027_src_first) { 1027, false };

FIXTURE_SETUP(anon_cow)
{
	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd);
	self->pfns = pagemap_has_pfns();
}

FIXTURE_TEARDOWN(anon_cow)
{
	close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/* Semantics 1 and 2: same bytes, same pages; then each write is private */
TEST_F(anon_cow, both_directions)
{
	size_t n = variant->npages, len = n * PAGE_SZ, i;
	char *src, *copy, *first, *second;

	src = anon_map(len);
	ASSERT_NE(MAP_FAILED, src);
	pattern_fill(src, len, 1);
	copy = DUP_OK(self->fd, src, len, 0, 0);
	ASSERT_NE(NULL, copy);
	ASSERT_TRUE(copy + len <= src || src + len <= copy);
	ASSERT_PATTERN(copy, len, 1);
	ASSERT_PATTERN(src, len, 1);
	ASSERT_SHARED(self, src, copy, n);
	if (self->pfns) {
		/* each page is mapped twice now */
		ASSERT_EQ((size_t)0, count_exclusive(src, n));
		ASSERT_EQ((size_t)0, count_exclusive(copy, n));
	}

	first = variant->copy_first ? copy : src;
	second = variant->copy_first ? src : copy;

	/* one byte in the middle page: only that byte changes, one side */
	first[(n / 2) * PAGE_SZ + 123] ^= 0xff;
	ASSERT_PATTERN(second, len, 1);
	first[(n / 2) * PAGE_SZ + 123] ^= 0xff;
	ASSERT_PATTERN(first, len, 1);
	if (self->pfns) {
		ASSERT_EQ(n - 1, pages_same_pfn(src, copy, n));
	}

	/* every page of the first side */
	pattern_fill(first, len, 2);
	ASSERT_PATTERN(first, len, 2);
	ASSERT_PATTERN(second, len, 1);
	ASSERT_NOT_SHARED(self, src, copy, n);
	if (self->pfns) {
		/* the second side is the only mapper of the old pages */
		ASSERT_EQ(n, count_exclusive(second, n));
		ASSERT_EQ(n, count_exclusive(first, n));
	}

	/* then the second side */
	pattern_fill(second, len, 3);
	ASSERT_PATTERN(first, len, 2);
	ASSERT_PATTERN(second, len, 3);

	/* every other page back and forth */
	for (i = 0; i < n; i += 2)
		pattern_fill_at(first + i * PAGE_SZ, i, 1, 4);
	for (i = 0; i < n; i++) {
		ASSERT_PAGE_PATTERN(first + i * PAGE_SZ, i, (i % 2) ? 2 : 4);
		ASSERT_PAGE_PATTERN(second + i * PAGE_SZ, i, 3);
	}
	ASSERT_EQ(0, munmap(first, len));
	ASSERT_PATTERN(second, len, 3);
	ASSERT_EQ(0, munmap(second, len));
}

/* Semantics 3: copies of copies and more copies of the original */
TEST_F(anon, copies_of_copies)
{
	const size_t n = 16, len = n * PAGE_SZ;
	char *src, *c1, *c2, *c3, *c4;

	src = anon_map(len);
	ASSERT_NE(MAP_FAILED, src);
	pattern_fill(src, len, 1);
	c1 = DUP_OK(self->fd, src, len, 0, 0);
	c2 = DUP_OK(self->fd, c1, len, 0, 0);
	c3 = DUP_OK(self->fd, src, len, 0, 0);
	ASSERT_PATTERN(c1, len, 1);
	ASSERT_PATTERN(c2, len, 1);
	ASSERT_PATTERN(c3, len, 1);
	ASSERT_SHARED(self, src, c1, n);
	ASSERT_SHARED(self, src, c2, n);
	ASSERT_SHARED(self, src, c3, n);

	pattern_fill(c2, len, 2);
	ASSERT_PATTERN(src, len, 1);
	ASSERT_PATTERN(c1, len, 1);
	ASSERT_PATTERN(c3, len, 1);
	pattern_fill(src, len, 3);
	ASSERT_PATTERN(c1, len, 1);
	ASSERT_PATTERN(c2, len, 2);
	ASSERT_PATTERN(c3, len, 1);
	pattern_fill(c1, len / 2, 4);
	ASSERT_PATTERN(c3, len, 1);
	/* copy of a partly written copy */
	c4 = DUP_OK(self->fd, c1, len, 0, 0);
	ASSERT_PATTERN_AT(c4, 0, n / 2, 4);
	ASSERT_PATTERN_AT(c4 + len / 2, n / 2, n / 2, 1);
	pattern_fill(c3, len, 5);
	pattern_fill(c4, len, 6);

	ASSERT_PATTERN(src, len, 3);
	ASSERT_PATTERN_AT(c1, 0, n / 2, 4);
	ASSERT_PATTERN_AT(c1 + len / 2, n / 2, n / 2, 1);
	ASSERT_PATTERN(c2, len, 2);
	ASSERT_PATTERN(c3, len, 5);
	ASSERT_PATTERN(c4, len, 6);
	/* unmapping in creation order leaves the later ones intact */
	munmap(src, len);
	munmap(c1, len);
	ASSERT_PATTERN(c2, len, 2);
	ASSERT_PATTERN(c3, len, 5);
	ASSERT_PATTERN(c4, len, 6);
	munmap(c2, len);
	munmap(c3, len);
	munmap(c4, len);
}

/* Semantics 3: a long chain of generations, each keeps its own state */
TEST_F(anon, generation_chain)
{
	enum { GENS = 24, N = 8 };
	const size_t len = N * PAGE_SZ;
	char *gen[GENS];
	int g, h;

	gen[0] = anon_map(len);
	ASSERT_NE(MAP_FAILED, gen[0]);
	pattern_fill(gen[0], len, 100);
	for (g = 1; g < GENS; g++) {
		gen[g] = DUP_OK(self->fd, gen[g - 1], len, 0, 0);
		/* generation g changes page g % N to seed 100 + g */
		pattern_fill_at(gen[g] + (g % N) * PAGE_SZ, g % N, 1, 100 + g);
	}
	for (g = 0; g < GENS; g++) {
		int p;

		for (p = 0; p < N; p++) {
			/* latest generation <= g that wrote page p */
			uint64_t seed = 100;

			for (h = 1; h <= g; h++)
				if (h % N == p)
					seed = 100 + h;
			ASSERT_PAGE_PATTERN(gen[g] + p * PAGE_SZ, p, seed);
		}
	}
	for (g = 0; g < GENS; g++)
		munmap(gen[g], len);
}

/* Semantics 4 and 5: several VMAs, each keeps its protection */
TEST_F(anon, several_vmas_keep_protection)
{
	const size_t n = 8, len = n * PAGE_SZ;
	/* pages: 0-1 r--, 2-3 rw-, 4 r--, 5 ---, 6-7 rw- */
	static const struct { size_t first, npages; int prot; const char *perms; }
	parts[] = {
		{ 0, 2, PROT_READ, "r--p" },
		{ 2, 2, PROT_READ | PROT_WRITE, "rw-p" },
		{ 4, 1, PROT_READ, "r--p" },
		{ 5, 1, PROT_NONE, "---p" },
		{ 6, 2, PROT_READ | PROT_WRITE, "rw-p" },
	};
	char *src, *copy, perms[5], name[256];
	uintptr_t s, e;
	size_t i;

	src = anon_map(len);
	ASSERT_NE(MAP_FAILED, src);
	pattern_fill(src, len, 1);
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, mprotect(src + parts[i].first * PAGE_SZ,
				      parts[i].npages * PAGE_SZ, parts[i].prot));
	}
	ASSERT_EQ(5, maps_count_range((uintptr_t)src, (uintptr_t)src + len));

	copy = DUP_OK(self->fd, src, len, 0, 0);
	ASSERT_EQ(5, maps_count_range((uintptr_t)copy, (uintptr_t)copy + len));
	for (i = 0; i < 5; i++) {
		char *p = copy + parts[i].first * PAGE_SZ;

		ASSERT_EQ(0, maps_find((uintptr_t)p, &s, &e, perms, name,
				       sizeof(name)));
		ASSERT_EQ((uintptr_t)p, s);
		ASSERT_EQ((uintptr_t)p + parts[i].npages * PAGE_SZ, e);
		ASSERT_STREQ(parts[i].perms, perms);
		ASSERT_STREQ("", name);
		if (parts[i].prot != PROT_NONE)
			ASSERT_PATTERN_AT(p, parts[i].first, parts[i].npages, 1);
	}
	/* the PROT_NONE part carried its data */
	ASSERT_EQ(0, mprotect(copy + 5 * PAGE_SZ, PAGE_SZ, PROT_READ));
	ASSERT_PATTERN_AT(copy + 5 * PAGE_SZ, 5, 1, 1);
	/* read-only parts become writable only by mprotect, privately */
	ASSERT_EQ(0, mprotect(copy, 2 * PAGE_SZ, PROT_READ | PROT_WRITE));
	pattern_fill_at(copy, 0, 2, 2);
	pattern_fill_at(copy + 2 * PAGE_SZ, 2, 2, 3);
	ASSERT_PATTERN_AT(src, 0, 5, 1);
	ASSERT_PATTERN_AT(src + 6 * PAGE_SZ, 6, 2, 1);
	ASSERT_EQ(0, mprotect(src + 5 * PAGE_SZ, PAGE_SZ, PROT_READ));
	ASSERT_PATTERN_AT(src + 5 * PAGE_SZ, 5, 1, 1);
	munmap(src, len);
	munmap(copy, len);
}

FIXTURE_VARIANT(anon_side) {
	bool on_copy;		/* operate on the copy (else on the source) */
};
FIXTURE(anon_side) {
	int fd;
	int kmsg;
	bool pfns;
	char *src, *copy, *side, *other;
	size_t n, len;
};
FIXTURE_VARIANT_ADD(anon_side, copy) { true };
FIXTURE_VARIANT_ADD(anon_side, source) { false };

FIXTURE_SETUP(anon_side)
{
	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd);
	self->pfns = pagemap_has_pfns();
	self->n = 16;
	self->len = self->n * PAGE_SZ;
	self->src = anon_map(self->len);
	ASSERT_NE(MAP_FAILED, self->src);
	pattern_fill(self->src, self->len, 1);
	self->copy = DUP_OK(self->fd, self->src, self->len, 0, 0);
	ASSERT_PATTERN(self->copy, self->len, 1);
	self->side = variant->on_copy ? self->copy : self->src;
	self->other = variant->on_copy ? self->src : self->copy;
}

FIXTURE_TEARDOWN(anon_side)
{
	close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/* mprotect R then RW must not make a shared page writable in place */
TEST_F(anon_side, mprotect_cycle_no_leak)
{
	ASSERT_EQ(0, mprotect(self->side, self->len, PROT_READ));
	ASSERT_PATTERN(self->side, self->len, 1);
	ASSERT_EQ(0, mprotect(self->side, self->len, PROT_READ | PROT_WRITE));
	pattern_fill(self->side, self->len, 2);
	ASSERT_PATTERN(self->other, self->len, 1);
	ASSERT_PATTERN(self->side, self->len, 2);
	/* and the other side, cycled too, keeps its own */
	ASSERT_EQ(0, mprotect(self->other, self->len, PROT_READ));
	ASSERT_EQ(0, mprotect(self->other, self->len, PROT_READ | PROT_WRITE));
	pattern_fill(self->other, self->len, 3);
	ASSERT_PATTERN(self->side, self->len, 2);
	ASSERT_PATTERN(self->other, self->len, 3);
}

/* mprotect R then RW of part of one side, both sides cycled together */
TEST_F(anon_side, mprotect_partial_cycle_no_leak)
{
	char *mid = self->side + 4 * PAGE_SZ;

	ASSERT_EQ(0, mprotect(mid, 8 * PAGE_SZ, PROT_READ));
	ASSERT_EQ(0, mprotect(self->other, self->len, PROT_READ));
	ASSERT_EQ(0, mprotect(mid, 8 * PAGE_SZ, PROT_READ | PROT_WRITE));
	ASSERT_EQ(0, mprotect(self->other, self->len, PROT_READ | PROT_WRITE));
	pattern_fill_at(mid, 4, 8, 2);
	ASSERT_PATTERN(self->other, self->len, 1);
	pattern_fill(self->other, self->len, 3);
	ASSERT_PATTERN_AT(self->side, 0, 4, 1);
	ASSERT_PATTERN_AT(mid, 4, 8, 2);
	ASSERT_PATTERN_AT(self->side + 12 * PAGE_SZ, 12, 4, 1);
}

/* MADV_DONTNEED punches a hole in one side only */
TEST_F(anon_side, dontneed_punches_one_side)
{
	size_t i;

	ASSERT_EQ(0, madvise(self->side + 3 * PAGE_SZ, 2 * PAGE_SZ,
			     MADV_DONTNEED));
	for (i = 0; i < self->n; i++) {
		if (i == 3 || i == 4)
			ASSERT_PAGE_PATTERN(self->side + i * PAGE_SZ, i, 0);
		else
			ASSERT_PAGE_PATTERN(self->side + i * PAGE_SZ, i, 1);
	}
	ASSERT_PATTERN(self->other, self->len, 1);
	/* the hole is fresh memory of its own */
	pattern_fill_at(self->side + 3 * PAGE_SZ, 3, 2, 5);
	ASSERT_PATTERN(self->other, self->len, 1);
	ASSERT_PATTERN_AT(self->side + 3 * PAGE_SZ, 3, 2, 5);
	/* the whole side */
	ASSERT_EQ(0, madvise(self->side, self->len, MADV_DONTNEED));
	ASSERT_PATTERN(self->side, self->len, 0);
	ASSERT_PATTERN(self->other, self->len, 1);
}

/* munmap of part of one side: the rest of both sides intact */
TEST_F(anon_side, munmap_split)
{
	ASSERT_EQ(0, munmap(self->side + 5 * PAGE_SZ, 3 * PAGE_SZ));
	ASSERT_PATTERN_AT(self->side, 0, 5, 1);
	ASSERT_PATTERN_AT(self->side + 8 * PAGE_SZ, 8, 8, 1);
	ASSERT_PATTERN(self->other, self->len, 1);
	pattern_fill_at(self->side, 0, 5, 2);
	pattern_fill_at(self->side + 8 * PAGE_SZ, 8, 8, 3);
	ASSERT_PATTERN(self->other, self->len, 1);
	/* the other side alone now */
	pattern_fill(self->other, self->len, 4);
	ASSERT_PATTERN_AT(self->side, 0, 5, 2);
	ASSERT_PATTERN_AT(self->side + 8 * PAGE_SZ, 8, 8, 3);
	ASSERT_EQ(0, munmap(self->other, self->len));
	ASSERT_PATTERN_AT(self->side, 0, 5, 2);
}

/* mremap part of one side elsewhere, and grow one side in place */
TEST_F(anon_side, mremap_split)
{
	char *to = free_range(4 * PAGE_SZ, PAGE_SZ), *moved, *grown;

	ASSERT_NE(NULL, to);
	moved = mremap(self->side + 2 * PAGE_SZ, 4 * PAGE_SZ, 4 * PAGE_SZ,
		       MREMAP_MAYMOVE | MREMAP_FIXED, to);
	ASSERT_EQ(to, moved);
	ASSERT_PATTERN_AT(moved, 2, 4, 1);
	ASSERT_PATTERN(self->other, self->len, 1);
	pattern_fill_at(moved, 2, 4, 2);
	ASSERT_PATTERN(self->other, self->len, 1);
	pattern_fill(self->other, self->len, 3);
	ASSERT_PATTERN_AT(moved, 2, 4, 2);
	ASSERT_PATTERN_AT(self->side, 0, 2, 1);
	ASSERT_PATTERN_AT(self->side + 6 * PAGE_SZ, 6, 10, 1);

	/* move the tail [6, 16) of the side, growing it by 4 pages */
	grown = mremap(self->side + 6 * PAGE_SZ, 10 * PAGE_SZ, 14 * PAGE_SZ,
		       MREMAP_MAYMOVE);
	ASSERT_NE(MAP_FAILED, grown);
	ASSERT_PATTERN_AT(grown, 6, 10, 1);
	ASSERT_PATTERN_AT(grown + 10 * PAGE_SZ, 0, 4, 0);
	pattern_fill_at(grown, 6, 10, 4);
	ASSERT_PATTERN(self->other, self->len, 3);
	ASSERT_PATTERN_AT(moved, 2, 4, 2);
	munmap(grown, 14 * PAGE_SZ);
	munmap(moved, 4 * PAGE_SZ);
}

/* mprotect of part of one side: three VMAs, data and COW unchanged */
TEST_F(anon_side, mprotect_split)
{
	char perms[5];
	uintptr_t s, e;

	ASSERT_EQ(0, mprotect(self->side + 4 * PAGE_SZ, 4 * PAGE_SZ, PROT_READ));
	ASSERT_EQ(3, maps_count_range((uintptr_t)self->side,
				      (uintptr_t)self->side + self->len));
	ASSERT_EQ(0, maps_find((uintptr_t)self->side + 5 * PAGE_SZ, &s, &e,
			       perms, NULL, 0));
	ASSERT_EQ((uintptr_t)self->side + 4 * PAGE_SZ, s);
	ASSERT_EQ((uintptr_t)self->side + 8 * PAGE_SZ, e);
	ASSERT_STREQ("r--p", perms);
	ASSERT_PATTERN(self->side, self->len, 1);
	pattern_fill_at(self->side, 0, 4, 2);
	pattern_fill_at(self->side + 8 * PAGE_SZ, 8, 8, 2);
	ASSERT_PATTERN(self->other, self->len, 1);
	ASSERT_PATTERN_AT(self->side + 4 * PAGE_SZ, 4, 4, 1);
	/* back to one protection: writes there are private too */
	ASSERT_EQ(0, mprotect(self->side, self->len, PROT_READ | PROT_WRITE));
	pattern_fill_at(self->side + 4 * PAGE_SZ, 4, 4, 2);
	ASSERT_PATTERN(self->side, self->len, 2);
	ASSERT_PATTERN(self->other, self->len, 1);
}

/* A further dup of one side after the other side went away */
TEST_F(anon_side, dup_after_other_unmapped)
{
	char *again;

	ASSERT_EQ(0, munmap(self->other, self->len));
	again = DUP_OK(self->fd, self->side, self->len, 0, 0);
	ASSERT_PATTERN(again, self->len, 1);
	ASSERT_SHARED(self, self->side, again, self->n);
	pattern_fill(self->side, self->len, 2);
	ASSERT_PATTERN(again, self->len, 1);
	munmap(again, self->len);
	ASSERT_PATTERN(self->side, self->len, 2);
}

/* Pages never touched, or only read, stay independent after the dup */
TEST_F(anon, sparse_source)
{
	const size_t n = 8, len = n * PAGE_SZ;
	char *src, *copy;
	volatile char c;
	size_t i;

	src = anon_map(len);
	ASSERT_NE(MAP_FAILED, src);
	pattern_fill_at(src, 0, 1, 1);
	pattern_fill_at(src + 3 * PAGE_SZ, 3, 1, 1);
	c = src[5 * PAGE_SZ];		/* zero page */
	(void)c;
	copy = DUP_OK(self->fd, src, len, 0, 0);
	for (i = 0; i < n; i++)
		ASSERT_PAGE_PATTERN(copy + i * PAGE_SZ, i,
				    (i == 0 || i == 3) ? 1 : 0);
	/* a never-touched page written on one side */
	pattern_fill_at(src + PAGE_SZ, 1, 1, 2);
	pattern_fill_at(copy + 2 * PAGE_SZ, 2, 1, 3);
	pattern_fill_at(copy + 5 * PAGE_SZ, 5, 1, 4);
	ASSERT_PAGE_PATTERN(copy + PAGE_SZ, 1, 0);
	ASSERT_PAGE_PATTERN(src + 2 * PAGE_SZ, 2, 0);
	ASSERT_PAGE_PATTERN(src + 5 * PAGE_SZ, 5, 0);
	ASSERT_PAGE_PATTERN(src + PAGE_SZ, 1, 2);
	ASSERT_PAGE_PATTERN(copy + 2 * PAGE_SZ, 2, 3);
	ASSERT_PAGE_PATTERN(copy + 5 * PAGE_SZ, 5, 4);
	munmap(src, len);
	munmap(copy, len);
}

/* Placement without a flag: chosen address, and the hint rules */
TEST_F(anon, placement_hint)
{
	const size_t len = 8 * PAGE_SZ;
	char *base, *src, *copy, *hint, *busy;

	/* a source that is not PMD aligned (offset 0x123000 in its PMD) */
	base = mmap_aligned(PMD_SZ, PMD_SZ, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS);
	ASSERT_NE(MAP_FAILED, base);
	ASSERT_EQ(0, munmap(base, PMD_SZ));
	src = mmap(base + 0x123000, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ASSERT_EQ(base + 0x123000, src);
	pattern_fill(src, len, 1);

	/* dst 0: the module chooses, aligned like src modulo the PMD size */
	copy = DUP_OK(self->fd, src, len, 0, 0);
	ASSERT_EQ(0UL, ((uintptr_t)copy - (uintptr_t)src) % PMD_SZ);
	ASSERT_PATTERN(copy, len, 1);
	munmap(copy, len);

	/* a free hint aligned like src is taken */
	hint = (char *)free_range(2 * PMD_SZ, PMD_SZ) + 0x123000;
	copy = DUP_OK(self->fd, src, len, hint, 0);
	ASSERT_EQ(hint, copy);
	ASSERT_PATTERN(copy, len, 1);
	munmap(copy, len);

	/* a free hint not aligned like src is not */
	hint = (char *)free_range(2 * PMD_SZ, PMD_SZ) + 0x5000;
	copy = DUP_OK(self->fd, src, len, hint, 0);
	ASSERT_NE(hint, copy);
	ASSERT_EQ(0UL, ((uintptr_t)copy - (uintptr_t)src) % PMD_SZ);
	ASSERT_PATTERN(copy, len, 1);
	munmap(copy, len);

	/* a hint over a mapping is not taken, the mapping stays */
	busy = mmap_aligned(2 * PMD_SZ, PMD_SZ, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS);
	ASSERT_NE(MAP_FAILED, busy);
	pattern_fill(busy, 2 * PMD_SZ, 7);
	hint = busy + 0x123000;
	copy = DUP_OK(self->fd, src, len, hint, 0);
	ASSERT_TRUE(copy + len <= busy || copy >= busy + 2 * PMD_SZ);
	ASSERT_EQ(0UL, ((uintptr_t)copy - (uintptr_t)src) % PMD_SZ);
	ASSERT_PATTERN(busy, 2 * PMD_SZ, 7);
	ASSERT_PATTERN(copy, len, 1);
	munmap(copy, len);
	munmap(busy, 2 * PMD_SZ);

	/* a hint beyond the user address space is only a hint */
	copy = DUP_OK(self->fd, src, len, user_space_end() + 0x123000, 0);
	ASSERT_LT((uintptr_t)copy, user_space_end());
	ASSERT_PATTERN(copy, len, 1);
	munmap(copy, len);
	munmap(src, len);
}

/* COWDUP_FIXED_NOREPLACE into a free range: exactly there */
TEST_F(anon, fixed_noreplace_free_range)
{
	const size_t len = 4 * PAGE_SZ;
	char *src, *dst, *copy;

	src = anon_map(len);
	ASSERT_NE(MAP_FAILED, src);
	pattern_fill(src, len, 1);
	dst = free_range(len, PAGE_SZ);
	ASSERT_NE(NULL, dst);
	copy = DUP_OK(self->fd, src, len, dst, COWDUP_FIXED_NOREPLACE);
	ASSERT_EQ(dst, copy);
	ASSERT_PATTERN(copy, len, 1);
	ASSERT_EQ(1, maps_count_range((uintptr_t)dst, (uintptr_t)dst + len));
	pattern_fill(copy, len, 2);
	ASSERT_PATTERN(src, len, 1);
	munmap(copy, len);
	munmap(src, len);
}

/* COWDUP_FIXED over existing memory replaces exactly that range */
TEST_F(anon, fixed_replaces_existing)
{
	const size_t len = 4 * PAGE_SZ, tlen = 10 * PAGE_SZ;
	char *src, *target, *copy, perms[5];
	uintptr_t s, e;

	src = anon_map(len);
	ASSERT_NE(MAP_FAILED, src);
	pattern_fill(src, len, 1);
	target = anon_map(tlen);
	ASSERT_NE(MAP_FAILED, target);
	pattern_fill(target, tlen, 9);
	/* make the target's middle read-only: FIXED replaces it too */
	ASSERT_EQ(0, mprotect(target + 4 * PAGE_SZ, PAGE_SZ, PROT_READ));

	copy = DUP_OK(self->fd, src, len, target + 3 * PAGE_SZ, COWDUP_FIXED);
	ASSERT_EQ(target + 3 * PAGE_SZ, copy);
	ASSERT_PATTERN_AT(target, 0, 3, 9);
	ASSERT_PATTERN(copy, len, 1);
	ASSERT_PATTERN_AT(target + 7 * PAGE_SZ, 7, 3, 9);
	ASSERT_EQ(0, maps_find((uintptr_t)copy, &s, &e, perms, NULL, 0));
	ASSERT_EQ((uintptr_t)copy, s);
	ASSERT_EQ((uintptr_t)copy + len, e);
	ASSERT_STREQ("rw-p", perms);
	ASSERT_SHARED(self, src, copy, 4);

	pattern_fill(copy, len, 2);
	ASSERT_PATTERN(src, len, 1);
	pattern_fill(src, len, 3);
	ASSERT_PATTERN(copy, len, 2);
	ASSERT_PATTERN_AT(target, 0, 3, 9);
	ASSERT_PATTERN_AT(target + 7 * PAGE_SZ, 7, 3, 9);
	munmap(target, tlen);
	munmap(src, len);
}

/* Restore: a FIXED dup of a snapshot over the live range */
TEST_F(anon, restore_from_snapshot)
{
	const size_t n = 32, len = n * PAGE_SZ;
	char *live, *snap, *back, perms[5];
	uintptr_t s, e;
	int round;

	live = anon_map(len);
	ASSERT_NE(MAP_FAILED, live);
	pattern_fill(live, len, 1);
	snap = DUP_OK(self->fd, live, len, 0, 0);

	for (round = 0; round < 3; round++) {
		/* the live side moves on: some pages written, one punched */
		pattern_fill_at(live + 4 * PAGE_SZ, 4, 10, 10 + round);
		ASSERT_EQ(0, madvise(live + 20 * PAGE_SZ, PAGE_SZ, MADV_DONTNEED));
		ASSERT_PATTERN(snap, len, 1);

		back = DUP_OK(self->fd, snap, len, live, COWDUP_FIXED);
		ASSERT_EQ(live, back);
		ASSERT_PATTERN(live, len, 1);
		ASSERT_SHARED(self, live, snap, n);
		ASSERT_EQ(0, maps_find((uintptr_t)live, &s, &e, perms, NULL, 0));
		ASSERT_LE(s, (uintptr_t)live);
		ASSERT_LE((uintptr_t)live + len, e);
		ASSERT_STREQ("rw-p", perms);

		/* both independent afterwards */
		pattern_fill_at(live, 0, 2, 20 + round);
		ASSERT_PATTERN(snap, len, 1);
		pattern_fill_at(snap + (n - 1) * PAGE_SZ, n - 1, 1, 30 + round);
		ASSERT_PAGE_PATTERN(live + (n - 1) * PAGE_SZ, n - 1, 1);
		pattern_fill_at(snap + (n - 1) * PAGE_SZ, n - 1, 1, 1);
	}
	munmap(live, len);
	ASSERT_PATTERN(snap, len, 1);
	munmap(snap, len);
}

/* Semantics 4: a dup (and munmap) of a range spanning source and copy */
TEST_F(anon, range_spanning_source_and_copy)
{
	const size_t n = 4, len = n * PAGE_SZ;
	char *area, *copy, *both;

	area = anon_map(2 * len);
	ASSERT_NE(MAP_FAILED, area);
	ASSERT_EQ(0, munmap(area + len, len));
	pattern_fill(area, len, 1);
	copy = DUP_OK(self->fd, area, len, area + len, COWDUP_FIXED_NOREPLACE);
	ASSERT_EQ(area + len, copy);
	pattern_fill_at(copy + PAGE_SZ, 1, 1, 2);

	both = DUP_OK(self->fd, area, 2 * len, 0, 0);
	ASSERT_PATTERN(both, len, 1);
	ASSERT_PATTERN_AT(both + len, 0, 1, 1);
	ASSERT_PATTERN_AT(both + len + PAGE_SZ, 1, 1, 2);
	ASSERT_PATTERN_AT(both + len + 2 * PAGE_SZ, 2, 2, 1);
	pattern_fill(both, 2 * len, 3);
	ASSERT_PATTERN(area, len, 1);
	ASSERT_PATTERN_AT(copy, 0, 1, 1);
	ASSERT_PATTERN_AT(copy + PAGE_SZ, 1, 1, 2);

	/* one munmap across source and copy */
	ASSERT_EQ(0, munmap(area + 2 * PAGE_SZ, len));
	ASSERT_PATTERN_AT(area, 0, 2, 1);
	ASSERT_PATTERN_AT(copy + 2 * PAGE_SZ, 2, 2, 1);
	ASSERT_PATTERN(both, 2 * len, 3);
	/* and mprotect across the remaining ends of both */
	munmap(area, 2 * len);
	munmap(both, 2 * len);
}

/* Semantics 8: a sealed source can be duplicated; the copy is not sealed */
TEST_F(anon, sealed_source)
{
	const size_t len = 4 * PAGE_SZ;
	char *src, *copy;

	src = anon_map(len);
	ASSERT_NE(MAP_FAILED, src);
	pattern_fill(src, len, 1);
	if (syscall(__NR_mseal, src, len, 0) != 0) {
		ASSERT_TRUE(errno == ENOSYS || errno == EPERM || errno == EINVAL);
		SKIP(return, "mseal not available: %s", strerror(errno));
	}
	copy = DUP_OK(self->fd, src, len, 0, 0);
	ASSERT_PATTERN(copy, len, 1);
	pattern_fill(copy, len, 2);
	ASSERT_PATTERN(src, len, 1);
	ASSERT_FALSE(smaps_has_flag((uintptr_t)copy, "sl"));
	ASSERT_TRUE(smaps_has_flag((uintptr_t)src, "sl"));
	ASSERT_EQ(0, mprotect(copy, len, PROT_READ));
	ASSERT_EQ(0, munmap(copy, len));
	ASSERT_EQ(-1, munmap(src, len));
	ASSERT_EQ(EPERM, errno);
}

/* Semantics 8: MADV_WIPEONFORK source memory gives zero-filled copy */
TEST_F(anon, wipeonfork_source_zero_copy)
{
	const size_t n = 8, len = n * PAGE_SZ;
	char *src, *copy;

	src = anon_map(len);
	ASSERT_NE(MAP_FAILED, src);
	pattern_fill(src, len, 1);
	ASSERT_EQ(0, madvise(src, len, MADV_WIPEONFORK));
	copy = DUP_OK(self->fd, src, len, 0, 0);
	ASSERT_EQ((size_t)0, pages_present(copy, n));
	ASSERT_PATTERN(copy, len, 0);
	ASSERT_PATTERN(src, len, 1);
	pattern_fill(copy, len, 2);
	ASSERT_PATTERN(src, len, 1);
	munmap(copy, len);
	munmap(src, len);
}

/* Semantics 8: the copy of mlocked memory is not mlocked */
TEST_F(anon, mlocked_source_copy_not_locked)
{
	const size_t n = 16, len = n * PAGE_SZ;
	long lck0, lck1;
	char *src, *copy;

	src = anon_map(len);
	ASSERT_NE(MAP_FAILED, src);
	pattern_fill(src, len, 1);
	lck0 = status_kb("VmLck");
	ASSERT_EQ(0, mlock(src, len));
	lck1 = status_kb("VmLck");
	ASSERT_EQ(lck0 + (long)(len / KiB), lck1);
	ASSERT_TRUE(smaps_has_flag((uintptr_t)src, "lo"));

	copy = DUP_OK(self->fd, src, len, 0, 0);
	ASSERT_PATTERN(copy, len, 1);
	ASSERT_EQ(lck1, status_kb("VmLck"));
	ASSERT_TRUE(smaps_has_flag((uintptr_t)src, "lo"));
	ASSERT_FALSE(smaps_has_flag((uintptr_t)copy, "lo"));
	/* smaps "Locked" is proportional: shared pages count half */
	ASSERT_EQ(0, smaps_range_kb((uintptr_t)copy, (uintptr_t)copy + len,
				    "Locked"));
	ASSERT_EQ((long)(len / KiB / 2),
		  smaps_range_kb((uintptr_t)src, (uintptr_t)src + len,
				 "Locked"));
	/* the locked source stays resident and writable, privately */
	pattern_fill(src, len, 2);
	ASSERT_PATTERN(copy, len, 1);
	ASSERT_EQ(n, pages_present(src, n));
	ASSERT_EQ((long)(len / KiB),
		  smaps_range_kb((uintptr_t)src, (uintptr_t)src + len,
				 "Locked"));
	ASSERT_EQ(0, smaps_range_kb((uintptr_t)copy, (uintptr_t)copy + len,
				    "Locked"));
	munmap(copy, len);
	munlock(src, len);
	munmap(src, len);
}

/*
 * Semantics 8: userfaultfd registrations and uffd-wp markers stay with
 * the source.  Checked through smaps VmFlags (um/uw) and pagemap bit 57
 * before the copy is touched (a registered copy would block the fault).
 */
#define PM_UFFD_WP	(1ULL << 57)

TEST_F(anon, userfaultfd_not_carried_over)
{
	const size_t n = 8, len = n * PAGE_SZ;
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_PAGEFAULT_FLAG_WP };
	struct uffdio_register reg;
	struct uffdio_writeprotect wp;
	char *src, *copy, buf[64];
	size_t i;
	int uffd;

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		SKIP(return, "userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	src = anon_map(len);
	ASSERT_NE(MAP_FAILED, src);
	pattern_fill(src, len / 2, 1);	/* pages 4-7 stay missing */
	reg.range.start = (uintptr_t)src;
	reg.range.len = len;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));
	wp.range.start = (uintptr_t)src;
	wp.range.len = len / 2;
	wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_WRITEPROTECT, &wp));
	ASSERT_TRUE(smaps_has_flag((uintptr_t)src, "um"));
	ASSERT_TRUE(smaps_has_flag((uintptr_t)src, "uw"));
	ASSERT_NE(0ULL, pagemap_entry(src) & PM_UFFD_WP);

	copy = DUP_OK(self->fd, src, len, 0, 0);
	ASSERT_FALSE(smaps_has_flag((uintptr_t)copy, "um"));
	ASSERT_FALSE(smaps_has_flag((uintptr_t)copy, "uw"));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0ULL, pagemap_entry(copy + i * PAGE_SZ) & PM_UFFD_WP);
	}
	/* safe to touch now: missing pages read zero, wp pages write */
	ASSERT_PATTERN_AT(copy, 0, n / 2, 1);
	ASSERT_PATTERN_AT(copy + len / 2, n / 2, n / 2, 0);
	pattern_fill(copy, len, 2);
	ASSERT_EQ(-1, read(uffd, buf, sizeof(buf)));
	ASSERT_EQ(EAGAIN, errno);
	/* the source keeps both */
	ASSERT_TRUE(smaps_has_flag((uintptr_t)src, "um"));
	ASSERT_NE(0ULL, pagemap_entry(src) & PM_UFFD_WP);
	ASSERT_PATTERN_AT(src, 0, n / 2, 1);
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_UNREGISTER, &reg.range));
	close(uffd);
	munmap(copy, len);
	munmap(src, len);
}

/*
 * Semantics 9: threads write the source during the call.  Every page of
 * the copy holds a state the page had during the call (each writer thread
 * writes generation g to words 0..511 of a page in order, so a consistent
 * state reads w[0] >= w[1] >= ... >= w[511] >= w[0] - 1), and the copy
 * does not change after the call returns while the writers go on (a stale
 * writable TLB entry on the writers' CPU would let it change).
 */
#define CW_PAGES	128
#define CW_THREADS	2
#define CW_WORDS	(PAGE_SZ / 8)

struct cw_ctx {
	volatile uint64_t *region;
	atomic_int stop;
	atomic_ulong rounds[CW_THREADS];
};

struct cw_arg {
	struct cw_ctx *ctx;
	int id;
};

static void *cw_writer(void *p)
{
	struct cw_arg *a = p;
	struct cw_ctx *c = a->ctx;
	uint64_t g = 0;
	size_t pg, w;

	while (!atomic_load(&c->stop)) {
		g++;
		for (pg = a->id; pg < CW_PAGES; pg += CW_THREADS) {
			volatile uint64_t *page = c->region + pg * CW_WORDS;

			for (w = 0; w < CW_WORDS; w++)
				page[w] = g;
		}
		atomic_store(&c->rounds[a->id], g);
	}
	return NULL;
}

static void cw_wait_rounds(struct cw_ctx *c, unsigned long more)
{
	unsigned long start[CW_THREADS];
	int t;

	for (t = 0; t < CW_THREADS; t++)
		start[t] = atomic_load(&c->rounds[t]);
	for (t = 0; t < CW_THREADS; t++)
		while (atomic_load(&c->rounds[t]) < start[t] + more)
			sched_yield();
}

TEST_F_TIMEOUT(anon, threads_write_source_during_dup, 300)
{
	const size_t len = CW_PAGES * PAGE_SZ;
	static uint64_t before[CW_PAGES], after[CW_PAGES];
	static uint64_t seen[CW_PAGES * CW_WORDS];
	struct cw_arg args[CW_THREADS];
	pthread_t th[CW_THREADS];
	struct cw_ctx ctx;
	uint64_t *copy;
	size_t pg, w;
	int t, round;

	memset(&ctx, 0, sizeof(ctx));
	ctx.region = anon_map(len);
	ASSERT_NE(MAP_FAILED, (void *)ctx.region);
	memset((void *)ctx.region, 0, len);
	for (t = 0; t < CW_THREADS; t++) {
		args[t].ctx = &ctx;
		args[t].id = t;
		ASSERT_EQ(0, pthread_create(&th[t], NULL, cw_writer, &args[t]));
	}
	cw_wait_rounds(&ctx, 2);

	for (round = 0; round < 8; round++) {
		for (pg = 0; pg < CW_PAGES; pg++)
			before[pg] = ctx.region[pg * CW_WORDS + CW_WORDS - 1];
		copy = DUP_OK(self->fd, (void *)ctx.region, len, 0, 0);
		for (pg = 0; pg < CW_PAGES; pg++)
			after[pg] = ctx.region[pg * CW_WORDS];
		memcpy(seen, copy, len);

		for (pg = 0; pg < CW_PAGES; pg++) {
			const uint64_t *p = seen + pg * CW_WORDS;

			ASSERT_LE(before[pg], p[CW_WORDS - 1]) {
				TH_LOG("round %d page %zu: older than before "
				       "the call", round, pg);
			}
			ASSERT_GE(after[pg], p[0]) {
				TH_LOG("round %d page %zu: newer than after "
				       "the call", round, pg);
			}
			for (w = 1; w < CW_WORDS; w++) {
				ASSERT_GE(p[w - 1], p[w]) {
					TH_LOG("round %d page %zu word %zu: "
					       "torn page %llu < %llu", round,
					       pg, w,
					       (unsigned long long)p[w - 1],
					       (unsigned long long)p[w]);
				}
			}
			ASSERT_LE(p[0], p[CW_WORDS - 1] + 1) {
				TH_LOG("round %d page %zu: torn page", round,
				       pg);
			}
		}
		/* the writers go on over every page: the copy must not move */
		cw_wait_rounds(&ctx, 3);
		ASSERT_EQ(0, memcmp(seen, copy, len)) {
			for (w = 0; w < len / 8; w++)
				if (seen[w] != copy[w])
					break;
			TH_LOG("round %d: copy changed after the call at page "
			       "%zu word %zu: %llu -> %llu", round,
			       w / CW_WORDS, w % CW_WORDS,
			       (unsigned long long)seen[w],
			       (unsigned long long)copy[w]);
		}
		ASSERT_EQ(0, munmap(copy, len));
	}
	atomic_store(&ctx.stop, 1);
	for (t = 0; t < CW_THREADS; t++)
		pthread_join(th[t], NULL);
}

TEST_HARNESS_MAIN
