// SPDX-License-Identifier: GPL-2.0
/*
 * dup_file: private file-backed mappings (contract section 2, semantics 1,
 * 2, 3, 4; issue 4).  The copy is copy-on-write as fork gives it: right
 * after the call it reads what the source read, from then on each side's
 * writes are its own, no write of either side ever reaches the file, and a
 * page the copy never wrote keeps reading the file, as any MAP_PRIVATE
 * page does (a pwrite made after the dup shows through it).
 *
 * Every test runs on each kind of file (the fixture variants): a named
 * tmpfs file, a ramfs file (page cache that is not shmem), a memfd, an
 * O_TMPFILE, a tmpfs file mapped through an O_RDONLY fd, and files on
 * read-only tmpfs and ramfs mounts.
 *
 * Counters: Cached, Shmem and AnonPages of /proc/meminfo, read after
 * vm.stat_refresh (exact); slack 1 MiB as in dup_mem, against 4 MiB steps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#define N	16
#define LEN	(N * PAGE_SZ)
#define SLACK_KB	1024L

enum kind {
	K_TMPFS,	/* named file in /tmp, O_RDWR */
	K_TMPFS_RDONLY,	/* the same, mapped through an O_RDONLY fd */
	K_RAMFS,	/* ramfs: generic page cache, not shmem */
	K_MEMFD,
	K_TMPFILE,	/* O_TMPFILE in /tmp */
	K_RO_TMPFS,	/* file on a tmpfs mounted read-only */
	K_RO_RAMFS,	/* file on a ramfs mounted read-only */
};

FIXTURE_VARIANT(pfile) {
	enum kind kind;
};
FIXTURE(pfile) {
	int fd;			/* the file, as mapped */
	int wfd;		/* a writable fd of it, or -1 (read-only fs) */
	int kmsg;
	char path[64];		/* K_TMPFS*: unlinked at teardown */
	uint64_t file[N];	/* seed of each file page */
};

FIXTURE_VARIANT_ADD(pfile, tmpfs) { K_TMPFS };
FIXTURE_VARIANT_ADD(pfile, tmpfs_rdonly_fd) { K_TMPFS_RDONLY };
FIXTURE_VARIANT_ADD(pfile, ramfs) { K_RAMFS };
FIXTURE_VARIANT_ADD(pfile, memfd) { K_MEMFD };
FIXTURE_VARIANT_ADD(pfile, tmpfile) { K_TMPFILE };
FIXTURE_VARIANT_ADD(pfile, ro_tmpfs) { K_RO_TMPFS };
FIXTURE_VARIANT_ADD(pfile, ro_ramfs) { K_RO_RAMFS };

/*
 * A file of npages pattern pages (seed) of the variant's kind: *fd to map,
 * *wfd to pwrite (or -1).  0 or -errno.
 */
static int make_file(enum kind kind, size_t npages, uint64_t seed, int *fd,
		     int *wfd, char *path, size_t pathsz)
{
	int f = -1, r;

	*fd = *wfd = -1;
	switch (kind) {
	case K_TMPFS:
	case K_TMPFS_RDONLY:
		snprintf(path, pathsz, "/tmp/cowdup-file-XXXXXX");
		f = mkstemp(path);
		break;
	case K_RAMFS:
		f = detached_fs_file("ramfs", false, 0, 0);
		break;
	case K_MEMFD:
		f = memfd_create("cowdup-file", MFD_CLOEXEC);
		break;
	case K_TMPFILE:
		f = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		break;
	case K_RO_TMPFS:
		*fd = detached_fs_file("tmpfs", true, npages, seed);
		return *fd < 0 ? *fd : 0;
	case K_RO_RAMFS:
		*fd = detached_fs_file("ramfs", true, npages, seed);
		return *fd < 0 ? *fd : 0;
	}
	if (f < 0)
		return f == -1 ? -errno : f;
	r = file_pattern_write(f, 0, npages, seed);
	if (r) {
		close(f);
		return r;
	}
	*wfd = f;
	*fd = f;
	if (kind == K_TMPFS_RDONLY) {
		*fd = open(path, O_RDONLY | O_CLOEXEC);
		if (*fd < 0)
			return -errno;
	}
	return 0;
}

