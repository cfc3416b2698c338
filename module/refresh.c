// SPDX-License-Identifier: GPL-2.0
/*
 * A fixed duplicate over a mapping that already is a copy of the source,
 * as cowdup_restore() of a snapshot is: each page-table entry of the
 * destination that maps what the source's maps (the same page,
 * copy-on-write, the same swap slot, or nothing) already is what a new copy
 * would map, so it stays; only the others are unmapped and copied again.
 * A restore then costs one compare per entry plus the work of what changed.
 * Documentation/design.md states when this applies and why it is the same
 * as unmapping and copying.
 */
#include <linux/mm.h>
#include <linux/huge_mm.h>
#include <linux/rmap.h>
#include <linux/swap.h>
#include <linux/swapops.h>
#include <linux/mempolicy.h>
#include <linux/sched/signal.h>
#include <linux/bitmap.h>
#include <linux/userfaultfd_k.h>
#include "cowdup.h"
#include "compat.h"
#include "walk.h"
#include "refresh.h"

struct cowdup_refresh {
	struct mm_struct *mm;
	struct vm_area_struct *src_vma, *dst_vma;
	unsigned long delta;		/* dst address - src address */
	unsigned long run_start, run_end;	/* source range to replace */
};

/* Is every anon_vma that may hold the source's pages in the copy's chain? */
static bool rmap_reaches(struct vm_area_struct *src, struct vm_area_struct *dst)
{
	struct anon_vma_chain *s, *d;

	list_for_each_entry(s, &src->anon_vma_chain, same_vma) {
		bool found = false;

		list_for_each_entry(d, &dst->anon_vma_chain, same_vma) {
			if (d->anon_vma == s->anon_vma) {
				found = true;
				break;
			}
		}
		if (!found)
			return false;
	}
	return true;
}

static bool same_anon_name(struct vm_area_struct *a, struct vm_area_struct *b)
{
#ifdef CONFIG_ANON_VMA_NAME
	/* A copy shares its source's name (dup_anon_vma_name()). */
	return a->anon_name == b->anon_name;
#else
	return true;
#endif
}

/*
 * Does @dst, at @dst_addr, map like the VMA copy_vma() would make of @src's
 * part at @src_addr?  Same flags (less what a copy never inherits),
 * protection, policy and name; the same page offset, so rmap computes the
 * copy's address of a source page; linked into every anon_vma of the
 * source.  Private anonymous memory only: other kinds are replaced whole.
 */
static bool maps_like_copy(struct vm_area_struct *dst,
			   struct vm_area_struct *src,
			   unsigned long dst_addr, unsigned long src_addr)
{
	if (dst == src || !vma_is_anonymous(src) || !vma_is_anonymous(dst))
		return false;
	if (!is_cow_mapping(src->vm_flags) || (src->vm_flags & VM_WIPEONFORK))
		return false;
	if (dst->vm_flags != (src->vm_flags & ~COWDUP_VM_NOT_INHERITED))
		return false;
	if (pgprot_val(dst->vm_page_prot) != pgprot_val(src->vm_page_prot))
		return false;
	if (linear_page_index(dst, dst_addr) != linear_page_index(src, src_addr))
		return false;
	if (vma_policy(dst) != vma_policy(src) || !same_anon_name(dst, src))
		return false;
	return rmap_reaches(src, dst);
}

/*
 * Every huge PMD of the source must already be shared by the copy: a PTE
 * table in its place in the copy would make the walk split the source's
 * THP.  Then the request is better served by unmapping and copying whole.
 * A lockless look: the mmap write lock keeps huge PMDs from appearing.
 */
