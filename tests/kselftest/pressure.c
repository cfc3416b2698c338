// SPDX-License-Identifier: GPL-2.0
/*
 * pressure: copies under memory pressure and page movement (issue 5,
 * part 2), checked byte for byte after every step.
 *
 * The world: a 4 MiB source (a THP half and a small-page half), a copy of
 * it (PMD aligned: the THP shared by PMD), a copy of that copy, and a
 * copy at a misaligned address (the THP mapped by PTEs), with some pages
 * written on each side so that shared and exclusive pages mix.  The test
 * process lives in a memory cgroup of its own.  The steps:
 *   reclaim   memory.reclaim pushes shared pages to zram: every pair of
 *             sides that mapped one page before must hold the same swap
 *             entry (pagemap bits 0-54: type and offset) - reclaim found
 *             the copy through rmap and swapped the page out once - and
 *             map one page again after reading it back in
 *   thrash    memory.high far below the working set: every side read
 *             twice, pages going out and in all the time
 *   pageout   MADV_PAGEOUT and MADV_COLD on every side, MADV_FREE then
 *             reclaim (freed pages read their bytes or zeroes)
 *   compact   /proc/sys/vm/compact_memory, MADV_SOFT_OFFLINE of shared
 *             pages and move_pages() (two nodes or more): migration
 *             moves a shared page for every side at once
 *   thp       MADV_COLLAPSE of every side, then the debugfs
 *             split_huge_pages of every side
 *   ksm       identical pages merged by ksmd, a dup of merged pages,
 *             writes to merged pages, then unmerged (run=2)
 *   swapin    (a test of its own) pages swapped in by read faults, then
 *             duplicated; MADV_FREE and munmap of one side, reclaim of
 *             the other: the other keeps every byte
 * After each step every byte of every side is checked, and the sides
 * that shared a physical page before the step still share one (except
 * where the step unshares: KSM, collapse).  `cycles` runs all steps in
 * turn PRESSURE_CYCLES times (default 3) with new writes in between.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#ifndef MADV_COLD
#define MADV_COLD		20
#endif
#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE	101
#endif
#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE		(1 << 1)
#endif

#define NSIDES		6	/* source, copy, copy of copy, misaligned,
				   restored THP copy, one more */
#define NP		1024	/* pages per side: 4 MiB */
#define LEN		(NP * PAGE_SZ)
#define THP_PAGES	(PMD_SZ / PAGE_SZ)
#define CG_ROOT		"/sys/fs/cgroup"
#define CG_DIR		CG_ROOT "/cowdup-pressure"
#define KSM		"/sys/kernel/mm/ksm/"
#define SPLIT		"/sys/kernel/debug/split_huge_pages"
#define KHP_SHARED	"/sys/kernel/mm/transparent_hugepage/khugepaged/max_ptes_shared"

/* What a page holds: pattern page idx of seed (seed 0: zeroes) */
struct exp {
	uint32_t seed;
	uint16_t idx;
	uint8_t maybe_zero;	/* MADV_FREE'd: the bytes, or zeroes */
};

struct world {
	char *side[NSIDES];
	int nsides;
	struct exp e[NSIDES][NP];
	uint64_t pm[NSIDES][NP];	/* pagemap entries, last snapshot */
	uint32_t next_seed;
	int fd;
	bool pfns;
	/* figures */
	long verified_pages, swapped_shared, moved, offlined, collapsed,
	     split, ksm_merged;
};

static char why[1024];

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
}

/* A "# ..." line of the TAP output, from outside a test function */
static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("# ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void write_page(struct world *w, int s, size_t i, uint32_t seed,
		       uint16_t idx)
{
	pattern_fill_page(w->side[s] + i * PAGE_SZ, idx, seed);
	w->e[s][i].seed = seed;
	w->e[s][i].idx = idx;
	w->e[s][i].maybe_zero = 0;
}

/* A few pages of every side written: shared and exclusive pages mix */
static void scribble(struct world *w, int pct)
{
	int s;
	size_t i;

	for (s = 0; s < w->nsides; s++)
		for (i = 0; i < NP; i++)
			if (rnd(100) < (uint64_t)pct)
				write_page(w, s, i, w->next_seed++, i);
}

