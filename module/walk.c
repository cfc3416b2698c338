// SPDX-License-Identifier: GPL-2.0
/*
 * The duplication walk: copy the page-table entries of [start, end) of a
 * source VMA to the same offsets of a destination VMA at another address of
 * the same mm, the way fork's copy_page_range() copies them to a child, with
 * address translation.  Documentation/design.md states the invariants.
 *
 * Caller holds mmap_lock for writing and has write-locked both VMAs.
 * Order inside: destination page tables are allocated before any
 * page-table lock is taken; then the destination lock, then the source
 * lock nested (one lock when both ranges share a page-table page).
 */
#include <linux/mm.h>
#include <linux/huge_mm.h>
#include <linux/rmap.h>
#include <linux/swap.h>
#include <linux/swapops.h>
#include <linux/sched/signal.h>
#include <linux/highmem.h>
#include <linux/pgtable.h>
#include <linux/userfaultfd_k.h>
#include <asm/pgalloc.h>
#include "walk.h"
#include "compat.h"

/* Pages that must be copied now (pinned or KSM) are queued, then copied
 * with the page-table locks dropped. */
#define COWDUP_PENDING_MAX	16

struct cowdup_pending {
	unsigned long dst_addr;
	struct page *src_page;	/* holds a reference */
};

struct cowdup_walk {
	struct mm_struct *mm;
	struct vm_area_struct *src_vma;
	unsigned long delta;	/* dst address - src address (mod 2^64) */
	int rss[NR_MM_COUNTERS];
	unsigned int nr_pending;
	unsigned long pending_start, pending_end;	/* source addresses */
	struct cowdup_pending pending[COWDUP_PENDING_MAX];
	swp_entry_t swap_entry;	/* needs a swap count continuation */
	/* A large folio that may be pinned: copied entry by entry. */
	struct folio *unbatched;
	/*
	 * The source addresses a CPU may still write through an old TLB
	 * entry (flush_end == 0: none), and the smallest page size among
	 * them: the TLB flush at the end covers exactly these.
	 */
	unsigned long flush_start, flush_end;
	unsigned int flush_shift;
};

static inline unsigned long dst_of(struct cowdup_walk *w, unsigned long addr)
{
	return addr + w->delta;
}

static int folio_rss_counter(struct folio *folio)
{
	if (folio_test_anon(folio))
		return MM_ANONPAGES;
	return folio_test_swapbacked(folio) ? MM_SHMEMPAGES : MM_FILEPAGES;
}

static void flush_rss(struct cowdup_walk *w)
{
	int i;

	for (i = 0; i < NR_MM_COUNTERS; i++) {
		cowdup_add_mm_counter(w->mm, i, w->rss[i]);
		w->rss[i] = 0;
	}
}

/*
 * [addr, addr + 1 << shift) of the source must be flushed from every TLB
 * before the call returns: the walk write-protected a writable entry
 * there, or shares with the copy a swap or migration entry whose page
 * reclaim or migration unmapped with its TLB flush still batched.
 */
static void owe_flush(struct cowdup_walk *w, unsigned long addr,
		      unsigned int shift)
{
	if (!w->flush_end || addr < w->flush_start)
		w->flush_start = addr;
	if (addr + (1UL << shift) > w->flush_end)
		w->flush_end = addr + (1UL << shift);
	w->flush_shift = min(w->flush_shift, shift);
}

/*
 * Copy the queued pages into fresh private pages of the destination.
 * get_user_pages() faults in a zeroed exclusive page at the destination
 * address (charged, accounted and on the rmap like any anonymous fault).
 */
static int copy_pending(struct cowdup_walk *w)
{
	int err = 0;
	unsigned int i;

	if (!w->nr_pending)
		return 0;
	/* No CPU may still write the queued pages through an old TLB entry. */
	KSYM(flush_tlb_mm_range)(w->mm, w->pending_start, w->pending_end,
				 PAGE_SHIFT, false);

	for (i = 0; i < w->nr_pending; i++) {
		struct cowdup_pending *p = &w->pending[i];
		struct page *page;
		long got = 0;

		if (!err) {
			got = cowdup_gup_one(p->dst_addr, FOLL_WRITE | FOLL_FORCE,
					     &page);
			if (got == 1) {
				copy_highpage(page, p->src_page);
				put_page(page);
			} else {
				err = got < 0 ? (int)got : -ENOMEM;
			}
		}
		put_page(p->src_page);
	}
	w->nr_pending = 0;
	return err;
}

