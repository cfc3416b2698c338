// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * cowdup-demo: what a copy-on-write duplicate of a large region costs,
 * next to the two ways a program gets one without cowdup: memcpy() into a
 * fresh mapping, and fork().
 *
 *   cowdup-demo [MiB]        (default 1024)
 *
 * Runs once with 4 KiB pages and once with transparent huge pages.  Prints the time of each, AnonPages from /proc/meminfo before and after,
 * and the cost of then writing one page and every page of the copy.
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
	src = map_anon(len);
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

	/* Writing the copy: one page, then all, each first write copies. */
	a0 = meminfo_kib("AnonPages");
	t = now();
	copy[0] = 0xEE;
	t = now() - t;
	a1 = meminfo_kib("AnonPages");
	row("write 1 page of the copy", t, a0, a1);

	a0 = meminfo_kib("AnonPages");
	t = now();
	for (size_t i = PAGE; i < len; i += PAGE)
		copy[i] = 0xEE;
	t = now() - t;
	a1 = meminfo_kib("AnonPages");
	row("write all other pages of the copy", t, a0, a1);

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
