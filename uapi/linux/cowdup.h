/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * cowdup: copy-on-write duplication of a range of the caller's own memory.
 *
 * Every ioctl acts on the calling process's address space (current->mm).
 * Each argument struct starts with __u64 size, the caller's sizeof(): the
 * module accepts any size from the first published one up, as long as bytes
 * it does not know are zero, and writes output only up to that size.
 */
#ifndef _UAPI_LINUX_COWDUP_H
#define _UAPI_LINUX_COWDUP_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define COWDUP_DEVICE_NAME	"cowdup"
#define COWDUP_DEVICE_PATH	"/dev/cowdup"

/* Bumped when the ABI gains something; never reset. */
#define COWDUP_API_VERSION	1

/* COWDUP_IOC_INFO: what this module supports. */
struct cowdup_info {
	__u64 size;		/* in: sizeof(struct cowdup_info) */
	__u64 api_version;	/* out: COWDUP_API_VERSION of the module */
	__u64 dup_flags;	/* out: mask of COWDUP_* flags DUP accepts */
	__u64 features;		/* out: mask of COWDUP_FEAT_* */
};
#define COWDUP_INFO_SIZE_VER0	32

/* Feature bits in cowdup_info.features. */
#define COWDUP_FEAT_DUP_ANON	(1ULL << 0)  /* private anonymous memory */
#define COWDUP_FEAT_DUP_FILE	(1ULL << 1)  /* private file-backed memory */
#define COWDUP_FEAT_DUP_SHARED	(1ULL << 2)  /* shared memory: second view */
#define COWDUP_FEAT_HUGETLB	(1ULL << 3)  /* hugetlb mappings */
#define COWDUP_FEAT_THP_PMD	(1ULL << 4)  /* THP shared at PMD level */
#define COWDUP_FEAT_QUERY	(1ULL << 5)  /* COWDUP_IOC_QUERY */

/* COWDUP_IOC_DUP: duplicate [src, src + len) copy-on-write. */
struct cowdup_dup_args {
	__u64 size;		/* in: sizeof(struct cowdup_dup_args) */
	__u64 src;		/* in: page-aligned start of the source */
	__u64 len;		/* in: bytes, > 0, rounded up to pages */
	__u64 dst;		/* in: hint or exact address; out: the copy */
	__u64 flags;		/* in: COWDUP_FIXED* */
};
#define COWDUP_DUP_SIZE_VER0	40

/* Placement flags for cowdup_dup_args.flags (at most one). */
#define COWDUP_FIXED		(1ULL << 0)  /* exactly dst, replacing (MAP_FIXED) */
#define COWDUP_FIXED_NOREPLACE	(1ULL << 1)  /* exactly dst, EEXIST if taken */

/* COWDUP_IOC_QUERY: page states of [addr, addr + len). */
struct cowdup_query_args {
	__u64 size;		/* in: sizeof(struct cowdup_query_args) */
	__u64 addr;		/* in: page-aligned start */
	__u64 len;		/* in: bytes, > 0, rounded up to pages */
	__u64 vec;		/* in: user pointer, one byte per page, or 0 */
	__u64 flags;		/* in: must be 0 */
	__u64 nr_none;		/* out: counts per state (HUGE bit ignored) */
	__u64 nr_zero;
	__u64 nr_shared;
	__u64 nr_exclusive;
	__u64 nr_file;
	__u64 nr_swap;
};
#define COWDUP_QUERY_SIZE_VER0	88

/* Page states written to the query vector. */
#define COWDUP_PAGE_NONE	0x00  /* nothing mapped */
#define COWDUP_PAGE_ZERO	0x01  /* the shared zero page */
#define COWDUP_PAGE_SHARED	0x02  /* anonymous, mapped more than once */
#define COWDUP_PAGE_EXCLUSIVE	0x03  /* anonymous, mapped exactly once */
#define COWDUP_PAGE_FILE	0x04  /* page cache or shmem */
#define COWDUP_PAGE_SWAP	0x05  /* swapped out */
#define COWDUP_PAGE_STATE_MASK	0x0f
#define COWDUP_PAGE_HUGE	0x80  /* part of a large folio or hugetlb page */

#define COWDUP_IOC_MAGIC	0xCD
#define COWDUP_IOC_INFO		_IOWR(COWDUP_IOC_MAGIC, 0x00, struct cowdup_info)
#define COWDUP_IOC_DUP		_IOWR(COWDUP_IOC_MAGIC, 0x01, struct cowdup_dup_args)
#define COWDUP_IOC_QUERY	_IOWR(COWDUP_IOC_MAGIC, 0x02, struct cowdup_query_args)

#endif /* _UAPI_LINUX_COWDUP_H */
