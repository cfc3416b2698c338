// SPDX-License-Identifier: GPL-2.0
/*
 * dup_shared: shared mappings (contract section 2, semantics 1, 4, 5, 8;
 * issue 4).  The copy of a shared mapping is a second view of the same
 * object, as a forked child's is: writes through either view, or to the
 * file, are seen through both; it has the source's protection, file and
 * offset; either view can go first; a SysV segment's attach count
 * (shm_nattch) counts the copy, since vm_ops->open runs for it.
 *
 * Kinds (fixture variants): a tmpfs file, a ramfs file (page cache that is
 * not shmem), a memfd, MAP_SHARED | MAP_ANONYMOUS, MAP_SHARED of
 * /dev/zero (shmem too) and a SysV shm segment.  A range mixing kinds
 * (anonymous, private file, shared memfd, shared anonymous, SysV) is
 * duplicated in one call (fixture mixed).
 *
 * Counters: Shmem, Cached and AnonPages of /proc/meminfo after
 * vm.stat_refresh; slack 1 MiB against 8 MiB steps (as dup_mem).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#define N	16
#define LEN	(N * PAGE_SZ)
#define SLACK_KB	1024L

enum skind {
	S_TMPFS,	/* named file in /tmp */
	S_RAMFS,	/* ramfs file: page cache, not shmem */
	S_MEMFD,
	S_SHMEM_ANON,	/* MAP_SHARED | MAP_ANONYMOUS */
	S_DEVZERO,	/* MAP_SHARED of /dev/zero: shmem as well */
	S_SYSV,		/* shmget + shmat */
};

/* A shared object and the means to look at it */
struct obj {
	enum skind kind;
	size_t len;
	int fd;			/* file kinds: pread/pwrite, mmap */
	int shmid;		/* S_SYSV */
	char path[64];		/* S_TMPFS */
	char *first;		/* anonymous kinds: the one mmap */
};

static int obj_make(struct obj *o, enum skind kind, size_t len)
{
	int zfd;

	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->len = len;
	o->fd = -1;
	o->shmid = -1;
	switch (kind) {
	case S_TMPFS:
		snprintf(o->path, sizeof(o->path), "/tmp/cowdup-shared-XXXXXX");
		o->fd = mkstemp(o->path);
		break;
	case S_RAMFS:
		o->fd = detached_fs_file("ramfs", false, 0, 0);
		if (o->fd < 0) {
			errno = -o->fd;
			o->fd = -1;
		}
		break;
	case S_MEMFD:
		o->fd = memfd_create("cowdup-shared", MFD_CLOEXEC);
		break;
	case S_SHMEM_ANON:
		o->first = mmap(NULL, len, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		return o->first == MAP_FAILED ? -errno : 0;
	case S_DEVZERO:
		zfd = open("/dev/zero", O_RDWR | O_CLOEXEC);
		if (zfd < 0)
			return -errno;
		o->first = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
				zfd, 0);
		close(zfd);
		return o->first == MAP_FAILED ? -errno : 0;
	case S_SYSV:
		o->shmid = shmget(IPC_PRIVATE, len, IPC_CREAT | 0600);
		return o->shmid < 0 ? -errno : 0;
	}
	if (o->fd < 0)
		return -errno;
	if (ftruncate(o->fd, len))
		return -errno;
	return 0;
}

static bool obj_has_fd(const struct obj *o)
{
	return o->fd >= 0;
}

static bool obj_is_shmem(const struct obj *o)
{
	return o->kind != S_RAMFS;
}

/*
 * A new view of the whole object with prot, or MAP_FAILED: mmap of the
 * file, shmat of the segment; the anonymous kinds have one view only (the
 * first call returns it, later ones fail).
 */
