/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the cowdup kselftest programs.
 *
 * util.c never includes kselftest_harness.h (the harness header defines
 * statics and constructors, one copy per program is enough).  The
 * ASSERT_* style macros at the end of this file expand to harness macros,
 * so a test file includes "kselftest_harness.h" before this header.
 *
 * Everything that reads /proc into memory uses static buffers and raw
 * read(2): a maps snapshot must not itself change the maps (malloc may
 * grow the heap or mmap an arena, stdio allocates buffers).
 */
#ifndef COWDUP_KSFT_UTIL_H
#define COWDUP_KSFT_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/cowdup.h>

#define PAGE_SZ		4096UL
#define PMD_SZ		(2UL << 20)
#define KiB		1024UL
#define MiB		(1024UL * 1024UL)

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif
#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK	18
#endif

/* /proc/self/pagemap bits (Documentation/admin-guide/mm/pagemap.rst) */
#define PM_PFN_MASK		((1ULL << 55) - 1)
#define PM_SOFT_DIRTY		(1ULL << 55)
#define PM_MMAP_EXCLUSIVE	(1ULL << 56)
#define PM_FILE			(1ULL << 61)
#define PM_SWAP			(1ULL << 62)
#define PM_PRESENT		(1ULL << 63)

/* /proc/kpageflags bits */
#define KPF_ANON	12
#define KPF_THP		22
#define KPF_KSM		21
#define KPF_ZERO_PAGE	24

/* ---- device ---------------------------------------------------------- */

/* COWDUP_KO from the environment, else /cowdup/cowdup.ko */
const char *cowdup_ko_path(void);
/* open(/dev/cowdup, O_RDWR | O_CLOEXEC); -1 with errno on failure */
int cowdup_open(void);
/* COWDUP_IOC_INFO with the current struct size; 0 or -errno */
int cowdup_get_info(int fd, struct cowdup_info *info);
/*
 * COWDUP_IOC_DUP through the raw ioctl.  *dst is the hint or exact address
 * on input, the copy on success.  Returns 0 or -errno.
 */
int cowdup_dup_raw(int fd, void *src, size_t len, void **dst, uint64_t flags);
/* Same with a caller-chosen args size (the tail must be provided zeroed) */
int cowdup_ioctl(int fd, unsigned long cmd, void *arg);

/* ---- patterns -------------------------------------------------------- */

/*
 * Page i of a region filled with seed s holds 64-bit words that depend on
 * (s, i, word index) only, never on the address: a copy of a region
 * verifies against the same seed.  Seed 0 is reserved for "all zero".
 */
uint64_t pattern_word(uint64_t seed, size_t page, size_t word);
void pattern_fill(void *p, size_t len, uint64_t seed);
void pattern_fill_page(void *p, size_t page_index, uint64_t seed);
/*
 * Returns -1 if every byte of [p, p+len) matches the pattern (seed 0:
 * every byte is zero), else the offset of the first byte that differs.
 */
long pattern_check(const void *p, size_t len, uint64_t seed);
/* npages pages at p that are pages first.. of a pattern region */
long pattern_check_at(const void *p, size_t first, size_t npages,
		      uint64_t seed);
void pattern_fill_at(void *p, size_t first, size_t npages, uint64_t seed);
/* Same for one page, whose index in the pattern is page_index */
long pattern_check_page(const void *p, size_t page_index, uint64_t seed);

/* ---- /proc/self/maps ------------------------------------------------- */

#define MAPS_BUF_SZ	(512 * 1024)
struct maps_snap {
	size_t len;
	char buf[MAPS_BUF_SZ];
};
/*
 * Reads /proc/self/maps into s.  Touches some stack first so that a later
 * snapshot taken deeper in a call chain does not see the [stack] VMA grow.
 * Returns 0 or -errno.
 */
int maps_snapshot(struct maps_snap *s);
/* NULL if equal, else a static string describing the first difference */
const char *maps_diff(const struct maps_snap *a, const struct maps_snap *b);
/*
 * Finds the VMA containing addr; fills start/end/perms (5 chars + NUL) and
 * name (may be empty).  Returns 0, or -ENOENT.
 */
int maps_find(uintptr_t addr, uintptr_t *start, uintptr_t *end,
	      char perms[5], char *name, size_t namesz);
/* Finds the first VMA whose name is exactly name (e.g. "[vdso]") */
int maps_find_name(const char *name, uintptr_t *start, uintptr_t *end);
/* Number of VMAs (lines in /proc/self/maps) */
long maps_count(void);
/* Number of VMAs intersecting [start, end) */
long maps_count_range(uintptr_t start, uintptr_t end);

/* ---- smaps ----------------------------------------------------------- */

