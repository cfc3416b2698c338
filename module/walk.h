/* SPDX-License-Identifier: GPL-2.0 */
#ifndef COWDUP_WALK_H
#define COWDUP_WALK_H

#include <linux/pgtable.h>

struct vm_area_struct;
struct mm_struct;

/*
 * The PMD entry covering @addr, or NULL when an upper-level table is empty;
 * then *next is the end of that empty region.  No allocation, no locks.
 */
pmd_t *cowdup_pmd_lookup(struct mm_struct *mm, unsigned long addr,
			 unsigned long *next);

/*
 * Copy the page-table entries of [start, end) of @src_vma to
 * [dst_start, dst_start + end - start) of the VMA just made there by
 * copy_vma(), copy-on-write.
 * mmap_lock held for writing; both VMAs write-locked.  On error, entries
 * already copied stay: the caller unmaps the destination.
 */
int cowdup_copy_range(struct vm_area_struct *src_vma, unsigned long start,
		      unsigned long end, unsigned long dst_start);

#endif /* COWDUP_WALK_H */
