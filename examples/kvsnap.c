// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kvsnap: a snapshotting in-memory key-value store.
 *
 * The store lives in one heap region (an arena of fixed slots).  A writer
 * thread keeps updating it while the main thread saves a consistent
 * snapshot of the whole heap to a file, twice:
 *   - cowdup: under the store's lock, cowdup() the arena (page tables
 *     only), unlock, write the copy to the file, unmap it;
 *   - fork:   under the lock, fork(); the child writes its copy of the
 *     arena to the file and exits.
 * Either way the writer is held only while the copy is made; afterwards
 * each first write to a page costs a copy-on-write fault.  The report shows
 * the writer's latency (median, 99th percentile, max) during each snapshot,
 * next to a quiet period, and how long the writer was held.  Both files are
 * checked: each holds exactly the store as it was at its snapshot.
 *
 *   kvsnap [ARENA_MIB] [DIR]    (default 32 MiB, $TMPDIR or /tmp)
 * Exit 0 when both snapshots are correct, 1 otherwise, 4 without /dev/cowdup.
 */
#define _GNU_SOURCE
#include <cowdup.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct slot {			/* 64 bytes */
	uint64_t key;
	uint64_t version;	/* store version of the last put */
	uint64_t value[5];
	uint64_t check;		/* value[] checksum, key and version */
};

struct store {
	uint64_t version;	/* puts so far */
	uint64_t nslots;
	struct slot slots[];
};

static struct store *db;
static size_t db_len;
static pthread_mutex_t db_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int stop, recording;

#define MAXLAT (1 << 20)
static uint32_t lat[MAXLAT];	/* writer latencies while recording, ns */
static atomic_uint nlat;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static uint64_t slot_check(const struct slot *s)
{
	uint64_t c = mix(s->key ^ (s->version << 1));
	int i;

	for (i = 0; i < 5; i++)
		c = mix(c + s->value[i]);
	return c;
}

static void put(uint64_t key)
{
	struct slot *s;
	int i;

	pthread_mutex_lock(&db_lock);
	s = &db->slots[key % db->nslots];
	db->version++;
	s->key = key;
	s->version = db->version;
	for (i = 0; i < 5; i++)
		s->value[i] = mix(key + db->version + i);
	s->check = slot_check(s);
	pthread_mutex_unlock(&db_lock);
}