/*
 * Sum of "field:" (kB) over the VMAs of /proc/self/smaps that intersect
 * [start, end).  field without the colon, e.g. "AnonHugePages".
 * Returns -1 on error.
 */
long smaps_range_kb(uintptr_t start, uintptr_t end, const char *field);
/* The VmFlags line of the VMA containing addr, copied to buf; 0 / -errno */
int smaps_vmflags(uintptr_t addr, char *buf, size_t bufsz);
/* true if the two-letter flag is in the VmFlags of the VMA at addr */
bool smaps_has_flag(uintptr_t addr, const char *flag);
/* A kB field of /proc/self/smaps_rollup, -1 on error */
long smaps_rollup_kb(const char *field);
/* A kB field of /proc/self/status (VmLck, VmRSS, VmSize), -1 on error */
long status_kb(const char *field);
/*
 * A kB field of /proc/meminfo (AnonPages, Committed_AS, ...), after
 * folding the per-cpu vmstat deltas (vm.stat_refresh) and, for
 * Committed_AS, the per-cpu commit counter (a passing switch to the
 * "never" overcommit policy), so that the value is exact.  Root only for
 * the folding.  -1 on error.
 */
long meminfo_kb(const char *field);

/* ---- seeded random numbers (splitmix64), replayable from the seed ---- */

void rng_seed(uint64_t seed);
uint64_t rnd64(void);
/* uniform in [0, n); 0 when n is 0 */
uint64_t rnd(uint64_t n);
/* true pct times in 100 */
bool chance(unsigned int pct);

/* ---- pagemap / kpageflags ------------------------------------------- */

/* The 64-bit pagemap entry of addr (0 on error, which reads "not present") */
uint64_t pagemap_entry(const void *addr);
static inline uint64_t pagemap_pfn(uint64_t e)
{
	return (e & PM_PRESENT) ? (e & PM_PFN_MASK) : 0;
}
/* true if pagemap shows PFNs (CAP_SYS_ADMIN) */
bool pagemap_has_pfns(void);
/* /proc/kpageflags of pfn, or 0 */
uint64_t kpageflags(uint64_t pfn);
/* /proc/kpagecount of pfn: how many entries map it (root only), or 0 */
uint64_t kpagecount(uint64_t pfn);
/* Pages of [p, p + npages pages) present with a kpagecount of count */
size_t pages_mapcount(const void *p, size_t npages, uint64_t count);
/*
 * The PMD-aligned 2 MiB at p is one huge folio: 512 present pages with
 * contiguous PFNs from a 512-aligned one, KPF_THP set (pagemap PFNs and
 * kpageflags: root only; true when they cannot be read).
 */
bool thp_backed(const void *p);
/*
 * A PMD-aligned private anonymous region of len (a multiple of PMD_SZ)
 * filled with pattern seed, whose THPs are mapped by PTEs: each PMD split
 * by an mprotect() of one of its pages and back, the folios kept (checked
 * with thp_backed()), MADV_NOHUGEPAGE against khugepaged.  NULL when THPs
 * cannot be had.
 */
char *thp_by_ptes(size_t len, uint64_t seed);
/* Zero page PFN (read fault on fresh memory); 0 if it cannot be learnt */
uint64_t zero_page_pfn(void);
/* Pages of [p, p + n pages) that pagemap shows swapped out */
size_t count_swapped(const void *p, size_t n);
/*
 * MADV_PAGEOUT of all n pages at p, issued from every allowed CPU so that
 * no page stays behind in some CPU's LRU batch; repeated until every page
 * is out or 50 tries passed.  Returns the number swapped out.
 */
size_t page_out(void *p, size_t n);

/*
 * Both sides map the same physical pages; checked only when the fixture's
 * pfns says pagemap shows PFNs (root).
 */
#define ASSERT_SHARED(self, a, b, n) do { \
	if ((self)->pfns) \
		ASSERT_EQ((size_t)(n), pages_same_pfn((a), (b), (n))); \
} while (0)

/* ---- files, sysctls, misc ------------------------------------------- */

/* Reads a whole small file into buf (NUL terminated); bytes read or -errno */
ssize_t read_file(const char *path, char *buf, size_t bufsz);
/* Writes s to path; 0 or -errno */
int write_file(const char *path, const char *s);
/* Reads a file holding one integer; 0 or -errno */
int read_long(const char *path, long *val);
int write_long(const char *path, long val);
bool path_exists(const char *path);

