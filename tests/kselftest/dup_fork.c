// SPDX-License-Identifier: GPL-2.0
/*
 * dup_fork: fork() after a dup, dups in the child, and every exit order
 * (contract semantics 4: "fork ... and a further dup all work on it").
 *
 * The test process T is a child subreaper.  It forks A; A makes a source
 * and a copy, then forks B.  B checks what it inherited, makes its own
 * copies (of the copy and of the source), restores one with a FIXED dup,
 * and writes; A writes too; each must see only its own writes.  Then one
 * of them exits first (A's exit tears down a mm whose pages B still maps
 * through copies, and the other way round), the other checks everything
 * again, unmaps in the variant's order and exits.  Failures are reported
 * through a shared page (line number) and exit statuses.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#define N	16
#define LEN	(N * PAGE_SZ)

struct shared {
	int fail_line[2];	/* 0: A, 1: B */
	int stage;
};

#define CHECK(sh, who, cond) do { \
	if (!(cond)) { \
		(sh)->fail_line[who] = __LINE__; \
		_exit(1); \
	} \
} while (0)

/* page i of p holds seed seeds[i] (pattern page i) */
static bool pages_are(const char *p, const uint64_t *seeds)
{
	size_t i;

	for (i = 0; i < N; i++)
		if (pattern_check_page(p + i * PAGE_SZ, i, seeds[i]) >= 0)
			return false;
	return true;
}

static void seeds_fill(uint64_t *s, uint64_t v)
{
	size_t i;

	for (i = 0; i < N; i++)
		s[i] = v;
}

static void set_page(char *p, size_t i, uint64_t *seeds, uint64_t seed)
{
	pattern_fill_at(p + i * PAGE_SZ, i, 1, seed);
	seeds[i] = seed;
}

static void wait_byte(int fd)
{
	char c;

	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
}

FIXTURE_VARIANT(fork) {
	bool parent_exits_first;
	bool unmap_src_first;
};
FIXTURE(fork) {
	int fd;
	int kmsg;
	struct shared *sh;
};
FIXTURE_VARIANT_ADD(fork, child_first_src_first) { false, true };
FIXTURE_VARIANT_ADD(fork, child_first_copy_first) { false, false };
FIXTURE_VARIANT_ADD(fork, parent_first_src_first) { true, true };
FIXTURE_VARIANT_ADD(fork, parent_first_copy_first) { true, false };

FIXTURE_SETUP(fork)
{
	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd);
	self->sh = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->sh);
	memset(self->sh, 0, sizeof(*self->sh));
	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
}

