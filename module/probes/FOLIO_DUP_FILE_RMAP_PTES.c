// SPDX-License-Identifier: GPL-2.0
/* Probe: folio_dup_file_rmap_ptes(), a run of a folio's pages at once (6.12, not 6.1) */
#include <linux/rmap.h>
void probe(struct folio *f, struct page *p, int nr);
void probe(struct folio *f, struct page *p, int nr)
{
	folio_dup_file_rmap_ptes(f, p, nr);
}