static bool verify(struct world *w, const char *step)
{
	static const unsigned char zero[PAGE_SZ];
	int s;
	size_t i;

	for (s = 0; s < w->nsides; s++) {
		for (i = 0; i < NP; i++) {
			const char *p = w->side[s] + i * PAGE_SZ;
			struct exp *e = &w->e[s][i];
			long off = pattern_check_page(p, e->idx, e->seed);

			w->verified_pages++;
			if (off < 0)
				continue;
			if (e->maybe_zero && !memcmp(p, zero, PAGE_SZ)) {
				e->seed = 0;
				e->maybe_zero = 0;
				continue;
			}
			fail("after %s: side %d page %zu differs at byte %ld (expected pattern %u page %u%s)",
			     step, s, i, off, e->seed, e->idx,
			     e->maybe_zero ? " or zeroes" : "");
			return false;
		}
	}
	return true;
}

/* pagemap of every side, in one read each */
static void snap_pagemap(struct world *w)
{
	static int fd = -1;
	int s;

	if (fd < 0)
		fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	for (s = 0; s < w->nsides; s++)
		if (pread(fd, w->pm[s], sizeof(w->pm[s]),
			  (off_t)((uintptr_t)w->side[s] / PAGE_SZ) * 8) !=
		    (ssize_t)sizeof(w->pm[s]))
			memset(w->pm[s], 0, sizeof(w->pm[s]));
}

static inline uint64_t pfn_of(uint64_t e)
{
	return (e & PM_PRESENT) ? (e & PM_PFN_MASK) : 0;
}

/* swap type | offset << 5, or 0 */
static inline uint64_t swp_of(uint64_t e)
{
	return (e & PM_SWAP) && !(e & PM_PRESENT) ? (e & PM_PFN_MASK) : 0;
}

/* Pairs (side a, side b, page) that map one physical page now */
struct pairs {
	uint8_t shared[NSIDES][NSIDES][NP / 8];
	long n;
};

static void shared_pairs(struct world *w, struct pairs *p)
{
	int a, b;
	size_t i;

	memset(p, 0, sizeof(*p));
	snap_pagemap(w);
	for (a = 0; a < w->nsides; a++)
		for (b = a + 1; b < w->nsides; b++)
			for (i = 0; i < NP; i++) {
				uint64_t x = pfn_of(w->pm[a][i]);

				if (x && x == pfn_of(w->pm[b][i])) {
					p->shared[a][b][i / 8] |= 1 << (i % 8);
					p->n++;
				}
			}
}

static bool is_shared(const struct pairs *p, int a, int b, size_t i)
{
	return p->shared[a][b][i / 8] & (1 << (i % 8));
}

/*
 * The pfns of page i of sides a and b after reading both (a swapped-out
 * side comes back in from the swap cache): equal if they still share.
 */
static bool same_after_touch(struct world *w, int a, int b, size_t i)
{
	volatile char *pa = w->side[a] + i * PAGE_SZ;
	volatile char *pb = w->side[b] + i * PAGE_SZ;
	uint64_t x, y;

	(void)*pa;
	(void)*pb;
	x = pfn_of(pagemap_entry((const void *)pa));
	y = pfn_of(pagemap_entry((const void *)pb));
	return x && x == y;
}

/*
 * Sharing kept: every pair that shared a page before shares one now
 * (the same or, after migration, a new one).  Strict (right after
 * reclaim, nothing faulted since): pages swapped out on both sides hold
 * the same swap entry, and one side swapped while the other maps the
 * page means reclaim missed a mapping.  Otherwise (faults and reclaim
 * may have interleaved: one side faulted back in, or a reclaim left
 * off half way) a mixed pair must be one page again once both are read.
 */
