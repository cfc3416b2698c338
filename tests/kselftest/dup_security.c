// SPDX-License-Identifier: GPL-2.0
/*
 * dup_security: a copy never gives more access than a new mmap() of the
 * same thing would (contract section 2, semantics 10 and errors; issue 4):
 *
 * - a read-only file mapping's copy cannot be made writable (mprotect
 *   EACCES, as on the source), /proc/self/mem writes into it never reach
 *   the file, and the Dirty COW race (MADV_DONTNEED against FOLL_FORCE
 *   writes) on a private copy never changes the file;
 * - memfd seals: F_SEAL_WRITE is EBUSY while a writable shared copy
 *   exists and succeeds once it is gone; after F_SEAL_FUTURE_WRITE (or
 *   F_SEAL_WRITE) a writable shared copy is EPERM, a read-only one works
 *   and cannot become writable;
 * - PR_SET_MDWE (6.3+): a writable and executable copy is EACCES;
 * - mseal (6.10+): COWDUP_FIXED over sealed memory is EPERM; a sealed
 *   source can be duplicated and its copy is not sealed.
 * Every refused call leaves /proc/self/maps byte for byte as it was.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE	0x0010
#endif
#ifndef PR_SET_MDWE
#define PR_SET_MDWE		65
#define PR_MDWE_REFUSE_EXEC_GAIN	(1UL << 0)
#endif
#ifndef __NR_mseal
#define __NR_mseal 462
#endif

#define N	16
#define LEN	(N * PAGE_SZ)

/* dup must fail with err and leave the maps as they were */
#define REFUSED(fd, err, s, l, d, f) do { \
	void *__d = (void *)(d); \
	ASSERT_EQ(0, maps_snapshot(&maps_before)); \
	ASSERT_DUP_FAILS(err, (fd), (s), (l), &__d, (f), &maps_before); \
} while (0)

static struct maps_snap maps_before;

/* ---- read-only files ------------------------------------------------- */

enum rokind {
	RO_FD,		/* tmpfs file, opened O_RDONLY */
	RO_TMPFS,	/* file on a read-only tmpfs */
	RO_RAMFS,	/* file on a read-only ramfs (page cache, not shmem) */
};

FIXTURE_VARIANT(rofile) {
	enum rokind kind;
};
FIXTURE(rofile) {
	int dev;
	int kmsg;
	int fd;			/* O_RDONLY */
	char path[64];
};
FIXTURE_VARIANT_ADD(rofile, rdonly_fd) { RO_FD };
FIXTURE_VARIANT_ADD(rofile, ro_tmpfs) { RO_TMPFS };
FIXTURE_VARIANT_ADD(rofile, ro_ramfs) { RO_RAMFS };

FIXTURE_SETUP(rofile)
{
	int w;

	self->kmsg = kmsg_open();
	self->dev = cowdup_open();
	ASSERT_LE(0, self->dev);
	self->path[0] = 0;
	switch (variant->kind) {
	case RO_FD:
		snprintf(self->path, sizeof(self->path),
			 "/tmp/cowdup-ro-XXXXXX");
		w = mkstemp(self->path);
		ASSERT_LE(0, w);
		ASSERT_EQ(0, file_pattern_write(w, 0, N, 1));
		close(w);
		self->fd = open(self->path, O_RDONLY | O_CLOEXEC);
		break;
	case RO_TMPFS:
		self->fd = detached_fs_file("tmpfs", true, N, 1);
		break;
	case RO_RAMFS:
		self->fd = detached_fs_file("ramfs", true, N, 1);
		break;
	}
	ASSERT_LE(0, self->fd) TH_LOG("read-only file: %s",
				      strerror(-self->fd));
	/* nothing can write this file */
	ASSERT_EQ(-1, pwrite(self->fd, "x", 1, 0));
}

