// SPDX-License-Identifier: GPL-2.0
/*
 * dev_basic: the device node, COWDUP_IOC_INFO, the size rules every ioctl
 * shares (contract section 1), EFAULT/ENOTTY for bad arguments/commands,
 * and unloading/reloading the module.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#define MISC_MAJOR	10U
#define SENTINEL	0xa5
#define API_VERSION	((__u64)COWDUP_API_VERSION)

/* All three ioctls, with their first published sizes */
static const struct {
	const char *name;
	unsigned long cmd;
	size_t ver0;
	size_t cur;
} ioctls[] = {
	{ "INFO", COWDUP_IOC_INFO, COWDUP_INFO_SIZE_VER0,
	  sizeof(struct cowdup_info) },
	{ "DUP", COWDUP_IOC_DUP, COWDUP_DUP_SIZE_VER0,
	  sizeof(struct cowdup_dup_args) },
	{ "QUERY", COWDUP_IOC_QUERY, COWDUP_QUERY_SIZE_VER0,
	  sizeof(struct cowdup_query_args) },
};
#define NR_IOCTLS (sizeof(ioctls) / sizeof(ioctls[0]))

FIXTURE(dev) {
	int fd;
	int kmsg;
	uint64_t features;
	char *src;		/* 2 pages, pattern 1, for DUP and QUERY */
	unsigned char *vec;	/* QUERY vector, 2 bytes used */
	unsigned char *buf;	/* 3 pages: argument buffer */
	struct maps_snap maps;
};

FIXTURE_SETUP(dev)
{
	struct cowdup_info info;

	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	if (self->fd < 0)
		TH_LOG("open(%s, O_RDWR): %s", COWDUP_DEVICE_PATH,
		       strerror(errno));
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, cowdup_get_info(self->fd, &info));
	self->features = info.features;
	self->src = mmap(NULL, 2 * PAGE_SZ, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->src);
	pattern_fill(self->src, 2 * PAGE_SZ, 1);
	self->vec = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->vec);
	memset(self->vec, SENTINEL, PAGE_SZ);
	self->buf = mmap(NULL, 3 * PAGE_SZ, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
}

FIXTURE_TEARDOWN(dev)
{
	if (self->fd >= 0)
		close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/*
 * Fills self->buf for ioctl i: the struct's input fields valid (a DUP of
 * src, a QUERY of src with vec), the output fields SENTINEL, everything
 * from byte `known` on zero, and `size` in the size field.
 */
static void prep(FIXTURE_DATA(dev) *self, size_t i, uint64_t size)
{
	memset(self->buf, 0, 3 * PAGE_SZ);
	if (ioctls[i].cmd == COWDUP_IOC_INFO) {
		struct cowdup_info *a = (void *)self->buf;

		memset(a, SENTINEL, sizeof(*a));
		a->size = size;
	} else if (ioctls[i].cmd == COWDUP_IOC_DUP) {
		struct cowdup_dup_args *a = (void *)self->buf;

		a->size = size;
		a->src = (uintptr_t)self->src;
		a->len = 2 * PAGE_SZ;
		a->dst = 0;
		a->flags = 0;
	} else {
		struct cowdup_query_args *a = (void *)self->buf;

		memset(a, SENTINEL, sizeof(*a));
		a->size = size;
		a->addr = (uintptr_t)self->src;
		a->len = 2 * PAGE_SZ;
		a->vec = (uintptr_t)self->vec;
		a->flags = 0;
	}
}

static unsigned char saved[3 * PAGE_SZ];

/*
 * COWDUP_IOC_QUERY exists only with COWDUP_FEAT_QUERY; without it the
 * command must be unknown (ENOTTY), and the size rules do not apply.
 */
static bool ioctl_supported(struct __test_metadata *_metadata,
			    FIXTURE_DATA(dev) *self, size_t i)
{
	struct cowdup_query_args q;

	if (ioctls[i].cmd != COWDUP_IOC_QUERY ||
	    (self->features & COWDUP_FEAT_QUERY))
		return true;
	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.addr = (uintptr_t)self->src;
	q.len = PAGE_SZ;
	EXPECT_EQ(-ENOTTY, cowdup_ioctl(self->fd, COWDUP_IOC_QUERY, &q)) {
		TH_LOG("COWDUP_FEAT_QUERY clear, but QUERY is not ENOTTY");
	}
	TH_LOG("COWDUP_FEAT_QUERY clear: QUERY size rules not checked");
	return false;
}

#define REQUIRE_QUERY(self) do { \
	if (!ioctl_supported(_metadata, self, 2)) \
		SKIP(return, "COWDUP_FEAT_QUERY clear (QUERY is ENOTTY)"); \
} while (0)

