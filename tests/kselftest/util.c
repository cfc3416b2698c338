// SPDX-License-Identifier: GPL-2.0
/* Helpers shared by the cowdup kselftest programs (see util.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

struct maps_snap maps_scratch;

/* ---- device ---------------------------------------------------------- */

const char *cowdup_ko_path(void)
{
	const char *p = getenv("COWDUP_KO");

	return (p && *p) ? p : "/cowdup/cowdup.ko";
}

int cowdup_open(void)
{
	return open(COWDUP_DEVICE_PATH, O_RDWR | O_CLOEXEC);
}

int cowdup_ioctl(int fd, unsigned long cmd, void *arg)
{
	int r = ioctl(fd, cmd, arg);

	return r < 0 ? -errno : r;
}

int cowdup_get_info(int fd, struct cowdup_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return cowdup_ioctl(fd, COWDUP_IOC_INFO, info);
}

int cowdup_dup_raw(int fd, void *src, size_t len, void **dst, uint64_t flags)
{
	struct cowdup_dup_args a;
	int r;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.src = (uintptr_t)src;
	a.len = len;
	a.dst = (uintptr_t)*dst;
	a.flags = flags;
	r = cowdup_ioctl(fd, COWDUP_IOC_DUP, &a);
	if (r == 0)
		*dst = (void *)(uintptr_t)a.dst;
	return r;
}

/* ---- patterns -------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint64_t page_base(uint64_t seed, size_t page)
{
	return mix64(seed * 0x9e3779b97f4a7c15ULL + page + 1);
}

uint64_t pattern_word(uint64_t seed, size_t page, size_t word)
{
	if (!seed)
		return 0;
	return page_base(seed, page) + word * 0x9e3779b97f4a7c15ULL;
}

void pattern_fill_page(void *p, size_t page_index, uint64_t seed)
{
	uint64_t *w = p, base, v;
	size_t i;

	if (!seed) {
		memset(p, 0, PAGE_SZ);
		return;
	}
	base = page_base(seed, page_index);
	for (i = 0, v = base; i < PAGE_SZ / 8; i++, v += 0x9e3779b97f4a7c15ULL)
		w[i] = v;
}

void pattern_fill(void *p, size_t len, uint64_t seed)
{
	size_t i;

	for (i = 0; i < len / PAGE_SZ; i++)
		pattern_fill_page((char *)p + i * PAGE_SZ, i, seed);
}

long pattern_check_page(const void *p, size_t page_index, uint64_t seed)
{
	const uint64_t *w = p;
	uint64_t v = seed ? page_base(seed, page_index) : 0;
	uint64_t step = seed ? 0x9e3779b97f4a7c15ULL : 0;
	size_t i, b;

	for (i = 0; i < PAGE_SZ / 8; i++, v += step) {
		if (w[i] == v)
			continue;
		for (b = 0; b < 8; b++)
			if (((const unsigned char *)&w[i])[b] !=
			    ((const unsigned char *)&v)[b])
				return (long)(i * 8 + b);
	}
	return -1;
}

long pattern_check(const void *p, size_t len, uint64_t seed)
{
	size_t i;
	long off;

	for (i = 0; i < len / PAGE_SZ; i++) {
		off = pattern_check_page((const char *)p + i * PAGE_SZ, i, seed);
		if (off >= 0)
			return (long)(i * PAGE_SZ) + off;
	}
	return -1;
}

long pattern_check_at(const void *p, size_t first, size_t npages,
		      uint64_t seed)
{
	size_t i;
	long off;

	for (i = 0; i < npages; i++) {
		off = pattern_check_page((const char *)p + i * PAGE_SZ,
					 first + i, seed);
		if (off >= 0)
			return (long)(i * PAGE_SZ) + off;
	}
	return -1;
}

void pattern_fill_at(void *p, size_t first, size_t npages, uint64_t seed)
{
	size_t i;

	for (i = 0; i < npages; i++)
		pattern_fill_page((char *)p + i * PAGE_SZ, first + i, seed);
}

/* ---- files ----------------------------------------------------------- */

static ssize_t read_fd_all(int fd, char *buf, size_t bufsz)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < bufsz) {
		r = read(fd, buf + n, bufsz - 1 - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		n += r;
	}
	buf[n] = 0;
	return n;
}

