// SPDX-License-Identifier: GPL-2.0
/*
 * stress_model: seeded, replayable, model-checked stress of COWDUP_IOC_DUP
 * (issue 5, part 4).
 *
 * A random sequence of operations on a few hundred pages of private
 * anonymous memory: dup (auto placement, hint, FIXED, FIXED_NOREPLACE, of
 * sources and of copies, over runs spanning several VMAs), restore (a
 * FIXED dup over a live range), writes (direct, and through /proc/self/mem
 * into read-only and PROT_NONE pages, which unshares as a debugger's write
 * does), reads, munmap (whole VMAs and parts), mprotect, mremap (move,
 * grow, shrink, in place), madvise (DONTNEED, FREE, PAGEOUT, COLD,
 * COLLAPSE, MERGEABLE, UNMERGEABLE, HUGEPAGE), QUERY, and fork-and-verify
 * (a child checks every byte and the maps, writes and dups on its own,
 * exits; the parent checks that nothing of the child's leaked back).
 *
 * Everything is checked against a shadow model: per page a 64-bit tag
 * (the page holds words (tag << 9) | i; tag 0 is a zero page) and the
 * protection; after every operation the model's mapped ranges and
 * protections equal /proc/self/maps clipped to the ranges this program
 * owns (adjacent lines of equal permissions coalesced, since VMA merging
 * is the kernel's business), and the rest of /proc/self/maps is unchanged
 * ([stack] and [heap] aside).  The pages an operation touched are checked
 * byte for byte at once, every page every 64 operations and at the end.
 *
 * The operation sequence depends on the seed only (the program re-executes
 * itself with ADDR_NO_RANDOMIZE so that addresses the kernel picks repeat
 * too).  Options (before the harness's own):
 *   --seed N      seed (default: from the clock); printed first, "# seed N"
 *   --ops N       operations (default 3000)
 *   --seconds S   stop after S seconds (default 40); 0: no limit
 * or STRESS_SEED / STRESS_OPS / STRESS_SECONDS.  A failure prints the tail
 * of the operation log and the command line that replays it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#ifndef MADV_COLD
#define MADV_COLD	20
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif

#define ARENA_PAGES	16384		/* 64 MiB of address space */
#define ZONE_MAX	512		/* pages per zone at most */
#define MAX_ZONES	4096
#define MAX_MAPPED	1024		/* pages mapped at most */
#define RUN_MAX		64		/* pages per ordinary operation */
#define PMD_PAGES	(PMD_SZ / PAGE_SZ)
#define FULL_EVERY	64
#define LOG_N		48
#define NPOP		4		/* popular tags, so KSM finds twins */
#define KSM		"/sys/kernel/mm/ksm/"

/* ---- options ---------------------------------------------------------- */

static uint64_t opt_seed;
static long opt_ops = 3000;
static long opt_seconds = 40;
static char *self_argv0;

/* ---- the model -------------------------------------------------------- */

struct mpage {
	uint64_t tag;		/* 0: reads zero */
	uint8_t mapped;
	uint8_t prot;		/* PROT_* */
	uint8_t mz;		/* MADV_FREE'd: reads tag or zero */
};

/* A range of addresses this program owns: the arena, or where an
 * auto-placed copy landed outside it. */
struct zone {
	uintptr_t start;
	size_t n;
	size_t nm;		/* pages mapped */
	struct mpage *pg;
};

static struct zone zones[MAX_ZONES];
static int nzones;
/* one slot of ZONE_MAX pages per zone; free slots chained by index */
static struct mpage pool[MAX_ZONES][ZONE_MAX];
static int slot_free[MAX_ZONES], nslot_free, slots_used;
static uintptr_t arena;
static size_t nmapped;
static uint64_t next_tag = 1;
static uint64_t pop_tags[NPOP];

static inline uintptr_t zend(int z)
{
	return zones[z].start + zones[z].n * PAGE_SZ;
}

/* The first zone that ends above a (nzones if none) */
static int zone_above(uintptr_t a)
{
	int lo = 0, hi = nzones;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (zend(mid) <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The zone holding a, or -1 */
static int zone_idx(uintptr_t a)
{
	int z = zone_above(a);

	return z < nzones && zones[z].start <= a ? z : -1;
}

static struct mpage *mp(uintptr_t a)
{
	int z = zone_idx(a);

	return z < 0 ? NULL : &zones[z].pg[(a - zones[z].start) / PAGE_SZ];
}

static bool mapped_at(uintptr_t a)
{
	struct mpage *m = mp(a);

	return m && m->mapped;
}

static bool all_owned(uintptr_t a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!mp(a + i * PAGE_SZ))
			return false;
	return true;
}

static bool all_free(uintptr_t a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct mpage *m = mp(a + i * PAGE_SZ);

		if (!m || m->mapped)
			return false;
	}
	return true;
}

static bool any_mapped(uintptr_t a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (mapped_at(a + i * PAGE_SZ))
			return true;
	return false;
}

/* Zones of ZONE_MAX pages at most: picking a page skips empty ones */
static bool add_zone(uintptr_t start, size_t n)
{
	while (n) {
		size_t k = n < ZONE_MAX ? n : ZONE_MAX;
		int i;

		struct mpage *pg;

		if (nzones == MAX_ZONES)
			return false;
		pg = nslot_free ? pool[slot_free[--nslot_free]] :
				  pool[slots_used++];
		for (i = nzones; i > 0 && zones[i - 1].start > start; i--)
			zones[i] = zones[i - 1];
		zones[i].start = start;
		zones[i].n = k;
		zones[i].nm = 0;
		zones[i].pg = pg;
		memset(pg, 0, k * sizeof(struct mpage));
		nzones++;
		start += k * PAGE_SZ;
		n -= k;
	}
	return true;
}

/*
 * Forget the empty zones outside the arena (where auto-placed copies
 * were): nothing but this program maps there, and what it maps next is
 * owned again then.
 */
static void gc_zones(void)
{
	int z, k = 0;

	for (z = 0; z < nzones; z++) {
		if (!zones[z].nm && (zones[z].start < arena ||
		    zones[z].start >= arena + ARENA_PAGES * PAGE_SZ)) {
			slot_free[nslot_free++] =
				(zones[z].pg - &pool[0][0]) / ZONE_MAX;
			continue;
		}
		zones[k++] = zones[z];
	}
	nzones = k;
}

/* Page a becomes mapped or not: counts kept */
static struct mpage *set_mapped(uintptr_t a, bool mapped)
{
	int z = zone_idx(a);
	struct mpage *m = &zones[z].pg[(a - zones[z].start) / PAGE_SZ];

	if (m->mapped != mapped) {
		zones[z].nm += mapped ? 1 : -1;
		nmapped += mapped ? 1 : -1;
		m->mapped = mapped;
	}
	return m;
}

