// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libcowdup: thin user-space wrapper around the /dev/cowdup ioctls.
 *
 * Device handling
 *   /dev/cowdup is opened on the first call that needs it, with
 *   O_RDWR | O_CLOEXEC, and the descriptor is kept for the life of the
 *   process.  The open is made lock-free: every thread that finds no
 *   descriptor opens one and tries to publish it with a compare-and-swap;
 *   losers close theirs and use the winner's.  So concurrent first calls all
 *   succeed and leave exactly one descriptor, and nothing can deadlock in a
 *   child forked while another thread was half-way through the first open
 *   (no lock is held at any time).  A child after fork() inherits the
 *   descriptor and keeps using it: every ioctl acts on current->mm, i.e. on
 *   the calling process, and the open file holds no state about memory.
 *
 *   A failed open is NOT cached: the call fails with the open's errno
 *   (ENOENT when the node is absent, ENODEV/ENXIO when the driver is gone,
 *   EACCES, EMFILE, ...) and the next call tries again, so a module loaded
 *   later is picked up without restarting the process.  The price is one
 *   failing open(2) per call while the device is missing.
 *
 * Everything else is passed through to the kernel, which does all argument
 * checking; the library only turns pointers into __u64 and back.  Failures
 * return MAP_FAILED or -1 with errno set; nothing is printed, nothing aborts.
 */
#include "cowdup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define COWDUP_EXPORT __attribute__((visibility("default")))

static _Atomic int cowdup_fd = -1;

/* The process-wide device descriptor, or -1 with errno from open(2). */
static int cowdup_get_fd(void)
{
	int fd = atomic_load_explicit(&cowdup_fd, memory_order_acquire);
	int expected = -1;

	if (fd >= 0)
		return fd;

	fd = open(COWDUP_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;

	if (!atomic_compare_exchange_strong_explicit(&cowdup_fd, &expected, fd,
						     memory_order_acq_rel,
						     memory_order_acquire)) {
		/* Another thread won the race: use its descriptor. */
		int saved = errno;

		close(fd);
		errno = saved;
		return expected;
	}
	return fd;
}

static inline __u64 ptr_to_u64(const void *p)
{
	return (__u64)(uintptr_t)p;
}

static int cowdup_do_dup(const void *src, size_t len, void *dst,
			 unsigned int flags, void **out)
{
	struct cowdup_dup_args args;
	int fd = cowdup_get_fd();

	if (fd < 0)
		return -1;

	memset(&args, 0, sizeof(args));
	args.size = sizeof(args);
	args.src = ptr_to_u64(src);
	args.len = len;
	args.dst = ptr_to_u64(dst);
	args.flags = flags;

	if (ioctl(fd, COWDUP_IOC_DUP, &args) < 0)
		return -1;

	*out = (void *)(uintptr_t)args.dst;
	return 0;
}

COWDUP_EXPORT
void *cowdup(void *src, size_t len, void *dst, unsigned int flags)
{
	void *out;

	if (cowdup_do_dup(src, len, dst, flags, &out) < 0)
		return MAP_FAILED;
	return out;
}

COWDUP_EXPORT
int cowdup_restore(void *live, const void *snapshot, size_t len)
{
	void *out;

	/* len 0, overlap and alignment are the kernel's to refuse (EINVAL). */
	return cowdup_do_dup(snapshot, len, live, COWDUP_FIXED, &out);
}

static int cowdup_do_query(const void *addr, size_t len, unsigned char *vec,
			   struct cowdup_query_args *args)
{
	int fd = cowdup_get_fd();

	if (fd < 0)
		return -1;

	memset(args, 0, sizeof(*args));
	args->size = sizeof(*args);
	args->addr = ptr_to_u64(addr);
	args->len = len;
	args->vec = ptr_to_u64(vec);
	args->flags = 0;

	return ioctl(fd, COWDUP_IOC_QUERY, args) < 0 ? -1 : 0;
}

COWDUP_EXPORT
int cowdup_pagestate(const void *addr, size_t len, unsigned char *vec)
{
	struct cowdup_query_args args;

	/*
	 * The kernel takes vec == 0 as "counts only"; mincore(2) callers expect
	 * a NULL vector to be refused, and cowdup_stat() is the counts call.
	 * Checked after the device so that an absent device gives its errno
	 * on every call.
	 */
	if (cowdup_get_fd() < 0)
		return -1;
	if (!vec) {
		errno = EFAULT;
		return -1;
	}
	return cowdup_do_query(addr, len, vec, &args);
}

COWDUP_EXPORT
int cowdup_stat(const void *addr, size_t len, struct cowdup_stat *st)
{
	struct cowdup_query_args args;

	if (cowdup_get_fd() < 0)
		return -1;
	if (!st) {
		errno = EFAULT;
		return -1;
	}
	if (cowdup_do_query(addr, len, NULL, &args) < 0)
		return -1;

	st->nr_none = args.nr_none;
	st->nr_zero = args.nr_zero;
	st->nr_shared = args.nr_shared;
	st->nr_exclusive = args.nr_exclusive;
	st->nr_file = args.nr_file;
	st->nr_swap = args.nr_swap;
	return 0;
}

COWDUP_EXPORT
int cowdup_info(struct cowdup_info *info)
{
	struct cowdup_info tmp;
	int fd = cowdup_get_fd();

	if (fd < 0)
		return -1;
	if (!info) {
		errno = EFAULT;
		return -1;
	}

	/* Work on a copy so that *info is untouched on failure. */
	memset(&tmp, 0, sizeof(tmp));
	tmp.size = sizeof(tmp);
	if (ioctl(fd, COWDUP_IOC_INFO, &tmp) < 0)
		return -1;

	*info = tmp;
	return 0;
}

COWDUP_EXPORT
int cowdup_available(void)
{
	int saved = errno;
	int ok = cowdup_get_fd() >= 0;

	errno = saved;
	return ok;
}
