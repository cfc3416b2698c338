// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * unit-uapi: uapi/linux/cowdup.h is usable from plain user space.
 *
 * The compile-time half is uapi_static.c; this is the run-time half, which
 * checks the layout again and reports it as TAP on stdout (exit 1 on a
 * failure) so that the result also shows up in the test log.  Built with
 * -std=c99 -Wall -Wextra -pedantic -Werror and only -I uapi.
 */
#include <linux/cowdup.h>	/* the header under test: must come first */

#include <stddef.h>
#include <stdio.h>

static int nr_test;
static int nr_failed;

static void check(int ok, const char *what)
{
	nr_test++;
	if (!ok)
		nr_failed++;
	printf("%sok %d - %s\n", ok ? "" : "not ", nr_test, what);
}

#define CHECK(cond) check(cond, #cond)
#define OFF(type, field, n) \
	CHECK(offsetof(struct type, field) == (n) * 8 && \
	      sizeof(((struct type *)0)->field) == 8)

int main(void)
{
	CHECK(sizeof(struct cowdup_info) == COWDUP_INFO_SIZE_VER0);
	CHECK(sizeof(struct cowdup_dup_args) == COWDUP_DUP_SIZE_VER0);
	CHECK(sizeof(struct cowdup_query_args) == COWDUP_QUERY_SIZE_VER0);

	OFF(cowdup_info, size, 0);
	OFF(cowdup_info, api_version, 1);
	OFF(cowdup_info, dup_flags, 2);
	OFF(cowdup_info, features, 3);

	OFF(cowdup_dup_args, size, 0);
	OFF(cowdup_dup_args, src, 1);
	OFF(cowdup_dup_args, len, 2);
	OFF(cowdup_dup_args, dst, 3);
	OFF(cowdup_dup_args, flags, 4);

	OFF(cowdup_query_args, size, 0);
	OFF(cowdup_query_args, addr, 1);
	OFF(cowdup_query_args, len, 2);
	OFF(cowdup_query_args, vec, 3);
	OFF(cowdup_query_args, flags, 4);
	OFF(cowdup_query_args, nr_none, 5);
	OFF(cowdup_query_args, nr_zero, 6);
	OFF(cowdup_query_args, nr_shared, 7);
	OFF(cowdup_query_args, nr_exclusive, 8);
	OFF(cowdup_query_args, nr_file, 9);
	OFF(cowdup_query_args, nr_swap, 10);

	CHECK(_IOC_SIZE(COWDUP_IOC_INFO) == sizeof(struct cowdup_info));
	CHECK(_IOC_SIZE(COWDUP_IOC_DUP) == sizeof(struct cowdup_dup_args));
	CHECK(_IOC_SIZE(COWDUP_IOC_QUERY) == sizeof(struct cowdup_query_args));
	CHECK(_IOC_DIR(COWDUP_IOC_INFO) == (_IOC_READ | _IOC_WRITE));
	CHECK(_IOC_DIR(COWDUP_IOC_DUP) == (_IOC_READ | _IOC_WRITE));
	CHECK(_IOC_DIR(COWDUP_IOC_QUERY) == (_IOC_READ | _IOC_WRITE));
	CHECK(COWDUP_IOC_INFO != COWDUP_IOC_DUP &&
	      COWDUP_IOC_DUP != COWDUP_IOC_QUERY &&
	      COWDUP_IOC_INFO != COWDUP_IOC_QUERY);
	CHECK(COWDUP_API_VERSION >= 1);
	CHECK(COWDUP_PAGE_NONE == 0);
	{
		static const char path[] = COWDUP_DEVICE_PATH;
		static const char name[] = COWDUP_DEVICE_NAME;

		CHECK(sizeof(path) == sizeof("/dev/") + sizeof(name) - 1);
	}
	CHECK(COWDUP_FIXED != 0 && COWDUP_FIXED_NOREPLACE != 0);
	printf("1..%d\n", nr_test);
	return nr_failed ? 1 : 0;
}