static bool huge_pmds_shared(struct mm_struct *mm, unsigned long start,
			     unsigned long end, unsigned long delta)
{
	unsigned long addr, next, skip;

	for (addr = start; addr < end; addr = next) {
		pmd_t *src_pmd = cowdup_pmd_lookup(mm, addr, &next);
		pmd_t *dst_pmd;
		pmd_t src, dst;

		if (!src_pmd) {
			next = min(next, end);
			continue;
		}
		next = pmd_addr_end(addr, end);
		src = READ_ONCE(*src_pmd);
		if (!pmd_trans_huge(src) && !is_swap_pmd(src))
			continue;
		dst_pmd = cowdup_pmd_lookup(mm, addr + delta, &skip);
		if (!pmd_trans_huge(src) || !dst_pmd)
			return false;
		dst = READ_ONCE(*dst_pmd);
		if (!pmd_trans_huge(dst) || pmd_pfn(dst) != pmd_pfn(src))
			return false;
	}
	return true;
}

bool cowdup_can_refresh(struct mm_struct *mm, unsigned long start,
			unsigned long end, unsigned long dst)
{
	struct vm_area_struct *src_vma = vma_lookup(mm, start);
	struct vm_area_struct *dst_vma = vma_lookup(mm, dst);

	if (!src_vma || !dst_vma || dst_vma->vm_end - dst < end - start)
		return false;
	if (!maps_like_copy(dst_vma, src_vma, dst, start))
		return false;
	return huge_pmds_shared(mm, start, end, dst - start);
}

/*
 * Do two entries map the same thing: nothing, the same page (which is then
 * copy-on-write on both sides, or the zero page), or the same swap slot?
 * Migration and other entries are replaced, as are differing bits of
 * nothing but state (dirty, young, soft-dirty) that a new copy would not
 * have either.
 */
static bool same_entry(pte_t src, pte_t dst)
{
	swp_entry_t s, d;

	if (pte_none(src) || pte_none(dst))
		return pte_none(src) && pte_none(dst);
	if (pte_present(src) || pte_present(dst))
		return pte_present(src) && pte_present(dst) &&
		       pte_pfn(src) == pte_pfn(dst);
	s = pte_to_swp_entry(src);
	d = pte_to_swp_entry(dst);
	return !non_swap_entry(s) && s.val == d.val;
}

static bool maps_pte_table(pmd_t pmd)
{
	return !pmd_none(pmd) && !is_swap_pmd(pmd) && !pmd_trans_huge(pmd) &&
	       !pmd_devmap(pmd) && !pmd_bad(pmd);
}

/* Mark the entries of [addr, next) that differ; both map PTE tables. */
static void diff_ptes(struct cowdup_refresh *r, pmd_t *src_pmd,
		      pmd_t *dst_pmd, unsigned long addr, unsigned int nr,
		      unsigned long *diff)
{
	spinlock_t *src_ptl = pte_lockptr(r->mm, src_pmd);
	spinlock_t *dst_ptl = pte_lockptr(r->mm, dst_pmd);
	pte_t *src_pte = pte_offset_kernel(src_pmd, addr);
	pte_t *dst_pte = pte_offset_kernel(dst_pmd, addr + r->delta);
	unsigned int i;

	cowdup_lock_pair(dst_ptl, src_ptl);
	for (i = 0; i < nr; i++)
		if (!same_entry(ptep_get(src_pte + i), ptep_get(dst_pte + i)))
			__set_bit(i, diff);
	cowdup_unlock_pair(dst_ptl, src_ptl);
}

static bool same_huge_pmd(struct cowdup_refresh *r, pmd_t *src_pmd,
			  pmd_t *dst_pmd)
{
	spinlock_t *src_ptl = pmd_lockptr(r->mm, src_pmd);
	spinlock_t *dst_ptl = pmd_lockptr(r->mm, dst_pmd);
	pmd_t src, dst;

	cowdup_lock_pair(dst_ptl, src_ptl);
	src = *src_pmd;
	dst = *dst_pmd;
	cowdup_unlock_pair(dst_ptl, src_ptl);
	return pmd_trans_huge(src) && pmd_trans_huge(dst) &&
	       pmd_pfn(src) == pmd_pfn(dst);
}

