// SPDX-License-Identifier: GPL-2.0
/*
 * COWDUP_IOC_QUERY: is each page of a range still shared copy-on-write, or
 * already a real copy?  Without root, unlike /proc/kpageflags.
 *
 * The range is read in batches of one kernel page of state bytes: each
 * batch walks the page tables under the mmap read lock (no fault, no
 * allocation per page, empty tables skipped whole), then the lock is
 * dropped and the batch is copied to the user's vector, as mincore() does.
 */
#include <linux/mm.h>
#include <linux/hugetlb.h>
#include <linux/swap.h>
#include <linux/swapops.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>
#include "cowdup.h"
#include "compat.h"
#include "walk.h"

/* A batch covers this many pages: one state byte each, one kernel page. */
#define QUERY_BATCH	PAGE_SIZE

/*
 * An anonymous page is shared when more than one page-table entry refers
 * to it: its mappings, plus, for a page in the swap cache, the swap
 * entries that will map it when they fault.  A KSM page is always shared:
 * a write to it always copies.
 */
static unsigned char anon_state(struct page *page)
{
	int uses;

	if (PageKsm(page))
		return COWDUP_PAGE_SHARED;
	uses = cowdup_page_mapcount(page);
	if (folio_test_swapcache(page_folio(page)))
		uses += KSYM(__swap_count)(cowdup_page_swap_entry(page));
	return uses > 1 ? COWDUP_PAGE_SHARED : COWDUP_PAGE_EXCLUSIVE;
}

/* State of a mapped page: anonymous by its sharing, anything else FILE. */
static unsigned char page_state(struct page *page)
{
	unsigned char huge = PageCompound(page) ? COWDUP_PAGE_HUGE : 0;

	if (PageAnon(page))
		return anon_state(page) | huge;
	return COWDUP_PAGE_FILE | huge;
}

/* Migration and device-private entries still stand for a mapped page. */
static unsigned char swap_pte_state(swp_entry_t entry)
{
	if (!non_swap_entry(entry))
		return COWDUP_PAGE_SWAP;
	if (is_migration_entry(entry) || is_device_private_entry(entry))
		return page_state(pfn_swap_entry_to_page(entry));
	return COWDUP_PAGE_NONE;	/* markers: nothing mapped */
}

static unsigned char pte_state(struct vm_area_struct *vma, unsigned long addr,
			       pte_t pte)
{
	struct page *page;

	if (pte_none(pte))
		return COWDUP_PAGE_NONE;
	if (!pte_present(pte))
		return swap_pte_state(pte_to_swp_entry(pte));
	if (is_zero_pfn(pte_pfn(pte)))
		return COWDUP_PAGE_ZERO;
	page = cowdup_normal_page(vma, addr, pte);
	/* Raw PFN mappings have no page to ask: not anonymous memory. */
	return page ? page_state(page) : COWDUP_PAGE_FILE;
}

/* States of the PTEs of [addr, end), one PTE table.  -EAGAIN: retry. */
static int query_ptes(struct vm_area_struct *vma, pmd_t *pmd,
		      unsigned long addr, unsigned long end, unsigned char *out)
{
	spinlock_t *ptl;
	pte_t *start_pte, *pte;

	start_pte = cowdup_pte_map_lock(vma->vm_mm, pmd, addr, &ptl);
	if (!start_pte)
		return -EAGAIN;
	for (pte = start_pte; addr != end; addr += PAGE_SIZE, pte++)
		*out++ = pte_state(vma, addr, ptep_get(pte));
	cowdup_pte_unmap_unlock(start_pte, ptl);
	return 0;
}

/*
 * A huge PMD (THP, huge zero page, PMD migration entry) covering
 * [addr, end).  -EAGAIN when it is no longer one: read its PTEs instead.
 */
static int query_huge_pmd(struct vm_area_struct *vma, pmd_t *pmd,
			  unsigned long addr, unsigned long end,
			  unsigned char *out)
{
	spinlock_t *ptl = pmd_lock(vma->vm_mm, pmd);
	pmd_t val = *pmd;
	struct page *page;

	if (is_pmd_migration_entry(val)) {
		page = pfn_swap_entry_to_page(pmd_to_swp_entry(val));
	} else if (pmd_trans_huge(val)) {
		page = pmd_page(val);
		/* The huge zero page: neither anonymous nor in a file. */
		if (!PageAnon(page) && !page->mapping) {
			memset(out, COWDUP_PAGE_ZERO | COWDUP_PAGE_HUGE,
			       (end - addr) >> PAGE_SHIFT);
			spin_unlock(ptl);
			return 0;
		}
	} else {
		spin_unlock(ptl);
		return -EAGAIN;
	}
	page += (addr & ~HPAGE_PMD_MASK) >> PAGE_SHIFT;
	for (; addr != end; addr += PAGE_SIZE, page++)
		*out++ = page_state(page);
	spin_unlock(ptl);
	return 0;
}

