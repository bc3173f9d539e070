/* SPDX-License-Identifier: MIT */
/*
 * The event loop of the simulator: one binary heap of timed events (ties in insertion
 * order, so a seed gives one history). A CPU has at most one live event, the end of its
 * current task's turn (tick after the deadline / share of the period) or of a sleeper's
 * burst; a later re-arm bumps the CPU's generation and the stale event is dropped when
 * popped. Context switches, sleeps and wakeups go through here so the workload model sees
 * every change of a vCPU's state before it happens.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

struct event {
	int64_t t;
	uint64_t seq;
	uint32_t gen;
	int32_t id;
	enum ev_kind kind;
};

static bool before(const struct event *a, const struct event *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

void sim_push(struct sim *s, int64_t t, enum ev_kind k, int32_t id, uint32_t gen)
{
	size_t i;

	if (s->nev == s->capev) {
		size_t cap = s->capev ? 2 * s->capev : 1024;
		struct event *n = realloc(s->ev, cap * sizeof(*n));

		if (!n)
			abort(); /* out of memory in the middle of a run: nothing sensible to do */
		s->ev = n;
		s->capev = cap;
	}
	i = s->nev++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		struct event e = {t, s->seq, gen, id, k};

		if (!before(&e, &s->ev[p]))
			break;
		s->ev[i] = s->ev[p];
		i = p;
	}
	s->ev[i] = (struct event){t, s->seq++, gen, id, k};
}

static struct event pop(struct sim *s)
{
	struct event top = s->ev[0], x = s->ev[--s->nev];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= s->nev)
			break;
		if (c + 1 < s->nev && before(&s->ev[c + 1], &s->ev[c]))
			c++;
		if (!before(&s->ev[c], &x))
			break;
		s->ev[i] = s->ev[c];
		i = c;
	}
	if (s->nev > 0)
		s->ev[i] = x;
	return top;
}

uint64_t sim_rand(struct sim *s)
{
	uint64_t *r = s->rng, res = ((r[1] * 5) << 7 | (r[1] * 5) >> 57) * 9, t = r[1] << 17;

	r[2] ^= r[0];
	r[3] ^= r[1];
	r[1] ^= r[2];
	r[0] ^= r[3];
	r[2] ^= t;
	r[3] = r[3] << 45 | r[3] >> 19;
	return res;
}

double sim_uniform(struct sim *s)
{
	return (double)(sim_rand(s) >> 11) * 0x1.0p-53;
}

double sim_exp(struct sim *s, double mean)
{
	return -mean * log(1.0 - sim_uniform(s));
}

/* Re-arm cpu's event: the end of the current turn, or of a sleeper's burst. */
void sim_kick(struct sim *s, int cpu)
{
	struct cpu *c = &s->c[cpu];
	int64_t t = rq_slice_end(s, cpu);

	c->gen++;
	if (c->curr >= 0 && s->t[c->curr].sleeper) {
		int64_t b = s->t[c->curr].exec_start + s->t[c->curr].burst;

		if (b < t)
			t = b > s->now ? b : s->now;
	}
	if (t != INT64_MAX)
		sim_push(s, t, EV_CPU, cpu, c->gen);
}

/* Re-pick cpu now (resched_curr), with the workload told before the switch. */
void sim_resched(struct sim *s, int cpu)
{
	struct cpu *c = &s->c[cpu];
	int prev = c->curr, next = rq_choose(s, cpu);

	if (next != prev) {
		if (prev >= 0)
			wl_switch_out(s, prev, true);
		if (next >= 0)
			wl_switch_in(s, next);
		s->st.switches++;
	}
	rq_switch(s, cpu, next);
	if (c->curr < 0)
		lb_newidle(s, cpu);
	sim_kick(s, cpu);
}

/* A task was just queued on cpu: run it if the CPU idles or it preempts. */
static void after_enqueue(struct sim *s, int cpu, int ti)
{
	if (s->c[cpu].curr < 0 || rq_wakeup_preempt(s, cpu, ti))
		sim_resched(s, cpu);
	else
		sim_kick(s, cpu);
}

static double sleep_mean(const struct sim *s, const struct task *t)
{
	if (t->kind == TASK_NOISE)
		return (double)s->p.noise_sleep_ns;
	return (double)s->p.idle_burst_ns * s->p.vcpu_idle / (1 - s->p.vcpu_idle);
}