/* Own [a, a + n pages): zones for the parts not owned yet */
static bool own_range(uintptr_t a, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t j;

		if (mp(a + i * PAGE_SZ)) {
			i++;
			continue;
		}
		for (j = i; j < n && !mp(a + j * PAGE_SZ); j++)
			;
		if (!add_zone(a + i * PAGE_SZ, j - i))
			return false;
		i = j;
	}
	return true;
}

static void m_unmap(uintptr_t a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct mpage *m = mp(a + i * PAGE_SZ);

		if (m && m->mapped) {
			set_mapped(a + i * PAGE_SZ, false);
			memset(m, 0, sizeof(*m));
		}
	}
}

static void m_map(uintptr_t a, size_t n, int prot)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct mpage *m = set_mapped(a + i * PAGE_SZ, true);

		m->prot = prot;
		m->tag = 0;
		m->mz = 0;
	}
}

/* dst and src do not overlap (the callers make sure) */
static void m_copy(uintptr_t dst, uintptr_t src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct mpage *d = set_mapped(dst + i * PAGE_SZ, true);
		struct mpage *s = mp(src + i * PAGE_SZ);

		*d = *s;
	}
}

/* ---- pages ------------------------------------------------------------ */

static inline uint64_t tag_word(uint64_t tag, size_t i)
{
	return tag ? (tag << 9) | i : 0;
}

static int memfd_pid = -1, mem_fd = -1;

/* /proc/self/mem of this process (reopened after fork) */
static int self_mem(void)
{
	if (memfd_pid != getpid()) {
		if (mem_fd >= 0)
			close(mem_fd);
		mem_fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
		memfd_pid = getpid();
	}
	return mem_fd;
}

static uint64_t pagebuf[PAGE_SZ / 8];

/* The words of the page at a, read directly or (not readable) through
 * /proc/self/mem; NULL if it cannot be read */
static const uint64_t *read_page(uintptr_t a, int prot)
{
	if (prot & PROT_READ)
		return (const uint64_t *)a;
	if (pread(self_mem(), pagebuf, PAGE_SZ, (off_t)a) != (ssize_t)PAGE_SZ)
		return NULL;
	return pagebuf;
}

static bool write_page(uintptr_t a, int prot, uint64_t tag)
{
	uint64_t *w = (prot & PROT_WRITE) ? (uint64_t *)a : pagebuf;
	size_t i;

	for (i = 0; i < PAGE_SZ / 8; i++)
		w[i] = tag_word(tag, i);
	if (prot & PROT_WRITE)
		return true;
	return pwrite(self_mem(), pagebuf, PAGE_SZ, (off_t)a) ==
	       (ssize_t)PAGE_SZ;
}

/* ---- failure reports -------------------------------------------------- */

static char why[1024];
static char oplog[LOG_N][200];
static long opno;		/* number of the operation running */

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
}

/* "A+0x..." for arena addresses, absolute otherwise */
static const char *ad(uintptr_t a)
{
	static char bufs[4][40];
	static int k;
	char *b = bufs[k++ & 3];

	if (a >= arena && a < arena + ARENA_PAGES * PAGE_SZ)
		snprintf(b, 40, "A+%#lx", (unsigned long)(a - arena));
	else
		snprintf(b, 40, "%#lx", (unsigned long)a);
	return b;
}

static void logop(const char *fmt, ...)
{
	char *e = oplog[opno % LOG_N];
	va_list ap;
	int n;

	n = snprintf(e, sizeof(oplog[0]), "op %ld: ", opno);
	va_start(ap, fmt);
	vsnprintf(e + n, sizeof(oplog[0]) - n, fmt, ap);
	va_end(ap);
}

static void dump_log(void)
{
	long i, first = opno >= LOG_N ? opno - LOG_N + 1 : 0;

	fprintf(stderr, "# arena A = %#lx, %d zones, %zu pages mapped\n",
		(unsigned long)arena, nzones, nmapped);
	fprintf(stderr, "# last operations (of %ld):\n", opno + 1);
	for (i = first; i <= opno; i++)
		fprintf(stderr, "#   %s\n", oplog[i % LOG_N]);
	fprintf(stderr, "# replay: %s --seed %" PRIu64 " --ops %ld --seconds 0\n",
		self_argv0, opt_seed, opno + 1);
}

/* ---- checks ----------------------------------------------------------- */

static bool check_page(uintptr_t a)
{
	struct mpage *m = mp(a);
	const uint64_t *w;
	size_t i;

	if (!m || !m->mapped)
		return true;
	w = read_page(a, m->prot);
	if (!w) {
		fail("page %s (prot %d): cannot read it through /proc/self/mem: %s",
		     ad(a), m->prot, strerror(errno));
		return false;
	}
	if (m->mz) {
		bool zero = true, tag = true;

		for (i = 0; i < PAGE_SZ / 8 && (zero || tag); i++) {
			zero &= w[i] == 0;
			tag &= w[i] == tag_word(m->tag, i);
		}
		if (zero || tag) {
			if (zero) {	/* discarded: stays zero now */
				m->tag = 0;
				m->mz = 0;
			}
			return true;
		}
		fail("page %s (MADV_FREE'd tag %#" PRIx64 "): neither the tag nor zero, word 0 %#" PRIx64,
		     ad(a), m->tag, w[0]);
		return false;
	}
	for (i = 0; i < PAGE_SZ / 8; i++) {
		if (w[i] != tag_word(m->tag, i)) {
			fail("page %s (prot %d): word %zu is %#" PRIx64 ", model says tag %#" PRIx64 " (%#" PRIx64 "); word 0 is %#" PRIx64 " (tag %#" PRIx64 ")",
			     ad(a), m->prot, i, w[i], m->tag,
			     tag_word(m->tag, i), w[0], w[0] >> 9);
			return false;
		}
	}
	return true;
}

static bool check_range(uintptr_t a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!check_page(a + i * PAGE_SZ))
			return false;
	return true;
}

static bool check_all(void)
{
	int z;
	size_t i;

	for (z = 0; z < nzones; z++)
		for (i = 0; zones[z].nm && i < zones[z].n; i++)
			if (zones[z].pg[i].mapped &&
			    !check_page(zones[z].start + i * PAGE_SZ))
				return false;
	return true;
}

/* /proc/self/maps, parsed */
struct vline {
	uintptr_t s, e;
	char perms[5];
	unsigned long off;
	char name[64];
};

#define MAX_VLINES	4096
static struct maps_snap snap, snap_after;
static struct vline vl[MAX_VLINES];
static int nvl;

