// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_ioctl: random and edge-case arguments for the ioctls of /dev/cowdup
 * (issue 5, part 5), a fixed number of calls from a printed seed.
 *
 * Each DUP call draws every field from pools of edge cases and random
 * values: the struct size (0, 1, 7, VER0 - 1, VER0, VER0 + 8 with a zero
 * or a non-zero tail, the page size, one more, huge), the flags (every
 * bit), addresses at and across boundaries (0, 4095, mmap_min_addr, just
 * below and at the end of user space, kernel and non-canonical addresses),
 * lengths (0, 1, a page, the rest of a region, across several regions and
 * a hole, huge, wrapping), sources of every kind the process has (private
 * anonymous read-write, read-only and PROT_NONE, MADV_DONTFORK, wipe-on-
 * fork, swapped out, zero page, THP, memfd shared and private, the
 * program's text, its stack, [vdso], [vvar], an io_uring ring), and the
 * argument pointer itself (NULL, kernel, unmapped, read-only, PROT_NONE,
 * straddling a page boundary into each of those).  Half of the calls
 * start from a valid request and change one or two fields, so the checks
 * behind the argument checks are reached too.
 *
 * After every failed call the address space must be unchanged: the call's
 * errno is one of the contract's, and /proc/self/maps is byte-identical to
 * the baseline (read after every failure the argument checks alone do not
 * explain, and after every 16th otherwise).  Where the outcome follows from
 * the arguments alone (size rules, unreadable or unwritable argument,
 * EINVAL checks done before the mmap lock) it must be exactly that.  A
 * successful call is checked: the copy reads what the source reads, lies
 * where it was asked or in free space aligned like the source modulo
 * 2 MiB; it is unmapped again and the maps must be the baseline again.
 * QUERY and INFO are fuzzed the same way (QUERY: holes read NONE, counts
 * equal the vector's tally).  A FIXED dup never aims at memory this
 * program lives in: an exact destination that could succeed lies in a
 * target zone kept for it.
 *
 * Options before the harness's own: --seed N, --calls N (default 20000),
 * or FUZZ_SEED / FUZZ_CALLS.  A failure prints the call and the seed.
 *
 * fail_nth (needs CONFIG_FAULT_INJECTION, the debug kernel): every
 * allocation failure point of a dup of a multi-VMA source, one after the
 * other with /proc/thread-self/fail-nth; each failed dup leaves the maps as
 * they were and its source intact, and nothing leaks (Committed_AS,
 * AnonPages, the module's refcount; kmemleak is the lane's own).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/io_uring.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif

static uint64_t opt_seed;
static long opt_calls = 20000;

#define PICK(arr) ((arr)[rnd(sizeof(arr) / sizeof((arr)[0]))])

/* ---- the process's memory --------------------------------------------- */

enum rkind { R_ANON, R_RO, R_NONE, R_DONTFORK, R_SHARED, R_PRIV_FILE,
	     R_THP, R_SWAP, R_ZERO, R_WIPE, R_TEXT, R_STACK, R_VDSO, R_VVAR,
	     R_RING, R_NR };

struct region {
	uintptr_t s, e;
	const char *name;
	bool cmp;		/* content is static: a copy must equal it */
	bool zero_copy;		/* the copy reads zeroes (wipe-on-fork) */
};

static struct region reg[R_NR];
static uintptr_t task_end, min_addr;
static uintptr_t target, target_end;	/* where exact dups may land */
#define TARGET_PAGES	1024
#define SRC_PAGES	2048

static void set_reg(int k, uintptr_t s, uintptr_t e, const char *name,
		    bool cmp, bool zero_copy)
{
	reg[k].s = s;
	reg[k].e = e;
	reg[k].name = name;
	reg[k].cmp = cmp;
	reg[k].zero_copy = zero_copy;
}

/* Argument areas: two read-write pages then a page of one kind */
enum akind { A_RO, A_NONE, A_HOLE, A_NR };
static char *argarea[A_NR];
static const char *const akind_name[] = { "read-only", "PROT_NONE", "hole" };

static int memfd = -1;
static int mem_fd = -1;		/* /proc/self/mem */
static struct maps_snap base, cur;

/* Is [a, a + n) all mapped with (at least) prot?  From the baseline */
struct bline {
	uintptr_t s, e;
	int prot;
};
#define MAX_BL	2048
static struct bline bl[MAX_BL];
static int nbl;

static void parse_base(void)
{
	const char *p = base.buf, *end = base.buf + base.len;

	nbl = 0;
	while (p < end && nbl < MAX_BL) {
		const char *eol = memchr(p, '\n', end - p);
		unsigned long s, e;
		char perms[5];

		if (!eol)
			eol = end;
		if (sscanf(p, "%lx-%lx %4s", &s, &e, perms) == 3) {
			bl[nbl].s = s;
			bl[nbl].e = e;
			bl[nbl].prot = (perms[0] == 'r' ? PROT_READ : 0) |
				       (perms[1] == 'w' ? PROT_WRITE : 0);
			nbl++;
		}
		p = eol + 1;
	}
}

/* prot of the page at a in the baseline, -1 if unmapped */
static int base_prot(uintptr_t a)
{
	int i;

	for (i = 0; i < nbl; i++)
		if (a >= bl[i].s && a < bl[i].e)
			return bl[i].prot;
	return -1;
}

static bool base_intersects(uintptr_t a, uintptr_t e)
{
	int i;

	for (i = 0; i < nbl; i++)
		if (a < bl[i].e && bl[i].s < e)
			return true;
	return false;
}

/* Every byte of [a, a + n) is user memory with prot (n may wrap: false) */
static bool user_ok(uint64_t a, uint64_t n, int prot)
{
	uint64_t p;

	if (!n)
		return true;
	if (a + n < a || a + n > task_end)
		return false;
	for (p = a & ~(PAGE_SZ - 1); p < a + n; p += PAGE_SZ) {
		int r = base_prot(p);

		if (r < 0 || (r & prot) != prot)
			return false;
	}
	return true;
}

/* ---- report ------------------------------------------------------------ */

static char why[1024];
static char callbuf[512];
static const void *vkey;	/* what kind of violation: its format */

static void fail(const char *fmt, ...)
{
	va_list ap;

	vkey = fmt;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
}

static const char *errname(int e)
{
	switch (e) {
	case 0: return "0";
	case EINVAL: return "EINVAL";
	case EFAULT: return "EFAULT";
	case ENOMEM: return "ENOMEM";
	case EEXIST: return "EEXIST";
	case EPERM: return "EPERM";
	case E2BIG: return "E2BIG";
	case ENOTTY: return "ENOTTY";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EINTR: return "EINTR";
	case EACCES: return "EACCES";
	case EBUSY: return "EBUSY";
	default: return strerror(e);
	}
}

/* ---- the argument ------------------------------------------------------ */

/* Writes n bytes at a through /proc/self/mem, skipping unmapped pages */
static void poke(uintptr_t a, const void *buf, size_t n)
{
	const char *b = buf;

	while (n) {
		size_t k = PAGE_SZ - (a & (PAGE_SZ - 1));

		if (k > n)
			k = n;
		if (base_prot(a) >= 0)
			(void)!pwrite(mem_fd, b, k, (off_t)a);
		a += k;
		b += k;
		n -= k;
	}
}

static void peek(uintptr_t a, void *buf, size_t n)
{
	(void)!pread(mem_fd, buf, n, (off_t)a);
}

/*
 * Where the argument goes: in the first page, straddling from the second
 * page into the third (read-only, PROT_NONE or a hole) at various
 * offsets, in the third page, or at an address that is no memory.
 */
static uintptr_t pick_argp(uint64_t usize, int *akind)
{
	static const uint64_t bad[] = {
		0, 1, 8, 4095, 0xffff888000000000ULL, 0xffffffff81000000ULL,
		0x0000800000000000ULL, 0x8000000000000000ULL, UINT64_MAX - 7,
	};
	static const size_t back[] = { 1, 4, 7, 8, 16, 24, 28, 32, 39, 40,
				       48, 56, 64, 80, 88, 96 };
	unsigned int r = rnd(100);
	int k = rnd(A_NR);

	*akind = k;
	if (r < 45)
		return (uintptr_t)argarea[k] + 8 * rnd(8);
	if (r < 85)
		return (uintptr_t)argarea[k] + 2 * PAGE_SZ - PICK(back);
	if (r < 90)
		return (uintptr_t)argarea[k] + 2 * PAGE_SZ;
	if (r < 95 && usize <= PAGE_SZ)	/* ends right at the boundary */
		return (uintptr_t)argarea[k] + 2 * PAGE_SZ - (usize & ~7ULL);
	*akind = -1;
	return PICK(bad);
}

/*
 * What the generic argument handling must answer (0: it passes).  The
 * module reads the size; checks it against the first version's and the
 * page size; reads the part of the struct it knows and writes it back
 * unchanged (so an output it could not write fails before anything is
 * done); then checks that a larger caller's tail is zero.
 */
static int arg_errno(uintptr_t argp, uint64_t usize, size_t ksize,
		     size_t minsize, uint64_t nz_off)
{
	if (!user_ok(argp, 8, PROT_READ))
		return EFAULT;
	if (usize < minsize)
		return EINVAL;
	if (usize > PAGE_SZ)
		return E2BIG;
	if (!user_ok(argp, ksize < usize ? ksize : usize, PROT_READ | PROT_WRITE))
		return EFAULT;
	if (usize > ksize) {
		/* read in address order: a non-zero byte before a fault wins */
		if (nz_off && user_ok(argp + ksize, nz_off - ksize + 1, PROT_READ))
			return E2BIG;
		if (!user_ok(argp + ksize, usize - ksize, PROT_READ))
			return EFAULT;
		if (nz_off)
			return E2BIG;
	}
	return 0;
}

static const uint64_t size_pool[] = {
	0, 1, 7, 8, 16, 31, 32, 39, 40, 48, 56, 87, 88, 96, 128, 4088,
	4096, 4097, 8192, 1ULL << 32, UINT64_MAX,
};

static uint64_t pick_size(size_t ksize, uint64_t *nz_off)
{
	uint64_t s;

	*nz_off = 0;
	if (chance(55))
		s = ksize;
	else if (chance(20))
		s = ksize + 8 * (1 + rnd(8));
	else if (chance(10))
		s = rnd64();
	else
		s = PICK(size_pool);
	if (s > ksize && s <= PAGE_SZ && chance(40))
		*nz_off = ksize + rnd(s - ksize);	/* where a byte is not 0 */
	return s;
}

/* Fills the argument at argp (size field usize, then fields, tail) */
static void put_arg(uintptr_t argp, uint64_t usize, const void *fields,
		    size_t ksize, uint64_t nz_off)
{
	static unsigned char buf[PAGE_SZ + 64];
	size_t n = usize > ksize ? (usize > PAGE_SZ ? PAGE_SZ : usize) : ksize;

	memset(buf, 0, n);
	memcpy(buf, fields, ksize);
	memcpy(buf, &usize, 8);
	if (nz_off && nz_off < n)
		buf[nz_off] = 1 + rnd(255);
	if (argp >= task_end || argp < PAGE_SZ)
		return;
	poke(argp, buf, n);
}

/* ---- address pools ------------------------------------------------------ */

static uint64_t special_addr(void)
{
	const uint64_t pool[] = {
		0, 1, 4095, PAGE_SZ, min_addr - PAGE_SZ, min_addr,
		min_addr + 1, task_end - 2 * PAGE_SZ, task_end - PAGE_SZ,
		task_end - 1, task_end, task_end + PAGE_SZ,
		0x0000800000000000ULL, 0x00fffffffffff000ULL,
		0xffff800000000000ULL, 0xffff888000000000ULL,
		0xffffffff81000000ULL, 0xffffffffff600000ULL,
		0x8000000000000000ULL, UINT64_MAX - PAGE_SZ + 1, UINT64_MAX,
		target, target + 1, target_end - PAGE_SZ,
	};

	return PICK(pool);
}

static uint64_t region_addr(uint64_t *rlen, int *rk)
{
	int k = rnd(R_NR);
	struct region *r = &reg[k];
	uint64_t n = (r->e - r->s) / PAGE_SZ, off = 0;

	*rk = k;
	if (!r->s) {
		*rlen = PAGE_SZ;
		return special_addr();
	}
	if (chance(40) && n > 1)
		off = rnd(n) * PAGE_SZ;
	*rlen = r->e - r->s - off;
	return r->s + off;
}

static uint64_t pick_len(uint64_t src, uint64_t rlen)
{
	const uint64_t pool[] = {
		0, 1, 7, PAGE_SZ - 1, PAGE_SZ, PAGE_SZ + 1, 2 * PAGE_SZ,
		PMD_SZ, PMD_SZ + PAGE_SZ, 1ULL << 30, 1ULL << 40, 1ULL << 46,
		1ULL << 47, task_end, task_end - PAGE_SZ, task_end + PAGE_SZ,
		1ULL << 63, UINT64_MAX, UINT64_MAX - PAGE_SZ + 1,
		UINT64_MAX - PAGE_SZ + 2, -src, -src + PAGE_SZ,
		task_end - src, task_end - src + PAGE_SZ,
	};
	unsigned int r = rnd(100);

	if (r < 35)
		return rlen;
	if (r < 55)
		return rlen ? PAGE_SZ * (1 + rnd((rlen + PAGE_SZ - 1) / PAGE_SZ))
			    : PAGE_SZ;
	if (r < 62)
		return rlen + PAGE_SZ * (1 + rnd(4));
	if (r < 70)
		return 1 + rnd(rlen ? rlen : PAGE_SZ);
	if (r < 95)
		return PICK(pool);
	return rnd64();
}

/* ---- checks -------------------------------------------------------------- */

static long n_maps_checks;

static bool maps_same(const char *when)
{
	const char *d;

	n_maps_checks++;
	if (maps_snapshot(&cur)) {
		fail("%s: cannot read /proc/self/maps", when);
		return false;
	}
	d = maps_diff(&base, &cur);
	if (d) {
		fail("%s: /proc/self/maps differs from the baseline: %s", when, d);
		vkey = when;
		return false;
	}
	return true;
}

/* ---- violations: recorded, the address space put back, fuzzing goes on */

#define MAX_VIOL	16
static struct viol {
	const void *key;
	long count, first_call;
	char why[1024], call[512];
} viol[MAX_VIOL];
static int nviol;

static void record(long callno)
{
	int i;

	for (i = 0; i < nviol && viol[i].key != vkey; i++)
		;
	if (i == nviol) {
		if (nviol == MAX_VIOL)
			i = MAX_VIOL - 1;
		else
			nviol++;
		viol[i].key = vkey;
		viol[i].first_call = callno;
		memcpy(viol[i].why, why, sizeof(why));
		memcpy(viol[i].call, callbuf, sizeof(callbuf));
	}
	viol[i].count++;
}

static int make_fillers(void);

/*
 * After a violation: unmap what is not in the baseline, as long as it lies
 * in the target zone or in space the baseline had free, and map the target
 * zone's fillers again.  false if the maps cannot be made the baseline.
 */
static bool restore_baseline(void)
{
	const char *p, *end;

	if (maps_snapshot(&cur))
		return false;
	p = cur.buf;
	end = cur.buf + cur.len;
	while (p < end) {
		const char *eol = memchr(p, '\n', end - p);
		unsigned long s, e;
		size_t l;

		if (!eol)
			eol = end;
		l = eol - p + 1;
		if (!memmem(base.buf, base.len, p, l) &&
		    sscanf(p, "%lx-%lx", &s, &e) == 2) {
			if (!(s >= target && e <= target_end) &&
			    base_intersects(s, e))
				return false;
			munmap((void *)s, e - s);
		}
		p = eol + 1;
	}
	if (make_fillers())
		return false;
	return maps_same("after putting the address space back");
}

static unsigned char pa[PAGE_SZ], pb[PAGE_SZ];

/* The copy at d reads what [s, s + n) reads (PROT_NONE through /proc/self/mem) */
static bool copy_matches(uintptr_t s, uintptr_t d, uint64_t n)
{
	uint64_t i;
	int k;

	for (i = 0; i < n; i += PAGE_SZ) {
		const struct region *r = NULL;

		for (k = 0; k < R_NR; k++)
			if (reg[k].s <= s + i && s + i < reg[k].e)
				r = &reg[k];
		if (!r || !r->cmp)
			continue;
		if (pread(mem_fd, pb, PAGE_SZ, (off_t)(d + i)) != (ssize_t)PAGE_SZ) {
			fail("copy page %#lx (of %#lx) cannot be read: %s",
			     (unsigned long)(d + i), (unsigned long)(s + i),
			     strerror(errno));
			return false;
		}
		if (r->zero_copy)
			memset(pa, 0, PAGE_SZ);
		else if (pread(mem_fd, pa, PAGE_SZ, (off_t)(s + i)) !=
			 (ssize_t)PAGE_SZ)
			continue;
		if (memcmp(pa, pb, PAGE_SZ)) {
			fail("copy page %#lx differs from source %#lx (%s)",
			     (unsigned long)(d + i), (unsigned long)(s + i),
			     r->name);
			return false;
		}
	}
	return true;
}

/* Target zone: three small mappings a FIXED dup may replace */
static const struct { size_t off, n; } fillers[] = {
	{ 16, 4 }, { 200, 16 }, { 600, 64 },
};

static int make_fillers(void)
{
	size_t i;

	for (i = 0; i < sizeof(fillers) / sizeof(fillers[0]); i++) {
		void *a = (void *)(target + fillers[i].off * PAGE_SZ);

		if (mmap(a, fillers[i].n * PAGE_SZ, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != a)
			return -errno;
	}
	return 0;
}

/* ---- the fixture --------------------------------------------------------- */

struct ring {
	int fd;
	void *sq;
	size_t len;
};

FIXTURE(fuzz) {
	int fd;
	int kmsg;
	struct ring ring;
	char *src;
	long calls, ok, by_errno[140];
};

static void *map_at(uintptr_t a, size_t n, int prot, int flags, int fd,
		    off_t off)
{
	return mmap((void *)a, n * PAGE_SZ, prot,
		    flags | MAP_FIXED_NOREPLACE, fd, off);
}

FIXTURE_SETUP(fuzz)
{
	uintptr_t s, e, p;
	long v;
	int i;

	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", COWDUP_DEVICE_PATH,
				      strerror(errno));
	mem_fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, mem_fd);
	task_end = user_space_end();
	ASSERT_EQ(0, read_long("/proc/sys/vm/mmap_min_addr", &v));
	min_addr = v;

	/* sources: one 8 MiB area, PMD aligned, regions with gaps */
	self->src = free_range(SRC_PAGES * PAGE_SZ + PMD_SZ, PMD_SZ);
	ASSERT_NE(NULL, self->src);
	p = (uintptr_t)self->src;
	/* anon rw | ro | none, adjacent: ranges across three VMAs */
	ASSERT_NE(MAP_FAILED, map_at(p, 16, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	ASSERT_NE(MAP_FAILED, map_at(p + 16 * PAGE_SZ, 8,
				     PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	ASSERT_EQ(0, madvise((void *)p, 24 * PAGE_SZ, MADV_NOHUGEPAGE));
	pattern_fill((void *)p, 24 * PAGE_SZ, 1);
	ASSERT_EQ(0, mprotect((void *)(p + 16 * PAGE_SZ), 4 * PAGE_SZ, PROT_READ));
	ASSERT_EQ(0, mprotect((void *)(p + 20 * PAGE_SZ), 4 * PAGE_SZ, PROT_NONE));
	set_reg(R_ANON, p, p + 16 * PAGE_SZ, "anon", true, false);
	set_reg(R_RO, p + 16 * PAGE_SZ, p + 20 * PAGE_SZ, "ro", true, false);
	set_reg(R_NONE, p + 20 * PAGE_SZ, p + 24 * PAGE_SZ, "none", true, false);
	/* a page of hole, then MADV_DONTFORK */
	p += 25 * PAGE_SZ;
	ASSERT_NE(MAP_FAILED, map_at(p, 8, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	pattern_fill((void *)p, 8 * PAGE_SZ, 2);
	ASSERT_EQ(0, madvise((void *)p, 8 * PAGE_SZ, MADV_DONTFORK));
	set_reg(R_DONTFORK, p, p + 8 * PAGE_SZ, "dontfork", true, false);
	/* memfd: shared and private views */
	memfd = memfd_create("cowdup-fuzz", MFD_CLOEXEC);
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, 16 * PAGE_SZ));
	p += 9 * PAGE_SZ;
	ASSERT_NE(MAP_FAILED, map_at(p, 8, PROT_READ | PROT_WRITE, MAP_SHARED,
				     memfd, 0));
	pattern_fill((void *)p, 8 * PAGE_SZ, 3);
	set_reg(R_SHARED, p, p + 8 * PAGE_SZ, "memfd shared", true, false);
	p += 9 * PAGE_SZ;
	ASSERT_NE(MAP_FAILED, map_at(p, 8, PROT_READ | PROT_WRITE, MAP_PRIVATE,
				     memfd, 0));
	pattern_fill((void *)p, 4 * PAGE_SZ, 4);	/* half COWed */
	set_reg(R_PRIV_FILE, p, p + 8 * PAGE_SZ, "memfd private", true, false);
	/* a THP, PMD aligned */
	p = ((uintptr_t)self->src + PMD_SZ) & ~(PMD_SZ - 1);
	if (p < reg[R_PRIV_FILE].e + PAGE_SZ)
		p += PMD_SZ;
	ASSERT_NE(MAP_FAILED, map_at(p, PMD_SZ / PAGE_SZ, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	madvise((void *)p, PMD_SZ, MADV_HUGEPAGE);
	pattern_fill((void *)p, PMD_SZ, 5);
	set_reg(R_THP, p, p + PMD_SZ, "thp", true, false);
	p += PMD_SZ + PAGE_SZ;
	/* swapped out */
	ASSERT_NE(MAP_FAILED, map_at(p, 8, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	madvise((void *)p, 8 * PAGE_SZ, MADV_NOHUGEPAGE);
	pattern_fill((void *)p, 8 * PAGE_SZ, 6);
	madvise((void *)p, 8 * PAGE_SZ, MADV_PAGEOUT);
	set_reg(R_SWAP, p, p + 8 * PAGE_SZ, "swapped", true, false);
	p += 9 * PAGE_SZ;
	/* zero page */
	ASSERT_NE(MAP_FAILED, map_at(p, 8, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
				     -1, 0));
	for (i = 0; i < 8; i++)
		(void)*(volatile char *)(p + i * PAGE_SZ);
	set_reg(R_ZERO, p, p + 8 * PAGE_SZ, "zero", true, false);
	p += 9 * PAGE_SZ;
	/* wipe-on-fork: the copy reads zeroes */
	ASSERT_NE(MAP_FAILED, map_at(p, 4, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	pattern_fill((void *)p, 4 * PAGE_SZ, 7);
	ASSERT_EQ(0, madvise((void *)p, 4 * PAGE_SZ, MADV_WIPEONFORK));
	set_reg(R_WIPE, p, p + 4 * PAGE_SZ, "wipeonfork", true, true);
	p += 5 * PAGE_SZ;

	/* the argument areas: rw rw + one kind */
	for (i = 0; i < A_NR; i++) {
		ASSERT_NE(MAP_FAILED, map_at(p, 2, PROT_READ | PROT_WRITE,
					     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
		argarea[i] = (char *)p;
		memset(argarea[i], 0, 2 * PAGE_SZ);
		if (i == A_RO) {
			ASSERT_NE(MAP_FAILED, map_at(p + 2 * PAGE_SZ, 1,
				  PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
		} else if (i == A_NONE) {
			ASSERT_NE(MAP_FAILED, map_at(p + 2 * PAGE_SZ, 1,
				  PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
		}
		p += 4 * PAGE_SZ;
	}
	/* the program's own mappings */
	reg[R_TEXT].name = "text";
	reg[R_STACK].name = "stack";
	reg[R_VDSO].name = "vdso";
	reg[R_VVAR].name = "vvar";
	if (!maps_find((uintptr_t)&fail, &s, &e, NULL, NULL, 0))
		set_reg(R_TEXT, s, e, "text", true, false);
	if (!maps_find_name("[stack]", &s, &e))
		set_reg(R_STACK, e - 16 * PAGE_SZ, e, "stack", false, false);
	if (!maps_find_name("[vdso]", &s, &e))
		set_reg(R_VDSO, s, e, "vdso", false, false);
	if (!maps_find_name("[vvar]", &s, &e))
		set_reg(R_VVAR, s, e, "vvar", false, false);
	/* an io_uring ring: VM_MIXEDMAP / VM_PFNMAP */
	self->ring.fd = -1;
	{
		struct io_uring_params prm;

		memset(&prm, 0, sizeof(prm));
		self->ring.fd = syscall(__NR_io_uring_setup, 4, &prm);
		if (self->ring.fd >= 0) {
			self->ring.len = (prm.sq_off.array + prm.sq_entries * 4 +
					  PAGE_SZ - 1) & ~(PAGE_SZ - 1);
			self->ring.sq = mmap(NULL, self->ring.len,
					     PROT_READ | PROT_WRITE,
					     MAP_SHARED | MAP_POPULATE,
					     self->ring.fd, IORING_OFF_SQ_RING);
			if (self->ring.sq != MAP_FAILED)
				set_reg(R_RING, (uintptr_t)self->ring.sq,
					(uintptr_t)self->ring.sq + self->ring.len,
					"io_uring ring", false, false);
		}
	}
	reg[R_RING].name = reg[R_RING].name ?: "io_uring ring";
	/* the target zone of exact dups */
	target = (uintptr_t)free_range(TARGET_PAGES * PAGE_SZ, PMD_SZ);
	ASSERT_NE(0UL, target);
	target_end = target + TARGET_PAGES * PAGE_SZ;
	ASSERT_EQ(0, make_fillers());
	ASSERT_EQ(0, maps_snapshot(&base));
	parse_base();
}

FIXTURE_TEARDOWN(fuzz)
{
	close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/* ---- DUP ------------------------------------------------------------------ */

struct dupreq {
	int cmd_kind;		/* 0 DUP, 1 other command number */
	unsigned long cmd;
	uintptr_t argp;
	int akind;
	uint64_t usize;
	uint64_t nz_off;	/* offset of a non-zero tail byte, 0: none */
	struct cowdup_dup_args a;
	int src_kind;
};

static const char *rname(int k)
{
	return k >= 0 && k < R_NR ? reg[k].name : "special";
}

static void describe(const struct dupreq *q)
{
	snprintf(callbuf, sizeof(callbuf),
		 "cmd %#lx arg %#lx (%s) size %" PRIu64 "%s: src %#llx (%s) len %#llx dst %#llx flags %#llx",
		 q->cmd, (unsigned long)q->argp,
		 q->akind >= 0 ? akind_name[q->akind] : "no memory", q->usize,
		 q->nz_off ? " (non-zero tail)" : "",
		 (unsigned long long)q->a.src, rname(q->src_kind),
		 (unsigned long long)q->a.len, (unsigned long long)q->a.dst,
		 (unsigned long long)q->a.flags);
}

/* Would a FIXED dup to dst be harmless?  Either certainly refused by
 * the argument checks, or all inside the target zone. */
static bool fixed_dst_safe(const struct cowdup_dup_args *a)
{
	uint64_t alen;

	if (!(a->flags & COWDUP_FIXED) || (a->flags & ~3ULL) ||
	    (a->flags & 3) == 3)
		return true;
	if (!a->len || a->len > task_end || (a->src & (PAGE_SZ - 1)))
		return true;
	alen = (a->len + PAGE_SZ - 1) & ~(PAGE_SZ - 1);
	if (a->src > task_end - alen)
		return true;
	if ((a->dst & (PAGE_SZ - 1)) || a->dst > task_end - alen)
		return true;
	if (a->dst < a->src + alen && a->src < a->dst + alen)
		return true;
	if (a->dst < min_addr)
		return true;
	return a->dst >= target && a->dst + alen <= target_end;
}

/* The EINVAL/EPERM checks done before the mmap lock, 0 if they pass */
static int dup_early_errno(const struct cowdup_dup_args *a)
{
	uint64_t pl = a->flags & 3, alen;

	if (a->flags & ~3ULL)
		return EINVAL;
	if (pl == 3)
		return EINVAL;
	if (!a->len || a->len > task_end || (a->src & (PAGE_SZ - 1)))
		return EINVAL;
	alen = (a->len + PAGE_SZ - 1) & ~(PAGE_SZ - 1);
	if (a->src > task_end - alen)
		return EINVAL;
	if (pl) {
		if ((a->dst & (PAGE_SZ - 1)) || a->dst > task_end - alen)
			return EINVAL;
		if (a->dst < a->src + alen && a->src < a->dst + alen)
			return EINVAL;
		if (a->dst < min_addr)
			return EPERM;
	}
	return 0;
}

static void gen_dup(struct dupreq *q, bool structured)
{
	static const uint64_t flag_pool[] = {
		0, 0, 0, COWDUP_FIXED, COWDUP_FIXED_NOREPLACE,
		COWDUP_FIXED | COWDUP_FIXED_NOREPLACE, 1ULL << 2, 1ULL << 3,
		1ULL << 31, 1ULL << 32, 1ULL << 63, UINT64_MAX,
		COWDUP_FIXED | (1ULL << 5),
	};
	uint64_t rlen;
	unsigned int r;

	memset(q, 0, sizeof(*q));
	q->cmd = COWDUP_IOC_DUP;
	if (chance(3)) {
		/* other command numbers: the DUP number with another size or
		 * direction, unknown numbers of the magic */
		const unsigned long cmds[] = {
			_IOW(COWDUP_IOC_MAGIC, 0x01, struct cowdup_dup_args),
			_IOR(COWDUP_IOC_MAGIC, 0x01, struct cowdup_dup_args),
			_IOWR(COWDUP_IOC_MAGIC, 0x01, __u64),
			_IOWR(COWDUP_IOC_MAGIC, 0x01, struct cowdup_query_args),
			_IOWR(COWDUP_IOC_MAGIC, 0x03, struct cowdup_dup_args),
			_IOWR(COWDUP_IOC_MAGIC, 0xff, struct cowdup_dup_args),
			_IO(COWDUP_IOC_MAGIC, 0x01), 0,
			_IOWR(COWDUP_IOC_MAGIC + 1, 0x01, struct cowdup_dup_args),
		};
		q->cmd_kind = 1;
		q->cmd = PICK(cmds);
	}
	q->a.src = region_addr(&rlen, &q->src_kind);
	if (structured) {
		/* a valid request, then one or two fields changed */
		q->usize = sizeof(q->a);
		q->a.len = chance(50) ? rlen : PAGE_SZ * (1 + rnd(rlen / PAGE_SZ ?: 1));
		if (q->a.len > rlen && rlen)
			q->a.len = rlen;
		r = rnd(100);
		q->a.flags = r < 50 ? 0 : r < 75 ? COWDUP_FIXED : COWDUP_FIXED_NOREPLACE;
		if (q->a.flags) {
			uint64_t room = TARGET_PAGES - (q->a.len + PAGE_SZ - 1) / PAGE_SZ;

			q->a.dst = q->a.len <= TARGET_PAGES * PAGE_SZ ?
				   target + rnd(room + 1) * PAGE_SZ : target;
		} else {
			q->a.dst = chance(50) ? 0 : target + rnd(TARGET_PAGES) * PAGE_SZ;
		}
		switch (rnd(8)) {
		case 0: q->a.len = pick_len(q->a.src, rlen); break;
		case 1: q->a.flags = PICK(flag_pool); break;
		case 2: q->a.dst = special_addr(); break;
		case 3: q->a.src += chance(50) ? 1 + rnd(PAGE_SZ - 1) : PAGE_SZ * rnd(4); break;
		case 4: q->a.dst = q->a.src + PAGE_SZ * rnd(4); break;
		case 5: q->usize = pick_size(sizeof(q->a), &q->nz_off); break;
		case 6: q->a.dst += chance(50) ? 1 + rnd(PAGE_SZ - 1) : PMD_SZ; break;
		default: break;
		}
	} else {
		q->usize = pick_size(sizeof(q->a), &q->nz_off);
		q->a.len = pick_len(q->a.src, rlen);
		q->a.flags = chance(80) ? PICK(flag_pool) : rnd64();
		r = rnd(100);
		if (r < 30)
			q->a.dst = special_addr();
		else if (r < 60)
			q->a.dst = target + rnd(TARGET_PAGES) * PAGE_SZ;
		else if (r < 75)
			q->a.dst = q->a.src + PAGE_SZ * rnd(8) - PAGE_SZ * rnd(2);
		else if (r < 90)
			q->a.dst = (rnd64() & (task_end - 1)) & ~(PAGE_SZ - 1);
		else
			q->a.dst = rnd64();
	}
	/* never aim an exact dup at memory this program lives in */
	if (!fixed_dst_safe(&q->a))
		q->a.dst = chance(50) ? q->a.src : target;
	if (!fixed_dst_safe(&q->a))
		q->a.dst = q->a.src;
	q->argp = pick_argp(q->usize, &q->akind);
}

static bool errno_allowed_dup(int e)
{
	return e == EINVAL || e == EFAULT || e == ENOMEM || e == EEXIST ||
	       e == EPERM;
}

/*
 * One DUP call.  Returns false with why[] set on a violation.
 */
static bool do_dup(FIXTURE_DATA(fuzz) *self, struct dupreq *q)
{
	struct cowdup_dup_args out;
	uint64_t alen;
	int exp, early = 0, r, e;
	uintptr_t d;
	bool out_ok;

	put_arg(q->argp, q->usize, &q->a, sizeof(q->a), q->nz_off);
	exp = q->cmd_kind ? ENOTTY :
	      arg_errno(q->argp, q->usize, sizeof(q->a), COWDUP_DUP_SIZE_VER0,
			q->nz_off);
	/* can the copy's address be written back? */
	out_ok = user_ok(q->argp, sizeof(q->a), PROT_READ | PROT_WRITE);
	if (!exp)
		early = dup_early_errno(&q->a);
	r = ioctl(self->fd, q->cmd, (void *)q->argp);
	e = r ? errno : 0;
	self->calls++;
	self->by_errno[e < 140 ? e : 0]++;
	describe(q);

	if (r && r != -1) {
		fail("ioctl returned %d", r);
		return false;
	}
	if (exp || early) {
		int want = exp ? exp : early;

		if (e != want) {
			fail("expected %s, got %s", errname(want), errname(e));
			if (!e)
				maps_same("after the unexpected success");
			return false;
		}
		/* nothing to see, but look now and then */
		if (self->calls % 16 == 0 && !maps_same("after an argument error"))
			return false;
		return true;
	}
	if (e) {
		if (!errno_allowed_dup(e)) {
			fail("errno %s (%d) is not one of the contract's",
			     errname(e), e);
			maps_same("after it");
			return false;
		}
		return maps_same("after a failed dup");
	}

	/* success: where is the copy, and what does it read */
	self->ok++;
	if (!out_ok) {
		fail("DUP succeeded, but its output (dst) is not writable: where is the copy?");
		return false;
	}
	peek(q->argp, &out, sizeof(out));
	d = out.dst;
	alen = (q->a.len + PAGE_SZ - 1) & ~(PAGE_SZ - 1);
	if (out.size != q->usize || out.src != q->a.src || out.len != q->a.len ||
	    out.flags != q->a.flags) {
		fail("DUP changed input fields of its argument");
		return false;
	}
	if ((q->a.flags & 3) && d != q->a.dst) {
		fail("exact dup landed at %#lx", (unsigned long)d);
		return false;
	}
	if (!(q->a.flags & COWDUP_FIXED) &&
	    base_intersects(d, d + alen)) {
		fail("copy at %#lx over existing memory", (unsigned long)d);
		return false;
	}
	if (!(q->a.flags & 3) && ((d - q->a.src) & (PMD_SZ - 1))) {
		fail("copy at %#lx not aligned like the source modulo 2 MiB",
		     (unsigned long)d);
		return false;
	}
	if ((q->a.flags & COWDUP_FIXED) &&
	    (d < target || d + alen > target_end)) {
		fail("FIXED copy outside the target zone (fuzzer bug)");
		return false;
	}
	if (!copy_matches(q->a.src, d, alen))
		return false;
	if (munmap((void *)d, alen)) {
		fail("munmap of the copy: %s", strerror(errno));
		return false;
	}
	if ((q->a.flags & COWDUP_FIXED) && make_fillers()) {
		fail("cannot map the target zone again");
		return false;
	}
	return maps_same("after unmapping a copy");
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

TEST_F_TIMEOUT(fuzz, dup, 600)
{
	double t0 = now();
	struct dupreq q;
	long i;
	int e;

	rng_seed(opt_seed);
	TH_LOG("seed %" PRIu64 ", %ld calls; user space ends at %#lx, mmap_min_addr %#lx",
	       opt_seed, opt_calls, (unsigned long)task_end,
	       (unsigned long)min_addr);
	for (i = 0; i < opt_calls; i++) {
		gen_dup(&q, chance(50));
		if (do_dup(self, &q))
			continue;
		record(i);
		if (!restore_baseline()) {
			TH_LOG("call %ld: %s", i, callbuf);
			TH_LOG("%s", why);
			TH_LOG("cannot put the address space back: stopping");
			break;
		}
	}
	TH_LOG("%ld DUP calls in %.1f s: %ld succeeded, %ld maps comparisons",
	       self->calls, now() - t0, self->ok, n_maps_checks);
	for (e = 1; e < 140; e++)
		if (self->by_errno[e])
			TH_LOG("  %s: %ld", errname(e), self->by_errno[e]);
	for (e = 0; e < nviol; e++) {
		TH_LOG("VIOLATION x%ld, first at call %ld (replay: fuzz_ioctl --seed %" PRIu64 " --calls %ld -t dup):",
		       viol[e].count, viol[e].first_call, opt_seed,
		       viol[e].first_call + 1);
		TH_LOG("  call: %s", viol[e].call);
		TH_LOG("  %s", viol[e].why);
	}
	ASSERT_EQ(0, nviol);
	ASSERT_TRUE(maps_same("at the end")) TH_LOG("%s", why);
	/* the sources are as they were */
	ASSERT_PATTERN((void *)reg[R_ANON].s, 16 * PAGE_SZ, 1);
	ASSERT_PATTERN((void *)reg[R_THP].s, PMD_SZ, 5);
	ASSERT_PATTERN((void *)reg[R_SWAP].s, 8 * PAGE_SZ, 6);
}

/*
 * The case the fuzzer finds first, alone: the size field (and the input
 * fields) readable and writable, the rest of the struct in a read-only
 * page, so the module can read the request but not write the copy's
 * address back.  An error must leave nothing mapped (the contract); the
 * copy the caller cannot learn the address of must not stay behind.
 */
TEST_F(fuzz, straddling_output_efault)
{
	static const size_t back[] = { 8, 16, 24, 32 };
	struct cowdup_dup_args a;
	size_t i;
	int r, e;

	for (i = 0; i < sizeof(back) / sizeof(back[0]); i++) {
		uintptr_t argp = (uintptr_t)argarea[A_RO] + 2 * PAGE_SZ - back[i];
		const char *d;

		memset(&a, 0, sizeof(a));
		a.size = sizeof(a);
		a.src = reg[R_ANON].s;
		a.len = 4 * PAGE_SZ;
		poke(argp, &a, sizeof(a));
		ASSERT_TRUE(maps_same("before"));
		r = ioctl(self->fd, COWDUP_IOC_DUP, (void *)argp);
		e = r ? errno : 0;
		ASSERT_EQ(0, maps_snapshot(&cur));
		d = maps_diff(&base, &cur);
		TH_LOG("%zu bytes of the struct writable: %s, %s", back[i],
		       e ? errname(e) : "success", d ? "a copy stayed mapped" :
						       "maps unchanged");
		if (d)
			restore_baseline();
		ASSERT_NE(0, e) TH_LOG("success, but the copy's address cannot be returned");
		ASSERT_EQ(EFAULT, e);
		ASSERT_EQ(NULL, d) TH_LOG("EFAULT, but the copy stayed mapped: %s", d);
	}
}

/* ---- QUERY and INFO ------------------------------------------------------- */

#define VEC_BYTES	(64 * 1024)

/* The vector: a buffer right before an unmapped page, or bad addresses */
static uint64_t pick_vec(char *vecbuf, uint64_t npages, bool *vec_ok)
{
	const uint64_t bad[] = {
		8, 4095, 0xffff888000000000ULL, 0x0000800000000000ULL,
		UINT64_MAX - 4095,
		(uintptr_t)argarea[A_RO] + 2 * PAGE_SZ,
		(uintptr_t)argarea[A_NONE] + 2 * PAGE_SZ,
		(uintptr_t)reg[R_RO].s, (uintptr_t)reg[R_TEXT].s,
	};
	unsigned int r = rnd(100);
	uint64_t v;

	*vec_ok = true;
	if (r < 15)
		return 0;
	if (r < 75 && npages <= VEC_BYTES)
		return (uintptr_t)vecbuf + VEC_BYTES - npages;	/* fits */
	if (r < 90) {
		v = (uintptr_t)vecbuf + VEC_BYTES - rnd(64);	/* may not */
		*vec_ok = npages <= (uintptr_t)vecbuf + VEC_BYTES - v;
		return v;
	}
	*vec_ok = false;
	return PICK(bad);
}

TEST_F_TIMEOUT(fuzz, query_info, 300)
{
	char *vecbuf;
	long i, calls = opt_calls / 2, ok = 0;
	double t0 = now();

	rng_seed(opt_seed ^ 0x51);
	/* vector buffer followed by a hole; baseline taken again */
	vecbuf = mmap(NULL, VEC_BYTES + PAGE_SZ, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, vecbuf);
	ASSERT_EQ(0, munmap(vecbuf + VEC_BYTES, PAGE_SZ));
	ASSERT_EQ(0, maps_snapshot(&base));
	parse_base();

	for (i = 0; i < calls; i++) {
		bool info = chance(15), vec_ok = true, bad = false;
		uint64_t tail_nz;
		struct cowdup_query_args qa, out;
		struct cowdup_info ia;
		uint64_t usize, rlen, np = 0, alen = 0;
		uintptr_t argp;
		int akind, rk, exp, r, e;

		usize = pick_size(info ? sizeof(ia) : sizeof(qa), &tail_nz);
		argp = pick_argp(usize, &akind);
		if (info) {
			memset(&ia, 0xa5, sizeof(ia));
			put_arg(argp, usize, &ia, sizeof(ia), tail_nz);
			exp = arg_errno(argp, usize, sizeof(ia),
					COWDUP_INFO_SIZE_VER0, tail_nz);
		} else {
			memset(&qa, 0, sizeof(qa));
			qa.addr = region_addr(&rlen, &rk);
			if (chance(30))
				qa.addr = special_addr();
			qa.len = chance(60) ? rlen : pick_len(qa.addr, rlen);
			if (chance(10))
				qa.addr += 1 + rnd(PAGE_SZ - 1);
			qa.flags = chance(90) ? 0 : chance(50) ? 1ULL << rnd(64) : rnd64();
			if (qa.len && qa.len <= task_end) {
				alen = (qa.len + PAGE_SZ - 1) & ~(PAGE_SZ - 1);
				np = alen / PAGE_SZ;
			}
			qa.vec = pick_vec(vecbuf, np, &vec_ok);
			/* no vector and a huge range: too slow to wait for */
			if (!qa.vec && np > (16ULL << 30) / PAGE_SZ)
				qa.len = alen = 16ULL << 30, np = alen / PAGE_SZ;
			qa.nr_none = 77;	/* output only */
			put_arg(argp, usize, &qa, sizeof(qa), tail_nz);
			exp = arg_errno(argp, usize, sizeof(qa),
					COWDUP_QUERY_SIZE_VER0, tail_nz);
			if (!exp) {
				if (qa.flags || (qa.addr & (PAGE_SZ - 1)) ||
				    !qa.len || qa.len > task_end ||
				    qa.addr > task_end - alen)
					exp = EINVAL;
				else if (!vec_ok)
					exp = EFAULT;
			}
		}
		r = ioctl(self->fd, info ? COWDUP_IOC_INFO : COWDUP_IOC_QUERY,
			  (void *)argp);
		e = r ? errno : 0;
		if (e == EFAULT && !exp && user_ok(argp, 8, PROT_READ | PROT_WRITE) &&
		    !user_ok(argp, usize < (info ? sizeof(ia) : sizeof(qa)) ?
			     usize : (info ? sizeof(ia) : sizeof(qa)),
			     PROT_READ | PROT_WRITE))
			e = -1;		/* output not writable: allowed */
		if (e != exp && e != -1) {
			snprintf(callbuf, sizeof(callbuf),
				 "%s arg %#lx (%s) size %" PRIu64 " addr %#llx len %#llx vec %#llx flags %#llx",
				 info ? "INFO" : "QUERY", (unsigned long)argp,
				 akind >= 0 ? akind_name[akind] : "no memory",
				 usize, (unsigned long long)qa.addr,
				 (unsigned long long)qa.len,
				 (unsigned long long)qa.vec,
				 (unsigned long long)qa.flags);
			TH_LOG("call %ld (seed %" PRIu64 "): %s: expected %s, got %s",
			       i, opt_seed, callbuf, errname(exp), errname(e));
			bad = true;
		}
		ASSERT_FALSE(bad);
		if (e == 0 && !info) {
			uint64_t cnt[6] = { 0 }, k, tot;
			const unsigned char *v = (const unsigned char *)(uintptr_t)qa.vec;

			ok++;
			peek(argp, &out, sizeof(out));
			tot = out.nr_none + out.nr_zero + out.nr_shared +
			      out.nr_exclusive + out.nr_file + out.nr_swap;
			ASSERT_EQ(np, tot) TH_LOG("QUERY %#llx +%#llx: counts add up to %llu",
						  (unsigned long long)qa.addr,
						  (unsigned long long)qa.len,
						  (unsigned long long)tot);
			for (k = 0; v && k < np; k++) {
				unsigned int st = v[k] & COWDUP_PAGE_STATE_MASK;

				ASSERT_LE(st, (unsigned int)COWDUP_PAGE_SWAP);
				cnt[st]++;
				/* holes read NONE */
				if (base_prot(qa.addr + k * PAGE_SZ) < 0)
					ASSERT_EQ(COWDUP_PAGE_NONE, v[k])
						TH_LOG("page %#llx is no mapping",
						       (unsigned long long)(qa.addr + k * PAGE_SZ));
			}
			if (v) {
				ASSERT_EQ(cnt[0], out.nr_none);
				ASSERT_EQ(cnt[1], out.nr_zero);
				ASSERT_EQ(cnt[2], out.nr_shared);
				ASSERT_EQ(cnt[3], out.nr_exclusive);
				ASSERT_EQ(cnt[4], out.nr_file);
				ASSERT_EQ(cnt[5], out.nr_swap);
			}
		} else if (e == 0) {
			struct cowdup_info io;

			ok++;
			peek(argp, &io, sizeof(io));
			ASSERT_EQ((uint64_t)COWDUP_API_VERSION, io.api_version);
		}
		if (e && e != EINVAL && e != E2BIG)
			ASSERT_TRUE(maps_same("after a failed QUERY/INFO")) TH_LOG("%s", why);
	}
	ASSERT_TRUE(maps_same("at the end")) TH_LOG("%s", why);
	TH_LOG("%ld QUERY/INFO calls in %.1f s, %ld succeeded", calls,
	       now() - t0, ok);
	munmap(vecbuf, VEC_BYTES);
}

/*
 * A QUERY of a huge sparse range with no vector walks its pages one by
 * one, batch after batch: however long that takes, a fatal signal must
 * end it soon.  The range is sized from a measured rate to take about
 * half a minute, so that a call deaf to signals costs that, not hours (all
 * of user space, 2^35 pages, 2^44 with 5-level paging, would take hours
 * to days under TCG).
 */
TEST_F_TIMEOUT(fuzz, huge_query_killable, 240)
{
	struct cowdup_query_args qa;
	double t0, t1, rate;
	uint64_t len;
	int status;
	pid_t pid;

	memset(&qa, 0, sizeof(qa));
	qa.size = sizeof(qa);
	qa.addr = 0;
	qa.len = 64ULL << 30;
	t0 = now();
	ASSERT_EQ(0, ioctl(self->fd, COWDUP_IOC_QUERY, &qa));
	t1 = now();
	rate = (double)qa.len / (t1 - t0 > 1e-3 ? t1 - t0 : 1e-3);
	len = (uint64_t)(rate * 30) & ~(PAGE_SZ - 1);
	if (len > task_end || !len)
		len = task_end;
	TH_LOG("QUERY of 64 GiB: %.3f s; the killed one asks for %#llx bytes (%.0f s at that rate)",
	       t1 - t0, (unsigned long long)len, len / rate);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		qa.len = len;
		ioctl(self->fd, COWDUP_IOC_QUERY, &qa);
		_exit(0);
	}
	sleep(2);
	t0 = now();
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	t1 = now();
	TH_LOG("killed after 2 s, gone %.2f s later (%s)", t1 - t0,
	       WIFSIGNALED(status) ? "killed" : "had finished");
	ASSERT_LT(t1 - t0, 10.0) TH_LOG("QUERY does not stop for a fatal signal");
}

/* ---- fail-nth: every allocation failure point of a dup ------------------- */

#define FAILSLAB	"/sys/kernel/debug/failslab/"
#define FAILPAGE	"/sys/kernel/debug/fail_page_alloc/"
#define FAILUSER	"/sys/kernel/debug/fail_usercopy/"

FIXTURE(failnth) {
	int fd;
	int kmsg;
	bool saved;
	bool slab_wait, page_wait, page_highmem;
	long slab_verbose, page_verbose, page_order, user_verbose;
};

/* A debugfs bool ("Y"/"N"); dflt if it cannot be read */
static bool read_yn(const char *path, bool dflt)
{
	char b[8];

	if (read_file(path, b, sizeof(b)) <= 0)
		return dflt;
	return b[0] == 'Y' || b[0] == 'y' || b[0] == '1';
}

FIXTURE_SETUP(failnth)
{
	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd);
	if (!path_exists("/proc/thread-self/fail-nth"))
		SKIP(return, "no fail-nth (CONFIG_FAULT_INJECTION): the debug kernel has it");
	if (!path_exists(FAILSLAB) && !path_exists(FAILPAGE))
		SKIP(return, "neither failslab nor fail_page_alloc in debugfs");
	/* make GFP_KERNEL allocations fail too, and quietly */
	self->slab_wait = read_yn(FAILSLAB "ignore-gfp-wait", true);
	self->page_wait = read_yn(FAILPAGE "ignore-gfp-wait", true);
	self->page_highmem = read_yn(FAILPAGE "ignore-gfp-highmem", true);
	self->slab_verbose = self->page_verbose = 2;
	self->page_order = 1;
	read_long(FAILSLAB "verbose", &self->slab_verbose);
	read_long(FAILPAGE "verbose", &self->page_verbose);
	read_long(FAILPAGE "min-order", &self->page_order);
	self->user_verbose = 2;
	read_long(FAILUSER "verbose", &self->user_verbose);
	self->saved = true;
	write_file(FAILSLAB "ignore-gfp-wait", "N");
	write_long(FAILSLAB "verbose", 0);
	write_file(FAILPAGE "ignore-gfp-wait", "N");
	write_file(FAILPAGE "ignore-gfp-highmem", "N");
	write_long(FAILPAGE "verbose", 0);
	write_long(FAILPAGE "min-order", 0);
	write_long(FAILUSER "verbose", 0);
}

FIXTURE_TEARDOWN_PARENT(failnth)
{
	if (self->saved) {
		write_file(FAILSLAB "ignore-gfp-wait", self->slab_wait ? "Y" : "N");
		write_long(FAILSLAB "verbose", self->slab_verbose);
		write_file(FAILPAGE "ignore-gfp-wait", self->page_wait ? "Y" : "N");
		write_file(FAILPAGE "ignore-gfp-highmem", self->page_highmem ? "Y" : "N");
		write_long(FAILPAGE "verbose", self->page_verbose);
		write_long(FAILPAGE "min-order", self->page_order);
		write_long(FAILUSER "verbose", self->user_verbose);
	}
	close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/*
 * The source: a THP, anonymous pages, a swapped-out part and a read-only
 * part; the dup is placed freely (round 0), FIXED over another mapping
 * (round 1) or FIXED over a copy of the source with some pages written, a
 * restore, which replaces only what differs (round 2).  For each n the
 * n-th allocation of the task fails: the dup either succeeds anyway (the
 * allocation had a fallback) and is right, or fails with ENOMEM (EFAULT
 * where the failure point is a user copy, on kernels with fail_usercopy)
 * leaving the source intact and the maps as they were (rounds 1 and 2: or
 * without what the FIXED dup replaced, as after mmap(MAP_FIXED)).
 * The loop ends at the first n the dup does not reach.
 */
static int failnth_target(int fd, char *dst, char *src, size_t len, int round)
{
	void *d = dst;
	int r;

	if (round == 1)
		return mmap(dst, 8 * PAGE_SZ, PROT_READ, MAP_PRIVATE |
			    MAP_ANONYMOUS | MAP_FIXED, -1, 0) == dst ? 0 : -errno;
	/* a copy there again, over what a failed or done restore left */
	r = cowdup_dup_raw(fd, src, len, &d, COWDUP_FIXED);
	if (r)
		return r;
	/* pages in both halves now differ from the source */
	pattern_fill_at(dst, 3, 2, 4);
	pattern_fill_at(dst + PMD_SZ + 8 * PAGE_SZ, 8, 4, 4);
	return 0;
}

static const char *const failnth_round[] = { "placed", "FIXED", "restore" };

TEST_F_TIMEOUT(failnth, every_allocation_of_a_dup, 900)
{
	const size_t n = PMD_SZ / PAGE_SZ + 64, len = n * PAGE_SZ;
	static struct maps_snap with, without;
	long committed0, anon0, committed1, anon1, refs0;
	int nfd, nth = 0, failed = 0, round;
	char *area, *src, *dst;
	char buf[32];

	area = mmap_aligned(len, PMD_SZ, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS);
	ASSERT_NE(MAP_FAILED, area);
	src = area;
	madvise(src, PMD_SZ, MADV_HUGEPAGE);
	pattern_fill(src, len, 1);
	ASSERT_EQ(0, madvise(src + PMD_SZ, 16 * PAGE_SZ, MADV_PAGEOUT));
	ASSERT_EQ(0, mprotect(src + PMD_SZ + 32 * PAGE_SZ, 8 * PAGE_SZ,
			      PROT_READ));
	dst = free_range(len + PMD_SZ, PMD_SZ);
	ASSERT_NE(NULL, dst);
	nfd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, nfd);
	refs0 = cowdup_refcnt();

	for (round = 0; round < 3; round++) {
		uint64_t flags = round ? COWDUP_FIXED : 0;

		if (round) {
			/* what a FIXED dup replaces, with and without it */
			munmap(dst, len);
			ASSERT_EQ(0, maps_snapshot(&without));
			ASSERT_EQ(0, failnth_target(self->fd, dst, src, len,
						    round));
		}
		ASSERT_EQ(0, maps_snapshot(&with));
		committed0 = meminfo_kb("Committed_AS");
		anon0 = meminfo_kb("AnonPages");
		for (nth = 1; nth < 20000; nth++) {
			void *d = round ? dst : NULL;
			const char *diff;
			int r, left, l;

			/* the countdown runs from this write to the read */
			l = snprintf(buf, sizeof(buf), "%d", nth);
			ASSERT_EQ(l, pwrite(nfd, buf, l, 0));
			r = cowdup_dup_raw(self->fd, src, len, &d, flags);
			/*
			 * With fail_usercopy, reading and resetting the
			 * countdown are user copies too: a read failing with
			 * EFAULT was the n-th point itself (1 was left), and
			 * a reset failing so has consumed the countdown.
			 */
			l = pread(nfd, buf, sizeof(buf) - 1, 0);
			if (l < 0) {
				ASSERT_EQ(EFAULT, errno);
				left = 1;
			} else {
				ASSERT_LT(0, l);
				buf[l] = 0;
				left = atoi(buf);
			}
			if (pwrite(nfd, "0", 1, 0) != 1)
				ASSERT_EQ(EFAULT, errno);
			if (r == 0) {
				ASSERT_PATTERN(d, len, 1);
				ASSERT_PATTERN(src, len, 1);
				if (round < 2)
					ASSERT_EQ(0, munmap(d, len));
				if (round)
					ASSERT_EQ(0, failnth_target(self->fd, dst,
								    src, len, round));
				if (left > 0)
					break;	/* no allocation left to fail */
				continue;
			}
			failed++;
			ASSERT_TRUE(r == -ENOMEM || r == -EFAULT) {
				TH_LOG("fail-nth %d: %s", nth, strerror(-r));
			}
			ASSERT_PATTERN(src, len, 1);
			ASSERT_EQ(0, maps_snapshot(&maps_scratch));
			diff = maps_diff(&with, &maps_scratch);
			if (diff && round && !maps_diff(&without, &maps_scratch)) {
				diff = NULL;	/* the replaced mapping is gone */
				ASSERT_EQ(0, failnth_target(self->fd, dst, src,
							    len, round));
			}
			ASSERT_EQ(NULL, diff) TH_LOG("fail-nth %d: %s", nth, diff);
		}
		committed1 = meminfo_kb("Committed_AS");
		anon1 = meminfo_kb("AnonPages");
		TH_LOG("round %d (%s): %d allocation points, Committed_AS %+ld kB, AnonPages %+ld kB",
		       round, failnth_round[round], nth,
		       committed1 - committed0, anon1 - anon0);
		ASSERT_GT(20000, nth);
		ASSERT_LT(labs(committed1 - committed0), 1024L);
		ASSERT_LT(labs(anon1 - anon0), 1024L);
	}
	ASSERT_EQ(refs0, cowdup_refcnt());
	TH_LOG("%d dups failed by injection, each one clean", failed);
	close(nfd);
	munmap(dst, len);
	munmap(area, len);
}

int main(int argc, char **argv)
{
	char **hargv = calloc(argc + 1, sizeof(char *));
	int i, hargc = 0;
	bool seeded = false;
	const char *e;

	if ((e = getenv("FUZZ_SEED"))) {
		opt_seed = strtoull(e, NULL, 0);
		seeded = true;
	}
	if ((e = getenv("FUZZ_CALLS")))
		opt_calls = strtol(e, NULL, 0);
	hargv[hargc++] = argv[0];
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			opt_seed = strtoull(argv[++i], NULL, 0);
			seeded = true;
		} else if (!strcmp(argv[i], "--calls") && i + 1 < argc) {
			opt_calls = strtol(argv[++i], NULL, 0);
		} else {
			hargv[hargc++] = argv[i];
		}
	}
	if (!seeded) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		opt_seed = ((uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 20 ^
			    (uint64_t)ts.tv_sec) % 1000000000ULL;
	}
	printf("# seed %" PRIu64 "\n", opt_seed);
	fflush(stdout);
	if (opt_calls > 100000) {
		_fuzz_dup_object->timeout = 600 + opt_calls / 50;
		_fuzz_query_info_object->timeout = 300 + opt_calls / 100;
	}
	return test_harness_run(hargc, hargv);
}
