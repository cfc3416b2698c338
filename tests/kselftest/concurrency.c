// SPDX-License-Identifier: GPL-2.0
/*
 * concurrency: dups racing everything else a process does (issue 5,
 * part 3).  Thread counts follow the online CPUs (at least 2 of each
 * kind); each test runs CONC_SECONDS (default 8) seconds.
 *
 *   writers           writer threads bump per-page counters of the source
 *                     (a THP half and a small-page half) while the main
 *                     thread dups it: each copied page holds a value the
 *                     page had during the call (at least what it held
 *                     before, at most what it held after, not torn), and
 *                     no copy changes afterwards while the writers go on
 *   writers_huge_pmd  the same, the dup covering only a THP mapped by a
 *                     writable huge PMD at each call (the walk's TLB flush
 *                     by 2 MiB steps)
 *   gup_pin_race      a thread pins source pages (io_uring buffer
 *                     registration, GUP-fast) and unpins them in a loop,
 *                     writes them through the pin (READ_FIXED) and through
 *                     the mapping; another splices them into a pipe
 *                     (vmsplice, GUP-fast references); the main thread
 *                     dups meanwhile.  The pin must always see what the
 *                     source mapping sees (a dup that shared a pinned page
 *                     would make the next write copy it away from the
 *                     pin), copies never change after their call
 *   pinned_written_during_dup
 *                     pinned pages (a registered buffer) written through
 *                     the mapping by a thread in word order during dups:
 *                     their copies, made at the call, must be states the
 *                     page had, not a mix of states
 *   neighbours        threads mmap, mprotect, mremap and munmap right next
 *                     to the source and inside its gaps while it is
 *                     duplicated, with and without the neighbours in the
 *                     range: each dup succeeds (or EFAULT over a hole) and
 *                     reads right
 *   copies_of_copies  threads restore slots from other slots (FIXED dups
 *                     of copies of copies), write them, replace them
 *   sigkill_sparse    a child dups a 16 GiB MAP_NORESERVE region touched
 *                     every 4 MiB in a loop; it is SIGKILLed at a random
 *                     moment, several times (every other time once a dup
 *                     has finished, so the kill lands in a later one, also
 *                     on a slow kernel): it dies promptly, and a new
 *                     process dups and verifies fine afterwards
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"
#include "uring.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif

#define WORDS		(PAGE_SZ / 8)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double test_seconds(void)
{
	const char *e = getenv("CONC_SECONDS");

	return e ? atof(e) : 8.0;
}

static int nthreads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 2 ? 2 : n > 16 ? 16 : (int)n;
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

FIXTURE(conc) {
	int fd;
	int kmsg;
};

FIXTURE_SETUP(conc)
{
	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", COWDUP_DEVICE_PATH,
				      strerror(errno));
}

FIXTURE_TEARDOWN(conc)
{
	close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/*
 * A page written by one thread in word order with a growing value reads,
 * at any instant and so in any copy taken during a write,
 * w[0] >= w[1] >= ... >= w[511] >= w[0] - 1.  0 if page is such a state,
 * else the index of the first word breaking it.
 */
static size_t torn_at(const volatile uint64_t *p)
{
	size_t i;

	for (i = 1; i < WORDS; i++)
		if (p[i - 1] < p[i])
			return i;
	if (p[0] > p[WORDS - 1] + 1)
		return WORDS - 1;
	return 0;
}

/* ---- writers on the source during dups ------------------------------ */

#define WR_PAGES	(PMD_SZ / PAGE_SZ + 128)

struct wr_ctx {
	volatile uint64_t *src;
	int nthr;
	atomic_int stop;
	atomic_ulong rounds[16];
};

struct wr_arg {
	struct wr_ctx *c;
	int id;
};

static void *wr_thread(void *p)
{
	struct wr_arg *a = p;
	struct wr_ctx *c = a->c;
	uint64_t g = 0;
	size_t pg, w;

	while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
		g++;
		for (pg = a->id; pg < WR_PAGES; pg += c->nthr) {
			volatile uint64_t *page = c->src + pg * WORDS;

			for (w = 0; w < WORDS; w++)
				page[w] = g;
		}
		atomic_store(&c->rounds[a->id], g);
	}
	return NULL;
}

static void wr_wait(struct wr_ctx *c, unsigned long more)
{
	unsigned long start[16];
	int t;

	for (t = 0; t < c->nthr; t++)
		start[t] = atomic_load(&c->rounds[t]);
	for (t = 0; t < c->nthr; t++)
		while (atomic_load(&c->rounds[t]) < start[t] + more)
			sched_yield();
}

/*
 * One round's checks of a copy of the first @n pages of the source: every
 * page holds a state it had during the call (at least @before, at most
 * @after, not torn), and it does not change while the writers go round
 * twice more.  @seen receives the copy.
 */