FIXTURE_TEARDOWN(rofile)
{
	if (self->path[0])
		unlink(self->path);
	close(self->dev);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/* mprotect(p, len, prot): 0 or errno */
static int mprot(void *p, size_t len, int prot)
{
	return mprotect(p, len, prot) ? errno : 0;
}

/*
 * MAP_SHARED, PROT_READ of an O_RDONLY fd: the copy (and a copy of it,
 * and the copy moved by mremap, and a FIXED copy over writable memory)
 * stays read-only for good, as the source; a /proc/self/mem write fails
 * on it as on the source; the file never changes.
 */
TEST_F(rofile, shared_copy_stays_read_only)
{
	static char page[PAGE_SZ];
	char perms[5], *src, *copy, *cc, *moved, *scratch;
	ssize_t rs, rc;

	src = mmap(NULL, LEN, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, src);
	ASSERT_PATTERN(src, LEN, 1);
	copy = DUP_OK(self->dev, src, LEN, 0, 0);
	ASSERT_EQ(0, maps_find((uintptr_t)copy, NULL, NULL, perms, NULL, 0));
	ASSERT_STREQ("r--s", perms);
	ASSERT_PATTERN(copy, LEN, 1);

	ASSERT_EQ(EACCES, mprot(src, LEN, PROT_READ | PROT_WRITE));
	ASSERT_EQ(EACCES, mprot(copy, LEN, PROT_READ | PROT_WRITE));
	ASSERT_EQ(EACCES, mprot(copy + PAGE_SZ, PAGE_SZ, PROT_WRITE));
	ASSERT_EQ(EACCES, mprot(copy, LEN, PROT_READ | PROT_WRITE | PROT_EXEC));
	ASSERT_EQ(SIGSEGV, access_signal(copy, true));

	cc = DUP_OK(self->dev, copy + 2 * PAGE_SZ, 4 * PAGE_SZ, 0, 0);
	ASSERT_EQ(EACCES, mprot(cc, 4 * PAGE_SZ, PROT_READ | PROT_WRITE));
	moved = mremap(cc, 4 * PAGE_SZ, 4 * PAGE_SZ, MREMAP_MAYMOVE |
		       MREMAP_FIXED, free_range(4 * PAGE_SZ, PAGE_SZ));
	ASSERT_NE(MAP_FAILED, moved);
	ASSERT_EQ(EACCES, mprot(moved, 4 * PAGE_SZ, PROT_READ | PROT_WRITE));
	ASSERT_PATTERN_AT(moved, 2, 4, 1);

	scratch = anon_map(LEN);
	ASSERT_NE(MAP_FAILED, scratch);
	ASSERT_EQ(scratch, DUP_OK(self->dev, src, LEN, scratch, COWDUP_FIXED));
	ASSERT_EQ(EACCES, mprot(scratch, LEN, PROT_READ | PROT_WRITE));
	ASSERT_EQ(SIGSEGV, access_signal(scratch, true));

	pattern_fill_page(page, 3, 7);
	rs = proc_mem_write(src + 3 * PAGE_SZ, page, PAGE_SZ);
	rc = proc_mem_write(copy + 3 * PAGE_SZ, page, PAGE_SZ);
	TH_LOG("/proc/self/mem write: source %zd, copy %zd", rs, rc);
	ASSERT_GT(0, rc);
	ASSERT_EQ(rs, rc);
	ASSERT_PATTERN(copy, LEN, 1);
	ASSERT_PATTERN(src, LEN, 1);
	ASSERT_FILE_PATTERN(self->fd, 0, N, 1);
	munmap(scratch, LEN);
	munmap(moved, 4 * PAGE_SZ);
	munmap(copy, LEN);
	munmap(src, LEN);
}

/*
 * MAP_PRIVATE, PROT_READ of an O_RDONLY fd: a /proc/self/mem write breaks
 * copy-on-write into a private page of the side written only; mprotect
 * makes the private copy writable (as the source: MAP_PRIVATE); the file
 * never changes.
 */
TEST_F(rofile, private_copy_proc_mem_write)
{
	static char page[PAGE_SZ];
	char *src, *copy;

	src = mmap(NULL, LEN, PROT_READ, MAP_PRIVATE, self->fd, 0);
	ASSERT_NE(MAP_FAILED, src);
	ASSERT_PATTERN_AT(src, 0, 4, 1);
	copy = DUP_OK(self->dev, src, LEN, 0, 0);
	pattern_fill_page(page, 1, 9);
	ASSERT_EQ((ssize_t)PAGE_SZ, proc_mem_write(copy + PAGE_SZ, page,
						   PAGE_SZ));
	ASSERT_PATTERN_AT(copy + PAGE_SZ, 1, 1, 9);
	ASSERT_PATTERN(src, LEN, 1);
	ASSERT_FILE_PATTERN(self->fd, 0, N, 1);
	pattern_fill_page(page, 2, 10);
	ASSERT_EQ((ssize_t)PAGE_SZ, proc_mem_write(src + 2 * PAGE_SZ, page,
						   PAGE_SZ));
	ASSERT_PATTERN_AT(copy + 2 * PAGE_SZ, 2, 1, 1);
	ASSERT_FILE_PATTERN(self->fd, 0, N, 1);
	ASSERT_EQ(0, mprot(copy, LEN, PROT_READ | PROT_WRITE));
	pattern_fill_at(copy + 5 * PAGE_SZ, 5, 1, 11);
	ASSERT_PATTERN_AT(src + 5 * PAGE_SZ, 5, 1, 1);
	ASSERT_FILE_PATTERN(self->fd, 0, N, 1);
	/* dropped private pages read the file again */
	ASSERT_EQ(0, madvise(copy, LEN, MADV_DONTNEED));
	ASSERT_PATTERN(copy, LEN, 1);
	munmap(copy, LEN);
	munmap(src, LEN);
}

/* ---- Dirty COW -------------------------------------------------------- */

struct race {
	char *target;		/* the private copy */
	atomic_int stop;
	atomic_ulong writes, write_errors, dontneeds;
};

static void *race_writer(void *arg)
{
	struct race *r = arg;
	static char evil[PAGE_SZ];
	unsigned long i = 0;
	int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);

	memset(evil, 0xee, sizeof(evil));
	while (!atomic_load(&r->stop)) {
		off_t at = (off_t)(uintptr_t)(r->target + (i++ % N) * PAGE_SZ);

		if (pwrite(fd, evil, PAGE_SZ, at) == (ssize_t)PAGE_SZ)
			atomic_fetch_add(&r->writes, 1);
		else
			atomic_fetch_add(&r->write_errors, 1);
	}
	close(fd);
	return NULL;
}

