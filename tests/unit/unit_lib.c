// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * unit-lib: libcowdup with /dev/cowdup present (inside the test VM).
 *
 * Only what the library itself promises plus the foundation ioctl
 * (COWDUP_IOC_INFO): availability without touching errno, info fields, one
 * O_CLOEXEC descriptor per process even when 16 threads race for the first
 * open, and working calls in a child after fork().  Duplication and query
 * semantics are the kselftests' business.
 *
 * Tests that need a process in which the library has not opened the device
 * yet re-execute this program (/proc/self/exe --child NAME), so they hold
 * with CK_FORK=no too.
 *
 * If the node does not exist, prints "1..0 # SKIP no /dev/cowdup" and exits
 * 4 (kselftest's skip status).
 */
#include "unit_util.h"

#include <pthread.h>

#define NR_RACERS	16
#define NR_ROUNDS	20

static int info_ok(const struct cowdup_info *info)
{
	return info->size == sizeof(*info) &&
	       info->api_version == COWDUP_API_VERSION &&
	       info->dup_flags == (COWDUP_FIXED | COWDUP_FIXED_NOREPLACE);
}

/* Returns 0 if the process holds exactly one device fd, with O_CLOEXEC. */
static int one_cloexec_fd(void)
{
	int fd = -1, flags;

	if (count_cowdup_fds(&fd) != 1)
		return 1;
	flags = fcntl(fd, F_GETFD);
	if (flags < 0 || !(flags & FD_CLOEXEC))
		return 2;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || (flags & O_ACCMODE) != O_RDWR)
		return 3;
	return 0;
}

static int available_child(void)
{
	if (count_cowdup_fds(NULL) != 0)
		return 30;		/* not a fresh process */
	for (int i = 0; i < 3; i++) {
		errno = ERRNO_SENTINEL;
		if (cowdup_available() != 1)
			return 31;
		if (errno != ERRNO_SENTINEL)
			return 32;
	}
	errno = 0;
	if (cowdup_available() != 1 || errno != 0)
		return 33;
	return one_cloexec_fd() ? 34 : 0;
}

/* Runs a child role in a freshly exec'ed copy of this program. */
static const char *fresh_role;

static int exec_role(void)
{
	execl("/proc/self/exe", "unit-lib", "--child", fresh_role, (char *)NULL);
	return 127;
}

static int run_fresh(const char *role)
{
	fresh_role = role;
	return run_in_child(exec_role);
}

START_TEST(test_available_errno_kept)
{
	ck_assert_int_eq(run_fresh("available"), 0);
}
END_TEST

START_TEST(test_info_fields)
{
	struct cowdup_info info;

	memset(&info, 0xa5, sizeof(info));
	errno = 0;
	ck_assert_int_eq(cowdup_info(&info), 0);
	ck_assert_uint_eq(info.size, sizeof(info));
	ck_assert_uint_eq(info.api_version, COWDUP_API_VERSION);
	ck_assert_uint_eq(info.dup_flags, COWDUP_FIXED | COWDUP_FIXED_NOREPLACE);
}
END_TEST

/* Library-level argument checks with the device present. */
START_TEST(test_null_args_efault)
{
	long pgsz = sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, pgsz, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	errno = 0;
	ck_assert_int_eq(cowdup_info(NULL), -1);
	ck_assert_int_eq(errno, EFAULT);
	errno = 0;
	ck_assert_int_eq(cowdup_stat(p, pgsz, NULL), -1);
	ck_assert_int_eq(errno, EFAULT);
	errno = 0;
	ck_assert_int_eq(cowdup_pagestate(p, pgsz, NULL), -1);
	ck_assert_int_eq(errno, EFAULT);
	munmap(p, pgsz);
}
END_TEST

START_TEST(test_one_cloexec_fd)
{
	struct cowdup_info info;

	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(cowdup_info(&info), 0);
	ck_assert_int_eq(cowdup_available(), 1);
	ck_assert_int_eq(one_cloexec_fd(), 0);
}
END_TEST