ssize_t read_file(const char *path, char *buf, size_t bufsz)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -errno;
	r = read_fd_all(fd, buf, bufsz);
	close(fd);
	return r;
}

int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t r;
	int err = 0;

	if (fd < 0)
		return -errno;
	r = write(fd, s, strlen(s));
	if (r < 0)
		err = -errno;
	else if ((size_t)r != strlen(s))
		err = -EIO;
	close(fd);
	return err;
}

int read_long(const char *path, long *val)
{
	char buf[64], *end;
	ssize_t r = read_file(path, buf, sizeof(buf));

	if (r < 0)
		return r;
	errno = 0;
	*val = strtol(buf, &end, 10);
	if (errno || end == buf)
		return -EINVAL;
	return 0;
}

int write_long(const char *path, long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", val);
	return write_file(path, buf);
}

bool path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* ---- maps ------------------------------------------------------------ */

static void __attribute__((noinline)) touch_stack(void)
{
	volatile char buf[256 * 1024];
	size_t i;

	for (i = 0; i < sizeof(buf); i += PAGE_SZ)
		buf[i] = 0;
}

int maps_snapshot(struct maps_snap *s)
{
	ssize_t r;

	touch_stack();
	r = read_file("/proc/self/maps", s->buf, sizeof(s->buf));
	if (r < 0)
		return r;
	if ((size_t)r + 1 >= sizeof(s->buf))
		return -EOVERFLOW;
	s->len = r;
	return 0;
}

static void copy_line(char *out, size_t outsz, const char *buf, size_t len,
		      size_t at)
{
	size_t s = at, e = at, n;

	while (s > 0 && buf[s - 1] != '\n')
		s--;
	while (e < len && buf[e] != '\n')
		e++;
	n = e - s;
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, buf + s, n);
	out[n] = 0;
}

const char *maps_diff(const struct maps_snap *a, const struct maps_snap *b)
{
	static char msg[1024];
	char la[400], lb[400];
	size_t i, n = a->len < b->len ? a->len : b->len;

	if (a->len == b->len && !memcmp(a->buf, b->buf, a->len))
		return NULL;
	for (i = 0; i < n && a->buf[i] == b->buf[i]; i++)
		;
	copy_line(la, sizeof(la), a->buf, a->len, i);
	copy_line(lb, sizeof(lb), b->buf, b->len, i);
	snprintf(msg, sizeof(msg), "before: '%s' after: '%s' (%zu vs %zu bytes)",
		 i < a->len ? la : "<end>", i < b->len ? lb : "<end>",
		 a->len, b->len);
	return msg;
}

static struct maps_snap maps_tmp;

/* Iterates maps_tmp lines; returns false at the end */
struct maps_line {
	uintptr_t start, end;
	char perms[5];
	const char *name;	/* points into maps_tmp, not NUL terminated */
	size_t namelen;
};

static bool next_line(const char **pos, struct maps_line *l)
{
	const char *p = *pos, *eol, *q;
	unsigned long s, e;
	int n = 0, field;

	if (!*p)
		return false;
	eol = strchr(p, '\n');
	if (!eol)
		eol = p + strlen(p);
	if (sscanf(p, "%lx-%lx %4s %n", &s, &e, l->perms, &n) < 3)
		return false;
	l->start = s;
	l->end = e;
	/* skip offset, dev, inode */
	q = p + n;
	for (field = 0; field < 3 && q < eol; field++) {
		while (q < eol && *q != ' ')
			q++;
		while (q < eol && *q == ' ')
			q++;
	}
	l->name = q;
	l->namelen = eol - q;
	*pos = *eol ? eol + 1 : eol;
	return true;
}

int maps_find(uintptr_t addr, uintptr_t *start, uintptr_t *end,
	      char perms[5], char *name, size_t namesz)
{
	const char *pos;
	struct maps_line l;

	if (maps_snapshot(&maps_tmp))
		return -EIO;
	pos = maps_tmp.buf;
	while (next_line(&pos, &l)) {
		if (addr < l.start || addr >= l.end)
			continue;
		if (start)
			*start = l.start;
		if (end)
			*end = l.end;
		if (perms)
			memcpy(perms, l.perms, 5);
		if (name && namesz) {
			size_t n = l.namelen < namesz - 1 ? l.namelen : namesz - 1;

			memcpy(name, l.name, n);
			name[n] = 0;
		}
		return 0;
	}
	return -ENOENT;
}