/* The ioctl failed: nothing it could write has changed */
#define ASSERT_NOTHING_WRITTEN(self) do { \
	long __i; \
	for (__i = 0; __i < (long)(3 * PAGE_SZ); __i++) \
		if (self->buf[__i] != saved[__i]) \
			break; \
	if (__i < (long)(3 * PAGE_SZ)) \
		TH_LOG("argument byte %ld changed 0x%02x -> 0x%02x", __i, \
		       saved[__i], self->buf[__i]); \
	ASSERT_EQ(3 * PAGE_SZ, (size_t)__i); \
	for (__i = 0; __i < (long)PAGE_SZ; __i++) \
		ASSERT_EQ(SENTINEL, self->vec[__i]); \
	ASSERT_PATTERN(self->src, 2 * PAGE_SZ, 1); \
} while (0)

/* Runs ioctl i on self->buf expecting -err; checks nothing changed */
#define ASSERT_IOCTL_FAILS(self, i, err) do { \
	int __r; \
	memcpy(saved, self->buf, sizeof(saved)); \
	ASSERT_EQ(0, maps_snapshot(&self->maps)); \
	__r = cowdup_ioctl(self->fd, ioctls[i].cmd, self->buf); \
	if (__r != -(err)) \
		TH_LOG("%s with size %llu: got %d, expected %d", \
		       ioctls[i].name, \
		       (unsigned long long)*(uint64_t *)self->buf, __r, \
		       -(err)); \
	ASSERT_EQ(-(err), __r); \
	ASSERT_MAPS_UNCHANGED(&self->maps); \
	ASSERT_NOTHING_WRITTEN(self); \
} while (0)

TEST_F(dev, node_is_misc_char_device)
{
	char buf[4096], want[64];
	unsigned int maj, min;
	struct stat st;
	ssize_t n;

	ASSERT_EQ(0, stat(COWDUP_DEVICE_PATH, &st)) {
		TH_LOG("stat(%s): %s", COWDUP_DEVICE_PATH, strerror(errno));
	}
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	ASSERT_EQ(MISC_MAJOR, major(st.st_rdev));
	/* root:root, rw for the owner, no execute or special bits */
	ASSERT_EQ(0U, st.st_uid);
	ASSERT_EQ(0U, st.st_gid);
	ASSERT_EQ(0600U, st.st_mode & 0700);
	ASSERT_EQ(0U, st.st_mode & 07111);
	/*
	 * devtmpfs creates misc nodes 0600 unless the driver asks for
	 * another mode; the contract needs none, 0666 would also be fine.
	 */
	if ((st.st_mode & 07777) != 0600)
		TH_LOG("node mode is %04o (devtmpfs default 0600)",
		       st.st_mode & 07777);
	ASSERT_TRUE((st.st_mode & 07777) == 0600 ||
		    (st.st_mode & 07777) == 0666);

	/* the node is the device the kernel registered */
	n = read_file("/sys/class/misc/cowdup/dev", buf, sizeof(buf));
	ASSERT_LT(0, n);
	ASSERT_EQ(2, sscanf(buf, "%u:%u", &maj, &min));
	ASSERT_EQ(MISC_MAJOR, maj);
	ASSERT_EQ(minor(st.st_rdev), min);
	/* and /proc/misc lists it with the same (dynamic) minor */
	n = read_file("/proc/misc", buf, sizeof(buf));
	ASSERT_LT(0, n);
	snprintf(want, sizeof(want), "%3u cowdup\n", min);
	if (!strstr(buf, want))
		TH_LOG("/proc/misc has no '%3u cowdup': %s", min, buf);
	ASSERT_NE(NULL, strstr(buf, want));

	n = read_file("/proc/mounts", buf, sizeof(buf));
	if (n > 0 && !strstr(buf, "devtmpfs /dev devtmpfs"))
		TH_LOG("note: /dev is not devtmpfs here");
}

