// SPDX-License-Identifier: GPL-2.0
/* Probe: PR_SET_MDWE, map_deny_write_exec(old, new) (6.3) */
#include <linux/mman.h>
bool probe(unsigned long f);
bool probe(unsigned long f)
{
	return map_deny_write_exec(f, f);
}