static unsigned long hexnum(const char **pp, const char *end)
{
	const char *p = *pp;
	unsigned long v = 0;

	for (; p < end; p++) {
		int d = *p >= '0' && *p <= '9' ? *p - '0' :
			*p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;

		if (d < 0)
			break;
		v = v * 16 + d;
	}
	*pp = p;
	return v;
}

static const char *skip_field(const char *p, const char *end)
{
	while (p < end && *p != ' ')
		p++;
	while (p < end && *p == ' ')
		p++;
	return p;
}

/* "start-end perms offset dev inode   name" (sscanf is slow under TCG) */
static int parse_maps(const struct maps_snap *sn)
{
	const char *p = sn->buf, *end = sn->buf + sn->len;

	nvl = 0;
	while (p < end && nvl < MAX_VLINES) {
		const char *eol = memchr(p, '\n', end - p);
		struct vline *v = &vl[nvl];
		size_t l;

		if (!eol)
			eol = end;
		v->s = hexnum(&p, eol);
		if (p == eol || *p++ != '-')
			return -EINVAL;
		v->e = hexnum(&p, eol);
		if (eol - p < 6)
			return -EINVAL;
		memcpy(v->perms, p + 1, 4);
		v->perms[4] = 0;
		p = skip_field(p + 1, eol);
		v->off = hexnum(&p, eol);
		p = skip_field(p, eol);		/* to dev */
		p = skip_field(p, eol);		/* to inode */
		p = skip_field(p, eol);		/* to name */
		l = eol - p;
		if (l >= sizeof(v->name))
			l = sizeof(v->name) - 1;
		memcpy(v->name, p, l);
		v->name[l] = 0;
		nvl++;
		p = eol + 1;
	}
	return 0;
}

static int perm_prot(const char *perms)
{
	return (perms[0] == 'r' ? PROT_READ : 0) |
	       (perms[1] == 'w' ? PROT_WRITE : 0) |
	       (perms[2] == 'x' ? PROT_EXEC : 0);
}

struct run {
	uintptr_t s, e;
	int prot;
};

#define MAX_RUNS	8192
static struct run mruns[MAX_RUNS], aruns[MAX_RUNS];

static int push_run(struct run *r, int n, uintptr_t s, uintptr_t e, int prot)
{
	if (n && r[n - 1].e == s && r[n - 1].prot == prot) {
		r[n - 1].e = e;
		return n;
	}
	if (n == MAX_RUNS)
		return n;
	r[n].s = s;
	r[n].e = e;
	r[n].prot = prot;
	return n + 1;
}

static uint64_t other_hash0;

/* FNV-1a of the maps outside the owned zones, [stack] and [heap] aside */
static uint64_t other_hash(void)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	int i, z;

	for (i = 0; i < nvl; i++) {
		uintptr_t s = vl[i].s;

		if (!strcmp(vl[i].name, "[stack]") ||
		    !strcmp(vl[i].name, "[heap]"))
			continue;
		/* the parts of the line between zones */
		for (z = zone_above(s); z <= nzones && s < vl[i].e; z++) {
			uintptr_t zs = z < nzones ? zones[z].start : UINTPTR_MAX;
			uintptr_t ze = z < nzones ?
				       zs + zones[z].n * PAGE_SZ : UINTPTR_MAX;
			uintptr_t pe = vl[i].e < zs ? vl[i].e : zs;
			uint64_t v[4];
			size_t k;

			if (ze <= s)
				continue;
			if (s < pe) {
				v[0] = s;
				v[1] = pe;
				v[2] = vl[i].off + (s - vl[i].s);
				memcpy(&v[3], vl[i].perms, 4);
				v[3] &= 0xffffffff;
				for (k = 0; k < sizeof(v); k++)
					h = (h ^ ((unsigned char *)v)[k]) *
					    0x100000001b3ULL;
				for (k = 0; vl[i].name[k]; k++)
					h = (h ^ (unsigned char)vl[i].name[k]) *
					    0x100000001b3ULL;
			}
			s = ze > s ? ze : s;
		}
	}
	return h;
}

/* The model's ranges and protections against /proc/self/maps */
static bool check_maps(bool others)
{
	int nm = 0, na = 0, i, z;
	size_t k;
	int r = maps_snapshot(&snap);

	if (r || parse_maps(&snap)) {
		fail("cannot read /proc/self/maps: %d", r);
		return false;
	}
	for (z = 0; z < nzones; z++) {
		for (k = 0; zones[z].nm && k < zones[z].n; k++) {
			struct mpage *m = &zones[z].pg[k];
			uintptr_t a = zones[z].start + k * PAGE_SZ;

			if (m->mapped)
				nm = push_run(mruns, nm, a, a + PAGE_SZ, m->prot);
		}
	}
	for (i = 0; i < nvl; i++) {
		int zz;

		for (zz = zone_above(vl[i].s);
		     zz < nzones && zones[zz].start < vl[i].e; zz++) {
			uintptr_t zs = zones[zz].start;
			uintptr_t ze = zs + zones[zz].n * PAGE_SZ;
			uintptr_t s = vl[i].s > zs ? vl[i].s : zs;
			uintptr_t e = vl[i].e < ze ? vl[i].e : ze;

			if (s >= e)
				continue;
			if (vl[i].perms[3] != 'p' || vl[i].name[0]) {
				fail("maps line %lx-%lx %s %s in an owned zone is not private anonymous memory",
				     (unsigned long)vl[i].s,
				     (unsigned long)vl[i].e, vl[i].perms,
				     vl[i].name);
				return false;
			}
			na = push_run(aruns, na, s, e, perm_prot(vl[i].perms));
		}
	}
	for (i = 0; i < nm || i < na; i++) {
		if (i < nm && i < na && mruns[i].s == aruns[i].s &&
		    mruns[i].e == aruns[i].e && mruns[i].prot == aruns[i].prot)
			continue;
		if (i >= na)
			fail("model maps %s-%s prot %d, /proc/self/maps has nothing more",
			     ad(mruns[i].s), ad(mruns[i].e), mruns[i].prot);
		else if (i >= nm)
			fail("/proc/self/maps has %s-%s prot %d, the model nothing more",
			     ad(aruns[i].s), ad(aruns[i].e), aruns[i].prot);
		else
			fail("model maps %s-%s prot %d, /proc/self/maps %s-%s prot %d",
			     ad(mruns[i].s), ad(mruns[i].e), mruns[i].prot,
			     ad(aruns[i].s), ad(aruns[i].e), aruns[i].prot);
		return false;
	}
	if (others && other_hash() != other_hash0) {
		fail("mappings outside the owned ranges changed");
		return false;
	}
	return true;
}

/* ---- choosing ranges -------------------------------------------------- */

