// SPDX-License-Identifier: GPL-2.0
/* Probe: folio_try_dup_anon_rmap_ptes(), a run of a folio's pages at once (6.12, not 6.1) */
#include <linux/rmap.h>
int probe(struct folio *f, struct page *p, int nr, struct vm_area_struct *v);
int probe(struct folio *f, struct page *p, int nr, struct vm_area_struct *v)
{
	return folio_try_dup_anon_rmap_ptes(f, p, nr, v);
}
