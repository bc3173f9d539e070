/* SPDX-License-Identifier: MIT */
/*
 * Per-CPU run queues of the simulator and the kernel's fair-class rules on them, flat (one
 * level: a libvirt vCPU alone in its cgroup competes with its group entity's weight, which
 * is what the weight lever changes). EEVDF (Linux >= 6.6): the next task is the eligible one
 * (vruntime <= the weighted average V) with the earliest virtual deadline; a picked task keeps
 * the CPU until its deadline (RUN_TO_PARITY) and its slice ends at the first tick after it
 * (no HRTICK); a waking task preempts only when it would be picked, and a shorter slice
 * cancels the current task's protection (PREEMPT_SHORT); lag (V - vruntime) is kept across
 * sleep and migration, inflated at placement. CFS (< 6.6): smallest vruntime first, the
 * current task runs its share of the period (T_p = latency, or nr x min_granularity), wakeup
 * preemption beyond the wakeup granularity, sleepers placed at min_vruntime - latency / 2.
 * Queues are small arrays: a host with 8 tasks per CPU scans 8 entries per pick.
 */
#include <math.h>
#include <stdlib.h>

#include "sim.h"

static int64_t vdelta(int64_t ns, int64_t w)
{
	return ns * 1024 / w;
}

int64_t rq_task_slice(const struct sim *s, int ti)
{
	int64_t sl = s->t[ti].slice;

	if (!sl)
		return s->slice_ns;
	return sl < 100000 ? 100000 : sl > 100000000 ? 100000000 : sl;
}

int rq_nr(const struct sim *s, int cpu)
{
	return s->c[cpu].nq + (s->c[cpu].curr >= 0);
}

/* The weighted average vruntime V of curr + queued; the last one when the queue is empty. */
int64_t rq_avg_vruntime(const struct sim *s, int cpu)
{
	const struct cpu *c = &s->c[cpu];
	double sw = 0, swv = 0, base;

	if (c->curr < 0 && c->nq == 0)
		return c->min_v;
	base = (double)(c->curr >= 0 ? s->t[c->curr].v : s->t[c->q[0]].v);
	if (c->curr >= 0) {
		sw += (double)s->t[c->curr].weight;
	}
	for (int i = 0; i < c->nq; i++) {
		const struct task *t = &s->t[c->q[i]];

		sw += (double)t->weight;
		swv += (double)t->weight * ((double)t->v - base);
	}
	return (int64_t)llround(base + swv / sw);
}

static void update_min(struct sim *s, int cpu)
{
	struct cpu *c = &s->c[cpu];

	if (c->curr < 0 && c->nq == 0)
		return;
	if (s->p.eevdf) {
		c->min_v = rq_avg_vruntime(s, cpu);
		return;
	}
	{
		int64_t m = c->curr >= 0 ? s->t[c->curr].v : INT64_MAX;

		for (int i = 0; i < c->nq; i++)
			if (s->t[c->q[i]].v < m)
				m = s->t[c->q[i]].v;
		if (m > c->min_v)
			c->min_v = m;
	}
}

bool rq_update_curr(struct sim *s, int cpu)
{
	struct cpu *c = &s->c[cpu];
	struct task *t;
	int64_t d;

	if (c->curr < 0)
		return false;
	t = &s->t[c->curr];
	d = s->now - t->exec_start;
	if (d <= 0)
		return false;
	t->v += vdelta(d, t->weight);
	t->sum_exec += d;
	t->exec_start = s->now;
	t->last_ran = s->now;
	if (t->sleeper)
		t->burst -= d;
	c->busy_ns += d;
	if (s->p.eevdf && t->v >= t->deadline) {
		t->deadline = t->v + vdelta(rq_task_slice(s, c->curr), t->weight);
		c->protect = false; /* slice protection ends with the deadline it covered */
		return true;
	}
	if (!s->p.eevdf)
		update_min(s, cpu);
	return false;
}

static void q_add(struct sim *s, int cpu, int ti)
{
	struct cpu *c = &s->c[cpu];

	if (c->nq == c->capq) {
		int32_t cap = c->capq ? 2 * c->capq : 16, *n = realloc(c->q, cap * sizeof(*n));

		if (!n)
			abort(); /* the simulator cannot continue without its queues */
		c->q = n;
		c->capq = cap;
	}
	s->t[ti].qpos = c->nq;
	c->q[c->nq++] = ti;
	s->t[ti].state = TS_QUEUED;
}

static void q_del(struct sim *s, int cpu, int ti)
{
	struct cpu *c = &s->c[cpu];
	int pos = s->t[ti].qpos;

	c->q[pos] = c->q[--c->nq];
	s->t[c->q[pos]].qpos = pos;
	s->t[ti].qpos = -1;
}

