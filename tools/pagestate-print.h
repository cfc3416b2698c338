/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pagestate-print: print what cowdup_pagestate() and cowdup_stat() say about
 * a range of the caller's memory, for people to read.
 *
 * A state map has one character per page, 64 pages a line, each line
 * starting with the address of its first page:
 *
 *   .  NONE       nothing mapped
 *   0  ZERO       the shared zero page (reads as zeroes, no memory of its own)
 *   S  SHARED     anonymous page mapped more than once: still shared,
 *                 the next write to it makes a real copy
 *   E  EXCLUSIVE  anonymous page mapped exactly once: a real copy already
 *                 (or never shared); a write normally reuses it
 *   F  FILE       page-cache or shmem page
 *   W  SWAP       swapped out
 *   ?  anything else (a state this program does not know yet)
 *
 * A page of a large folio (THP, mTHP, hugetlb; COWDUP_PAGE_HUGE) is shown
 * in lower case: s e f w, and z for the huge zero page.
 *
 * Used by demo/cowdup-demo.c and tools/cowdup-pagestate.c; compile
 * tools/pagestate-print.c with the program and link libcowdup.
 */
#ifndef COWDUP_PAGESTATE_PRINT_H
#define COWDUP_PAGESTATE_PRINT_H

#include <stddef.h>
#include <stdio.h>
#include <cowdup.h>

/* Pages per line of a state map. */
#define PAGESTATE_LINE	64

/* The character of one state byte (see above). */
char pagestate_char(unsigned char state);

/* The legend above, as lines of text starting with @indent. */
void pagestate_print_legend(FILE *f, const char *indent);

/*
 * Print the state map of @npages pages whose state bytes are @vec, the
 * first page being at @addr (used only to label the lines).  Every line
 * starts with @indent.
 */
void pagestate_print_vec(FILE *f, const char *indent, const void *addr,
			 const unsigned char *vec, size_t npages);

/*
 * Print counts as one line: "none N  zero N  shared N  exclusive N  file N
 * swap N" (states that count zero pages are left out, except shared and
 * exclusive), with the share of the total in percent after shared and
 * exclusive.  @label starts the line (may be NULL).
 */
void pagestate_print_counts(FILE *f, const char *label,
			    const struct cowdup_stat *st);

/*
 * Query [addr, addr + len) and print its state map (at most @max_pages
 * pages of it, from the start; 0 for all) followed by the counts of the
 * whole range.  Returns 0, or -1 with errno set when a query failed
 * (nothing is printed then).
 */
int pagestate_print(FILE *f, const char *label, const void *addr, size_t len,
		    size_t max_pages);

/* Number of pages of @len bytes. */
size_t pagestate_npages(size_t len);

#endif /* COWDUP_PAGESTATE_PRINT_H */