static bool sharing_kept(struct world *w, const struct pairs *before,
			 const char *step, long *swapped_both)
{
	bool strict = swapped_both != NULL;
	int a, b;
	size_t i;

	snap_pagemap(w);
	for (a = 0; a < w->nsides; a++) {
		for (b = a + 1; b < w->nsides; b++) {
			for (i = 0; i < NP; i++) {
				uint64_t ea = w->pm[a][i], eb = w->pm[b][i];

				if (!is_shared(before, a, b, i))
					continue;
				if (!strict && (swp_of(ea) != swp_of(eb) ||
						pfn_of(ea) != pfn_of(eb))) {
					if (same_after_touch(w, a, b, i))
						continue;
					fail("after %s: page %zu was one page for sides %d and %d; now (%s %#llx, %s %#llx), and not one page after reading both",
					     step, i, a, b,
					     swp_of(ea) ? "swap entry" : "pfn",
					     (unsigned long long)(ea & PM_PFN_MASK),
					     swp_of(eb) ? "swap entry" : "pfn",
					     (unsigned long long)(eb & PM_PFN_MASK));
					return false;
				}
				if (swp_of(ea) || swp_of(eb)) {
					if (swp_of(ea) != swp_of(eb)) {
						fail("after %s: page %zu was one page for sides %d and %d, now %s %#llx and %s %#llx",
						     step, i, a, b,
						     swp_of(ea) ? "swap entry" : "pfn",
						     (unsigned long long)(ea & PM_PFN_MASK),
						     swp_of(eb) ? "swap entry" : "pfn",
						     (unsigned long long)(eb & PM_PFN_MASK));
						return false;
					}
					if (swapped_both)
						(*swapped_both)++;
					continue;
				}
				if (pfn_of(ea) != pfn_of(eb)) {
					fail("after %s: page %zu was one page for sides %d and %d, now pfns %#llx and %#llx",
					     step, i, a, b,
					     (unsigned long long)pfn_of(ea),
					     (unsigned long long)pfn_of(eb));
					return false;
				}
			}
		}
	}
	return true;
}

static long vmstat(const char *name)
{
	static char buf[16384];
	size_t l = strlen(name);
	char *p;

	if (read_file("/proc/vmstat", buf, sizeof(buf)) <= 0)
		return 0;
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, name, l) && p[l] == ' ')
			return atol(p + l + 1);
	return 0;
}

static size_t side_swapped(struct world *w, int s)
{
	size_t i, n = 0;

	for (i = 0; i < NP; i++)
		n += swp_of(w->pm[s][i]) != 0;
	return n;
}

/* ---- steps ------------------------------------------------------------ */

static bool have_swap(void)
{
	return meminfo_kb("SwapTotal") > 0;
}

/* memory.reclaim until half of the source is out (EAGAIN is fine) */
static void reclaim_some(struct world *w)
{
	int tries;

	for (tries = 0; tries < 8; tries++) {
		write_file(CG_DIR "/memory.reclaim", "64M");
		snap_pagemap(w);
		if (side_swapped(w, 0) >= NP / 2)
			break;
	}
}

static bool step_reclaim(struct world *w)
{
	static struct pairs before;
	long both = 0, thp0, thp4;
	void *d = w->side[4];
	int s, r, k;

	if (!have_swap() || !w->pfns)
		return true;
	/*
	 * A THP shared by PMD: the source's THP half collapsed, then side 4
	 * restored from the source (a FIXED dup over it).  Reclaim has to
	 * split (or swap whole) a folio mapped by two PMDs.
	 */
	/* collapse wants a writable PTE in the range (else SCAN_PAGE_RO) */
	write_page(w, 0, 0, w->next_seed++, 0);
	for (k = 0; k < 3; k++) {
		r = madvise(w->side[0], PMD_SZ, MADV_COLLAPSE);
		if (!r)
			break;
		note("  reclaim: MADV_COLLAPSE of the source: %s", strerror(errno));
	}
	r = cowdup_dup_raw(w->fd, w->side[0], LEN, &d, COWDUP_FIXED);
	if (r || d != w->side[4]) {
		fail("restore of side 4 from the source: %s", strerror(-r));
		return false;
	}
	memcpy(w->e[4], w->e[0], sizeof(w->e[0]));
	thp0 = smaps_range_kb((uintptr_t)w->side[0], (uintptr_t)w->side[0] + LEN,
			      "AnonHugePages");
	thp4 = smaps_range_kb((uintptr_t)w->side[4], (uintptr_t)w->side[4] + LEN,
			      "AnonHugePages");
	note("  reclaim: THP mapped by PMD: source %ld kB, its copy %ld kB",
	     thp0, thp4);
	if (thp0 != thp4) {
		fail("the restored copy does not share the source's THP by PMD (%ld vs %ld kB)",
		     thp4, thp0);
		return false;
	}
	shared_pairs(w, &before);
	reclaim_some(w);
	if (!sharing_kept(w, &before, "reclaim", &both))
		return false;
	w->swapped_shared += both;
	for (s = 0; s < w->nsides; s++)
		note("  reclaim: side %d: %zu of %d pages swapped out", s,
		       side_swapped(w, s), NP);
	note("  reclaim: %ld page pairs shared, %ld of them swapped out as one entry",
	       before.n, both);
	if (before.n > 64 && both == 0) {
		fail("reclaim: no shared page was swapped out");
		return false;
	}
	if (!verify(w, "reclaim"))
		return false;
	/* read back in through one side: the others find the same page */
	return sharing_kept(w, &before, "swap-in", NULL);
}

