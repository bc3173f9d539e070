/* SPDX-License-Identifier: MIT */
/*
 * Guest workload for the test and demo VMs: one thread per CPU increments a counter under
 * a user-space spin lock (test-and-test-and-set), holding it HOLD_US and then working
 * WORK_US outside it, both as busy loops on CLOCK_MONOTONIC, like a guest kernel's short
 * critical sections. Prints "spin: ops/s=N" once a second on the console.
 * usage: spin [HOLD_US [WORK_US]]   (built static for the busybox initramfs)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
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

int main(int argc, char **argv)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned long last = 0;

	if (argc > 1)
		hold_ns = strtol(argv[1], NULL, 10) * 1000;
	if (argc > 2)
		work_ns = strtol(argv[2], NULL, 10) * 1000;
	for (long i = 0; i < n; i++) {
		pthread_t t;

		pthread_create(&t, NULL, worker, NULL);
	}
	for (;;) {
		unsigned long cur;

		sleep(1);
		cur = atomic_load(&ops);
		printf("spin: ops/s=%lu\n", cur - last);
		fflush(stdout);
		last = cur;
	}
}