TEST_F(dev, open_rdwr_is_the_node)
{
	struct stat a, b;

	ASSERT_EQ(0, fstat(self->fd, &a));
	ASSERT_EQ(0, stat(COWDUP_DEVICE_PATH, &b));
	ASSERT_TRUE(S_ISCHR(a.st_mode));
	ASSERT_EQ(b.st_rdev, a.st_rdev);
	ASSERT_EQ(O_RDWR, fcntl(self->fd, F_GETFL) & O_ACCMODE);
}

TEST_F(dev, info_values)
{
	struct cowdup_info info, again;
	int fd2;

	ASSERT_EQ(0, cowdup_get_info(self->fd, &info));
	ASSERT_EQ(API_VERSION, info.api_version);
	ASSERT_EQ(COWDUP_FIXED | COWDUP_FIXED_NOREPLACE, info.dup_flags);
	/* only defined feature bits */
	ASSERT_EQ(0ULL, info.features & ~(uint64_t)(COWDUP_FEAT_DUP_ANON |
		  COWDUP_FEAT_DUP_FILE | COWDUP_FEAT_DUP_SHARED |
		  COWDUP_FEAT_HUGETLB | COWDUP_FEAT_THP_PMD |
		  COWDUP_FEAT_QUERY));
	TH_LOG("features 0x%llx", (unsigned long long)info.features);
	/* stable across calls and file descriptors */
	ASSERT_EQ(0, cowdup_get_info(self->fd, &again));
	ASSERT_EQ(0, memcmp(&info, &again, sizeof(info)));
	fd2 = cowdup_open();
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, cowdup_get_info(fd2, &again));
	close(fd2);
	ASSERT_EQ(0, memcmp(&info, &again, sizeof(info)));
}

/* Every ioctl: a size below the first published one is EINVAL */
TEST_F(dev, size_below_ver0_einval)
{
	size_t i, k;

	for (i = 0; i < NR_IOCTLS; i++) {
		if (!ioctl_supported(_metadata, self, i))
			continue;
		const uint64_t sizes[] = { 0, 1, 7, 8, 16, ioctls[i].ver0 - 8,
					   ioctls[i].ver0 - 1 };

		for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			prep(self, i, sizes[k]);
			ASSERT_IOCTL_FAILS(self, i, EINVAL);
		}
	}
}

/* INFO: larger size, zero tail: same data, tail and bytes past size kept */
TEST_F(dev, info_larger_size_zero_tail)
{
	struct cowdup_info ref, *a = (void *)self->buf;
	const uint64_t sizes[] = { COWDUP_INFO_SIZE_VER0 + 1,
				   COWDUP_INFO_SIZE_VER0 + 8, 64, 1000,
				   PAGE_SZ - 8, PAGE_SZ };
	size_t k, b;

	ASSERT_EQ(0, cowdup_get_info(self->fd, &ref));
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		prep(self, 0, sizes[k]);
		/* bytes past the caller's size: not part of the argument */
		memset(self->buf + sizes[k], SENTINEL,
		       3 * PAGE_SZ - sizes[k]);
		ASSERT_EQ(0, cowdup_ioctl(self->fd, COWDUP_IOC_INFO, a)) {
			TH_LOG("INFO size %llu", (unsigned long long)sizes[k]);
		}
		ASSERT_EQ(ref.api_version, a->api_version);
		ASSERT_EQ(ref.dup_flags, a->dup_flags);
		ASSERT_EQ(ref.features, a->features);
		for (b = sizeof(*a); b < sizes[k]; b++) {
			ASSERT_EQ(0, self->buf[b]) {
				TH_LOG("size %llu: tail byte %zu written",
				       (unsigned long long)sizes[k], b);
			}
		}
		for (; b < 3 * PAGE_SZ; b++) {
			ASSERT_EQ(SENTINEL, self->buf[b]) {
				TH_LOG("size %llu: byte %zu past size written",
				       (unsigned long long)sizes[k], b);
			}
		}
	}
}