/* A random mapped page, 0 if none */
static uintptr_t pick_mapped(void)
{
	size_t k, i;
	int z;

	if (!nmapped)
		return 0;
	k = rnd(nmapped);
	for (z = 0; z < nzones; z++) {
		if (k >= zones[z].nm) {
			k -= zones[z].nm;
			continue;
		}
		for (i = 0; i < zones[z].n; i++)
			if (zones[z].pg[i].mapped && k-- == 0)
				return zones[z].start + i * PAGE_SZ;
	}
	return 0;
}

/* A run of up to maxn mapped pages (no holes), possibly across VMAs */
static bool pick_run(size_t maxn, uintptr_t *start, size_t *n)
{
	uintptr_t p = pick_mapped(), rs, re, lo, hi;
	size_t len, maxlen;

	if (!p)
		return false;
	for (rs = p; rs - p < 1024 * PAGE_SZ && mapped_at(rs - PAGE_SZ);
	     rs -= PAGE_SZ)
		;
	for (re = p + PAGE_SZ; re - p < 1024 * PAGE_SZ && mapped_at(re);
	     re += PAGE_SZ)
		;
	maxlen = (re - rs) / PAGE_SZ;
	if (maxlen > maxn)
		maxlen = maxn;
	/* short runs mostly, whole long runs sometimes */
	len = chance(20) ? maxlen : 1 + rnd(maxlen < 16 ? maxlen : 16);
	lo = p >= rs + (len - 1) * PAGE_SZ ? p - (len - 1) * PAGE_SZ : rs;
	hi = p + len * PAGE_SZ <= re ? p : re - len * PAGE_SZ;
	*start = lo + rnd((hi - lo) / PAGE_SZ + 1) * PAGE_SZ;
	*n = len;
	return true;
}

/* A free range of n pages in the arena, at an offset ≡ align_off modulo
 * align (align 0: any), next to a mapping when near is set */
static uintptr_t pick_free(size_t n, size_t align, uintptr_t align_off,
			   bool near)
{
	int tries;

	if (n > ARENA_PAGES)
		return 0;
	for (tries = 0; tries < 64; tries++) {
		uintptr_t a;

		if (near && tries < 16 && nmapped) {
			uintptr_t p = pick_mapped(), e;

			for (e = p; mapped_at(e); e += PAGE_SZ)
				;
			if (chance(50)) {
				a = e;
			} else {
				for (; mapped_at(p - PAGE_SZ); p -= PAGE_SZ)
					;
				a = p - n * PAGE_SZ;
			}
		} else if (align) {
			size_t slots = (ARENA_PAGES * PAGE_SZ) / align;

			a = arena + rnd(slots) * align + (align_off % align);
		} else {
			a = arena + rnd(ARENA_PAGES - n + 1) * PAGE_SZ;
		}
		if (a < arena || a + n * PAGE_SZ > arena + ARENA_PAGES * PAGE_SZ)
			continue;
		if (all_free(a, n))
			return a;
	}
	return 0;
}

/*
 * The VMA holding a, if wholly owned: from the maps of the last
 * check_maps(), which nothing changed since.
 */
static bool vma_of(uintptr_t a, uintptr_t *s, uintptr_t *e)
{
	int lo = 0, hi = nvl - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;

		if (a < vl[mid].s) {
			hi = mid - 1;
		} else if (a >= vl[mid].e) {
			lo = mid + 1;
		} else {
			*s = vl[mid].s;
			*e = vl[mid].e;
			return all_owned(*s, (*e - *s) / PAGE_SZ);
		}
	}
	return false;
}

static const char *prot_name(int prot)
{
	switch (prot) {
	case PROT_NONE: return "---";
	case PROT_READ: return "r--";
	case PROT_READ | PROT_WRITE: return "rw-";
	default: return "?";
	}
}

static int pick_prot(void)
{
	unsigned int r = rnd(100);

	return r < 70 ? PROT_READ | PROT_WRITE : r < 85 ? PROT_READ : PROT_NONE;
}

static uint64_t new_tag(void)
{
	if (chance(20))
		return pop_tags[rnd(NPOP)];
	return next_tag++;
}

/* ---- operations ------------------------------------------------------- */

struct ctx {
	int fd;
	long n_dup, n_dup_fail, n_fork, n_skipped;
};

static bool op_map(struct ctx *c)
{
	bool big = chance(5);
	size_t n = big ? PMD_PAGES : 1 + rnd(32), i;
	int prot = big ? PROT_READ | PROT_WRITE : pick_prot();
	uintptr_t a;
	void *p;

	if (nmapped + n > MAX_MAPPED)
		return c->n_skipped++, true;
	a = big ? pick_free(n, PMD_SZ, 0, false) : pick_free(n, 0, 0, chance(50));
	if (!a)
		return c->n_skipped++, true;
	logop("mmap %s +%zu pages %s", ad(a), n, prot_name(prot));
	p = mmap((void *)a, n * PAGE_SZ, prot,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != (void *)a) {
		fail("mmap(%s, %zu pages, FIXED_NOREPLACE) on a free range: %p (%s)",
		     ad(a), n, p, strerror(errno));
		return false;
	}
	m_map(a, n, prot);
	/* fill some of it: a few pages, or all of a small one */
	for (i = 0; i < n; i++) {
		if (n <= 32 ? chance(60) : chance(3)) {
			struct mpage *m = mp(a + i * PAGE_SZ);

			m->tag = new_tag();
			if (!write_page(a + i * PAGE_SZ, prot, m->tag)) {
				fail("write through /proc/self/mem at %s: %s",
				     ad(a + i * PAGE_SZ), strerror(errno));
				return false;
			}
		}
	}
	return check_range(a, n);
}

static bool op_write(struct ctx *c)
{
	uintptr_t a;
	size_t n, i;

	if (!pick_run(16, &a, &n))
		return c->n_skipped++, true;
	logop("write %s +%zu pages", ad(a), n);
	for (i = 0; i < n; i++) {
		struct mpage *m = mp(a + i * PAGE_SZ);

		if (chance(30))
			continue;
		m->tag = new_tag();
		m->mz = 0;
		if (!write_page(a + i * PAGE_SZ, m->prot, m->tag)) {
			fail("write through /proc/self/mem at %s: %s",
			     ad(a + i * PAGE_SZ), strerror(errno));
			return false;
		}
	}
	return check_range(a, n);
}

static bool op_read(struct ctx *c)
{
	uintptr_t a;
	size_t n;

	if (!pick_run(RUN_MAX, &a, &n))
		return c->n_skipped++, true;
	logop("read %s +%zu pages", ad(a), n);
	return check_range(a, n);
}

enum dup_kind { DK_AUTO, DK_HINT, DK_FIXED, DK_NOREPLACE, DK_RESTORE,
		DK_HOLE, DK_NR };
