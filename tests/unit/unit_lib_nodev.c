// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * unit-lib-nodev: libcowdup when /dev/cowdup does not exist.
 *
 * Every call must fail with the errno of the failed open (ENOENT), leave its
 * arguments untouched, print nothing and leak no descriptor;
 * cowdup_available() returns 0 without touching errno.  The failure is not
 * cached: each call tries the open again.
 *
 * If the node exists, prints "1..0 # SKIP device present" and exits 4
 * (kselftest's skip status).
 */
#include "unit_util.h"

#include <sys/mman.h>
#include <sys/resource.h>

static long pgsz;

static void *map_pattern(size_t len, int byte)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_msg(p != MAP_FAILED, "mmap: %s", strerror(errno));
	memset(p, byte, len);
	return p;
}

static int all_bytes(const void *p, size_t len, int byte)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < len; i++)
		if (c[i] != (unsigned char)byte)
			return 0;
	return 1;
}

START_TEST(test_available_zero_errno_kept)
{
	for (int i = 0; i < 3; i++) {
		errno = ERRNO_SENTINEL;
		ck_assert_int_eq(cowdup_available(), 0);
		ck_assert_int_eq(errno, ERRNO_SENTINEL);
	}
	errno = 0;
	ck_assert_int_eq(cowdup_available(), 0);
	ck_assert_int_eq(errno, 0);
}
END_TEST

START_TEST(test_cowdup_enoent)
{
	static const unsigned int flags[] = {
		0, COWDUP_FIXED, COWDUP_FIXED_NOREPLACE,
	};
	char *src = map_pattern(2 * pgsz, 0x5a);
	char *dst = map_pattern(2 * pgsz, 0xc3);

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		errno = 0;
		ck_assert_ptr_eq(cowdup(src, 2 * pgsz, dst, flags[i]), MAP_FAILED);
		ck_assert_int_eq(errno, ENOENT);
	}
	errno = 0;
	ck_assert_ptr_eq(cowdup(src, 2 * pgsz, NULL, 0), MAP_FAILED);
	ck_assert_int_eq(errno, ENOENT);
	/* Arguments the kernel would refuse: the open still comes first. */
	errno = 0;
	ck_assert_ptr_eq(cowdup(NULL, 0, NULL, ~0u), MAP_FAILED);
	ck_assert_int_eq(errno, ENOENT);

	ck_assert(all_bytes(src, 2 * pgsz, 0x5a));
	ck_assert(all_bytes(dst, 2 * pgsz, 0xc3));
}
END_TEST

