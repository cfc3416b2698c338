// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * views: what people asked for, done with cowdup plus standard calls.
 *
 * 1. A second view of shared memory while the first stays in use: worker
 *    threads keep counting in a MAP_SHARED region; cowdup() of a shared
 *    mapping is a second view of the same memory (as fork() gives a child),
 *    so writes through either view are seen through both, and the workers
 *    never stop.
 * 2. Moving a region while keeping the old range mapped, what
 *    mremap(MREMAP_DONTUNMAP) gives: cowdup() the region, then
 *    madvise(MADV_DONTNEED) the old range.  The data is at the new address
 *    without having been copied (the pages go from shared to exclusive),
 *    the old range stays mapped and reads zeros.  Checked against a real
 *    MREMAP_DONTUNMAP.
 * 3. Punching holes in a copy with MADV_DONTNEED: the copy's pages in the
 *    hole read zeros, the source keeps its data.
 * Page states come from cowdup_pagestate().
 *
 *   views        Exit 0 when every check passed, 1 otherwise, 4 without
 *                /dev/cowdup.
 */
#define _GNU_SOURCE
#include <cowdup.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

static size_t ps;
static int failures;

static void check(int cond, const char *what)
{
	printf("  [%s] %s\n", cond ? "ok" : "FAIL", what);
	if (!cond)
		failures++;
}

static void *map(size_t len, int flags)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

/* Number of pages of [p, p+len) in state `want` (HUGE bit ignored). */
static size_t count_state(void *p, size_t len, int want)
{
	size_t n = len / ps, i, c = 0;
	unsigned char *vec = malloc(n);

	if (!vec || cowdup_pagestate(p, len, vec)) {
		free(vec);
		return (size_t)-1;
	}
	for (i = 0; i < n; i++)
		c += (vec[i] & COWDUP_PAGE_STATE_MASK) == want;
	free(vec);
	return c;
}

/* 1. Second view of shared memory. */
#define NWORKERS 2
static atomic_int stop;
static volatile uint64_t *counters;	/* one page per worker, shared */
static atomic_ulong progress[NWORKERS];

static void *worker(void *arg)
{
	long id = (long)arg;
	volatile uint64_t *c = counters + id * (ps / sizeof(uint64_t));

	while (!atomic_load(&stop)) {
		(*c)++;
		atomic_fetch_add(&progress[id], 1);
	}
	return NULL;
}

static void shared_view(void)
{
	size_t len = 64 * ps, i;
	pthread_t thr[NWORKERS];
	unsigned long before[NWORKERS];
	char *shared = map(len, MAP_SHARED), *view;
	int seen = 1, running = 1;
	volatile unsigned int sum = 0;

	printf("1. a second view of shared memory, workers running\n");
	memset(shared + NWORKERS * ps, 0, len - NWORKERS * ps);
	counters = (volatile uint64_t *)shared;
	for (i = 0; i < NWORKERS; i++)
		pthread_create(&thr[i], NULL, worker, (void *)i);
	usleep(20000);
	view = cowdup(shared, len, NULL, 0);
	for (i = 0; i < NWORKERS; i++)
		before[i] = atomic_load(&progress[i]);
	check(view != MAP_FAILED, "cowdup() of a MAP_SHARED region while threads write to it");
	if (view == MAP_FAILED) {
		atomic_store(&stop, 1);
		for (i = 0; i < NWORKERS; i++)
			pthread_join(thr[i], NULL);
		return;
	}
	usleep(20000);
	for (i = 0; i < NWORKERS; i++) {
		volatile uint64_t *c = (volatile uint64_t *)(view + i * ps);
		uint64_t a = *c;
		int tries = 0;

		/* The workers' writes show through the view (give them time:
		 * a busy host may not run a vCPU for a while). */
		while (*c == a && ++tries < 400)
			usleep(5000);
		seen &= *c != a;
	}
	check(seen, "the workers' counting shows through the new view");
	strcpy(view + 10 * ps, "written through the view");
	check(!strcmp(shared + 10 * ps, "written through the view"),
	      "a write through the view is seen through the original");
	for (i = 0; i < NWORKERS; i++)
		running &= atomic_load(&progress[i]) > before[i];
	check(running, "the workers kept running");
	for (i = 0; i < len; i += ps)	/* a view maps lazily, as after fork */
		sum += (unsigned char)view[i];
	check(count_state(view, len, COWDUP_PAGE_FILE) == len / ps,
	      "every page of the view is a shmem page (COWDUP_PAGE_FILE)");
	atomic_store(&stop, 1);
	for (i = 0; i < NWORKERS; i++)
		pthread_join(thr[i], NULL);
	munmap(view, len);
	check(!strcmp(shared + 10 * ps, "written through the view"),
	      "the original keeps the data after the view is unmapped");
	munmap(shared, len);
}