FIXTURE_SETUP(pfile)
{
	size_t i;
	int r;

	self->kmsg = kmsg_open();
	self->path[0] = 0;
	r = make_file(variant->kind, N, 1, &self->fd, &self->wfd, self->path,
		      sizeof(self->path));
	ASSERT_EQ(0, r) TH_LOG("making the file: %s", strerror(-r));
	for (i = 0; i < N; i++)
		self->file[i] = 1;
}

FIXTURE_TEARDOWN(pfile)
{
	if (self->path[0])
		unlink(self->path);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

static int dev(void)
{
	static int fd = -1;

	if (fd < 0)
		fd = cowdup_open();
	return fd;
}

/* exp[i]: the seed page i must hold; 0 means "the file's page" */
static long bad_page(const char *p, const uint64_t *exp, const uint64_t *file,
		     size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (pattern_check_page(p + i * PAGE_SZ, i,
				       exp[i] ? exp[i] : file[i]) >= 0)
			return (long)i;
	return -1;
}

#define ASSERT_PAGES(p, exp, file, n) do { \
	long __b = bad_page((p), (exp), (file), (n)); \
	if (__b >= 0) \
		TH_LOG("%s: page %ld is not pattern %llu", #p, __b, \
		       (unsigned long long)((exp)[__b] ? (exp)[__b] : \
						(file)[__b])); \
	ASSERT_EQ(-1, __b); \
} while (0)

static void set_page(char *p, uint64_t *exp, size_t i, uint64_t seed)
{
	pattern_fill_at(p + i * PAGE_SZ, i, 1, seed);
	exp[i] = seed;
}

/* pwrite page i of the file with seed (the test's record of it too) */
#define FILE_WRITE(self, i, seed) do { \
	ASSERT_EQ(0, file_pattern_write((self)->wfd, (i), 1, (seed))); \
	(self)->file[i] = (seed); \
} while (0)

/* The file holds what the test wrote to it, and nothing else */
#define ASSERT_FILE_UNCHANGED(self) do { \
	size_t __i; \
	for (__i = 0; __i < N; __i++) \
		ASSERT_FILE_PATTERN((self)->fd, __i, 1, (self)->file[__i]); \
} while (0)

/*
 * The maps line of b equals a's but for the addresses: same protection,
 * device, inode and name, and a's offset + off.
 */
static void maps_same_kind(struct __test_metadata *_metadata, uintptr_t a,
			   uintptr_t b, unsigned long off)
{
	char la[512], lb[512], pa[8], pb[8], da[32], db[32];
	char na[400] = "", nb[400] = "";
	unsigned long oa, ob, ia, ib;

	ASSERT_EQ(0, maps_line(a, la, sizeof(la)));
	ASSERT_EQ(0, maps_line(b, lb, sizeof(lb)));
	ASSERT_LE(4, sscanf(la, "%*x-%*x %7s %lx %31s %lu %399[^\n]", pa, &oa,
			    da, &ia, na));
	ASSERT_LE(4, sscanf(lb, "%*x-%*x %7s %lx %31s %lu %399[^\n]", pb, &ob,
			    db, &ib, nb));
	ASSERT_STREQ(pa, pb);
	ASSERT_EQ(oa + off, ob) TH_LOG("'%s' vs '%s'", la, lb);
	ASSERT_STREQ(da, db);
	ASSERT_EQ(ia, ib);
	ASSERT_STREQ(na, nb);
}

/*
 * Pages 0-3 read (page cache mapped), 4-7 written before the dup (private
 * anonymous pages), 8-15 never touched: the copy reads the same; each
 * side's later writes are its own; pwrite after the dup shows through
 * every page neither side wrote; MADV_DONTNEED on a written page makes it
 * read the file again.
 */