static const char *const dk_name[] = {
	"auto", "hint", "FIXED", "FIXED_NOREPLACE", "restore", "hole"
};

static bool overlaps(uintptr_t a, size_t an, uintptr_t b, size_t bn)
{
	return a < b + bn * PAGE_SZ && b < a + an * PAGE_SZ;
}

static bool op_dup(struct ctx *c)
{
	enum dup_kind k = rnd(DK_NR);
	uintptr_t src, dst = 0, hint = 0;
	size_t n, replaced = 0, i;
	uint64_t flags = 0;
	int expect = 0, r;
	bool exact = false;
	void *d;

	if (!pick_run(chance(10) ? PMD_PAGES : RUN_MAX, &src, &n))
		return c->n_skipped++, true;
	if (nzones + 2 * (n / ZONE_MAX + 2) > MAX_ZONES &&
	    (k == DK_AUTO || k == DK_HINT))
		k = DK_FIXED;	/* no zones left for a copy outside */

	switch (k) {
	case DK_AUTO:
		break;
	case DK_HINT:
		if (chance(70)) {
			hint = pick_free(n, PMD_SZ, src & (PMD_SZ - 1), false);
			exact = hint != 0;
		} else {
			hint = pick_free(n, 0, 0, chance(50));
			exact = hint && !((hint - src) & (PMD_SZ - 1));
		}
		dst = hint;
		break;
	case DK_FIXED:
	case DK_NOREPLACE:
		flags = k == DK_FIXED ? COWDUP_FIXED : COWDUP_FIXED_NOREPLACE;
		if (chance(50)) {
			dst = pick_free(n, 0, 0, chance(50));
		}
		if (!dst) {
			dst = arena + rnd(ARENA_PAGES - n + 1) * PAGE_SZ;
			/* mostly not over the source */
			if (overlaps(dst, n, src, n) && chance(70))
				dst = pick_free(n, 0, 0, false);
		}
		if (!dst)
			return c->n_skipped++, true;
		if (overlaps(dst, n, src, n))
			expect = -EINVAL;
		else if (k == DK_NOREPLACE && any_mapped(dst, n))
			expect = -EEXIST;
		exact = true;
		break;
	case DK_RESTORE: {
		/* over another live run of the same length */
		int tries;

		flags = COWDUP_FIXED;
		for (tries = 0; tries < 16 && !dst; tries++) {
			uintptr_t p = pick_mapped(), rs;

			for (rs = p; mapped_at(rs - PAGE_SZ) &&
			     (p - rs) < n * PAGE_SZ; rs -= PAGE_SZ)
				;
			if (!all_owned(rs, n) || overlaps(rs, n, src, n))
				continue;
			for (i = 0; i < n && mapped_at(rs + i * PAGE_SZ); i++)
				;
			if (i == n)
				dst = rs;
		}
		if (!dst)
			return c->n_skipped++, true;
		exact = true;
		break;
	}
	case DK_HOLE: {
		/* the source run plus the unmapped page after it */
		uintptr_t e = src + n * PAGE_SZ;

		while (mapped_at(e))
			e += PAGE_SZ;
		if (!mp(e) || e - src > PMD_SZ)
			return c->n_skipped++, true;
		n = (e - src) / PAGE_SZ + 1;
		expect = -EFAULT;
		break;
	}
	default:
		break;
	}
	if (flags & COWDUP_FIXED) {
		for (i = 0; i < n; i++)
			replaced += mapped_at(dst + i * PAGE_SZ);
	}
	if (!expect && nmapped + n - replaced > MAX_MAPPED)
		return c->n_skipped++, true;

	logop("dup %s %s +%zu pages -> %s", dk_name[k], ad(src), n,
	      dst ? ad(dst) : "0");
	/* snap: the maps of the last check, nothing changed since */
	d = (void *)dst;
	r = cowdup_dup_raw(c->fd, (void *)src, n * PAGE_SZ, &d, flags);
	c->n_dup++;
	if (r) {
		const char *diff;

		c->n_dup_fail++;
		if (maps_snapshot(&snap_after)) {
			fail("cannot read maps");
			return false;
		}
		diff = maps_diff(&snap, &snap_after);
		if (r != expect) {
			fail("dup %s %s +%zu -> %s: %d (%s), expected %d",
			     dk_name[k], ad(src), n, ad(dst), r, strerror(-r),
			     expect);
			return false;
		}
		if (diff) {
			fail("failed dup (%s) changed /proc/self/maps: %s",
			     strerror(-r), diff);
			return false;
		}
		return true;
	}
	if (expect) {
		fail("dup %s %s +%zu -> %s succeeded at %p, expected %d (%s)",
		     dk_name[k], ad(src), n, ad(dst), d, expect,
		     strerror(-expect));
		return false;
	}
	logop("dup %s %s +%zu pages -> %s: at %s", dk_name[k], ad(src), n,
	      dst ? ad(dst) : "0", ad((uintptr_t)d));
	if (exact && (uintptr_t)d != dst) {
		fail("dup %s: copy at %s, not at %s", dk_name[k],
		     ad((uintptr_t)d), ad(dst));
		return false;
	}
	if (!flags) {
		/* a new place: nothing of ours was there */
		if (any_mapped((uintptr_t)d, n)) {
			fail("dup %s: copy at %s over mapped memory", dk_name[k],
			     ad((uintptr_t)d));
			return false;
		}
		if (((uintptr_t)d - src) & (PMD_SZ - 1)) {
			fail("dup %s: copy at %s not aligned like %s modulo 2 MiB",
			     dk_name[k], ad((uintptr_t)d), ad(src));
			return false;
		}
		if (!own_range((uintptr_t)d, n)) {
			fail("out of model zones");
			return false;
		}
	}
	m_copy((uintptr_t)d, src, n);
	return check_range(src, n) && check_range((uintptr_t)d, n);
}

static bool op_munmap(struct ctx *c)
{
	uintptr_t a, s, e;
	size_t n;

	if (chance(nvl > 250 ? 90 : 50)) {
		a = pick_mapped();
		if (!a || !vma_of(a, &s, &e))
			return c->n_skipped++, true;
		n = (e - s) / PAGE_SZ;
		a = s;
	} else {
		if (!pick_run(RUN_MAX, &a, &n))
			return c->n_skipped++, true;
		/* a page of hole on either side sometimes */
		if (chance(30) && mp(a - PAGE_SZ)) {
			a -= PAGE_SZ;
			n++;
		}
		if (chance(30) && mp(a + n * PAGE_SZ))
			n++;
	}
	logop("munmap %s +%zu pages", ad(a), n);
	if (munmap((void *)a, n * PAGE_SZ)) {
		fail("munmap(%s, %zu pages): %s", ad(a), n, strerror(errno));
		return false;
	}
	m_unmap(a, n);
	return check_range(a - PAGE_SZ, 1) && check_range(a + n * PAGE_SZ, 1);
}

