// SPDX-License-Identifier: GPL-2.0
/*
 * teardown: processes exiting with thousands of copies, in every order
 * with their children (issue 5, part 6).
 *
 * A process P makes NCOPIES small copies (copies of the source and
 * copies of copies, some written, so the anon_vma chains are long and
 * pages are shared many times over), then, per variant:
 *   solo           P exits
 *   parent_first   P forks C, P exits, C checks every copy, writes, dups,
 *                  exits
 *   child_first    C exits first, then P checks and exits
 *   together       P and C are SIGKILLed at once
 *   chain          P forks C, C forks G; P exits, then C, then G, each
 *                  survivor checking everything after the others' exits
 *   exec           P forks C, then execs itself (the old mm goes while C
 *                  lives on and checks)
 *   dup_at_exit    a thread of P dups in a loop while P calls exit_group
 * each with all copies mapped, or half of them unmapped first (_unmap).
 * The test process (a child subreaper) collects everyone, then checks
 * that nothing is left behind: AnonPages, PageTables and Committed_AS
 * back where they were, the module's reference count too, and the kernel
 * log clean.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#define NCOPIES		2000
#define NP		4		/* pages per copy */
#define LEN		(NP * PAGE_SZ)
#define SLACK_KB	2048L

enum order { SOLO, PARENT_FIRST, CHILD_FIRST, TOGETHER, CHAIN, EXEC,
	     DUP_AT_EXIT };

/* Shared with every process of a test */
struct shared {
	int fail_line[3];		/* P, C, G */
	char fail_msg[3][160];
	atomic_int stage;
	pid_t pid[3];
	long vmas, commit_kb;		/* P's, with its copies made */
};

/* Each process's own view of the copies */
static char *src;
static char *copy[NCOPIES];
static uint32_t seed[NCOPIES][NP];	/* per page; 0 for unmapped copies */
static int cowfd;

#define CHECK(sh, who, cond) do { \
	if (!(cond)) { \
		(sh)->fail_line[who] = __LINE__; \
		snprintf((sh)->fail_msg[who], sizeof((sh)->fail_msg[who]), \
			 "%s", #cond); \
		_exit(1); \
	} \
} while (0)

static bool copy_ok(int i)
{
	size_t p;

	if (!copy[i])
		return true;
	for (p = 0; p < NP; p++)
		if (pattern_check_page(copy[i] + p * PAGE_SZ, p, seed[i][p]) >= 0)
			return false;
	return true;
}

/* -1 if every mapped copy and the source read right, else the bad index */
static int check_all(void)
{
	int i;

	if (pattern_check(src, LEN, 1) != -1)
		return NCOPIES;
	for (i = 0; i < NCOPIES; i++)
		if (!copy_ok(i))
			return i;
	return -1;
}

/* NCOPIES copies: every third of the source, the others of the last */
static int make_copies(bool unmap_half)
{
	int i, p;

	src = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED)
		return -1;
	pattern_fill(src, LEN, 1);
	for (i = 0; i < NCOPIES; i++) {
		char *from = i % 3 == 0 ? src : copy[i - 1];
		void *d = NULL;

		if (cowdup_dup_raw(cowfd, from, LEN, &d, 0))
			return -2;
		copy[i] = d;
		for (p = 0; p < NP; p++)
			seed[i][p] = i % 3 == 0 ? 1 : seed[i - 1][p];
		if (i % 10 == 5) {
			seed[i][i % NP] = 100 + i;
			pattern_fill_page(copy[i] + (i % NP) * PAGE_SZ, i % NP,
					  seed[i][i % NP]);
		}
	}
	if (unmap_half) {
		for (i = 1; i < NCOPIES; i += 2) {
			if (munmap(copy[i], LEN))
				return -3;
			copy[i] = NULL;
		}
	}
	return 0;
}

/* What a survivor does after the others are gone: check, write, dup */
static void survive(struct shared *sh, int who)
{
	void *d = NULL;
	int i;

	CHECK(sh, who, check_all() == -1);
	for (i = 0; i < NCOPIES; i += 7) {
		if (!copy[i])
			continue;
		seed[i][0] = 5000 + i + who;
		pattern_fill_page(copy[i], 0, seed[i][0]);
	}
	i = copy[NCOPIES - 1] ? NCOPIES - 1 : NCOPIES - 2;
	CHECK(sh, who, cowdup_dup_raw(cowfd, copy[i], LEN, &d, 0) == 0);
	copy[i] = d;		/* the new copy reads what that one did */
	CHECK(sh, who, copy_ok(i));
	CHECK(sh, who, check_all() == -1);
}

