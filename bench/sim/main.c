/* SPDX-License-Identifier: MIT */
/*
 * sbcosim: run one simulated host and print one line of results (key=value), or the
 * pick-rule self-test. usage: sbcosim [--scenario NAME] [options] | --selftest
 * Options (after --scenario they override it): --cpus N --llc N --vms N --vcpus N
 * --work lock|barrier|hog --hold-us N --work-us N --every N --idle F --dist N
 * --dist-vcpus N --hogs N --noise N --mode off|bal|sbco --alpha F
 * --lever auto|slice|weight|nice|kernel --interval-ms F --measure-ms F --seconds S
 * --warmup S --seed N --cfs --hz N --hrtick --kernel-ord --slice-us N --busy-factor N
 * --noise-run-us N --noise-sleep-ms F --idle-burst-ms F --fork-idlest --lend-lazy
 * Exit: 0 done, 1 failure, 2 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int parse_num(const char *v, double lo, double hi, double *ret)
{
	char *end;
	double x;

	errno = 0;
	x = strtod(v, &end);
	if (errno || end == v || *end || !(x >= lo && x <= hi))
		return -EINVAL;
	*ret = x;
	return 0;
}

static int enum_of(const char *v, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v, names[i]))
			return i;
	return -1;
}

static const char *const modes[] = {"off", "bal", "sbco"};
static const char *const works[] = {"lock", "barrier", "hog"};
static const char *const levers[] = {"slice", "weight", "nice", "auto", "kernel"};

/* One option with its value; returns 0, or -EINVAL. */
static int option(struct sim_params *p, const char *a, const char *v)
{
	double x;
	int e;

	if (!strcmp(a, "--mode") || !strcmp(a, "--work") || !strcmp(a, "--lever")) {
		bool m = a[2] == 'm', w = a[2] == 'w';

		e = enum_of(v, m ? modes : w ? works : levers, m ? 3 : w ? 3 : 5);
		if (e < 0)
			return -EINVAL;
		if (m)
			p->mode = (enum sbco_mode)e;
		else if (w)
			p->work = (enum sim_work)e;
		else
			p->lever = (enum sbco_lever)e;
		return 0;
	}
	if (parse_num(v, 0, 1e12, &x) < 0)
		return -EINVAL;
	if (!strcmp(a, "--cpus") && x >= 1 && x <= SBCO_MAX_CPUS)
		p->nr_cpus = (uint32_t)x;
	else if (!strcmp(a, "--llc") && x >= 1)
		p->llc_size = (uint32_t)x;
	else if (!strcmp(a, "--vms") && x <= 100000)
		p->nr_vms = (uint32_t)x;
	else if (!strcmp(a, "--vcpus") && x >= 1 && x <= 256)
		p->vcpus = (uint32_t)x;
	else if (!strcmp(a, "--hold-us") && x > 0)
		p->hold_ns = (int64_t)(x * 1000);
	else if (!strcmp(a, "--work-us"))
		p->work_ns = (int64_t)(x * 1000);
	else if (!strcmp(a, "--every") && x >= 1)
		p->every = (uint32_t)x;
	else if (!strcmp(a, "--idle") && x <= 0.9)
		p->vcpu_idle = x;
	else if (!strcmp(a, "--dist") && x <= 10000)
		p->nr_dist = (uint32_t)x;
	else if (!strcmp(a, "--dist-vcpus") && x >= 1 && x <= 256)
		p->dist_vcpus = (uint32_t)x;
	else if (!strcmp(a, "--hogs") && x <= 64)
		p->hogs_per_cpu = (uint32_t)x;
	else if (!strcmp(a, "--noise") && x <= 100000)
		p->nr_noise = (uint32_t)x;
	else if (!strcmp(a, "--alpha") && x > 0 && x <= 1)
		p->alpha = x;
	else if (!strcmp(a, "--interval-ms") && x >= 0.1)
		p->interval_ns = (int64_t)(x * 1e6);
	else if (!strcmp(a, "--measure-ms") && x >= 0.1)
		p->measure_ns = (int64_t)(x * 1e6);
	else if (!strcmp(a, "--seconds") && x > 0 && x <= 3600)
		p->seconds = x;
	else if (!strcmp(a, "--warmup") && x <= 60)
		p->warmup = x;
	else if (!strcmp(a, "--seed"))
		p->seed = (uint64_t)x;
	else if (!strcmp(a, "--hz") && x >= 100 && x <= 1000)
		p->hz = (uint32_t)x;
	else if (!strcmp(a, "--slice-us") && x >= 100)
		p->base_slice_ns = (int64_t)(x * 1000);
	else if (!strcmp(a, "--busy-factor") && x >= 1 && x <= 64)
		p->busy_factor = (uint32_t)x;
	else if (!strcmp(a, "--noise-run-us") && x >= 1)
		p->noise_run_ns = (int64_t)(x * 1000);
	else if (!strcmp(a, "--noise-sleep-ms") && x >= 0.01)
		p->noise_sleep_ns = (int64_t)(x * 1e6);
	else if (!strcmp(a, "--idle-burst-ms") && x >= 0.01)
		p->idle_burst_ns = (int64_t)(x * 1e6);
	else
		return -EINVAL;
	return 0;
}