/*
 * memory.high at half of what the group uses: each side read twice with
 * pages going out and coming in all the time (faults and reclaim
 * interleave, so a page may be out for one side and in for another
 * meanwhile), then the limit lifted and everything read once more: every
 * pair that shared a page shares one again.  memory.high, not memory.max:
 * both reclaim the same way, but memory.max calls the OOM killer when 16
 * reclaim passes in a row free nothing, which a KASAN kernel under TCG did
 * once (the test was killed while setting the limit); memory.high throttles.
 */
static bool step_thrash(struct world *w)
{
	static struct pairs before;
	long in0 = vmstat("pswpin"), cur = 0, lim;
	long col0 = vmstat("thp_collapse_alloc");
	char buf[32];
	int k;

	if (!have_swap())
		return true;
	if (w->pfns)
		shared_pairs(w, &before);
	read_long(CG_DIR "/memory.current", &cur);
	lim = cur / 2 > (2L << 20) ? cur / 2 : 2L << 20;
	snprintf(buf, sizeof(buf), "%ld", lim);
	if (write_file(CG_DIR "/memory.high", buf)) {
		fail("cannot set memory.high");
		return false;
	}
	for (k = 0; k < 2; k++)
		if (!verify(w, "thrash"))
			break;
	if (write_file(CG_DIR "/memory.high", "max") && !why[0])
		fail("cannot lift memory.high");
	if (why[0])
		return false;
	note("  thrash: memory.current %ld kB, memory.high %ld kB: %ld pages swapped in, %ld huge pages collapsed meanwhile",
	     cur / 1024, lim / 1024, vmstat("pswpin") - in0,
	     vmstat("thp_collapse_alloc") - col0);
	if (vmstat("pswpin") == in0) {
		fail("thrash: the limit made nothing go out and come back in");
		return false;
	}
	if (!verify(w, "thrash, limit lifted"))
		return false;
	return !w->pfns || sharing_kept(w, &before, "thrash", NULL);
}

static bool step_pageout(struct world *w)
{
	static struct pairs before;
	int s;
	size_t i;

	if (w->pfns)
		shared_pairs(w, &before);
	for (s = 0; s < w->nsides; s++) {
		if (madvise(w->side[s], LEN, s % 2 ? MADV_COLD : MADV_PAGEOUT)) {
			fail("madvise(side %d, %s): %s", s,
			     s % 2 ? "COLD" : "PAGEOUT", strerror(errno));
			return false;
		}
	}
	if (!verify(w, "MADV_PAGEOUT/COLD"))
		return false;
	if (w->pfns && !sharing_kept(w, &before, "MADV_PAGEOUT/COLD", NULL))
		return false;
	/* MADV_FREE of freshly written (exclusive) pages, then reclaim */
	s = 1 + rnd(w->nsides - 1);
	for (i = 0; i < NP; i += 1 + rnd(8)) {
		write_page(w, s, i, w->next_seed++, i);
		if (madvise(w->side[s] + i * PAGE_SZ, PAGE_SZ, MADV_FREE)) {
			fail("MADV_FREE: %s", strerror(errno));
			return false;
		}
		w->e[s][i].maybe_zero = 1;
	}
	if (have_swap())
		reclaim_some(w);
	if (!verify(w, "MADV_FREE and reclaim"))
		return false;
	/* written again: no longer lazily freed */
	for (i = 0; i < NP; i++)
		if (w->e[s][i].maybe_zero || !w->e[s][i].seed)
			write_page(w, s, i, w->next_seed++, i);
	return true;
}