TEST_F(pfile, contents_cow_and_file)
{
	uint64_t es[N] = { 0 }, ec[N];
	char *src, *copy;
	size_t i;

	src = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd, 0);
	ASSERT_NE(MAP_FAILED, src);
	ASSERT_PATTERN_AT(src, 0, 4, 1);
	for (i = 4; i < 8; i++)
		set_page(src, es, i, 2);
	copy = DUP_OK(dev(), src, LEN, 0, 0);
	maps_same_kind(_metadata, (uintptr_t)src, (uintptr_t)copy, 0);
	memcpy(ec, es, sizeof(ec));
	ASSERT_PAGES(copy, ec, self->file, N);

	set_page(copy, ec, 0, 3);
	set_page(copy, ec, 4, 3);
	set_page(copy, ec, 8, 3);
	set_page(copy, ec, 12, 3);
	ASSERT_PAGES(src, es, self->file, N);
	set_page(src, es, 1, 4);
	set_page(src, es, 5, 4);
	set_page(src, es, 9, 4);
	ASSERT_PAGES(copy, ec, self->file, N);
	ASSERT_PAGES(src, es, self->file, N);
	ASSERT_FILE_UNCHANGED(self);

	if (self->wfd >= 0) {
		/* the file changes under pages neither side wrote */
		for (i = 0; i < N; i += 2)
			FILE_WRITE(self, i, 5);
		ASSERT_PAGES(copy, ec, self->file, N);
		ASSERT_PAGES(src, es, self->file, N);
	}
	/* a written private page dropped reads the file again */
	ASSERT_EQ(0, madvise(copy, LEN, MADV_DONTNEED));
	memset(ec, 0, sizeof(ec));
	ASSERT_PAGES(copy, ec, self->file, N);
	ASSERT_PAGES(src, es, self->file, N);
	ASSERT_FILE_UNCHANGED(self);
	ASSERT_EQ(0, munmap(copy, LEN));
	ASSERT_EQ(0, munmap(src, LEN));
}

/*
 * A source never touched (no anon_vma, no PTEs) and one only read (PTEs of
 * page cache, still no anon_vma): nothing is copied, the copy faults its
 * pages from the file.
 */
TEST_F(pfile, untouched_and_read_only_sources)
{
	uint64_t es[N] = { 0 }, ec[N] = { 0 };
	char *src, *copy;
	int round;

	for (round = 0; round < 2; round++) {
		memset(es, 0, sizeof(es));
		memset(ec, 0, sizeof(ec));
		src = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE,
			   self->fd, 0);
		ASSERT_NE(MAP_FAILED, src);
		if (round == 1)
			ASSERT_PAGES(src, es, self->file, N);
		copy = DUP_OK(dev(), src, LEN, 0, 0);
		ASSERT_EQ(0UL, pages_present(copy, N));
		if (self->wfd >= 0)
			FILE_WRITE(self, 3, 6 + round);
		ASSERT_PAGES(copy, ec, self->file, N);
		set_page(copy, ec, 0, 3);
		ASSERT_PAGES(src, es, self->file, N);
		set_page(src, es, 1, 4);
		ASSERT_PAGES(copy, ec, self->file, N);
		ASSERT_FILE_UNCHANGED(self);
		ASSERT_EQ(0, munmap(copy, LEN));
		ASSERT_EQ(0, munmap(src, LEN));
	}
}

/*
 * A mapping at a file offset, and a dup of part of it: the copy maps the
 * file at the matching offset (maps line), reads those file pages and
 * follows later pwrites there.
 */
TEST_F(pfile, offset_and_subrange)
{
	const size_t off = 4, n = 12, first = 3, cn = 4;
	char *src, *copy;
	size_t i;

	src = mmap(NULL, n * PAGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		   self->fd, off * PAGE_SZ);
	ASSERT_NE(MAP_FAILED, src);
	ASSERT_PATTERN_AT(src, off, n, 1);
	pattern_fill_at(src + 2 * PAGE_SZ, off + 2, 2, 2);	/* anon pages */
	copy = DUP_OK(dev(), src + first * PAGE_SZ, cn * PAGE_SZ, 0, 0);
	maps_same_kind(_metadata, (uintptr_t)src, (uintptr_t)copy,
		       first * PAGE_SZ);
	/* pages first..first+cn of src: anon page (off+3), file pages */
	ASSERT_PATTERN_AT(copy, off + first, 1, 2);
	ASSERT_PATTERN_AT(copy + PAGE_SZ, off + first + 1, cn - 1, 1);
	if (self->wfd >= 0) {
		ASSERT_EQ(0, file_pattern_write(self->wfd, off + first + 2, 1,
						8));
		ASSERT_PATTERN_AT(copy + 2 * PAGE_SZ, off + first + 2, 1, 8);
		ASSERT_PATTERN_AT(src + (first + 2) * PAGE_SZ,
				  off + first + 2, 1, 8);
		self->file[off + first + 2] = 8;
	}
	for (i = 0; i < cn; i++)
		pattern_fill_at(copy + i * PAGE_SZ, off + first + i, 1, 9);
	ASSERT_PATTERN_AT(src + 2 * PAGE_SZ, off + 2, 2, 2);
	ASSERT_FILE_UNCHANGED(self);
	ASSERT_EQ(0, munmap(copy, cn * PAGE_SZ));
	ASSERT_EQ(0, munmap(src, n * PAGE_SZ));
}