/* mmap of len bytes at an address aligned to align; MAP_FAILED on error */
void *mmap_aligned(size_t len, size_t align, int prot, int flags);
/* munmap that ignores NULL / MAP_FAILED */
void unmap(void *p, size_t len);
/* Private anonymous RW mapping with MADV_NOHUGEPAGE (4K pages only) */
void *anon_map(size_t len);
/* Reserves len bytes (PROT_NONE) and frees them: a free range, or NULL */
void *free_range(size_t len, size_t align);
/*
 * Physical sharing, from pagemap PFNs (root only): number of pages i in
 * [0, npages) where a+i and b+i are both present with the same PFN.
 */
size_t pages_same_pfn(const void *a, const void *b, size_t npages);
/* Number of present pages in [a, a + npages pages) */
size_t pages_present(const void *a, size_t npages);

/*
 * Runs argv (execvp; if that fails, "busybox argv[0] ...") with stdout and
 * stderr sent to /dev/null unless quiet is false.  Returns the exit status
 * (0..255), or -1 if the program could not be run / was killed.
 */
int run_prog(char *const argv[], bool quiet);
/* True if the module is loaded (/sys/module/cowdup exists) */
bool cowdup_loaded(void);
/* /sys/module/cowdup/refcnt, or -1 */
long cowdup_refcnt(void);
/* insmod $COWDUP_KO, rmmod cowdup: exit status of the program */
int cowdup_insmod(void);
int cowdup_rmmod(void);

/*
 * Kernel log watch: kmsg_open() remembers the end of /dev/kmsg; kmsg_bad()
 * reads what was logged since and returns a static string holding the
 * first record that looks like a kernel bug (BUG, WARNING, Oops, bad page
 * or rss-counter state, ...), or NULL when the log is clean.
 */
int kmsg_open(void);
const char *kmsg_bad(int fd);

/* 64-bit LA57 (5-level paging) active for this process? */
bool la57_active(void);
/* First address above the user address space (TASK_SIZE_MAX). */
uintptr_t user_space_end(void);

/* ---- file contents, /proc/self/mem, faults, mounts ------------------ */

/*
 * pwrite npages pattern pages (page indexes first.., seed) at file offset
 * first * PAGE_SZ.  0 or -errno.
 */
int file_pattern_write(int fd, size_t first, size_t npages, uint64_t seed);
/*
 * pread npages pages of the file from offset first * PAGE_SZ and compare
 * them with pattern pages first.. of seed: -1 if all match, else the byte
 * offset (from first * PAGE_SZ) of the first difference; a short read or
 * read error counts as a difference at the first byte not read.
 */
long file_pattern_check(int fd, size_t first, size_t npages, uint64_t seed);
/* The /proc/self/maps line of the VMA containing addr, without '\n' */
int maps_line(uintptr_t addr, char *buf, size_t bufsz);
/*
 * pwrite through /proc/self/mem (FOLL_FORCE: ignores the VMA's missing
 * PROT_WRITE, as a debugger's write).  Bytes written or -errno.
 */
ssize_t proc_mem_write(void *addr, const void *buf, size_t len);
/*
 * Touches one byte of addr (reads it, or writes back what it read) and
 * returns the signal it raised (SIGSEGV, SIGBUS) or 0.
 */
int access_signal(void *addr, bool write);
/*
 * A file of npages pattern pages (seed) on a fresh filesystem of type
 * fstype ("tmpfs", "ramfs"), made read-only (MS_REMOUNT | MS_RDONLY) after
 * the file was written and closed when ro is set.  The mount is detached
 * (umount2 MNT_DETACH) before returning, so nothing is left behind: the
 * filesystem lives as long as the returned fd (O_RDONLY if ro, else
 * O_RDWR) or a mapping of it.  Returns the fd or -errno.
 */
int detached_fs_file(const char *fstype, bool ro, size_t npages,
		     uint64_t seed);

/* ---- assertion helpers (need kselftest_harness.h) ------------------- */

/* A dup that must succeed; evaluates to the copy */
#define DUP_OK(fd, src, len, hint, flags) ({ \
	void *__dst = (void *)(hint); \
	int __r = cowdup_dup_raw((fd), (void *)(src), (len), &__dst, (flags)); \
	if (__r) \
		TH_LOG("dup(src=%p, len=0x%lx, dst=%p, flags=0x%llx) " \
		       "failed: %d (%s)", (void *)(src), (unsigned long)(len), \
		       (void *)(hint), (unsigned long long)(flags), __r, \
		       strerror(-__r)); \
	ASSERT_EQ(0, __r); \
	__dst; \
})

#define ASSERT_PATTERN(p, len, seed) do { \
	long __off = pattern_check((p), (len), (seed)); \
	if (__off >= 0) \
		TH_LOG("%s (len %zu) differs from pattern %s at offset %ld " \
		       "(page %ld): got 0x%02x", #p, (size_t)(len), #seed, \
		       __off, __off / (long)PAGE_SZ, \
		       ((const unsigned char *)(p))[__off]); \
	ASSERT_EQ(-1, __off); \
} while (0)