static void check_copy_of_call(struct __test_metadata *_metadata,
			       struct wr_ctx *c, const uint64_t *copy,
			       size_t n, const uint64_t *before,
			       const uint64_t *after, uint64_t *seen,
			       long round, double *t_wait)
{
	size_t pg, w;
	double tm;

	memcpy(seen, copy, n * PAGE_SZ);
	for (pg = 0; pg < n; pg++) {
		const uint64_t *p = seen + pg * WORDS;

		ASSERT_LE(before[pg], p[WORDS - 1]) {
			TH_LOG("round %ld page %zu: %llu, older than %llu before the call",
			       round, pg, (unsigned long long)p[WORDS - 1],
			       (unsigned long long)before[pg]);
		}
		ASSERT_GE(after[pg], p[0]) {
			TH_LOG("round %ld page %zu: %llu, newer than %llu after the call",
			       round, pg, (unsigned long long)p[0],
			       (unsigned long long)after[pg]);
		}
		ASSERT_EQ(0UL, torn_at(p)) TH_LOG("round %ld page %zu torn at word %zu",
						  round, pg, torn_at(p));
	}
	/* the writers go round twice more: the copy must not move */
	tm = now();
	wr_wait(c, 2);
	*t_wait += now() - tm;
	ASSERT_EQ(0, memcmp(seen, copy, n * PAGE_SZ)) {
		for (w = 0; w < n * WORDS; w++)
			if (seen[w] != copy[w])
				break;
		TH_LOG("round %ld: copy changed after the call at page %zu word %zu: %llu -> %llu",
		       round, w / WORDS, w % WORDS,
		       (unsigned long long)seen[w],
		       (unsigned long long)copy[w]);
	}
}

static void start_writers(struct __test_metadata *_metadata,
			  struct wr_ctx *c, struct wr_arg *args, pthread_t *th)
{
	int t;

	c->nthr = nthreads() - 1 < 2 ? 2 : nthreads() - 1;	/* and the dup */
	for (t = 0; t < c->nthr; t++) {
		args[t].c = c;
		args[t].id = t;
		ASSERT_EQ(0, pthread_create(&th[t], NULL, wr_thread, &args[t]));
	}
	wr_wait(c, 2);
}

static void stop_writers(struct wr_ctx *c, pthread_t *th)
{
	int t;

	atomic_store(&c->stop, 1);
	for (t = 0; t < c->nthr; t++)
		pthread_join(th[t], NULL);
}

TEST_F_TIMEOUT(conc, writers, 300)
{
	const size_t len = WR_PAGES * PAGE_SZ;
	static uint64_t before[WR_PAGES], after[WR_PAGES];
	static uint64_t seen[WR_PAGES * WORDS];
	struct wr_arg args[16];
	pthread_t th[16];
	struct wr_ctx c;
	double end = now() + test_seconds();
	long rounds = 0, restores = 0;
	double t_dup = 0, t_max = 0, t_wait = 0, tm;
	uint64_t *copy = NULL, *slot;
	size_t pg;

	memset(&c, 0, sizeof(c));
	c.src = mmap_aligned(len, PMD_SZ, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS);
	ASSERT_NE(MAP_FAILED, (void *)c.src);
	madvise((void *)c.src, PMD_SZ, MADV_HUGEPAGE);
	memset((void *)c.src, 0, len);
	slot = mmap_aligned(len, PMD_SZ, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS);
	ASSERT_NE(MAP_FAILED, slot);
	start_writers(_metadata, &c, args, th);
	TH_LOG("%d writer threads, source AnonHugePages %ld kB", c.nthr,
	       smaps_range_kb((uintptr_t)c.src, (uintptr_t)c.src + len,
			      "AnonHugePages"));

	while (now() < end) {
		bool fixed = rounds % 2;

		for (pg = 0; pg < WR_PAGES; pg++)
			before[pg] = c.src[pg * WORDS + WORDS - 1];
		/* every other round a FIXED dup over the last slot (restore) */
		tm = now();
		copy = DUP_OK(self->fd, (void *)c.src, len, fixed ? slot : NULL,
			      fixed ? COWDUP_FIXED : 0);
		tm = now() - tm;
		t_dup += tm;
		if (tm > t_max)
			t_max = tm;
		for (pg = 0; pg < WR_PAGES; pg++)
			after[pg] = c.src[pg * WORDS];
		check_copy_of_call(_metadata, &c, copy, WR_PAGES, before, after,
				   seen, rounds, &t_wait);
		if (fixed)
			restores++;
		else
			ASSERT_EQ(0, munmap(copy, len));
		rounds++;
	}
	stop_writers(&c, th);
	TH_LOG("%ld dups (%ld of them restores) during %d writers' %lu rounds; dup %.3f s on average, %.3f s at most; %.1f s waiting for writers",
	       rounds, restores, c.nthr, atomic_load(&c.rounds[0]),
	       rounds ? t_dup / rounds : 0, t_max, t_wait);
	munmap(slot, len);
	munmap((void *)c.src, len);
}

/*
 * The same writers, the dup covering only the THP of the source, mapped by
 * a writable huge PMD at each call (MADV_COLLAPSE before each round puts
 * it back after the writers' faults split it): the walk write-protects
 * huge PMDs only, and its TLB flush of 2 MiB steps must still stop every
 * writer.
 */