FIXTURE_TEARDOWN(fork)
{
	close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

static void *dup_or_exit(struct shared *sh, int who, int fd, void *src,
			 size_t len, void *dst, uint64_t flags)
{
	void *d = dst;

	CHECK(sh, who, cowdup_dup_raw(fd, src, len, &d, flags) == 0);
	return d;
}

static void unmap_in_order(struct shared *sh, int who, bool src_first,
			   char *src, const uint64_t *ssrc, char *copy,
			   const uint64_t *scopy)
{
	if (src_first) {
		CHECK(sh, who, munmap(src, LEN) == 0);
		CHECK(sh, who, pages_are(copy, scopy));
		CHECK(sh, who, munmap(copy, LEN) == 0);
	} else {
		CHECK(sh, who, munmap(copy, LEN) == 0);
		CHECK(sh, who, pages_are(src, ssrc));
		CHECK(sh, who, munmap(src, LEN) == 0);
	}
}

/* B: the child of A */
static void run_b(struct shared *sh, int fd, char *src, char *copy,
		  int done_w, int go_r, bool src_first)
{
	uint64_t ssrc[N], scopy[N], sc2[N], sc3[N];
	char *c2, *c3;

	seeds_fill(ssrc, 1);
	seeds_fill(scopy, 1);
	CHECK(sh, 1, pages_are(src, ssrc));
	CHECK(sh, 1, pages_are(copy, scopy));

	/* dups in the child: of the inherited copy, of the source */
	c2 = dup_or_exit(sh, 1, fd, copy, LEN, NULL, 0);
	c3 = dup_or_exit(sh, 1, fd, src, LEN, NULL, 0);
	seeds_fill(sc2, 1);
	seeds_fill(sc3, 1);
	set_page(src, 0, ssrc, 20);
	set_page(copy, 1, scopy, 21);
	set_page(c2, 2, sc2, 22);
	set_page(c3, 5, sc3, 23);
	/* restore the child's copy from its c3: FIXED over inherited memory */
	CHECK(sh, 1, dup_or_exit(sh, 1, fd, c3, LEN, copy, COWDUP_FIXED) ==
		     copy);
	memcpy(scopy, sc3, sizeof(scopy));
	set_page(copy, 6, scopy, 24);
	CHECK(sh, 1, pages_are(src, ssrc));
	CHECK(sh, 1, pages_are(copy, scopy));
	CHECK(sh, 1, pages_are(c2, sc2));
	CHECK(sh, 1, pages_are(c3, sc3));
	CHECK(sh, 1, write(done_w, "d", 1) == 1);

	wait_byte(go_r);	/* A wrote, maybe exited */
	CHECK(sh, 1, pages_are(src, ssrc));
	CHECK(sh, 1, pages_are(copy, scopy));
	CHECK(sh, 1, pages_are(c2, sc2));
	CHECK(sh, 1, pages_are(c3, sc3));
	set_page(c3, 0, sc3, 25);
	CHECK(sh, 1, pages_are(src, ssrc));
	CHECK(sh, 1, munmap(c2, LEN) == 0);
	unmap_in_order(sh, 1, src_first, src, ssrc, copy, scopy);
	CHECK(sh, 1, pages_are(c3, sc3));
	_exit(0);
}

/*
 * A: makes the source and the copy, forks B.  B waits for "go" on A's own
 * pipe when A outlives it, on T's (t_go_r) when A exits first.
 */
static void run_a(struct shared *sh, int fd, bool parent_first,
		  bool src_first, int t_go_r)
{
	uint64_t ssrc[N], scopy[N], sc4[N];
	int done[2], go[2], status;
	char *src, *copy, *c4;
	pid_t b;

	CHECK(sh, 0, pipe(done) == 0 && pipe(go) == 0);
	src = anon_map(LEN);
	CHECK(sh, 0, src != MAP_FAILED);
	pattern_fill(src, LEN, 1);
	copy = dup_or_exit(sh, 0, fd, src, LEN, NULL, 0);
	seeds_fill(ssrc, 1);
	seeds_fill(scopy, 1);

	b = fork();
	CHECK(sh, 0, b >= 0);
	if (b == 0)
		run_b(sh, fd, src, copy, done[1],
		      parent_first ? t_go_r : go[0], src_first);

	wait_byte(done[0]);	/* B has made its copies and written */
	CHECK(sh, 0, pages_are(src, ssrc));
	CHECK(sh, 0, pages_are(copy, scopy));
	set_page(src, 3, ssrc, 30);
	set_page(copy, 4, scopy, 31);
	/* a dup in the parent after the fork */
	c4 = dup_or_exit(sh, 0, fd, copy, LEN, NULL, 0);
	memcpy(sc4, scopy, sizeof(sc4));
	set_page(c4, 7, sc4, 32);
	CHECK(sh, 0, pages_are(src, ssrc));
	CHECK(sh, 0, pages_are(copy, scopy));
	CHECK(sh, 0, pages_are(c4, sc4));

	if (parent_first) {
		/* exit with everything mapped but one side */
		if (src_first)
			CHECK(sh, 0, munmap(src, LEN) == 0);
		else
			CHECK(sh, 0, munmap(copy, LEN) == 0);
		sh->stage = 1;
		_exit(0);	/* T tells B to go on once A is reaped */
	}
	CHECK(sh, 0, write(go[1], "g", 1) == 1);
	CHECK(sh, 0, waitpid(b, &status, 0) == b);
	CHECK(sh, 0, WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(sh, 0, pages_are(src, ssrc));
	CHECK(sh, 0, pages_are(copy, scopy));
	CHECK(sh, 0, pages_are(c4, sc4));
	unmap_in_order(sh, 0, src_first, src, ssrc, copy, scopy);
	CHECK(sh, 0, pages_are(c4, sc4));
	_exit(0);
}

TEST_F_TIMEOUT(fork, exit_orders, 120)
{
	int go[2], status;
	pid_t a, b;

	ASSERT_EQ(0, pipe(go));
	a = fork();
	ASSERT_LE(0, a);
	if (a == 0) {
		close(go[1]);
		run_a(self->sh, self->fd, variant->parent_exits_first,
		      variant->unmap_src_first, go[0]);
	}
	close(go[0]);
	ASSERT_EQ(a, waitpid(a, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, self->sh->fail_line[0]) {
		TH_LOG("A failed at line %d", self->sh->fail_line[0]);
	}
	EXPECT_EQ(0, self->sh->fail_line[1]) {
		TH_LOG("B failed at line %d", self->sh->fail_line[1]);
	}
	ASSERT_EQ(0, WEXITSTATUS(status));
	if (variant->parent_exits_first) {
		ASSERT_EQ(1, self->sh->stage);
		/* A is gone and B is ours (subreaper): let it go on */
		ASSERT_EQ(1, write(go[1], "g", 1));
		b = waitpid(-1, &status, 0);
		ASSERT_LT(0, b);
		ASSERT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, self->sh->fail_line[1]) {
			TH_LOG("B failed at line %d", self->sh->fail_line[1]);
		}
		ASSERT_EQ(0, WEXITSTATUS(status));
	}
	close(go[1]);
	/* nothing left behind */
	ASSERT_EQ(-1, waitpid(-1, &status, WNOHANG));
	ASSERT_EQ(ECHILD, errno);
}

TEST_HARNESS_MAIN