/* States of one PMD's part [addr, end): a huge PMD or a PTE table. */
static void query_pmd(struct vm_area_struct *vma, pmd_t *pmd,
		      unsigned long addr, unsigned long end, unsigned char *out)
{
	int err;

	do {
		pmd_t val = READ_ONCE(*pmd);

		if (pmd_trans_huge(val) || is_swap_pmd(val) || pmd_devmap(val)) {
			err = query_huge_pmd(vma, pmd, addr, end, out);
		} else if (pmd_none(val) || unlikely(pmd_bad(val))) {
			memset(out, COWDUP_PAGE_NONE, (end - addr) >> PAGE_SHIFT);
			err = 0;
		} else {
			err = query_ptes(vma, pmd, addr, end, out);
		}
	} while (err == -EAGAIN);	/* the PMD changed under us: again */
}

static void query_normal(struct vm_area_struct *vma, unsigned long addr,
			 unsigned long end, unsigned char *out)
{
	unsigned long next;

	while (addr < end) {
		pmd_t *pmd = cowdup_pmd_lookup(vma->vm_mm, addr, &next);

		if (pmd) {
			next = pmd_addr_end(addr, end);
			query_pmd(vma, pmd, addr, next, out);
		} else {
			next = min(next, end);
			memset(out, COWDUP_PAGE_NONE, (next - addr) >> PAGE_SHIFT);
		}
		out += (next - addr) >> PAGE_SHIFT;
		addr = next;
	}
}

/* The hugetlb entry for @addr: a PMD (2 MiB) or PUD (1 GiB) used as a PTE. */
static pte_t *hugetlb_entry(struct mm_struct *mm, unsigned long addr,
			    unsigned long size)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	p4d_t *p4d;
	pud_t *pud;

	if (pgd_none(*pgd))
		return NULL;
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(*p4d))
		return NULL;
	pud = pud_offset(p4d, addr);
	if (size == PUD_SIZE)
		return (pte_t *)pud;
	if (pud_none(*pud))
		return NULL;
	return (pte_t *)pmd_offset(pud, addr);
}

/* hugetlb: every page of a huge page has the huge page's state. */
static void query_hugetlb(struct vm_area_struct *vma, unsigned long addr,
			  unsigned long end, unsigned char *out)
{
	struct hstate *h = hstate_vma(vma);
	unsigned long size = huge_page_size(h);
	struct mm_struct *mm = vma->vm_mm;

	while (addr < end) {
		unsigned long next = min((addr | (size - 1)) + 1, end);
		unsigned long i, n = (next - addr) >> PAGE_SHIFT;
		pte_t *ptep = hugetlb_entry(mm, addr, size);
		struct page *page = NULL;
		spinlock_t *ptl;
		pte_t pte;

		memset(out, COWDUP_PAGE_NONE, n);
		if (ptep) {
			ptl = huge_pte_lockptr(h, mm, ptep);
			spin_lock(ptl);
			pte = ptep_get(ptep);
			if (pte_present(pte))
				page = pte_page(pte);
			else if (!pte_none(pte) &&
				 is_migration_entry(pte_to_swp_entry(pte)))
				page = pfn_swap_entry_to_page(pte_to_swp_entry(pte));
			if (page) {
				page += (addr & (size - 1)) >> PAGE_SHIFT;
				for (i = 0; i < n; i++)
					out[i] = page_state(page + i) |
						 COWDUP_PAGE_HUGE;
			}
			spin_unlock(ptl);
		}
		out += n;
		addr = next;
	}
}

/* States of [addr, end) into @out: holes are NONE.  mmap_lock held. */
static void query_batch(struct mm_struct *mm, unsigned long addr,
			unsigned long end, unsigned char *out)
{
	while (addr < end) {
		struct vm_area_struct *vma = find_vma(mm, addr);
		unsigned long vend;

		if (!vma || vma->vm_start >= end) {
			memset(out, COWDUP_PAGE_NONE, (end - addr) >> PAGE_SHIFT);
			return;
		}
		if (vma->vm_start > addr) {
			unsigned long n = (vma->vm_start - addr) >> PAGE_SHIFT;

			memset(out, COWDUP_PAGE_NONE, n);
			out += n;
			addr = vma->vm_start;
		}
		vend = min(vma->vm_end, end);
		if (is_vm_hugetlb_page(vma))
			query_hugetlb(vma, addr, vend, out);
		else
			query_normal(vma, addr, vend, out);
		out += (vend - addr) >> PAGE_SHIFT;
		addr = vend;
	}
}