/*
 * Queue a page to be copied for the destination.  -EAGAIN: queue full.
 * The source PTE is write-protected until the call returns, so no thread
 * writes the page while it is copied (the copy holds one value the page
 * had); the page stays exclusive, so the next write fault reuses it.
 */
static int queue_copy(struct cowdup_walk *w, pte_t *src_pte, pte_t pte,
		      unsigned long addr, struct page *page)
{
	struct cowdup_pending *p;

	if (w->nr_pending == COWDUP_PENDING_MAX)
		return -EAGAIN;
	if (pte_write(pte))
		ptep_set_wrprotect(w->mm, addr, src_pte);
	if (!w->nr_pending || addr < w->pending_start)
		w->pending_start = addr;
	if (!w->nr_pending || addr + PAGE_SIZE > w->pending_end)
		w->pending_end = addr + PAGE_SIZE;
	p = &w->pending[w->nr_pending++];
	p->dst_addr = dst_of(w, addr);
	get_page(page);
	p->src_page = page;
	return 0;
}

/*
 * A page both sides map must be dirty unless swap holds its bytes.  A read
 * fault that swaps a page in without the swap cache (zram) maps it clean
 * and leaves it clean: MADV_FREE on one side of such a page, shared, would
 * make it lazyfree for every side, and reclaim would drop it (fork() has
 * this hole on 6.1 and 6.12).  Reclaim writes such a page to swap anyway,
 * so the flag costs no I/O.
 */
static void keep_shared_anon_dirty(struct folio *folio)
{
	if (!folio_test_dirty(folio) && !folio_test_swapcache(folio))
		folio_set_dirty(folio);
}

/* What the copy of a source entry maps: read-only when copy-on-write. */
static pte_t copy_of_pte(struct vm_area_struct *src_vma, pte_t pte)
{
	if (is_cow_mapping(src_vma->vm_flags))
		pte = pte_wrprotect(pte);
	if (src_vma->vm_flags & VM_SHARED)
		pte = pte_mkclean(pte);
	pte = pte_mkold(pte);
	/*
	 * The copy has no userfaultfd context: drop uffd-wp.  Its address
	 * has new contents: soft-dirty, as mremap() marks what it moves.
	 */
	return pte_mksoft_dirty(pte_clear_uffd_wp(pte));
}

/* A source entry with the bits its copy does not take from it cleared. */
static pgprot_t run_prot(pte_t pte)
{
	return pte_pgprot(pte_wrprotect(pte_mkold(pte_clear_soft_dirty(pte))));
}

/*
 * How many entries from @src_pte on (at most @max) map the pages of
 * @folio that follow @page, in order, with the bits of @pte but for
 * those the copy does not take from the source (accessed, writable,
 * soft-dirty).  *writable: whether any of them is writable.
 */
static int folio_run_len(struct folio *folio, struct page *page,
			 pte_t *src_pte, pte_t pte, int max, bool *writable)
{
	unsigned long left = folio_nr_pages(folio) - folio_page_idx(folio, page);
	unsigned long pfn = pte_pfn(pte);
	pgprot_t prot = run_prot(pte);
	int n;

	max = min_t(unsigned long, max, left);
	*writable = pte_write(pte);
	for (n = 1; n < max; n++) {
		pte_t next = ptep_get(src_pte + n);

		if (!pte_present(next) || pte_pfn(next) != pfn + n ||
		    pgprot_val(run_prot(next)) != pgprot_val(prot))
			break;
		*writable |= pte_write(next);
	}
	return n;
}

/*
 * Share a run of entries (at most @max) of a copy-on-write VMA that map
 * consecutive pages of one large folio, from @page on, as fork's copy loop
 * does: one reference count update for the run, and the rmap of the run
 * at once where the kernel has it.  Returns the length of the run, or 0
 * when there is none to take at once (a run of one, or a page that may be
 * pinned): the caller then copies the entry alone.
 */