static double burst_mean(const struct sim *s, const struct task *t)
{
	return t->kind == TASK_NOISE ? (double)s->p.noise_run_ns : (double)s->p.idle_burst_ns;
}

static void do_sleep(struct sim *s, int ti)
{
	struct task *t = &s->t[ti];
	int cpu = t->cpu;

	wl_switch_out(s, ti, false);
	wl_runnable_change(s, ti, -1);
	rq_dequeue(s, ti);
	t->gen++;
	sim_push(s, s->now + 1 + (int64_t)sim_exp(s, sleep_mean(s, t)), EV_WAKE, ti, t->gen);
	s->st.switches++;
	sim_resched(s, cpu);
}

static void do_wake(struct sim *s, int ti)
{
	struct task *t = &s->t[ti];
	int cpu;

	t->burst = 1 + (int64_t)sim_exp(s, burst_mean(s, t));
	cpu = lb_select_cpu(s, ti);
	wl_runnable_change(s, ti, +1);
	rq_enqueue(s, ti, cpu, true, false);
	s->st.wakeups++;
	after_enqueue(s, cpu, ti);
}

/* Move task ti to dst (a queued or running task; running: it is stopped first). */
void lb_migrate(struct sim *s, int ti, int dst)
{
	struct task *t = &s->t[ti];
	int src = t->cpu;
	bool running = t->state == TS_RUNNING;

	if (src == dst || t->state == TS_SLEEPING) {
		t->cpu = t->state == TS_SLEEPING ? dst : t->cpu;
		return;
	}
	if (running)
		wl_switch_out(s, ti, true);
	rq_dequeue(s, ti);
	rq_enqueue(s, ti, dst, false, false);
	s->st.migrations++;
	if (running)
		sim_resched(s, src);
	else
		sim_kick(s, src);
	after_enqueue(s, dst, ti);
}

static void on_cpu_event(struct sim *s, int cpu)
{
	struct cpu *c = &s->c[cpu];
	bool resched = rq_tick(s, cpu);

	if (c->curr >= 0 && s->t[c->curr].sleeper && s->t[c->curr].burst <= 0) {
		do_sleep(s, c->curr);
		return;
	}
	if (resched)
		sim_resched(s, cpu);
	else
		sim_kick(s, cpu);
}

static int64_t lb_interval(const struct sim *s, int cpu, bool top)
{
	int64_t w = top ? s->p.nr_cpus : s->p.llc_size;

	if (w < 2)
		w = 2;
	return w * 1000000 * (rq_nr(s, cpu) ? s->p.busy_factor : 1);
}

/* Each second: the largest |VM CPU time - mean| over the measured VMs (fairness). */
static void fairness(struct sim *s)
{
	double sum = 0, mx = 0;
	int n = 0;

	for (int c = 0; c < (int)s->p.nr_cpus; c++)
		rq_update_curr(s, c);
	for (int v = 0; v < s->nr_vms; v++) {
		int64_t cpu = 0;

		for (int k = 0; k < s->vm[v].nr_vcpus; k++)
			cpu += s->t[s->vm[v].first_task + k].sum_exec;
		s->vm[v].cpu_now = cpu;
		sum += (double)(cpu - s->vm[v].cpu_ns_mark);
		n++;
	}
	for (int v = 0; v < s->nr_vms && n; v++) {
		double d = (double)(s->vm[v].cpu_now - s->vm[v].cpu_ns_mark) - sum / n;

		mx = fmax(mx, fabs(d));
		s->vm[v].cpu_ns_mark = s->vm[v].cpu_now;
	}
	if (s->measuring) {
		s->st.lag_max_sum += mx;
		s->st.lag_windows++;
	}
}