/* munmap of either side first: the other keeps its pages and the file */
static void unmap_one_first(struct __test_metadata *_metadata,
			    FIXTURE_DATA(pfile) *self, bool src_first)
{
	uint64_t es[N] = { 0 }, ec[N];
	char *src, *copy, *keep;
	uint64_t *ek;

	src = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd, 0);
	ASSERT_NE(MAP_FAILED, src);
	ASSERT_PATTERN_AT(src, 0, 2, 1);
	set_page(src, es, 2, 2);
	set_page(src, es, 3, 2);
	copy = DUP_OK(dev(), src, LEN, 0, 0);
	memcpy(ec, es, sizeof(ec));
	set_page(copy, ec, 3, 3);
	set_page(copy, ec, 4, 3);
	set_page(src, es, 5, 4);
	if (src_first) {
		ASSERT_EQ(0, munmap(src, LEN));
		keep = copy;
		ek = ec;
	} else {
		ASSERT_EQ(0, munmap(copy, LEN));
		keep = src;
		ek = es;
	}
	ASSERT_PAGES(keep, ek, self->file, N);
	if (self->wfd >= 0) {
		FILE_WRITE(self, 0, 5);
		FILE_WRITE(self, 2, 5);
		FILE_WRITE(self, 6, 5);
		ASSERT_PAGES(keep, ek, self->file, N);
	}
	set_page(keep, ek, 7, 6);
	set_page(keep, ek, 2, 6);
	ASSERT_PAGES(keep, ek, self->file, N);
	ASSERT_FILE_UNCHANGED(self);
	ASSERT_EQ(0, munmap(keep, LEN));
	ASSERT_FILE_UNCHANGED(self);
}

TEST_F(pfile, munmap_source_first)
{
	unmap_one_first(_metadata, self, true);
}

TEST_F(pfile, munmap_copy_first)
{
	unmap_one_first(_metadata, self, false);
}

/* copies of copies and a second copy of the source: all independent */
TEST_F(pfile, copies_of_copies)
{
	uint64_t es[N] = { 0 }, e1[N], e2[N], e3[N];
	char *src, *c1, *c2, *c3;

	src = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd, 0);
	ASSERT_NE(MAP_FAILED, src);
	set_page(src, es, 0, 2);
	c1 = DUP_OK(dev(), src, LEN, 0, 0);
	memcpy(e1, es, sizeof(e1));
	set_page(c1, e1, 1, 3);
	c2 = DUP_OK(dev(), c1, LEN, 0, 0);
	memcpy(e2, e1, sizeof(e2));
	set_page(c2, e2, 2, 4);
	set_page(c1, e1, 0, 5);
	c3 = DUP_OK(dev(), src, LEN, 0, 0);
	memcpy(e3, es, sizeof(e3));
	set_page(c3, e3, 3, 6);
	set_page(src, es, 4, 7);
	if (self->wfd >= 0)
		FILE_WRITE(self, 5, 8);
	ASSERT_PAGES(src, es, self->file, N);
	ASSERT_PAGES(c1, e1, self->file, N);
	ASSERT_PAGES(c2, e2, self->file, N);
	ASSERT_PAGES(c3, e3, self->file, N);
	ASSERT_FILE_UNCHANGED(self);
	ASSERT_EQ(0, munmap(c1, LEN));
	ASSERT_PAGES(c2, e2, self->file, N);
	ASSERT_EQ(0, munmap(src, LEN));
	ASSERT_PAGES(c3, e3, self->file, N);
	ASSERT_EQ(0, munmap(c2, LEN));
	ASSERT_EQ(0, munmap(c3, LEN));
	ASSERT_FILE_UNCHANGED(self);
}