static int dup_folio_run(struct cowdup_walk *w, pte_t *dst_pte,
			 pte_t *src_pte, pte_t pte, unsigned long addr,
			 struct folio *folio, struct page *page, int max)
{
	unsigned long pfn = pte_pfn(pte);
	bool writable;
	pgprot_t prot;
	int i, nr;

	nr = folio_run_len(folio, page, src_pte, pte, max, &writable);
	if (nr == 1)
		return 0;
	if (folio_test_anon(folio)) {
		if (unlikely(cowdup_try_dup_anon_rmap_ptes(folio, page, nr,
							   w->src_vma))) {
			/* Not again for each of its other pages. */
			w->unbatched = folio;
			return 0;
		}
		keep_shared_anon_dirty(folio);
		w->rss[MM_ANONPAGES] += nr;
	} else {
		cowdup_dup_file_rmap_ptes(folio, page, nr);
		w->rss[folio_rss_counter(folio)] += nr;
	}
	folio_ref_add(folio, nr);

	if (writable) {
		for (i = 0; i < nr; i++)
			if (pte_write(ptep_get(src_pte + i)))
				ptep_set_wrprotect(w->mm, addr + i * PAGE_SIZE,
						   src_pte + i);
		/* The hull of the first and the last page: the whole run. */
		owe_flush(w, addr, PAGE_SHIFT);
		owe_flush(w, addr + (nr - 1) * PAGE_SIZE, PAGE_SHIFT);
	}
	prot = pte_pgprot(copy_of_pte(w->src_vma, pte));
	for (i = 0; i < nr; i++)
		set_pte_at(w->mm, dst_of(w, addr + i * PAGE_SIZE), dst_pte + i,
			   pfn_pte(pfn + i, prot));
	return nr;
}

/*
 * Copy the present entry at @addr.  When it maps a page of a large folio
 * and the entries after it (up to @end) map the folio's following pages,
 * they are copied with it (dup_folio_run()): the return value is then how
 * many entries after @addr were copied too; otherwise 0, or an error.
 */
static int dup_present_pte(struct cowdup_walk *w, pte_t *dst_pte,
			    pte_t *src_pte, pte_t pte, unsigned long addr,
			    unsigned long end)
{
	struct vm_area_struct *src_vma = w->src_vma;
	struct page *page = cowdup_normal_page(src_vma, addr, pte);
	struct folio *folio = page ? page_folio(page) : NULL;

	if (unlikely(folio && folio_test_large(folio)) && end - addr > PAGE_SIZE &&
	    is_cow_mapping(src_vma->vm_flags) && folio != w->unbatched) {
		int nr = dup_folio_run(w, dst_pte, src_pte, pte, addr, folio,
				       page, (end - addr) >> PAGE_SHIFT);

		if (nr)
			return nr - 1;
	}
	if (folio && folio_test_anon(folio)) {
		/*
		 * KSM finds a page's mappings by address through its rmap
		 * item, so a KSM page mapped at a second address of the same
		 * mm would be invisible to it: the copy gets its own page.
		 * A page that may be pinned is copied too, as fork does, so
		 * the pin keeps seeing the source's page.
		 */
		if (folio_test_ksm(folio))
			return queue_copy(w, src_pte, pte, addr, page);
		folio_get(folio);
		if (unlikely(cowdup_try_dup_anon_rmap_pte(page, src_vma))) {
			folio_put(folio);
			return queue_copy(w, src_pte, pte, addr, page);
		}
		keep_shared_anon_dirty(folio);
		w->rss[MM_ANONPAGES]++;
	} else if (folio) {
		folio_get(folio);
		cowdup_dup_file_rmap_pte(page);
		w->rss[folio_rss_counter(folio)]++;
	}

	/* Copy-on-write: both sides read-only from now on. */
	if (is_cow_mapping(src_vma->vm_flags) && pte_write(pte)) {
		ptep_set_wrprotect(w->mm, addr, src_pte);
		owe_flush(w, addr, PAGE_SHIFT);
	}
	set_pte_at(w->mm, dst_of(w, addr), dst_pte, copy_of_pte(src_vma, pte));
	return 0;
}

