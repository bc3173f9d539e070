/* SPDX-License-Identifier: MIT */
/*
 * A synthetic VM for tests and benchmarks: a process whose threads are named like a VMM's
 * vCPU threads ("CPU 0/KVM", ...), spinning or sleeping, with a QEMU-like command line so
 * discovery can name it. Options:
 *   -name guest=NAME,...   VM name (as QEMU's -name)      -uuid UUID   (as QEMU's -uuid)
 *   -smp N                 vCPU threads (default 2)       -fmt FMT     name format, "%d" = index
 *   -mode spin|sleep|lock  what vCPU threads do: spin, sleep, or a spin-lock workload (hold
 *                          5 us, work 20 us, as a guest kernel's lock) plus a QEMU-like
 *                          helper thread (sleeps 1 ms, runs 50 us)      -time S  exit after S s
 *   -nohelper              a quiet VM: no helper thread in lock mode, and the main thread
 *                          sleeps until -time is up (SIGUSR1 then acts only at the end)
 *   -churn                 one more thread that keeps starting and ending short-lived
 *                          vCPU-named threads (index 90+), to race discovery scans
 * SIGUSR1 makes the last vCPU thread exit (as a vCPU unplugged), the others run on.
 * Prints "ready PID" and the thread ids on stdout once all threads are named. Every loop is
 * bounded by -time (default 60 s).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static atomic_bool stop, drop_last;
static int last_vcpu;
static const char *fmt = "CPU %d/KVM";
static int spin_mode = 1; /* 0 sleep, 1 spin, 2 lock */
static atomic_int lock_word;
static atomic_ulong ops;

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void busy_ns(uint64_t ns)
{
	uint64_t end = now_ns() + ns;

	while (now_ns() < end)
		;
}

static void lock_work(void)
{
	int zero = 0;

	while (atomic_load_explicit(&lock_word, memory_order_relaxed) ||
	       !atomic_compare_exchange_weak(&lock_word, &zero, 1))
		zero = 0;
	busy_ns(5000);
	atomic_store(&lock_word, 0);
	atomic_fetch_add(&ops, 1);
	busy_ns(20000);
}

static void *helper_main(void *p)
{
	(void)p;
	pthread_setname_np(pthread_self(), "qemu-helper");
	while (!atomic_load(&stop)) {
		usleep(1000);
		busy_ns(50000);
	}
	return NULL;
}
static atomic_int named;

static void on_usr1(int sig)
{
	(void)sig;
	atomic_store(&drop_last, true);
}

struct vcpu {
	pthread_t th;
	int index;
	pid_t tid;
};

static void *vcpu_main(void *p)
{
	struct vcpu *v = p;
	char name[16];
	volatile unsigned long x = 0;

	{ /* fmt with "%d" replaced by the index; not a printf format from the user */
		const char *d = strstr(fmt, "%d");
		int pre = d ? (int)(d - fmt) : (int)strlen(fmt);

		snprintf(name, sizeof(name), "%.*s%d%s", pre, fmt, v->index, d ? d + 2 : "");
		if (!d)
			snprintf(name, sizeof(name), "%s", fmt);
	}
	pthread_setname_np(pthread_self(), name);
	v->tid = (pid_t)syscall(SYS_gettid);
	atomic_fetch_add(&named, 1);
	while (!atomic_load(&stop) && !(v->index == last_vcpu && atomic_load(&drop_last))) {
		if (spin_mode == 2)
			lock_work();
		else if (spin_mode)
			x++;
		else
			usleep(100000);
	}
	return NULL;
}

/* A short-lived vCPU-named thread: named, alive for ~200 us, gone. */
static void *blip_main(void *p)
{
	struct vcpu *v = p;
	char name[16];

	snprintf(name, sizeof(name), "CPU %d/KVM", v->index % 100);
	pthread_setname_np(pthread_self(), name);
	usleep(200);
	return NULL;
}

static void *churn_main(void *p)
{
	(void)p;
	while (!atomic_load(&stop)) {
		struct vcpu v = {.index = 90 + rand() % 9};
		pthread_t t;

		if (pthread_create(&t, NULL, blip_main, &v) == 0)
			pthread_join(t, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = 2, secs = 60, churn = 0, helper = 1;
	struct vcpu *v;
	pthread_t ct, ht;
	struct timespec end, now;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-churn")) {
			churn = 1;
			continue;
		}
		if (!strcmp(a, "-nohelper")) {
			helper = 0;
			continue;
		}
		if (!val) {
			fprintf(stderr, "fakevm: %s needs a value\n", a);
			return 2;
		}
		if (!strcmp(a, "-smp"))
			n = (int)strtol(val, NULL, 10);
		else if (!strcmp(a, "-time"))
			secs = (int)strtol(val, NULL, 10);
		else if (!strcmp(a, "-fmt"))
			fmt = val;
		else if (!strcmp(a, "-mode"))
			spin_mode = !strcmp(val, "lock") ? 2 : !strcmp(val, "spin");
		else if (strcmp(a, "-name") && strcmp(a, "-uuid")) {
			fprintf(stderr, "fakevm: unknown option '%s'\n", a);
			return 2;
		}
		i++;
	}
	if (n < 1 || n > 512 || secs < 1) {
		fprintf(stderr, "fakevm: bad -smp or -time\n");
		return 2;
	}
	v = calloc((size_t)n, sizeof(*v));
	if (!v)
		return 1;
	last_vcpu = n - 1;
	signal(SIGUSR1, on_usr1);
	for (int i = 0; i < n; i++) {
		v[i].index = i;
		if (pthread_create(&v[i].th, NULL, vcpu_main, &v[i]) != 0)
			return 1;
	}
	for (int i = 0; i < 500 && atomic_load(&named) < n; i++)
		usleep(10000);
	printf("ready %d", getpid());
	for (int i = 0; i < n; i++)
		printf(" %d", v[i].tid);
	printf("\n");
	fflush(stdout);
	if (churn)
		pthread_create(&ct, NULL, churn_main, NULL);
	if (spin_mode == 2 && helper)
		pthread_create(&ht, NULL, helper_main, NULL);
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += secs;
	if (!helper) /* a quiet VM's main thread wakes once, at the end: no wakeups in the queues */
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &end, NULL);
	do {
		usleep(50000);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec < end.tv_sec ||
		 (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
	atomic_store(&stop, true);
	if (churn)
		pthread_join(ct, NULL);
	if (spin_mode == 2) {
		if (helper)
			pthread_join(ht, NULL);
		fprintf(stderr, "fakevm: %lu lock ops\n", (unsigned long)atomic_load(&ops));
	}
	for (int i = 0; i < n; i++)
		pthread_join(v[i].th, NULL);
	free(v);
	return 0;
}
