// SPDX-License-Identifier: GPL-2.0
/* Probe: folio_dup_file_rmap_pte() replaced page_dup_file_rmap() (6.9) */
#include <linux/rmap.h>
void probe(struct folio *f, struct page *p);
void probe(struct folio *f, struct page *p)
{
	folio_dup_file_rmap_pte(f, p);
}