int64_t rq_lag(const struct sim *s, int ti)
{
	const struct task *t = &s->t[ti];

	if (!s->p.eevdf)
		return t->v - s->c[t->cpu].min_v;
	{
		int64_t lag = rq_avg_vruntime(s, t->cpu) - t->v;
		int64_t lim = rq_task_slice(s, ti) * 2;

		if (lim < s->tick_ns)
			lim = s->tick_ns;
		lim = vdelta(lim, t->weight);
		return lag > lim ? lim : lag < -lim ? -lim : lag;
	}
}

/* Take a queued or running task off its CPU (sleep or migration), keeping its lag. */
void rq_dequeue(struct sim *s, int ti)
{
	struct task *t = &s->t[ti];
	struct cpu *c = &s->c[t->cpu];

	rq_update_curr(s, t->cpu);
	t->vlag = rq_lag(s, ti);
	if (c->curr == ti)
		c->curr = -1;
	else
		q_del(s, t->cpu, ti);
	c->load -= t->weight;
	t->state = TS_SLEEPING;
	update_min(s, t->cpu);
}

/* Place task ti on cpu (not running): wakeup, migration, or a new task (first). */
void rq_enqueue(struct sim *s, int ti, int cpu, bool wakeup, bool first)
{
	struct task *t = &s->t[ti];
	struct cpu *c = &s->c[cpu];
	int64_t vsl = vdelta(rq_task_slice(s, ti), t->weight);

	rq_update_curr(s, cpu);
	t->cpu = cpu;
	if (s->p.eevdf) {
		int64_t V = rq_avg_vruntime(s, cpu), lag = first ? 0 : t->vlag;

		if (c->load > 0)
			lag = (int64_t)((double)lag * (double)(c->load + t->weight) /
					(double)c->load);
		t->v = V - lag;
		t->deadline = t->v + (first ? vsl / 2 : vsl);
	} else {
		t->v = first ? c->min_v + vsl : c->min_v + t->vlag;
		if (wakeup && t->v < c->min_v - s->latency_ns / 2)
			t->v = c->min_v - s->latency_ns / 2;
	}
	q_add(s, cpu, ti);
	c->load += t->weight;
	update_min(s, cpu);
}

static bool eligible(const struct task *t, int64_t V)
{
	return t->v <= V;
}

/* Whom the pick rule chooses now (curr included), without switching. */
static int choose(struct sim *s, int cpu)
{
	struct cpu *c = &s->c[cpu];
	int best = -1;

	if (!s->p.eevdf) {
		if (c->curr >= 0)
			best = c->curr;
		for (int i = 0; i < c->nq; i++)
			if (best < 0 || s->t[c->q[i]].v < s->t[best].v)
				best = c->q[i];
		return best;
	}
	{
		int64_t V = rq_avg_vruntime(s, cpu);
		int minv = -1;

		if (c->curr >= 0 && c->protect && eligible(&s->t[c->curr], V))
			return c->curr; /* RUN_TO_PARITY: protected until its deadline */
		if (c->curr >= 0) {
			minv = c->curr;
			if (eligible(&s->t[c->curr], V))
				best = c->curr;
		}
		for (int i = 0; i < c->nq; i++) {
			const struct task *t = &s->t[c->q[i]];

			if (minv < 0 || t->v < s->t[minv].v)
				minv = c->q[i];
			if (eligible(t, V) && (best < 0 || t->deadline < s->t[best].deadline))
				best = c->q[i];
		}
		return best >= 0 ? best : minv;
	}
}

/* Whom a re-pick of cpu chooses (the current task loses its slice protection). */
int rq_choose(struct sim *s, int cpu)
{
	rq_update_curr(s, cpu);
	s->c[cpu].protect = false;
	return choose(s, cpu);
}

/* Make next (from rq_choose, or -1) current; the previous one stays queued. */
void rq_switch(struct sim *s, int cpu, int next)
{
	struct cpu *c = &s->c[cpu];
	int prev = c->curr;

	c->pick_ns = s->now;
	c->protect = s->p.eevdf && next >= 0;
	if (next == prev)
		return;
	if (prev >= 0)
		q_add(s, cpu, prev);
	if (next >= 0) {
		q_del(s, cpu, next);
		s->t[next].state = TS_RUNNING;
		s->t[next].exec_start = s->now;
		s->t[next].switches++;
	}
	c->curr = next;
}

static int64_t tick_after(const struct sim *s, int cpu, int64_t t)
{
	int64_t ph = s->c[cpu].tick_phase, k;

	if (s->p.hrtick)
		return t > s->now ? t : s->now + 1;
	if (t <= s->now)
		t = s->now + 1;
	k = (t - ph + s->tick_ns - 1) / s->tick_ns;
	return ph + k * s->tick_ns;
}

