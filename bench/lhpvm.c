/* SPDX-License-Identifier: MIT */
/*
 * lhpvm: the synthetic VM of lhpbench. A process whose threads are named like QEMU's vCPU
 * threads ("CPU i/KVM", so sbcod discovers and steers it as a VM), doing what makes a guest
 * suffer from lock-holder preemption:
 *   -work lock     a spin lock shared by the vCPUs (test-and-test-and-set): hold it -hold
 *                  us, then work -work-us outside it, both busy loops, like a guest kernel's
 *                  short critical sections (default 5 / 20 us);
 *   -work barrier  the same, plus a spin barrier of all vCPUs every -every ops, like the
 *                  pipeline stages of Parsec dedup: one preempted vCPU stalls the others;
 *   -work hog      no lock: each vCPU only computes (a saturating, SPECjbb-like load).
 * Options: -name guest=NAME (as QEMU), -smp N, -time S (run), -warmup S (not measured,
 * default 1), -series (one line per second: "t ops"). On exit it prints one line:
 *   lhpvm name=NAME vcpus=N secs=S ops=N ops_per_s=X spin_frac=F nivcsw=N nvcsw=N
 *   cpu_s=X vcpu_ops=a,b,.. vcpu_spin_frac=a,b,.. vcpu_nivcsw=a,b,..  (per vCPU)
 * spin_frac is the share of the vCPUs' measured time spent waiting for the lock or at the
 * barrier; nivcsw/nvcsw are involuntary/voluntary context switches of the vCPU threads
 * during the measured time; cpu_s their CPU time then. Every loop is bounded by -time.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum work { W_LOCK, W_BARRIER, W_HOG };

static enum work work = W_LOCK;
static uint64_t hold_ns = 5000, work_ns = 20000;
static unsigned every = 50, nr;
static atomic_bool stop, measuring;
static atomic_int lock_word;
static atomic_uint arrived;
static atomic_uint sense;

struct vcpu {
	uint64_t iv0, iv1; /* involuntary switches at the start and end of the window */
	pthread_t th;
	unsigned index;
	pid_t tid;
	atomic_ulong ops;
	atomic_ulong spin_ns;
	char pad[64]; /* keep each vCPU's counters on its own cache line */
};

static struct vcpu *vc;

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

static void lock(struct vcpu *v)
{
	int zero = 0;
	uint64_t t0 = 0;

	while (atomic_load_explicit(&lock_word, memory_order_relaxed) ||
	       !atomic_compare_exchange_weak(&lock_word, &zero, 1)) {
		zero = 0;
		if (!t0)
			t0 = now_ns();
		if (atomic_load_explicit(&stop, memory_order_relaxed))
			return;
	}
	if (t0 && atomic_load_explicit(&measuring, memory_order_relaxed))
		atomic_fetch_add_explicit(&v->spin_ns, now_ns() - t0, memory_order_relaxed);
}

/* Sense-reversing spin barrier of all vCPUs (left at once when stopping). */
static void barrier(struct vcpu *v, unsigned *my_sense)
{
	uint64_t t0 = now_ns();

	*my_sense = !*my_sense;
	if (atomic_fetch_add(&arrived, 1) == nr - 1) {
		atomic_store(&arrived, 0);
		atomic_store(&sense, *my_sense);
	} else {
		while (atomic_load_explicit(&sense, memory_order_acquire) != *my_sense)
			if (atomic_load_explicit(&stop, memory_order_relaxed))
				return;
	}
	if (atomic_load_explicit(&measuring, memory_order_relaxed))
		atomic_fetch_add_explicit(&v->spin_ns, now_ns() - t0, memory_order_relaxed);
}

static void *vcpu_main(void *p)
{
	struct vcpu *v = p;
	char name[16];
	unsigned my_sense = 0, n = 0;
	volatile uint64_t x = 0;

	snprintf(name, sizeof(name), "CPU %u/KVM", v->index);
	pthread_setname_np(pthread_self(), name);
	v->tid = (pid_t)syscall(SYS_gettid);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		if (work == W_HOG) {
			for (int i = 0; i < 10000; i++)
				x = x + (uint64_t)i;
		} else {
			lock(v);
			if (atomic_load_explicit(&stop, memory_order_relaxed))
				break;
			busy_ns(hold_ns);
			atomic_store_explicit(&lock_word, 0, memory_order_release);
			busy_ns(work_ns);
			if (work == W_BARRIER && ++n % every == 0)
				barrier(v, &my_sense);
		}
		if (atomic_load_explicit(&measuring, memory_order_relaxed))
			atomic_fetch_add_explicit(&v->ops, 1, memory_order_relaxed);
	}
	return NULL;
}

/* Sum of the vCPU threads' context switches and CPU time, from /proc. */
static void thread_stats(uint64_t *nivcsw, uint64_t *nvcsw, uint64_t *cpu_ns)
{
	*nivcsw = *nvcsw = *cpu_ns = 0;
	for (unsigned i = 0; i < nr; i++) {
		char path[64], line[128];
		unsigned long long a, b;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%d/status", vc[i].tid);
		if ((f = fopen(path, "re"))) {
			while (fgets(line, sizeof(line), f)) {
				if (sscanf(line, "nonvoluntary_ctxt_switches: %llu", &a) == 1) {
					*nivcsw += a;
					vc[i].iv0 = vc[i].iv1;
					vc[i].iv1 = a;
				} else if (sscanf(line, "voluntary_ctxt_switches: %llu", &a) == 1)
					*nvcsw += a;
			}
			fclose(f);
		}
		snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", vc[i].tid);
		if ((f = fopen(path, "re"))) {
			if (fscanf(f, "%llu %llu", &a, &b) == 2)
				*cpu_ns += a;
			fclose(f);
		}
	}
}