/* Swap, migration, device and marker entries, as fork handles them. */
static int dup_nonpresent_pte(struct cowdup_walk *w, pte_t *dst_pte,
			       pte_t *src_pte, pte_t orig, unsigned long addr)
{
	unsigned long vm_flags = w->src_vma->vm_flags;
	swp_entry_t entry = pte_to_swp_entry(orig);
	pte_t pte = orig;
	struct page *page;

	if (likely(!non_swap_entry(entry))) {
		/* Both sides now reference the swap slot: no swap-in. */
		if (KSYM(swap_duplicate)(entry) < 0) {
			w->swap_entry = entry;
			return -EIO;
		}
		if (pte_swp_exclusive(orig)) {
			pte = pte_swp_clear_exclusive(orig);
			set_pte_at(w->mm, addr, src_pte, pte);
		}
		w->rss[MM_SWAPENTS]++;
		owe_flush(w, addr, PAGE_SHIFT);
	} else if (is_migration_entry(entry)) {
		page = pfn_swap_entry_to_page(entry);
		owe_flush(w, addr, PAGE_SHIFT);
		w->rss[folio_rss_counter(page_folio(page))]++;
		if (!is_readable_migration_entry(entry) &&
		    is_cow_mapping(vm_flags)) {
			entry = make_readable_migration_entry(swp_offset(entry));
			pte = swp_entry_to_pte(entry);
			if (pte_swp_soft_dirty(orig))
				pte = pte_swp_mksoft_dirty(pte);
			if (pte_swp_uffd_wp(orig))
				pte = pte_swp_mkuffd_wp(pte);
			set_pte_at(w->mm, addr, src_pte, pte);
		}
	} else if (is_device_private_entry(entry)) {
		page = pfn_swap_entry_to_page(entry);
		get_page(page);
		w->rss[folio_rss_counter(page_folio(page))]++;
		/* Cannot fail: device-private pages cannot be pinned. */
		WARN_ON_ONCE(cowdup_try_dup_anon_rmap_pte(page, w->src_vma));
		if (is_writable_device_private_entry(entry) &&
		    is_cow_mapping(vm_flags)) {
			entry = make_readable_device_private_entry(swp_offset(entry));
			pte = swp_entry_to_pte(entry);
			if (pte_swp_uffd_wp(orig))
				pte = pte_swp_mkuffd_wp(pte);
			set_pte_at(w->mm, addr, src_pte, pte);
		}
	} else if (is_pte_marker_entry(entry)) {
		/* uffd-wp markers do not carry over; other markers do. */
		pte_marker marker = pte_marker_get(entry) & ~PTE_MARKER_UFFD_WP;

		if (marker)
			set_pte_at(w->mm, dst_of(w, addr), dst_pte,
				   make_pte_marker(marker));
		return 0;
	} else {
		/* Device-exclusive entries: a device holds the page. */
		return -EBUSY;
	}
	pte = pte_swp_mksoft_dirty(pte_swp_clear_uffd_wp(pte));
	set_pte_at(w->mm, dst_of(w, addr), dst_pte, pte);
	return 0;
}

/*
 * Copy the PTEs of [addr, end): one source and one destination PTE table.
 * Locks are dropped every so often (and to copy queued pages), so the loop
 * restarts from where it stopped.
 */