/* When the current task's turn ends by the pick rule (INT64_MAX: it is alone). */
int64_t rq_slice_end(const struct sim *s, int cpu)
{
	const struct cpu *c = &s->c[cpu];
	const struct task *t;

	if (c->curr < 0 || c->nq == 0)
		return INT64_MAX;
	t = &s->t[c->curr];
	if (s->p.eevdf && !c->protect)
		return tick_after(s, cpu, s->now + 1);
	if (s->p.eevdf) {
		int64_t left = (t->deadline - t->v) * t->weight / 1024 + 1;

		return tick_after(s, cpu, t->exec_start + (left > 0 ? left : 0));
	}
	{
		int nr = c->nq + 1;
		double period = nr <= s->latency_ns / s->min_gran_ns ? (double)s->latency_ns
								     : (double)nr * s->min_gran_ns;
		int64_t ideal = (int64_t)(period * (double)t->weight / (double)c->load);
		int64_t t1 = c->pick_ns + ideal, left = INT64_MAX, t2;

		for (int i = 0; i < c->nq; i++)
			if (s->t[c->q[i]].v < left)
				left = s->t[c->q[i]].v;
		t2 = t->exec_start + (left + ideal - t->v) * t->weight / 1024 + 1;
		if (t2 < c->pick_ns + s->min_gran_ns)
			t2 = c->pick_ns + s->min_gran_ns;
		return tick_after(s, cpu, t1 < t2 ? t1 : t2);
	}
}

/* At a tick of cpu: must the current task give the CPU up? */
bool rq_tick(struct sim *s, int cpu)
{
	struct cpu *c = &s->c[cpu];
	bool expired = rq_update_curr(s, cpu);

	if (c->curr < 0 || c->nq == 0)
		return false;
	if (s->p.eevdf)
		return expired || !c->protect;
	{
		const struct task *t = &s->t[c->curr];
		int nr = c->nq + 1;
		double period = nr <= s->latency_ns / s->min_gran_ns ? (double)s->latency_ns
								     : (double)nr * s->min_gran_ns;
		int64_t ideal = (int64_t)(period * (double)t->weight / (double)c->load),
			left = INT64_MAX;

		if (s->now - c->pick_ns >= ideal)
			return true;
		for (int i = 0; i < c->nq; i++)
			if (s->t[c->q[i]].v < left)
				left = s->t[c->q[i]].v;
		return s->now - c->pick_ns >= s->min_gran_ns && t->v - left > ideal;
	}
}

/* Does waking task ti (just queued on cpu) preempt the current one? */
bool rq_wakeup_preempt(struct sim *s, int cpu, int ti)
{
	struct cpu *c = &s->c[cpu];
	struct task *curr;

	if (c->curr < 0)
		return true;
	rq_update_curr(s, cpu);
	curr = &s->t[c->curr];
	if (!s->p.eevdf)
		return curr->v - s->t[ti].v > vdelta(s->wakeup_gran_ns, s->t[ti].weight);
	if (rq_task_slice(s, ti) < rq_task_slice(s, c->curr) &&
	    eligible(&s->t[ti], rq_avg_vruntime(s, cpu)))
		c->protect = false; /* PREEMPT_SHORT */
	return choose(s, cpu) == ti;
}

void rq_reweight(struct sim *s, int ti, int64_t w)
{
	struct task *t = &s->t[ti];
	int64_t old = t->weight;

	if (w < 2)
		w = 2;
	if (w == old)
		return;
	if (t->state == TS_SLEEPING) {
		if (s->p.eevdf)
			t->vlag = (int64_t)((double)t->vlag * (double)old / (double)w);
		t->weight = w;
		return;
	}
	rq_update_curr(s, t->cpu);
	if (s->p.eevdf) {
		int64_t V = rq_avg_vruntime(s, t->cpu);
		double lag = (double)(V - t->v) * (double)old / (double)w;
		double vdl = (double)(t->deadline - t->v) * (double)old / (double)w;

		t->v = V - (int64_t)lag;
		t->deadline = t->v + (int64_t)vdl;
	}
	s->c[t->cpu].load += w - old;
	t->weight = w;
	update_min(s, t->cpu);
}

/* sched_setattr custom slice: the task is re-placed, keeping its lag, with a new deadline. */
void rq_set_slice(struct sim *s, int ti, int64_t slice)
{
	struct task *t = &s->t[ti];

	t->slice = slice;
	if (t->state == TS_SLEEPING || !s->p.eevdf)
		return;
	rq_update_curr(s, t->cpu);
	t->deadline = t->v + vdelta(rq_task_slice(s, ti), t->weight);
	if (s->c[t->cpu].curr == ti)
		s->c[t->cpu].protect = true; /* set_next_entity protects the new slice */
}

/* The kernel patch's loan: move ti by ns of service (positive: back, later). */
void rq_shift(struct sim *s, int ti, int64_t ns)
{
	struct task *t = &s->t[ti];
	int64_t d = vdelta(ns, t->weight);

	if (t->state == TS_SLEEPING) {
		t->vlag -= d;
		return;
	}
	rq_update_curr(s, t->cpu);
	t->v += d;
	t->deadline += d;
	if (s->c[t->cpu].curr == ti)
		s->c[t->cpu].protect = false;
	update_min(s, t->cpu);
}
