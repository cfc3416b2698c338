/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the supported kernels (6.1 .. 6.12) lives here.
 * The COWDUP_HAVE_* macros come from build-time probes (probe-kernel.sh,
 * probes/NAME.c) against the target kernel's headers, never from version
 * numbers.  Unexported functions are reached through KSYM() (ksyms.h).
 */
#ifndef COWDUP_COMPAT_H
#define COWDUP_COMPAT_H

#include <linux/mm.h>
#include <linux/rmap.h>
#include <linux/mman.h>
#include <linux/mmu_notifier.h>
#include "compat-probes.h"
#include "ksyms.h"

#ifdef COWDUP_HAVE_COPY_VMA_DECL
static_assert(__builtin_types_compatible_p(typeof(&copy_vma), cowdup_copy_vma_t),
	      "copy_vma() prototype changed");
#endif

/* mseal()ed VMAs (VM_SEALED), 0 where the kernel has no mseal(). */
#ifdef COWDUP_HAVE_VM_SEALED
#define COWDUP_VM_SEALED	VM_SEALED
#else
#define COWDUP_VM_SEALED	0
#endif

/* Would PR_SET_MDWE refuse a new mapping with these flags?  (6.3+) */
static inline bool cowdup_mdwe_denies(vm_flags_t flags)
{
#ifdef COWDUP_HAVE_MAP_DENY_WRITE_EXEC
	return map_deny_write_exec(flags, flags);
#else
	return false;
#endif
}

/* Replace a VMA's flags (the caller holds the mmap and VMA write locks). */
static inline void cowdup_vma_set_flags(struct vm_area_struct *vma,
					vm_flags_t flags)
{
#ifdef COWDUP_HAVE_VM_FLAGS_RESET
	vm_flags_reset(vma, flags);
#else
	vma->vm_flags = flags;
#endif
}

/* Exclude page faults under the per-VMA lock, as fork does for its source. */
static inline void cowdup_vma_start_write(struct vm_area_struct *vma)
{
#ifdef COWDUP_HAVE_PER_VMA_LOCK
	vma_start_write(vma);
#endif
}

/*
 * Duplicate the rmap of one PTE-mapped anonymous page for a second mapping.
 * Fails (-EBUSY) when the page may be pinned: the caller copies it instead.
 */
static inline int cowdup_try_dup_anon_rmap_pte(struct page *page,
					       struct vm_area_struct *src_vma)
{
#ifdef COWDUP_HAVE_FOLIO_TRY_DUP_ANON_RMAP_PTE
	return folio_try_dup_anon_rmap_pte(page_folio(page), page, src_vma);
#else
	return page_try_dup_anon_rmap(page, false, src_vma);
#endif
}

/*
 * The same for @nr PTEs mapping consecutive pages of one large folio,
 * from @page on, all or none: -EBUSY when one of them may be pinned and
 * would lose PageAnonExclusive.
 */
static inline int cowdup_try_dup_anon_rmap_ptes(struct folio *folio,
						struct page *page, int nr,
						struct vm_area_struct *src_vma)
{
#ifdef COWDUP_HAVE_FOLIO_TRY_DUP_ANON_RMAP_PTES
	return folio_try_dup_anon_rmap_ptes(folio, page, nr, src_vma);
#else
	int i;

	/*
	 * The pin count is the folio's; it cannot grow meanwhile (the caller
	 * holds mmap_lock for writing and write_protect_seq, which GUP-fast
	 * checks before pinning), so after this test no page can fail.
	 */
	if (page_needs_cow_for_dma(src_vma, page))
		for (i = 0; i < nr; i++)
			if (PageAnonExclusive(page + i))
				return -EBUSY;
	for (i = 0; i < nr; i++)
		WARN_ON_ONCE(page_try_dup_anon_rmap(page + i, false, src_vma));
	return 0;
#endif
}

/* Same for a PMD-mapped THP (@page is its head page). */
static inline int cowdup_try_dup_anon_rmap_pmd(struct page *page,
					       struct vm_area_struct *src_vma)
{
#ifdef COWDUP_HAVE_FOLIO_TRY_DUP_ANON_RMAP_PMD
	return folio_try_dup_anon_rmap_pmd(page_folio(page), page, src_vma);
#else
	return page_try_dup_anon_rmap(page, true, src_vma);
#endif
}

/* Duplicate the rmap of one PTE-mapped page-cache page. */
static inline void cowdup_dup_file_rmap_pte(struct page *page)
{
#ifdef COWDUP_HAVE_FOLIO_DUP_FILE_RMAP_PTE
	folio_dup_file_rmap_pte(page_folio(page), page);
#else
	page_dup_file_rmap(page, false);
#endif
}

/* The same for @nr PTEs mapping consecutive pages of one large folio. */
static inline void cowdup_dup_file_rmap_ptes(struct folio *folio,
					     struct page *page, int nr)
{
#ifdef COWDUP_HAVE_FOLIO_DUP_FILE_RMAP_PTES
	folio_dup_file_rmap_ptes(folio, page, nr);
#else
	int i;

	for (i = 0; i < nr; i++)
		page_dup_file_rmap(page + i, false);
#endif
}