/*
 * fork after the dup: the child sees both sides as the parent had them,
 * its writes (either side) are its own, and the file never changes.
 */
TEST_F(pfile, fork_after_dup)
{
	uint64_t es[N] = { 0 }, ec[N];
	volatile int *fail;
	char *src, *copy;
	int status;
	pid_t pid;

	fail = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, (void *)fail);
	src = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd, 0);
	ASSERT_NE(MAP_FAILED, src);
	set_page(src, es, 0, 2);
	copy = DUP_OK(dev(), src, LEN, 0, 0);
	memcpy(ec, es, sizeof(ec));
	set_page(copy, ec, 1, 3);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
#define CCHECK(c) do { if (!(c)) { *fail = __LINE__; _exit(1); } } while (0)
		CCHECK(bad_page(src, es, self->file, N) < 0);
		CCHECK(bad_page(copy, ec, self->file, N) < 0);
		set_page(copy, ec, 2, 10);
		set_page(src, es, 3, 11);
		set_page(copy, ec, 0, 12);
		CCHECK(bad_page(src, es, self->file, N) < 0);
		CCHECK(bad_page(copy, ec, self->file, N) < 0);
		CCHECK(file_pattern_check(self->fd, 0, N, 1) < 0);
		CCHECK(munmap(src, LEN) == 0);
		CCHECK(bad_page(copy, ec, self->file, N) < 0);
		_exit(0);
#undef CCHECK
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, *fail) TH_LOG("child failed at line %d", *fail);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the child's writes stayed in the child */
	ASSERT_PAGES(src, es, self->file, N);
	ASSERT_PAGES(copy, ec, self->file, N);
	ASSERT_FILE_UNCHANGED(self);
	munmap(copy, LEN);
	munmap(src, LEN);
	munmap((void *)fail, PAGE_SZ);
}

/*
 * /proc/self/mem writes (FOLL_FORCE) into a read-only private copy break
 * copy-on-write for the copy only; mprotect makes a private copy writable
 * even from an O_RDONLY fd (as the source); the file never changes.
 */
TEST_F(pfile, proc_mem_and_mprotect)
{
	uint64_t es[N] = { 0 }, ec[N] = { 0 };
	static char page[PAGE_SZ];
	char *src, *copy;

	src = mmap(NULL, LEN, PROT_READ, MAP_PRIVATE, self->fd, 0);
	ASSERT_NE(MAP_FAILED, src);
	ASSERT_PAGES(src, es, self->file, 4);
	copy = DUP_OK(dev(), src, LEN, 0, 0);
	pattern_fill_page(page, 3, 9);
	ASSERT_EQ((ssize_t)PAGE_SZ, proc_mem_write(copy + 3 * PAGE_SZ, page,
						   PAGE_SZ));
	ec[3] = 9;
	pattern_fill_page(page, 4, 10);
	ASSERT_EQ((ssize_t)PAGE_SZ, proc_mem_write(src + 4 * PAGE_SZ, page,
						   PAGE_SZ));
	es[4] = 10;
	ASSERT_PAGES(copy, ec, self->file, N);
	ASSERT_PAGES(src, es, self->file, N);
	ASSERT_FILE_UNCHANGED(self);
	ASSERT_EQ(SIGSEGV, access_signal(copy, true));
	ASSERT_EQ(0, mprotect(copy, LEN, PROT_READ | PROT_WRITE));
	set_page(copy, ec, 5, 11);
	ASSERT_PAGES(src, es, self->file, N);
	ASSERT_FILE_UNCHANGED(self);
	if (self->wfd >= 0) {
		FILE_WRITE(self, 6, 12);
		ASSERT_PAGES(copy, ec, self->file, N);
		ASSERT_PAGES(src, es, self->file, N);
	}
	munmap(copy, LEN);
	munmap(src, LEN);
}

/*
 * A mapping longer than the file: pages past EOF raise SIGBUS in the copy
 * as in the source; when the file grows, both read the new pages.
 */
