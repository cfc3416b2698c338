// SPDX-License-Identifier: GPL-2.0
/*
 * COWDUP_IOC_DUP: validate the request, choose the destination, apply the
 * limits mmap applies, create the destination VMAs (copy_vma(), as mremap
 * does, so each is linked into the source's anon_vma) and copy their page
 * tables (walk.c).  Any failure unmaps whatever was created: the caller's
 * address space is left as it was.
 */
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/userfaultfd_k.h>
#include <linux/shmem_fs.h>
#include <linux/magic.h>
#include <uapi/linux/fcntl.h>
#include "cowdup.h"
#include "compat.h"
#include "walk.h"
#include "refresh.h"

/* A source VMA's part of the range: addresses only, as copy_vma() may
 * reshape the VMA tree between parts. */
struct cowdup_part {
	unsigned long start, end;
};

struct cowdup_request {
	unsigned long src, len, end, dst, flags;
	unsigned int nr_parts;
	struct cowdup_part *parts;
	unsigned long pages;		/* whole range */
	unsigned long data_pages;	/* counted in data_vm */
	unsigned long charge;		/* pages committed (VM_ACCOUNT) */
};

/* mm/internal.h's is_data_mapping(): what counts against RLIMIT_DATA. */
static bool counts_as_data(vm_flags_t flags)
{
	return (flags & (VM_WRITE | VM_SHARED | VM_STACK)) == VM_WRITE;
}

/* Can the module duplicate this VMA?  0 or the contract's errno. */
static int check_source_vma(struct vm_area_struct *vma)
{
	if (vma->vm_flags & (VM_IO | VM_PFNMAP | VM_MIXEDMAP | VM_DONTCOPY))
		return -EINVAL;
	/* vdso, vvar and other special mappings: ops but no file. */
	if (vma->vm_ops && !vma->vm_file)
		return -EINVAL;
	/* Its pages are out of the kernel's direct map, for one mapping. */
	if (KSYM(vma_is_secretmem)(vma))
		return -EINVAL;
	if (is_vm_hugetlb_page(vma) || vma_is_dax(vma))
		return -EOPNOTSUPP;
	return 0;
}

/*
 * Would mmap() refuse a new mapping like this one?  A shared writable view
 * of a write-sealed memfd (F_SEAL_WRITE, F_SEAL_FUTURE_WRITE) is EPERM, as
 * shmem_mmap() says; a writable and executable one under PR_SET_MDWE is
 * EACCES, as mmap() says.
 */