int maps_find_name(const char *name, uintptr_t *start, uintptr_t *end)
{
	const char *pos;
	struct maps_line l;

	if (maps_snapshot(&maps_tmp))
		return -EIO;
	pos = maps_tmp.buf;
	while (next_line(&pos, &l)) {
		if (l.namelen != strlen(name) || memcmp(l.name, name, l.namelen))
			continue;
		*start = l.start;
		*end = l.end;
		return 0;
	}
	return -ENOENT;
}

long maps_count_range(uintptr_t start, uintptr_t end)
{
	const char *pos;
	struct maps_line l;
	long n = 0;

	if (maps_snapshot(&maps_tmp))
		return -1;
	pos = maps_tmp.buf;
	while (next_line(&pos, &l))
		if (l.start < end && l.end > start)
			n++;
	return n;
}

long maps_count(void)
{
	return maps_count_range(0, UINTPTR_MAX);
}

/* ---- smaps ----------------------------------------------------------- */

static char smaps_buf[8 * 1024 * 1024];
static char small_buf[64 * 1024];

/* Value of "field:" in [p, end), -1 if absent */
static long field_kb(const char *p, const char *end, const char *field)
{
	size_t fl = strlen(field);

	while (p < end) {
		const char *eol = memchr(p, '\n', end - p);

		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > fl && !memcmp(p, field, fl) &&
		    p[fl] == ':')
			return strtol(p + fl + 1, NULL, 10);
		p = eol + 1;
	}
	return -1;
}

/* Is the line at p a VMA header ("start-end perms ...")? */
static bool smaps_header(const char *p, uintptr_t *s, uintptr_t *e)
{
	unsigned long a, b;
	char c;

	if (sscanf(p, "%lx-%lx %c", &a, &b, &c) != 3)
		return false;
	/* field lines look like "Rss:   4 kB": no '-' right after hex */
	*s = a;
	*e = b;
	return true;
}

/* Calls fn for each VMA: header start/end and its body [body, bend) */
static int smaps_walk(bool (*fn)(uintptr_t s, uintptr_t e, const char *body,
				 const char *bend, void *arg), void *arg)
{
	ssize_t r = read_file("/proc/self/smaps", smaps_buf, sizeof(smaps_buf));
	const char *p, *end, *body;
	uintptr_t s = 0, e = 0, ns, ne;
	bool have = false;

	if (r < 0)
		return r;
	if ((size_t)r + 1 >= sizeof(smaps_buf))
		return -EOVERFLOW;
	p = smaps_buf;
	end = smaps_buf + r;
	body = p;
	while (p < end) {
		const char *eol = memchr(p, '\n', end - p);

		if (!eol)
			eol = end;
		if (smaps_header(p, &ns, &ne)) {
			if (have && !fn(s, e, body, p, arg))
				return 0;
			s = ns;
			e = ne;
			have = true;
			body = eol + 1;
		}
		p = eol + 1;
	}
	if (have)
		fn(s, e, body, end, arg);
	return 0;
}

struct range_arg {
	uintptr_t start, end;
	const char *field;
	long sum;
	bool found;
};

static bool range_fn(uintptr_t s, uintptr_t e, const char *body,
		     const char *bend, void *arg)
{
	struct range_arg *a = arg;
	long v;

	if (s < a->end && e > a->start) {
		v = field_kb(body, bend, a->field);
		if (v >= 0) {
			a->sum += v;
			a->found = true;
		}
	}
	return true;
}

long smaps_range_kb(uintptr_t start, uintptr_t end, const char *field)
{
	struct range_arg a = { start, end, field, 0, false };

	if (smaps_walk(range_fn, &a) || !a.found)
		return -1;
	return a.sum;
}

struct flags_arg {
	uintptr_t addr;
	char *buf;
	size_t bufsz;
	bool found;
};