int sim_run(struct sim *s)
{
	int64_t end = (int64_t)((s->p.warmup + s->p.seconds) * 1e9);
	int64_t next_pol = s->p.interval_ns, next_meas = s->p.measure_ns;
	uint64_t limit = 4000000000ull;

	for (int c = 0; c < (int)s->p.nr_cpus; c++) {
		sim_resched(s, c);
		sim_push(s, s->c[c].tick_phase + lb_interval(s, c, false), EV_LB, c, 0);
		if (c % s->p.llc_size == 0)
			sim_push(s, s->c[c].tick_phase + lb_interval(s, c, true), EV_LB_TOP, c, 0);
	}
	sim_push(s, (int64_t)(s->p.warmup * 1e9), EV_SECOND, 1, 0);
	sim_push(s, next_pol < next_meas ? next_pol : next_meas, EV_SAMPLE, 0, 0);
	sim_push(s, end, EV_END, 0, 0);
	while (s->nev > 0 && s->st.events++ < limit) {
		struct event e = pop(s);

		s->now = e.t;
		switch (e.kind) {
		case EV_CPU:
			if (e.gen == s->c[e.id].gen)
				on_cpu_event(s, e.id);
			break;
		case EV_WAKE:
			if (e.gen == s->t[e.id].gen && s->t[e.id].state == TS_SLEEPING)
				do_wake(s, e.id);
			break;
		case EV_LB:
		case EV_LB_TOP:
			lb_periodic(s, e.id, e.kind == EV_LB_TOP);
			sim_push(s, s->now + lb_interval(s, e.id, e.kind == EV_LB_TOP), e.kind,
				 e.id, 0);
			break;
		case EV_SAMPLE: {
			bool pol = s->now >= next_pol, meas = s->now >= next_meas;
			int r;

			if (pol)
				next_pol += s->p.interval_ns;
			if (meas)
				next_meas += s->p.measure_ns;
			r = drv_sample(s, pol, meas && s->measuring);
			if (r < 0)
				return r;
			sim_push(s, next_pol < next_meas ? next_pol : next_meas, EV_SAMPLE, 0, 0);
			break;
		}
		case EV_SECOND:
			if (e.id == 1) { /* the end of the warm-up */
				for (int v = 0; v < s->nr_vms; v++)
					wl_advance(s, v);
				s->measuring = true;
			}
			fairness(s);
			sim_push(s, s->now + 1000000000, EV_SECOND, 0, 0);
			break;
		case EV_END:
			for (int v = 0; v < s->nr_vms; v++)
				wl_advance(s, v);
			for (int c = 0; c < (int)s->p.nr_cpus; c++)
				rq_update_curr(s, c);
			return 0;
		}
	}
	return -ELOOP;
}

int sim_new(const struct sim_params *p, struct sim **ret)
{
	struct sim *s = calloc(1, sizeof(*s));
	uint64_t x;
	unsigned f = 1;
	int r;

	if (!s)
		return -ENOMEM;
	s->p = *p;
	if (s->p.llc_size == 0 || s->p.llc_size > s->p.nr_cpus)
		s->p.llc_size = s->p.nr_cpus < 16 ? s->p.nr_cpus : 16;
	if (s->p.nr_noise == (uint32_t)-1)
		s->p.nr_noise = s->p.nr_cpus / 2 ? s->p.nr_cpus / 2 : 1;
	/* the kernel scales its defaults by 1 + ilog2(min(CPUs, 8)) */
	for (unsigned n = s->p.nr_cpus < 8 ? s->p.nr_cpus : 8; n > 1; n /= 2)
		f++;
	s->slice_ns = p->base_slice_ns ? p->base_slice_ns : 750000 * (int64_t)f;
	s->min_gran_ns = s->slice_ns;
	s->latency_ns = 6000000 * (int64_t)f;
	s->wakeup_gran_ns = 1000000 * (int64_t)f;
	s->tick_ns = 1000000000 / (p->hz ? p->hz : 250);
	s->migration_cost_ns = 500000;
	x = p->seed;
	for (int i = 0; i < 4; i++) { /* splitmix64 */
		uint64_t z = (x += 0x9e3779b97f4a7c15ull);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		s->rng[i] = z ^ (z >> 31);
	}
	s->c = calloc(s->p.nr_cpus, sizeof(*s->c));
	if (!s->c) {
		free(s);
		return -ENOMEM;
	}
	for (uint32_t c = 0; c < s->p.nr_cpus; c++)
		s->c[c] =
		    (struct cpu){.curr = -1, .llc = (int32_t)(c / s->p.llc_size * s->p.llc_size)};
	wl_init(s);
	r = scen_build(s);
	if (r == 0)
		r = drv_new(s);
	if (r < 0) {
		sim_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

struct sim *sim_free(struct sim *s)
{
	if (!s)
		return NULL;
	drv_free(s);
	for (uint32_t c = 0; s->c && c < s->p.nr_cpus; c++)
		free(s->c[c].q);
	for (int v = 0; s->vm && v < s->nr_vms; v++)
		free(s->vm[v].ops);
	free(s->c);
	free(s->vm);
	free(s->t);
	free(s->ev);
	free(s);
	return NULL;
}