TEST_F(pfile, beyond_eof_sigbus)
{
	const size_t n = N + 4;
	char *src, *copy;

	src = mmap(NULL, n * PAGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		   self->fd, 0);
	ASSERT_NE(MAP_FAILED, src);
	pattern_fill_at(src, 0, 1, 2);
	ASSERT_EQ(SIGBUS, access_signal(src + N * PAGE_SZ, false));
	copy = DUP_OK(dev(), src, n * PAGE_SZ, 0, 0);
	ASSERT_PATTERN_AT(copy, 0, 1, 2);
	ASSERT_PATTERN_AT(copy + PAGE_SZ, 1, N - 1, 1);
	ASSERT_EQ(SIGBUS, access_signal(copy + N * PAGE_SZ, false));
	ASSERT_EQ(SIGBUS, access_signal(copy + (n - 1) * PAGE_SZ, true));
	if (self->wfd < 0)
		return;
	ASSERT_EQ(0, ftruncate(self->wfd, (N + 2) * PAGE_SZ));
	ASSERT_EQ(0, file_pattern_write(self->wfd, N, 1, 13));
	ASSERT_PATTERN_AT(copy + N * PAGE_SZ, N, 1, 13);
	ASSERT_PATTERN_AT(copy + (N + 1) * PAGE_SZ, N + 1, 1, 0);
	ASSERT_EQ(SIGBUS, access_signal(copy + (N + 2) * PAGE_SZ, false));
	ASSERT_PATTERN_AT(src + N * PAGE_SZ, N, 1, 13);
	munmap(copy, n * PAGE_SZ);
	munmap(src, n * PAGE_SZ);
}

/*
 * 16 MiB file, first quarter written in the source: the dup adds no
 * anonymous memory and no page cache; reading the whole copy adds none;
 * writing a quarter the source never wrote adds that quarter, writing the
 * quarter it did write (shared anonymous pages) adds it again; munmap of
 * the copy gives all of it back.  Page cache never moves.
 */
TEST_F_TIMEOUT(pfile, counters_16m, 300)
{
	const size_t n = 4096, len = n * PAGE_SZ, q = n / 4;
	const long qkb = (long)(q * PAGE_SZ / KiB);
	struct counters c0, c1, c2, c3, c4, c5;
	int fd, wfd;
	char path[64] = "";
	char *src, *copy;

	ASSERT_EQ(0, make_file(variant->kind, n, 1, &fd, &wfd, path,
			       sizeof(path)));
	src = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, src);
	ASSERT_PATTERN(src, len, 1);
	pattern_fill(src, q * PAGE_SZ, 2);
	read_counters(&c0);
	copy = DUP_OK(dev(), src, len, 0, 0);
	read_counters(&c1);
	ASSERT_DELTA("dup", c0, c1, 0, 0, 0);
	ASSERT_PATTERN(copy, q * PAGE_SZ, 2);
	ASSERT_PATTERN_AT(copy + q * PAGE_SZ, q, n - q, 1);
	read_counters(&c2);
	ASSERT_DELTA("copy read", c0, c2, 0, 0, 0);
	pattern_fill_at(copy + q * PAGE_SZ, q, q, 3);
	read_counters(&c3);
	ASSERT_DELTA("copy wrote a file quarter", c0, c3, qkb, 0, 0);
	pattern_fill(copy, q * PAGE_SZ, 4);
	read_counters(&c4);
	ASSERT_DELTA("copy wrote the shared quarter", c0, c4, 2 * qkb, 0, 0);
	ASSERT_PATTERN(src, q * PAGE_SZ, 2);
	ASSERT_PATTERN_AT(src + q * PAGE_SZ, q, n - q, 1);
	ASSERT_EQ(-1, file_pattern_check(fd, 0, n, 1));
	ASSERT_EQ(0, munmap(copy, len));
	read_counters(&c5);
	ASSERT_DELTA("copy unmapped", c0, c5, 0, 0, 0);
	ASSERT_EQ(0, munmap(src, len));
	if (path[0])
		unlink(path);
	if (wfd >= 0 && wfd != fd)
		close(wfd);
	close(fd);
}

/* ---- private mappings that are not of a regular file ------------------ */

FIXTURE(pother) {
	int kmsg;
};