static int check_new_mapping(struct vm_area_struct *vma)
{
	struct inode *inode;

	if (cowdup_mdwe_denies(vma->vm_flags))
		return -EACCES;
	if (!vma->vm_file || (vma->vm_flags & (VM_SHARED | VM_WRITE)) !=
			     (VM_SHARED | VM_WRITE))
		return 0;
	inode = file_inode(vma->vm_file);
	if (inode->i_sb->s_magic == TMPFS_MAGIC &&
	    (SHMEM_I(inode)->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
		return -EPERM;
	return 0;
}

/*
 * Walk the source VMAs: refuse holes and kinds that cannot be duplicated,
 * and record each VMA's part of the range.  Called twice: to count (parts
 * NULL) and to fill.
 */
static int scan_source(struct mm_struct *mm, struct cowdup_request *req)
{
	VMA_ITERATOR(vmi, mm, req->src);
	struct vm_area_struct *vma;
	unsigned long expect = req->src;
	unsigned int n = 0;
	int err;

	req->pages = req->data_pages = req->charge = 0;
	for_each_vma_range(vmi, vma, req->end) {
		unsigned long start = max(vma->vm_start, req->src);
		unsigned long end = min(vma->vm_end, req->end);
		unsigned long pages = (end - start) >> PAGE_SHIFT;

		if (vma->vm_start > expect)
			return -EFAULT;
		err = check_source_vma(vma);
		if (!err)
			err = check_new_mapping(vma);
		if (err)
			return err;
		if (req->parts) {
			req->parts[n].start = start;
			req->parts[n].end = end;
		}
		n++;
		req->pages += pages;
		if (counts_as_data(vma->vm_flags))
			req->data_pages += pages;
		if (vma->vm_flags & VM_ACCOUNT)
			req->charge += pages;
		expect = end;
	}
	if (expect != req->end)
		return -EFAULT;
	req->nr_parts = n;
	return 0;
}

/* Pages mapped in [start, end), all and data, that a fixed dup replaces. */
static void count_replaced(struct mm_struct *mm, unsigned long start,
			   unsigned long end, unsigned long *pages,
			   unsigned long *data_pages)
{
	VMA_ITERATOR(vmi, mm, start);
	struct vm_area_struct *vma;

	*pages = *data_pages = 0;
	for_each_vma_range(vmi, vma, end) {
		unsigned long n = (min(vma->vm_end, end) -
				   max(vma->vm_start, start)) >> PAGE_SHIFT;

		*pages += n;
		if (counts_as_data(vma->vm_flags))
			*data_pages += n;
	}
}

/* RLIMIT_AS, RLIMIT_DATA and vm.max_map_count, as mmap checks them. */
static int check_limits(struct mm_struct *mm, struct cowdup_request *req)
{
	unsigned long gone = 0, gone_data = 0;
	unsigned long as_lim = rlimit(RLIMIT_AS) >> PAGE_SHIFT;
	unsigned long data_lim = rlimit(RLIMIT_DATA) >> PAGE_SHIFT;

	if (mm->map_count + req->nr_parts > *KSYM(sysctl_max_map_count))
		return -ENOMEM;
	if (req->flags & COWDUP_FIXED)
		count_replaced(mm, req->dst, req->dst + req->len, &gone,
			       &gone_data);
	if (mm->total_vm - gone + req->pages > as_lim)
		return -ENOMEM;
	if (req->data_pages &&
	    mm->data_vm - gone_data + req->data_pages > data_lim)
		return -ENOMEM;
	return 0;
}

/*
 * A fixed copy may not replace sealed memory.  Checked over the whole
 * target before anything is unmapped: do_munmap() would find the seal only
 * after splitting the first VMA of the range.
 */
static int check_replaceable(struct mm_struct *mm, unsigned long start,
			     unsigned long end)
{
	VMA_ITERATOR(vmi, mm, start);
	struct vm_area_struct *vma;

	for_each_vma_range(vmi, vma, end)
		if (vma->vm_flags & COWDUP_VM_SEALED)
			return -EPERM;
	return 0;
}

static bool range_is_free(struct mm_struct *mm, unsigned long addr,
			  unsigned long len)
{
	return !find_vma_intersection(mm, addr, addr + len);
}

/*
 * Choose where the copy goes.  Unless placed exactly, the copy is aligned
 * like the source modulo the PMD size, so THPs can be shared by PMD.
 */
static int place_copy(struct mm_struct *mm, struct cowdup_request *req)
{
	unsigned long off = req->src & ~PMD_MASK;
	unsigned long area;

	if (req->flags & COWDUP_FIXED_NOREPLACE)
		return range_is_free(mm, req->dst, req->len) ? 0 : -EEXIST;
	if (req->flags & COWDUP_FIXED)
		return check_replaceable(mm, req->dst, req->dst + req->len);
	if (req->dst && !offset_in_page(req->dst) &&
	    (req->dst & ~PMD_MASK) == off &&
	    req->dst >= *KSYM(mmap_min_addr) &&
	    req->dst <= TASK_SIZE - req->len &&
	    range_is_free(mm, req->dst, req->len))
		return 0;
	if (req->len > TASK_SIZE - PMD_SIZE)
		return -ENOMEM;
	area = cowdup_get_unmapped_area(req->len + PMD_SIZE);
	if (IS_ERR_VALUE(area))
		return (int)area;
	req->dst = area + ((off - area) & ~PMD_MASK);
	return 0;
}

/*
 * Create the copy of one part and copy its page tables.  The source VMA
 * lends the copy its flags without those a child never inherits (mlock,
 * userfaultfd) for the duration of copy_vma(), which derives the new VMA
 * (and any merge) from it.
 */
static int dup_part(struct mm_struct *mm, struct cowdup_part *part,
		    unsigned long dst, unsigned long *charged)
{
	struct vm_area_struct *vma = vma_lookup(mm, part->start);
	struct vm_area_struct *new;
	struct vm_userfaultfd_ctx uctx;
	unsigned long len = part->end - part->start;
	vm_flags_t flags;
	bool need_rmap_locks;
	pgoff_t pgoff;

	if (WARN_ON_ONCE(!vma || vma->vm_end < part->end))
		return -EFAULT;
	flags = vma->vm_flags;
	uctx = vma->vm_userfaultfd_ctx;
	pgoff = vma->vm_pgoff + ((part->start - vma->vm_start) >> PAGE_SHIFT);

	if (flags & COWDUP_VM_NOT_INHERITED) {
		cowdup_vma_set_flags(vma, flags & ~COWDUP_VM_NOT_INHERITED);
		vma->vm_userfaultfd_ctx = NULL_VM_UFFD_CTX;
	}
	new = KSYM(copy_vma)(&vma, dst, len, pgoff, &need_rmap_locks, true);
	if (flags & COWDUP_VM_NOT_INHERITED) {
		cowdup_vma_set_flags(vma, flags);
		vma->vm_userfaultfd_ctx = uctx;
	}
	if (!new)
		return -ENOMEM;
	cowdup_vma_start_write(new);
	KSYM(vm_stat_account)(mm, new->vm_flags, len >> PAGE_SHIFT);
	/* The new VMA holds this part's commit charge: munmap returns it. */
	if (new->vm_flags & VM_ACCOUNT)
		*charged -= len >> PAGE_SHIFT;

	/*
	 * As fork: without an anon_vma (all shared mappings, untouched
	 * private ones) faults fill the copy from the file or with zeroes;
	 * MADV_WIPEONFORK memory reads zeroes in the copy.
	 */
	if (!vma->anon_vma || (flags & VM_WIPEONFORK))
		return 0;
	return cowdup_copy_range(vma, part->start, part->end, dst);
}

/* Undo a failed copy: nothing of it stays mapped. */
static void unmap_failed_copy(struct mm_struct *mm, struct cowdup_request *req)
{
	if (KSYM(do_munmap)(mm, req->dst, req->len, NULL))
		pr_warn_ratelimited("cowdup: could not unmap a failed copy at %#lx\n",
				    req->dst);
}

/*
 * A fixed copy over what already maps like a copy of each part (a restore
 * of a snapshot): only the entries that differ are replaced (refresh.c).
 * No VMA changes, so no limit or charge moves.  An error leaves the target
 * unmapped, as the replacing path leaves it.
 */
static bool can_refresh(struct mm_struct *mm, struct cowdup_request *req)
{
	unsigned long dst = req->dst;
	unsigned int i;

	for (i = 0; i < req->nr_parts; i++) {
		struct cowdup_part *part = &req->parts[i];

		if (!cowdup_can_refresh(mm, part->start, part->end, dst))
			return false;
		dst += part->end - part->start;
	}
	return true;
}

static int refresh_locked(struct mm_struct *mm, struct cowdup_request *req)
{
	unsigned long dst = req->dst;
	unsigned int i;
	int err;

	for (i = 0; i < req->nr_parts; i++) {
		struct cowdup_part *part = &req->parts[i];

		err = cowdup_refresh_part(mm, part->start, part->end, dst);
		if (err) {
			unmap_failed_copy(mm, req);
			return err;
		}
		dst += part->end - part->start;
	}
	return 0;
}

static int dup_locked(struct mm_struct *mm, struct cowdup_request *req)
{
	unsigned long dst_addr, charged;
	unsigned int i;
	int err;

	err = scan_source(mm, req);
	if (err)
		return err;
	req->parts = kcalloc(req->nr_parts, sizeof(*req->parts), GFP_KERNEL);
	if (!req->parts)
		return -ENOMEM;
	err = scan_source(mm, req);
	if (err)
		return err;
	err = place_copy(mm, req);
	if (err)
		return err;
	if ((req->flags & COWDUP_FIXED) && can_refresh(mm, req))
		return refresh_locked(mm, req);
	err = check_limits(mm, req);
	if (err)
		return err;
	/* Overcommit accounting, as fork charges a child's VM_ACCOUNT VMAs. */
	if (req->charge && KSYM(security_vm_enough_memory_mm)(mm, req->charge))
		return -ENOMEM;
	charged = req->charge;

	if (req->flags & COWDUP_FIXED) {
		/* Under the same mmap_lock: no other thread sees a gap. */
		err = KSYM(do_munmap)(mm, req->dst, req->len, NULL);
		if (err)
			goto unaccount;
	}

	/* Write-lock the sources against per-VMA-lock faults, as fork does. */
	for (i = 0; i < req->nr_parts; i++)
		cowdup_vma_start_write(vma_lookup(mm, req->parts[i].start));

	dst_addr = req->dst;
	for (i = 0; i < req->nr_parts; i++) {
		struct cowdup_part *part = &req->parts[i];

		err = dup_part(mm, part, dst_addr, &charged);
		if (err)
			goto unmap;
		dst_addr += part->end - part->start;
	}
	return 0;

unmap:
	unmap_failed_copy(mm, req);
unaccount:
	if (charged)
		cowdup_vm_unacct_memory(charged);
	return err;
}

int cowdup_dup(struct cowdup_dup_args *args)
{
	struct mm_struct *mm = current->mm;
	struct cowdup_request req = { .flags = args->flags };
	u64 placement = args->flags & (COWDUP_FIXED | COWDUP_FIXED_NOREPLACE);
	int err;

	if (args->flags & ~(u64)COWDUP_SUPPORTED_DUP_FLAGS)
		return -EINVAL;
	if (placement == (COWDUP_FIXED | COWDUP_FIXED_NOREPLACE))
		return -EINVAL;
	if (!args->len || args->len > TASK_SIZE || offset_in_page(args->src))
		return -EINVAL;
	req.len = PAGE_ALIGN(args->len);
	if (args->src > TASK_SIZE - req.len)
		return -EINVAL;
	req.src = args->src;
	req.end = req.src + req.len;
	req.dst = args->dst;
	if (placement) {
		if (offset_in_page(args->dst) || args->dst > TASK_SIZE - req.len)
			return -EINVAL;
		if (req.dst < req.end && req.src < req.dst + req.len)
			return -EINVAL;
		if (req.dst < *KSYM(mmap_min_addr))
			return -EPERM;
	}
	if (!mm)
		return -EINVAL;

	if (mmap_write_lock_killable(mm))
		return -EINTR;
	err = dup_locked(mm, &req);
	mmap_write_unlock(mm);
	kfree(req.parts);
	if (!err)
		args->dst = req.dst;
	return err;
}