static bool op_mprotect(struct ctx *c)
{
	int prot = pick_prot();
	uintptr_t a;
	size_t n, i;

	if (!pick_run(RUN_MAX, &a, &n))
		return c->n_skipped++, true;
	logop("mprotect %s +%zu pages %s", ad(a), n, prot_name(prot));
	if (mprotect((void *)a, n * PAGE_SZ, prot)) {
		fail("mprotect(%s, %zu pages, %d): %s", ad(a), n, prot,
		     strerror(errno));
		return false;
	}
	for (i = 0; i < n; i++)
		mp(a + i * PAGE_SZ)->prot = prot;
	return check_range(a, n);
}

static bool op_mremap(struct ctx *c)
{
	uintptr_t p = pick_mapped(), vs, ve, s, t = 0;
	size_t n, nn;
	int mode = rnd(3);	/* 0 move, 1 grow in place, 2 shrink in place */
	void *r;

	if (!p || !vma_of(p, &vs, &ve))
		return c->n_skipped++, true;
	if (mode == 0) {
		size_t vn = (ve - vs) / PAGE_SZ;

		n = 1 + rnd(vn < RUN_MAX ? vn : RUN_MAX);
		s = vs + rnd(vn - n + 1) * PAGE_SZ;
		switch (rnd(4)) {
		case 0: nn = n + 1 + rnd(8); break;
		case 1: nn = n > 1 ? 1 + rnd(n - 1) : n; break;
		default: nn = n; break;
		}
		if (nmapped + nn > MAX_MAPPED + n)
			return c->n_skipped++, true;
		t = chance(30) ? pick_free(nn, PMD_SZ, s & (PMD_SZ - 1), false) : 0;
		if (!t)
			t = pick_free(nn, 0, 0, chance(50));
		if (!t)
			return c->n_skipped++, true;
		logop("mremap move %s +%zu -> %s +%zu", ad(s), n, ad(t), nn);
		r = mremap((void *)s, n * PAGE_SZ, nn * PAGE_SZ,
			   MREMAP_MAYMOVE | MREMAP_FIXED, (void *)t);
		if (r != (void *)t) {
			fail("mremap(%s, %zu, %zu, MAYMOVE|FIXED, %s): %p (%s)",
			     ad(s), n, nn, ad(t), r, strerror(errno));
			return false;
		}
		m_copy(t, s, nn < n ? nn : n);
		if (nn > n)
			m_map(t + n * PAGE_SZ, nn - n, mp(t + (n - 1) * PAGE_SZ)->prot);
		m_unmap(s, n);
		return check_range(t, nn);
	}
	/* in place: [s, ve) to nn pages */
	n = (ve - vs) / PAGE_SZ;
	s = vs + rnd(n) * PAGE_SZ;
	n = (ve - s) / PAGE_SZ;
	if (mode == 1) {
		size_t g = 1 + rnd(8);
		int prot = mp(ve - PAGE_SZ)->prot;
		bool ok;

		if (!all_owned(ve, g) || nmapped + g > MAX_MAPPED)
			return c->n_skipped++, true;
		ok = all_free(ve, g);
		nn = n + g;
		logop("mremap grow %s +%zu -> +%zu in place (%s)", ad(s), n,
		      nn, ok ? "room" : "no room");
		r = mremap((void *)s, n * PAGE_SZ, nn * PAGE_SZ, 0);
		if (ok ? r != (void *)s : (r != MAP_FAILED || errno != ENOMEM)) {
			fail("mremap(%s, %zu, %zu, 0) in place: %p (%s), expected %s",
			     ad(s), n, nn, r, strerror(errno),
			     ok ? "success" : "ENOMEM");
			return false;
		}
		if (ok)
			m_map(ve, g, prot);
		return check_range(s, ok ? nn : n);
	}
	if (n < 2)
		return c->n_skipped++, true;
	nn = 1 + rnd(n - 1);
	logop("mremap shrink %s +%zu -> +%zu", ad(s), n, nn);
	r = mremap((void *)s, n * PAGE_SZ, nn * PAGE_SZ, 0);
	if (r != (void *)s) {
		fail("mremap(%s, %zu, %zu, 0) shrink: %p (%s)", ad(s), n, nn,
		     r, strerror(errno));
		return false;
	}
	m_unmap(s + nn * PAGE_SZ, n - nn);
	return check_range(s, nn);
}

static const struct {
	int advice;
	const char *name;
} advices[] = {
	{ MADV_DONTNEED, "DONTNEED" }, { MADV_FREE, "FREE" },
	{ MADV_PAGEOUT, "PAGEOUT" }, { MADV_COLD, "COLD" },
	{ MADV_COLLAPSE, "COLLAPSE" }, { MADV_MERGEABLE, "MERGEABLE" },
	{ MADV_UNMERGEABLE, "UNMERGEABLE" }, { MADV_HUGEPAGE, "HUGEPAGE" },
	{ MADV_NOHUGEPAGE, "NOHUGEPAGE" },
};

static bool op_madvise(struct ctx *c)
{
	int w = rnd(sizeof(advices) / sizeof(advices[0]));
	int adv = advices[w].advice;
	uintptr_t a;
	size_t n, i;
	int r;

	if (!pick_run(adv == MADV_COLLAPSE ? PMD_PAGES : RUN_MAX, &a, &n))
		return c->n_skipped++, true;
	if (adv == MADV_COLLAPSE && n >= PMD_PAGES / 2) {
		/* the PMD-aligned range around it, if all mapped */
		uintptr_t s = a & ~(PMD_SZ - 1);

		for (i = 0; i < PMD_PAGES && mapped_at(s + i * PAGE_SZ); i++)
			;
		if (i == PMD_PAGES) {
			a = s;
			n = PMD_PAGES;
		}
	}
	logop("madvise %s +%zu pages %s", ad(a), n, advices[w].name);
	r = madvise((void *)a, n * PAGE_SZ, adv);
	if (r && adv != MADV_COLLAPSE) {
		fail("madvise(%s, %zu pages, %s): %s", ad(a), n,
		     advices[w].name, strerror(errno));
		return false;
	}
	for (i = 0; i < n; i++) {
		struct mpage *m = mp(a + i * PAGE_SZ);

		if (adv == MADV_DONTNEED) {
			m->tag = 0;
			m->mz = 0;
		} else if (adv == MADV_FREE && m->tag) {
			m->mz = 1;
		}
	}
	return check_range(a, n);
}