TEST_F_TIMEOUT(conc, writers_huge_pmd, 300)
{
	const size_t len = WR_PAGES * PAGE_SZ, n = PMD_SZ / PAGE_SZ;
	static uint64_t before[WR_PAGES], after[WR_PAGES];
	static uint64_t seen[WR_PAGES * WORDS];
	struct wr_arg args[16];
	pthread_t th[16];
	struct wr_ctx c;
	double end = now() + test_seconds(), t_wait = 0;
	long rounds = 0, huge_rounds = 0;
	uint64_t *copy;
	size_t pg;

	memset(&c, 0, sizeof(c));
	c.src = mmap_aligned(len, PMD_SZ, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS);
	ASSERT_NE(MAP_FAILED, (void *)c.src);
	madvise((void *)c.src, PMD_SZ, MADV_HUGEPAGE);
	memset((void *)c.src, 0, len);
	if (smaps_range_kb((uintptr_t)c.src, (uintptr_t)c.src + PMD_SZ,
			   "AnonHugePages") != (long)(PMD_SZ / KiB))
		SKIP(return, "no THP");
	start_writers(_metadata, &c, args, th);

	while (now() < end || rounds < 4) {
		if (rounds)
			madvise((void *)c.src, PMD_SZ, MADV_COLLAPSE);
		/* a write makes the huge PMD writable again */
		wr_wait(&c, 1);
		if (smaps_range_kb((uintptr_t)c.src, (uintptr_t)c.src + PMD_SZ,
				   "AnonHugePages") == (long)(PMD_SZ / KiB))
			huge_rounds++;
		for (pg = 0; pg < n; pg++)
			before[pg] = c.src[pg * WORDS + WORDS - 1];
		copy = DUP_OK(self->fd, (void *)c.src, PMD_SZ, NULL, 0);
		for (pg = 0; pg < n; pg++)
			after[pg] = c.src[pg * WORDS];
		check_copy_of_call(_metadata, &c, copy, n, before, after, seen,
				   rounds, &t_wait);
		ASSERT_EQ(0, munmap(copy, PMD_SZ));
		rounds++;
	}
	stop_writers(&c, th);
	TH_LOG("%ld dups, %ld of a huge PMD, during %d writers' %lu rounds",
	       rounds, huge_rounds, c.nthr, atomic_load(&c.rounds[0]));
	/* MADV_COLLAPSE can fail while the writers fault; most rounds count */
	ASSERT_LE(rounds / 2, huge_rounds);
	munmap((void *)c.src, len);
}

/* ---- GUP-fast pins and references racing dups ------------------------ */

#define PIN_PAGES	16
#define PIN_FIRST	4	/* pages 4..7 are pinned */
#define PIN_N		4

struct pin_ctx {
	volatile uint64_t *src;
	struct ring ring;
	int memfd;
	atomic_int stop;
	atomic_long cycles, splices;
	atomic_int failed;
	char why[256];
	uint64_t gen;
};

/* Fill page i of a buffer with value v */
static void fill_val(volatile uint64_t *p, uint64_t v)
{
	size_t w;

	for (w = 0; w < WORDS; w++)
		p[w] = v;
}

static bool all_val(const volatile uint64_t *p, uint64_t v)
{
	size_t w;

	for (w = 0; w < WORDS; w++)
		if (p[w] != v)
			return false;
	return true;
}

/*
 * Pins PIN_N source pages (registration), then over and over: a write
 * through the mapping, a READ_FIXED through the pin; the mapping must
 * show what the pin wrote.  Then unpins; round again.
 */
static void *pin_thread(void *p)
{
	static uint64_t data[PIN_N * WORDS];
	struct pin_ctx *c = p;
	struct io_uring_sqe sqe;
	struct iovec iov;
	int k, i, r;

	while (!atomic_load(&c->stop) && !atomic_load(&c->failed)) {
		iov.iov_base = (void *)(c->src + PIN_FIRST * WORDS);
		iov.iov_len = PIN_N * PAGE_SZ;
		r = syscall(__NR_io_uring_register, c->ring.fd,
			    IORING_REGISTER_BUFFERS, &iov, 1);
		if (r) {
			snprintf(c->why, sizeof(c->why), "register: %s",
				 strerror(errno));
			atomic_store(&c->failed, 1);
			break;
		}
		for (k = 0; k < 8; k++) {
			uint64_t g = ++c->gen * 2;

			/* through the mapping (a COW-shared page copies here) */
			for (i = 0; i < PIN_N; i++)
				fill_val(c->src + (PIN_FIRST + i) * WORDS, g);
			/* through the pin */
			for (i = 0; i < PIN_N * (int)WORDS; i++)
				data[i] = g + 1;
			if (pwrite(c->memfd, data, sizeof(data), 0) !=
			    (ssize_t)sizeof(data))
				break;
			memset(&sqe, 0, sizeof(sqe));
			sqe.opcode = IORING_OP_READ_FIXED;
			sqe.fd = c->memfd;
			sqe.addr = (uintptr_t)(c->src + PIN_FIRST * WORDS);
			sqe.len = PIN_N * PAGE_SZ;
			sqe.buf_index = 0;
			r = ring_run(&c->ring, &sqe);
			if (r != (int)(PIN_N * PAGE_SZ)) {
				snprintf(c->why, sizeof(c->why), "READ_FIXED: %d", r);
				atomic_store(&c->failed, 1);
				break;
			}
			for (i = 0; i < PIN_N; i++) {
				if (!all_val(c->src + (PIN_FIRST + i) * WORDS, g + 1)) {
					snprintf(c->why, sizeof(c->why),
						 "pin and mapping differ: page %d reads %llu after READ_FIXED wrote %llu through the pin",
						 PIN_FIRST + i,
						 (unsigned long long)c->src[(PIN_FIRST + i) * WORDS],
						 (unsigned long long)(g + 1));
					atomic_store(&c->failed, 1);
					break;
				}
			}
		}
		syscall(__NR_io_uring_register, c->ring.fd,
			IORING_UNREGISTER_BUFFERS, NULL, 0);
		atomic_fetch_add(&c->cycles, 1);
	}
	return NULL;
}

