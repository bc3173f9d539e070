/* SPDX-License-Identifier: MIT */
/*
 * Live test on the real scheduler dump: this process becomes a synthetic VM (threads named
 * "CPU 0/KVM", "CPU 1/KVM" spinning) next to CPU hogs, reads /sys/kernel/debug/sched/debug,
 * and checks that libsbco finds exactly this VM (by process, with our thread ids), places
 * each vCPU on the CPU it is pinned to, reports stacking when both are pinned to one CPU and
 * none when they are apart, and gives sane ordinates. Only its own threads are touched;
 * every loop is bounded. Exit 0 pass, 1 fail, 77 skip (with a SKIP: line).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sbco.h"

#define NR_VCPU 2
#define NR_HOG	2

static atomic_bool stop;
static pid_t tids[NR_VCPU + NR_HOG];

struct arg {
	int i;
	char name[16];
};

static void *spin(void *p)
{
	struct arg *a = p;
	volatile unsigned long x = 0;

	tids[a->i] = (pid_t)syscall(SYS_gettid);
	pthread_setname_np(pthread_self(), a->name);
	while (!atomic_load(&stop))
		x++;
	return NULL;
}

static int pin(pid_t tid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set);
}

/* One sample; returns 1 when the checks pass, 0 when the sample was inconclusive (a vCPU
 * was not runnable at that instant), -1 on a failed check. */
static int sample(bool want_stacked, int cpu0, int cpu1)
{
	struct sbco_snapshot *s = NULL;
	struct sbco_ordinates *o = NULL;
	struct sbco_vm_set *set = NULL;
	struct sbco_patterns pat = {0};
	const struct sbco_vm_stat *vm = NULL;
	char *buf = NULL, err[256];
	size_t len;
	int fd, r = -1;

	fd = sbco_dump_open_live("/", NULL);
	if (fd < 0 || sbco_read_fd(fd, 64u << 20, &buf, &len) < 0) {
		fprintf(stderr, "FAIL: cannot read the live dump: %s\n", strerror(-fd));
		goto out;
	}
	close(fd);
	if (sbco_dump_parse(buf, len, &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "FAIL: live dump rejected: %s\n", err);
		goto out;
	}
	if (sbco_ordinates_compute(s, &o) < 0 || sbco_patterns_default(&pat) < 0 ||
	    sbco_vms_analyze(s, o, &pat, sbco_tgid_from_proc, (void *)"", 2.0 / 3, &set) < 0)
		goto out;
	for (size_t i = 0; i < set->nr_vms; i++)
		if (set->vms[i].tgid == getpid())
			vm = &set->vms[i];
	if (!vm || vm->nr_vcpus != NR_VCPU) {
		fprintf(stderr, "FAIL: our VM (pid %d) not found with %d vCPUs\n", getpid(),
			NR_VCPU);
		goto out;
	}
	for (int k = 0; k < NR_VCPU; k++) {
		const struct sbco_task *t = &s->tasks[vm->vcpus[k].task];
		const struct sbco_ordinate *od = &o->task[vm->vcpus[k].task];
		int want = k == 0 ? cpu0 : cpu1;

		if (vm->vcpus[k].tid != tids[k] || vm->vcpus[k].index != k) {
			fprintf(stderr, "FAIL: vCPU %d: tid %d index %d, want %d\n", k,
				vm->vcpus[k].tid, vm->vcpus[k].index, tids[k]);
			goto out;
		}
		if (s->cpus[t->cpu].id != want) {
			fprintf(stderr, "FAIL: vCPU %d on cpu#%d, pinned to %d\n", k,
				s->cpus[t->cpu].id, want);
			goto out;
		}
		if (od->runnable &&
		    (od->ordinate < 0 || (uint32_t)od->ordinate >= o->cpu[t->cpu].nr_runnable ||
		     od->wait_ns < 0)) {
			fprintf(stderr, "FAIL: vCPU %d ordinate %d of %u\n", k, od->ordinate,
				o->cpu[t->cpu].nr_runnable);
			goto out;
		}
	}
	if (vm->nr_runnable < NR_VCPU) {
		r = 0;
		goto out;
	}
	if (vm->stacked != want_stacked) {
		fprintf(stderr, "FAIL: stacked=%d, want %d\n", vm->stacked, want_stacked);
		goto out;
	}
	printf("ok: cpus %d,%d stacked=%d distance=%d (%.3f ms) q=%u\n", cpu0, cpu1, vm->stacked,
	       vm->distance, vm->distance_ns / 1e6, vm->q_size);
	r = 1;
out:
	sbco_vm_set_free(set);
	sbco_ordinates_free(o);
	sbco_snapshot_free(s);
	sbco_patterns_clear(&pat);
	free(buf);
	return r;
}

static int phase(bool stacked, int cpu0, int cpu1)
{
	struct timespec d = {0, 200 * 1000 * 1000};

	if (pin(tids[0], cpu0) < 0 || pin(tids[1], cpu1) < 0 || pin(tids[2], cpu0) < 0 ||
	    pin(tids[3], cpu1) < 0) {
		fprintf(stderr, "FAIL: sched_setaffinity: %s\n", strerror(errno));
		return -1;
	}
	for (int tries = 0; tries < 20; tries++) { /* bounded: ~4 s */
		int r;

		nanosleep(&d, NULL);
		r = sample(stacked, cpu0, cpu1);
		if (r != 0)
			return r > 0 ? 0 : -1;
	}
	fprintf(stderr, "FAIL: vCPUs never both runnable in 20 samples\n");
	return -1;
}

int main(void)
{
	pthread_t th[NR_VCPU + NR_HOG];
	struct arg args[NR_VCPU + NR_HOG];
	int fd, ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN), rc = 1;

	fd = sbco_dump_open_live("/", NULL);
	if (fd < 0) {
		printf("SKIP: no readable scheduler dump (%s): need root and debugfs\n",
		       strerror(-fd));
		return 77;
	}
	close(fd);
	if (ncpu < 2) {
		printf("SKIP: needs 2 CPUs, have %d\n", ncpu);
		return 77;
	}
	for (int i = 0; i < NR_VCPU + NR_HOG; i++) {
		args[i].i = i;
		if (i < NR_VCPU)
			snprintf(args[i].name, sizeof(args[i].name), "CPU %d/KVM", i % 10);
		else
			snprintf(args[i].name, sizeof(args[i].name), "hog");
		pthread_create(&th[i], NULL, spin, &args[i]);
	}
	for (int i = 0; i < 100 && (!tids[0] || !tids[1] || !tids[2] || !tids[3]); i++)
		usleep(10000);
	if (phase(false, 0, 1) == 0 && phase(true, 0, 0) == 0 && phase(false, 1, 0) == 0)
		rc = 0;
	atomic_store(&stop, true);
	for (int i = 0; i < NR_VCPU + NR_HOG; i++)
		pthread_join(th[i], NULL);
	printf(rc ? "FAIL\n" : "PASS\n");
	return rc;
}
