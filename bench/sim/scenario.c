/* SPDX-License-Identifier: MIT */
/*
 * Hosts and VM mixes. The lhpbench scenarios (bench/lhpbench.sh) on its 2-CPU host: every
 * VM has one vCPU per CPU, lock hold 5 us and 20 us of work, hogs pinned per CPU:
 *   spin-qN     two lock VMs + N-2 hogs per CPU (queue length N)
 *   dedup-qN    the same with a spin barrier every 50 operations
 *   disturb-kK  one lock VM + K saturating VMs (managed too)
 *   fair        four saturating VMs
 * and the paper's setups on an 8-CPU host with 4-vCPU VMs:
 *   table1-lockV   V lock VMs whose vCPUs idle 30 % of the time (Kernbench-like)
 *   table1-hogV    V saturating VMs (SPECjbb-like)
 *   table2-qN      four 4-vCPU lock VMs + hogs to a queue length of N (6 or 10)
 *   big            256 CPUs (LLCs of 16), 500 four-vCPU lock VMs (the speed target)
 * Options given after --scenario override its values.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

void scen_defaults(struct sim_params *p)
{
	*p = (struct sim_params){
	    .nr_cpus = 8,
	    .eevdf = true,
	    .hz = 250,
	    .busy_factor = 16,
	    .seconds = 10,
	    .warmup = 1,
	    .seed = 1,
	    .nr_vms = 2,
	    .vcpus = 4,
	    .work = WORK_LOCK,
	    .hold_ns = 5000,
	    .work_ns = 20000,
	    .every = 50,
	    .idle_burst_ns = 5000000,
	    .dist_vcpus = 4,
	    .nr_noise = (uint32_t)-1, /* decided in scen_build: one per 2 CPUs */
	    .noise_run_ns = 200000,
	    .noise_sleep_ns = 20000000,
	    .mode = SBCO_MODE_OFF,
	    .alpha = 2.0 / 3,
	    .lever = SBCO_LEVER_AUTO,
	    .interval_ns = 250000000,
	    .measure_ns = 250000000,
	};
}

static int lhp(struct sim_params *p, const char *name)
{
	unsigned n;

	p->nr_cpus = 2;
	p->vcpus = 2;
	p->dist_vcpus = 2;
	if (sscanf(name, "spin-q%u", &n) == 1 || sscanf(name, "dedup-q%u", &n) == 1) {
		if (n < 2 || n > 64)
			return -EINVAL;
		p->nr_vms = 2;
		p->hogs_per_cpu = n - 2;
		p->work = name[0] == 'd' ? WORK_BARRIER : WORK_LOCK;
		return 0;
	}
	if (sscanf(name, "disturb-k%u", &n) == 1) {
		if (n > 64)
			return -EINVAL;
		p->nr_vms = 1;
		p->nr_dist = n;
		return 0;
	}
	if (!strcmp(name, "fair")) {
		p->nr_vms = 4;
		p->work = WORK_HOG;
		return 0;
	}
	return -ENOENT;
}

int scen_apply(struct sim_params *p, const char *name)
{
	unsigned n;
	int r = lhp(p, name);

	if (r != -ENOENT)
		return r;
	p->nr_cpus = 8;
	p->vcpus = 4;
	if (sscanf(name, "table1-lock%u", &n) == 1 || sscanf(name, "table1-hog%u", &n) == 1) {
		if (n < 1 || n > 64)
			return -EINVAL;
		p->nr_vms = n;
		p->work = name[7] == 'l' ? WORK_LOCK : WORK_HOG;
		p->vcpu_idle = name[7] == 'l' ? 0.3 : 0;
		p->measure_ns = 1000000000; /* the paper's 1 s samples */
		return 0;
	}
	if (sscanf(name, "table2-q%u", &n) == 1) {
		if (n < 4 || n > 64)
			return -EINVAL;
		p->nr_vms = 4;
		p->hogs_per_cpu = n - 2;
		return 0;
	}
	if (!strcmp(name, "big")) {
		p->nr_cpus = 256;
		p->llc_size = 16;
		p->nr_vms = 500;
		p->seconds = 60;
		return 0;
	}
	return -ENOENT;
}