static void *race_dontneed(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->stop)) {
		madvise(r->target, LEN, MADV_DONTNEED);
		atomic_fetch_add(&r->dontneeds, 1);
	}
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The Dirty COW pattern (CVE-2016-5195) on a private read-only copy of a
 * read-only file: FOLL_FORCE writes through /proc/self/mem race
 * MADV_DONTNEED for 2 s, while this thread keeps duplicating the source
 * and the copy.  The file (pread, byte for byte), the source and every
 * dup of the source read the original all along.
 */
TEST_F_TIMEOUT(rofile, dirty_cow_race, 120)
{
	pthread_t tw, td;
	struct race r;
	char *src, *scratch, *d;
	unsigned long dups = 0;
	double end;

	src = mmap(NULL, LEN, PROT_READ, MAP_PRIVATE, self->fd, 0);
	ASSERT_NE(MAP_FAILED, src);
	ASSERT_PATTERN(src, LEN, 1);
	memset(&r, 0, sizeof(r));
	r.target = DUP_OK(self->dev, src, LEN, 0, 0);
	scratch = anon_map(LEN);
	ASSERT_NE(MAP_FAILED, scratch);
	ASSERT_EQ(0, pthread_create(&tw, NULL, race_writer, &r));
	ASSERT_EQ(0, pthread_create(&td, NULL, race_dontneed, &r));
	end = now() + 2.0;
	while (now() < end) {
		d = DUP_OK(self->dev, src, LEN, scratch, COWDUP_FIXED);
		ASSERT_EQ(scratch, d);
		ASSERT_PATTERN(d, LEN, 1);
		d = DUP_OK(self->dev, r.target, LEN, scratch, COWDUP_FIXED);
		ASSERT_EQ(scratch, d);
		ASSERT_PATTERN(src, LEN, 1);
		ASSERT_FILE_PATTERN(self->fd, 0, N, 1);
		dups++;
	}
	atomic_store(&r.stop, 1);
	pthread_join(tw, NULL);
	pthread_join(td, NULL);
	TH_LOG("%lu writes (%lu failed), %lu MADV_DONTNEED, %lu dup rounds",
	       atomic_load(&r.writes), atomic_load(&r.write_errors),
	       atomic_load(&r.dontneeds), dups);
	ASSERT_LT(10UL, atomic_load(&r.writes));
	ASSERT_LT(10UL, atomic_load(&r.dontneeds));
	ASSERT_FILE_PATTERN(self->fd, 0, N, 1);
	ASSERT_PATTERN(src, LEN, 1);
	ASSERT_EQ(0, madvise(r.target, LEN, MADV_DONTNEED));
	ASSERT_PATTERN(r.target, LEN, 1);
	/* a fresh mapping of the file reads it unchanged too */
	d = mmap(NULL, LEN, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, d);
	ASSERT_PATTERN(d, LEN, 1);
	munmap(d, LEN);
	munmap(scratch, LEN);
	munmap(r.target, LEN);
	munmap(src, LEN);
}