FIXTURE_SETUP(pother)
{
	self->kmsg = kmsg_open();
}

FIXTURE_TEARDOWN(pother)
{
	ASSERT_KMSG_CLEAN(self->kmsg);
}

static int __attribute__((noinline)) leaf(int x)
{
	return x * 7 + 3;
}

/*
 * This program's own text (private, r-x, of the executable): the copy has
 * the same bytes and protection, and code in it runs.
 */
TEST_F(pother, program_text)
{
	int (*fn)(int);
	char exe[256], name[256];
	uintptr_t s, e;
	char perms[5], *copy;
	ssize_t n;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ASSERT_LT(0, n);
	exe[n] = 0;
	ASSERT_EQ(0, maps_find((uintptr_t)leaf, &s, &e, perms, name,
			       sizeof(name)));
	ASSERT_STREQ(exe, name);
	ASSERT_STREQ("r-xp", perms);
	copy = DUP_OK(dev(), s, e - s, 0, 0);
	maps_same_kind(_metadata, s, (uintptr_t)copy, 0);
	ASSERT_EQ(0, memcmp(copy, (void *)s, e - s));
	fn = (int (*)(int))(uintptr_t)(copy + ((uintptr_t)leaf - s));
	ASSERT_EQ(leaf(5), fn(5));
	ASSERT_EQ(38, fn(5));
	ASSERT_EQ(SIGSEGV, access_signal(copy, true));
	ASSERT_EQ(0, munmap(copy, e - s));
}

/* /dev/zero MAP_PRIVATE is anonymous memory: copy-on-write, zeros */
TEST_F(pother, dev_zero_private)
{
	char *src, *copy;
	int zfd;

	zfd = open("/dev/zero", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, zfd);
	src = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, zfd, 0);
	ASSERT_NE(MAP_FAILED, src);
	close(zfd);
	pattern_fill(src, LEN / 2, 1);
	copy = DUP_OK(dev(), src, LEN, 0, 0);
	ASSERT_PATTERN(copy, LEN / 2, 1);
	ASSERT_PATTERN_AT(copy + LEN / 2, N / 2, N / 2, 0);
	pattern_fill(copy, LEN, 2);
	ASSERT_PATTERN(src, LEN / 2, 1);
	ASSERT_PATTERN_AT(src + LEN / 2, N / 2, N / 2, 0);
	munmap(copy, LEN);
	munmap(src, LEN);
}

/* The heap ([heap], brk) and the stack ([stack]): private anonymous */
TEST_F(pother, heap_and_stack)
{
	char *brk0, *copy, *sp;
	uintptr_t s, e;
	volatile char buf[3 * 4096];

	brk0 = sbrk(0);
	ASSERT_NE((void *)-1, sbrk(4 * PAGE_SZ));
	ASSERT_EQ(0, maps_find_name("[heap]", &s, &e));
	pattern_fill((char *)e - 4 * PAGE_SZ, 4 * PAGE_SZ, 1);
	copy = DUP_OK(dev(), e - 4 * PAGE_SZ, 4 * PAGE_SZ, 0, 0);
	ASSERT_PATTERN(copy, 4 * PAGE_SZ, 1);
	pattern_fill(copy, 4 * PAGE_SZ, 2);
	ASSERT_PATTERN((char *)e - 4 * PAGE_SZ, 4 * PAGE_SZ, 1);
	munmap(copy, 4 * PAGE_SZ);
	ASSERT_EQ(0, brk(brk0));

	/* a page of the stack this frame uses */
	memset((char *)buf, 0x5a, sizeof(buf));
	sp = (char *)(((uintptr_t)buf + PAGE_SZ - 1) & ~(PAGE_SZ - 1));
	ASSERT_EQ(0, maps_find((uintptr_t)sp, &s, &e, NULL, NULL, 0));
	copy = DUP_OK(dev(), sp, PAGE_SZ, 0, 0);
	ASSERT_EQ(0x5a, copy[0]);
	ASSERT_EQ(0x5a, copy[PAGE_SZ - 1]);
	copy[0] = 1;
	ASSERT_EQ(0x5a, sp[0]);
	munmap(copy, PAGE_SZ);
}

TEST_HARNESS_MAIN
