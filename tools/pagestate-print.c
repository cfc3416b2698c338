// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pagestate-print: state maps and counts of cowdup_pagestate() and
 * cowdup_stat(), for people to read.  See pagestate-print.h.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include "pagestate-print.h"

static size_t page_size(void)
{
	static size_t ps;

	if (!ps)
		ps = (size_t)sysconf(_SC_PAGESIZE);
	return ps;
}

size_t pagestate_npages(size_t len)
{
	return (len + page_size() - 1) / page_size();
}

char pagestate_char(unsigned char state)
{
	int huge = !!(state & COWDUP_PAGE_HUGE);

	switch (state & ~COWDUP_PAGE_HUGE) {
	case COWDUP_PAGE_NONE:
		return '.';
	case COWDUP_PAGE_ZERO:
		return huge ? 'z' : '0';
	case COWDUP_PAGE_SHARED:
		return huge ? 's' : 'S';
	case COWDUP_PAGE_EXCLUSIVE:
		return huge ? 'e' : 'E';
	case COWDUP_PAGE_FILE:
		return huge ? 'f' : 'F';
	case COWDUP_PAGE_SWAP:
		return huge ? 'w' : 'W';
	default:
		return '?';
	}
}

void pagestate_print_legend(FILE *f, const char *indent)
{
	static const char *const lines[] = {
		". none: nothing mapped",
		"0 zero: the shared zero page",
		"S shared: still shared, the next write makes a real copy",
		"E exclusive: a real copy already (or never shared)",
		"F file: page cache or shmem",
		"W swap: swapped out",
		"lower case (s e f w, z for the huge zero page): part of a huge page",
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		fprintf(f, "%s%s\n", indent ? indent : "", lines[i]);
}

void pagestate_print_vec(FILE *f, const char *indent, const void *addr,
			 const unsigned char *vec, size_t npages)
{
	uintptr_t a = (uintptr_t)addr;
	char line[PAGESTATE_LINE + PAGESTATE_LINE / 16 + 1];

	for (size_t i = 0; i < npages; i += PAGESTATE_LINE) {
		size_t n = npages - i < PAGESTATE_LINE ? npages - i : PAGESTATE_LINE;
		size_t o = 0;

		for (size_t j = 0; j < n; j++) {
			if (j && !(j % 16))
				line[o++] = ' ';
			line[o++] = pagestate_char(vec[i + j]);
		}
		line[o] = '\0';
		fprintf(f, "%s%#014lx  %s\n", indent ? indent : "",
			(unsigned long)(a + i * page_size()), line);
	}
}

/* @n of @total in percent, never rounded to 0 or 100 when it is not. */
static const char *pct(char *buf, size_t size, uint64_t n, uint64_t total)
{
	double p = total ? 100.0 * (double)n / (double)total : 0.0;

	if (n && p < 0.1)
		snprintf(buf, size, "<0.1%%");
	else if (n != total && p > 99.9)
		snprintf(buf, size, ">99.9%%");
	else
		snprintf(buf, size, "%.1f%%", p);
	return buf;
}

void pagestate_print_counts(FILE *f, const char *label,
			    const struct cowdup_stat *st)
{
	uint64_t total = st->nr_none + st->nr_zero + st->nr_shared +
			 st->nr_exclusive + st->nr_file + st->nr_swap;
	char p1[16], p2[16];

	fprintf(f, "%s", label ? label : "");
	if (st->nr_none)
		fprintf(f, "none %llu  ", (unsigned long long)st->nr_none);
	if (st->nr_zero)
		fprintf(f, "zero %llu  ", (unsigned long long)st->nr_zero);
	fprintf(f, "shared %llu (%s)  exclusive %llu (%s)",
		(unsigned long long)st->nr_shared,
		pct(p1, sizeof(p1), st->nr_shared, total),
		(unsigned long long)st->nr_exclusive,
		pct(p2, sizeof(p2), st->nr_exclusive, total));
	if (st->nr_file)
		fprintf(f, "  file %llu", (unsigned long long)st->nr_file);
	if (st->nr_swap)
		fprintf(f, "  swap %llu", (unsigned long long)st->nr_swap);
	fprintf(f, "  of %llu pages\n", (unsigned long long)total);
}

int pagestate_print(FILE *f, const char *label, const void *addr, size_t len,
		    size_t max_pages)
{
	size_t npages = pagestate_npages(len);
	size_t shown = max_pages && max_pages < npages ? max_pages : npages;
	struct cowdup_stat st;
	unsigned char *vec;
	int err;

	vec = malloc(shown ? shown : 1);
	if (!vec)
		return -1;
	if (cowdup_pagestate(addr, shown * page_size(), vec) ||
	    cowdup_stat(addr, len, &st)) {
		err = errno;
		free(vec);
		errno = err;
		return -1;
	}
	if (label)
		fprintf(f, "%s", label);
	if (shown < npages)
		fprintf(f, "  (first %zu of %zu pages)", shown, npages);
	if (label || shown < npages)
		fprintf(f, "\n");
	pagestate_print_vec(f, "    ", addr, vec, shown);
	pagestate_print_counts(f, "    ", &st);
	free(vec);
	return 0;
}
