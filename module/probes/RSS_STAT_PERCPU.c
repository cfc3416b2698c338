// SPDX-License-Identifier: GPL-2.0
/* Probe: mm->rss_stat[] is an array of percpu_counter, mm_trace_rss_stat() lost its count (6.2) */
#include <linux/mm.h>
void probe(struct mm_struct *mm);
void probe(struct mm_struct *mm)
{
	void (*f)(struct mm_struct *, int) = mm_trace_rss_stat;

	percpu_counter_add(&mm->rss_stat[0], 1);
	f(mm, 0);
}