static bool flags_fn(uintptr_t s, uintptr_t e, const char *body,
		     const char *bend, void *arg)
{
	struct flags_arg *a = arg;
	const char *p = body;

	if (a->addr < s || a->addr >= e)
		return true;
	while (p < bend) {
		const char *eol = memchr(p, '\n', bend - p);
		size_t n;

		if (!eol)
			eol = bend;
		if (!strncmp(p, "VmFlags:", 8)) {
			n = eol - (p + 8);
			if (n >= a->bufsz)
				n = a->bufsz - 1;
			memcpy(a->buf, p + 8, n);
			a->buf[n] = 0;
			a->found = true;
			return false;
		}
		p = eol + 1;
	}
	return false;
}

int smaps_vmflags(uintptr_t addr, char *buf, size_t bufsz)
{
	struct flags_arg a = { addr, buf, bufsz, false };
	int r = smaps_walk(flags_fn, &a);

	if (r)
		return r;
	return a.found ? 0 : -ENOENT;
}

bool smaps_has_flag(uintptr_t addr, const char *flag)
{
	char buf[256], *p;

	if (smaps_vmflags(addr, buf, sizeof(buf)))
		return false;
	for (p = strtok(buf, " "); p; p = strtok(NULL, " "))
		if (!strcmp(p, flag))
			return true;
	return false;
}

static long file_field_kb(const char *path, const char *field)
{
	ssize_t r = read_file(path, small_buf, sizeof(small_buf));

	if (r < 0)
		return -1;
	return field_kb(small_buf, small_buf + r, field);
}

long smaps_rollup_kb(const char *field)
{
	return file_field_kb("/proc/self/smaps_rollup", field);
}

long status_kb(const char *field)
{
	return file_field_kb("/proc/self/status", field);
}

#define OVERCOMMIT_NEVER	2

/*
 * Committed_AS is a per-cpu counter that only a switch to the "never"
 * policy folds (mm/util.c: overcommit_policy_handler); under the other
 * policies each CPU may keep up to a quarter of its share of RAM out of
 * the global value.  Pass through "never", with a limit nothing reaches
 * so no allocation of the moment fails, and put everything back.
 */
static void committed_as_fold(void)
{
	long policy, ratio, kbytes;

	if (read_long("/proc/sys/vm/overcommit_memory", &policy) ||
	    read_long("/proc/sys/vm/overcommit_ratio", &ratio) ||
	    read_long("/proc/sys/vm/overcommit_kbytes", &kbytes))
		return;
	if (policy == OVERCOMMIT_NEVER) {
		write_long("/proc/sys/vm/overcommit_memory", policy);
		return;
	}
	if (write_long("/proc/sys/vm/overcommit_kbytes", 1L << 40))
		return;
	write_long("/proc/sys/vm/overcommit_memory", OVERCOMMIT_NEVER);
	write_long("/proc/sys/vm/overcommit_memory", policy);
	/* writing one of ratio/kbytes clears the other */
	if (kbytes)
		write_long("/proc/sys/vm/overcommit_kbytes", kbytes);
	else
		write_long("/proc/sys/vm/overcommit_ratio", ratio);
}

long meminfo_kb(const char *field)
{
	/* folds per-cpu vmstat differentials into the global counters */
	write_file("/proc/sys/vm/stat_refresh", "1");
	if (!strcmp(field, "Committed_AS"))
		committed_as_fold();
	return file_field_kb("/proc/meminfo", field);
}

/* ---- pagemap --------------------------------------------------------- */

uint64_t pagemap_entry(const void *addr)
{
	static int fd = -1;
	uint64_t e = 0;
	off_t off = (off_t)((uintptr_t)addr / PAGE_SZ) * 8;

	if (fd < 0)
		fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e), off) != sizeof(e))
		return 0;
	return e;
}

bool pagemap_has_pfns(void)
{
	static int cached = -1;
	char *p;

	if (cached >= 0)
		return cached;
	p = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return false;
	p[0] = 1;
	cached = pagemap_pfn(pagemap_entry(p)) != 0;
	munmap(p, PAGE_SZ);
	return cached;
}

/* The 64-bit entry of pfn in a /proc/kpage* file (opened once into *fd), or 0 */
static uint64_t kpage_entry(const char *path, int *fd, uint64_t pfn)
{
	uint64_t v = 0;

	if (*fd < 0)
		*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return 0;
	if (pread(*fd, &v, sizeof(v), (off_t)(pfn * 8)) != sizeof(v))
		return 0;
	return v;
}