static int dup_pte_range(struct cowdup_walk *w, pmd_t *dst_pmd,
			  pmd_t *src_pmd, unsigned long addr, unsigned long end)
{
	spinlock_t *dst_ptl = pte_lockptr(w->mm, dst_pmd);
	spinlock_t *src_ptl = pte_lockptr(w->mm, src_pmd);
	pte_t *src_pte, *dst_pte;
	int progress, ret, err;

again:
	ret = 0;
	progress = 0;
	src_pte = pte_offset_kernel(src_pmd, addr);
	dst_pte = pte_offset_kernel(dst_pmd, dst_of(w, addr));
	cowdup_lock_pair(dst_ptl, src_ptl);
	arch_enter_lazy_mmu_mode();
	for (; addr != end; addr += PAGE_SIZE, src_pte++, dst_pte++) {
		pte_t pte;

		if (progress >= 32) {
			progress = 0;
			if (need_resched() || spin_needbreak(src_ptl) ||
			    spin_needbreak(dst_ptl)) {
				ret = -EAGAIN;
				break;
			}
		}
		pte = ptep_get(src_pte);
		if (pte_none(pte)) {
			progress++;
			continue;
		}
		if (unlikely(!pte_present(pte)))
			ret = dup_nonpresent_pte(w, dst_pte, src_pte, pte, addr);
		else
			ret = dup_present_pte(w, dst_pte, src_pte, pte, addr, end);
		if (unlikely(ret)) {
			if (ret < 0)
				break;
			/* A run: @ret entries after this one are copied too. */
			addr += ret * PAGE_SIZE;
			src_pte += ret;
			dst_pte += ret;
			progress += 8 * ret;
			ret = 0;
		}
		progress += 8;
	}
	arch_leave_lazy_mmu_mode();
	cowdup_unlock_pair(dst_ptl, src_ptl);
	flush_rss(w);

	err = copy_pending(w);
	if (err)
		return err;
	if (ret == -EIO) {
		/* The swap count overflowed: extend it, sleeping, and retry. */
		if (KSYM(add_swap_count_continuation)(w->swap_entry, GFP_KERNEL) < 0)
			return -ENOMEM;
	} else if (ret && ret != -EAGAIN) {
		return ret;
	}
	cond_resched();
	if (fatal_signal_pending(current))
		return -EINTR;
	if (addr != end)
		goto again;
	return 0;
}

/*
 * Share a whole PMD-mapped THP (or the huge zero page) at PMD level, as
 * fork's copy_huge_pmd() does.  @pgtable is always consumed: deposited for
 * the destination's huge PMD, or installed as its PTE table when the source
 * is no longer a shareable huge PMD (1 returned: copy by PTEs).
 */
static int dup_huge_pmd(struct cowdup_walk *w, pmd_t *dst_pmd, pmd_t *src_pmd,
			 unsigned long addr, pgtable_t pgtable)
{
	spinlock_t *dst_ptl = pmd_lockptr(w->mm, dst_pmd);
	spinlock_t *src_ptl = pmd_lockptr(w->mm, src_pmd);
	struct page *page = NULL;
	bool split = false;
	pmd_t pmd;
	int ret = 0;

	cowdup_lock_pair(dst_ptl, src_ptl);
	pmd = *src_pmd;

	if (is_pmd_migration_entry(pmd)) {
		swp_entry_t entry = pmd_to_swp_entry(pmd);

		if (!is_readable_migration_entry(entry)) {
			entry = make_readable_migration_entry(swp_offset(entry));
			pmd = swp_entry_to_pmd(entry);
			if (pmd_swp_soft_dirty(*src_pmd))
				pmd = pmd_swp_mksoft_dirty(pmd);
			if (pmd_swp_uffd_wp(*src_pmd))
				pmd = pmd_swp_mkuffd_wp(pmd);
			set_pmd_at(w->mm, addr, src_pmd, pmd);
		}
		pmd = pmd_swp_mksoft_dirty(pmd_swp_clear_uffd_wp(pmd));
		w->rss[MM_ANONPAGES] += HPAGE_PMD_NR;
		owe_flush(w, addr, PAGE_SHIFT);	/* its PTEs may be cached too */
		goto deposit;
	}
	if (!pmd_trans_huge(pmd)) {
		ret = 1;	/* split meanwhile: copy its PTEs */
		goto populate;
	}
	page = pmd_page(pmd);
	if (PageAnon(page)) {
		get_page(page);
		if (unlikely(cowdup_try_dup_anon_rmap_pmd(page, w->src_vma))) {
			/* Maybe pinned: split, copy the pinned pages by PTE. */
			put_page(page);
			split = true;
			ret = 1;
			goto populate;
		}
		keep_shared_anon_dirty(page_folio(page));
		w->rss[MM_ANONPAGES] += HPAGE_PMD_NR;
	}
	/*
	 * Not anon in a private anonymous VMA: the huge zero page.  This mm
	 * maps it already, so it holds the huge zero page reference.
	 */
	if (pmd_write(pmd))
		owe_flush(w, addr, PMD_SHIFT);
	pmdp_set_wrprotect(w->mm, addr, src_pmd);
	pmd = pmd_mkold(pmd_wrprotect(pmd));
	pmd = pmd_mksoft_dirty(pmd_clear_uffd_wp(pmd));
deposit:
	mm_inc_nr_ptes(w->mm);
	KSYM(pgtable_trans_huge_deposit)(w->mm, dst_pmd, pgtable);
	set_pmd_at(w->mm, dst_of(w, addr), dst_pmd, pmd);
	goto unlock;
populate:
	if (pmd_none(*dst_pmd)) {
		mm_inc_nr_ptes(w->mm);
		smp_wmb(); /* PTE table contents before the PMD points to it */
		pmd_populate(w->mm, dst_pmd, pgtable);
		pgtable = NULL;
	}
unlock:
	cowdup_unlock_pair(dst_ptl, src_ptl);
	flush_rss(w);
	/* Cannot happen: the destination range was empty. */
	if (WARN_ON_ONCE(pgtable && ret))
		return -EINVAL;
	if (split)
		KSYM(__split_huge_pmd)(w->src_vma, src_pmd, addr, false, NULL);
	return ret;
}