/* ---- memfd seals ------------------------------------------------------ */

FIXTURE(seal) {
	int dev;
	int kmsg;
	int mfd;
};

FIXTURE_SETUP(seal)
{
	self->kmsg = kmsg_open();
	self->dev = cowdup_open();
	ASSERT_LE(0, self->dev);
	self->mfd = memfd_create("cowdup-seal", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ASSERT_LE(0, self->mfd);
	ASSERT_EQ(0, file_pattern_write(self->mfd, 0, N, 1));
}

FIXTURE_TEARDOWN(seal)
{
	close(self->mfd);
	close(self->dev);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/* fcntl(F_ADD_SEALS): 0 or errno */
static int add_seals(int fd, int seals)
{
	return fcntl(fd, F_ADD_SEALS, seals) ? errno : 0;
}

/*
 * After a write seal: writes to the memfd are EPERM; a private copy is
 * fine (its writes are its own); a read-only shared view mapped now
 * duplicates, and neither it nor its copy can become writable.
 */
static void after_write_seal(struct __test_metadata *_metadata,
			     FIXTURE_DATA(seal) *self)
{
	char *priv, *pc, *ro, *rc;

	ASSERT_EQ(-1, pwrite(self->mfd, "x", 1, 0));
	ASSERT_EQ(EPERM, errno);
	ASSERT_EQ(MAP_FAILED, mmap(NULL, LEN, PROT_READ | PROT_WRITE,
				   MAP_SHARED, self->mfd, 0));
	ASSERT_EQ(EPERM, errno);

	priv = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		    self->mfd, 0);
	ASSERT_NE(MAP_FAILED, priv);
	pc = DUP_OK(self->dev, priv, LEN, 0, 0);
	pattern_fill(pc, LEN, 5);
	ASSERT_PATTERN(priv, LEN, 1);
	ASSERT_FILE_PATTERN(self->mfd, 0, N, 1);

	ro = mmap(NULL, LEN, PROT_READ, MAP_SHARED, self->mfd, 0);
	ASSERT_NE(MAP_FAILED, ro) TH_LOG("read-only shared mmap: %s",
					 strerror(errno));
	rc = DUP_OK(self->dev, ro, LEN, 0, 0);
	ASSERT_PATTERN(rc, LEN, 1);
	ASSERT_EQ(EACCES, mprot(ro, LEN, PROT_READ | PROT_WRITE));
	ASSERT_EQ(EACCES, mprot(rc, LEN, PROT_READ | PROT_WRITE));
	ASSERT_EQ(SIGSEGV, access_signal(rc, true));
	ASSERT_GT(0, proc_mem_write(rc, "x", 1));
	ASSERT_FILE_PATTERN(self->mfd, 0, N, 1);
	munmap(rc, LEN);
	munmap(ro, LEN);
	munmap(pc, LEN);
	munmap(priv, LEN);
}

/*
 * F_SEAL_WRITE needs no writable shared mapping of the memfd: a writable
 * shared copy counts as one (i_mmap_writable), whichever view goes first;
 * once both are gone the seal takes.
 */
TEST_F(seal, seal_write_ebusy_while_writable_copy)
{
	char *src, *copy;
	int order, mfd = self->mfd;

	for (order = 0; order < 2; order++) {
		if (order) {
			mfd = memfd_create("cowdup-seal2", MFD_CLOEXEC |
					   MFD_ALLOW_SEALING);
			ASSERT_LE(0, mfd);
			ASSERT_EQ(0, file_pattern_write(mfd, 0, N, 1));
		}
		src = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
			   mfd, 0);
		ASSERT_NE(MAP_FAILED, src);
		ASSERT_EQ(EBUSY, add_seals(mfd, F_SEAL_WRITE));
		copy = DUP_OK(self->dev, src, LEN, 0, 0);
		ASSERT_EQ(0, munmap(order ? copy : src, LEN));
		/* the view left is writable: still busy */
		ASSERT_EQ(EBUSY, add_seals(mfd, F_SEAL_WRITE));
		pattern_fill_at(order ? src : copy, 0, 1, 2);
		ASSERT_FILE_PATTERN(mfd, 0, 1, 2);
		pattern_fill_at(order ? src : copy, 0, 1, 1);
		ASSERT_EQ(0, munmap(order ? src : copy, LEN));
		ASSERT_EQ(0, add_seals(mfd, F_SEAL_WRITE));
		if (order)
			close(mfd);
	}
	after_write_seal(_metadata, self);
}

