/* SPDX-License-Identifier: GPL-2.0 */
#ifndef COWDUP_REFRESH_H
#define COWDUP_REFRESH_H

#include <linux/types.h>

struct mm_struct;

/*
 * Can [dst, dst + end - start) take a fixed copy of [start, end), one part
 * of the source (one VMA's), by replacing only the entries that differ?
 * Yes when one VMA there maps exactly like the copy copy_vma() would make.
 * mmap_lock held for writing.
 */
bool cowdup_can_refresh(struct mm_struct *mm, unsigned long start,
			unsigned long end, unsigned long dst);

/*
 * Make the destination map what [start, end) maps, copy-on-write, as an
 * unmap and a new copy would; cowdup_can_refresh() said yes under the same
 * mmap write lock.  On error the destination is partly refreshed: the
 * caller unmaps it.
 */
int cowdup_refresh_part(struct mm_struct *mm, unsigned long start,
			unsigned long end, unsigned long dst);

#endif /* COWDUP_REFRESH_H */
