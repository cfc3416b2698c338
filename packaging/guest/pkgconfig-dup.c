// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pkgconfig-dup: built in the Debian VM of `make check-packages` with
 *     cc -o pkgconfig-dup pkgconfig-dup.c $(pkg-config --cflags --libs cowdup)
 * against the installed libcowdup-dev, and run there.
 *
 *   pkgconfig-dup            dup a buffer, check contents and independence
 *   pkgconfig-dup --denied   expect the device to be refused (EACCES): run
 *                            by a user outside the cowdup group
 * Exit 0 when the expectation holds, 1 otherwise; one line of report.
 */
#include <cowdup.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE), len = 64 * ps, i;
	struct cowdup_stat st;
	struct cowdup_info info;
	unsigned char *src, *copy;

	if (argc > 1 && !strcmp(argv[1], "--denied")) {
		char buf[4096];

		if (cowdup_available()) {
			printf("FAIL: /dev/cowdup is usable outside the cowdup group\n");
			return 1;
		}
		errno = 0;
		if (cowdup(buf, sizeof(buf), NULL, 0) != MAP_FAILED || errno != EACCES) {
			printf("FAIL: expected EACCES, got %s\n", strerror(errno));
			return 1;
		}
		printf("refused as expected: %s\n", strerror(errno));
		return 0;
	}

	if (cowdup_info(&info)) {
		printf("FAIL: cowdup_info: %s\n", strerror(errno));
		return 1;
	}
	src = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED)
		return 1;
	for (i = 0; i < len; i++)
		src[i] = (unsigned char)(i * 7 + 3);
	copy = cowdup(src, len, NULL, 0);
	if (copy == MAP_FAILED) {
		printf("FAIL: cowdup: %s\n", strerror(errno));
		return 1;
	}
	if (memcmp(src, copy, len)) {
		printf("FAIL: the copy differs from the source\n");
		return 1;
	}
	if (cowdup_stat(copy, len, &st) || st.nr_shared != len / ps) {
		printf("FAIL: cowdup_stat: %llu shared pages of %zu (%s)\n",
		       (unsigned long long)st.nr_shared, len / ps, strerror(errno));
		return 1;
	}
	copy[0] ^= 0xff;
	src[len - 1] ^= 0xff;
	if (copy[0] == src[0] || copy[len - 1] == src[len - 1]) {
		printf("FAIL: a write shows through on the other side\n");
		return 1;
	}
	printf("dup of %zu KiB: contents equal, %llu pages shared, writes independent "
	       "(api %llu, features %#llx)\n", len / 1024,
	       (unsigned long long)st.nr_shared, (unsigned long long)info.api_version,
	       (unsigned long long)info.features);
	return 0;
}
