// SPDX-License-Identifier: GPL-2.0
/* Probe: copy_vma() declared in <linux/mm.h> (before 6.10) */
#include <linux/mm.h>
void *probe = copy_vma;