/* Initialise an mmu-notifier range for write-protecting [start, end). */
static inline void cowdup_mmu_range_init(struct mmu_notifier_range *range,
					 struct vm_area_struct *vma,
					 unsigned long start, unsigned long end)
{
#ifdef COWDUP_HAVE_MMU_NOTIFIER_RANGE_INIT_NO_VMA
	mmu_notifier_range_init(range, MMU_NOTIFY_PROTECTION_PAGE, 0,
				vma->vm_mm, start, end);
#else
	mmu_notifier_range_init(range, MMU_NOTIFY_PROTECTION_PAGE, 0, vma,
				vma->vm_mm, start, end);
#endif
}

/* get_user_pages() on current->mm, one page. */
static inline long cowdup_gup_one(unsigned long addr, unsigned int gup_flags,
				  struct page **page)
{
#ifdef COWDUP_HAVE_GUP_NO_VMAS
	return get_user_pages(addr, 1, gup_flags, page);
#else
	return get_user_pages(addr, 1, gup_flags, page, NULL);
#endif
}

/* A free range of @len bytes in current->mm (no hint, no file). */
static inline unsigned long cowdup_get_unmapped_area(unsigned long len)
{
#ifdef COWDUP_HAVE_MM_GET_UNMAPPED_AREA
	return mm_get_unmapped_area(current->mm, NULL, 0, len, 0, 0);
#else
	return get_unmapped_area(NULL, 0, len, 0, 0);
#endif
}

/*
 * Map and lock the PTE table under @pmd for @addr; NULL if the PMD no
 * longer points to a PTE table (6.5+ may free tables under the mmap read
 * lock).  Unlock with cowdup_pte_unmap_unlock().  The lock is handed from
 * one to the other; sparse cannot follow a lock taken only on success, so
 * both tell it the lock is balanced inside each.
 */
static inline pte_t *cowdup_pte_map_lock(struct mm_struct *mm, pmd_t *pmd,
					 unsigned long addr, spinlock_t **ptl)
{
	pte_t *pte;

#ifdef COWDUP_HAVE_PTE_OFFSET_MAP_LOCK_FN
	pte = KSYM(__pte_offset_map_lock)(mm, pmd, addr, ptl);
#else
	pte = pte_offset_map_lock(mm, pmd, addr, ptl);
	__release(*ptl);
#endif
	return pte;
}

static inline void cowdup_pte_unmap_unlock(pte_t *pte, spinlock_t *ptl)
{
	__acquire(ptl);
#ifdef COWDUP_HAVE_PTE_OFFSET_MAP_LOCK_FN
	__acquire(RCU);		/* __pte_offset_map_lock() entered it */
#endif
	pte_unmap_unlock(pte, ptl);
}

/* How many page-table entries map this page (PTE, and PMD for a THP). */
static inline int cowdup_page_mapcount(struct page *page)
{
#ifdef COWDUP_HAVE_PAGE_MAPCOUNT
	return page_mapcount(page);
#else
	struct folio *folio = page_folio(page);
	int mapcount = atomic_read(&page->_mapcount) + 1;

	if (mapcount < 0)	/* a page type, not a mapcount */
		mapcount = 0;
	if (folio_test_large(folio))
		mapcount += folio_entire_mapcount(folio);
	return mapcount;
#endif
}

/* The swap entry of a page in the swap cache. */
static inline swp_entry_t cowdup_page_swap_entry(struct page *page)
{
#ifdef COWDUP_HAVE_PAGE_SWAP_ENTRY
	return page_swap_entry(page);
#else
	struct folio *folio = page_folio(page);
	swp_entry_t entry = folio_swap_entry(folio);

	entry.val += folio_page_idx(folio, page);
	return entry;
#endif
}

/* add_mm_counter() without its tracepoint call into unexported code. */
static inline void cowdup_add_mm_counter(struct mm_struct *mm, int member,
					 long value)
{
	if (!value)
		return;
#ifdef COWDUP_HAVE_RSS_STAT_PERCPU
	percpu_counter_add(&mm->rss_stat[member], value);
	KSYM(mm_trace_rss_stat)(mm, member);
#else
	long count = atomic_long_add_return(value, &mm->rss_stat.count[member]);

	KSYM(mm_trace_rss_stat)(mm, member, count);
#endif
}

static inline void cowdup_mmu_range_start(struct mmu_notifier_range *range)
{
	if (mm_has_notifiers(range->mm)) {
		range->flags |= MMU_NOTIFIER_RANGE_BLOCKABLE;
		KSYM(__mmu_notifier_invalidate_range_start)(range);
	}
}

static inline void cowdup_mmu_range_end(struct mmu_notifier_range *range)
{
	if (!mm_has_notifiers(range->mm))
		return;
#ifdef COWDUP_HAVE_MMU_NOTIFIER_END_ONE_ARG
	KSYM(__mmu_notifier_invalidate_range_end)(range);
#else
	KSYM(__mmu_notifier_invalidate_range_end)(range, false);
#endif
}

/* vm_unacct_memory() without its direct references to unexported data. */
static inline void cowdup_vm_unacct_memory(long pages)
{
	percpu_counter_add_batch(KSYM(vm_committed_as), -pages,
				 *KSYM(vm_committed_as_batch));
}

#endif /* COWDUP_COMPAT_H */
