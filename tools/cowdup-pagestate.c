// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * cowdup-pagestate: watch copy-on-write sharing with COWDUP_IOC_QUERY.
 *
 * The query answers for the caller's own memory only (no other process
 * can be asked about), so this tool does not inspect a given program: it
 * runs small scenarios in its own address space and prints, after each
 * step, the state map of the pages involved (see tools/pagestate-print.h
 * for the characters) and the counts of the whole region.
 *
 *   cowdup-pagestate demo [MiB] [--thp]
 *       a region (default 64 MiB) is written, duplicated with cowdup(),
 *       and a growing share of the copy's pages is written: SHARED pages
 *       become EXCLUSIVE on both sides; then the copy is unmapped, and the
 *       process forks
 *   cowdup-pagestate states
 *       every page state produced on purpose, one small region each
 *   cowdup-pagestate maps
 *       the counts of every mapping of this tool itself (/proc/self/maps)
 *   cowdup-pagestate legend
 *       what the characters of a state map mean
 *
 * Exit status 0, 1 when /dev/cowdup or a system call failed, 2 on usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cowdup.h>
#include "pagestate-print.h"

#define PAGE		4096UL
#define HPAGE		(2UL << 20)
#define WINDOW		128	/* pages shown of a large region */

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif

static const char *prog = "cowdup-pagestate";

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: %s demo [MiB] [--thp]   sharing shrinking as a copy is written\n"
		"       %s states               every page state, produced on purpose\n"
		"       %s maps                 counts of this tool's own mappings\n"
		"       %s legend               the characters of a state map\n",
		prog, prog, prog, prog);
	exit(2);
}