/* Output only up to the caller's size: nothing past sizeof at VER0 size */
TEST_F(dev, info_output_stops_at_size)
{
	struct cowdup_info *a = (void *)self->buf;
	size_t b;

	prep(self, 0, COWDUP_INFO_SIZE_VER0);
	memset(self->buf + COWDUP_INFO_SIZE_VER0, SENTINEL,
	       3 * PAGE_SZ - COWDUP_INFO_SIZE_VER0);
	ASSERT_EQ(0, cowdup_ioctl(self->fd, COWDUP_IOC_INFO, a));
	ASSERT_EQ(API_VERSION, a->api_version);
	for (b = COWDUP_INFO_SIZE_VER0; b < 3 * PAGE_SZ; b++) {
		ASSERT_EQ(SENTINEL, self->buf[b]);
	}
	/*
	 * A size between VER0 and the current sizeof cannot exist yet
	 * (VER0 == sizeof for every struct of API version 1).
	 */
	ASSERT_EQ((size_t)COWDUP_INFO_SIZE_VER0, sizeof(struct cowdup_info));
	ASSERT_EQ((size_t)COWDUP_DUP_SIZE_VER0, sizeof(struct cowdup_dup_args));
	ASSERT_EQ((size_t)COWDUP_QUERY_SIZE_VER0, sizeof(struct cowdup_query_args));
}

/* DUP: a larger size with a zero tail is accepted and duplicates */
TEST_F(dev, dup_larger_size_zero_tail)
{
	const uint64_t sizes[] = { COWDUP_DUP_SIZE_VER0 + 8, 512, PAGE_SZ };
	struct cowdup_dup_args *a = (void *)self->buf;
	size_t k, b;

	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		prep(self, 1, sizes[k]);
		memset(self->buf + sizes[k], SENTINEL, 3 * PAGE_SZ - sizes[k]);
		ASSERT_EQ(0, cowdup_ioctl(self->fd, COWDUP_IOC_DUP, a)) {
			TH_LOG("DUP size %llu", (unsigned long long)sizes[k]);
		}
		ASSERT_NE(0ULL, a->dst);
		ASSERT_NE((uintptr_t)self->src, a->dst);
		ASSERT_PATTERN((char *)(uintptr_t)a->dst, 2 * PAGE_SZ, 1);
		for (b = sizeof(*a); b < sizes[k]; b++) {
			ASSERT_EQ(0, self->buf[b]);
		}
		for (; b < 3 * PAGE_SZ; b++) {
			ASSERT_EQ(SENTINEL, self->buf[b]);
		}
		ASSERT_EQ(0, munmap((void *)(uintptr_t)a->dst, 2 * PAGE_SZ));
	}
}

/* QUERY: a larger size with a zero tail is accepted and answers */
TEST_F(dev, query_larger_size_zero_tail)
{
	const uint64_t sizes[] = { COWDUP_QUERY_SIZE_VER0 + 8, 512, PAGE_SZ };
	struct cowdup_query_args *a = (void *)self->buf;
	size_t k, b;

	REQUIRE_QUERY(self);
	ASSERT_EQ(0, madvise(self->src, 2 * PAGE_SZ, MADV_NOHUGEPAGE));
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		prep(self, 2, sizes[k]);
		memset(self->buf + sizes[k], SENTINEL, 3 * PAGE_SZ - sizes[k]);
		ASSERT_EQ(0, cowdup_ioctl(self->fd, COWDUP_IOC_QUERY, a)) {
			TH_LOG("QUERY size %llu", (unsigned long long)sizes[k]);
		}
		/* two written private pages, mapped once */
		ASSERT_EQ(2ULL, a->nr_exclusive);
		ASSERT_EQ(0ULL, a->nr_none + a->nr_zero + a->nr_shared +
			     a->nr_file + a->nr_swap);
		ASSERT_EQ(COWDUP_PAGE_EXCLUSIVE,
			  self->vec[0] & COWDUP_PAGE_STATE_MASK);
		ASSERT_EQ(COWDUP_PAGE_EXCLUSIVE,
			  self->vec[1] & COWDUP_PAGE_STATE_MASK);
		ASSERT_EQ(SENTINEL, self->vec[2]);
		for (b = sizeof(*a); b < sizes[k]; b++) {
			ASSERT_EQ(0, self->buf[b]);
		}
		for (; b < 3 * PAGE_SZ; b++) {
			ASSERT_EQ(SENTINEL, self->buf[b]);
		}
		memset(self->vec, SENTINEL, PAGE_SZ);
	}
}