static bool step_compact(struct world *w)
{
	static struct pairs before;
	uint64_t pfn0[64];
	long moved = 0, mig0 = vmstat("pgmigrate_success");
	size_t i, k;
	int r;

	if (w->pfns)
		shared_pairs(w, &before);
	/* a compaction run over all zones */
	if (write_file("/proc/sys/vm/compact_memory", "1")) {
		fail("compact_memory: %s", strerror(errno));
		return false;
	}
	if (!verify(w, "compact_memory"))
		return false;
	if (w->pfns && !sharing_kept(w, &before, "compact_memory", NULL))
		return false;
	note("  compact: pgmigrate_success +%ld",
	       vmstat("pgmigrate_success") - mig0);

	/* soft-offline shared pages of the small-page half */
	if (w->pfns)
		shared_pairs(w, &before);
	snap_pagemap(w);
	for (k = 0; k < 8; k++) {
		i = THP_PAGES + rnd(NP - THP_PAGES);
		pfn0[k] = pfn_of(w->pm[0][i]);
		r = madvise(w->side[0] + i * PAGE_SZ, PAGE_SZ, MADV_SOFT_OFFLINE);
		if (r && (errno == EPERM || errno == EINVAL || errno == ENOSYS)) {
			note("  MADV_SOFT_OFFLINE: %s: skipped", strerror(errno));
			break;
		}
		if (r) {
			/* EBUSY, EIO: the page could not be migrated now */
			note("  MADV_SOFT_OFFLINE of page %zu: %s", i,
			       strerror(errno));
			continue;
		}
		w->offlined++;
		snap_pagemap(w);
		if (pfn0[k] && pfn_of(w->pm[0][i]) == pfn0[k] && w->pfns) {
			fail("MADV_SOFT_OFFLINE of page %zu: still pfn %#llx", i,
			     (unsigned long long)pfn0[k]);
			return false;
		}
		moved++;
	}
	if (!verify(w, "MADV_SOFT_OFFLINE"))
		return false;
	if (w->pfns && !sharing_kept(w, &before, "MADV_SOFT_OFFLINE", NULL))
		return false;

	/* move_pages() to another node, if there is one */
	if (path_exists("/sys/devices/system/node/node1")) {
		void *pages[16];
		int nodes[16], status[16];

		for (k = 0; k < 16; k++) {
			pages[k] = w->side[0] + (THP_PAGES + k * 7) * PAGE_SZ;
			nodes[k] = 1;
		}
		r = syscall(__NR_move_pages, 0, 16UL, pages, nodes, status,
			    MPOL_MF_MOVE);
		note("  move_pages to node 1: %d (%s)", r,
		       r ? strerror(errno) : "ok");
		if (!verify(w, "move_pages"))
			return false;
	} else {
		note("  move_pages: one NUMA node, nothing to move to");
	}
	w->moved += moved;
	return true;
}

static bool split_range(char *p, size_t len)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "%d,0x%lx,0x%lx", getpid(),
		 (unsigned long)p, (unsigned long)(p + len));
	return write_file(SPLIT, buf) == 0;
}

static bool step_thp(struct world *w)
{
	long thp0, thp1, thp2, split0 = vmstat("thp_split_page");
	int s;

	thp0 = smaps_rollup_kb("AnonHugePages");
	for (s = 0; s < w->nsides; s++) {
		madvise(w->side[s], PMD_SZ, MADV_HUGEPAGE);
		/* EAGAIN, ENOMEM, EINVAL (misaligned side): fine */
		if (!madvise(w->side[s], PMD_SZ, MADV_COLLAPSE))
			w->collapsed++;
	}
	thp1 = smaps_rollup_kb("AnonHugePages");
	if (!verify(w, "MADV_COLLAPSE"))
		return false;
	if (!path_exists(SPLIT)) {
		note("  thp: no %s", SPLIT);
		return true;
	}
	for (s = 0; s < w->nsides; s++) {
		if (!split_range(w->side[s], LEN)) {
			fail("write %s: %s", SPLIT, strerror(errno));
			return false;
		}
	}
	thp2 = smaps_rollup_kb("AnonHugePages");
	w->split += vmstat("thp_split_page") - split0;
	note("  thp: AnonHugePages %ld -> %ld (collapse) -> %ld kB (split); thp_split_page +%ld",
	       thp0, thp1, thp2, vmstat("thp_split_page") - split0);
	if (!verify(w, "split_huge_pages"))
		return false;
	if (thp2 > 0 && smaps_range_kb((uintptr_t)w->side[0],
				       (uintptr_t)w->side[0] + LEN,
				       "AnonHugePages") > 0) {
		fail("split_huge_pages left a THP in the source");
		return false;
	}
	return true;
}

