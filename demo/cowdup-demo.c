// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * cowdup-demo: what a copy-on-write duplicate of a large region costs,
 * next to the two ways a program gets one without cowdup: memcpy() into a
 * fresh mapping, and fork().
 *
 *   cowdup-demo [MiB]        (default 1024)
 *
 * Runs once with 4 KiB pages and once with transparent huge pages.  Prints the time of each, AnonPages from /proc/meminfo before and after,
 * and the cost of then writing the copy: one page, every 16th, every 4th,
 * every 2nd, every page.  After each step the page states (cowdup_stat(),
 * tools/pagestate-print.h) show sharing shrink: a page the copy wrote is
 * EXCLUSIVE on both sides, the copy's new page and the source's old one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cowdup.h>
#include "pagestate-print.h"

#define PAGE	4096UL

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A field of /proc/meminfo in KiB, or -1. */
static long meminfo_kib(const char *field)
{
	size_t n = strlen(field);
	char line[256];
	long val = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':')
			val = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return val;
}

static void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

/* A mapping aligned to @align, so that huge pages can map all of it. */
static void *map_anon_aligned(size_t len, size_t align)
{
	unsigned char *p = map_anon(len + align);
	unsigned char *a = (unsigned char *)(((unsigned long)p + align - 1) &
					     ~(align - 1));

	if (a > p)
		munmap(p, a - p);
	munmap(a + len, p + align - a);
	return a;
}

static void fill(unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i += PAGE)
		memset(p + i, (int)(i / PAGE), PAGE);
}

/* Every page of @p holds its own index pattern, except the first byte of
 * the pages in [0, written) which hold @mark. */
static int verify(const unsigned char *p, size_t len, size_t written,
		  unsigned char mark)
{
	for (size_t i = 0; i < len; i += PAGE) {
		unsigned char want = (unsigned char)(i / PAGE);

		if (p[i] != (i < written ? mark : want) ||
		    p[i + PAGE - 1] != want)
			return -1;
	}
	return 0;
}

/* The first line of page states of source and copy, and the counts of each. */
static void states(const unsigned char *src, const unsigned char *copy,
		   size_t len)
{
	size_t n = PAGESTATE_LINE < len / PAGE ? PAGESTATE_LINE : len / PAGE;
	unsigned char vec[PAGESTATE_LINE];
	struct cowdup_stat st;
	const unsigned char *side[2] = { src, copy };

	for (int i = 0; i < 2; i++) {
		if (cowdup_pagestate(side[i], n * PAGE, vec) ||
		    cowdup_stat(side[i], len, &st)) {
			perror("cowdup_pagestate");
			return;
		}
		printf("    %-7s ", i ? "copy" : "source");
		pagestate_print_vec(stdout, NULL, side[i], vec, n);
		pagestate_print_counts(stdout, "                            ", &st);
	}
}

static void row(const char *what, double secs, long anon_before,
		long anon_after)
{
	printf("  %-34s %10.3f ms   AnonPages %+9ld KiB\n", what, secs * 1e3,
	       anon_after - anon_before);
}

/* One round of the demo on @mib MiB, with or without transparent huge pages. */
static int demo(size_t mib, int thp)
{
	size_t len = mib << 20;
	unsigned char *src, *copy, *plain;
	long a0, a1;
	double t, t_dup, t_memcpy, t_fork;
	int status;
	pid_t pid;

	printf("== a %zu MiB private anonymous region in %s, every page written\n\n",
	       mib, thp ? "transparent huge pages (2 MiB)" : "4 KiB pages");
	src = thp ? map_anon_aligned(len, 2UL << 20) : map_anon(len);
	if (madvise(src, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		perror("madvise");
	fill(src, len);

	/* 1. cowdup: the copy shares every page with the source. */
	a0 = meminfo_kib("AnonPages");
	t = now();
	copy = cowdup(src, len, NULL, 0);
	t_dup = now() - t;
	a1 = meminfo_kib("AnonPages");
	if (copy == MAP_FAILED) {
		perror("cowdup");
		return 1;
	}
	row("cowdup() of the region", t_dup, a0, a1);

	/* 2. memcpy into a fresh mapping: every page copied now. */
	a0 = meminfo_kib("AnonPages");
	t = now();
	plain = map_anon(len);
	memcpy(plain, src, len);
	t_memcpy = now() - t;
	a1 = meminfo_kib("AnonPages");
	row("mmap() + memcpy() of the region", t_memcpy, a0, a1);
	munmap(plain, len);

	/* 3. fork(): the whole process, time until the parent returns. */
	a0 = meminfo_kib("AnonPages");
	t = now();
	pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	t_fork = now() - t;
	a1 = meminfo_kib("AnonPages");
	row("fork() of a process holding it", t_fork, a0, a1);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);

	printf("\n  cowdup is %.1fx faster than memcpy, %.1fx faster than fork()\n\n",
	       t_memcpy / t_dup, t_fork / t_dup);

	/* Writing the copy, a growing share of its pages: each first write
	 * copies.  The states show what is still shared. */
	printf("  page states (the first %lu pages; S shared, E exclusive, lower case\n"
	       "  for pages of a huge page) and counts of the whole region:\n",
	       (unsigned long)PAGESTATE_LINE);
	states(src, copy, len);
	printf("\n");
	{
		static const struct { size_t stride; const char *what; } steps[] = {
			{ 0, "write 1 page of the copy" },
			{ 16, "write every 16th page" },
			{ 4, "write every 4th page" },
			{ 2, "write every 2nd page" },
			{ 1, "write every page" },
		};

		for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
			size_t stride = steps[s].stride;

			a0 = meminfo_kib("AnonPages");
			t = now();
			if (!stride)
				copy[0] = 0xEE;
			for (size_t i = 0; stride && i < len; i += stride * PAGE)
				copy[i] = 0xEE;
			t = now() - t;
			a1 = meminfo_kib("AnonPages");
			row(steps[s].what, t, a0, a1);
			states(src, copy, len);
		}
	}

	/* The source never saw those writes; the copy has all of them. */
	if (verify(src, len, 0, 0) || verify(copy, len, len, 0xEE)) {
		fprintf(stderr, "cowdup-demo: contents wrong!\n");
		return 1;
	}
	printf("\n  contents checked: the source kept its bytes, the copy has its own\n\n");
	munmap(copy, len);
	munmap(src, len);
	return 0;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 1024;

	if (!mib) {
		fprintf(stderr, "usage: %s [MiB]\n", argv[0]);
		return 2;
	}
	if (!cowdup_available()) {
		fprintf(stderr, "cowdup-demo: /dev/cowdup: %s (is the module loaded?)\n",
			strerror(errno));
		return 1;
	}
	return demo(mib, 0) || demo(mib, 1);
}