/* Every ioctl: a non-zero byte the module does not know is E2BIG */
TEST_F(dev, size_nonzero_tail_e2big)
{
	size_t i, k;

	for (i = 0; i < NR_IOCTLS; i++) {
		if (!ioctl_supported(_metadata, self, i))
			continue;
		const struct { uint64_t size; size_t at; } cases[] = {
			{ ioctls[i].cur + 1, ioctls[i].cur },
			{ ioctls[i].cur + 8, ioctls[i].cur },
			{ ioctls[i].cur + 8, ioctls[i].cur + 7 },
			{ 256, 255 },
			{ PAGE_SZ, ioctls[i].cur + 100 },
			{ PAGE_SZ, PAGE_SZ - 1 },
		};

		for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
			prep(self, i, cases[k].size);
			self->buf[cases[k].at] = 1;
			ASSERT_IOCTL_FAILS(self, i, E2BIG);
		}
	}
}

/* Every ioctl: a size above the page size is E2BIG (even with zero tail) */
TEST_F(dev, size_above_page_e2big)
{
	size_t i, k;
	const uint64_t sizes[] = { PAGE_SZ + 1, PAGE_SZ + 8, 2 * PAGE_SZ,
				   3 * PAGE_SZ, 1ULL << 32, UINT64_MAX };

	for (i = 0; i < NR_IOCTLS; i++) {
		if (!ioctl_supported(_metadata, self, i))
			continue;
		for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			prep(self, i, sizes[k]);
			ASSERT_IOCTL_FAILS(self, i, E2BIG);
		}
	}
}

/* Unreadable argument: NULL, PROT_NONE, straddling into PROT_NONE */
TEST_F(dev, bad_argument_pointer_efault)
{
	char *area;
	size_t i;
	int r;

	area = mmap(NULL, 2 * PAGE_SZ, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	ASSERT_EQ(0, mprotect(area + PAGE_SZ, PAGE_SZ, PROT_NONE));

	for (i = 0; i < NR_IOCTLS; i++) {
		if (!ioctl_supported(_metadata, self, i))
			continue;
		uint64_t *tail = (uint64_t *)(area + PAGE_SZ - 8);

		ASSERT_EQ(0, maps_snapshot(&self->maps));
		r = cowdup_ioctl(self->fd, ioctls[i].cmd, NULL);
		ASSERT_EQ(-EFAULT, r) TH_LOG("%s NULL", ioctls[i].name);
		r = cowdup_ioctl(self->fd, ioctls[i].cmd, area + PAGE_SZ);
		ASSERT_EQ(-EFAULT, r) TH_LOG("%s PROT_NONE", ioctls[i].name);
		/* kernel address */
		r = cowdup_ioctl(self->fd, ioctls[i].cmd,
				 (void *)0xffff888000000000UL);
		ASSERT_EQ(-EFAULT, r) TH_LOG("%s kernel ptr", ioctls[i].name);
		/* size readable, the rest of the struct is not */
		*tail = ioctls[i].cur;
		r = cowdup_ioctl(self->fd, ioctls[i].cmd, tail);
		ASSERT_EQ(-EFAULT, r) TH_LOG("%s straddling", ioctls[i].name);
		ASSERT_EQ(ioctls[i].cur, *tail);
		ASSERT_MAPS_UNCHANGED(&self->maps);
	}
	ASSERT_PATTERN(self->src, 2 * PAGE_SZ, 1);
	munmap(area, 2 * PAGE_SZ);
}

/* INFO's output cannot be written to a read-only argument */
TEST_F(dev, info_readonly_argument_efault)
{
	struct cowdup_info *a;

	a = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, a);
	memset(a, SENTINEL, sizeof(*a));
	a->size = sizeof(*a);
	ASSERT_EQ(0, mprotect(a, PAGE_SZ, PROT_READ));
	ASSERT_EQ(-EFAULT, cowdup_ioctl(self->fd, COWDUP_IOC_INFO, a));
	ASSERT_EQ(sizeof(*a), a->size);
	ASSERT_EQ(0xa5a5a5a5a5a5a5a5ULL, a->api_version);
	munmap(a, PAGE_SZ);
}