/* vmsplice pages of the source into a pipe and drain it, in a loop */
static void *splice_thread(void *p)
{
	static char buf[PIN_PAGES * PAGE_SZ];
	struct pin_ctx *c = p;
	struct iovec iov;
	int fds[2];

	if (pipe(fds))
		return NULL;
	fcntl(fds[0], F_SETPIPE_SZ, PIN_PAGES * PAGE_SZ);
	while (!atomic_load(&c->stop)) {
		iov.iov_base = (void *)c->src;
		iov.iov_len = PIN_FIRST * PAGE_SZ;	/* the unpinned pages */
		if (vmsplice(fds[1], &iov, 1, 0) < 0)
			break;
		if (read(fds[0], buf, PIN_FIRST * PAGE_SZ) != PIN_FIRST * PAGE_SZ)
			break;
		/* those pages are never written: 1 everywhere */
		if (!all_val((uint64_t *)buf, 1) ||
		    !all_val((uint64_t *)(buf + (PIN_FIRST - 1) * PAGE_SZ), 1)) {
			snprintf(c->why, sizeof(c->why),
				 "vmsplice gave %llu, not 1",
				 (unsigned long long)*(uint64_t *)buf);
			atomic_store(&c->failed, 1);
			break;
		}
		atomic_fetch_add(&c->splices, 1);
	}
	close(fds[0]);
	close(fds[1]);
	return NULL;
}

/* Lowest and highest word of the pinned pages */
static void pin_range(const volatile uint64_t *src, uint64_t *lo, uint64_t *hi)
{
	size_t i;

	*lo = UINT64_MAX;
	*hi = 0;
	for (i = PIN_FIRST * WORDS; i < (PIN_FIRST + PIN_N) * WORDS; i++) {
		uint64_t v = src[i];

		if (v < *lo)
			*lo = v;
		if (v > *hi)
			*hi = v;
	}
}

TEST_F_TIMEOUT(conc, gup_pin_race, 300)
{
	static uint64_t seen[PIN_PAGES * WORDS];
	const size_t len = PIN_PAGES * PAGE_SZ;
	struct pin_ctx c;
	pthread_t pt, st;
	double end = now() + test_seconds();
	long dups = 0;
	uint64_t *copy;
	size_t pg;
	int r;

	memset(&c, 0, sizeof(c));
	r = ring_init(&c.ring, 4);
	if (r == -ENOSYS || r == -EPERM)
		SKIP(return, "io_uring: %s", strerror(-r));
	ASSERT_EQ(0, r);
	c.memfd = memfd_create("cowdup-pin-race", MFD_CLOEXEC);
	ASSERT_LE(0, c.memfd);
	c.src = anon_map(len);
	ASSERT_NE(MAP_FAILED, (void *)c.src);
	for (pg = 0; pg < PIN_PAGES; pg++)
		fill_val(c.src + pg * WORDS, 1);
	ASSERT_EQ(0, pthread_create(&pt, NULL, pin_thread, &c));
	ASSERT_EQ(0, pthread_create(&st, NULL, splice_thread, &c));

	while (now() < end && !atomic_load(&c.failed)) {
		uint64_t lo, hi, lo2, hi2;
		size_t w;
		long cyc;

		/*
		 * Through the pin the page is written as a DMA target is, in
		 * no particular order, and the dup copies it while that goes
		 * on: each word of the copy holds a value that word had
		 * during the call - nothing older, nothing newer.
		 */
		pin_range(c.src, &lo, &hi);
		copy = DUP_OK(self->fd, (void *)c.src, len, 0, 0);
		pin_range(c.src, &lo2, &hi2);
		for (w = 0; w < len / 8; w++)
			seen[w] = ((volatile uint64_t *)copy)[w];
		for (pg = 0; pg < PIN_FIRST; pg++) {
			ASSERT_TRUE(all_val(seen + pg * WORDS, 1));
		}
		for (w = PIN_FIRST * WORDS; w < (PIN_FIRST + PIN_N) * WORDS; w++) {
			ASSERT_TRUE(seen[w] >= lo && seen[w] <= hi2) {
				TH_LOG("dup %ld: copy word %zu of page %zu is %llu, the page held %llu..%llu before and %llu..%llu after the call",
				       dups, w % WORDS, w / WORDS,
				       (unsigned long long)seen[w],
				       (unsigned long long)lo,
				       (unsigned long long)hi,
				       (unsigned long long)lo2,
				       (unsigned long long)hi2);
			}
		}
		/* the pinning thread goes on: the copy does not change */
		cyc = atomic_load(&c.cycles);
		while (atomic_load(&c.cycles) < cyc + 1 && !atomic_load(&c.failed))
			usleep(1000);
		ASSERT_EQ(0, memcmp(seen, copy, len)) {
			uint64_t ps, pc;

			for (pg = 0; pg < PIN_PAGES; pg++)
				if (memcmp(seen + pg * WORDS, copy + pg * WORDS,
					   PAGE_SZ))
					break;
			ps = pagemap_entry((char *)c.src + pg * PAGE_SZ);
			pc = pagemap_entry((char *)copy + pg * PAGE_SZ);
			TH_LOG("dup %ld: copy page %zu changed after the call: %llu -> %llu; source pfn %#llx, copy pfn %#llx",
			       dups, pg, (unsigned long long)seen[pg * WORDS],
			       (unsigned long long)copy[pg * WORDS],
			       (unsigned long long)pagemap_pfn(ps),
			       (unsigned long long)pagemap_pfn(pc));
		}
		ASSERT_EQ(0, munmap(copy, len));
		dups++;
	}
	atomic_store(&c.stop, 1);
	pthread_join(pt, NULL);
	pthread_join(st, NULL);
	ASSERT_EQ(0, atomic_load(&c.failed)) TH_LOG("%s (after %ld dups)", c.why,
						    dups);
	TH_LOG("%ld dups racing %ld pin/unpin cycles (%llu writes through pins) and %ld vmsplices",
	       dups, atomic_load(&c.cycles), (unsigned long long)c.gen,
	       atomic_load(&c.splices));
	ASSERT_LT(0, atomic_load(&c.cycles));
	ring_exit(&c.ring);
	close(c.memfd);
	munmap((void *)c.src, len);
}

