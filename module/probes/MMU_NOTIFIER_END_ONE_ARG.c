// SPDX-License-Identifier: GPL-2.0
/* Probe: __mmu_notifier_invalidate_range_end() lost its bool (6.6) */
#include <linux/mmu_notifier.h>
void (*probe)(struct mmu_notifier_range *) = __mmu_notifier_invalidate_range_end;