/*
 * Where the stretch of [addr, end) with nothing mapped ends: no VMA, or
 * empty page tables (whole upper-level tables skipped at once).  Counts
 * need no state byte there.  mmap_lock held.
 */
static unsigned long nothing_mapped_until(struct mm_struct *mm,
					  unsigned long addr, unsigned long end)
{
	while (addr < end) {
		struct vm_area_struct *vma = find_vma(mm, addr);
		unsigned long next;
		pmd_t *pmd;

		if (!vma || vma->vm_start >= end)
			return end;
		if (vma->vm_start > addr) {
			addr = vma->vm_start;
			continue;
		}
		if (is_vm_hugetlb_page(vma))
			return addr;
		pmd = cowdup_pmd_lookup(mm, addr, &next);
		if (pmd) {
			if (!pmd_none(READ_ONCE(*pmd)))
				return addr;
			next = pmd_addr_end(addr, end);
		}
		addr = min3(next, vma->vm_end, end);
	}
	return end;
}

static void tally(struct cowdup_query_args *args, const unsigned char *buf,
		  unsigned long n)
{
	u64 *counts[] = {
		[COWDUP_PAGE_NONE] = &args->nr_none,
		[COWDUP_PAGE_ZERO] = &args->nr_zero,
		[COWDUP_PAGE_SHARED] = &args->nr_shared,
		[COWDUP_PAGE_EXCLUSIVE] = &args->nr_exclusive,
		[COWDUP_PAGE_FILE] = &args->nr_file,
		[COWDUP_PAGE_SWAP] = &args->nr_swap,
	};
	unsigned long i = 0;

	while (i < n) {
		/* Runs of NONE (sparse ranges) are counted a word at a time. */
		if (buf[i] == COWDUP_PAGE_NONE) {
			const unsigned char *other =
				memchr_inv(buf + i, COWDUP_PAGE_NONE, n - i);
			unsigned long j = other ? other - buf : n;

			args->nr_none += j - i;
			i = j;
			continue;
		}
		(*counts[buf[i] & COWDUP_PAGE_STATE_MASK])++;
		i++;
	}
}

int cowdup_query(struct cowdup_query_args *args)
{
	struct mm_struct *mm = current->mm;
	unsigned char __user *vec = u64_to_user_ptr(args->vec);
	unsigned long addr = args->addr, len, done = 0, pages;
	unsigned char *buf;
	int err = 0;

	if (args->flags || offset_in_page(addr) || !args->len ||
	    args->len > TASK_SIZE)
		return -EINVAL;
	len = PAGE_ALIGN(args->len);
	if (addr > TASK_SIZE - len)
		return -EINVAL;
	if (!mm)
		return -EINVAL;
	pages = len >> PAGE_SHIFT;

	buf = (unsigned char *)__get_free_page(GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	args->nr_none = args->nr_zero = args->nr_shared = 0;
	args->nr_exclusive = args->nr_file = args->nr_swap = 0;
	while (done < pages) {
		unsigned long n = min(pages - done, QUERY_BATCH);
		unsigned long start = addr + (done << PAGE_SHIFT);

		/* A query of the whole address space must not outlive a kill. */
		if (fatal_signal_pending(current) ||
		    mmap_read_lock_killable(mm)) {
			err = -EINTR;
			break;
		}
		if (!vec) {
			/* Counts only: what is empty is counted, not walked. */
			unsigned long empty = nothing_mapped_until(mm, start,
						addr + (pages << PAGE_SHIFT));

			if (empty > start) {
				mmap_read_unlock(mm);
				n = (empty - start) >> PAGE_SHIFT;
				args->nr_none += n;
				done += n;
				cond_resched();
				continue;
			}
		}
		query_batch(mm, start, start + (n << PAGE_SHIFT), buf);
		mmap_read_unlock(mm);

		tally(args, buf, n);
		if (vec && copy_to_user(vec + done, buf, n)) {
			err = -EFAULT;
			break;
		}
		done += n;
		cond_resched();
	}
	free_page((unsigned long)buf);
	return err;
}