#define ASSERT_PATTERN_AT(p, first, npages, seed) do { \
	long __off = pattern_check_at((p), (first), (npages), (seed)); \
	if (__off >= 0) \
		TH_LOG("%s (pages %zu..+%zu) differs from pattern %s at " \
		       "offset %ld (page %ld): got 0x%02x", #p, \
		       (size_t)(first), (size_t)(npages), #seed, __off, \
		       __off / (long)PAGE_SZ, \
		       ((const unsigned char *)(p))[__off]); \
	ASSERT_EQ(-1, __off); \
} while (0)

#define ASSERT_PAGE_PATTERN(p, idx, seed) do { \
	long __off = pattern_check_page((p), (idx), (seed)); \
	if (__off >= 0) \
		TH_LOG("%s (pattern page %zu) differs from pattern %s at " \
		       "offset %ld", #p, (size_t)(idx), #seed, __off); \
	ASSERT_EQ(-1, __off); \
} while (0)

/* Scratch snapshot for the macros below (one test runs at a time) */
extern struct maps_snap maps_scratch;

#define ASSERT_MAPS_UNCHANGED(before) do { \
	const char *__d; \
	ASSERT_EQ(0, maps_snapshot(&maps_scratch)); \
	__d = maps_diff((before), &maps_scratch); \
	if (__d) \
		TH_LOG("/proc/self/maps changed: %s", __d); \
	ASSERT_EQ(NULL, __d); \
} while (0)

/*
 * A dup that must fail with err and leave /proc/self/maps as it was.  The
 * maps are read right after the call, before anything is printed.
 */
#define ASSERT_DUP_FAILS(err, fd, src, len, dstp, flags, before) do { \
	int __r = cowdup_dup_raw((fd), (void *)(src), (len), (dstp), (flags)); \
	int __m = maps_snapshot(&maps_scratch); \
	const char *__d = __m ? "cannot read maps" : \
			  maps_diff((before), &maps_scratch); \
	if (__r != -(err)) \
		TH_LOG("dup(src=%p, len=0x%lx, flags=0x%llx) returned %d, " \
		       "expected -%s (%d)", (void *)(src), \
		       (unsigned long)(len), (unsigned long long)(flags), \
		       __r, #err, -(err)); \
	ASSERT_EQ(-(err), __r); \
	if (__d) \
		TH_LOG("/proc/self/maps changed by the failed dup: %s", __d); \
	ASSERT_EQ(NULL, __d); \
} while (0)

#define ASSERT_FILE_PATTERN(fd, first, npages, seed) do { \
	long __off = file_pattern_check((fd), (first), (npages), (seed)); \
	if (__off >= 0) \
		TH_LOG("file %s (pages %zu..+%zu) differs from pattern %s " \
		       "at offset %ld (page %ld)", #fd, (size_t)(first), \
		       (size_t)(npages), #seed, __off, \
		       __off / (long)PAGE_SZ); \
	ASSERT_EQ(-1, __off); \
} while (0)

#define ASSERT_KMSG_CLEAN(kfd) do { \
	const char *__k = (kfd) >= 0 ? kmsg_bad(kfd) : NULL; \
	if (__k) \
		TH_LOG("kernel log: %s", __k); \
	EXPECT_EQ(NULL, __k); \
} while (0)


/* ---- memory counters ------------------------------------------------ */

static inline long labs_(long v)
{
	return v < 0 ? -v : v;
}

/* AnonPages, Cached and Shmem of /proc/meminfo, in kB */
struct counters {
	long anon, cached, shmem;
};

void read_counters(struct counters *c);

/*
 * b - a is (danon, dcached, dshmem) kB, each within the including file's
 * SLACK_KB; for use inside a test (TH_LOG, ASSERT_*).
 */
#define ASSERT_DELTA(what, a, b, danon, dcached, dshmem) do { \
	TH_LOG("%s: AnonPages %+ld kB, Cached %+ld kB, Shmem %+ld kB", what, \
	       (b).anon - (a).anon, (b).cached - (a).cached, \
	       (b).shmem - (a).shmem); \
	ASSERT_GT(SLACK_KB, labs_((b).anon - (a).anon - (long)(danon))); \
	ASSERT_GT(SLACK_KB, labs_((b).cached - (a).cached - (long)(dcached))); \
	ASSERT_GT(SLACK_KB, labs_((b).shmem - (a).shmem - (long)(dshmem))); \
} while (0)

#endif /* COWDUP_KSFT_UTIL_H */