/* COWDUP_IOC_QUERY against the model */
static bool op_query(struct ctx *c)
{
	static unsigned char vec[RUN_MAX * 4];
	struct cowdup_query_args q;
	uint64_t cnt[6] = { 0 };
	uintptr_t a;
	size_t n, i;
	int r;

	if (!pick_run(RUN_MAX, &a, &n))
		return c->n_skipped++, true;
	/* with the owned pages around it, mapped or not */
	while (n < RUN_MAX * 2 && mp(a - PAGE_SZ) && chance(80)) {
		a -= PAGE_SZ;
		n++;
	}
	while (n < RUN_MAX * 4 && mp(a + n * PAGE_SZ) && chance(80))
		n++;
	logop("query %s +%zu pages", ad(a), n);
	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.addr = a;
	q.len = n * PAGE_SZ;
	q.vec = (uintptr_t)vec;
	r = cowdup_ioctl(c->fd, COWDUP_IOC_QUERY, &q);
	if (r) {
		fail("QUERY %s +%zu: %s", ad(a), n, strerror(-r));
		return false;
	}
	for (i = 0; i < n; i++) {
		struct mpage *m = mp(a + i * PAGE_SZ);
		int st = vec[i] & COWDUP_PAGE_STATE_MASK;
		bool ok;

		cnt[st < 6 ? st : 0]++;
		if (!m->mapped)
			ok = st == COWDUP_PAGE_NONE;
		else if (m->tag && !m->mz)
			ok = st == COWDUP_PAGE_SHARED ||
			     st == COWDUP_PAGE_EXCLUSIVE ||
			     st == COWDUP_PAGE_SWAP;
		else
			ok = st != COWDUP_PAGE_FILE && st <= COWDUP_PAGE_SWAP;
		if (!ok) {
			fail("QUERY: page %s is state %#x; model: mapped %d tag %#" PRIx64 " free %d",
			     ad(a + i * PAGE_SZ), vec[i], m->mapped, m->tag,
			     m->mz);
			return false;
		}
	}
	if (cnt[0] != q.nr_none || cnt[1] != q.nr_zero ||
	    cnt[2] != q.nr_shared || cnt[3] != q.nr_exclusive ||
	    cnt[4] != q.nr_file || cnt[5] != q.nr_swap) {
		fail("QUERY counts differ from the vector's tally");
		return false;
	}
	return true;
}

/* The child checks everything, writes and dups on its own, exits */
static bool op_fork(struct ctx *c, volatile char *shmsg)
{
	int status, k;
	pid_t pid;

	logop("fork and verify");
	c->n_fork++;
	shmsg[0] = 0;
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		fail("fork: %s", strerror(errno));
		return false;
	}
	if (pid == 0) {
		bool ok = check_all() && check_maps(false);

		for (k = 0; ok && k < 8; k++) {
			uintptr_t a;
			size_t n;

			if (chance(50)) {
				ok = op_write(c);
			} else if (pick_run(RUN_MAX, &a, &n)) {
				void *d = NULL;
				int r = cowdup_dup_raw(c->fd, (void *)a,
						       n * PAGE_SZ, &d, 0);

				if (r) {
					fail("child: dup %s +%zu: %s", ad(a), n,
					     strerror(-r));
					ok = false;
				} else if (own_range((uintptr_t)d, n)) {
					m_copy((uintptr_t)d, a, n);
					ok = check_range((uintptr_t)d, n);
				}
			}
		}
		if (!ok) {
			strncpy((char *)shmsg, why, PAGE_SZ - 1);
			_exit(1);
		}
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid) {
		fail("waitpid: %s", strerror(errno));
		return false;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("fork-and-verify child failed (status %#x): %s", status,
		     (const char *)shmsg);
		return false;
	}
	/* nothing the child did shows here */
	return check_all();
}

/* ---- the test --------------------------------------------------------- */

FIXTURE(stress) {
	int fd;
	int kmsg;
	bool ksm_saved;
	long ksm_run, ksm_pages, ksm_sleep;
	char *shmsg;
};

FIXTURE_SETUP(stress)
{
	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", COWDUP_DEVICE_PATH,
				      strerror(errno));
	self->shmsg = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->shmsg);
	/* ksmd on, so MERGEABLE runs merge the pages with popular tags */
	if (!read_long(KSM "run", &self->ksm_run) &&
	    !read_long(KSM "pages_to_scan", &self->ksm_pages) &&
	    !read_long(KSM "sleep_millisecs", &self->ksm_sleep)) {
		self->ksm_saved = true;
		write_long(KSM "pages_to_scan", 256);
		write_long(KSM "sleep_millisecs", 20);
		write_long(KSM "run", 1);
	}
}

FIXTURE_TEARDOWN_PARENT(stress)
{
	if (self->ksm_saved) {
		write_long(KSM "run", self->ksm_run);
		write_long(KSM "pages_to_scan", self->ksm_pages);
		write_long(KSM "sleep_millisecs", self->ksm_sleep);
	}
	close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

/* A counter of /proc/vmstat, 0 if absent */
static long vmstat(const char *name)
{
	static char buf[16384];
	size_t l = strlen(name);
	char *p;

	if (read_file("/proc/vmstat", buf, sizeof(buf)) <= 0)
		return 0;
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, name, l) && p[l] == ' ')
			return atol(p + l + 1);
	return 0;
}

static const char *const vmstat_names[] = {
	"thp_fault_alloc", "thp_collapse_alloc", "thp_split_pmd", "pswpout",
	"pswpin", "pgmigrate_success",
};
#define NVMSTAT	(sizeof(vmstat_names) / sizeof(vmstat_names[0]))

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