static char *obj_view(struct obj *o, int prot)
{
	char *p;

	switch (o->kind) {
	case S_SHMEM_ANON:
	case S_DEVZERO:
		p = o->first;
		o->first = MAP_FAILED;
		if (p != MAP_FAILED && prot != (PROT_READ | PROT_WRITE) &&
		    mprotect(p, o->len, prot))
			return MAP_FAILED;
		return p;
	case S_SYSV:
		p = shmat(o->shmid, NULL, prot & PROT_WRITE ? 0 : SHM_RDONLY);
		return p == (void *)-1 ? MAP_FAILED : p;
	default:
		return mmap(NULL, o->len, prot, MAP_SHARED, o->fd, 0);
	}
}

/* Drops the test's own references (not the views) */
static void obj_release(struct obj *o)
{
	if (o->path[0])
		unlink(o->path);
	if (o->fd >= 0)
		close(o->fd);
	if (o->shmid >= 0)
		shmctl(o->shmid, IPC_RMID, NULL);
	if (o->first && o->first != MAP_FAILED)
		munmap(o->first, o->len);
	o->fd = o->shmid = -1;
	o->path[0] = 0;
	o->first = NULL;
}

static long nattch(int shmid)
{
	struct shmid_ds ds;

	if (shmctl(shmid, IPC_STAT, &ds))
		return -errno;
	return (long)ds.shm_nattch;
}

FIXTURE_VARIANT(shared) {
	enum skind kind;
};
FIXTURE(shared) {
	int fd;
	int kmsg;
	struct obj o;
	uint64_t seeds[N];	/* what every view and the file must read */
};
FIXTURE_VARIANT_ADD(shared, tmpfs_file) { S_TMPFS };
FIXTURE_VARIANT_ADD(shared, ramfs_file) { S_RAMFS };
FIXTURE_VARIANT_ADD(shared, memfd) { S_MEMFD };
FIXTURE_VARIANT_ADD(shared, shmem_anon) { S_SHMEM_ANON };
FIXTURE_VARIANT_ADD(shared, dev_zero) { S_DEVZERO };
FIXTURE_VARIANT_ADD(shared, sysv_shm) { S_SYSV };

FIXTURE_SETUP(shared)
{
	int r;

	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd);
	r = obj_make(&self->o, variant->kind, LEN);
	ASSERT_EQ(0, r) TH_LOG("making the object: %s", strerror(-r));
	memset(self->seeds, 0, sizeof(self->seeds));
}

FIXTURE_TEARDOWN(shared)
{
	obj_release(&self->o);
	close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

static long bad_page(const char *p, const uint64_t *seeds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (pattern_check_page(p + i * PAGE_SZ, i, seeds[i]) >= 0)
			return (long)i;
	return -1;
}

/* The view p (and the file, if any) reads the object as recorded */
#define ASSERT_VIEW(self, p) do { \
	long __b = bad_page((p), (self)->seeds, N); \
	if (__b >= 0) \
		TH_LOG("%s: page %ld is not pattern %llu", #p, __b, \
		       (unsigned long long)(self)->seeds[__b]); \
	ASSERT_EQ(-1, __b); \
	if (obj_has_fd(&(self)->o)) { \
		size_t __i; \
		for (__i = 0; __i < N; __i++) \
			ASSERT_FILE_PATTERN((self)->o.fd, __i, 1, \
					    (self)->seeds[__i]); \
	} \
} while (0)

static void put(FIXTURE_DATA(shared) *self, char *view, size_t i,
		uint64_t seed)
{
	pattern_fill_at(view + i * PAGE_SZ, i, 1, seed);
	self->seeds[i] = seed;
}

#define FILE_PUT(self, i, seed) do { \
	ASSERT_EQ(0, file_pattern_write((self)->o.fd, (i), 1, (seed))); \
	(self)->seeds[i] = (seed); \
} while (0)

/* Same protection, offset + off, device, inode and name */
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
 * Half the object written through the source, half never touched (holes:
 * zeros): the copy reads the same, maps the same physical pages, and
 * every later write through either view or to the file is seen by both.
 */