/*
 * Pinned pages (a registered io_uring buffer) written through the mapping
 * by a thread, in word order, during dups.  A pinned page is copied for
 * the copy at the call; like every other page it must hold a value the
 * page had during the call (contract, semantics 9): a state of the page,
 * not a mix of states as a copy racing the writer would make.
 */
#define PW_PAGES	16	/* pages PIN_FIRST.. PIN_FIRST + PIN_N - 1 pinned
			   and written, rewritten every few microseconds */

struct pw_ctx {
	volatile uint64_t *src;
	atomic_int stop;
	atomic_ulong rounds;
};

/* The calling thread on CPU cpu only (if there is more than one) */
static void pin_to_cpu(int cpu)
{
	cpu_set_t set;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void *pw_thread(void *p)
{
	struct pw_ctx *c = p;
	uint64_t g = 1;
	size_t pg, w;

	pin_to_cpu(1);	/* truly next to the dup, not taking turns with it */
	while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
		g++;
		for (pg = PIN_FIRST; pg < PIN_FIRST + PIN_N; pg++)
			for (w = 0; w < WORDS; w++)
				c->src[pg * WORDS + w] = g;
		atomic_store(&c->rounds, g);
	}
	return NULL;
}

/*
 * Interrupts for the dup's CPU: membarrier() IPIs every CPU running a
 * thread of this process, the one copying a pinned page in the kernel
 * too.  A copy interrupted half way is what a writer overtakes.
 */
static void *ipi_thread(void *p)
{
	struct pw_ctx *c = p;

	pin_to_cpu(1);
	if (syscall(__NR_membarrier, 1 << 4 /* REGISTER_PRIVATE_EXPEDITED */,
		    0, 0))
		return NULL;
	while (!atomic_load_explicit(&c->stop, memory_order_relaxed))
		syscall(__NR_membarrier, 1 << 3 /* PRIVATE_EXPEDITED */, 0, 0);
	return NULL;
}

TEST_F_TIMEOUT(conc, pinned_written_during_dup, 300)
{
	static uint64_t seen[PW_PAGES * WORDS];
	const size_t len = PW_PAGES * PAGE_SZ;
	static uint64_t before[PW_PAGES], after[PW_PAGES];
	double end = now() + test_seconds();
	struct pw_ctx c;
	struct ring ring;
	struct iovec iov;
	long dups = 0, torn = 0, first_torn = -1;
	unsigned long r0;
	uint64_t *copy;
	pthread_t th, ipi;
	size_t pg, w;
	int r;

	memset(&c, 0, sizeof(c));
	r = ring_init(&ring, 4);
	if (r == -ENOSYS || r == -EPERM)
		SKIP(return, "io_uring: %s", strerror(-r));
	ASSERT_EQ(0, r);
	c.src = anon_map(len);
	ASSERT_NE(MAP_FAILED, (void *)c.src);
	for (pg = 0; pg < PW_PAGES; pg++)
		fill_val(c.src + pg * WORDS, 1);
	iov.iov_base = (void *)(c.src + PIN_FIRST * WORDS);
	iov.iov_len = PIN_N * PAGE_SZ;
	r = syscall(__NR_io_uring_register, ring.fd, IORING_REGISTER_BUFFERS,
		    &iov, 1);
	if (r && (errno == EPERM || errno == ENOMEM))
		SKIP(return, "cannot register buffers: %s", strerror(errno));
	ASSERT_EQ(0, r);
	pin_to_cpu(0);
	ASSERT_EQ(0, pthread_create(&th, NULL, pw_thread, &c));
	ASSERT_EQ(0, pthread_create(&ipi, NULL, ipi_thread, &c));
	while (atomic_load(&c.rounds) < 3)
		sched_yield();

	while (now() < end) {
		for (pg = 0; pg < PW_PAGES; pg++)
			before[pg] = c.src[pg * WORDS + WORDS - 1];
		copy = DUP_OK(self->fd, (void *)c.src, len, 0, 0);
		for (pg = 0; pg < PW_PAGES; pg++)
			after[pg] = c.src[pg * WORDS];
		for (w = 0; w < len / 8; w++)
			seen[w] = ((volatile uint64_t *)copy)[w];
		for (pg = 0; pg < PIN_FIRST; pg++) {
			ASSERT_TRUE(all_val(seen + pg * WORDS, 1));
		}
		for (pg = PIN_FIRST; pg < PIN_FIRST + PIN_N; pg++) {
			const uint64_t *p = seen + pg * WORDS;

			ASSERT_LE(before[pg], p[WORDS - 1]);
			ASSERT_GE(after[pg], p[0]);
			if (torn_at(p) && !torn++) {
				first_torn = dups;
				TH_LOG("dup %ld: copy of pinned page %zu is a mix of states: words 0, %zu, 511 = %llu, %llu, %llu (%llu before, %llu after the call)",
				       dups, pg, torn_at(p),
				       (unsigned long long)p[0],
				       (unsigned long long)p[torn_at(p)],
				       (unsigned long long)p[WORDS - 1],
				       (unsigned long long)before[pg],
				       (unsigned long long)after[pg]);
			}
		}
		/* and it stays what it was */
		r0 = atomic_load(&c.rounds);
		while (atomic_load(&c.rounds) < r0 + 2)
			sched_yield();
		ASSERT_EQ(0, memcmp(seen, copy, len));
		ASSERT_EQ(0, munmap(copy, len));
		dups++;
	}
	atomic_store(&c.stop, 1);
	pthread_join(th, NULL);
	pthread_join(ipi, NULL);
	syscall(__NR_io_uring_register, ring.fd, IORING_UNREGISTER_BUFFERS,
		NULL, 0);
	ring_exit(&ring);
	munmap((void *)c.src, len);
	TH_LOG("%ld dups of %d pinned pages being written: %ld with a torn page (first: dup %ld)",
	       dups, PIN_N, torn, first_torn);
	ASSERT_EQ(0, torn);
}