static bool ksm_all_merged(struct world *w, int s, size_t first, size_t n)
{
	size_t i;
	uint64_t p0;

	snap_pagemap(w);
	p0 = pfn_of(w->pm[s][first]);
	if (!p0)
		return false;
	for (i = first; i < first + n; i++)
		if (pfn_of(w->pm[s][i]) != p0)
			return false;
	return true;
}

static bool step_ksm(struct world *w)
{
	const size_t first = THP_PAGES + 64, n = 64;
	long scans0, scans, sharing;
	uint32_t seed = w->next_seed++;
	char *copy;
	size_t i;
	int s;

	if (!path_exists(KSM "run") || !w->pfns)
		return true;
	/* identical pages on the source and the copy: distinct frames */
	for (s = 0; s < 2; s++) {
		for (i = first; i < first + n; i++)
			write_page(w, s, i, seed, 0);
		if (madvise(w->side[s] + first * PAGE_SZ, n * PAGE_SZ,
			    MADV_MERGEABLE)) {
			fail("MADV_MERGEABLE: %s", strerror(errno));
			return false;
		}
	}
	write_long(KSM "pages_to_scan", 10000);
	write_long(KSM "sleep_millisecs", 1);
	write_long(KSM "run", 1);
	read_long(KSM "full_scans", &scans0);
	do {
		usleep(20000);
		read_long(KSM "full_scans", &scans);
	} while (!ksm_all_merged(w, 0, first, n) && scans < scans0 + 10);
	read_long(KSM "pages_sharing", &sharing);
	note("  ksm: source merged %d, pages_sharing %ld after %ld scans",
	       ksm_all_merged(w, 0, first, n), sharing, scans - scans0);
	w->ksm_merged += sharing;
	if (!verify(w, "KSM merge"))
		return false;

	/* a dup of merged pages: the copy's own pages, same bytes */
	copy = mmap_aligned(LEN, PMD_SZ, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
	if (copy == MAP_FAILED) {
		fail("mmap: %s", strerror(errno));
		return false;
	}
	{
		void *d = copy;
		int r = cowdup_dup_raw(w->fd, w->side[0], LEN, &d,
				       COWDUP_FIXED);

		if (r) {
			fail("dup of a KSM-merged source: %s", strerror(-r));
			return false;
		}
	}
	for (i = 0; i < NP; i++) {
		const struct exp *e = &w->e[0][i];

		if (pattern_check_page(copy + i * PAGE_SZ, e->idx, e->seed) >= 0) {
			fail("copy of a KSM-merged source: page %zu wrong", i);
			return false;
		}
	}
	munmap(copy, LEN);

	/* writes into merged pages: copied on write */
	for (i = first; i < first + n; i += 5)
		write_page(w, 1, i, w->next_seed++, i);
	if (!verify(w, "writes to KSM pages"))
		return false;
	/* unmerge everything */
	if (write_long(KSM "run", 2)) {
		fail("ksm run=2: %s", strerror(errno));
		return false;
	}
	read_long(KSM "pages_sharing", &sharing);
	if (!verify(w, "KSM unmerge (run=2)"))
		return false;
	if (ksm_all_merged(w, 0, first, n)) {
		fail("run=2 left the source merged (pages_sharing %ld)", sharing);
		return false;
	}
	for (s = 0; s < 2; s++)
		madvise(w->side[s] + first * PAGE_SZ, n * PAGE_SZ,
			MADV_UNMERGEABLE);
	write_long(KSM "run", 0);
	return true;
}

static bool verify_all_step(struct world *w)
{
	return verify(w, "the cycle");
}

/* ---- the fixture ---------------------------------------------------- */

FIXTURE(press) {
	int fd;
	int kmsg;
	bool made_cg, ksm_saved, khp_saved;
	long ksm_run, ksm_pages, ksm_sleep, khp_shared;
	struct world *w;
};

FIXTURE_SETUP(press)
{
	struct world *w;
	char buf[256];
	void *d;
	int s;

	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd);
	if (!read_long(KSM "run", &self->ksm_run) &&
	    !read_long(KSM "pages_to_scan", &self->ksm_pages) &&
	    !read_long(KSM "sleep_millisecs", &self->ksm_sleep))
		self->ksm_saved = true;
	/*
	 * khugepaged collapsing a side's range behind a step's back gives
	 * that side a new huge page and leaves the others the old pages:
	 * sharing lost for a reason of its own.  It collapses no range with
	 * a shared page while max_ptes_shared is 0; the thp step collapses
	 * with MADV_COLLAPSE, which ignores that limit.
	 */
	if (!read_long(KHP_SHARED, &self->khp_shared) &&
	    !write_long(KHP_SHARED, 0))
		self->khp_saved = true;
	/* a memory cgroup of our own, entered before anything is allocated */
	if (read_file(CG_ROOT "/cgroup.controllers", buf, sizeof(buf)) > 0 &&
	    strstr(buf, "memory")) {
		write_file(CG_ROOT "/cgroup.subtree_control", "+memory");
		if (!mkdir(CG_DIR, 0755) || errno == EEXIST) {
			self->made_cg = true;
			ASSERT_EQ(0, write_long(CG_DIR "/cgroup.procs", getpid()));
		}
	}
	if (!self->made_cg)
		SKIP(return, "no cgroup v2 memory controller");

	w = mmap(NULL, sizeof(*w), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, w);
	self->w = w;
	w->pfns = pagemap_has_pfns();
	w->fd = self->fd;
	rng_seed(12345);
	w->next_seed = 1;
	/* the source: THP half, small-page half, every page written */
	w->side[0] = mmap_aligned(LEN, PMD_SZ, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS);
	ASSERT_NE(MAP_FAILED, w->side[0]);
	madvise(w->side[0], PMD_SZ, MADV_HUGEPAGE);
	madvise(w->side[0] + PMD_SZ, LEN - PMD_SZ, MADV_NOHUGEPAGE);
	w->nsides = 1;
	for (size_t i = 0; i < NP; i++)
		write_page(w, 0, i, w->next_seed, i);
	w->next_seed++;
	/* a copy (PMD aligned), a copy of the copy, a misaligned copy */
	w->side[1] = DUP_OK(self->fd, w->side[0], LEN, 0, 0);
	w->side[2] = DUP_OK(self->fd, w->side[1], LEN, 0, 0);
	d = free_range(LEN + 2 * PMD_SZ, PMD_SZ);
	ASSERT_NE(NULL, d);
	w->side[3] = DUP_OK(self->fd, w->side[0], LEN, (char *)d + PAGE_SZ,
			    COWDUP_FIXED);
	/* and one PMD aligned, restored from the source again and again */
	w->side[4] = DUP_OK(self->fd, w->side[0], LEN, 0, 0);
	w->nsides = 5;
	for (s = 1; s < 5; s++)
		memcpy(w->e[s], w->e[0], sizeof(w->e[0]));
	scribble(w, 10);
	ASSERT_TRUE(verify(w, "setup")) TH_LOG("%s", why);
	TH_LOG("source AnonHugePages %ld kB; pagemap PFNs %s; swap %ld kB",
	       smaps_range_kb((uintptr_t)w->side[0],
			      (uintptr_t)w->side[0] + LEN, "AnonHugePages"),
	       w->pfns ? "yes" : "no", meminfo_kb("SwapTotal"));
}