TEST_F(shared, sharing_both_ways)
{
	char *src, *copy;
	size_t i;

	src = obj_view(&self->o, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, src);
	for (i = 0; i < N / 2; i++)
		put(self, src, i, 1);
	copy = DUP_OK(self->fd, src, LEN, 0, 0);
	maps_same_kind(_metadata, (uintptr_t)src, (uintptr_t)copy, 0);
	ASSERT_VIEW(self, copy);
	ASSERT_VIEW(self, src);
	/* both views map the object's pages (holes read as zeros by both) */
	if (pagemap_has_pfns())
		ASSERT_EQ((size_t)N, pages_same_pfn(src, copy, N));

	put(self, copy, 0, 2);
	put(self, copy, N - 1, 2);
	ASSERT_VIEW(self, src);
	put(self, src, 1, 3);
	put(self, src, N - 2, 3);
	ASSERT_VIEW(self, copy);
	if (obj_has_fd(&self->o)) {
		FILE_PUT(self, 2, 4);
		FILE_PUT(self, N - 3, 4);
		ASSERT_VIEW(self, copy);
		ASSERT_VIEW(self, src);
	}
	/* MADV_DONTNEED drops the copy's PTEs, not the object's pages */
	ASSERT_EQ(0, madvise(copy, LEN, MADV_DONTNEED));
	ASSERT_VIEW(self, copy);
	ASSERT_VIEW(self, src);
	ASSERT_EQ(0, munmap(copy, LEN));
	ASSERT_VIEW(self, src);
	ASSERT_EQ(0, munmap(src, LEN));
}

/*
 * A dup of part of the view, and a copy of the copy: each maps the object
 * at the matching offset and shares those pages.
 */
TEST_F(shared, subrange_and_copy_of_copy)
{
	char *src, *copy, *cc;
	size_t i;

	src = obj_view(&self->o, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, src);
	for (i = 0; i < N; i++)
		put(self, src, i, 1);
	copy = DUP_OK(self->fd, src + 3 * PAGE_SZ, 5 * PAGE_SZ, 0, 0);
	maps_same_kind(_metadata, (uintptr_t)src, (uintptr_t)copy,
		       3 * PAGE_SZ);
	ASSERT_PATTERN_AT(copy, 3, 5, 1);
	cc = DUP_OK(self->fd, copy + PAGE_SZ, 2 * PAGE_SZ, 0, 0);
	maps_same_kind(_metadata, (uintptr_t)src, (uintptr_t)cc, 4 * PAGE_SZ);
	pattern_fill_at(copy, 3, 1, 2);
	self->seeds[3] = 2;
	pattern_fill_at(cc + PAGE_SZ, 5, 1, 3);
	self->seeds[5] = 3;
	ASSERT_VIEW(self, src);
	ASSERT_PATTERN_AT(copy + 2 * PAGE_SZ, 5, 1, 3);
	put(self, src, 4, 4);
	ASSERT_PATTERN_AT(cc, 4, 1, 4);
	ASSERT_PATTERN_AT(copy + PAGE_SZ, 4, 1, 4);
	munmap(cc, 2 * PAGE_SZ);
	munmap(copy, 5 * PAGE_SZ);
	munmap(src, LEN);
}

/*
 * One view goes first: the other keeps the object, and keeps sharing it
 * with a third view (another mmap or shmat of the object, or, for the
 * anonymous kinds which have no other way, a dup made before).
 */
static void unmap_one_first(struct __test_metadata *_metadata,
			    FIXTURE_DATA(shared) *self, bool src_first)
{
	char *src, *copy, *third, *keep;
	size_t i;

	src = obj_view(&self->o, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, src);
	for (i = 0; i < N; i++)
		put(self, src, i, 1);
	third = obj_view(&self->o, PROT_READ | PROT_WRITE);
	if (third == MAP_FAILED)
		third = DUP_OK(self->fd, src, LEN, 0, 0);
	copy = DUP_OK(self->fd, src, LEN, 0, 0);
	put(self, copy, 0, 2);
	put(self, src, 1, 3);
	if (self->o.shmid >= 0)
		ASSERT_EQ(3, nattch(self->o.shmid));
	ASSERT_EQ(0, munmap(src_first ? src : copy, LEN));
	keep = src_first ? copy : src;
	if (self->o.shmid >= 0)
		ASSERT_EQ(2, nattch(self->o.shmid));
	/* the object outlives the test's own reference to it */
	obj_release(&self->o);
	ASSERT_VIEW(self, keep);
	ASSERT_VIEW(self, third);
	put(self, keep, 2, 4);
	put(self, third, 3, 5);
	ASSERT_VIEW(self, keep);
	ASSERT_VIEW(self, third);
	ASSERT_EQ(0, munmap(keep, LEN));
	ASSERT_VIEW(self, third);
	ASSERT_EQ(0, munmap(third, LEN));
}

