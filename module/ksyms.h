/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel functions and data cowdup needs that are not exported to modules.
 * They are looked up once, at load (ksyms.c); the module refuses to load
 * when one is missing or cannot be called safely (IBT, see ibt_entry.h).
 * Call them as KSYM(name)(args).
 */
#ifndef COWDUP_KSYMS_H
#define COWDUP_KSYMS_H

#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/huge_mm.h>
#include <linux/swap.h>
#include <linux/mmu_notifier.h>
#include <linux/security.h>
#include <linux/secretmem.h>
#include "compat-probes.h"
#include <asm/pgalloc.h>

/* copy_vma(): six arguments (keep_source last) on every supported kernel. */
typedef struct vm_area_struct *(*cowdup_copy_vma_t)(struct vm_area_struct **vmap,
		unsigned long addr, unsigned long len, pgoff_t pgoff,
		bool *need_rmap_locks, bool keep_source);

/* x86's flush_tlb_mm_range(): its declaration is hidden from modules. */
typedef void (*cowdup_flush_tlb_mm_range_t)(struct mm_struct *mm,
		unsigned long start, unsigned long end,
		unsigned int stride_shift, bool freed_tables);

/* Functions: X(name, type of a pointer to it). */
#define COWDUP_KSYM_FUNCS(X)						\
	X(copy_vma, cowdup_copy_vma_t)					\
	X(do_munmap, typeof(&do_munmap))				\
	X(vm_normal_page, typeof(&vm_normal_page))			\
	X(__p4d_alloc, typeof(&__p4d_alloc))				\
	X(__pud_alloc, typeof(&__pud_alloc))				\
	X(__pmd_alloc, typeof(&__pmd_alloc))				\
	X(__pte_alloc, typeof(&__pte_alloc))				\
	X(pte_alloc_one, typeof(&pte_alloc_one))			\
	X(pgtable_trans_huge_deposit, typeof(&pgtable_trans_huge_deposit)) \
	X(__split_huge_pmd, typeof(&__split_huge_pmd))			\
	X(flush_tlb_mm_range, cowdup_flush_tlb_mm_range_t)		\
	X(mm_trace_rss_stat, typeof(&mm_trace_rss_stat))		\
	X(__mmu_notifier_invalidate_range_start,			\
	  typeof(&__mmu_notifier_invalidate_range_start))		\
	X(__mmu_notifier_invalidate_range_end,				\
	  typeof(&__mmu_notifier_invalidate_range_end))			\
	X(security_vm_enough_memory_mm, typeof(&security_vm_enough_memory_mm)) \
	X(vm_stat_account, typeof(&vm_stat_account))			\
	X(swap_duplicate, typeof(&swap_duplicate))			\
	X(add_swap_count_continuation, typeof(&add_swap_count_continuation)) \
	X(__swap_count, typeof(&__swap_count))				\
	X(vma_is_secretmem, typeof(&vma_is_secretmem))			\
	X(zap_page_range_single, typeof(&zap_page_range_single))	\
	COWDUP_KSYM_FUNCS_PTE_MAP(X)

/* Functions only some kernels need (see compat.h). */
#ifdef COWDUP_HAVE_PTE_OFFSET_MAP_LOCK_FN
#define COWDUP_KSYM_FUNCS_PTE_MAP(X)					\
	X(__pte_offset_map_lock, typeof(&__pte_offset_map_lock))
#else
#define COWDUP_KSYM_FUNCS_PTE_MAP(X)
#endif

/* Data: X(name, type of a pointer to it). */
#define COWDUP_KSYM_DATA(X)						\
	X(vm_committed_as, typeof(&vm_committed_as))			\
	X(vm_committed_as_batch, typeof(&vm_committed_as_batch))	\
	X(sysctl_max_map_count, typeof(&sysctl_max_map_count))	\
	X(mmap_min_addr, typeof(&mmap_min_addr))			\
	X(highest_memmap_pfn, unsigned long *)

struct cowdup_ksyms {
#define COWDUP_KSYM_MEMBER(name, type) type name;
	COWDUP_KSYM_FUNCS(COWDUP_KSYM_MEMBER)
	COWDUP_KSYM_DATA(COWDUP_KSYM_MEMBER)
#undef COWDUP_KSYM_MEMBER
};

extern struct cowdup_ksyms cowdup_ksyms;

#define KSYM(name) (cowdup_ksyms.name)

int cowdup_ksyms_resolve(void);

#endif /* COWDUP_KSYMS_H */
