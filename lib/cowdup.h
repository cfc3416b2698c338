/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libcowdup: copy-on-write duplication of a range of the caller's own memory.
 *
 * A thin wrapper around the ioctls of /dev/cowdup (<linux/cowdup.h>).  The
 * calls behave like mmap(2) and friends: on failure they return MAP_FAILED or
 * -1 and set errno; they never print and never abort.  The device is opened
 * on first use, once per process, with O_CLOEXEC.
 *
 * Link with -lcowdup (pkg-config: cowdup).
 */
#ifndef COWDUP_H
#define COWDUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>		/* MAP_FAILED */
#include <linux/cowdup.h>	/* COWDUP_FIXED*, COWDUP_PAGE_*, struct cowdup_info */

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Page counts of a range, one count per state (the COWDUP_PAGE_HUGE bit is
 * ignored); see cowdup_stat().
 */
struct cowdup_stat {
	uint64_t nr_none;	/* COWDUP_PAGE_NONE: nothing mapped */
	uint64_t nr_zero;	/* COWDUP_PAGE_ZERO: the shared zero page */
	uint64_t nr_shared;	/* COWDUP_PAGE_SHARED: anonymous, mapped more than once */
	uint64_t nr_exclusive;	/* COWDUP_PAGE_EXCLUSIVE: anonymous, mapped once */
	uint64_t nr_file;	/* COWDUP_PAGE_FILE: page cache or shmem */
	uint64_t nr_swap;	/* COWDUP_PAGE_SWAP: swapped out */
};

/*
 * cowdup - duplicate [src, src + len) copy-on-write, as fork() would.
 * @src:   page-aligned start of the source range (no holes)
 * @len:   bytes, > 0, rounded up to whole pages
 * @dst:   NULL, an address hint, or the exact address with a placement flag
 * @flags: 0, COWDUP_FIXED (replace what is mapped at @dst, like MAP_FIXED)
 *         or COWDUP_FIXED_NOREPLACE (fail with EEXIST if anything is there)
 *
 * Returns the start of the copy, or MAP_FAILED with errno set (EINVAL,
 * EFAULT, ENOMEM, EEXIST, EPERM, EINTR from the kernel; the errno of the
 * failed open of /dev/cowdup, e.g. ENOENT, when the device is unavailable).
 */
void *cowdup(void *src, size_t len, void *dst, unsigned int flags);

/*
 * cowdup_restore - make @live read exactly what @snapshot reads now.
 *
 * A COWDUP_FIXED duplication of [snapshot, snapshot + len) over live: what
 * was mapped at @live is replaced atomically; both ranges stay independent
 * afterwards.  Returns 0, or -1 with errno set (as cowdup(); overlapping
 * ranges or @len 0 are EINVAL, decided by the kernel).
 */
int cowdup_restore(void *live, const void *snapshot, size_t len);

/*
 * cowdup_pagestate - page states of [addr, addr + len), like mincore(2).
 *
 * Writes one byte per page into @vec: a COWDUP_PAGE_* state, or-ed with
 * COWDUP_PAGE_HUGE for pages of a large folio.  @vec must hold
 * (len + pagesize - 1) / pagesize bytes and may not be NULL (EFAULT; use
 * cowdup_stat() for counts only).  Holes in the range are COWDUP_PAGE_NONE.
 * Returns 0, or -1 with errno set (EINVAL, EFAULT, or the open errno).
 */
int cowdup_pagestate(const void *addr, size_t len, unsigned char *vec);

/*
 * cowdup_stat - count the pages of [addr, addr + len) by state.
 *
 * Fills @st with the tally cowdup_pagestate() would give.  @st is written
 * only on success.  Returns 0, or -1 with errno set (EINVAL, EFAULT for a
 * NULL @st, or the open errno).
 */
int cowdup_stat(const void *addr, size_t len, struct cowdup_stat *st);

/*
 * cowdup_info - what the loaded module supports.
 *
 * The library sets info->size itself (to sizeof(struct cowdup_info)); on
 * success it fills @info (api_version, dup_flags, features) and returns 0.
 * On failure returns -1 with errno set and leaves @info untouched.
 */
int cowdup_info(struct cowdup_info *info);

/*
 * cowdup_available - whether /dev/cowdup can be used by this process.
 *
 * Returns 1 if the device is (or can now be) opened, else 0.  Never changes
 * errno.  A failed open is not cached: a module loaded later is found by the
 * next call.
 */
int cowdup_available(void);

#ifdef __cplusplus
}
#endif

#endif /* COWDUP_H */
