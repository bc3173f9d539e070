/* SPDX-License-Identifier: MIT */
/*
 * Guest workload for the test and demo VMs: one thread per CPU increments a counter under
 * a user-space spin lock (test-and-test-and-set), holding it HOLD_US and then working
 * WORK_US outside it, both as busy loops on CLOCK_MONOTONIC, like a guest kernel's short
 * critical sections. Prints "spin: ops/s=N" once a second on the console.
 * With -p instead: guest-kernel contention, pairs of threads ping-pong one byte through
 * two pipes (each round trip: two wakeups, the pipes' locks, often a cross-vCPU IPI);
 * prints "pipe: ops/s=N" (round trips) once a second.
 * usage: spin [HOLD_US [WORK_US]] | spin -p   (built static for the busybox initramfs)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int lock_word;
static atomic_ulong ops;
static long hold_ns = 5000, work_ns = 20000;

static long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void busy(long ns)
{
	long end = now_ns() + ns;

	while (now_ns() < end)
		;
}

static void *worker(void *p)
{
	(void)p;
	for (;;) {
		int zero = 0;

		while (atomic_load_explicit(&lock_word, memory_order_relaxed) ||
		       !atomic_compare_exchange_weak(&lock_word, &zero, 1))
			zero = 0;
		busy(hold_ns);
		atomic_store(&lock_word, 0);
		atomic_fetch_add(&ops, 1);
		busy(work_ns);
	}
	return NULL;
}

/* One side of a ping-pong pair: read a byte from in, write it to out, forever. */
struct pp {
	int in, out;
	int first; /* the side that starts the exchange counts the round trips */
};

static void *pingpong(void *p)
{
	struct pp *x = p;
	char c = 'x';

	if (x->first && write(x->out, &c, 1) != 1)
		return NULL;
	for (;;) {
		if (read(x->in, &c, 1) != 1 || write(x->out, &c, 1) != 1)
			return NULL;
		if (x->first)
			atomic_fetch_add(&ops, 1);
	}
}

int main(int argc, char **argv)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned long last = 0;
	const char *what = "spin";

	if (argc > 1 && !strcmp(argv[1], "-p")) {
		what = "pipe";
		for (long i = 0; i < (n + 1) / 2; i++) {
			int a[2], b[2];
			static struct pp side[2 * 256];
			pthread_t t;

			if (i >= 256 || pipe(a) < 0 || pipe(b) < 0)
				break;
			side[2 * i] = (struct pp){.in = a[0], .out = b[1], .first = 1};
			side[2 * i + 1] = (struct pp){.in = b[0], .out = a[1], .first = 0};
			pthread_create(&t, NULL, pingpong, &side[2 * i]);
			pthread_create(&t, NULL, pingpong, &side[2 * i + 1]);
		}
		goto report;
	}
	if (argc > 1)
		hold_ns = strtol(argv[1], NULL, 10) * 1000;
	if (argc > 2)
		work_ns = strtol(argv[2], NULL, 10) * 1000;
	for (long i = 0; i < n; i++) {
		pthread_t t;

		pthread_create(&t, NULL, worker, NULL);
	}
report:
	for (;;) {
		unsigned long cur;

		sleep(1);
		cur = atomic_load(&ops);
		printf("%s: ops/s=%lu\n", what, cur - last);
		fflush(stdout);
		last = cur;
	}
}