/* The pid's process is gone (reaped by the subreaper, or a zombie) */
static void wait_gone(pid_t pid)
{
	char path[64], buf[512];

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	for (;;) {
		ssize_t n = read_file(path, buf, sizeof(buf));
		char *p = n > 0 ? strrchr(buf, ')') : NULL;

		if (!p || p[2] == 'Z' || p[2] == 'X')
			return;
		usleep(10000);
	}
}

static atomic_int dup_thread_go;

static void *dup_loop(void *arg)
{
	(void)arg;
	atomic_store(&dup_thread_go, 1);
	for (;;) {
		void *d = NULL;
		int i = rand() % NCOPIES;

		if (copy[i] && !cowdup_dup_raw(cowfd, copy[i], LEN, &d, 0))
			munmap(d, LEN);
	}
	return NULL;
}

/* P: the variant's life; never returns */
static void run_p(struct shared *sh, enum order order, bool unmap_half,
		  char **argv)
{
	pid_t c = 0, g = 0;
	int r = make_copies(unmap_half);

	CHECK(sh, 0, r == 0);
	CHECK(sh, 0, check_all() == -1);
	sh->vmas = maps_count();
	sh->commit_kb = meminfo_kb("Committed_AS");
	switch (order) {
	case SOLO:
		_exit(0);
	case DUP_AT_EXIT: {
		pthread_t th;
		struct timespec ts = { 0, 1000000L * (1 + rand() % 50) };

		CHECK(sh, 0, pthread_create(&th, NULL, dup_loop, NULL) == 0);
		while (!atomic_load(&dup_thread_go))
			sched_yield();
		nanosleep(&ts, NULL);
		_exit(0);	/* exit_group, the thread in a dup or not */
	}
	case TOGETHER:
		c = fork();
		CHECK(sh, 0, c >= 0);
		if (c == 0) {
			sh->pid[1] = getpid();
			atomic_fetch_add(&sh->stage, 1);
			for (;;)
				pause();
		}
		atomic_fetch_add(&sh->stage, 1);
		for (;;)
			pause();
	default:
		break;
	}
	c = fork();
	CHECK(sh, 0, c >= 0);
	if (c == 0) {
		sh->pid[1] = getpid();
		if (order == CHAIN) {
			g = fork();
			CHECK(sh, 1, g >= 0);
			if (g == 0) {
				sh->pid[2] = getpid();
				/* G: after C (and P) are gone */
				while (atomic_load(&sh->stage) < 2)
					usleep(1000);
				wait_gone(sh->pid[1]);
				survive(sh, 2);
				_exit(0);
			}
		}
		if (order == CHILD_FIRST) {
			CHECK(sh, 1, check_all() == -1);
			_exit(0);
		}
		/* C: after P is gone */
		while (atomic_load(&sh->stage) < 1)
			usleep(1000);
		wait_gone(sh->pid[0]);
		survive(sh, 1);
		if (order == CHAIN)
			atomic_store(&sh->stage, 2);
		_exit(0);
	}
	switch (order) {
	case CHILD_FIRST: {
		int st;

		CHECK(sh, 0, waitpid(c, &st, 0) == c && st == 0);
		survive(sh, 0);
		_exit(0);
	}
	case EXEC: {
		char *args[] = { argv[0], NULL };

		atomic_store(&sh->stage, 1);
		setenv("TEARDOWN_EXEC", "1", 1);
		execv("/proc/self/exe", args);
		CHECK(sh, 0, false);
	}
	/* fall through */
	default:
		atomic_store(&sh->stage, 1);
		_exit(0);
	}
}

FIXTURE_VARIANT(td) {
	enum order order;
	bool unmap_half;
};

FIXTURE(td) {
	int fd;
	int kmsg;
	struct shared *sh;
};