/* ---- mmap/munmap/mprotect/mremap next to the source ------------------- */

#define NB_SRC		64	/* source pages */
#define NB_GAP		8	/* gap on each side of the source */

struct nb_ctx {
	char *area;		/* [gap][source][gap] plus a parking area */
	char *park;
	atomic_int stop;
	atomic_long ops;
	atomic_int failed;
	char why[256];
};

struct nb_arg {
	struct nb_ctx *c;
	int id;
};

/* Thread 0 works in the gap before the source, thread 1 after it */
static void *nb_thread(void *p)
{
	struct nb_arg *a = p;
	struct nb_ctx *c = a->c;
	char *gap = a->id == 0 ? c->area :
		    c->area + (NB_GAP + NB_SRC) * PAGE_SZ;
	char *park = c->park + a->id * 2 * NB_GAP * PAGE_SZ;
	uint64_t rs = a->id + 1;
	unsigned long k = 0;

	while (!atomic_load(&c->stop) && !atomic_load(&c->failed)) {
		long n = 1 + splitmix(&rs) % NB_GAP;
		/* adjacent to the source, or a page away */
		long off = a->id == 0 ? NB_GAP - n - (long)(splitmix(&rs) % 2) :
			   (long)(splitmix(&rs) % 2);
		char *at = gap + off * PAGE_SZ, *m;

		if (off < 0 || off + n > NB_GAP)
			continue;
		m = mmap(at, n * PAGE_SZ, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (m != at) {
			snprintf(c->why, sizeof(c->why), "mmap next to the source: %s",
				 strerror(errno));
			atomic_store(&c->failed, 1);
			break;
		}
		memset(m, 0x5a, n * PAGE_SZ);
		switch (k++ % 3) {
		case 0:
			mprotect(m, n * PAGE_SZ, PROT_READ);
			break;
		case 1:
			/* away and back */
			if (mremap(m, n * PAGE_SZ, n * PAGE_SZ,
				   MREMAP_MAYMOVE | MREMAP_FIXED, park) != park ||
			    mremap(park, n * PAGE_SZ, n * PAGE_SZ,
				   MREMAP_MAYMOVE | MREMAP_FIXED, m) != m) {
				snprintf(c->why, sizeof(c->why), "mremap: %s",
					 strerror(errno));
				atomic_store(&c->failed, 1);
			}
			break;
		default:
			mprotect(m, PAGE_SZ, PROT_NONE);
			break;
		}
		munmap(m, n * PAGE_SZ);
		atomic_fetch_add(&c->ops, 1);
	}
	return NULL;
}

TEST_F_TIMEOUT(conc, neighbours, 300)
{
	const size_t area_len = (2 * NB_GAP + NB_SRC) * PAGE_SZ;
	struct nb_ctx c;
	struct nb_arg args[2];
	pthread_t th[2];
	double end = now() + test_seconds();
	long dups = 0, efault = 0;
	char *src;
	int t;

	memset(&c, 0, sizeof(c));
	/*
	 * [guard][gap][source][gap][guard][parking]: the guards keep the
	 * gaps too small for anything the kernel places by itself
	 */
	c.area = free_range(area_len + 4 * NB_GAP * PAGE_SZ + 4 * PAGE_SZ,
			    PAGE_SZ);
	ASSERT_NE(NULL, c.area);
	ASSERT_EQ(c.area, mmap(c.area, PAGE_SZ, PROT_NONE, MAP_PRIVATE |
			       MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0));
	c.area += PAGE_SZ;
	ASSERT_EQ(c.area + area_len, mmap(c.area + area_len, PAGE_SZ, PROT_NONE,
					  MAP_PRIVATE | MAP_ANONYMOUS |
					  MAP_FIXED_NOREPLACE, -1, 0));
	c.park = c.area + area_len + PAGE_SZ;
	ASSERT_EQ(c.park + 4 * NB_GAP * PAGE_SZ,
		  mmap(c.park + 4 * NB_GAP * PAGE_SZ, PAGE_SZ, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0));
	src = c.area + NB_GAP * PAGE_SZ;
	ASSERT_EQ(src, mmap(src, NB_SRC * PAGE_SZ, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			    -1, 0));
	pattern_fill(src, NB_SRC * PAGE_SZ, 1);
	/* a read-only page inside: two VMAs in the source */
	ASSERT_EQ(0, mprotect(src + 7 * PAGE_SZ, PAGE_SZ, PROT_READ));
	for (t = 0; t < 2; t++) {
		args[t].c = &c;
		args[t].id = t;
		ASSERT_EQ(0, pthread_create(&th[t], NULL, nb_thread, &args[t]));
	}
	while (now() < end && !atomic_load(&c.failed)) {
		void *d = NULL;
		int r;

		/* the source alone: always fine */
		d = DUP_OK(self->fd, src, NB_SRC * PAGE_SZ, 0, 0);
		ASSERT_PATTERN(d, NB_SRC * PAGE_SZ, 1);
		/* writes to the copy stay there */
		pattern_fill_at((char *)d + 3 * PAGE_SZ, 3, 1, 2);
		ASSERT_PATTERN_AT(src + 3 * PAGE_SZ, 3, 1, 1);
		ASSERT_EQ(0, munmap(d, NB_SRC * PAGE_SZ));
		/* with a page of neighbour on each side: there or not */
		d = NULL;
		r = cowdup_dup_raw(self->fd, src - PAGE_SZ,
				   (NB_SRC + 2) * PAGE_SZ, &d, 0);
		if (r == 0) {
			ASSERT_PATTERN_AT((char *)d + PAGE_SZ, 0, NB_SRC, 1);
			ASSERT_EQ(0, munmap(d, (NB_SRC + 2) * PAGE_SZ));
		} else {
			ASSERT_EQ(-EFAULT, r);
			efault++;
		}
		dups += 2;
	}
	atomic_store(&c.stop, 1);
	for (t = 0; t < 2; t++)
		pthread_join(th[t], NULL);
	ASSERT_EQ(0, atomic_load(&c.failed)) TH_LOG("%s", c.why);
	ASSERT_PATTERN(src, NB_SRC * PAGE_SZ, 1);
	TH_LOG("%ld dups (%ld EFAULT over a hole) next to %ld mmap/mprotect/mremap/munmap rounds",
	       dups, efault, atomic_load(&c.ops));
	munmap(c.area - PAGE_SZ, area_len + 4 * NB_GAP * PAGE_SZ + 3 * PAGE_SZ);
}

/* ---- threads duplicating copies of copies ----------------------------- */

#define CC_PAGES	32
#define CC_SLOTS	12

struct cc_slot {
	pthread_mutex_t lock;
	char *p;
	uint32_t seed[CC_PAGES];	/* pattern seed of each page */
};

struct cc_ctx {
	int fd;
	struct cc_slot slot[CC_SLOTS];
	atomic_int stop;
	atomic_long dups, writes, fresh;
	atomic_int failed;
	atomic_uint next_seed;
	char why[256];
};

struct cc_arg {
	struct cc_ctx *c;
	int id;
};

static bool cc_check(struct cc_slot *s, const char *p)
{
	size_t i;

	for (i = 0; i < CC_PAGES; i++)
		if (pattern_check_page(p + i * PAGE_SZ, i, s->seed[i]) >= 0)
			return false;
	return true;
}

static void *cc_thread(void *p)
{
	struct cc_arg *a = p;
	struct cc_ctx *c = a->c;
	uint64_t rs = 1000 + a->id;
	size_t i;

	while (!atomic_load(&c->stop) && !atomic_load(&c->failed)) {
		int x = splitmix(&rs) % CC_SLOTS, y = splitmix(&rs) % CC_SLOTS;
		struct cc_slot *from, *to;
		unsigned int what = splitmix(&rs) % 10;
		void *d;
		int r;

		if (x == y)
			continue;
		/* locks in slot order */
		pthread_mutex_lock(&c->slot[x < y ? x : y].lock);
		pthread_mutex_lock(&c->slot[x < y ? y : x].lock);
		from = &c->slot[x];
		to = &c->slot[y];
		if (what < 7) {
			/* to := from, a FIXED dup of a copy of a copy ... */
			d = to->p;
			r = cowdup_dup_raw(c->fd, from->p, CC_PAGES * PAGE_SZ,
					   &d, COWDUP_FIXED);
			if (r || d != to->p) {
				snprintf(c->why, sizeof(c->why),
					 "restore slot %d from %d: %s", y, x,
					 strerror(-r));
				atomic_store(&c->failed, 1);
			} else {
				memcpy(to->seed, from->seed, sizeof(to->seed));
				atomic_fetch_add(&c->dups, 1);
			}
		} else if (what < 9) {
			/* a few pages of the target written */
			for (i = 0; i < CC_PAGES; i++) {
				if (splitmix(&rs) % 4)
					continue;
				to->seed[i] = atomic_fetch_add(&c->next_seed, 1);
				pattern_fill_page(to->p + i * PAGE_SZ, i,
						  to->seed[i]);
			}
			atomic_fetch_add(&c->writes, 1);
		} else {
			/* an auto-placed copy of from, checked and dropped */
			d = NULL;
			r = cowdup_dup_raw(c->fd, from->p, CC_PAGES * PAGE_SZ,
					   &d, 0);
			if (r || !cc_check(from, d)) {
				snprintf(c->why, sizeof(c->why),
					 "auto copy of slot %d: %s", x,
					 r ? strerror(-r) : "wrong bytes");
				atomic_store(&c->failed, 1);
			}
			if (!r)
				munmap(d, CC_PAGES * PAGE_SZ);
			atomic_fetch_add(&c->fresh, 1);
		}
		if (!atomic_load(&c->failed) &&
		    (!cc_check(from, from->p) || !cc_check(to, to->p))) {
			snprintf(c->why, sizeof(c->why),
				 "slot %d or %d reads wrong after %s", x, y,
				 what < 7 ? "a restore" : what < 9 ? "writes" :
				 "an auto copy");
			atomic_store(&c->failed, 1);
		}
		pthread_mutex_unlock(&c->slot[x < y ? y : x].lock);
		pthread_mutex_unlock(&c->slot[x < y ? x : y].lock);
	}
	return NULL;
}

TEST_F_TIMEOUT(conc, copies_of_copies, 300)
{
	struct cc_ctx *c;
	struct cc_arg args[16];
	pthread_t th[16];
	int n = nthreads(), t, s;
	size_t i;

	c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, c);
	memset(c, 0, sizeof(*c));
	c->fd = self->fd;
	atomic_store(&c->next_seed, 100);
	/* slot 0 the source, the others its copies */
	for (s = 0; s < CC_SLOTS; s++) {
		pthread_mutex_init(&c->slot[s].lock, NULL);
		if (s == 0) {
			c->slot[0].p = anon_map(CC_PAGES * PAGE_SZ);
			ASSERT_NE(MAP_FAILED, c->slot[0].p);
			for (i = 0; i < CC_PAGES; i++) {
				c->slot[0].seed[i] = 1;
				pattern_fill_page(c->slot[0].p + i * PAGE_SZ, i, 1);
			}
		} else {
			c->slot[s].p = DUP_OK(self->fd, c->slot[s - 1].p,
					      CC_PAGES * PAGE_SZ, 0, 0);
			memcpy(c->slot[s].seed, c->slot[0].seed,
			       sizeof(c->slot[0].seed));
		}
	}
	for (t = 0; t < n; t++) {
		args[t].c = c;
		args[t].id = t;
		ASSERT_EQ(0, pthread_create(&th[t], NULL, cc_thread, &args[t]));
	}
	usleep((useconds_t)(test_seconds() * 1e6));
	atomic_store(&c->stop, 1);
	for (t = 0; t < n; t++)
		pthread_join(th[t], NULL);
	ASSERT_EQ(0, atomic_load(&c->failed)) TH_LOG("%s", c->why);
	for (s = 0; s < CC_SLOTS; s++) {
		ASSERT_TRUE(cc_check(&c->slot[s], c->slot[s].p));
		munmap(c->slot[s].p, CC_PAGES * PAGE_SZ);
	}
	TH_LOG("%d threads: %ld restores of copies of copies, %ld rounds of writes, %ld auto copies",
	       n, atomic_load(&c->dups), atomic_load(&c->writes),
	       atomic_load(&c->fresh));
}

