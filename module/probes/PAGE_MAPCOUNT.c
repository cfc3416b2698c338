// SPDX-License-Identifier: GPL-2.0
/* Probe: page_mapcount() (removed in 6.12) */
#include <linux/mm.h>
int probe(struct page *p);
int probe(struct page *p)
{
	return page_mapcount(p);
}