/* Destination PMD for @addr, allocating upper tables as needed. */
static pmd_t *dst_pmd_alloc(struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	p4d_t *p4d;
	pud_t *pud;

	if (pgd_none(*pgd) && KSYM(__p4d_alloc)(mm, pgd, addr))
		return NULL;
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(*p4d) && KSYM(__pud_alloc)(mm, p4d, addr))
		return NULL;
	pud = pud_offset(p4d, addr);
	if (pud_none(*pud) && KSYM(__pmd_alloc)(mm, pud, addr))
		return NULL;
	return pmd_offset(pud, addr);
}

/*
 * The PMD covering @addr, or NULL with *next set past the empty upper-level
 * table that covers @addr (so empty regions cost one step each).
 */
pmd_t *cowdup_pmd_lookup(struct mm_struct *mm, unsigned long addr,
			 unsigned long *next)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	p4d_t *p4d;
	pud_t *pud;

	if (pgd_none(*pgd) || unlikely(pgd_bad(*pgd))) {
		*next = pgd_addr_end(addr, ULONG_MAX);
		return NULL;
	}
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(*p4d) || unlikely(p4d_bad(*p4d))) {
		*next = p4d_addr_end(addr, ULONG_MAX);
		return NULL;
	}
	pud = pud_offset(p4d, addr);
	if (pud_none(*pud) || unlikely(pud_bad(*pud))) {
		*next = pud_addr_end(addr, ULONG_MAX);
		return NULL;
	}
	return pmd_offset(pud, addr);
}