/* Child of a parent that already opened the device: inherited fd works. */
static int inherited_child(void)
{
	struct cowdup_info info;

	if (count_cowdup_fds(NULL) != 1)
		return 40;
	errno = ERRNO_SENTINEL;
	if (cowdup_available() != 1 || errno != ERRNO_SENTINEL)
		return 41;
	if (cowdup_info(&info) != 0 || !info_ok(&info))
		return 42;
	return one_cloexec_fd() ? 43 : 0;
}

static int fork_after_open_child(void)
{
	struct cowdup_info info;

	if (cowdup_info(&info) != 0 || !info_ok(&info))
		return 44;
	return run_in_child(inherited_child);
}

START_TEST(test_fork_after_open)
{
	ck_assert_int_eq(run_fresh("fork-after-open"), 0);
}
END_TEST

/* Child forked before any open: it opens its own, exactly one. */
static int fresh_child(void)
{
	struct cowdup_info info;

	if (count_cowdup_fds(NULL) != 0)
		return 50;
	if (cowdup_info(&info) != 0 || !info_ok(&info))
		return 51;
	return one_cloexec_fd() ? 52 : 0;
}

START_TEST(test_fork_before_open)
{
	ck_assert_int_eq(run_fresh("fresh"), 0);
}
END_TEST

static pthread_barrier_t race_barrier;

static void *racer(void *arg)
{
	struct cowdup_info info;
	int *rc = arg;

	pthread_barrier_wait(&race_barrier);
	if (*rc & 1) {
		int saved = ERRNO_SENTINEL;

		errno = saved;
		*rc = cowdup_available() == 1 && errno == saved ? 0 : 61;
	} else {
		*rc = cowdup_info(&info) == 0 && info_ok(&info) ? 0 : 62;
	}
	return NULL;
}

/* 16 threads make the first call at once: all succeed, one fd remains. */
static int race_child(void)
{
	pthread_t th[NR_RACERS];
	int rc[NR_RACERS];

	if (count_cowdup_fds(NULL) != 0)
		return 60;
	if (pthread_barrier_init(&race_barrier, NULL, NR_RACERS))
		return 63;
	for (int i = 0; i < NR_RACERS; i++) {
		rc[i] = i;	/* odd: cowdup_available(), even: cowdup_info() */
		if (pthread_create(&th[i], NULL, racer, &rc[i]))
			return 64;
	}
	for (int i = 0; i < NR_RACERS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < NR_RACERS; i++)
		if (rc[i])
			return rc[i];
	return one_cloexec_fd() ? 65 : 0;
}

START_TEST(test_thread_race_first_open)
{
	for (int round = 0; round < NR_ROUNDS; round++) {
		int rc = run_fresh("race");

		ck_assert_msg(rc == 0, "round %d: child status %d", round, rc);
	}
}
END_TEST

static Suite *lib_suite(void)
{
	Suite *s = suite_create("lib");
	TCase *tc = tcase_create("device");

	tcase_add_test(tc, test_available_errno_kept);
	tcase_add_test(tc, test_info_fields);
	tcase_add_test(tc, test_null_args_efault);
	tcase_add_test(tc, test_one_cloexec_fd);
	tcase_add_test(tc, test_fork_after_open);
	tcase_add_test(tc, test_fork_before_open);
	tcase_add_test(tc, test_thread_race_first_open);
	suite_add_tcase(s, tc);
	return s;
}

static const struct {
	const char *name;
	int (*fn)(void);
} roles[] = {
	{ "available", available_child },
	{ "fork-after-open", fork_after_open_child },
	{ "fresh", fresh_child },
	{ "race", race_child },
};

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--child") == 0) {
		for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
			if (strcmp(argv[2], roles[i].name) == 0)
				return roles[i].fn();
		return 126;
	}
	if (!device_present()) {
		printf("1..0 # SKIP no %s\n", COWDUP_DEVICE_PATH);
		return EXIT_SKIP;
	}
	return run_suite_tap(lib_suite());
}