TEST_F(shared, munmap_source_first)
{
	unmap_one_first(_metadata, self, true);
}

TEST_F(shared, munmap_copy_first)
{
	unmap_one_first(_metadata, self, false);
}

/*
 * fork after the dup: the child inherits both views of the same object
 * (a SysV segment counts two more attaches); what it writes through
 * either is seen by the parent through both.
 */
TEST_F(shared, fork_after_dup)
{
	volatile int *fail;
	char *src, *copy;
	int status;
	pid_t pid;
	size_t i;

	fail = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, (void *)fail);
	src = obj_view(&self->o, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, src);
	for (i = 0; i < N; i++)
		put(self, src, i, 1);
	copy = DUP_OK(self->fd, src, LEN, 0, 0);
	put(self, copy, 0, 2);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
#define CCHECK(c) do { if (!(c)) { *fail = __LINE__; _exit(1); } } while (0)
		CCHECK(bad_page(src, self->seeds, N) < 0);
		CCHECK(bad_page(copy, self->seeds, N) < 0);
		if (self->o.shmid >= 0)
			CCHECK(nattch(self->o.shmid) == 4);
		put(self, copy, 1, 10);
		put(self, src, 2, 11);
		CCHECK(bad_page(src, self->seeds, N) < 0);
		CCHECK(bad_page(copy, self->seeds, N) < 0);
		CCHECK(munmap(src, LEN) == 0);
		put(self, copy, 3, 12);
		_exit(0);
#undef CCHECK
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, *fail) TH_LOG("child failed at line %d", *fail);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	self->seeds[1] = 10;
	self->seeds[2] = 11;
	self->seeds[3] = 12;
	ASSERT_VIEW(self, src);
	ASSERT_VIEW(self, copy);
	if (self->o.shmid >= 0)
		ASSERT_EQ(2, nattch(self->o.shmid));
	munmap(copy, LEN);
	munmap(src, LEN);
	munmap((void *)fail, PAGE_SZ);
}

/*
 * A read-only view: the copy is read-only too, and mprotect(PROT_WRITE)
 * does on the copy what it does on the source (allowed for an O_RDWR file
 * and the anonymous kinds, EACCES for an SHM_RDONLY attach).
 */
TEST_F(shared, readonly_view_mprotect_as_source)
{
	char perms[5], *src, *copy;
	int rs, rc, es = 0, ec = 0;

	src = obj_view(&self->o, PROT_READ);
	ASSERT_NE(MAP_FAILED, src);
	copy = DUP_OK(self->fd, src, LEN, 0, 0);
	ASSERT_EQ(0, maps_find((uintptr_t)copy, NULL, NULL, perms, NULL, 0));
	ASSERT_STREQ("r--s", perms);
	ASSERT_EQ(SIGSEGV, access_signal(copy, true));
	rc = mprotect(copy, LEN, PROT_READ | PROT_WRITE);
	if (rc)
		ec = errno;
	rs = mprotect(src, LEN, PROT_READ | PROT_WRITE);
	if (rs)
		es = errno;
	TH_LOG("mprotect(PROT_WRITE): source %d (%s), copy %d (%s)", rs,
	       strerror(es), rc, strerror(ec));
	ASSERT_EQ(rs, rc);
	ASSERT_EQ(es, ec);
	if (self->o.kind == S_SYSV) {
		ASSERT_EQ(EACCES, ec);
	} else {
		ASSERT_EQ(0, rc);
	}
	if (!rc) {
		put(self, copy, 5, 7);
		ASSERT_VIEW(self, src);
	}
	munmap(copy, LEN);
	munmap(src, LEN);
}

