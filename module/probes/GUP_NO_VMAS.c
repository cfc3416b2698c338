// SPDX-License-Identifier: GPL-2.0
/* Probe: get_user_pages() lost its vmas argument (6.5) */
#include <linux/mm.h>
long probe(unsigned long a, struct page **p);
long probe(unsigned long a, struct page **p)
{
	return get_user_pages(a, 1, FOLL_WRITE, p);
}
