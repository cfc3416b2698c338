// SPDX-License-Identifier: GPL-2.0
/* Probe: pte_offset_map_lock() calls the out-of-line __pte_offset_map_lock() (6.5) */
#include <linux/mm.h>
pte_t *(*probe)(struct mm_struct *, pmd_t *, unsigned long, spinlock_t **) = __pte_offset_map_lock;
