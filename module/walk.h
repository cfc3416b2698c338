/* SPDX-License-Identifier: GPL-2.0 */
#ifndef COWDUP_WALK_H
#define COWDUP_WALK_H

#include <linux/pgtable.h>
#include <linux/spinlock.h>
#include <linux/mm.h>
#include "ksyms.h"

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
 * [dst_start, dst_start + end - start), copy-on-write.  The destination
 * range is in a VMA copy_vma() made from @src_vma (or one that maps like
 * it, see refresh.c) and maps nothing yet.
 * mmap_lock held for writing; both VMAs write-locked.  On error, entries
 * already copied stay: the caller unmaps the destination.
 */
int cowdup_copy_range(struct vm_area_struct *src_vma, unsigned long start,
		      unsigned long end, unsigned long dst_start);

/*
 * End of the chunk of [addr, end) that starts at @addr and crosses no PMD
 * boundary on either side; @delta is the destination address minus the
 * source address (mod 2^64).
 */
static inline unsigned long cowdup_chunk_end(unsigned long addr,
					     unsigned long end,
					     unsigned long delta)
{
	unsigned long next = pmd_addr_end(addr, end);
	unsigned long dst_next = pmd_addr_end(addr + delta, ULONG_MAX) - delta;

	return min(next, dst_next);
}

/*
 * vm_normal_page() with its common case inline: a PTE that is not special
 * maps the struct page of its pfn (the kernel's own check against
 * highest_memmap_pfn kept).  The walk and the query call this per entry,
 * and a call through a resolved pointer is an indirect call (a retpoline
 * on the stock kernels): it made a 4 KiB dup a third slower than fork.
 */
static inline struct page *cowdup_normal_page(struct vm_area_struct *vma,
					      unsigned long addr, pte_t pte)
{
	if (IS_ENABLED(CONFIG_ARCH_HAS_PTE_SPECIAL) && likely(!pte_special(pte)) &&
	    likely(pte_pfn(pte) <= *KSYM(highest_memmap_pfn)))
		return pfn_to_page(pte_pfn(pte));
	return KSYM(vm_normal_page)(vma, addr, pte);
}

/*
 * Take the destination's page-table lock, then the source's, nested; one
 * lock when source and copy share the page-table page.
 */
static inline void cowdup_lock_pair(spinlock_t *dst_ptl, spinlock_t *src_ptl)
	__acquires(dst_ptl) __acquires(src_ptl)
{
	spin_lock(dst_ptl);
	if (src_ptl != dst_ptl)
		spin_lock_nested(src_ptl, SINGLE_DEPTH_NESTING);
	else
		__acquire(src_ptl);
}

static inline void cowdup_unlock_pair(spinlock_t *dst_ptl, spinlock_t *src_ptl)
	__releases(src_ptl) __releases(dst_ptl)
{
	if (src_ptl != dst_ptl)
		spin_unlock(src_ptl);
	else
		__release(src_ptl);
	spin_unlock(dst_ptl);
}

#endif /* COWDUP_WALK_H */