/*
 * A read-only shared view and its copy: F_SEAL_WRITE does exactly what it
 * does with two read-only mmap()s of the same memfd.
 */
TEST_F(seal, seal_write_with_read_only_copy_as_mmap)
{
	char *a, *b, *src, *copy;
	int mfd2, want, got;

	mfd2 = memfd_create("cowdup-seal-ref", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ASSERT_LE(0, mfd2);
	ASSERT_EQ(0, ftruncate(mfd2, LEN));
	a = mmap(NULL, LEN, PROT_READ, MAP_SHARED, mfd2, 0);
	b = mmap(NULL, LEN, PROT_READ, MAP_SHARED, mfd2, 0);
	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	ASSERT_EQ(0, munmap(a, LEN));
	want = add_seals(mfd2, F_SEAL_WRITE);

	src = mmap(NULL, LEN, PROT_READ, MAP_SHARED, self->mfd, 0);
	ASSERT_NE(MAP_FAILED, src);
	copy = DUP_OK(self->dev, src, LEN, 0, 0);
	ASSERT_EQ(0, munmap(src, LEN));
	got = add_seals(self->mfd, F_SEAL_WRITE);
	TH_LOG("F_SEAL_WRITE with a read-only shared view left: mmap %s, "
	       "copy %s", strerror(want), strerror(got));
	ASSERT_EQ(want, got);
	ASSERT_EQ(0, munmap(b, LEN));
	ASSERT_EQ(0, munmap(copy, LEN));
	ASSERT_EQ(0, add_seals(self->mfd, F_SEAL_WRITE));
	close(mfd2);
	after_write_seal(_metadata, self);
}

/*
 * F_SEAL_FUTURE_WRITE leaves the writable view mapped before it alone but
 * refuses new ones: a writable shared copy of it is EPERM (also inside a
 * larger range, and FIXED over other memory, which survives), a read-only
 * shared view mapped after the seal duplicates and stays read-only, a
 * private copy is fine.  A read-only view mapped before the seal: its
 * copy's mprotect does what the source's does.
 */
TEST_F(seal, future_write_seal)
{
	char *src, *ro_before, *ro, *rc, *rcb, *scratch, *a;
	int es, ec;

	/* a free page before the view, for a mixed range */
	a = free_range(PAGE_SZ + LEN, PAGE_SZ);
	ASSERT_NE(NULL, a);
	src = mmap(a + PAGE_SZ, LEN, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_FIXED_NOREPLACE, self->mfd, 0);
	ASSERT_EQ(a + PAGE_SZ, src);
	ASSERT_EQ(a, mmap(a, PAGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE |
			  MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0));
	ro_before = mmap(NULL, LEN, PROT_READ, MAP_SHARED, self->mfd, 0);
	ASSERT_NE(MAP_FAILED, ro_before);
	ASSERT_EQ(0, add_seals(self->mfd, F_SEAL_FUTURE_WRITE));
	ASSERT_EQ(MAP_FAILED, mmap(NULL, LEN, PROT_READ | PROT_WRITE,
				   MAP_SHARED, self->mfd, 0));
	ASSERT_EQ(EPERM, errno);
	ASSERT_EQ(-1, pwrite(self->mfd, "x", 1, 0));

	REFUSED(self->dev, EPERM, src, LEN, 0, 0);
	REFUSED(self->dev, EPERM, src + PAGE_SZ, PAGE_SZ, 0, 0);
	scratch = anon_map(LEN);
	ASSERT_NE(MAP_FAILED, scratch);
	pattern_fill(scratch, LEN, 3);
	REFUSED(self->dev, EPERM, src, LEN, scratch, COWDUP_FIXED);
	ASSERT_PATTERN(scratch, LEN, 3);
	/* [anonymous page | the writable view] */
	REFUSED(self->dev, EPERM, a, PAGE_SZ + LEN, 0, 0);
	REFUSED(self->dev, EPERM, a, 2 * PAGE_SZ, scratch, COWDUP_FIXED);
	ASSERT_PATTERN(scratch, LEN, 3);
	/* the source itself stays writable, as the seal says */
	pattern_fill_at(src, 0, 1, 2);
	ASSERT_FILE_PATTERN(self->mfd, 0, 1, 2);

	ro = mmap(NULL, LEN, PROT_READ, MAP_SHARED, self->mfd, 0);
	ASSERT_NE(MAP_FAILED, ro);
	rc = DUP_OK(self->dev, ro, LEN, 0, 0);
	ASSERT_PATTERN_AT(rc, 0, 1, 2);
	ASSERT_EQ(EACCES, mprot(ro, LEN, PROT_READ | PROT_WRITE));
	ASSERT_EQ(EACCES, mprot(rc, LEN, PROT_READ | PROT_WRITE));
	ASSERT_EQ(SIGSEGV, access_signal(rc, true));
	ASSERT_GT(0, proc_mem_write(rc + PAGE_SZ, "x", 1));
	/* still a view: the source's writes show */
	pattern_fill_at(src + PAGE_SZ, 1, 1, 4);
	ASSERT_PATTERN_AT(rc + PAGE_SZ, 1, 1, 4);

	rcb = DUP_OK(self->dev, ro_before, LEN, 0, 0);
	ec = mprot(rcb, LEN, PROT_READ | PROT_WRITE);
	es = mprot(ro_before, LEN, PROT_READ | PROT_WRITE);
	TH_LOG("view mapped before the seal: mprotect(PROT_WRITE) source %s, "
	       "copy %s", strerror(es), strerror(ec));
	ASSERT_EQ(es, ec);

	/* private copies are not writes to the memfd */
	a = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->mfd, 0);
	ASSERT_NE(MAP_FAILED, a);
	rc = DUP_OK(self->dev, a, LEN, 0, 0);
	pattern_fill(rc, LEN, 6);
	ASSERT_PATTERN_AT(a + 2 * PAGE_SZ, 2, N - 2, 1);
	ASSERT_FILE_PATTERN(self->mfd, 2, N - 2, 1);
}