static int copy_chunk(struct cowdup_walk *w, pmd_t *src_pmd,
		      unsigned long addr, unsigned long next)
{
	bool whole_pmd = next - addr == HPAGE_PMD_SIZE;
	pmd_t *dst_pmd;
	pmd_t pmd;
	int ret;

	pmd = READ_ONCE(*src_pmd);
	if (pmd_none(pmd))
		return 0;
	/*
	 * A huge PMD in a file mapping maps page cache: as fork, leave the
	 * copy's to the fault handler, which maps the same file pages.
	 */
	if ((is_swap_pmd(pmd) || pmd_trans_huge(pmd) || pmd_devmap(pmd)) &&
	    !vma_is_anonymous(w->src_vma))
		return 0;
	dst_pmd = dst_pmd_alloc(w->mm, dst_of(w, addr));
	if (!dst_pmd)
		return -ENOMEM;
	/*
	 * The copy can map a huge PMD by PMD only over a whole, empty PMD
	 * (a PTE table left by an earlier unmap there would be lost):
	 * otherwise both sides map it by PTEs.
	 */
	if ((is_swap_pmd(pmd) || pmd_trans_huge(pmd) || pmd_devmap(pmd)) &&
	    (!whole_pmd || !pmd_none(*dst_pmd))) {
		KSYM(__split_huge_pmd)(w->src_vma, src_pmd, addr, false, NULL);
		pmd = READ_ONCE(*src_pmd);
	}

	if (is_swap_pmd(pmd) || pmd_trans_huge(pmd) || pmd_devmap(pmd)) {
		pgtable_t pgtable = KSYM(pte_alloc_one)(w->mm);

		if (!pgtable)
			return -ENOMEM;
		ret = dup_huge_pmd(w, dst_pmd, src_pmd, addr, pgtable);
		if (ret <= 0)
			return ret;
		pmd = READ_ONCE(*src_pmd);
	}
	if (pmd_none(pmd) || unlikely(pmd_bad(pmd)))
		return 0;
	if (pmd_none(*dst_pmd) && KSYM(__pte_alloc)(w->mm, dst_pmd))
		return -ENOMEM;
	return dup_pte_range(w, dst_pmd, src_pmd, addr, next);
}

/*
 * Copy what one source PMD table maps of [addr, end); *next is where it
 * stops (the table's end, or the end of an empty upper-level region).
 * Empty entries cost one test each: a sparse range is paid for by what it
 * maps, not by its size.
 */
static int copy_pmd_table(struct cowdup_walk *w, unsigned long addr,
			  unsigned long end, unsigned long *next)
{
	pmd_t *src_pmd = cowdup_pmd_lookup(w->mm, addr, next);
	unsigned long table_end;
	pmd_t *table;
	int err = 0;

	if (!src_pmd) {
		*next = min(*next, end);
		return 0;
	}
	table = src_pmd - pmd_index(addr);
	table_end = pud_addr_end(addr, end);
	for (; addr < table_end && !err; addr = *next) {
		src_pmd = table + pmd_index(addr);
		if (pmd_none(READ_ONCE(*src_pmd))) {
			*next = pmd_addr_end(addr, table_end);
			continue;
		}
		*next = cowdup_chunk_end(addr, table_end, w->delta);
		err = copy_chunk(w, src_pmd, addr, *next);
	}
	return err;
}

int cowdup_copy_range(struct vm_area_struct *src_vma, unsigned long start,
		      unsigned long end, unsigned long dst_start)
{
	struct mm_struct *mm = src_vma->vm_mm;
	struct mmu_notifier_range range;
	struct cowdup_walk *w;
	unsigned long addr, next;
	bool is_cow = is_cow_mapping(src_vma->vm_flags);
	int err = 0;

	w = kzalloc(sizeof(*w), GFP_KERNEL);
	if (!w)
		return -ENOMEM;
	w->mm = mm;
	w->src_vma = src_vma;
	w->delta = dst_start - start;
	w->flush_shift = PMD_SHIFT;

	if (is_cow) {
		/* Secondary MMUs and GUP-fast must see the write-protection. */
		cowdup_mmu_range_init(&range, src_vma, start, end);
		cowdup_mmu_range_start(&range);
		raw_write_seqcount_begin(&mm->write_protect_seq);
	}
	for (addr = start; addr < end && !err; addr = next)
		err = copy_pmd_table(w, addr, end, &next);
	if (is_cow) {
		raw_write_seqcount_end(&mm->write_protect_seq);
		/*
		 * Once per range, over what owes it (see owe_flush()).  An
		 * entry that was read-only already owes nothing: whoever
		 * write-protected it flushed before releasing mmap_lock or
		 * the page-table lock.  So a source duplicated again unchanged
		 * sends no IPI, and huge PMDs alone are flushed by 2 MiB
		 * steps rather than by a full flush.
		 */
		if (w->flush_end)
			KSYM(flush_tlb_mm_range)(mm, w->flush_start,
						 w->flush_end, w->flush_shift,
						 false);
		cowdup_mmu_range_end(&range);
	}
	kfree(w);
	return err;
}