/*
 * 16 MiB object, the first half written through the source: the dup adds
 * nothing; the copy writing the whole object allocates the second half
 * once (page cache / shmem, never anonymous memory) and the source reads
 * it; the copy's munmap frees nothing; releasing the object (last view,
 * fd, name or segment id) frees all of it, so the copy held no extra
 * reference.
 */
TEST_F_TIMEOUT(shared, counters_16m, 300)
{
	const size_t n = 4096, len = n * PAGE_SZ;
	const long half = (long)(len / 2 / KiB);
	struct counters c0, c1, c2, c3, c4;
	struct obj big;
	char *src, *copy;
	long shm;

	ASSERT_EQ(0, obj_make(&big, variant->kind, len));
	src = obj_view(&big, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, src);
	pattern_fill(src, len / 2, 1);
	read_counters(&c0);
	copy = DUP_OK(self->fd, src, len, 0, 0);
	read_counters(&c1);
	ASSERT_DELTA("dup", c0, c1, 0, 0, 0);
	shm = obj_is_shmem(&big) ? half : 0;
	pattern_fill(copy, len, 2);
	read_counters(&c2);
	ASSERT_DELTA("copy wrote all", c0, c2, 0, half, shm);
	ASSERT_PATTERN(src, len, 2);
	ASSERT_EQ(0, munmap(copy, len));
	read_counters(&c3);
	ASSERT_DELTA("copy unmapped", c0, c3, 0, half, shm);
	ASSERT_EQ(0, munmap(src, len));
	obj_release(&big);
	read_counters(&c4);
	ASSERT_DELTA("object released", c0, c4, 0, -half,
		     obj_is_shmem(&big) ? -half : 0);
}

/* ---- SysV shm attach counts ------------------------------------------ */

FIXTURE(sysv) {
	int fd;
	int kmsg;
	int id;
};

FIXTURE_SETUP(sysv)
{
	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd);
	self->id = shmget(IPC_PRIVATE, LEN, IPC_CREAT | 0600);
	ASSERT_LE(0, self->id);
}

FIXTURE_TEARDOWN(sysv)
{
	shmctl(self->id, IPC_RMID, NULL);
	close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/*
 * shm_nattch counts every copy (vm_ops->open), munmap and shmdt of a copy
 * drop it (vm_ops->close), and a segment marked for removal lives until
 * its last copy goes.
 */
TEST_F(sysv, nattch_counts_copies)
{
	char *p, *c1, *c2, *c3;

	p = shmat(self->id, NULL, 0);
	ASSERT_NE((void *)-1, p);
	ASSERT_EQ(1, nattch(self->id));
	pattern_fill(p, LEN, 1);
	c1 = DUP_OK(self->fd, p, LEN, 0, 0);
	ASSERT_EQ(2, nattch(self->id));
	c2 = DUP_OK(self->fd, c1, LEN, 0, 0);
	ASSERT_EQ(3, nattch(self->id));
	c3 = DUP_OK(self->fd, p + PAGE_SZ, 2 * PAGE_SZ, 0, 0);
	ASSERT_EQ(4, nattch(self->id));
	ASSERT_PATTERN_AT(c3, 1, 2, 1);
	ASSERT_EQ(0, munmap(c3, 2 * PAGE_SZ));
	ASSERT_EQ(3, nattch(self->id));
	/* shmdt finds a copy of the whole segment like an attach */
	ASSERT_EQ(0, shmdt(c2));
	ASSERT_EQ(2, nattch(self->id));
	ASSERT_EQ(0, maps_count_range((uintptr_t)c2, (uintptr_t)c2 + LEN));
	/* removal waits for the last view, which may be a copy */
	ASSERT_EQ(0, shmctl(self->id, IPC_RMID, NULL));
	ASSERT_EQ(0, shmdt(p));
	ASSERT_EQ(1, nattch(self->id));
	ASSERT_PATTERN(c1, LEN, 1);
	pattern_fill(c1, PAGE_SZ, 2);
	ASSERT_PATTERN(c1, PAGE_SZ, 2);
	ASSERT_EQ(0, munmap(c1, LEN));
	ASSERT_GT(0, nattch(self->id));
}

/* ---- a range mixing kinds --------------------------------------------- */

#define P4	(4 * PAGE_SZ)

FIXTURE(mixed) {
	int fd;
	int kmsg;
	int id;
	int pfd;		/* memfd mapped private */
	int sfd;		/* memfd mapped shared */
};

FIXTURE_SETUP(mixed)
{
	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd);
	self->id = shmget(IPC_PRIVATE, P4, IPC_CREAT | 0600);
	ASSERT_LE(0, self->id);
	self->pfd = memfd_create("cowdup-private", MFD_CLOEXEC);
	self->sfd = memfd_create("cowdup-shared", MFD_CLOEXEC);
	ASSERT_LE(0, self->pfd);
	ASSERT_LE(0, self->sfd);
	ASSERT_EQ(0, file_pattern_write(self->pfd, 0, 4, 2));
	ASSERT_EQ(0, ftruncate(self->sfd, P4));
}

