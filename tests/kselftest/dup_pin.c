// SPDX-License-Identifier: GPL-2.0
/*
 * dup_pin: page references and pins (contract semantics 7).
 *
 * vmsplice takes plain references, not pins: a pipe holding a page of one
 * side must keep the bytes it was given however the other side is written
 * later (the page is shared, so that write has to copy it).
 *
 * io_uring fixed buffers are FOLL_PIN | FOLL_LONGTERM pins: at the dup the
 * pinned pages are copied for the copy, so the pin keeps seeing the
 * source's page, as after fork().  A READ_FIXED into the registered buffer
 * after the dup lands in the source, never in the copy.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"
#include "uring.h"

#define NPAGES	8
#define LEN	(NPAGES * PAGE_SZ)

FIXTURE_VARIANT(splice) {
	bool from_copy;		/* the pipe takes a page of the copy */
	bool unmap;		/* that side is unmapped before the write */
};
FIXTURE(splice) {
	int fd;
	int kmsg;
};
FIXTURE_VARIANT_ADD(splice, copy_page_unmapped) { true, true };
FIXTURE_VARIANT_ADD(splice, source_page_unmapped) { false, true };
FIXTURE_VARIANT_ADD(splice, copy_page_mapped) { true, false };
FIXTURE_VARIANT_ADD(splice, source_page_mapped) { false, false };