START_TEST(test_restore_enoent)
{
	char *live = map_pattern(pgsz, 0x11);
	char *snap = map_pattern(pgsz, 0x22);

	errno = 0;
	ck_assert_int_eq(cowdup_restore(live, snap, pgsz), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert(all_bytes(live, pgsz, 0x11));
	ck_assert(all_bytes(snap, pgsz, 0x22));
}
END_TEST

START_TEST(test_pagestate_enoent)
{
	char *p = map_pattern(4 * pgsz, 0x33);
	unsigned char vec[8];

	memset(vec, 0xa5, sizeof(vec));
	errno = 0;
	ck_assert_int_eq(cowdup_pagestate(p, 4 * pgsz, vec), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert(all_bytes(vec, sizeof(vec), 0xa5));

	/* The device's errno comes before the library's own NULL check. */
	errno = 0;
	ck_assert_int_eq(cowdup_pagestate(p, 4 * pgsz, NULL), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_stat_enoent)
{
	char *p = map_pattern(pgsz, 0x44);
	struct cowdup_stat st;

	memset(&st, 0xa5, sizeof(st));
	errno = 0;
	ck_assert_int_eq(cowdup_stat(p, pgsz, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert(all_bytes(&st, sizeof(st), 0xa5));

	errno = 0;
	ck_assert_int_eq(cowdup_stat(p, pgsz, NULL), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

/* On failure cowdup_info() leaves *info wholly untouched, size included. */
START_TEST(test_info_enoent_untouched)
{
	struct cowdup_info info;

	memset(&info, 0xa5, sizeof(info));
	errno = 0;
	ck_assert_int_eq(cowdup_info(&info), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert(all_bytes(&info, sizeof(info), 0xa5));

	errno = 0;
	ck_assert_int_eq(cowdup_info(NULL), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

static int capture_begin(int saved[2], int pipefd[2])
{
	fflush(stdout);
	fflush(stderr);
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	saved[0] = dup(STDOUT_FILENO);
	saved[1] = dup(STDERR_FILENO);
	if (saved[0] < 0 || saved[1] < 0)
		return -1;
	if (dup2(pipefd[1], STDOUT_FILENO) < 0 ||
	    dup2(pipefd[1], STDERR_FILENO) < 0)
		return -1;
	return 0;
}

/* Restores stdout/stderr; returns the number of bytes written meanwhile. */
static ssize_t capture_end(int saved[2], int pipefd[2], char *buf, size_t len)
{
	ssize_t n, total = 0;

	fflush(stdout);
	fflush(stderr);
	dup2(saved[0], STDOUT_FILENO);
	dup2(saved[1], STDERR_FILENO);
	close(saved[0]);
	close(saved[1]);
	close(pipefd[1]);
	while ((n = read(pipefd[0], buf + total, len - 1 - total)) > 0)
		total += n;
	buf[total] = '\0';
	close(pipefd[0]);
	return total;
}

START_TEST(test_silent)
{
	char *p = map_pattern(pgsz, 0x55);
	struct cowdup_info info;
	struct cowdup_stat st;
	unsigned char vec[1];
	int saved[2], pipefd[2];
	char buf[4096];
	ssize_t n;

	ck_assert_int_eq(capture_begin(saved, pipefd), 0);
	(void)cowdup_available();
	(void)cowdup(p, pgsz, NULL, 0);
	(void)cowdup(NULL, 0, NULL, ~0u);
	(void)cowdup_restore(p, p, pgsz);
	(void)cowdup_pagestate(p, pgsz, vec);
	(void)cowdup_pagestate(p, pgsz, NULL);
	(void)cowdup_stat(p, pgsz, &st);
	(void)cowdup_stat(p, pgsz, NULL);
	(void)cowdup_info(&info);
	(void)cowdup_info(NULL);
	n = capture_end(saved, pipefd, buf, sizeof(buf));
	ck_assert_msg(n == 0, "library wrote %zd bytes: %s", n, buf);
}
END_TEST

static int count_fds(void)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir("/proc/self/fd");

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

START_TEST(test_no_fd_leak)
{
	struct cowdup_info info;
	int before = count_fds();

	for (int i = 0; i < 200; i++) {
		ck_assert_int_eq(cowdup_available(), 0);
		ck_assert_int_eq(cowdup_info(&info), -1);
	}
	ck_assert_int_eq(count_fds(), before);
	ck_assert_int_eq(count_cowdup_fds(NULL), 0);
}
END_TEST

/*
 * The open is retried on every call and its current errno reported: with no
 * descriptor left the open fails with EMFILE, and once the limit is back it
 * is ENOENT again.
 */
static int retry_child(void)
{
	struct rlimit rl, low;
	struct cowdup_info info;
	int fd;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 10;
	errno = 0;
	if (cowdup_info(&info) != -1 || errno != ENOENT)
		return 11;
	/* Lower the limit to the lowest free descriptor: no new fd fits. */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 12;
	close(fd);
	low = rl;
	low.rlim_cur = fd;
	if (setrlimit(RLIMIT_NOFILE, &low) < 0)
		return 13;
	errno = 0;
	if (cowdup_info(&info) != -1 || errno != EMFILE)
		return 14;
	if (cowdup_available() != 0)
		return 15;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 16;
	errno = 0;
	if (cowdup_info(&info) != -1 || errno != ENOENT)
		return 17;
	return 0;
}

START_TEST(test_failure_not_cached)
{
	ck_assert_int_eq(run_in_child(retry_child), 0);
}
END_TEST

/* A forked child sees the same absent device and the same errno. */
static int fork_child(void)
{
	errno = ERRNO_SENTINEL;
	if (cowdup_available() != 0 || errno != ERRNO_SENTINEL)
		return 20;
	errno = 0;
	if (cowdup_info(&(struct cowdup_info){0}) != -1 || errno != ENOENT)
		return 21;
	return 0;
}

START_TEST(test_fork_child)
{
	ck_assert_int_eq(cowdup_available(), 0);
	ck_assert_int_eq(run_in_child(fork_child), 0);
}
END_TEST

static Suite *nodev_suite(void)
{
	Suite *s = suite_create("lib-nodev");
	TCase *tc = tcase_create("absent");

	tcase_add_test(tc, test_available_zero_errno_kept);
	tcase_add_test(tc, test_cowdup_enoent);
	tcase_add_test(tc, test_restore_enoent);
	tcase_add_test(tc, test_pagestate_enoent);
	tcase_add_test(tc, test_stat_enoent);
	tcase_add_test(tc, test_info_enoent_untouched);
	tcase_add_test(tc, test_silent);
	tcase_add_test(tc, test_no_fd_leak);
	tcase_add_test(tc, test_failure_not_cached);
	tcase_add_test(tc, test_fork_child);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (device_present()) {
		printf("1..0 # SKIP device present (%s)\n", COWDUP_DEVICE_PATH);
		return EXIT_SKIP;
	}
	pgsz = sysconf(_SC_PAGESIZE);
	return run_suite_tap(nodev_suite());
}