static void report(const struct sim *s, const char *scen, double wall, double cpu)
{
	const struct sim_params *p = &s->p;
	double secs = p->seconds, ops = 0, spin = 0, run = 0, niv = 0, lhp = 0, b2 = 0, co = 0;
	int nm = 0, nv = 0;

	for (int v = 0; v < s->nr_vms; v++) {
		const struct vm *vm = &s->vm[v];

		b2 += (double)vm->busy2_ns;
		co += (double)vm->corun_ns;
		if (!vm->measured)
			continue;
		nm++;
		nv += vm->nr_vcpus;
		ops += vm->total_ops;
		spin += vm->spin_ns;
		run += vm->run_ns;
		niv += (double)vm->nivcsw;
		lhp += (double)vm->lhp;
	}
	printf("sbcosim scenario=%s mode=%s lever=%s sched=%s cpus=%u vms=%d vcpus=%d tasks=%d "
	       "alpha=%.3f interval_ms=%.1f seed=%llu sim_s=%.1f wall_s=%.3f cpu_s=%.3f speed=%.2f "
	       "ops_per_s=%.1f spin_frac=%.4f spin_of_run=%.4f nivcsw_per_s=%.1f "
	       "lhp_per_s=%.1f stacked_pct=%.2f exceeded_pct=%.2f exceeded_any_pct=%.2f "
	       "corun_pct=%.2f samples=%llu cycles=%llu actions=%llu action_errors=%llu "
	       "placements=%llu policy_ms_per_cycle=%.3f switches_per_s=%.0f migrations=%llu "
	       "fair_lag_ms=%.2f events=%llu\n",
	       scen, modes[p->mode],
	       p->lend_lazy && drv_lever(s) == SBCO_LEVER_KERNEL ? "kernel-lazy"
								 : levers[drv_lever(s)],
	       p->eevdf ? "eevdf" : "cfs", p->nr_cpus, s->nr_vms, nv, s->nr_tasks, p->alpha,
	       (double)p->interval_ns / 1e6, (unsigned long long)p->seed, secs, wall, cpu,
	       secs / cpu, ops * 1e9 / (secs * 1e9), nv ? spin / (secs * 1e9 * nv) : 0,
	       run > 0 ? spin / run : 0, niv / secs, lhp / secs,
	       s->st.vm_samples ? 100.0 * s->st.stacked / s->st.vm_samples : 0,
	       s->st.vm_samples ? 100.0 * s->st.exceeded / s->st.vm_samples : 0,
	       s->st.vm_samples ? 100.0 * s->st.exceeded_any / s->st.vm_samples : 0,
	       b2 > 0 ? 100 * co / b2 : 0, (unsigned long long)s->st.vm_samples,
	       (unsigned long long)s->st.cycles, (unsigned long long)s->st.actions,
	       (unsigned long long)s->st.action_errors, (unsigned long long)s->st.placements,
	       s->st.cycles ? (double)s->st.policy_ns / 1e6 / (double)s->st.cycles : 0,
	       (double)s->st.switches / (p->warmup + secs), (unsigned long long)s->st.migrations,
	       s->st.lag_windows ? s->st.lag_max_sum / 1e6 / (double)s->st.lag_windows : 0,
	       (unsigned long long)s->st.events);
	(void)nm;
}

int main(int argc, char **argv)
{
	struct sim_params p;
	struct sim *s = NULL;
	const char *scen = "custom";
	int64_t t0, c0;
	int r;

	scen_defaults(&p);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--selftest"))
			return sim_selftest() ? 1 : 0;
		if (!strcmp(a, "--fork-idlest") || !strcmp(a, "--lend-lazy")) {
			if (a[2] == 'f')
				p.fork_idlest = true;
			else
				p.lend_lazy = true;
			continue;
		}
		if (!strcmp(a, "--cfs") || !strcmp(a, "--hrtick") || !strcmp(a, "--kernel-ord")) {
			if (a[2] == 'c')
				p.eevdf = false;
			else if (a[2] == 'h')
				p.hrtick = true;
			else
				p.kernel_ord = true;
			continue;
		}
		if (!v) {
			fprintf(stderr, "sbcosim: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (!strcmp(a, "--scenario")) {
			scen = v;
			r = scen_apply(&p, v);
			if (r < 0) {
				fprintf(stderr, "sbcosim: unknown scenario '%s'\n", v);
				return 2;
			}
			continue;
		}
		if (option(&p, a, v) < 0) {
			fprintf(stderr, "sbcosim: bad option '%s %s'\n", a, v);
			return 2;
		}
	}
	t0 = clock_ns(CLOCK_MONOTONIC);
	c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	r = sim_new(&p, &s);
	if (r == 0)
		r = sim_run(s);
	if (r < 0) {
		fprintf(stderr, "sbcosim: %s\n", strerror(-r));
		sim_free(s);
		return 1;
	}
	report(s, scen, (double)(clock_ns(CLOCK_MONOTONIC) - t0) / 1e9,
	       (double)(clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c0) / 1e9);
	sim_free(s);
	return 0;
}
