// SPDX-License-Identifier: GPL-2.0
/* Probe: page_swap_entry() (6.6) */
#include <linux/mm.h>
#include <linux/swap.h>
swp_entry_t probe(struct page *p);
swp_entry_t probe(struct page *p)
{
	return page_swap_entry(p);
}