/* ---- PR_SET_MDWE ------------------------------------------------------ */

FIXTURE(mdwe) {
	int dev;
	int kmsg;
};

FIXTURE_SETUP(mdwe)
{
	self->kmsg = kmsg_open();
	self->dev = cowdup_open();
	ASSERT_LE(0, self->dev);
}

FIXTURE_TEARDOWN(mdwe)
{
	close(self->dev);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/*
 * Under PR_SET_MDWE(REFUSE_EXEC_GAIN) (set in this test's own process:
 * it cannot be cleared) a copy that would be writable and executable is
 * EACCES, as mmap(PROT_WRITE | PROT_EXEC) is, even for memory mapped W+X
 * before the prctl; R-X and RW- copies work and cannot gain exec.
 */
TEST_F(mdwe, wx_copy_eacces)
{
	const int rwx = PROT_READ | PROT_WRITE | PROT_EXEC;
	char *rwx_anon, *rwx_file, *rwx_shared, *rx, *rw, *base, *crw, *crx;
	int mfd;

	mfd = memfd_create("cowdup-mdwe", MFD_CLOEXEC);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, file_pattern_write(mfd, 0, N, 1));
	rwx_anon = mmap(NULL, LEN, rwx, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	rwx_file = mmap(NULL, LEN, rwx, MAP_PRIVATE, mfd, 0);
	rwx_shared = mmap(NULL, LEN, rwx, MAP_SHARED, mfd, 0);
	rx = mmap(NULL, LEN, PROT_READ | PROT_EXEC, MAP_PRIVATE, mfd, 0);
	ASSERT_NE(MAP_FAILED, rwx_anon);
	ASSERT_NE(MAP_FAILED, rwx_file);
	ASSERT_NE(MAP_FAILED, rwx_shared);
	ASSERT_NE(MAP_FAILED, rx);
	rw = anon_map(LEN);
	ASSERT_NE(MAP_FAILED, rw);
	pattern_fill(rw, LEN, 2);
	pattern_fill(rwx_anon, LEN, 3);
	/* [RW- | RWX] adjacent */
	base = free_range(2 * LEN, PAGE_SZ);
	ASSERT_NE(NULL, base);
	ASSERT_EQ(base, mmap(base, 2 * LEN, rwx, MAP_PRIVATE | MAP_ANONYMOUS |
			     MAP_FIXED_NOREPLACE, -1, 0));
	ASSERT_EQ(0, mprotect(base, LEN, PROT_READ | PROT_WRITE));

	if (prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0))
		SKIP(return, "PR_SET_MDWE: %s (before 6.3)", strerror(errno));
	ASSERT_EQ(MAP_FAILED, mmap(NULL, LEN, rwx, MAP_PRIVATE | MAP_ANONYMOUS,
				   -1, 0));
	ASSERT_EQ(EACCES, errno);

	REFUSED(self->dev, EACCES, rwx_anon, LEN, 0, 0);
	REFUSED(self->dev, EACCES, rwx_file, LEN, 0, 0);
	REFUSED(self->dev, EACCES, rwx_shared, LEN, 0, 0);
	REFUSED(self->dev, EACCES, rwx_anon + PAGE_SZ, PAGE_SZ, 0, 0);
	REFUSED(self->dev, EACCES, base, 2 * LEN, 0, 0);
	REFUSED(self->dev, EACCES, base + LEN - PAGE_SZ, 2 * PAGE_SZ, 0, 0);

	crx = DUP_OK(self->dev, rx, LEN, 0, 0);
	ASSERT_PATTERN(crx, LEN, 1);
	crw = DUP_OK(self->dev, rw, LEN, 0, 0);
	ASSERT_PATTERN(crw, LEN, 2);
	ASSERT_EQ(EACCES, mprot(crw, LEN, rwx));
	ASSERT_EQ(EACCES, mprot(crw, LEN, PROT_READ | PROT_EXEC));
	ASSERT_EQ(EACCES, mprot(crx, LEN, rwx));
	/* a FIXED W+X copy over the RW- copy: refused, the copy stays */
	REFUSED(self->dev, EACCES, rwx_anon, LEN, crw, COWDUP_FIXED);
	ASSERT_PATTERN(crw, LEN, 2);
	/* the W+X source itself is left as it was */
	ASSERT_PATTERN(rwx_anon, LEN, 3);
	close(mfd);
}