uint64_t kpageflags(uint64_t pfn)
{
	static int fd = -1;

	return kpage_entry("/proc/kpageflags", &fd, pfn);
}

uint64_t kpagecount(uint64_t pfn)
{
	static int fd = -1;

	return kpage_entry("/proc/kpagecount", &fd, pfn);
}

size_t pages_mapcount(const void *p, size_t npages, uint64_t count)
{
	size_t i, n = 0;

	for (i = 0; i < npages; i++) {
		uint64_t pfn = pagemap_pfn(pagemap_entry((const char *)p +
							 i * PAGE_SZ));

		n += pfn && kpagecount(pfn) == count;
	}
	return n;
}

bool thp_backed(const void *p)
{
	uint64_t pfn0 = pagemap_pfn(pagemap_entry(p));
	size_t i;

	if (!pagemap_has_pfns())
		return true;
	if (!pfn0 || pfn0 % (PMD_SZ / PAGE_SZ) ||
	    !(kpageflags(pfn0) & (1ULL << KPF_THP)))
		return false;
	for (i = 1; i < PMD_SZ / PAGE_SZ; i++)
		if (pagemap_pfn(pagemap_entry((const char *)p + i * PAGE_SZ)) !=
		    pfn0 + i)
			return false;
	return true;
}

char *thp_by_ptes(size_t len, uint64_t seed)
{
	char *p = mmap_aligned(len, PMD_SZ, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS);
	size_t o;

	if (p == MAP_FAILED)
		return NULL;
	if (madvise(p, len, MADV_HUGEPAGE))
		goto fail;
	pattern_fill(p, len, seed);
	if (smaps_range_kb((uintptr_t)p, (uintptr_t)p + len,
			   "AnonHugePages") != (long)(len / KiB))
		goto fail;
	/* Splits each PMD; the second call makes the range one VMA again. */
	for (o = 0; o < len; o += PMD_SZ)
		if (mprotect(p + o + PAGE_SZ, PAGE_SZ, PROT_READ) ||
		    mprotect(p + o + PAGE_SZ, PAGE_SZ, PROT_READ | PROT_WRITE))
			goto fail;
	/* khugepaged must not collapse them back (into new pages). */
	if (madvise(p, len, MADV_NOHUGEPAGE) ||
	    smaps_range_kb((uintptr_t)p, (uintptr_t)p + len,
			   "AnonHugePages") != 0)
		goto fail;
	for (o = 0; o < len; o += PMD_SZ)
		if (!thp_backed(p + o))
			goto fail;
	return p;
fail:
	munmap(p, len);
	return NULL;
}

uint64_t zero_page_pfn(void)
{
	static uint64_t pfn;
	volatile char *p;

	if (pfn)
		return pfn;
	p = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	(void)p[0];
	pfn = pagemap_pfn(pagemap_entry((const void *)p));
	munmap((void *)p, PAGE_SZ);
	return pfn;
}

/* ---- misc ------------------------------------------------------------ */

void *mmap_aligned(size_t len, size_t align, int prot, int flags)
{
	char *p = mmap(NULL, len + align, prot, flags, -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		return MAP_FAILED;
	a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	if ((uintptr_t)p + len + align > a + len)
		munmap((void *)(a + len), (uintptr_t)p + len + align - (a + len));
	return (void *)a;
}

void unmap(void *p, size_t len)
{
	if (p && p != MAP_FAILED)
		munmap(p, len);
}

void *anon_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p != MAP_FAILED)
		madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

void *free_range(size_t len, size_t align)
{
	void *p = mmap_aligned(len, align, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);

	if (p == MAP_FAILED)
		return NULL;
	munmap(p, len);
	return p;
}

size_t pages_same_pfn(const void *a, const void *b, size_t npages)
{
	size_t i, n = 0;
	uint64_t pa, pb;

	for (i = 0; i < npages; i++) {
		pa = pagemap_pfn(pagemap_entry((const char *)a + i * PAGE_SZ));
		pb = pagemap_pfn(pagemap_entry((const char *)b + i * PAGE_SZ));
		if (pa && pa == pb)
			n++;
	}
	return n;
}