FIXTURE_TEARDOWN_PARENT(press)
{
	if (self->ksm_saved) {
		write_long(KSM "run", 2);	/* nothing stays merged */
		write_long(KSM "run", self->ksm_run);
		write_long(KSM "pages_to_scan", self->ksm_pages);
		write_long(KSM "sleep_millisecs", self->ksm_sleep);
	}
	if (self->khp_saved)
		write_long(KHP_SHARED, self->khp_shared);
	/* the test process has exited: the group is empty */
	if (self->made_cg)
		rmdir(CG_DIR);
	close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

#define STEP(fn) do { \
	why[0] = 0; \
	ASSERT_TRUE(fn(self->w)) TH_LOG("%s", why); \
} while (0)

TEST_F_TIMEOUT(press, reclaim_swap_entries, 200)
{
	if (!have_swap())
		SKIP(return, "no swap");
	if (!self->w->pfns)
		SKIP(return, "pagemap shows no PFNs or swap entries");
	STEP(step_reclaim);
}

TEST_F_TIMEOUT(press, cgroup_thrash, 200)
{
	if (!have_swap())
		SKIP(return, "no swap");
	STEP(step_thrash);
}

TEST_F_TIMEOUT(press, pageout_cold_free, 200)
{
	STEP(step_pageout);
}

