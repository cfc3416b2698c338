// SPDX-License-Identifier: GPL-2.0
/* Probe: vm_flags is read-only, changed through vm_flags_reset() (6.3) */
#include <linux/mm.h>
void probe(struct vm_area_struct *v);
void probe(struct vm_area_struct *v)
{
	vm_flags_reset(v, v->vm_flags);
}