size_t pages_present(const void *a, size_t npages)
{
	size_t i, n = 0;

	for (i = 0; i < npages; i++)
		if (pagemap_entry((const char *)a + i * PAGE_SZ) & PM_PRESENT)
			n++;
	return n;
}

int run_prog(char *const argv[], bool quiet)
{
	pid_t pid;
	int status;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char *bb[16];
		int i;

		if (quiet) {
			int null = open("/dev/null", O_WRONLY);

			if (null >= 0) {
				dup2(null, 1);
				dup2(null, 2);
			}
		}
		execvp(argv[0], argv);
		bb[0] = "busybox";
		for (i = 0; argv[i] && i < 14; i++)
			bb[i + 1] = argv[i];
		bb[i + 1] = NULL;
		execvp("busybox", bb);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

bool cowdup_loaded(void)
{
	return path_exists("/sys/module/cowdup");
}

long cowdup_refcnt(void)
{
	long v;

	if (read_long("/sys/module/cowdup/refcnt", &v))
		return -1;
	return v;
}

int cowdup_insmod(void)
{
	char *argv[] = { "insmod", (char *)cowdup_ko_path(), NULL };

	return run_prog(argv, false);
}

int cowdup_rmmod(void)
{
	char *argv[] = { "rmmod", "cowdup", NULL };

	return run_prog(argv, true);
}

int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -1;
	lseek(fd, 0, SEEK_END);
	return fd;
}

const char *kmsg_bad(int fd)
{
	static const char *const bad[] = {
		"BUG", "WARNING:", "Oops", "general protection",
		"Bad rss-counter", "Bad page", "bad pmd", "bad pte",
		"list_del corruption", "list_add corruption", "refcount_t:",
		"kernel BUG", "UBSAN", "KASAN", "page dumped because",
		"Unable to handle", "stack-protector", "RCU Stall",
		"rcu_sched self-detected stall", "soft lockup",
		"hung_task", "Call Trace",
	};
	static char rec[8192];
	static char found[600];
	ssize_t r;
	size_t i;

	for (;;) {
		r = read(fd, rec, sizeof(rec) - 1);
		if (r < 0) {
			if (errno == EPIPE || errno == EINTR)
				continue;
			return NULL;	/* EAGAIN: nothing more */
		}
		if (r == 0)
			return NULL;
		rec[r] = 0;
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			const char *msg = strchr(rec, ';');

			msg = msg ? msg + 1 : rec;
			if (strstr(msg, bad[i])) {
				size_t n = strcspn(msg, "\n");

				if (n >= sizeof(found))
					n = sizeof(found) - 1;
				memcpy(found, msg, n);
				found[n] = 0;
				return found;
			}
		}
	}
}