TEST_F_TIMEOUT(press, compaction_migration, 200)
{
	STEP(step_compact);
}

TEST_F_TIMEOUT(press, thp_collapse_split, 200)
{
	STEP(step_thp);
}

TEST_F_TIMEOUT(press, ksm_merge_unmerge, 200)
{
	if (!path_exists(KSM "run"))
		SKIP(return, "no KSM");
	STEP(step_ksm);
}

/*
 * A read fault that swaps a page in from zram skips the swap cache and
 * maps it clean: the only copy of its bytes is in RAM, yet nothing says
 * it is dirty.  MADV_FREE on one side of such a page, shared, marks it
 * lazyfree for every side, and reclaim then drops it (fork() children do
 * this to their parent on 6.1 and 6.12).  The side that did not free it
 * must keep its bytes, whichever side that is.
 */
TEST_F_TIMEOUT(press, madv_free_one_side_after_swapin, 200)
{
	const size_t n = 64, len = n * PAGE_SZ;
	volatile char sink = 0;
	int freed_side;

	if (!have_swap())
		SKIP(return, "no swap");
	for (freed_side = 0; freed_side < 2; freed_side++) {
		char *side[2], *kept;
		size_t i, lost = 0;

		side[0] = anon_map(len);
		ASSERT_NE(MAP_FAILED, (void *)side[0]);
		pattern_fill(side[0], len, 77 + freed_side);
		ASSERT_EQ(n, page_out(side[0], n));
		for (i = 0; i < n; i++)		/* read faults: swap-in */
			sink += side[0][i * PAGE_SZ];
		ASSERT_EQ(0U, count_swapped(side[0], n));
		side[1] = DUP_OK(self->fd, side[0], len, 0, 0);
		ASSERT_EQ(0, madvise(side[freed_side], len, MADV_FREE));
		unmap(side[freed_side], len);
		kept = side[!freed_side];
		page_out(kept, n);
		for (i = 0; i < n; i++)
			lost += pattern_check_page(kept + i * PAGE_SZ, i,
						   77 + freed_side) >= 0;
		EXPECT_EQ(0U, lost) TH_LOG("MADV_FREE of the %s: %zu of %zu pages of the %s lost",
					  freed_side ? "copy" : "source", lost, n,
					  freed_side ? "source" : "copy");
		unmap(kept, len);
	}
}

/* Every step in turn, again and again, with new writes in between */
TEST_F_TIMEOUT(press, cycles, 600)
{
	struct world *w = self->w;
	const char *e = getenv("PRESSURE_CYCLES");
	long cycles = e ? atol(e) : 3, c;
	double t0;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = ts.tv_sec + ts.tv_nsec / 1e9;
	for (c = 0; c < cycles; c++) {
		STEP(step_reclaim);
		scribble(w, 5);
		STEP(step_thp);
		STEP(step_thrash);
		scribble(w, 5);
		STEP(step_compact);
		STEP(step_pageout);
		scribble(w, 5);
		STEP(step_ksm);
		/* and a new copy of a copy now and then */
		if (w->nsides < NSIDES) {
			w->side[w->nsides] = DUP_OK(self->fd, w->side[2], LEN, 0, 0);
			memcpy(w->e[w->nsides], w->e[2], sizeof(w->e[2]));
			w->nsides++;
		}
		STEP(verify_all_step);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		TH_LOG("cycle %ld done at %.0f s: %ld pages verified, %ld swapped-out shared pairs, %ld soft-offlined, %ld collapsed, %ld split, KSM sharing %ld",
		       c + 1, ts.tv_sec + ts.tv_nsec / 1e9 - t0,
		       w->verified_pages, w->swapped_shared, w->offlined,
		       w->collapsed, w->split, w->ksm_merged);
	}
	TH_LOG("%ld pressure cycles survived", cycles);
}

TEST_HARNESS_MAIN