FIXTURE_VARIANT_ADD(td, solo) { SOLO, false };
FIXTURE_VARIANT_ADD(td, solo_unmap) { SOLO, true };
FIXTURE_VARIANT_ADD(td, parent_first) { PARENT_FIRST, false };
FIXTURE_VARIANT_ADD(td, parent_first_unmap) { PARENT_FIRST, true };
FIXTURE_VARIANT_ADD(td, child_first) { CHILD_FIRST, false };
FIXTURE_VARIANT_ADD(td, child_first_unmap) { CHILD_FIRST, true };
FIXTURE_VARIANT_ADD(td, together) { TOGETHER, false };
FIXTURE_VARIANT_ADD(td, chain) { CHAIN, true };
FIXTURE_VARIANT_ADD(td, exec) { EXEC, false };
FIXTURE_VARIANT_ADD(td, dup_at_exit) { DUP_AT_EXIT, false };

FIXTURE_SETUP(td)
{
	self->kmsg = kmsg_open();
	self->fd = cowdup_open();
	ASSERT_LE(0, self->fd);
	self->sh = mmap(NULL, sizeof(*self->sh), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->sh);
	memset(self->sh, 0, sizeof(*self->sh));
}

FIXTURE_TEARDOWN(td)
{
	close(self->fd);
	ASSERT_KMSG_CLEAN(self->kmsg);
}

static char **main_argv;

TEST_F_TIMEOUT(td, exit_orders, 300)
{
	struct shared *sh = self->sh;
	long anon0, pt0, commit0, refs0, anon1, pt1, commit1, refs1;
	int status, n = 0, who;
	pid_t p, w;

	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
	anon0 = meminfo_kb("AnonPages");
	pt0 = meminfo_kb("PageTables");
	commit0 = meminfo_kb("Committed_AS");
	refs0 = cowdup_refcnt();
	srand(getpid());

	p = fork();
	ASSERT_LE(0, p);
	if (p == 0) {
		cowfd = self->fd;
		sh->pid[0] = getpid();
		run_p(sh, variant->order, variant->unmap_half, main_argv);
	}
	if (variant->order == TOGETHER) {
		while (atomic_load(&sh->stage) < 2) {
			ASSERT_EQ(0, waitpid(p, &status, WNOHANG)) {
				TH_LOG("P ended early: %#x (line %d)", status,
				       sh->fail_line[0]);
			}
			usleep(10000);
		}
		/* both at once */
		ASSERT_EQ(0, kill(p, SIGKILL));
		ASSERT_EQ(0, kill(sh->pid[1], SIGKILL));
	}
	/* everyone: P, C, G (re-parented to us) */
	while ((w = wait(&status)) > 0) {
		n++;
		if (variant->order == TOGETHER) {
			ASSERT_TRUE(WIFSIGNALED(status));
			continue;
		}
		who = w == p ? 0 : w == sh->pid[1] ? 1 : 2;
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			TH_LOG("process %d (%s) ended with %#x: line %d: %s",
			       w, who == 0 ? "P" : who == 1 ? "C" : "G", status,
			       sh->fail_line[who], sh->fail_msg[who]);
		}
	}
	ASSERT_EQ(ECHILD, errno);

	/* nothing left behind */
	anon1 = meminfo_kb("AnonPages");
	pt1 = meminfo_kb("PageTables");
	commit1 = meminfo_kb("Committed_AS");
	refs1 = cowdup_refcnt();
	TH_LOG("%d processes reaped here; P had %ld VMAs with its %d copies (Committed_AS %+ld kB then); now AnonPages %+ld kB, PageTables %+ld kB, Committed_AS %+ld kB, module refs %ld -> %ld",
	       n, sh->vmas, NCOPIES, sh->commit_kb - commit0, anon1 - anon0,
	       pt1 - pt0, commit1 - commit0, refs0, refs1);
	ASSERT_LT(NCOPIES, sh->vmas * (variant->unmap_half ? 2 : 1));
	ASSERT_LT(labs(anon1 - anon0), SLACK_KB);
	ASSERT_LT(labs(pt1 - pt0), SLACK_KB);
	ASSERT_LT(labs(commit1 - commit0), SLACK_KB);
	ASSERT_EQ(refs0, refs1);
}

int main(int argc, char **argv)
{
	/* the exec variant's new program: nothing to do */
	if (getenv("TEARDOWN_EXEC"))
		return 0;
	main_argv = argv;
	return test_harness_run(argc, argv);
}
