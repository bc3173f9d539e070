/* SPDX-License-Identifier: MIT */
/*
 * sbcosim --selftest: the pick rules and the balancer on tiny hosts, checked against what
 * the kernel's rules imply: CPU shares follow weights (EEVDF and CFS), a custom slice
 * changes when a task runs but not its share, pinned tasks stay, free tasks are spread
 * evenly, anti-stacking leaves no stacked sample, the lock model gives the closed-form
 * throughput, and a seed gives one history. Prints one line per check; returns failures.
 */
#include <math.h>
#include <stdio.h>

#include "sim.h"

static int fails;

static void check(bool ok, const char *what, double got, double want)
{
	printf("%s: %s (got %.4f, want %.4f)\n", ok ? "ok" : "FAIL", what, got, want);
	fails += !ok;
}

static struct sim *host(uint32_t cpus, uint32_t hogs, uint32_t vms, uint32_t vcpus, enum sim_work w,
			bool eevdf)
{
	struct sim_params p;
	struct sim *s = NULL;

	scen_defaults(&p);
	p.nr_cpus = cpus;
	p.hogs_per_cpu = hogs;
	p.nr_vms = vms;
	p.vcpus = vcpus;
	p.work = w;
	p.nr_noise = 0;
	p.eevdf = eevdf;
	p.seconds = 5;
	p.warmup = 0;
	if (sim_new(&p, &s) < 0)
		return NULL;
	return s;
}

static double share(const struct sim *s, int ti)
{
	return (double)s->t[ti].sum_exec / ((s->p.seconds + s->p.warmup) * 1e9);
}

/* three hogs on one CPU, the third at twice the weight: 1/4, 1/4, 1/2 */
static void weights(bool eevdf)
{
	struct sim *s = host(1, 3, 0, 4, WORK_HOG, eevdf);
	double a, c;

	if (!s) {
		check(false, "host", 0, 1);
		return;
	}
	rq_reweight(s, 2, 2048);
	sim_run(s);
	a = share(s, 0);
	c = share(s, 2);
	check(fabs(a - 0.25) < 0.02 && fabs(c - 0.5) < 0.02,
	      eevdf ? "EEVDF: shares follow weights" : "CFS: shares follow weights", c / a, 2);
	sim_free(s);
}

static void slice(void)
{
	struct sim *s = host(1, 2, 0, 4, WORK_HOG, true);
	double a, b;

	if (!s)
		return;
	rq_set_slice(s, 0, 100000);
	sim_run(s);
	a = share(s, 0);
	b = share(s, 1);
	check(fabs(a - b) < 0.02, "EEVDF: a 0.1 ms custom slice keeps the share", a, b);
	check(s->t[0].switches > 2 * s->t[1].switches / 3,
	      "EEVDF: the short slice is picked at least as often", (double)s->t[0].switches,
	      (double)s->t[1].switches);
	sim_free(s);
}

static void spread(void)
{
	struct sim *s = host(4, 1, 2, 4, WORK_HOG, true);
	int bad = 0, lo = 99, hi = 0;

	if (!s)
		return;
	sim_run(s);
	for (int i = 0; i < s->nr_tasks; i++)
		bad += s->t[i].kind == TASK_HOG && s->t[i].cpu != i;
	for (int c = 0; c < 4; c++) {
		lo = rq_nr(s, c) < lo ? rq_nr(s, c) : lo;
		hi = rq_nr(s, c) > hi ? rq_nr(s, c) : hi;
	}
	check(bad == 0, "pinned hogs stay on their CPUs", bad, 0);
	check(hi - lo <= 1, "8 free vCPUs + 4 pinned hogs on 4 CPUs: queues within one", hi - lo,
	      1);
	sim_free(s);
}

static void lock_model(void)
{
	struct sim *s = host(2, 0, 1, 2, WORK_LOCK, true);

	if (!s)
		return;
	sim_run(s);
	check(fabs(s->vm[0].total_ops / 5 - s->lock_x[2] * 1e9) < 0.02 * s->lock_x[2] * 1e9,
	      "a 2-vCPU lock VM alone on 2 CPUs: ops/s = X(2)", s->vm[0].total_ops / 5,
	      s->lock_x[2] * 1e9);
	sim_free(s);
}

static void bal_and_seed(void)
{
	struct sim_params p;
	struct sim *a = NULL, *b = NULL;

	scen_defaults(&p);
	scen_apply(&p, "spin-q4");
	p.seconds = 3;
	p.mode = SBCO_MODE_BAL;
	if (sim_new(&p, &a) < 0 || sim_run(a) < 0)
		return;
	check(a->st.vm_samples > 0 && a->st.stacked == 0, "bal: no stacked sample",
	      (double)a->st.stacked, 0);
	p.mode = SBCO_MODE_SBCO;
	sim_free(a);
	a = NULL;
	if (sim_new(&p, &a) < 0 || sim_run(a) < 0 || sim_new(&p, &b) < 0 || sim_run(b) < 0)
		return;
	check(a->st.events == b->st.events && a->vm[0].total_ops == b->vm[0].total_ops &&
		  a->st.actions == b->st.actions,
	      "sbco: the same seed gives the same history", (double)a->st.events,
	      (double)b->st.events);
	sim_free(a);
	sim_free(b);
}

int sim_selftest(void)
{
	weights(true);
	weights(false);
	slice();
	spread();
	lock_model();
	bal_and_seed();
	printf("%s: %d failed\n", fails ? "FAIL" : "PASS", fails);
	return fails;
}