static void *writer(void *arg)
{
	uint64_t x = 12345, t0, t1;

	(void)arg;
	while (!atomic_load(&stop)) {
		x = mix(x + 1);
		t0 = now_ns();
		put(x);
		t1 = now_ns();
		if (atomic_load(&recording)) {
			unsigned int i = atomic_fetch_add(&nlat, 1);

			if (i < MAXLAT)
				lat[i] = (uint32_t)(t1 - t0 > UINT32_MAX ? UINT32_MAX : t1 - t0);
		}
	}
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

struct stats {
	unsigned int n;
	double med_us, p99_us, max_us;
};

static void start_recording(void)
{
	atomic_store(&nlat, 0);
	atomic_store(&recording, 1);
}

static struct stats stop_recording(void)
{
	struct stats st = { 0 };
	unsigned int n;

	atomic_store(&recording, 0);
	usleep(1000);		/* let the writer's last put land */
	n = atomic_load(&nlat);
	if (n > MAXLAT)
		n = MAXLAT;
	st.n = n;
	if (!n)
		return st;
	qsort(lat, n, sizeof(lat[0]), cmp_u32);
	st.med_us = lat[n / 2] / 1e3;
	st.p99_us = lat[(size_t)(n * 0.99)] / 1e3;
	st.max_us = lat[n - 1] / 1e3;
	return st;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The file must hold the store at version `at`: nothing newer, all sane. */
static int verify(const char *path, uint64_t at, const char *what)
{
	struct store *f;
	uint64_t i, newest = 0;
	int fd = open(path, O_RDONLY);
	int bad = 0;

	if (fd < 0) {
		printf("  %s: cannot open %s: %s\n", what, path, strerror(errno));
		return 1;
	}
	f = mmap(NULL, db_len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (f == MAP_FAILED)
		return 1;
	if (f->version != at) {
		printf("  %s: file is at version %llu, snapshot was at %llu\n", what,
		       (unsigned long long)f->version, (unsigned long long)at);
		bad = 1;
	}
	for (i = 0; i < f->nslots; i++) {
		const struct slot *s = &f->slots[i];

		if (s->version > newest)
			newest = s->version;
		if (s->version && s->check != slot_check(s)) {
			bad = 1;
			break;
		}
	}
	if (newest != at) {
		printf("  %s: newest slot has version %llu, expected %llu\n", what,
		       (unsigned long long)newest, (unsigned long long)at);
		bad = 1;
	}
	munmap(f, db_len);
	return bad;
}

static void report(const char *what, struct stats st, double held_us, double total_ms)
{
	printf("  %-22s %8u puts  median %7.2f us  p99 %8.2f us  max %9.2f us",
	       what, st.n, st.med_us, st.p99_us, st.max_us);
	if (held_us >= 0)
		printf("  (writer held %.0f us, snapshot %.0f ms)", held_us, total_ms);
	printf("\n");
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 32;
	const char *dir = argc > 2 ? argv[2] : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char path_c[4096], path_f[4096];
	struct stats quiet, s_c, s_f;
	uint64_t v_c, v_f, t0, t1, t2;
	pthread_t thr;
	void *copy;
	pid_t pid;
	int fd, status, bad = 0;

	if (!cowdup_available()) {
		printf("kvsnap: /dev/cowdup is not available, skipping\n");
		return 4;
	}
	if (!mib)
		mib = 32;
	db_len = mib << 20;
	db = mmap(NULL, db_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (db == MAP_FAILED)
		return 1;
	db->nslots = (db_len - sizeof(*db)) / sizeof(struct slot);
	for (uint64_t k = 0; k < db->nslots; k++)
		put(mix(k));
	snprintf(path_c, sizeof(path_c), "%s/kvsnap-cowdup.%d", dir, (int)getpid());
	snprintf(path_f, sizeof(path_f), "%s/kvsnap-fork.%d", dir, (int)getpid());
	printf("kvsnap: %zu MiB store, %llu slots; a writer thread updates random keys\n",
	       mib, (unsigned long long)db->nslots);

	pthread_create(&thr, NULL, writer, NULL);
	usleep(100000);

	/* Quiet period: the writer alone. */
	start_recording();
	usleep(200000);
	quiet = stop_recording();

	/* Snapshot with cowdup: no fork, the copy is written by this thread. */
	start_recording();
	t0 = now_ns();
	pthread_mutex_lock(&db_lock);
	copy = cowdup(db, db_len, NULL, 0);
	v_c = db->version;
	pthread_mutex_unlock(&db_lock);
	t1 = now_ns();
	if (copy == MAP_FAILED) {
		printf("kvsnap: cowdup: %s\n", strerror(errno));
		atomic_store(&stop, 1);
		pthread_join(thr, NULL);
		return 1;
	}
	fd = open(path_c, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write_all(fd, copy, db_len) || fsync(fd) || close(fd)) {
		printf("kvsnap: writing %s: %s\n", path_c, strerror(errno));
		bad = 1;
	}
	munmap(copy, db_len);
	t2 = now_ns();
	s_c = stop_recording();
	double held_c = (t1 - t0) / 1e3, total_c = (t2 - t0) / 1e6;

	/* Snapshot with fork: the child writes its copy. */
	usleep(50000);
	start_recording();
	t0 = now_ns();
	pthread_mutex_lock(&db_lock);
	v_f = db->version;
	pid = fork();
	if (pid == 0) {
		/* Child: the only thread; db_lock is held by the parent's copy. */
		fd = open(path_f, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || write_all(fd, db, db_len) || fsync(fd) || close(fd))
			_exit(1);
		_exit(0);
	}
	pthread_mutex_unlock(&db_lock);
	t1 = now_ns();
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		printf("kvsnap: the fork snapshot failed\n");
		bad = 1;
	}
	t2 = now_ns();
	s_f = stop_recording();
	double held_f = (t1 - t0) / 1e3, total_f = (t2 - t0) / 1e6;

	atomic_store(&stop, 1);
	pthread_join(thr, NULL);

	printf("writer latency per put:\n");
	report("no snapshot", quiet, -1, 0);
	report("during cowdup snapshot", s_c, held_c, total_c);
	report("during fork snapshot", s_f, held_f, total_f);

	if (verify(path_c, v_c, "cowdup snapshot")) {
		bad = 1;
		printf("FAIL: the cowdup snapshot is not the store at version %llu\n",
		       (unsigned long long)v_c);
	} else {
		printf("cowdup snapshot file: exactly the store at version %llu\n",
		       (unsigned long long)v_c);
	}
	if (verify(path_f, v_f, "fork snapshot")) {
		bad = 1;
		printf("FAIL: the fork snapshot is not the store at version %llu\n",
		       (unsigned long long)v_f);
	} else {
		printf("fork snapshot file:   exactly the store at version %llu\n",
		       (unsigned long long)v_f);
	}
	if (s_c.n == 0) {
		printf("FAIL: the writer made no progress during the cowdup snapshot\n");
		bad = 1;
	}
	unlink(path_c);
	unlink(path_f);
	printf("kvsnap: %s\n", bad ? "FAILED" : "ok");
	return bad;
}
