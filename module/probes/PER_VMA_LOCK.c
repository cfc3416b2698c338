// SPDX-License-Identifier: GPL-2.0
/* Probe: per-VMA locks: vma_start_write() (6.4) */
#include <linux/mm.h>
void probe(struct vm_area_struct *v);
void probe(struct vm_area_struct *v)
{
	vma_start_write(v);
}