FIXTURE_TEARDOWN(mixed)
{
	shmctl(self->id, IPC_RMID, NULL);
	close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/*
 * [anonymous | private memfd | shared memfd | MAP_SHARED|MAP_ANONYMOUS |
 * SysV shm], 4 pages each, adjacent: one dup makes five VMAs of the same
 * kinds, each behaving per its kind: the first two copy-on-write (the
 * private file's untouched pages follow the file), the last three shared.
 * A FIXED dup over the copy replaces it, SysV attach count included.
 */
TEST_F(mixed, one_call_five_kinds)
{
	char *base, *copy, *p;
	size_t k;

	base = free_range(5 * P4, PAGE_SZ);
	ASSERT_NE(NULL, base);
	p = mmap(base, P4, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ASSERT_EQ(base, p);
	p = mmap(base + P4, P4, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_FIXED_NOREPLACE, self->pfd, 0);
	ASSERT_EQ(base + P4, p);
	p = mmap(base + 2 * P4, P4, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED_NOREPLACE, self->sfd, 0);
	ASSERT_EQ(base + 2 * P4, p);
	p = mmap(base + 3 * P4, P4, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ASSERT_EQ(base + 3 * P4, p);
	p = shmat(self->id, base + 4 * P4, 0);
	ASSERT_EQ(base + 4 * P4, p);
	ASSERT_EQ(5, maps_count_range((uintptr_t)base, (uintptr_t)base + 5 * P4));

	pattern_fill(base, P4, 1);			/* anonymous */
	pattern_fill_at(base + P4 + PAGE_SZ, 1, 1, 12);	/* private: page 1 */
	pattern_fill(base + 2 * P4, P4, 3);		/* shared memfd */
	pattern_fill(base + 3 * P4, P4, 4);		/* shared anon */
	pattern_fill(base + 4 * P4, P4, 5);		/* SysV */

	copy = DUP_OK(self->fd, base, 5 * P4, 0, 0);
	ASSERT_EQ(5, maps_count_range((uintptr_t)copy, (uintptr_t)copy + 5 * P4));
	for (k = 0; k < 5; k++) {
		char ls[512], lc[512];

		ASSERT_EQ(0, maps_line((uintptr_t)base + k * P4, ls, sizeof(ls)));
		ASSERT_EQ(0, maps_line((uintptr_t)copy + k * P4, lc, sizeof(lc)));
		/* from the permissions on: "rw-p 00000000 00:01 1234 name" */
		ASSERT_STREQ(strchr(ls, ' '), strchr(lc, ' '));
	}
	ASSERT_EQ(2, nattch(self->id));
	ASSERT_PATTERN(copy, P4, 1);
	ASSERT_PATTERN_AT(copy + P4, 0, 1, 2);
	ASSERT_PATTERN_AT(copy + P4 + PAGE_SZ, 1, 1, 12);
	ASSERT_PATTERN_AT(copy + P4 + 2 * PAGE_SZ, 2, 2, 2);
	ASSERT_PATTERN(copy + 2 * P4, P4, 3);
	ASSERT_PATTERN(copy + 3 * P4, P4, 4);
	ASSERT_PATTERN(copy + 4 * P4, P4, 5);

	/* page 0 of each part written through the copy */
	for (k = 0; k < 5; k++)
		pattern_fill_at(copy + k * P4, 0, 1, 20 + k);
	ASSERT_PATTERN_AT(base, 0, 1, 1);			/* private */
	ASSERT_PATTERN_AT(base + P4, 0, 1, 2);			/* private */
	ASSERT_EQ(-1, file_pattern_check(self->pfd, 0, 4, 2));
	ASSERT_PATTERN_AT(base + 2 * P4, 0, 1, 22);		/* shared */
	ASSERT_EQ(-1, file_pattern_check(self->sfd, 0, 1, 22));
	ASSERT_PATTERN_AT(base + 3 * P4, 0, 1, 23);
	ASSERT_PATTERN_AT(base + 4 * P4, 0, 1, 24);
	/* page 1 of each part written through the source */
	for (k = 0; k < 5; k++)
		pattern_fill_at(base + k * P4 + PAGE_SZ, 1, 1, 30 + k);
	ASSERT_PATTERN_AT(copy + PAGE_SZ, 1, 1, 1);
	ASSERT_PATTERN_AT(copy + P4 + PAGE_SZ, 1, 1, 12);
	ASSERT_PATTERN_AT(copy + 2 * P4 + PAGE_SZ, 1, 1, 32);
	ASSERT_PATTERN_AT(copy + 3 * P4 + PAGE_SZ, 1, 1, 33);
	ASSERT_PATTERN_AT(copy + 4 * P4 + PAGE_SZ, 1, 1, 34);
	/* the private file's untouched page 2 follows the file, in both */
	ASSERT_EQ(0, file_pattern_write(self->pfd, 2, 1, 40));
	ASSERT_PATTERN_AT(copy + P4 + 2 * PAGE_SZ, 2, 1, 40);
	ASSERT_PATTERN_AT(base + P4 + 2 * PAGE_SZ, 2, 1, 40);

	/* FIXED over the copy: the old copy's attach is dropped */
	p = DUP_OK(self->fd, base, 5 * P4, copy, COWDUP_FIXED);
	ASSERT_EQ(copy, p);
	ASSERT_EQ(2, nattch(self->id));
	ASSERT_PATTERN_AT(copy, 0, 1, 1);
	ASSERT_PATTERN_AT(copy + PAGE_SZ, 1, 1, 30);
	ASSERT_PATTERN_AT(copy + P4 + PAGE_SZ, 1, 1, 31);
	ASSERT_PATTERN_AT(copy + 2 * P4, 0, 1, 22);

	/* the source goes; the copy keeps every part */
	ASSERT_EQ(0, munmap(base, 5 * P4));
	ASSERT_EQ(1, nattch(self->id));
	ASSERT_PATTERN_AT(copy + 2 * PAGE_SZ, 2, 2, 1);
	ASSERT_PATTERN_AT(copy + P4 + 2 * PAGE_SZ, 2, 1, 40);
	ASSERT_PATTERN_AT(copy + P4 + 3 * PAGE_SZ, 3, 1, 2);
	ASSERT_PATTERN_AT(copy + 3 * P4, 0, 1, 23);
	ASSERT_PATTERN_AT(copy + 4 * P4 + PAGE_SZ, 1, 1, 34);
	ASSERT_EQ(0, munmap(copy, 5 * P4));
	ASSERT_EQ(0, nattch(self->id));
	ASSERT_EQ(-1, file_pattern_check(self->pfd, 0, 2, 2));
}

TEST_HARNESS_MAIN
