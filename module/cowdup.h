/* SPDX-License-Identifier: GPL-2.0 */
/* Declarations shared by the parts of the cowdup module. */
#ifndef COWDUP_INTERNAL_H
#define COWDUP_INTERNAL_H

#include <linux/types.h>
#include <linux/cowdup.h>

struct mm_struct;

/* Features this build supports; reported by COWDUP_IOC_INFO. */
#define COWDUP_SUPPORTED_FEATURES	(COWDUP_FEAT_DUP_ANON | COWDUP_FEAT_DUP_FILE | \
					 COWDUP_FEAT_DUP_SHARED | COWDUP_FEAT_THP_PMD | \
					 COWDUP_FEAT_QUERY)
#define COWDUP_SUPPORTED_DUP_FLAGS	(COWDUP_FIXED | COWDUP_FIXED_NOREPLACE)

/*
 * VMA flags a copy never inherits: mlock and userfaultfd, as a forked child
 * does not; a seal, which protects the source's range, not a new one.
 * (COWDUP_VM_SEALED is in compat.h.)
 */
#define COWDUP_VM_NOT_INHERITED	\
	(VM_LOCKED | VM_LOCKONFAULT | __VM_UFFD_FLAGS | COWDUP_VM_SEALED)

/* ioctl.c */
long cowdup_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

/* dup.c: COWDUP_IOC_DUP on current->mm; updates args->dst on success. */
int cowdup_dup(struct cowdup_dup_args *args);

/* query.c: COWDUP_IOC_QUERY on current->mm; fills the counts of @args. */
int cowdup_query(struct cowdup_query_args *args);

#endif /* COWDUP_INTERNAL_H */
