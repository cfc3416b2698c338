// SPDX-License-Identifier: GPL-2.0
/* Probe: mmu_notifier_range_init() lost its vma argument (6.3) */
#include <linux/mmu_notifier.h>
void probe(struct mmu_notifier_range *r, struct mm_struct *mm);
void probe(struct mmu_notifier_range *r, struct mm_struct *mm)
{
	mmu_notifier_range_init(r, MMU_NOTIFY_PROTECTION_PAGE, 0, mm, 0, 4096);
}