/* An anonymous private mapping, @align-aligned (0: any page). */
static unsigned char *map_anon(size_t len, size_t align)
{
	size_t extra = align > PAGE ? align : 0;
	unsigned char *p = mmap(NULL, len + extra, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		die("mmap");
	if (!extra)
		return p;
	a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	munmap((void *)(a + len), (uintptr_t)p + extra - a);
	return (unsigned char *)a;
}

static void show(const char *label, const void *addr, size_t len)
{
	if (pagestate_print(stdout, label, addr, len, WINDOW))
		die("cowdup_pagestate");
}

static void counts(const char *label, const void *addr, size_t len)
{
	struct cowdup_stat st;

	if (cowdup_stat(addr, len, &st))
		die("cowdup_stat");
	pagestate_print_counts(stdout, label, &st);
}

/* Write one byte into every @stride-th page of @p not yet written. */
static void write_every(unsigned char *p, size_t len, size_t stride)
{
	for (size_t i = 0; i < len; i += stride * PAGE)
		p[i] = 0xEE;
}

static int cmd_demo(size_t mib, int thp)
{
	static const struct { size_t stride; const char *what; } steps[] = {
		{ 0, "the first page" },
		{ 16, "every 16th page" },
		{ 4, "every 4th page" },
		{ 2, "every 2nd page" },
		{ 1, "every page" },
	};
	size_t len = mib << 20;
	unsigned char *src, *copy;
	int status;
	pid_t pid;

	printf("A %zu MiB private anonymous region in %s; the maps show its first %d pages.\n\n",
	       mib, thp ? "transparent huge pages" : "4 KiB pages", WINDOW);
	pagestate_print_legend(stdout, "  ");
	printf("\n");

	src = map_anon(len, thp ? HPAGE : 0);
	if (madvise(src, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		die("madvise");
	show("fresh mapping, nothing touched yet:", src, len);
	for (size_t i = 0; i < len; i += PAGE)
		memset(src + i, (int)(i / PAGE), 64);
	show("every page written: each page belongs to this mapping alone", src, len);

	copy = cowdup(src, len, NULL, 0);
	if (copy == MAP_FAILED)
		die("cowdup");
	printf("\n== cowdup(): the copy at %p shares every page\n", (void *)copy);
	show("source:", src, len);
	show("copy:", copy, len);

	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		if (steps[s].stride)
			write_every(copy, len, steps[s].stride);
		else
			copy[0] = 0xEE;
		printf("\n== after writing %s of the copy\n", steps[s].what);
		show("copy: a written page is the copy's own (E)", copy, len);
		show("source: where the copy wrote, the page is the source's alone (E)",
		     src, len);
	}

	if (munmap(copy, len))
		die("munmap");
	printf("\n== the copy unmapped\n");
	counts("source: ", src, len);

	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		pause();
		_exit(0);
	}
	printf("\n== fork(): parent and child share every page again\n");
	counts("source in the parent: ", src, len);
	kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	printf("\n== the child gone\n");
	counts("source in the parent: ", src, len);
	munmap(src, len);
	return 0;
}

#define N 16

static int cmd_states(void)
{
	unsigned char *a, *b, *h, *hc, *z, *m;
	volatile unsigned char sink;
	int fd, status;
	pid_t pid;

	a = map_anon(N * PAGE, 0);
	madvise(a, N * PAGE, MADV_NOHUGEPAGE);
	show("NONE: a fresh anonymous mapping, nothing touched", a, N * PAGE);

	for (size_t i = 0; i < N * PAGE; i += PAGE)
		sink = a[i];
	(void)sink;
	show("ZERO: every page read, none written", a, N * PAGE);

	for (size_t i = 0; i < N * PAGE; i += PAGE)
		a[i] = 1;
	show("EXCLUSIVE: every page written", a, N * PAGE);

	b = cowdup(a, N * PAGE, NULL, 0);
	if (b == MAP_FAILED)
		die("cowdup");
	show("SHARED: the source after cowdup()", a, N * PAGE);
	show("SHARED: the copy", b, N * PAGE);

	b[0] = 2;
	a[PAGE] = 2;
	show("the copy after writing its page 0 and the source its page 1: the\n"
	     "writer got a real copy (E), the other side is the sole mapper (E)",
	     b, N * PAGE);
	show("the source", a, N * PAGE);

	munmap(b, N * PAGE);
	munmap(a, N * PAGE);

	a = map_anon(N * PAGE, 0);
	madvise(a, N * PAGE, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < N * PAGE; i += PAGE)
		a[i] = 1;
	if (madvise(a + 8 * PAGE, 8 * PAGE, MADV_PAGEOUT))
		printf("(MADV_PAGEOUT: %s)\n", strerror(errno));
	show("SWAP: 16 pages written, then MADV_PAGEOUT of pages 8-15 (without\n"
	     "swap they stay E; pages mapped twice are not paged out at all)",
	     a, N * PAGE);
	b = cowdup(a, N * PAGE, NULL, 0);
	if (b == MAP_FAILED)
		die("cowdup");
	show("the copy: swapped-out pages are duplicated as swap entries, not read in",
	     b, N * PAGE);
	munmap(b, N * PAGE);
	munmap(a, N * PAGE);

	fd = memfd_create("cowdup-pagestate", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, N * PAGE))
		die("memfd");
	m = mmap(NULL, N * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		die("mmap memfd");
	for (size_t i = 0; i < N * PAGE / 2; i += PAGE)
		m[i] = 1;
	show("FILE: a memfd mapped shared, first half written", m, N * PAGE);
	munmap(m, N * PAGE);
	m = mmap(NULL, N * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		die("mmap memfd");
	for (size_t i = 0; i < N * PAGE; i += PAGE)
		sink = m[i];
	m[0] = 3;
	show("the memfd mapped private, every page read, page 0 written: the\n"
	     "written page is an anonymous copy (E), the others the file's (F)",
	     m, N * PAGE);
	munmap(m, N * PAGE);
	close(fd);

	h = map_anon(HPAGE, HPAGE);
	if (madvise(h, HPAGE, MADV_HUGEPAGE))
		die("madvise");
	sink = h[0];
	show("a 2 MiB aligned MADV_HUGEPAGE region, read: the huge zero page (z)\n"
	     "if the kernel uses it, else the zero page (0)", h, HPAGE);
	munmap(h, HPAGE);

	h = map_anon(HPAGE, HPAGE);
	if (madvise(h, HPAGE, MADV_HUGEPAGE))
		die("madvise");
	h[0] = 1;
	show("another one, written: one transparent huge page (e), if the kernel\n"
	     "could allocate one", h, HPAGE);
	hc = cowdup(h, HPAGE, NULL, 0);
	if (hc == MAP_FAILED)
		die("cowdup");
	show("the huge page after cowdup(): shared whole (s)", h, HPAGE);
	hc[PAGE] = 1;
	show("the copy after writing its page 1: its huge mapping is split, the\n"
	     "written page is a small page of its own (E)", hc, HPAGE);
	show("the source: still the huge page, its page 1 the source's alone (e)",
	     h, HPAGE);
	munmap(hc, HPAGE);
	munmap(h, HPAGE);

	z = map_anon(N * PAGE, 0);
	for (size_t i = 0; i < N * PAGE; i += PAGE)
		z[i] = 1;
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		pause();
		_exit(0);
	}
	show("SHARED: written pages after fork(), in the parent", z, N * PAGE);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	show("EXCLUSIVE again once the child is gone", z, N * PAGE);
	munmap(z, N * PAGE);
	return 0;
}

static int cmd_maps(void)
{
	char *buf = NULL, *line, *save;
	size_t cap = 0;
	FILE *f = fopen("/proc/self/maps", "r");
	FILE *mem;

	if (!f)
		die("/proc/self/maps");
	/* Read it whole first: the queries must not change what is read. */
	mem = open_memstream(&buf, &cap);
	if (!mem)
		die("open_memstream");
	for (int c; (c = fgetc(f)) != EOF;)
		fputc(c, mem);
	fclose(f);
	fclose(mem);

	printf("%-33s  %s\n", "mapping of this process", "page states");
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long start, end;
		char perms[8], name[256] = "", *base;
		struct cowdup_stat st;
		char label[300];

		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %255[^\n]", &start,
			   &end, perms, name) < 3)
			continue;
		if (start >= 0x800000000000UL)	/* [vsyscall]: not user memory */
			continue;
		base = strrchr(name, '/');
		base = base ? base + 1 : name;
		snprintf(label, sizeof(label), "%012lx %4s %-16.16s ", start,
			 perms, base);
		if (cowdup_stat((void *)start, end - start, &st)) {
			printf("%s query failed: %s\n", label, strerror(errno));
			continue;
		}
		pagestate_print_counts(stdout, label, &st);
	}
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	struct cowdup_info info;

	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "legend")) {
		pagestate_print_legend(stdout, "");
		return 0;
	}
	if (cowdup_info(&info)) {
		fprintf(stderr, "%s: /dev/cowdup: %s (is the module loaded?)\n",
			prog, strerror(errno));
		return 1;
	}
	if (!(info.features & COWDUP_FEAT_QUERY)) {
		fprintf(stderr, "%s: this cowdup module has no page-state query\n",
			prog);
		return 1;
	}
	if (!strcmp(argv[1], "demo")) {
		size_t mib = 64;
		int thp = 0;

		for (int i = 2; i < argc; i++) {
			char *end;

			if (!strcmp(argv[i], "--thp")) {
				thp = 1;
				continue;
			}
			mib = strtoul(argv[i], &end, 0);
			if (*end || !mib || mib > (1UL << 20))
				usage();
		}
		return cmd_demo(mib, thp);
	}
	if (argc != 2)
		usage();
	if (!strcmp(argv[1], "states"))
		return cmd_states();
	if (!strcmp(argv[1], "maps"))
		return cmd_maps();
	usage();
	return 2;
}