/* QUERY with a vector that cannot be written */
TEST_F(dev, query_vec_unwritable_efault)
{
	struct cowdup_query_args *a = (void *)self->buf;
	char *ro;

	REQUIRE_QUERY(self);
	ro = mmap(NULL, PAGE_SZ, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	prep(self, 2, sizeof(*a));
	a->vec = (uintptr_t)ro;
	ASSERT_EQ(0, maps_snapshot(&self->maps));
	ASSERT_EQ(-EFAULT, cowdup_ioctl(self->fd, COWDUP_IOC_QUERY, a));
	ASSERT_MAPS_UNCHANGED(&self->maps);
	prep(self, 2, sizeof(*a));
	a->vec = 8;	/* NULL page, never mapped */
	ASSERT_EQ(-EFAULT, cowdup_ioctl(self->fd, COWDUP_IOC_QUERY, a));
	munmap(ro, PAGE_SZ);
}

/* Command numbers the ABI does not define: ENOTTY, argument untouched */
TEST_F(dev, unknown_commands_enotty)
{
	struct big { __u64 w[5]; };
	const unsigned long cmds[] = {
		_IOWR(COWDUP_IOC_MAGIC, 0x03, struct cowdup_info),
		_IOWR(COWDUP_IOC_MAGIC, 0x04, struct cowdup_dup_args),
		_IOWR(COWDUP_IOC_MAGIC, 0x7f, struct cowdup_info),
		_IOWR(COWDUP_IOC_MAGIC, 0xff, struct cowdup_info),
		_IOWR('x', 0x00, struct cowdup_info),
		_IOWR('x', 0x01, struct cowdup_dup_args),
		_IOWR(COWDUP_IOC_MAGIC + 1, 0x00, struct cowdup_info),
		_IO(COWDUP_IOC_MAGIC, 0x00),
		_IO(COWDUP_IOC_MAGIC, 0x01),
		_IO(COWDUP_IOC_MAGIC, 0x02),
		_IOR(COWDUP_IOC_MAGIC, 0x00, struct cowdup_info),
		_IOW(COWDUP_IOC_MAGIC, 0x00, struct cowdup_info),
		_IOWR(COWDUP_IOC_MAGIC, 0x00, struct big),
		TCGETS, FIONREAD,
	};
	size_t k;

	for (k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		/* a valid INFO argument: only the command is wrong */
		prep(self, 0, sizeof(struct cowdup_info));
		memcpy(saved, self->buf, sizeof(saved));
		ASSERT_EQ(-ENOTTY, cowdup_ioctl(self->fd, cmds[k], self->buf)) {
			TH_LOG("command 0x%lx", cmds[k]);
		}
		ASSERT_EQ(0, memcmp(saved, self->buf, sizeof(saved)));
	}
}

/* The module is pinned by each open file, not by anything else */
TEST_F(dev, refcnt_follows_open_files)
{
	long base = cowdup_refcnt();
	int fd2, fd3;

	ASSERT_LE(1, base);
	fd2 = cowdup_open();
	ASSERT_LE(0, fd2);
	ASSERT_EQ(base + 1, cowdup_refcnt());
	fd3 = dup(fd2);		/* same open file: no new reference */
	ASSERT_EQ(base + 1, cowdup_refcnt());
	close(fd2);
	ASSERT_EQ(base + 1, cowdup_refcnt());
	close(fd3);
	ASSERT_EQ(base, cowdup_refcnt());
	close(self->fd);
	self->fd = -1;
	ASSERT_EQ(base - 1, cowdup_refcnt());
}

static bool node_ok(void)
{
	struct stat st;

	return stat(COWDUP_DEVICE_PATH, &st) == 0 && S_ISCHR(st.st_mode) &&
	       major(st.st_rdev) == MISC_MAJOR;
}

static bool proc_misc_has_cowdup(void)
{
	static char buf[8192];

	if (read_file("/proc/misc", buf, sizeof(buf)) <= 0)
		return false;
	return strstr(buf, " cowdup\n") != NULL;
}

FIXTURE(module) {
	int kmsg;
};

FIXTURE_SETUP(module)
{
	self->kmsg = kmsg_open();
	ASSERT_TRUE(cowdup_loaded()) TH_LOG("module not loaded at start");
	ASSERT_TRUE(path_exists(cowdup_ko_path())) {
		TH_LOG("%s missing (set COWDUP_KO)", cowdup_ko_path());
	}
}

FIXTURE_TEARDOWN(module)
{
	/* leave the module loaded for whatever runs next */
	if (!cowdup_loaded())
		cowdup_insmod();
	ASSERT_KMSG_CLEAN(self->kmsg);
}

TEST_F_TIMEOUT(module, unload_reload_loop, 300)
{
	struct cowdup_info info;
	int i, fd;

	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, cowdup_refcnt()) TH_LOG("round %d", i);
		ASSERT_EQ(0, cowdup_rmmod()) TH_LOG("rmmod, round %d", i);
		ASSERT_FALSE(cowdup_loaded());
		ASSERT_FALSE(path_exists(COWDUP_DEVICE_PATH));
		ASSERT_FALSE(proc_misc_has_cowdup());
		fd = cowdup_open();
		ASSERT_EQ(-1, fd);
		ASSERT_EQ(ENOENT, errno);

		ASSERT_EQ(0, cowdup_insmod()) TH_LOG("insmod, round %d", i);
		ASSERT_TRUE(cowdup_loaded());
		ASSERT_TRUE(node_ok());
		ASSERT_TRUE(proc_misc_has_cowdup());
		fd = cowdup_open();
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, cowdup_get_info(fd, &info));
		ASSERT_EQ(API_VERSION, info.api_version);
		close(fd);
	}
}

