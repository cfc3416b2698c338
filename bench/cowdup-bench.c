// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * cowdup-bench: what a copy-on-write duplicate costs next to the ways a
 * program gets one without cowdup (issue 6), and what the page-state query
 * costs next to /proc/self/pagemap (issue 8).  Run by `make bench` in the
 * VM; see Documentation/performance.md for what each case measures.
 *
 *   cowdup-bench [--sizes MiB,MiB,...] [--reps N] [--big-reps N]
 *                [--only SECTION,...] [--query-mib MiB]
 *
 * Sections: dup (16 MiB .. 2 GiB, 4 KiB pages, THPs by PMD and by PTEs:
 * cowdup, fork, memfd, uffd-wp, memcpy), sparse, write (first write per
 * page), restore, query, state (the cost of a call by what ran before
 * it).  Every figure is the median of --reps runs (--big-reps for the
 * memcpy of 1 GiB and more), printed with its min..max; times are wall
 * clock (CLOCK_MONOTONIC).  Besides the table, every figure is printed as
 * a line "@csv,section,kind,case,method,size_mib,reps,median_ms,min_ms,
 * max_ms,q1_ms,q3_ms" for the host to collect.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cowdup.h>

#define PAGE		4096UL
#define HPAGE		(2UL << 20)
#define MIB		(1UL << 20)
#define GIB		(1UL << 30)
#define MAXREPS		64

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif

static int reps = 5;		/* runs per figure */
static int big_reps = 3;	/* runs of a memcpy of 1 GiB or more */
static size_t query_mib = 1024;	/* region of the query section */
static size_t sizes[16] = { 16, 64, 256, 1024, 2048 };
static int nsizes = 5;
static const char *only;	/* comma-separated sections, NULL for all */