/* 2. Move a region, keeping the old range mapped. */
static void fill(char *p, size_t len)
{
	for (size_t i = 0; i < len; i += ps)
		snprintf(p + i, ps, "page %zu", i / ps);
}

static int holds_data(const char *p, size_t len)
{
	char want[32];

	for (size_t i = 0; i < len; i += ps) {
		snprintf(want, sizeof(want), "page %zu", i / ps);
		if (strcmp(p + i, want))
			return 0;
	}
	return 1;
}

static int reads_zero(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

static void move_keep_mapped(void)
{
	size_t len = 256 * ps, n = len / ps;
	char *old = map(len, MAP_PRIVATE), *moved, *old2, *moved2;

	printf("2. move a region, keep the old range mapped (MREMAP_DONTUNMAP)\n");
	fill(old, len);
	moved = cowdup(old, len, NULL, 0);
	check(moved != MAP_FAILED, "cowdup() the region to a new address");
	if (moved == MAP_FAILED)
		return;
	check(count_state(moved, len, COWDUP_PAGE_SHARED) == n,
	      "right after: both ranges share every page (nothing copied)");
	check(madvise(old, len, MADV_DONTNEED) == 0, "madvise(old, MADV_DONTNEED)");
	check(holds_data(moved, len), "the data is at the new address");
	check(count_state(moved, len, COWDUP_PAGE_EXCLUSIVE) == n,
	      "its pages are exclusive again: moved, not copied");
	check(count_state(old, len, COWDUP_PAGE_NONE) == n, "the old range is empty...");
	check(reads_zero(old, len), "...still mapped, and reads zeros");

	/* The same with mremap(MREMAP_DONTUNMAP), for comparison. */
	old2 = map(len, MAP_PRIVATE);
	fill(old2, len);
	/* new_address passed explicitly: glibc's wrapper forwards it as is. */
	moved2 = mremap(old2, len, len, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
	if (moved2 == MAP_FAILED) {
		printf("  (mremap(MREMAP_DONTUNMAP): %s, no comparison)\n", strerror(errno));
	} else {
		check(holds_data(moved2, len) && reads_zero(old2, len) &&
		      count_state(moved2, len, COWDUP_PAGE_EXCLUSIVE) == n,
		      "mremap(MREMAP_DONTUNMAP) gives the same picture");
		munmap(moved2, len);
	}
	munmap(old2, len);
	munmap(moved, len);
	munmap(old, len);
}

/* 3. Punch holes in a copy. */
static void punch_holes(void)
{
	size_t len = 64 * ps;
	char *src = map(len, MAP_PRIVATE), *copy;
	struct cowdup_stat st;

	printf("3. punch holes in a copy with MADV_DONTNEED\n");
	fill(src, len);
	copy = cowdup(src, len, NULL, 0);
	check(copy != MAP_FAILED, "cowdup() a 64-page region");
	if (copy == MAP_FAILED)
		return;
	check(madvise(copy + 16 * ps, 16 * ps, MADV_DONTNEED) == 0,
	      "madvise(copy + 16 pages, 16 pages, MADV_DONTNEED)");
	check(reads_zero(copy + 16 * ps, 16 * ps), "the hole reads zeros");
	check(holds_data(copy, 16 * ps) && !strcmp(copy + 32 * ps, "page 32"),
	      "the rest of the copy keeps its data");
	check(holds_data(src, len), "the source keeps all its data");
	if (cowdup_stat(copy, len, &st))
		memset(&st, 0xff, sizeof(st));
	printf("  cowdup_stat(copy): %llu none, %llu shared, %llu exclusive, %llu zero\n",
	       (unsigned long long)st.nr_none, (unsigned long long)st.nr_shared,
	       (unsigned long long)st.nr_exclusive, (unsigned long long)st.nr_zero);
	/* Reading the hole above mapped the shared zero page there. */
	check(st.nr_none + st.nr_zero == 16 && st.nr_shared == 48,
	      "the copy: 16 pages empty or zero page (the hole), 48 still shared");
	munmap(copy, len);
	munmap(src, len);
}

int main(void)
{
	ps = (size_t)sysconf(_SC_PAGESIZE);
	if (!cowdup_available()) {
		printf("views: /dev/cowdup is not available, skipping\n");
		return 4;
	}
	shared_view();
	move_keep_mapped();
	punch_holes();
	printf("views: %s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