TEST_F_TIMEOUT(module, rmmod_fails_while_open, 120)
{
	struct cowdup_info info;
	int fd, r, p[2];
	pid_t pid;
	char c;

	fd = cowdup_open();
	ASSERT_LE(0, fd);
	ASSERT_LE(1, cowdup_refcnt());

	/* busybox rmmod: non-zero exit */
	ASSERT_NE(0, cowdup_rmmod());
	ASSERT_TRUE(cowdup_loaded());
	/* the syscall itself: busy (EWOULDBLOCK from the refcount) */
	r = syscall(SYS_delete_module, "cowdup", O_NONBLOCK);
	ASSERT_EQ(-1, r);
	ASSERT_TRUE(errno == EWOULDBLOCK || errno == EBUSY) {
		TH_LOG("delete_module: %s", strerror(errno));
	}
	ASSERT_TRUE(cowdup_loaded());
	ASSERT_TRUE(node_ok());
	ASSERT_EQ(0, cowdup_get_info(fd, &info));
	ASSERT_EQ(API_VERSION, info.api_version);

	/* an fd inherited over fork keeps it busy after the parent closes */
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd2 = open(COWDUP_DEVICE_PATH, O_RDWR);

		close(p[1]);
		close(fd);
		/* wait until the parent has tried rmmod */
		r = read(p[0], &c, 1);
		_exit(fd2 >= 0 && cowdup_get_info(fd2, &info) == 0 &&
		      info.api_version == COWDUP_API_VERSION ? 0 : 1);
	}
	close(p[0]);
	close(fd);
	/* the child holds our fd's file, or its own */
	r = syscall(SYS_delete_module, "cowdup", O_NONBLOCK);
	ASSERT_EQ(-1, r);
	ASSERT_EQ(1, write(p[1], "x", 1));
	close(p[1]);
	ASSERT_EQ(pid, waitpid(pid, &r, 0));
	ASSERT_TRUE(WIFEXITED(r));
	ASSERT_EQ(0, WEXITSTATUS(r));

	/* all files closed: it unloads (and comes back) */
	ASSERT_EQ(0, cowdup_refcnt());
	ASSERT_EQ(0, cowdup_rmmod());
	ASSERT_FALSE(path_exists(COWDUP_DEVICE_PATH));
	ASSERT_EQ(0, cowdup_insmod());
	ASSERT_TRUE(node_ok());
}

TEST_HARNESS_MAIN
