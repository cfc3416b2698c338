/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers shared by the Check unit tests of libcowdup.
 */
#ifndef COWDUP_UNIT_UTIL_H
#define COWDUP_UNIT_UTIL_H

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cowdup.h>

/*
 * Exit status of a program that does not apply here (it printed "1..0 # SKIP
 * reason"): kselftest's KSFT_SKIP, which the harness counts as a skip.
 */
#define EXIT_SKIP	4

/* Some errno value no library path produces, to prove errno is untouched. */
#define ERRNO_SENTINEL	EDOM

static inline int device_present(void)
{
	struct stat st;

	return stat(COWDUP_DEVICE_PATH, &st) == 0;
}

/*
 * Descriptors of this process that refer to /dev/cowdup (-1 if /proc is not
 * readable); the last one found is stored in *last (if not NULL).  No Check
 * assertion here: it is also called in plain forked children.
 */
static inline int count_cowdup_fds(int *last)
{
	char link[PATH_MAX], target[PATH_MAX];
	struct dirent *de;
	int n = 0;
	DIR *d = opendir("/proc/self/fd");

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		ssize_t len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		if (strcmp(target, COWDUP_DEVICE_PATH) == 0) {
			n++;
			if (last)
				*last = atoi(de->d_name);
		}
	}
	closedir(d);
	return n;
}

/*
 * Run fn() in a forked child that exits with its return value; returns that
 * value, 128 + signal, or -1 if fork/waitpid failed.  The child leaves with
 * _exit() so that no stdio buffer of the parent (TAP output) is flushed
 * twice.  No Check assertion here: also used outside a running test.
 */
static inline int run_in_child(int (*fn)(void))
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn());
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Run a suite with TAP on stdout; fork mode follows CK_FORK (default yes). */
static inline int run_suite_tap(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif /* COWDUP_UNIT_UTIL_H */