static int add_task(struct sim *s, enum task_kind kind, int32_t tgid, int vm, int vcpu)
{
	int i = s->nr_tasks++;
	struct task *t = &s->t[i];

	*t = (struct task){.tid = 1000 + i,
			   .tgid = tgid,
			   .kind = kind,
			   .vm = vm,
			   .vcpu = vcpu,
			   .qpos = -1,
			   .weight = 1024,
			   .base_weight = 1024};
	for (uint32_t c = 0; c < s->p.nr_cpus; c++)
		sbco_cpuset_add(&t->aff, c);
	return i;
}

/* Fork balancing. The kernel's find_idlest_cpu() compares PELT loads, in which threads
 * created a moment ago hardly show yet (a new task starts at half its weight and ramps up
 * over ~100 ms), so a VMM starting its vCPU threads in a burst places them nearly at
 * random: by default a uniformly random allowed CPU (fork_idlest: the least loaded one,
 * ties at random), and the load balancer evens the counts out afterwards. */
static void start(struct sim *s, int ti)
{
	int best = -1, ties = 0;

	for (int c = 0; c < (int)s->p.nr_cpus; c++) {
		if (!sbco_cpuset_has(&s->t[ti].aff, (unsigned)c))
			continue;
		if (!s->p.fork_idlest) {
			if (sim_rand(s) % (uint64_t)++ties == 0)
				best = c;
			continue;
		}
		if (best < 0 || rq_nr(s, c) < rq_nr(s, best)) {
			best = c;
			ties = 1;
		} else if (rq_nr(s, c) == rq_nr(s, best) && sim_rand(s) % (uint64_t)++ties == 0) {
			best = c;
		}
	}
	rq_enqueue(s, ti, best, false, true);
}

static int add_vm(struct sim *s, enum sim_work work, int nr, bool measured)
{
	int v = s->nr_vms++;
	struct vm *vm = &s->vm[v];

	*vm = (struct vm){.pid = 100000 + v,
			  .first_task = s->nr_tasks,
			  .nr_vcpus = nr,
			  .work = work,
			  .measured = measured,
			  .lock_owner = -1,
			  .barrier = work == WORK_BARRIER ? s->p.every : INFINITY};
	vm->ops = calloc(nr, sizeof(*vm->ops));
	if (!vm->ops)
		return -ENOMEM;
	for (int k = 0; k < nr; k++) {
		int ti = add_task(s, TASK_VCPU, vm->pid, v, k);

		if (measured && s->p.vcpu_idle > 0) {
			s->t[ti].sleeper = true;
			s->t[ti].burst = 1 + (int64_t)sim_exp(s, (double)s->p.idle_burst_ns);
		}
		start(s, ti);
		vm->nr_runnable++;
	}
	return 0;
}

int scen_build(struct sim *s)
{
	const struct sim_params *p = &s->p;
	size_t vcpus = (size_t)p->nr_vms * p->vcpus + (size_t)p->nr_dist * p->dist_vcpus;
	size_t n = vcpus + (size_t)p->hogs_per_cpu * p->nr_cpus + p->nr_noise + 1;

	s->t = calloc(n, sizeof(*s->t));
	s->vm = calloc(p->nr_vms + p->nr_dist + 1, sizeof(*s->vm));
	if (!s->t || !s->vm)
		return -ENOMEM;
	for (uint32_t h = 0; h < p->hogs_per_cpu; h++)
		for (uint32_t c = 0; c < p->nr_cpus; c++) {
			int ti = add_task(s, TASK_HOG, 0, -1, -1);

			s->t[ti].tgid = s->t[ti].tid;
			memset(&s->t[ti].aff, 0, sizeof(s->t[ti].aff));
			sbco_cpuset_add(&s->t[ti].aff, c);
			start(s, ti);
		}
	for (uint32_t v = 0; v < p->nr_vms; v++)
		if (add_vm(s, p->work, (int)p->vcpus, true) < 0)
			return -ENOMEM;
	for (uint32_t v = 0; v < p->nr_dist; v++)
		if (add_vm(s, WORK_HOG, (int)p->dist_vcpus, false) < 0)
			return -ENOMEM;
	for (uint32_t k = 0; k < p->nr_noise; k++) {
		int ti = add_task(s, TASK_NOISE, 0, -1, -1);
		struct task *t = &s->t[ti];

		t->tgid = t->tid;
		t->sleeper = true;
		t->cpu = (int32_t)(sim_rand(s) % p->nr_cpus);
		t->state = TS_SLEEPING;
		t->gen = 1;
		sim_push(s, (int64_t)sim_exp(s, (double)p->noise_sleep_ns), EV_WAKE, ti, t->gen);
	}
	return 0;
}