static uint64_t total_ops(void)
{
	uint64_t s = 0;

	for (unsigned i = 0; i < nr; i++)
		s += atomic_load(&vc[i].ops);
	return s;
}

static void sleep_until(uint64_t t)
{
	for (uint64_t n = now_ns(); n < t; n = now_ns()) {
		uint64_t d = t - n > 100000000 ? 100000000 : t - n;
		struct timespec ts = {0, (long)d};

		nanosleep(&ts, NULL);
	}
}

int main(int argc, char **argv)
{
	const char *name = "lhpvm";
	double secs = 10, warmup = 1;
	bool series = false;
	uint64_t t0, t_end, iv0, v0, c0, iv1, v1, c1, spin = 0, ops;

	nr = 2;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-series")) {
			series = true;
			continue;
		}
		if (!val) {
			fprintf(stderr, "lhpvm: %s needs a value\n", a);
			return 2;
		}
		if (!strcmp(a, "-name"))
			name = strncmp(val, "guest=", 6) ? val : val + 6;
		else if (!strcmp(a, "-smp"))
			nr = (unsigned)strtoul(val, NULL, 10);
		else if (!strcmp(a, "-time"))
			secs = strtod(val, NULL);
		else if (!strcmp(a, "-warmup"))
			warmup = strtod(val, NULL);
		else if (!strcmp(a, "-hold"))
			hold_ns = strtoull(val, NULL, 10) * 1000;
		else if (!strcmp(a, "-work-us"))
			work_ns = strtoull(val, NULL, 10) * 1000;
		else if (!strcmp(a, "-every"))
			every = (unsigned)strtoul(val, NULL, 10);
		else if (!strcmp(a, "-work")) {
			if (!strcmp(val, "lock"))
				work = W_LOCK;
			else if (!strcmp(val, "barrier"))
				work = W_BARRIER;
			else if (!strcmp(val, "hog"))
				work = W_HOG;
			else {
				fprintf(stderr, "lhpvm: -work lock|barrier|hog, got '%s'\n", val);
				return 2;
			}
		} else {
			fprintf(stderr, "lhpvm: unknown option '%s'\n", a);
			return 2;
		}
		i++;
	}
	if (nr < 1 || nr > 256 || secs <= 0 || secs > 3600 || warmup < 0 || every < 1) {
		fprintf(stderr, "lhpvm: bad -smp, -time, -warmup or -every\n");
		return 2;
	}
	vc = calloc(nr, sizeof(*vc));
	if (!vc)
		return 1;
	for (unsigned i = 0; i < nr; i++) {
		vc[i].index = i;
		if (pthread_create(&vc[i].th, NULL, vcpu_main, &vc[i]) != 0)
			return 1;
	}
	t0 = now_ns();
	sleep_until(t0 + (uint64_t)(warmup * 1e9));
	thread_stats(&iv0, &v0, &c0);
	atomic_store(&measuring, true);
	t0 = now_ns();
	t_end = t0 + (uint64_t)(secs * 1e9);
	for (uint64_t t = t0 + 1000000000ull, last = 0; t < t_end + 1000000000ull;
	     t += 1000000000ull) {
		sleep_until(t < t_end ? t : t_end);
		if (series) {
			ops = total_ops();
			printf("t=%.0f ops=%lu\n", (double)(t - t0) / 1e9,
			       (unsigned long)(ops - last));
			fflush(stdout);
			last = ops;
		}
	}
	atomic_store(&measuring, false);
	t_end = now_ns();
	thread_stats(&iv1, &v1, &c1);
	atomic_store(&stop, true);
	for (unsigned i = 0; i < nr; i++) {
		pthread_join(vc[i].th, NULL);
		spin += atomic_load(&vc[i].spin_ns);
	}
	ops = total_ops();
	printf("lhpvm name=%s vcpus=%u secs=%.3f ops=%lu ops_per_s=%.1f spin_frac=%.4f nivcsw=%lu "
	       "nvcsw=%lu cpu_s=%.3f",
	       name, nr, (double)(t_end - t0) / 1e9, (unsigned long)ops,
	       (double)ops * 1e9 / (double)(t_end - t0), (double)spin / ((double)(t_end - t0) * nr),
	       (unsigned long)(iv1 - iv0), (unsigned long)(v1 - v0), (double)(c1 - c0) / 1e9);
	printf(" vcpu_ops=");
	for (unsigned i = 0; i < nr; i++)
		printf("%s%lu", i ? "," : "", (unsigned long)atomic_load(&vc[i].ops));
	printf(" vcpu_spin_frac=");
	for (unsigned i = 0; i < nr; i++)
		printf("%s%.4f", i ? "," : "",
		       (double)atomic_load(&vc[i].spin_ns) / (double)(t_end - t0));
	printf(" vcpu_nivcsw=");
	for (unsigned i = 0; i < nr; i++)
		printf("%s%lu", i ? "," : "", (unsigned long)(vc[i].iv1 - vc[i].iv0));
	printf("\n");
	free(vc);
	return 0;
}
