// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fuzzloop: a fuzzing-style loop that puts the program's state back to a
 * snapshot after every iteration.
 *
 * The "target" is a small interpreter whose whole state (registers, heap,
 * a log) lives in one region.  After setting it up once, the loop feeds it a
 * fresh random input per iteration; each run dirties a few pages of the
 * state, and the state must then be exactly the snapshot again before the
 * next input.  Two ways to do that, timed over the same inputs:
 *   - cowdup_restore(state, snapshot, len): a fixed dup of the snapshot over
 *     the state (page tables only; the dirtied pages are dropped);
 *   - memcpy(state, saved, len) from a private copy.
 * Every iteration checks that the run saw the snapshot's state (the
 * interpreter's checksum of its start state) and, every 64th, that the
 * whole region equals the snapshot.
 *
 *   fuzzloop [ITERATIONS] [STATE_KIB]   (default 2000, 4096 KiB)
 * Exit 0 when every check passed, 1 otherwise, 4 without /dev/cowdup.
 */
#define _GNU_SOURCE
#include <cowdup.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct state {
	uint64_t regs[16];
	uint64_t steps;
	uint64_t log_len;
	uint64_t start_sum;	/* checksum of the heap at setup */
	uint64_t heap_words;
	uint64_t heap[];	/* rest of the region */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x9e3779b97f4a7c15ULL;
	x ^= x >> 29;
	return x;
}

static uint64_t heap_sum(const struct state *s)
{
	uint64_t c = 0, i;

	for (i = 0; i < s->heap_words; i += 61)	/* a sample, every page */
		c = mix(c + s->heap[i]);
	return c;
}

/*
 * Run one input.  Returns 0 when the run started from the snapshot's
 * state (the fuzzer's invariant), -1 otherwise.  Dirties a few pages.
 */
static int run_target(struct state *s, const uint8_t *in, size_t n)
{
	size_t i;

	if (s->steps != 0 || s->log_len != 0 || heap_sum(s) != s->start_sum)
		return -1;
	for (i = 0; i + 2 < n; i += 3) {
		uint64_t r = in[i] & 15, a = (uint64_t)in[i + 1] << 8 | in[i + 2];
		uint64_t w = (a * 2654435761u) % s->heap_words;

		switch (in[i] >> 4 & 3) {
		case 0: s->regs[r] += s->heap[w]; break;
		case 1: s->heap[w] ^= s->regs[r] + a; break;
		case 2: s->regs[r] = mix(s->regs[r] ^ a); break;
		case 3: s->heap[s->heap_words - 1 - s->log_len++ % 512] = a; break;
		}
		s->steps++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? strtol(argv[1], NULL, 0) : 2000;
	size_t kib = argc > 2 ? strtoul(argv[2], NULL, 0) : 4096;
	size_t len = kib << 10, ps = (size_t)sysconf(_SC_PAGESIZE);
	struct state *st, *snap, *saved;
	uint8_t input[96];
	uint64_t seed = 1;
	double t_cow, t_cpy, t0;
	long i, bad = 0;
	size_t k;

	if (!cowdup_available()) {
		printf("fuzzloop: /dev/cowdup is not available, skipping\n");
		return 4;
	}
	if (iters <= 0 || len < 16 * ps)
		return 1;
	len = (len + ps - 1) / ps * ps;
	st = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	saved = malloc(len);
	if (st == MAP_FAILED || !saved)
		return 1;

	/* Set-up: the expensive part a fuzzer runs once. */
	st->heap_words = (len - sizeof(*st)) / sizeof(uint64_t);
	for (k = 0; k < st->heap_words; k++)
		st->heap[k] = mix(k);
	st->start_sum = heap_sum(st);
	snap = cowdup(st, len, NULL, 0);
	if (snap == MAP_FAILED) {
		printf("fuzzloop: cowdup: %s\n", strerror(errno));
		return 1;
	}
	memcpy(saved, st, len);
	printf("fuzzloop: %ld iterations over a %zu KiB state\n", iters, kib);

	/* Restore with cowdup_restore(). */
	seed = 1;
	t0 = now();
	for (i = 0; i < iters; i++) {
		for (k = 0; k < sizeof(input); k++)
			input[k] = (uint8_t)(seed = mix(seed + k));
		if (run_target(st, input, sizeof(input)))
			bad++;
		if (cowdup_restore(st, snap, len)) {
			printf("fuzzloop: cowdup_restore: %s\n", strerror(errno));
			return 1;
		}
		if (i % 64 == 0 && memcmp(st, saved, len))
			bad++;
	}
	t_cow = now() - t0;

	/* Restore with memcpy() from a saved copy. */
	seed = 1;
	t0 = now();
	for (i = 0; i < iters; i++) {
		for (k = 0; k < sizeof(input); k++)
			input[k] = (uint8_t)(seed = mix(seed + k));
		if (run_target(st, input, sizeof(input)))
			bad++;
		memcpy(st, saved, len);
		if (i % 64 == 0 && memcmp(st, saved, len))
			bad++;
	}
	t_cpy = now() - t0;

	printf("  cowdup_restore: %8.1f us per iteration (%.0f iterations/s)\n",
	       t_cow / iters * 1e6, iters / t_cow);
	printf("  memcpy:         %8.1f us per iteration (%.0f iterations/s)\n",
	       t_cpy / iters * 1e6, iters / t_cpy);
	printf("  restore/memcpy time ratio: %.2f\n", t_cow / t_cpy);
	if (memcmp(snap, saved, len)) {
		printf("FAIL: the snapshot changed\n");
		bad++;
	}
	if (bad)
		printf("FAIL: %ld iterations did not start from the snapshot\n", bad);
	else
		printf("every iteration started from the snapshot\nfuzzloop: ok\n");
	munmap(snap, len);
	munmap(st, len);
	free(saved);
	return bad ? 1 : 0;
}