/* ---- SIGKILL in the middle of a huge sparse dup ----------------------- */

#define SPARSE_LEN	(16ULL << 30)
#define SPARSE_STEP	(4ULL << 20)

TEST_F_TIMEOUT(conc, sigkill_sparse, 300)
{
	volatile long *progress;
	uint64_t rs = (uint64_t)getpid() * 7919;
	double worst = 0;
	long total = 0;
	int k, kills = 4;

	progress = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, (void *)progress);
	for (k = 0; k < kills; k++) {
		double t0, t1;
		int status;
		pid_t pid;

		progress[0] = 0;	/* dups done */
		progress[1] = 0;	/* set up */
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			char *p = mmap(NULL, SPARSE_LEN, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				       -1, 0);
			uint64_t off;

			if (p == MAP_FAILED)
				_exit(2);
			madvise(p, SPARSE_LEN, MADV_NOHUGEPAGE);
			for (off = 0; off < SPARSE_LEN; off += SPARSE_STEP)
				p[off] = 1;
			progress[1] = 1;
			for (;;) {
				void *d = NULL;

				if (cowdup_dup_raw(self->fd, p, SPARSE_LEN, &d, 0))
					_exit(3);
				munmap(d, SPARSE_LEN);
				progress[0]++;
			}
		}
		/*
		 * Wait for it to be set up (odd rounds: for a finished dup,
		 * however slow the kernel), then kill it at a random moment.
		 */
		t0 = now();
		while (!progress[1] || (k % 2 && !progress[0])) {
			if (waitpid(pid, &status, WNOHANG) == pid) {
				ASSERT_TRUE(false) TH_LOG("the child died: %#x (2: mmap, 3: a dup failed)",
							  status);
			}
			if (now() - t0 > 120) {
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				ASSERT_TRUE(false) TH_LOG("no dup of 16 GiB finished in 120 s");
			}
			usleep(10000);
		}
		usleep(200000 + splitmix(&rs) % 1500000);
		t0 = now();
		ASSERT_EQ(0, kill(pid, SIGKILL));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		t1 = now();
		ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
			TH_LOG("child ended with %#x (2: mmap, 3: a dup failed)",
			       status);
		}
		TH_LOG("kill %d: after %ld dups of 16 GiB, gone %.3f s after SIGKILL",
		       k, progress[0], t1 - t0);
		total += progress[0];
		if (t1 - t0 > worst)
			worst = t1 - t0;
	}
	ASSERT_LT(worst, 5.0) TH_LOG("a dying process took %.1f s", worst);
	/* the odd rounds waited for one: the loop really dups */
	ASSERT_LT(0, total) TH_LOG("no dup finished in %d rounds", kills);

	/* a new process works */
	{
		pid_t pid = fork();
		int status;

		ASSERT_LE(0, pid);
		if (pid == 0) {
			char *s = anon_map(64 * PAGE_SZ), *d;

			if (s == MAP_FAILED)
				_exit(2);
			pattern_fill(s, 64 * PAGE_SZ, 3);
			d = NULL;
			if (cowdup_dup_raw(self->fd, s, 64 * PAGE_SZ, (void **)&d, 0))
				_exit(3);
			_exit(pattern_check(d, 64 * PAGE_SZ, 3) == -1 ? 0 : 4);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_EQ(0, status);
	}
	munmap((void *)progress, PAGE_SZ);
}

TEST_HARNESS_MAIN