/* ---- time and statistics ------------------------------------------------ */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct fig {
	int n;
	double med, min, max, q1, q3;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double quantile(const double *s, int n, double q)
{
	double pos = q * (n - 1);
	int i = (int)pos;

	if (i + 1 >= n)
		return s[n - 1];
	return s[i] + (pos - i) * (s[i + 1] - s[i]);
}

static struct fig summarize(double *t, int n)
{
	struct fig f = { .n = n };

	if (!n) {
		f.med = f.min = f.max = f.q1 = f.q3 = -1;
		return f;
	}
	qsort(t, n, sizeof(*t), cmp_double);
	f.min = t[0];
	f.max = t[n - 1];
	f.med = quantile(t, n, 0.5);
	f.q1 = quantile(t, n, 0.25);
	f.q3 = quantile(t, n, 0.75);
	return f;
}

/* Every figure is kept for the targets at the end. */
struct result {
	char section[12], kind[8], cas[24], method[24];
	size_t mib;
	struct fig f;
};
static struct result results[512];
static int nresults;

static void record(const char *section, const char *kind, const char *cas,
		   const char *method, size_t mib, struct fig f)
{
	if (nresults < (int)(sizeof(results) / sizeof(results[0]))) {
		struct result *r = &results[nresults++];

		snprintf(r->section, sizeof(r->section), "%s", section);
		snprintf(r->kind, sizeof(r->kind), "%s", kind);
		snprintf(r->cas, sizeof(r->cas), "%s", cas);
		snprintf(r->method, sizeof(r->method), "%s", method);
		r->mib = mib;
		r->f = f;
	}
	printf("@csv,%s,%s,%s,%s,%zu,%d,%.4f,%.4f,%.4f,%.4f,%.4f\n", section,
	       kind, cas, method, mib, f.n, f.med, f.min, f.max, f.q1, f.q3);
}

static const struct fig *lookup(const char *section, const char *kind,
				const char *cas, const char *method, size_t mib)
{
	for (int i = 0; i < nresults; i++) {
		struct result *r = &results[i];

		if (!strcmp(r->section, section) && !strcmp(r->kind, kind) &&
		    !strcmp(r->cas, cas) && !strcmp(r->method, method) &&
		    r->mib == mib && r->f.n)
			return &r->f;
	}
	return NULL;
}

/* "median [min..max]" of a figure in ms, or "n/a". */
static const char *fmt_fig(char *buf, size_t size, const struct fig *f)
{
	if (!f || !f->n)
		snprintf(buf, size, "n/a");
	else
		snprintf(buf, size, "%.3f [%.3f..%.3f]", f->med, f->min,
			 f->max);
	return buf;
}

/* ---- helpers --------------------------------------------------------------- */

static void fail(const char *what)
{
	fprintf(stderr, "cowdup-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int want(const char *section)
{
	const char *p = only;
	size_t n = strlen(section);

	if (!only)
		return 1;
	while (p && *p) {
		if (!strncmp(p, section, n) && (p[n] == ',' || !p[n]))
			return 1;
		p = strchr(p, ',');
		p = p ? p + 1 : NULL;
	}
	return 0;
}

/* A private anonymous mapping of @len, 2 MiB aligned, with 4 KiB pages or
 * (thp) transparent huge pages asked for. */
static unsigned char *map_region(size_t len, int thp, int flags)
{
	size_t extra = HPAGE;
	unsigned char *p = mmap(NULL, len + extra, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
	unsigned char *a;

	if (p == MAP_FAILED)
		fail("mmap");
	a = (unsigned char *)(((uintptr_t)p + HPAGE - 1) & ~(HPAGE - 1));
	if (a > p)
		munmap(p, a - p);
	munmap(a + len, p + extra - a);
	if (madvise(a, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		fail("madvise");
	return a;
}

/* Write every page: one byte per page, a different value per page.  The
 * pages are faulted in by MADV_POPULATE_WRITE first, which under TCG is
 * several times faster than a fault per page from user space (setup only,
 * never timed). */
static void fill(unsigned char *p, size_t len)
{
	madvise(p, len, MADV_POPULATE_WRITE);
	for (size_t i = 0; i < len; i += PAGE)
		p[i] = (unsigned char)(i / PAGE + 1);
}

/* Percent of the pages of [p, p + len) that are part of a huge page. */
static double huge_percent(const void *p, size_t len)
{
	size_t n = len / PAGE, huge = 0;
	unsigned char *vec = malloc(n);

	if (!vec)
		fail("malloc");
	if (cowdup_pagestate(p, len, vec)) {
		free(vec);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		huge += !!(vec[i] & COWDUP_PAGE_HUGE);
	free(vec);
	return 100.0 * huge / n;
}

static void read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");

	snprintf(buf, size, "?");
	if (f) {
		if (fgets(buf, size, f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
}

/*
 * The page sizes of a region: 4 KiB pages, THPs mapped by PMD, and THPs
 * mapped by PTEs (large folios, as after an mprotect() of part of a THP).
 */
enum { KIND_4K, KIND_THP, KIND_THP_PTE };

static const char *kind_name(int kind)
{
	return kind == KIND_THP_PTE ? "thp-pte" : kind == KIND_THP ? "thp" : "4k";
}

/*
 * Map every THP of [p, p + len) by PTEs, keeping the folios: mprotect() of
 * one page of each 2 MiB splits its PMD, and the second mprotect() makes
 * the range one VMA again.  MADV_NOHUGEPAGE then keeps khugepaged from
 * collapsing them back during the runs.
 */
static void split_pmds(unsigned char *p, size_t len)
{
	for (size_t o = 0; o < len; o += HPAGE)
		if (mprotect(p + o + PAGE, PAGE, PROT_READ) ||
		    mprotect(p + o + PAGE, PAGE, PROT_READ | PROT_WRITE))
			fail("mprotect");
	if (madvise(p, len, MADV_NOHUGEPAGE))
		fail("madvise");
}

/* ---- the methods of the dup section ----------------------------------------- */

static double t_cowdup(unsigned char *src, size_t len)
{
	double t = now_ms();
	void *copy = cowdup(src, len, NULL, 0);

	t = now_ms() - t;
	if (copy == MAP_FAILED)
		fail("cowdup");
	munmap(copy, len);
	return t;
}

/* fork() of this process: time until fork returns in the parent; the child
 * waits on a pipe, untouched, until it is told to go. */
static double t_fork(void)
{
	int pfd[2], status;
	double t;
	pid_t pid;
	char c;

	if (pipe(pfd))
		fail("pipe");
	t = now_ms();
	pid = fork();
	if (pid == 0) {
		close(pfd[1]);
		(void)!read(pfd[0], &c, 1);
		_exit(0);
	}
	t = now_ms() - t;
	if (pid < 0)
		fail("fork");
	close(pfd[0]);
	close(pfd[1]);
	if (waitpid(pid, &status, 0) < 0)
		fail("waitpid");
	return t;
}

/* memcpy into a fresh mapping: mmap + every page copied (and faulted). */
static double t_memcpy(unsigned char *src, size_t len, int thp)
{
	double t = now_ms();
	unsigned char *dst = map_region(len, thp, 0);

	memcpy(dst, src, len);
	t = now_ms() - t;
	munmap(dst, len);
	return t;
}

/* uffd-wp arming: UFFDIO_REGISTER (MODE_WP) + UFFDIO_WRITEPROTECT of the
 * whole range.  Returns -1 when userfaultfd write-protect is unavailable. */
static double t_uffd(unsigned char *src, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)src, .len = len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	struct uffdio_writeprotect wp = {
		.range = { .start = (uintptr_t)src, .len = len },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};
	struct uffdio_range range = { .start = (uintptr_t)src, .len = len };
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	double t;

	if (fd < 0)
		return -1;
	if (ioctl(fd, UFFDIO_API, &api) ||
	    !(api.features & UFFD_FEATURE_PAGEFAULT_FLAG_WP)) {
		close(fd);
		return -1;
	}
	t = now_ms();
	if (ioctl(fd, UFFDIO_REGISTER, &reg) ||
	    ioctl(fd, UFFDIO_WRITEPROTECT, &wp)) {
		close(fd);
		return -1;
	}
	t = now_ms() - t;
	/* Disarm before the next run: no uffd-wp bit is left behind. */
	wp.mode = 0;
	if (ioctl(fd, UFFDIO_WRITEPROTECT, &wp) ||
	    ioctl(fd, UFFDIO_UNREGISTER, &range))
		fail("uffd disarm");
	close(fd);
	return t;
}

/*
 * memfd double MAP_PRIVATE: the data lives in a memfd; the region is one
 * MAP_PRIVATE mapping of it, the "copy" a second one.  Timed: the second
 * mmap plus MADV_POPULATE_READ of it, i.e. until every page of the copy can
 * be read without a fault (the page cache pages mapped read-only; a write
 * still faults and copies, as with cowdup).
 */
static double t_memfd(int fd, size_t len)
{
	double t = now_ms();
	unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE,
				fd, 0);

	if (m == MAP_FAILED)
		fail("mmap memfd");
	if (madvise(m, len, MADV_POPULATE_READ)) {
		munmap(m, len);
		return -1;
	}
	t = now_ms() - t;
	munmap(m, len);
	return t;
}

/*
 * A memfd of @len holding the region's data: returns the fd, its MAP_SHARED
 * mapping in *shared (written through for the data) and the first
 * MAP_PRIVATE mapping of it, populated for reading, in *first.
 */
static int make_memfd(size_t len, int thp, unsigned char **shared,
		      unsigned char **first)
{
	int fd = memfd_create("cowdup-bench", MFD_CLOEXEC);
	unsigned char *m;

	if (fd < 0 || ftruncate(fd, (off_t)len))
		fail("memfd");
	m = mmap(NULL, len + HPAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		fail("mmap memfd");
	munmap(m, len + HPAGE);
	/* 2 MiB aligned, so shmem huge pages (if enabled) can be used. */
	m = mmap((void *)(((uintptr_t)m + HPAGE - 1) & ~(HPAGE - 1)), len,
		 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
	if (m == MAP_FAILED)
		fail("mmap memfd");
	if (thp)
		madvise(m, len, MADV_HUGEPAGE);
	fill(m, len);
	*shared = m;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		fail("mmap memfd");
	madvise(m, len, MADV_POPULATE_READ);
	*first = m;
	return fd;
}

typedef double (*run_fn)(void *ctx);

/*
 * The methods of a case, measured one after the other: each method's runs
 * in a row, as a program calls it in a loop, after one untimed warm-up
 * run.  A section that passes @before has it called, untimed, right
 * before every run.  So every timed run follows the same thing, the
 * method's own previous run and @before: in this VM what ran just before
 * a call changes its cost (a call that does no work: up to 32 times; a
 * 16 MiB THP dup: up to 6 times; host caches and QEMU's software TLB, as
 * the state section measures), and with the methods run in turns each
 * run followed another method.  A negative time stops that method
 * (unavailable).
 */
struct job {
	const char *section, *kind, *cas, *method;
	size_t mib;
	run_fn fn;
	void *ctx;
	int n;
};

#define JOB(s, k, c, m, mb, f, x, nn) { .section = (s), .kind = (k), \
	.cas = (c), .method = (m), .mib = (mb), .fn = (f), .ctx = (x), .n = (nn) }

static void run_jobs(struct job *j, int nj, void (*before)(void *ctx))
{
	for (int i = 0; i < nj; i++) {
		int n = j[i].n < MAXREPS ? j[i].n : MAXREPS, k = 0;
		double t[MAXREPS];

		if (!n)
			continue;	/* not measured in this case */
		for (int r = -1; r < n; r++) {
			double v;

			if (before)
				before(j[i].ctx);
			v = j[i].fn(j[i].ctx);
			if (v < 0)
				break;
			if (r >= 0)
				t[k++] = v;
		}
		record(j[i].section, j[i].kind, j[i].cas, j[i].method, j[i].mib,
		       summarize(t, k));
	}
}

/* The region of a dup, sparse or write case. */
struct dctx {
	unsigned char *src;
	size_t len;
	int thp, fd;		/* thp: a kind (KIND_*), a truth value for map_region() */
	size_t run, stride;	/* populated: @run bytes every @stride bytes */
};

/*
 * Write every populated page of the region (fill(), untimed): every entry
 * is then writable and its page exclusive again, the state of memory a
 * program has just been working on, the memory it would snapshot.  The
 * dup and sparse sections call it before every timed run (run_jobs()).
 */
static void write_source(void *c)
{
	struct dctx *d = c;

	for (size_t o = 0; o < d->len; o += d->stride)
		fill(d->src + o, d->run);
}

static double run_cowdup(void *c) { struct dctx *d = c; return t_cowdup(d->src, d->len); }
/* cowdup right after an (untimed) memcpy of the region into a fresh
 * mapping: the cold case, where the memcpy has left host caches and QEMU's
 * software TLB full of other data. */
static double run_cowdup_cold(void *c)
{
	struct dctx *d = c;

	t_memcpy(d->src, d->len, d->thp);
	return t_cowdup(d->src, d->len);
}
static double run_fork(void *c) { (void)c; return t_fork(); }
static double run_memcpy(void *c) { struct dctx *d = c; return t_memcpy(d->src, d->len, d->thp); }
static double run_uffd(void *c) { struct dctx *d = c; return t_uffd(d->src, d->len); }
static double run_memfd(void *c) { struct dctx *d = c; return t_memfd(d->fd, d->len); }

static void query_section(unsigned char *region, size_t len, int state);

static const char *const dup_methods[] = {
	"cowdup", "fork", "memfd", "uffd-wp", "memcpy", "cowdup-cold",
};

static void print_dup_row(const char *kind, size_t mib, double huge)
{
	const struct fig *cd = lookup("dup", kind, "-", "cowdup", mib);
	char buf[64];

	for (size_t m = 0; m < sizeof(dup_methods) / sizeof(dup_methods[0]); m++) {
		const struct fig *f = lookup("dup", kind, "-", dup_methods[m], mib);
		char ratio[32] = "";

		if (!f && m)
			continue;	/* not measured at this size */
		if (f && cd && cd->med > 0 && m)
			snprintf(ratio, sizeof(ratio), "%9.1fx", f->med / cd->med);
		if (!m)
			printf("  %5zu %5.0f%%", mib, huge);
		else
			printf("  %5s %6s", "", "");
		printf("  %-11s %-31s %10.2f %10s\n", dup_methods[m],
		       fmt_fig(buf, sizeof(buf), f),
		       f ? f->med * 1024.0 / mib : 0.0, ratio);
	}
}

static const char *const dup_kind_title[] = {
	[KIND_4K] = "4 KiB pages (MADV_NOHUGEPAGE)",
	[KIND_THP] = "transparent huge pages (MADV_HUGEPAGE, 2 MiB aligned)",
	[KIND_THP_PTE] = "transparent huge pages mapped by PTEs (split_pmds())",
};

static void dup_section(int kind)
{
	const char *name = kind_name(kind);
	int by_pte = kind == KIND_THP_PTE;

	printf("\n== duplicate a populated private anonymous region, %s\n",
	       dup_kind_title[kind]);
	if (by_pte)
		printf("   duplicated once before the runs, so every run finds shared read-only entries\n"
		       "   (a write would replace a page of a shared large folio with a small copy)\n");
	else
		printf("   every page of the source is written before every run (untimed)\n");
	printf("   ms: median [min..max]; ms/GiB from the median; x = times cowdup's median\n");
	printf("  %5s %6s  %-11s %-31s %10s %10s\n", "MiB", "huge", "method",
	       "ms", "ms/GiB", "x cowdup");
	fflush(stdout);
	for (int s = 0; s < nsizes; s++) {
		size_t mib = sizes[s], len = mib * MIB;
		struct dctx d = { .len = len, .thp = kind, .run = len, .stride = len };
		unsigned char *first;
		double huge;
		int big = mib >= 1024;

		d.src = map_region(len, kind, 0);
		write_source(&d);
		if (by_pte) {
			split_pmds(d.src, len);
			t_cowdup(d.src, len);
		}
		huge = huge_percent(d.src, len);
		{
			struct job j[] = {
				JOB("dup", name, "-", "cowdup", mib, run_cowdup, &d, reps),
				JOB("dup", name, "-", "fork", mib, run_fork, &d, reps),
				JOB("dup", name, "-", "uffd-wp", mib, run_uffd, &d, reps),
				JOB("dup", name, "-", "memcpy", mib, run_memcpy, &d,
				  big ? big_reps : reps),
				/* Costs a memcpy per run: not at 1 GiB and up. */
				JOB("dup", name, "-", "cowdup-cold", mib,
				  run_cowdup_cold, &d, big || by_pte ? 0 : reps),
			};

			run_jobs(j, sizeof(j) / sizeof(j[0]),
				 by_pte ? NULL : write_source);
		}
		if (kind == KIND_4K && mib == query_mib && want("query")) {
			query_section(d.src, len, 0);
			first = cowdup(d.src, len, NULL, 0);
			if (first == MAP_FAILED)
				fail("cowdup");
			query_section(d.src, len, 1);
			munmap(first, len);
		}
		munmap(d.src, len);

		/* A second view of a memfd: no large folio mapped by PTEs. */
		if (!by_pte) {
			struct job j = JOB("dup", name, "-", "memfd", mib,
					   run_memfd, &d, reps);

			d.fd = make_memfd(len, kind, &d.src, &first);
			run_jobs(&j, 1, write_source);
			munmap(first, len);
			munmap(d.src, len);
			close(d.fd);
		}

		print_dup_row(name, mib, huge);
		fflush(stdout);
	}
}

/* ---- sparse ----------------------------------------------------------------- */

#define SPARSE_LEN	(64 * GIB)
#define SPARSE_TOUCH	(64 * MIB)

static double run_stat(void *c)
{
	struct dctx *d = c;
	struct cowdup_stat st;
	double t = now_ms();

	if (cowdup_stat(d->src, d->len, &st))
		fail("cowdup_stat");
	return now_ms() - t;
}

static void sparse_section(void)
{
	static const struct {
		const char *cas, *what;
		size_t len, run, stride;
	} cases[] = {
		{ "dense", "a 64 MiB region, every page written",
		  SPARSE_TOUCH, SPARSE_TOUCH, SPARSE_TOUCH },
		{ "clustered", "64 GiB MAP_NORESERVE, 32 runs of 2 MiB written, 2 GiB apart",
		  SPARSE_LEN, 2 * MIB, 2 * GIB },
		{ "scattered", "64 GiB MAP_NORESERVE, one page written every 4 MiB",
		  SPARSE_LEN, PAGE, 4 * MIB },
	};
	char b1[64], b2[64], b3[64];

	printf("\n== sparse: 64 MiB written in a 64 GiB reservation vs a 64 MiB region (4 KiB pages)\n");
	printf("  %-10s %-34s %-34s %-34s\n", "case", "cowdup ms", "fork ms",
	       "query (counts) ms");
	for (size_t c = 0; c < 3; c++) {
		struct dctx d = { .len = cases[c].len, .run = cases[c].run,
				  .stride = cases[c].stride };
		const struct fig *f1, *f2, *f3;

		d.src = map_region(d.len, 0, c ? MAP_NORESERVE : 0);
		write_source(&d);
		{
			struct job j[] = {
				JOB("sparse", "4k", cases[c].cas, "cowdup", d.len / MIB,
				  run_cowdup, &d, reps),
				JOB("sparse", "4k", cases[c].cas, "fork", d.len / MIB,
				  run_fork, &d, reps),
				JOB("sparse", "4k", cases[c].cas, "query", d.len / MIB,
				  run_stat, &d, reps),
			};

			run_jobs(j, 3, write_source);
		}
		munmap(d.src, d.len);
		f1 = lookup("sparse", "4k", cases[c].cas, "cowdup", d.len / MIB);
		f2 = lookup("sparse", "4k", cases[c].cas, "fork", d.len / MIB);
		f3 = lookup("sparse", "4k", cases[c].cas, "query", d.len / MIB);
		printf("  %-10s %-34s %-34s %-34s\n", cases[c].cas,
		       fmt_fig(b1, sizeof(b1), f1), fmt_fig(b2, sizeof(b2), f2),
		       fmt_fig(b3, sizeof(b3), f3));
		printf("  %-10s (%s)\n", "", cases[c].what);
	}
	{
		const struct fig *dn = lookup("sparse", "4k", "dense", "cowdup", 64);

		for (size_t c = 1; c < 3; c++) {
			const struct fig *sp = lookup("sparse", "4k", cases[c].cas,
						      "cowdup", SPARSE_LEN / MIB);

			if (dn && sp)
				printf("  cowdup %s / dense: %.2fx\n", cases[c].cas,
				       sp->med / dn->med);
		}
	}
	fflush(stdout);
}

/* ---- first write per page ---------------------------------------------------- */

#define WRITE_LEN	(64 * MIB)

static double write_all(unsigned char *p, size_t len)
{
	double t = now_ms();

	for (size_t i = 0; i < len; i += PAGE)
		p[i + 8] = 0xEE;
	return now_ms() - t;
}

static double run_write_dup(void *c)
{
	struct dctx *d = c;
	unsigned char *copy = cowdup(d->src, d->len, NULL, 0);
	double t;

	if (copy == MAP_FAILED)
		fail("cowdup");
	t = write_all(copy, d->len);
	munmap(copy, d->len);
	return t;
}

static double run_write_dup_src(void *c)
{
	struct dctx *d = c;
	unsigned char *copy = cowdup(d->src, d->len, NULL, 0);
	double t;

	if (copy == MAP_FAILED)
		fail("cowdup");
	t = write_all(d->src, d->len);
	munmap(copy, d->len);
	return t;
}

static double run_write_fork(void *c)
{
	struct dctx *d = c;
	int pfd[2], status;
	double t;
	pid_t pid;
	char ch;

	if (pipe(pfd))
		fail("pipe");
	pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		close(pfd[1]);
		(void)!read(pfd[0], &ch, 1);
		_exit(0);
	}
	close(pfd[0]);
	t = write_all(d->src, d->len);
	close(pfd[1]);
	waitpid(pid, &status, 0);
	return t;
}

static double run_write_fresh(void *c)
{
	struct dctx *d = c;
	unsigned char *p = map_region(d->len, d->thp, 0);
	double t = write_all(p, d->len);

	munmap(p, d->len);
	return t;
}

static double run_write_own(void *c)
{
	struct dctx *d = c;

	return write_all(d->src, d->len);
}

static void write_section(void)
{
	static const struct { const char *method, *what; run_fn fn; } m[] = {
		{ "own", "pages already this mapping's own (no fault)", run_write_own },
		{ "fresh", "a fresh mapping (zero-fill fault)", run_write_fresh },
		{ "cowdup-copy", "the copy, after cowdup()", run_write_dup },
		{ "cowdup-src", "the source, after cowdup()", run_write_dup_src },
		{ "fork", "the parent, after fork()", run_write_fork },
	};
	const size_t npages = WRITE_LEN / PAGE;

	printf("\n== first write to every page of a 64 MiB region (%zu pages)\n", npages);
	printf("  %-5s %-12s %-34s %10s %9s  %s\n", "pages", "method", "ms",
	       "ns/page", "x fork", "written");
	for (int thp = 0; thp < 2; thp++) {
		struct dctx d = { .len = WRITE_LEN, .thp = thp };
		const char *kind = kind_name(thp);

		d.src = map_region(d.len, thp, 0);
		fill(d.src, d.len);
		struct job j[sizeof(m) / sizeof(m[0])];

		for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
			j[i] = (struct job)JOB("write", kind, "-", m[i].method,
					     WRITE_LEN / MIB, m[i].fn, &d, reps);
		run_jobs(j, sizeof(m) / sizeof(m[0]), NULL);
		munmap(d.src, d.len);
		for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
			const struct fig *f = lookup("write", kind, "-", m[i].method,
						     WRITE_LEN / MIB);
			const struct fig *fk = lookup("write", kind, "-", "fork",
						      WRITE_LEN / MIB);
			char buf[64], ratio[16] = "";

			if (f && fk && fk->med > 0)
				snprintf(ratio, sizeof(ratio), "%8.2fx", f->med / fk->med);
			printf("  %-5s %-12s %-34s %10.0f %9s  %s\n", kind,
			       m[i].method, fmt_fig(buf, sizeof(buf), f),
			       f ? f->med * 1e6 / npages : 0.0, ratio, m[i].what);
		}
	}
	fflush(stdout);
}

/* ---- restore ------------------------------------------------------------------ */

#define RESTORE_LEN	(256 * MIB)

struct rctx {
	unsigned char *live, *snap;
	size_t len, k, stride;
	int method;	/* 0 cowdup_restore, 1 memcpy dirty, 2 memcpy whole */
};

/* Dirty k pages of live, evenly spread (untimed), then restore (timed). */
static double run_restore(void *c)
{
	struct rctx *r = c;
	double t;

	for (size_t i = 0; i < r->k; i++)
		r->live[i * r->stride * PAGE + 16] = 0xEE;
	t = now_ms();
	if (r->method == 0) {
		if (cowdup_restore(r->live, r->snap, r->len))
			fail("cowdup_restore");
	} else if (r->method == 1) {
		for (size_t i = 0; i < r->k; i++)
			memcpy(r->live + i * r->stride * PAGE,
			       r->snap + i * r->stride * PAGE, PAGE);
	} else {
		memcpy(r->live, r->snap, r->len);
	}
	t = now_ms() - t;
	/* Sampled check that the restore restored. */
	for (size_t i = 0; i < r->k; i += 1 + r->k / 64)
		if (r->live[i * r->stride * PAGE + 16] != 0 ||
		    r->live[i * r->stride * PAGE] != r->snap[i * r->stride * PAGE]) {
			fprintf(stderr, "cowdup-bench: restore left page %zu wrong\n",
				i * r->stride);
			exit(1);
		}
	return t;
}

static void restore_section(void)
{
	static const char *const methods[] = {
		"cowdup_restore", "memcpy-dirty", "memcpy-whole",
	};
	const size_t n = RESTORE_LEN / PAGE;
	const struct { const char *cas; size_t k; } ks[] = {
		{ "1page", 1 }, { "1%", n / 100 }, { "10%", n / 10 }, { "100%", n },
	};
	struct rctx r = { .len = RESTORE_LEN };
	unsigned char *live2, *snap2, *cd_live, *cd_snap;

	printf("\n== restore a 256 MiB snapshot (%zu pages, 4 KiB) after k pages were written\n", n);
	printf("   cowdup_restore: snapshot = cowdup(live), restore = cowdup_restore(live, snapshot)\n");
	printf("   memcpy: snapshot = a memcpy'd copy; restore copies the k dirty pages (the program\n");
	printf("   knows which) or the whole region\n");
	printf("  %-6s %6s  %-16s %-34s %12s\n", "k", "pages", "method", "ms",
	       "x 100% same");

	cd_live = map_region(r.len, 0, 0);
	fill(cd_live, r.len);
	cd_snap = cowdup(cd_live, r.len, NULL, 0);
	if (cd_snap == MAP_FAILED)
		fail("cowdup");
	live2 = map_region(r.len, 0, 0);
	snap2 = map_region(r.len, 0, 0);
	fill(live2, r.len);
	memcpy(snap2, live2, r.len);

	{
		struct rctx rc[3 * 4];
		struct job j[3 * 4];
		int nj = 0;

		for (int m = 0; m < 3; m++)
			for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++, nj++) {
				rc[nj] = r;
				rc[nj].method = m;
				rc[nj].live = m ? live2 : cd_live;
				rc[nj].snap = m ? snap2 : cd_snap;
				rc[nj].k = ks[i].k;
				rc[nj].stride = n / ks[i].k;
				j[nj] = (struct job)JOB("restore", "4k", ks[i].cas,
						      methods[m], RESTORE_LEN / MIB,
						      run_restore, &rc[nj], reps);
			}
		run_jobs(j, nj, NULL);
	}
	munmap(cd_live, r.len);
	munmap(cd_snap, r.len);
	munmap(live2, r.len);
	munmap(snap2, r.len);

	for (int m = 0; m < 3; m++) {
		const struct fig *all = lookup("restore", "4k", "100%", methods[m],
					       RESTORE_LEN / MIB);

		for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
			const struct fig *f = lookup("restore", "4k", ks[i].cas,
						     methods[m], RESTORE_LEN / MIB);
			char buf[64], ratio[16] = "";

			if (f && all && all->med > 0)
				snprintf(ratio, sizeof(ratio), "%11.3f", f->med / all->med);
			printf("  %-6s %6zu  %-16s %-34s %12s\n", ks[i].cas, ks[i].k,
			       methods[m], fmt_fig(buf, sizeof(buf), f), ratio);
		}
	}
	{
		const struct fig *cd = lookup("restore", "4k", "1%", "cowdup_restore",
					      RESTORE_LEN / MIB);
		const struct fig *md = lookup("restore", "4k", "1%", "memcpy-dirty",
					      RESTORE_LEN / MIB);
		const struct fig *mw = lookup("restore", "4k", "1%", "memcpy-whole",
					      RESTORE_LEN / MIB);

		if (cd && md && mw)
			printf("  at 1%%: cowdup_restore is %.2fx memcpy-dirty, %.2fx memcpy-whole\n",
			       cd->med / md->med, cd->med / mw->med);
	}
	fflush(stdout);
}

/* ---- query vs pagemap ------------------------------------------------------------ */

struct qctx {
	unsigned char *p, *vec;
	size_t len;
	uint64_t *pm;
	int pagemap_fd, kpagecount_fd;
	size_t shared;	/* pages found mapped more than once (kpagecount) */
};

static double run_q_vec(void *c)
{
	struct qctx *q = c;
	double t = now_ms();

	if (cowdup_pagestate(q->p, q->len, q->vec))
		fail("cowdup_pagestate");
	return now_ms() - t;
}

static double run_q_stat(void *c)
{
	struct qctx *q = c;
	struct cowdup_stat st;
	double t = now_ms();

	if (cowdup_stat(q->p, q->len, &st))
		fail("cowdup_stat");
	return now_ms() - t;
}

static double run_q_pagemap(void *c)
{
	struct qctx *q = c;
	size_t bytes = q->len / PAGE * 8;
	double t = now_ms();

	if (pread(q->pagemap_fd, q->pm, bytes, (off_t)((uintptr_t)q->p / PAGE * 8)) !=
	    (ssize_t)bytes)
		fail("pread /proc/self/pagemap");
	return now_ms() - t;
}

/* The root way to the same answer: pagemap for the PFN, then its map count
 * in /proc/kpagecount, one pread per page. */
static double run_q_kpagecount(void *c)
{
	struct qctx *q = c;
	size_t n = q->len / PAGE, bytes = n * 8;
	double t = now_ms();

	q->shared = 0;
	if (pread(q->pagemap_fd, q->pm, bytes, (off_t)((uintptr_t)q->p / PAGE * 8)) !=
	    (ssize_t)bytes)
		fail("pread /proc/self/pagemap");
	for (size_t i = 0; i < n; i++) {
		uint64_t e = q->pm[i], cnt;
		uint64_t pfn = e & ((1ULL << 55) - 1);

		if (!(e >> 63) || !pfn)
			continue;
		if (pread(q->kpagecount_fd, &cnt, 8, (off_t)(pfn * 8)) != 8)
			return -1;
		q->shared += cnt > 1;
	}
	return now_ms() - t;
}

static const char *const q_methods[] = {
	"query-vec", "query-counts", "pagemap", "pagemap+kpagecount",
};
static const char *const q_what[] = {
	"cowdup_pagestate(): one state byte per page",
	"cowdup_stat(): counts only",
	"pread of /proc/self/pagemap, 8 bytes per page",
	"pagemap, then /proc/kpagecount per page (root only)",
};
static const char *const q_states[] = { "exclusive", "shared" };
static size_t q_shared[2] = { (size_t)-1, (size_t)-1 };
static size_t q_mib;

/* Measure the queries of [region, region + len), every page in @state
 * (q_states); printed later by query_print(). */
static void query_section(unsigned char *region, size_t len, int state)
{
	struct qctx q = { .p = region, .len = len };
	const char *cas = q_states[state];
	size_t n = len / PAGE;

	q.vec = malloc(n);
	q.pm = malloc(n * 8);
	if (!q.vec || !q.pm)
		fail("malloc");
	q.pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	q.kpagecount_fd = open("/proc/kpagecount", O_RDONLY | O_CLOEXEC);
	if (q.pagemap_fd < 0)
		fail("/proc/self/pagemap");
	q_mib = len / MIB;
	{
		struct job j[] = {
			JOB("query", "4k", cas, q_methods[0], q_mib, run_q_vec, &q, reps),
			JOB("query", "4k", cas, q_methods[1], q_mib, run_q_stat, &q, reps),
			JOB("query", "4k", cas, q_methods[2], q_mib, run_q_pagemap, &q, reps),
			JOB("query", "4k", cas, q_methods[3], q_mib, run_q_kpagecount, &q,
			  q.kpagecount_fd >= 0 ? reps : 0),
		};

		run_jobs(j, q.kpagecount_fd >= 0 ? 4 : 3, NULL);
	}
	if (q.kpagecount_fd >= 0) {
		q_shared[state] = q.shared;
		close(q.kpagecount_fd);
	}
	close(q.pagemap_fd);
	free(q.vec);
	free(q.pm);
}

static void query_print(void)
{
	size_t n = q_mib * MIB / PAGE;
	char buf[64];

	if (!q_mib)
		return;
	printf("\n== page-state query of a populated %zu MiB region (%zu pages, 4 KiB)\n",
	       q_mib, n);
	printf("  %-9s %-19s %-34s %9s %9s\n", "pages", "method", "ms", "ns/page",
	       "x query");
	for (int s = 0; s < 2; s++) {
		const struct fig *ref = lookup("query", "4k", q_states[s], "query-vec", q_mib);

		for (int m = 0; m < 4; m++) {
			const struct fig *f = lookup("query", "4k", q_states[s],
						     q_methods[m], q_mib);
			char ratio[16] = "";

			if (!f)
				continue;
			if (ref && ref->med > 0)
				snprintf(ratio, sizeof(ratio), "%8.2fx", f->med / ref->med);
			printf("  %-9s %-19s %-34s %9.1f %9s\n", q_states[s],
			       q_methods[m], fmt_fig(buf, sizeof(buf), f),
			       f->med * 1e6 / n, ratio);
		}
		if (q_shared[s] != (size_t)-1)
			printf("  %-9s (kpagecount found %zu of %zu pages mapped more than once)\n",
			       "", q_shared[s], n);
	}
	for (int m = 0; m < 4; m++)
		printf("  %-19s %s\n", q_methods[m], q_what[m]);
	fflush(stdout);
}

/* ---- what ran before a call ------------------------------------------------------ */

#define STATE_LEN	(16 * MIB)

static double run_getpid(void *c)
{
	double t = now_ms();

	(void)c;
	(void)!syscall(SYS_getpid);
	return now_ms() - t;
}

static double run_info(void *c)
{
	struct cowdup_info info;
	double t = now_ms();

	(void)c;
	if (cowdup_info(&info))
		fail("cowdup_info");
	return now_ms() - t;
}

/* mmap of a region like the source's, not populated; munmap untimed. */
static double run_mmap(void *c)
{
	struct dctx *d = c;
	double t = now_ms();
	void *p = mmap(NULL, d->len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	t = now_ms() - t;
	if (p == MAP_FAILED)
		fail("mmap");
	munmap(p, d->len);
	return t;
}

static void memcpy_source(void *c)
{
	struct dctx *d = c;

	t_memcpy(d->src, d->len, d->thp);
}

/*
 * The fixed cost of a call, by what ran just before it: nothing (the same
 * call again), a write of every page of a 16 MiB THP region (what the dup
 * section does before every run), or a memcpy of that region into a fresh
 * mapping.  getpid() and COWDUP_IOC_INFO do no work of their own: what
 * they cost after a memcpy is what the VM charges any call then.
 */
static void state_section(void)
{
	static const struct {
		const char *cas, *what;
		void (*before)(void *ctx);
	} pred[] = {
		{ "again", "the same call just before", NULL },
		{ "write", "every page of the region written", write_source },
		{ "memcpy", "a memcpy of the region into a fresh mapping", memcpy_source },
	};
	static const char *const calls[] = { "getpid", "INFO", "mmap", "cowdup", "fork" };
	struct dctx d = { .len = STATE_LEN, .thp = KIND_THP, .run = STATE_LEN,
			  .stride = STATE_LEN };
	char buf[64];

	printf("\n== what ran before a call: 16 MiB THP region (ms; x = times the 'again' median)\n");
	printf("  %-8s", "call");
	for (size_t p = 0; p < sizeof(pred) / sizeof(pred[0]); p++)
		printf(" %-34s", pred[p].cas);
	printf("\n");
	d.src = map_region(d.len, KIND_THP, 0);
	write_source(&d);
	for (size_t p = 0; p < sizeof(pred) / sizeof(pred[0]); p++) {
		struct job j[] = {
			JOB("state", "thp", pred[p].cas, calls[0], 16, run_getpid, &d, reps),
			JOB("state", "thp", pred[p].cas, calls[1], 16, run_info, &d, reps),
			JOB("state", "thp", pred[p].cas, calls[2], 16, run_mmap, &d, reps),
			JOB("state", "thp", pred[p].cas, calls[3], 16, run_cowdup, &d, reps),
			JOB("state", "thp", pred[p].cas, calls[4], 16, run_fork, &d, reps),
		};

		run_jobs(j, sizeof(j) / sizeof(j[0]), pred[p].before);
	}
	munmap(d.src, d.len);
	for (size_t c = 0; c < sizeof(calls) / sizeof(calls[0]); c++) {
		const struct fig *again = lookup("state", "thp", "again", calls[c], 16);

		printf("  %-8s", calls[c]);
		for (size_t p = 0; p < sizeof(pred) / sizeof(pred[0]); p++) {
			const struct fig *f = lookup("state", "thp", pred[p].cas,
						     calls[c], 16);
			char cell[96] = "";

			if (f && p && again && again->med > 0)
				snprintf(cell, sizeof(cell), "%s %.0fx",
					 fmt_fig(buf, sizeof(buf), f), f->med / again->med);
			else if (f)
				snprintf(cell, sizeof(cell), "%s", fmt_fig(buf, sizeof(buf), f));
			printf(" %-34s", cell);
		}
		printf("\n");
	}
	for (size_t p = 0; p < sizeof(pred) / sizeof(pred[0]); p++)
		printf("  %-8s %s\n", pred[p].cas, pred[p].what);
	fflush(stdout);
}

/* ---- targets of issue 6 ------------------------------------------------------------ */

static void verdict(const char *what, int met, const char *fmt, ...)
{
	va_list ap;

	printf("  [%s] %s: ", met ? "met" : "NOT met", what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void targets(void)
{
	printf("\n== issue 6 targets (from the medians above)\n");
	for (int s = 0; s < nsizes; s++) {
		size_t mib = sizes[s];
		const struct fig *c4 = lookup("dup", "4k", "-", "cowdup", mib);
		const struct fig *f4 = lookup("dup", "4k", "-", "fork", mib);
		const struct fig *m4 = lookup("dup", "4k", "-", "memcpy", mib);
		const struct fig *ct = lookup("dup", "thp", "-", "cowdup", mib);
		const struct fig *mt = lookup("dup", "thp", "-", "memcpy", mib);
		char what[64];

		if (c4 && f4) {
			snprintf(what, sizeof(what), "%zu MiB 4k: cowdup per GiB <= fork per GiB", mib);
			verdict(what, c4->med <= f4->med, "%.2f vs %.2f ms/GiB (%.2fx)",
				c4->med * 1024 / mib, f4->med * 1024 / mib,
				c4->med / f4->med);
		}
		if (c4 && m4) {
			snprintf(what, sizeof(what), "%zu MiB 4k: cowdup >= 20x faster than memcpy", mib);
			verdict(what, m4->med >= 20 * c4->med, "%.1fx", m4->med / c4->med);
		}
		if (ct && mt) {
			snprintf(what, sizeof(what), "%zu MiB thp: cowdup >= 200x faster than memcpy", mib);
			verdict(what, mt->med >= 200 * ct->med, "%.1fx", mt->med / ct->med);
		}
	}
	/*
	 * Not a target: large folios mapped by PTEs, where fork() on 6.12
	 * takes a run of a folio's entries at a time.
	 */
	for (int s = 0; s < nsizes; s++) {
		size_t mib = sizes[s];
		const struct fig *c = lookup("dup", "thp-pte", "-", "cowdup", mib);
		const struct fig *f = lookup("dup", "thp-pte", "-", "fork", mib);

		if (c && f && f->med > 0)
			printf("  [info] %zu MiB thp-pte: cowdup per GiB / fork per GiB %.2fx\n",
			       mib, c->med / f->med);
	}
	/* Not a target: the same dup timed right after a memcpy (cold). */
	for (int s = 0; s < nsizes; s++) {
		size_t mib = sizes[s];
		const struct fig *c4 = lookup("dup", "4k", "-", "cowdup-cold", mib);
		const struct fig *m4 = lookup("dup", "4k", "-", "memcpy", mib);
		const struct fig *ct = lookup("dup", "thp", "-", "cowdup-cold", mib);
		const struct fig *mt = lookup("dup", "thp", "-", "memcpy", mib);

		if (c4 && m4 && ct && mt && c4->med > 0 && ct->med > 0)
			printf("  [info] %zu MiB, cowdup right after a memcpy: memcpy / cowdup %.1fx (4k), %.1fx (thp)\n",
			       mib, m4->med / c4->med, mt->med / ct->med);
	}
	{
		const struct fig *dn = lookup("sparse", "4k", "dense", "cowdup", 64);
		const struct fig *cl = lookup("sparse", "4k", "clustered", "cowdup", SPARSE_LEN / MIB);
		const struct fig *sc = lookup("sparse", "4k", "scattered", "cowdup", SPARSE_LEN / MIB);
		const struct fig *fd = lookup("sparse", "4k", "dense", "fork", 64);
		const struct fig *fs = lookup("sparse", "4k", "scattered", "fork", SPARSE_LEN / MIB);

		if (dn && cl)
			verdict("sparse (clustered) within 2x of 64 MiB", cl->med <= 2 * dn->med,
				"%.2fx", cl->med / dn->med);
		/*
		 * Not a target: one written page per 2 MiB needs a page table
		 * per page on the copy's side, 16384 of them for 64 MiB, where
		 * the dense region needs 32.  fork() pays the same; the line
		 * says how cowdup compares with it there.
		 */
		if (dn && sc && fs)
			printf("  [info] sparse (scattered: a page table per written page): %.2fx the 64 MiB case; fork %.2fx its own; cowdup / fork %.2fx\n",
			       sc->med / dn->med, fd && fd->med > 0 ? fs->med / fd->med : 0.0,
			       sc->med / fs->med);
	}
	{
		const struct fig *r1 = lookup("restore", "4k", "1%", "cowdup_restore", RESTORE_LEN / MIB);
		const struct fig *r100 = lookup("restore", "4k", "100%", "cowdup_restore", RESTORE_LEN / MIB);

		if (r1 && r100)
			verdict("restore of 1% <= 1/4 of restore of 100%", r1->med * 4 <= r100->med,
				"%.3f vs %.3f ms (%.2fx)", r1->med, r100->med, r1->med / r100->med);
	}
}

/* ---- main ------------------------------------------------------------------------ */

/* How long a section took, for tuning the run time of make bench. */
static void took(const char *section, double *t0)
{
	double t = now_ms();

	printf("  (%s: %.0f s)\n", section, (t - *t0) / 1e3);
	fflush(stdout);
	*t0 = t;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: cowdup-bench [--sizes MiB,...] [--reps N] [--big-reps N]\n"
		"                    [--only dup,sparse,write,restore,query,state] [--query-mib MiB]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct cowdup_info info;
	struct utsname u;
	char thp[128], shmem[128], defrag[128];
	double t0;

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		if (!strcmp(argv[i], "--sizes")) {
			char *p = (char *)v, *end;

			nsizes = 0;
			while (*p && nsizes < 16) {
				sizes[nsizes] = strtoul(p, &end, 0);
				if (end == p || !sizes[nsizes])
					usage();
				nsizes++;
				p = *end == ',' ? end + 1 : end;
			}
		} else if (!strcmp(argv[i], "--reps")) {
			reps = atoi(v);
		} else if (!strcmp(argv[i], "--big-reps")) {
			big_reps = atoi(v);
		} else if (!strcmp(argv[i], "--only")) {
			only = v;
		} else if (!strcmp(argv[i], "--query-mib")) {
			query_mib = strtoul(v, NULL, 0);
		} else {
			usage();
		}
		i++;
	}
	if (reps < 1 || reps > MAXREPS || big_reps < 1 || big_reps > MAXREPS ||
	    !query_mib)
		usage();
	if (cowdup_info(&info)) {
		fprintf(stderr, "cowdup-bench: /dev/cowdup: %s\n", strerror(errno));
		return 1;
	}
	uname(&u);
	read_line("/sys/kernel/mm/transparent_hugepage/enabled", thp, sizeof(thp));
	read_line("/sys/kernel/mm/transparent_hugepage/defrag", defrag, sizeof(defrag));
	read_line("/sys/kernel/mm/transparent_hugepage/shmem_enabled", shmem, sizeof(shmem));
	printf("cowdup-bench on %s %s, %ld CPUs, %ld MiB RAM; module api %llu, features %#llx\n",
	       u.sysname, u.release, sysconf(_SC_NPROCESSORS_ONLN),
	       (long)(sysconf(_SC_PHYS_PAGES) * (sysconf(_SC_PAGESIZE) / 1024) / 1024),
	       (unsigned long long)info.api_version,
	       (unsigned long long)info.features);
	printf("THP enabled: %s; defrag: %s; shmem_enabled: %s\n", thp, defrag, shmem);
	printf("runs per figure: %d (memcpy of >= 1 GiB: %d)\n", reps, big_reps);
	printf("@csv,section,kind,case,method,size_mib,reps,median_ms,min_ms,max_ms,q1_ms,q3_ms\n");
	fflush(stdout);

	t0 = now_ms();
	if (want("dup")) {
		dup_section(KIND_4K);
		dup_section(KIND_THP);
		dup_section(KIND_THP_PTE);
		took("dup", &t0);
	}
	if (want("query")) {
		int done = 0;

		for (int s = 0; s < nsizes; s++)
			done |= want("dup") && sizes[s] == query_mib;
		if (!done) {
			unsigned char *p = map_region(query_mib * MIB, 0, 0);

			fill(p, query_mib * MIB);
			query_section(p, query_mib * MIB, 0);
			munmap(p, query_mib * MIB);
		}
		query_print();
		took("query", &t0);
	}
	if (want("sparse")) {
		sparse_section();
		took("sparse", &t0);
	}
	if (want("write")) {
		write_section();
		took("write", &t0);
	}
	if (want("restore")) {
		restore_section();
		took("restore", &t0);
	}
	if (want("state")) {
		state_section();
		took("state", &t0);
	}
	targets();
	return 0;
}
