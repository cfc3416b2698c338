// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Host-only stand-in for the module, for unit-lib-fake: linked with
 * -Wl,--wrap=ioctl, it answers COWDUP_IOC_INFO on a descriptor of
 * /dev/cowdup as the foundation module does (after a short sleep, to widen
 * the first-open race window) and passes every other ioctl through.
 *
 * `make unit-fake-check` runs unit-lib-fake in a private mount namespace
 * whose /dev is a tmpfs holding /dev/cowdup as a copy of /dev/null, so the
 * library's open/fork/thread/O_CLOEXEC behaviour is tested on a host that
 * cannot load the module.  Never installed, never copied into the guest.
 */
#include <linux/cowdup.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int __real_ioctl(int fd, unsigned long req, void *arg);
int __wrap_ioctl(int fd, unsigned long req, void *arg);

static int is_cowdup_fd(int fd)
{
	char link[64], target[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return 0;
	target[n] = '\0';
	return strcmp(target, COWDUP_DEVICE_PATH) == 0;
}

int __wrap_ioctl(int fd, unsigned long req, void *arg)
{
	struct timespec ms = { .tv_sec = 0, .tv_nsec = 1000000 };
	struct cowdup_info *info = arg;

	if (req != COWDUP_IOC_INFO || !is_cowdup_fd(fd))
		return __real_ioctl(fd, req, arg);
	if (info->size < COWDUP_INFO_SIZE_VER0) {
		errno = EINVAL;
		return -1;
	}
	nanosleep(&ms, NULL);
	info->api_version = COWDUP_API_VERSION;
	info->dup_flags = COWDUP_FIXED | COWDUP_FIXED_NOREPLACE;
	info->features = 0;
	return 0;
}