bool la57_active(void)
{
	static int cached = -1;
	void *hint = (void *)(1UL << 50), *p;

	if (cached >= 0)
		return cached;
	p = mmap(hint, PAGE_SZ, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	cached = p == hint;
	if (p != MAP_FAILED)
		munmap(p, PAGE_SZ);
	return cached;
}

uintptr_t user_space_end(void)
{
	return la57_active() ? (1UL << 56) - PAGE_SZ : (1UL << 47) - PAGE_SZ;
}

/* ---- file contents, /proc/self/mem, faults, mounts ------------------ */

int file_pattern_write(int fd, size_t first, size_t npages, uint64_t seed)
{
	static char page[PAGE_SZ];
	size_t i;
	ssize_t r;

	for (i = 0; i < npages; i++) {
		pattern_fill_page(page, first + i, seed);
		r = pwrite(fd, page, PAGE_SZ, (off_t)((first + i) * PAGE_SZ));
		if (r < 0)
			return -errno;
		if (r != (ssize_t)PAGE_SZ)
			return -EIO;
	}
	return 0;
}

long file_pattern_check(int fd, size_t first, size_t npages, uint64_t seed)
{
	static char page[PAGE_SZ];
	size_t i;
	ssize_t r;
	long off;

	for (i = 0; i < npages; i++) {
		r = pread(fd, page, PAGE_SZ, (off_t)((first + i) * PAGE_SZ));
		if (r < 0)
			r = 0;
		if (r < (ssize_t)PAGE_SZ)
			memset(page + r, 0xa5, PAGE_SZ - r);
		off = pattern_check_page(page, first + i, seed);
		if (r < (ssize_t)PAGE_SZ && (off < 0 || off > r))
			off = r;
		if (off >= 0)
			return (long)(i * PAGE_SZ) + off;
	}
	return -1;
}

int maps_line(uintptr_t addr, char *buf, size_t bufsz)
{
	const char *pos, *line;
	struct maps_line l;
	size_t n;

	if (maps_snapshot(&maps_tmp))
		return -EIO;
	pos = maps_tmp.buf;
	for (;;) {
		line = pos;
		if (!next_line(&pos, &l))
			return -ENOENT;
		if (addr < l.start || addr >= l.end)
			continue;
		n = (size_t)(l.name + l.namelen - line);
		if (n >= bufsz)
			n = bufsz - 1;
		memcpy(buf, line, n);
		buf[n] = 0;
		return 0;
	}
}

ssize_t proc_mem_write(void *addr, const void *buf, size_t len)
{
	int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -errno;
	r = pwrite(fd, buf, len, (off_t)(uintptr_t)addr);
	if (r < 0)
		r = -errno;
	close(fd);
	return r;
}

static sigjmp_buf access_jmp;

static void access_handler(int sig)
{
	siglongjmp(access_jmp, sig);
}

int access_signal(void *addr, bool write)
{
	struct sigaction sa, old_segv, old_bus;
	volatile char *p = addr;
	volatile int sig;
	char c;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = access_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	sig = sigsetjmp(access_jmp, 1);
	if (!sig) {
		c = *p;
		if (write)
			*p = c;
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	return sig;
}

int detached_fs_file(const char *fstype, bool ro, size_t npages,
		     uint64_t seed)
{
	char dir[] = "/tmp/cowdup-mnt-XXXXXX", path[64];
	int fd, err = 0;

	if (!mkdtemp(dir))
		return -errno;
	if (mount(fstype, dir, fstype, 0, NULL)) {
		err = -errno;
		rmdir(dir);
		return err;
	}
	snprintf(path, sizeof(path), "%s/file", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	err = file_pattern_write(fd, 0, npages, seed);
	if (err || !ro)
		goto out;
	close(fd);
	fd = -1;
	if (mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL)) {
		err = -errno;
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		err = -errno;
out:
	umount2(dir, MNT_DETACH);
	rmdir(dir);
	if (err) {
		if (fd >= 0)
			close(fd);
		return err;
	}
	return fd;
}

void read_counters(struct counters *c)
{
	c->anon = meminfo_kb("AnonPages");
	c->cached = meminfo_kb("Cached");
	c->shmem = meminfo_kb("Shmem");
}

size_t count_swapped(const void *p, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		if (pagemap_entry((const char *)p + i * PAGE_SZ) & PM_SWAP)
			c++;
	return c;
}

/*
 * MADV_PAGEOUT drains only the calling CPU's LRU batch, and a page faulted
 * in on another CPU may still sit in that CPU's batch, not isolatable, for
 * as long as that CPU stays idle.  Calling it once from every CPU drains
 * them all.
 */
static int page_out_on_each_cpu(void *p, size_t len)
{
	cpu_set_t old, one;
	int cpu, err = 0;

	if (sched_getaffinity(0, sizeof(old), &old))
		return madvise(p, len, MADV_PAGEOUT);
	for (cpu = 0; cpu < CPU_SETSIZE && !err; cpu++) {
		if (!CPU_ISSET(cpu, &old))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one))
			continue;
		err = madvise(p, len, MADV_PAGEOUT);
	}
	sched_setaffinity(0, sizeof(old), &old);
	return err;
}

size_t page_out(void *p, size_t n)
{
	size_t out = 0;
	int tries;

	for (tries = 0; tries < 50; tries++) {
		if (page_out_on_each_cpu(p, n * PAGE_SZ))
			return 0;
		out = count_swapped(p, n);
		if (out == n)
			break;
		usleep(20000);
	}
	return out;
}

static uint64_t rng_state;

void rng_seed(uint64_t seed)
{
	rng_state = seed;
}

uint64_t rnd64(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t rnd(uint64_t n)
{
	return n ? rnd64() % n : 0;
}

bool chance(unsigned int pct)
{
	return rnd(100) < pct;
}