/*
 * Mark the pages of the chunk [addr, addr + nr pages) whose entries differ;
 * the chunk crosses no PMD boundary on either side.
 */
static void diff_chunk(struct cowdup_refresh *r, pmd_t *src_pmd,
		       pmd_t *dst_pmd, unsigned long addr, unsigned int nr,
		       unsigned long *diff)
{
	pmd_t src = src_pmd ? READ_ONCE(*src_pmd) : __pmd(0);
	pmd_t dst = dst_pmd ? READ_ONCE(*dst_pmd) : __pmd(0);

	bitmap_zero(diff, nr);
	if (pmd_none(src) && pmd_none(dst))
		return;
	if (maps_pte_table(src) && maps_pte_table(dst)) {
		diff_ptes(r, src_pmd, dst_pmd, addr, nr, diff);
		return;
	}
	if (pmd_trans_huge(src) && pmd_trans_huge(dst) &&
	    same_huge_pmd(r, src_pmd, dst_pmd))
		return;
	bitmap_fill(diff, nr);
}

/* Unmap the pending run from the copy and copy it again from the source. */
static int replace_run(struct cowdup_refresh *r)
{
	unsigned long start = r->run_start, end = r->run_end;

	if (start == end)
		return 0;
	r->run_start = r->run_end = 0;
	KSYM(zap_page_range_single)(r->dst_vma, start + r->delta, end - start,
				    NULL);
	return cowdup_copy_range(r->src_vma, start, end, start + r->delta);
}

/* Add [start, end) to the pending run, replacing the run it cannot extend. */
static int add_run(struct cowdup_refresh *r, unsigned long start,
		   unsigned long end)
{
	int err = 0;

	if (r->run_start == r->run_end || r->run_end != start) {
		err = replace_run(r);
		r->run_start = start;
	}
	r->run_end = end;
	return err;
}

static int refresh_range(struct cowdup_refresh *r, unsigned long start,
			 unsigned long end)
{
	DECLARE_BITMAP(diff, PTRS_PER_PTE);
	unsigned long addr, next;
	int err = 0;

	for (addr = start; addr < end && !err; addr = next) {
		unsigned long src_next, dst_next;
		pmd_t *src_pmd = cowdup_pmd_lookup(r->mm, addr, &src_next);
		pmd_t *dst_pmd = cowdup_pmd_lookup(r->mm, addr + r->delta,
						   &dst_next);
		unsigned int nr, b, e;

		if (!src_pmd && !dst_pmd) {
			/* Nothing mapped on either side up to there. */
			next = min3(src_next, dst_next - r->delta, end);
			continue;
		}
		next = cowdup_chunk_end(addr, end, r->delta);
		nr = (next - addr) >> PAGE_SHIFT;
		diff_chunk(r, src_pmd, dst_pmd, addr, nr, diff);
		for_each_set_bitrange(b, e, diff, nr) {
			err = add_run(r, addr + ((unsigned long)b << PAGE_SHIFT),
				      addr + ((unsigned long)e << PAGE_SHIFT));
			if (err)
				break;
		}
		cond_resched();
		if (!err && fatal_signal_pending(current))
			err = -EINTR;
	}
	if (!err)
		err = replace_run(r);
	return err;
}

int cowdup_refresh_part(struct mm_struct *mm, unsigned long start,
			unsigned long end, unsigned long dst)
{
	struct cowdup_refresh r = {
		.mm = mm,
		.src_vma = vma_lookup(mm, start),
		.dst_vma = vma_lookup(mm, dst),
		.delta = dst - start,
	};

	if (WARN_ON_ONCE(!r.src_vma || !r.dst_vma))
		return -EFAULT;
	/* No fault under the per-VMA lock on either side meanwhile. */
	cowdup_vma_start_write(r.src_vma);
	cowdup_vma_start_write(r.dst_vma);
	return refresh_range(&r, start, end);
}
