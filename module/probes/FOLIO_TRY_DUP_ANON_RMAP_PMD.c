// SPDX-License-Identifier: GPL-2.0
/* Probe: folio_try_dup_anon_rmap_pmd() (6.9) */
#include <linux/rmap.h>
int probe(struct folio *f, struct page *p, struct vm_area_struct *v);
int probe(struct folio *f, struct page *p, struct vm_area_struct *v)
{
	return folio_try_dup_anon_rmap_pmd(f, p, v);
}