TEST_F_TIMEOUT(stress, model, 120)
{
	struct ctx c = { .fd = self->fd };
	double t0 = now();
	long n_ops[16] = { 0 };
	double t_ops[16] = { 0 }, t_maps = 0, t_all = 0, t;
	long vm0[NVMSTAT], ksm_max = 0, v;
	size_t j;
	bool ok = true;
	int i;

	rng_seed(opt_seed);
	for (j = 0; j < NVMSTAT; j++)
		vm0[j] = vmstat(vmstat_names[j]);
	for (i = 0; i < NPOP; i++)
		pop_tags[i] = next_tag++;
	arena = (uintptr_t)free_range(ARENA_PAGES * PAGE_SZ, PMD_SZ);
	ASSERT_NE(0UL, arena);
	ASSERT_TRUE(add_zone(arena, ARENA_PAGES));
	ASSERT_EQ(0, maps_snapshot(&snap));
	ASSERT_EQ(0, parse_maps(&snap));
	/* and the free gap above it, where auto-placed copies go first */
	for (i = 0; i < nvl; i++) {
		uintptr_t top = arena + ARENA_PAGES * PAGE_SZ;

		if (vl[i].s >= top) {
			if (vl[i].s - top <= 64 * MiB)
				ASSERT_TRUE(add_zone(top, (vl[i].s - top) / PAGE_SZ));
			break;
		}
	}
	other_hash0 = other_hash();
	TH_LOG("seed %" PRIu64 ", %ld operations, %ld s at most, arena %#lx",
	       opt_seed, opt_ops, opt_seconds, (unsigned long)arena);

	for (opno = 0; opno < opt_ops && ok; opno++) {
		unsigned int w = rnd(100);
		int kind;

		if (opt_seconds && now() - t0 > opt_seconds)
			break;
		logop("(skipped)");
		/* mostly growth while little is mapped */
		if (nmapped < 64 && w < 40)
			kind = 0;
		else if ((nmapped > MAX_MAPPED * 3 / 4 || nvl > 250) && w < 25)
			kind = 4;	/* and shrink when much is mapped */
		else if (w < 10) kind = 0;
		else if (w < 24) kind = 1;
		else if (w < 30) kind = 2;
		else if (w < 52) kind = 3;
		else if (w < 60) kind = 4;
		else if (w < 67) kind = 5;
		else if (w < 75) kind = 6;
		else if (w < 88) kind = 7;
		else if (w < 93) kind = 8;
		else kind = 9;
		if (kind == 8 && !chance(25))
			kind = 3;	/* forks are slow: fewer of them */
		n_ops[kind]++;
		t = now();
		switch (kind) {
		case 0: ok = op_map(&c); break;
		case 1: ok = op_write(&c); break;
		case 2: ok = op_read(&c); break;
		case 3: ok = op_dup(&c); break;
		case 4: ok = op_munmap(&c); break;
		case 5: ok = op_mprotect(&c); break;
		case 6: ok = op_mremap(&c); break;
		case 7: ok = op_madvise(&c); break;
		case 8: ok = op_fork(&c, self->shmsg); break;
		default: ok = op_query(&c); break;
		}
		t_ops[kind] += now() - t;
		t = now();
		if (ok)
			ok = check_maps(true);
		t_maps += now() - t;
		t = now();
		if (ok && (opno + 1) % FULL_EVERY == 0) {
			ok = check_all();
			gc_zones();
			if (!read_long(KSM "pages_sharing", &v) && v > ksm_max)
				ksm_max = v;
		}
		t_all += now() - t;
	}
	opno--;		/* the last one run */
	if (ok)
		ok = check_all() && check_maps(true);
	if (!ok) {
		TH_LOG("seed %" PRIu64 ": %s", opt_seed, why);
		dump_log();
	}
	ASSERT_TRUE(ok);
	TH_LOG("%ld operations in %.1f s (seed %" PRIu64 "): %ld dups (%ld refused as expected), %ld forks, %ld skipped; %zu pages mapped in %d zones at the end",
	       opno + 1, now() - t0, opt_seed, c.n_dup, c.n_dup_fail, c.n_fork,
	       c.n_skipped, nmapped, nzones);
	TH_LOG("ops: map %ld write %ld read %ld dup %ld munmap %ld mprotect %ld mremap %ld madvise %ld fork %ld query %ld",
	       n_ops[0], n_ops[1], n_ops[2], n_ops[3], n_ops[4], n_ops[5],
	       n_ops[6], n_ops[7], n_ops[8], n_ops[9]);
	TH_LOG("kernel: thp_fault_alloc +%ld thp_collapse_alloc +%ld thp_split_pmd +%ld pswpout +%ld pswpin +%ld pgmigrate_success +%ld; KSM pages_sharing up to %ld",
	       vmstat(vmstat_names[0]) - vm0[0],
	       vmstat(vmstat_names[1]) - vm0[1],
	       vmstat(vmstat_names[2]) - vm0[2],
	       vmstat(vmstat_names[3]) - vm0[3],
	       vmstat(vmstat_names[4]) - vm0[4],
	       vmstat(vmstat_names[5]) - vm0[5], ksm_max);
	TH_LOG("seconds: map %.1f write %.1f read %.1f dup %.1f munmap %.1f mprotect %.1f mremap %.1f madvise %.1f fork %.1f query %.1f; maps checks %.1f, full checks %.1f; %d maps lines",
	       t_ops[0], t_ops[1], t_ops[2], t_ops[3], t_ops[4], t_ops[5],
	       t_ops[6], t_ops[7], t_ops[8], t_ops[9], t_maps, t_all, nvl);
	/* and the kernel takes it all down: every mapping of ours */
	for (i = 0; i < nzones; i++)
		ASSERT_EQ(0, munmap((void *)zones[i].start,
				    zones[i].n * PAGE_SZ));
}

/* Options of our own before the harness's; re-exec without ASLR */
int main(int argc, char **argv)
{
	const char *e;
	char **hargv = calloc(argc + 1, sizeof(char *));
	int i, hargc = 0;
	bool seeded = false;

	self_argv0 = argv[0];
	if ((e = getenv("STRESS_SEED"))) {
		opt_seed = strtoull(e, NULL, 0);
		seeded = true;
	}
	if ((e = getenv("STRESS_OPS")))
		opt_ops = strtol(e, NULL, 0);
	if ((e = getenv("STRESS_SECONDS")))
		opt_seconds = strtol(e, NULL, 0);
	hargv[hargc++] = argv[0];
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			opt_seed = strtoull(argv[++i], NULL, 0);
			seeded = true;
		} else if (!strcmp(argv[i], "--ops") && i + 1 < argc) {
			opt_ops = strtol(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			opt_seconds = strtol(argv[++i], NULL, 0);
		} else {
			hargv[hargc++] = argv[i];
		}
	}
	if (!seeded) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		opt_seed = ((uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 20 ^
			    (uint64_t)ts.tv_sec) % 1000000000ULL;
		/* the re-executed program takes the same seed */
		{
			char s[32];

			snprintf(s, sizeof(s), "%" PRIu64, opt_seed);
			setenv("STRESS_SEED", s, 1);
		}
	}
	/* addresses the kernel chooses repeat run to run */
	if (!(personality(0xffffffff) & ADDR_NO_RANDOMIZE) &&
	    !getenv("STRESS_NO_REEXEC")) {
		personality(personality(0xffffffff) | ADDR_NO_RANDOMIZE);
		setenv("STRESS_NO_REEXEC", "1", 1);
		execv("/proc/self/exe", argv);
	}
	printf("# seed %" PRIu64 "\n", opt_seed);
	fflush(stdout);
	/* the harness's time limit follows --seconds */
	if (opt_seconds <= 0 || opt_seconds > 3600 * 24)
		_stress_model_object->timeout = 3600 * 24 * 7;
	else
		_stress_model_object->timeout = opt_seconds + 120;
	return test_harness_run(hargc, hargv);
}
