// SPDX-License-Identifier: GPL-2.0
/*
 * dup_rmmod: memory made by the device is ordinary memory (contract
 * section 1): once every fd is closed the module unloads while copies
 * exist, and the copies keep working: read, COW both ways, fault, fork,
 * madvise, mprotect, mremap, munmap, exit.  The module is loaded again at
 * the end (and by the teardown if a step failed), and the new instance
 * duplicates copies the old one made.
 *
 * Runs rmmod/insmod: keep it a program of its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#define N	32
#define LEN	(N * PAGE_SZ)
#define THP_LEN	(2 * PMD_SZ)

FIXTURE(rmmod) {
	int kmsg;
};

FIXTURE_SETUP(rmmod)
{
	self->kmsg = kmsg_open();
	ASSERT_TRUE(cowdup_loaded()) TH_LOG("module not loaded at start");
	ASSERT_TRUE(path_exists(cowdup_ko_path())) {
		TH_LOG("%s missing (set COWDUP_KO)", cowdup_ko_path());
	}
}

FIXTURE_TEARDOWN_PARENT(rmmod)
{
	/* leave the module loaded for whatever runs next */
	if (!cowdup_loaded())
		cowdup_insmod();
	EXPECT_TRUE(cowdup_loaded());
}

TEST_F_TIMEOUT(rmmod, copies_outlive_module, 300)
{
	char *src, *copy, *copy2, *tsrc, *tcopy, *moved;
	int fd, status;
	pid_t pid;

	fd = cowdup_open();
	ASSERT_LE(0, fd);
	src = anon_map(LEN);
	ASSERT_NE(MAP_FAILED, src);
	pattern_fill(src, LEN, 1);
	copy = DUP_OK(fd, src, LEN, 0, 0);
	copy2 = DUP_OK(fd, copy, LEN, 0, 0);
	pattern_fill_at(copy, 0, 4, 2);

	/* a THP source too, duplicated PMD-aligned */
	tsrc = mmap_aligned(THP_LEN, PMD_SZ, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS);
	ASSERT_NE(MAP_FAILED, tsrc);
	madvise(tsrc, THP_LEN, MADV_HUGEPAGE);
	pattern_fill(tsrc, THP_LEN, 3);
	tcopy = DUP_OK(fd, tsrc, THP_LEN, 0, 0);

	/* no fd left: nothing else may pin the module */
	close(fd);
	ASSERT_EQ(0, cowdup_refcnt());
	ASSERT_EQ(0, cowdup_rmmod());
	ASSERT_FALSE(cowdup_loaded());
	ASSERT_FALSE(path_exists(COWDUP_DEVICE_PATH));

	/* reads, and COW faults both ways */
	ASSERT_PATTERN(src, LEN, 1);
	ASSERT_PATTERN_AT(copy, 0, 4, 2);
	ASSERT_PATTERN_AT(copy + 4 * PAGE_SZ, 4, N - 4, 1);
	ASSERT_PATTERN(copy2, LEN, 1);
	ASSERT_PATTERN(tcopy, THP_LEN, 3);
	pattern_fill(copy2, LEN, 4);
	pattern_fill_at(src + 8 * PAGE_SZ, 8, 8, 5);
	ASSERT_PATTERN_AT(copy + 8 * PAGE_SZ, 8, 8, 1);
	ASSERT_PATTERN_AT(src, 0, 8, 1);
	pattern_fill_at(tcopy + PMD_SZ + 5 * PAGE_SZ, 517, 1, 6);
	ASSERT_PATTERN(tsrc, THP_LEN, 3);

	/* a child inherits all of it, writes, exits */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		pattern_fill(copy, LEN, 7);
		pattern_fill(tsrc, PMD_SZ, 7);
		_exit(pattern_check_at(src + 8 * PAGE_SZ, 8, 8, 5) < 0 &&
		      pattern_check(copy2, LEN, 4) < 0 ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_PATTERN_AT(copy, 0, 4, 2);
	ASSERT_PATTERN(tsrc, THP_LEN, 3);

	/* madvise, mprotect, mremap, munmap on the copies */
	ASSERT_EQ(0, madvise(copy + 2 * PAGE_SZ, PAGE_SZ, MADV_DONTNEED));
	ASSERT_PATTERN_AT(copy + 2 * PAGE_SZ, 2, 1, 0);
	ASSERT_EQ(0, mprotect(copy2, LEN, PROT_READ));
	ASSERT_EQ(0, mprotect(copy2, LEN, PROT_READ | PROT_WRITE));
	ASSERT_PATTERN(copy2, LEN, 4);
	moved = mremap(copy2, LEN, 2 * LEN, MREMAP_MAYMOVE);
	ASSERT_NE(MAP_FAILED, moved);
	ASSERT_PATTERN(moved, LEN, 4);
	ASSERT_EQ(0, munmap(moved, 2 * LEN));
	ASSERT_EQ(0, madvise(tcopy, PMD_SZ, MADV_PAGEOUT));
	ASSERT_PATTERN_AT(tcopy, 0, 512, 3);
	ASSERT_EQ(0, munmap(tsrc, THP_LEN));
	ASSERT_PATTERN_AT(tcopy, 0, 517, 3);
	ASSERT_PATTERN_AT(tcopy + PMD_SZ + 5 * PAGE_SZ, 517, 1, 6);

	/* the module comes back and duplicates what the old one made */
	ASSERT_EQ(0, cowdup_insmod());
	fd = cowdup_open();
	ASSERT_LE(0, fd);
	copy2 = DUP_OK(fd, copy, LEN, 0, 0);
	ASSERT_PATTERN_AT(copy2, 0, 2, 2);
	ASSERT_PATTERN_AT(copy2 + 2 * PAGE_SZ, 2, 1, 0);
	ASSERT_PATTERN_AT(copy2 + 8 * PAGE_SZ, 8, 8, 1);
	pattern_fill(copy, LEN, 8);
	ASSERT_PATTERN_AT(copy2, 0, 2, 2);
	close(fd);
	munmap(copy, LEN);
	munmap(copy2, LEN);
	munmap(tcopy, THP_LEN);
	ASSERT_PATTERN_AT(src + 8 * PAGE_SZ, 8, 8, 5);
	munmap(src, LEN);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/* Unload while copies exist, then the process exits with them mapped */
TEST_F_TIMEOUT(rmmod, exit_with_copies_after_unload, 120)
{
	int go[2], ready[2], status;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		void *copy = NULL;
		char *src = anon_map(LEN);
		int fd = cowdup_open();

		close(go[1]);
		close(ready[0]);
		if (src == MAP_FAILED || fd < 0)
			_exit(2);
		pattern_fill(src, LEN, 1);
		if (cowdup_dup_raw(fd, src, LEN, &copy, 0))
			_exit(3);
		close(fd);
		if (write(ready[1], "r", 1) != 1)
			_exit(4);
		/* the parent unloads the module, then we exit mapped */
		if (read(go[0], &c, 1) != 1)
			_exit(5);
		if (pattern_check(copy, LEN, 1) >= 0)
			_exit(6);
		pattern_fill(copy, LEN, 2);
		_exit(pattern_check(src, LEN, 1) >= 0 ? 7 : 0);
	}
	close(go[0]);
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_EQ(0, cowdup_refcnt());
	ASSERT_EQ(0, cowdup_rmmod());
	ASSERT_EQ(1, write(go[1], "u", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, cowdup_insmod());
	ASSERT_TRUE(path_exists(COWDUP_DEVICE_PATH));
	ASSERT_KMSG_CLEAN(self->kmsg);
}

TEST_HARNESS_MAIN