FIXTURE_SETUP(splice)
{
	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(splice)
{
	close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

TEST_F(splice, pipe_keeps_old_bytes)
{
	static char buf[PAGE_SZ];
	struct iovec iov;
	char *src, *copy, *spl, *other;
	int p[2];

	src = anon_map(LEN);
	ASSERT_NE(MAP_FAILED, src);
	pattern_fill(src, LEN, 1);
	copy = DUP_OK(self->fd, src, LEN, 0, 0);
	spl = variant->from_copy ? copy : src;
	other = variant->from_copy ? src : copy;

	ASSERT_EQ(0, pipe(p));
	iov.iov_base = spl + 3 * PAGE_SZ;
	iov.iov_len = PAGE_SZ;
	ASSERT_EQ((ssize_t)PAGE_SZ, vmsplice(p[1], &iov, 1, 0));
	if (variant->unmap)
		ASSERT_EQ(0, munmap(spl, LEN));

	/* the other side writes the same page (and all others) */
	pattern_fill(other, LEN, 2);
	ASSERT_PATTERN(other, LEN, 2);
	ASSERT_EQ((ssize_t)PAGE_SZ, read(p[0], buf, PAGE_SZ));
	ASSERT_PAGE_PATTERN(buf, 3, 1);
	if (!variant->unmap) {
		ASSERT_PATTERN(spl, LEN, 1);
		munmap(spl, LEN);
	}
	munmap(other, LEN);
	close(p[0]);
	close(p[1]);
}

/* ---- io_uring fixed buffers ----------------------------------------- */

FIXTURE(uring) {
	int fd;
	int kmsg;
	bool pfns;
	struct ring ring;
	int memfd;
};

FIXTURE_SETUP(uring)
{
	static char data[2 * PAGE_SZ];
	int r;

	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd);
	self->pfns = pagemap_has_pfns();
	self->memfd = -1;
	r = ring_init(&self->ring, 4);
	if (r == -ENOSYS || r == -EPERM)
		SKIP(return, "io_uring disabled: %s", strerror(-r));
	ASSERT_EQ(0, r) TH_LOG("io_uring setup: %s", strerror(-r));
	/* the data the fixed read brings in: pages 2-3 of pattern 4 */
	self->memfd = memfd_create("cowdup-pin", MFD_CLOEXEC);
	ASSERT_LE(0, self->memfd);
	pattern_fill_at(data, 2, 2, 4);
	ASSERT_EQ((ssize_t)sizeof(data),
		  pwrite(self->memfd, data, sizeof(data), 0));
}

FIXTURE_TEARDOWN(uring)
{
	ring_exit(&self->ring);
	if (self->memfd >= 0)
		close(self->memfd);
	close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/*
 * Pages 2-3 of an 8-page source are a registered (pinned) fixed buffer.
 */
TEST_F(uring, fixed_buffer_pin_stays_with_source)
{
	struct io_uring_sqe sqe;
	struct iovec iov;
	char *src, *copy;
	size_t i;
	int r;

	src = anon_map(LEN);
	ASSERT_NE(MAP_FAILED, src);
	pattern_fill(src, LEN, 1);
	iov.iov_base = src + 2 * PAGE_SZ;
	iov.iov_len = 2 * PAGE_SZ;
	r = syscall(__NR_io_uring_register, self->ring.fd,
		    IORING_REGISTER_BUFFERS, &iov, 1);
	if (r < 0 && (errno == EPERM || errno == ENOMEM))
		SKIP(return, "cannot register buffers: %s", strerror(errno));
	ASSERT_EQ(0, r) TH_LOG("IORING_REGISTER_BUFFERS: %s", strerror(errno));

	copy = DUP_OK(self->fd, src, LEN, 0, 0);
	ASSERT_PATTERN(copy, LEN, 1);
	if (self->pfns) {
		/* pinned pages copied at the call, the others shared */
		for (i = 0; i < NPAGES; i++) {
			uint64_t a = pagemap_pfn(pagemap_entry(src + i * PAGE_SZ));
			uint64_t b = pagemap_pfn(pagemap_entry(copy + i * PAGE_SZ));
			bool pinned = i == 2 || i == 3;

			ASSERT_NE(0ULL, a);
			if (pinned) {
				ASSERT_NE(a, b) TH_LOG("pinned page %zu shared", i);
				/* and the source still owns it alone */
				ASSERT_NE(0ULL, pagemap_entry(src + i * PAGE_SZ) &
						PM_MMAP_EXCLUSIVE);
			} else {
				ASSERT_EQ(a, b) TH_LOG("page %zu copied", i);
			}
		}
	}

	/* both sides write everything */
	pattern_fill(copy, LEN, 2);
	pattern_fill(src, LEN, 3);
	ASSERT_PATTERN(copy, LEN, 2);

	/* the fixed read lands where the pin is: in the source */
	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = IORING_OP_READ_FIXED;
	sqe.fd = self->memfd;
	sqe.addr = (uintptr_t)(src + 2 * PAGE_SZ);
	sqe.len = 2 * PAGE_SZ;
	sqe.off = 0;
	sqe.buf_index = 0;
	ASSERT_EQ((int)(2 * PAGE_SZ), ring_run(&self->ring, &sqe));
	ASSERT_PATTERN_AT(src + 2 * PAGE_SZ, 2, 2, 4);
	ASSERT_PATTERN_AT(src, 0, 2, 3);
	ASSERT_PATTERN_AT(src + 4 * PAGE_SZ, 4, 4, 3);
	ASSERT_PATTERN(copy, LEN, 2);

	/* a second dup while still pinned: the same again */
	{
		char *copy2 = DUP_OK(self->fd, src, LEN, 0, 0);

		ASSERT_PATTERN_AT(copy2 + 2 * PAGE_SZ, 2, 2, 4);
		pattern_fill_at(src + 2 * PAGE_SZ, 2, 2, 5);
		ASSERT_PATTERN_AT(copy2 + 2 * PAGE_SZ, 2, 2, 4);
		ASSERT_EQ((int)(2 * PAGE_SZ), ring_run(&self->ring, &sqe));
		ASSERT_PATTERN_AT(src + 2 * PAGE_SZ, 2, 2, 4);
		ASSERT_PATTERN_AT(copy2, 0, 2, 3);
		munmap(copy2, LEN);
	}
	ASSERT_PATTERN(copy, LEN, 2);

	ASSERT_EQ(0, (int)syscall(__NR_io_uring_register, self->ring.fd,
				  IORING_UNREGISTER_BUFFERS, NULL, 0));
	munmap(copy, LEN);
	munmap(src, LEN);
}

/*
 * One page of a large folio mapped by PTEs is pinned (page 7 of the first
 * of two THPs split by PTEs): the walk cannot share that folio's entries
 * as one run, and the pinned page is copied for the copy; the other folio
 * is shared.
 */
TEST_F(uring, pinned_page_of_a_large_folio)
{
	const size_t len = 2 * PMD_SZ, n = len / PAGE_SZ;
	struct io_uring_sqe sqe;
	struct iovec iov;
	char *src, *copy;
	int r;

	src = thp_by_ptes(len, 1);
	if (!src)
		SKIP(return, "no THP to split");
	iov.iov_base = src + 7 * PAGE_SZ;
	iov.iov_len = PAGE_SZ;
	r = syscall(__NR_io_uring_register, self->ring.fd,
		    IORING_REGISTER_BUFFERS, &iov, 1);
	if (r < 0 && (errno == EPERM || errno == ENOMEM))
		SKIP(return, "cannot register buffers: %s", strerror(errno));
	ASSERT_EQ(0, r) TH_LOG("IORING_REGISTER_BUFFERS: %s", strerror(errno));
	ASSERT_TRUE(thp_backed(src));

	copy = DUP_OK(self->fd, src, len, 0, 0);
	ASSERT_PATTERN(copy, len, 1);
	if (self->pfns) {
		ASSERT_NE(pagemap_pfn(pagemap_entry(src + 7 * PAGE_SZ)),
			  pagemap_pfn(pagemap_entry(copy + 7 * PAGE_SZ)));
		ASSERT_NE(0ULL, pagemap_entry(src + 7 * PAGE_SZ) &
				PM_MMAP_EXCLUSIVE);
		ASSERT_EQ(n / 2, pages_same_pfn(src + PMD_SZ, copy + PMD_SZ,
						n / 2));
		ASSERT_EQ(n / 2, pages_mapcount(src + PMD_SZ, n / 2, 2));
	}

	/* the fixed read lands in the source's pinned page only */
	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = IORING_OP_READ_FIXED;
	sqe.fd = self->memfd;
	sqe.addr = (uintptr_t)(src + 7 * PAGE_SZ);
	sqe.len = PAGE_SZ;
	sqe.off = 0;
	sqe.buf_index = 0;
	ASSERT_EQ((int)PAGE_SZ, ring_run(&self->ring, &sqe));
	ASSERT_PATTERN_AT(src + 7 * PAGE_SZ, 2, 1, 4);
	ASSERT_PATTERN(copy, len, 1);
	pattern_fill_at(copy, 0, n, 2);
	ASSERT_PATTERN_AT(src, 0, 7, 1);
	ASSERT_PATTERN_AT(src + 8 * PAGE_SZ, 8, n - 8, 1);

	ASSERT_EQ(0, (int)syscall(__NR_io_uring_register, self->ring.fd,
				  IORING_UNREGISTER_BUFFERS, NULL, 0));
	munmap(copy, len);
	munmap(src, len);
}

/* The copy registered as a fixed buffer after the dup: pins the copy */
TEST_F(uring, fixed_buffer_in_copy)
{
	struct io_uring_sqe sqe;
	struct iovec iov;
	char *src, *copy;
	int r;

	src = anon_map(LEN);
	ASSERT_NE(MAP_FAILED, src);
	pattern_fill(src, LEN, 1);
	copy = DUP_OK(self->fd, src, LEN, 0, 0);
	/* a longterm pin of a COW-shared page unshares it first */
	iov.iov_base = copy + 2 * PAGE_SZ;
	iov.iov_len = 2 * PAGE_SZ;
	r = syscall(__NR_io_uring_register, self->ring.fd,
		    IORING_REGISTER_BUFFERS, &iov, 1);
	if (r < 0 && (errno == EPERM || errno == ENOMEM))
		SKIP(return, "cannot register buffers: %s", strerror(errno));
	ASSERT_EQ(0, r);
	ASSERT_PATTERN(copy, LEN, 1);

	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = IORING_OP_READ_FIXED;
	sqe.fd = self->memfd;
	sqe.addr = (uintptr_t)(copy + 2 * PAGE_SZ);
	sqe.len = 2 * PAGE_SZ;
	ASSERT_EQ((int)(2 * PAGE_SZ), ring_run(&self->ring, &sqe));
	ASSERT_PATTERN_AT(copy + 2 * PAGE_SZ, 2, 2, 4);
	ASSERT_PATTERN(src, LEN, 1);
	ASSERT_EQ(0, (int)syscall(__NR_io_uring_register, self->ring.fd,
				  IORING_UNREGISTER_BUFFERS, NULL, 0));
	munmap(copy, LEN);
	munmap(src, LEN);
}

TEST_HARNESS_MAIN