/* ---- mseal ------------------------------------------------------------ */

FIXTURE(mseal) {
	int dev;
	int kmsg;
	int mfd;
};

FIXTURE_SETUP(mseal)
{
	self->kmsg = kmsg_open();
	self->dev = cowdup_open();
	ASSERT_LE(0, self->dev);
	self->mfd = memfd_create("cowdup-mseal", MFD_CLOEXEC);
	ASSERT_LE(0, self->mfd);
	ASSERT_EQ(0, file_pattern_write(self->mfd, 0, N, 1));
}

FIXTURE_TEARDOWN(mseal)
{
	close(self->mfd);
	close(self->dev);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/*
 * Layout: [private memfd page | anon page | target: 2 pages of a shared
 * memfd view | free page]
 * with the target sealed; priv and shared are file views to copy from.
 */
struct seal_layout {
	char *anon, *target, *priv, *shared;
};

static int seal_layout(int mfd, struct seal_layout *l)
{
	char *r = free_range(5 * PAGE_SZ, PAGE_SZ), *f;

	if (!r)
		return -ENOMEM;
	/* the fixed places first: a later mmap(NULL) could take them */
	f = mmap(r, PAGE_SZ, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_FIXED_NOREPLACE, mfd, 0);
	l->anon = mmap(r + PAGE_SZ, PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	l->target = mmap(r + 2 * PAGE_SZ, 2 * PAGE_SZ, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED_NOREPLACE, mfd, 0);
	if (f != r || l->anon != r + PAGE_SZ || l->target != r + 2 * PAGE_SZ)
		return -EEXIST;
	l->priv = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, mfd, 0);
	l->shared = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (l->priv == MAP_FAILED || l->shared == MAP_FAILED)
		return -ENOMEM;
	pattern_fill(l->anon, PAGE_SZ, 4);
	pattern_fill_at(l->priv, 0, 1, 5);
	if (syscall(__NR_mseal, l->target, 2 * PAGE_SZ, 0))
		return -errno;
	return 0;
}

/*
 * Sealed file-backed memory (a shared memfd view) cannot be replaced by
 * a FIXED copy of a private file, shared file or mixed range, wholly or
 * from its start: EPERM, maps and contents unchanged.
 */
TEST_F(mseal, fixed_over_sealed_file_eperm)
{
	struct seal_layout l;
	int r;

	r = seal_layout(self->mfd, &l);
	if (r == -ENOSYS)
		SKIP(return, "mseal: %s (before 6.10)", strerror(-r));
	ASSERT_EQ(0, r);
	REFUSED(self->dev, EPERM, l.priv, 2 * PAGE_SZ, l.target, COWDUP_FIXED);
	REFUSED(self->dev, EPERM, l.shared, 2 * PAGE_SZ, l.target,
		COWDUP_FIXED);
	REFUSED(self->dev, EPERM, l.priv, PAGE_SZ, l.target + PAGE_SZ,
		COWDUP_FIXED);
	/* from the sealed view into the free page after it */
	REFUSED(self->dev, EPERM, l.priv, 3 * PAGE_SZ, l.target, COWDUP_FIXED);
	/* a mixed source: [private memfd | anonymous] */
	REFUSED(self->dev, EPERM, l.anon - PAGE_SZ, 2 * PAGE_SZ, l.target,
		COWDUP_FIXED);
	ASSERT_PATTERN_AT(l.target, 0, 2, 1);
	ASSERT_PATTERN(l.anon, PAGE_SZ, 4);
	ASSERT_EQ(-1, munmap(l.target, 2 * PAGE_SZ));
	ASSERT_EQ(EPERM, errno);
}

/*
 * A FIXED copy over [unsealed anon page | sealed view]: EPERM, and the
 * contract's "address space unchanged" means /proc/self/maps byte for
 * byte, so the unsealed VMA must not be left split where the copy would
 * have begun.  (The kernel's own mmap(MAP_FIXED) over such a range does
 * leave that split on 6.12; logged for comparison.)
 */
TEST_F(mseal, fixed_from_unsealed_into_sealed_eperm)
{
	struct seal_layout l;
	char *big, *p;
	long before, after;
	int r;

	r = seal_layout(self->mfd, &l);
	if (r == -ENOSYS)
		SKIP(return, "mseal: %s (before 6.10)", strerror(-r));
	ASSERT_EQ(0, r);
	/* a 2-page anonymous VMA before the target, to be split */
	big = mmap(l.anon - PAGE_SZ, 2 * PAGE_SZ, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(l.anon - PAGE_SZ, big);
	pattern_fill(big, 2 * PAGE_SZ, 4);

	before = maps_count();
	p = mmap(l.anon, 2 * PAGE_SZ, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
		 MAP_FIXED, -1, 0);
	after = maps_count();
	TH_LOG("mmap(MAP_FIXED) over it: %s, VMAs %ld -> %ld",
	       p == MAP_FAILED ? strerror(errno) : "mapped", before, after);
	/* undo the kernel's split so the layout is as before */
	ASSERT_EQ(big, mmap(big, 2 * PAGE_SZ, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	pattern_fill(big, 2 * PAGE_SZ, 4);
	ASSERT_EQ(before, maps_count());

	REFUSED(self->dev, EPERM, l.priv, 2 * PAGE_SZ, l.anon, COWDUP_FIXED);
	ASSERT_PATTERN(big, 2 * PAGE_SZ, 4);
	ASSERT_PATTERN_AT(l.target, 0, 2, 1);
}

/* A sealed source (private file view) duplicates; the copy is not sealed */
TEST_F(mseal, sealed_file_source_copy_not_sealed)
{
	struct seal_layout l;
	char *copy;
	int r;

	r = seal_layout(self->mfd, &l);
	if (r == -ENOSYS)
		SKIP(return, "mseal: %s (before 6.10)", strerror(-r));
	ASSERT_EQ(0, r);
	ASSERT_EQ(0, syscall(__NR_mseal, l.priv, LEN, 0));
	copy = DUP_OK(self->dev, l.priv, LEN, 0, 0);
	ASSERT_PATTERN_AT(copy, 0, 1, 5);
	ASSERT_PATTERN_AT(copy + PAGE_SZ, 1, N - 1, 1);
	pattern_fill_at(copy, 0, 1, 6);
	ASSERT_PATTERN_AT(l.priv, 0, 1, 5);
	ASSERT_EQ(0, mprot(copy, LEN, PROT_READ));
	ASSERT_EQ(0, munmap(copy, LEN));
	ASSERT_EQ(-1, munmap(l.priv, LEN));
	ASSERT_EQ(EPERM, errno);
	/* and the sealed shared view: a shared copy, not sealed */
	copy = DUP_OK(self->dev, l.target, 2 * PAGE_SZ, 0, 0);
	pattern_fill_at(copy, 0, 1, 7);
	ASSERT_PATTERN_AT(l.target, 0, 1, 7);
	ASSERT_EQ(0, munmap(copy, 2 * PAGE_SZ));
}

TEST_HARNESS_MAIN
