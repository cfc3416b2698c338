// SPDX-License-Identifier: GPL-2.0
/* Probe: mm_get_unmapped_area() is the exported entry (6.10) */
#include <linux/mm.h>
unsigned long probe(struct mm_struct *mm);
unsigned long probe(struct mm_struct *mm)
{
	return mm_get_unmapped_area(mm, NULL, 0, 4096, 0, 0);
}
