/* SPDX-License-Identifier: MIT */
/*
 * The VMs' work as a fluid model, evaluated only when one of a VM's vCPUs starts or stops
 * running (never per lock operation, which is what makes 2,000 vCPUs cheap):
 *   lock     lhpvm -work lock: every operation holds the VM's spin lock hold_ns, then works
 *            work_ns outside it. With m vCPUs of the VM running and the lock free, the lock
 *            is a single server with m closed-loop clients: throughput X(m) = (1 - p0) / h of
 *            the finite-source queue (machine-repairman model, exponential times, so that
 *            contention spinning appears at all); each running vCPU spins the share of its
 *            time not spent in its own holds and work.
 *   LHP      a vCPU switched out while runnable held the lock with probability X(m) h / m
 *            (the share of its time inside the critical section); until it runs again, the
 *            lock is held by a preempted vCPU and every running sibling only spins.
 *   barrier  lhpvm -work barrier: in addition a spin barrier of all vCPUs every `every`
 *            operations; a vCPU at the barrier spins until its last sibling arrives.
 *   hog      lhpvm -work hog: computes, no lock (disturbing VMs, SPECjbb-like).
 * It also keeps the co-run time: time during which a VM had >= 2 runnable vCPUs, and of
 * that, time during which all of them ran at once.
 */
#include <math.h>
#include <stdlib.h>

#include "sim.h"

void wl_init(struct sim *s)
{
	double h = (double)s->p.hold_ns, w = (double)s->p.work_ns;

	s->lock_x[0] = 0;
	for (int m = 1; m <= 256; m++) {
		double term = 1, sum = 1;

		if (w <= 0) {
			s->lock_x[m] = 1 / h;
			continue;
		}
		for (int n = 1; n <= m && sum < 1e200; n++) {
			term *= (double)(m - n + 1) * h / w;
			sum += term;
		}
		s->lock_x[m] = (1 - 1 / sum) / h;
	}
}

static double xrate(const struct sim *s, int m)
{
	return s->lock_x[m > 256 ? 256 : m];
}

static bool running(const struct sim *s, const struct vm *v, int k)
{
	return s->t[v->first_task + k].state == TS_RUNNING;
}

static bool waiting(const struct vm *v, int k)
{
	return v->ops[k] >= v->barrier - 1e-9;
}

/* Lock / barrier VM over [last, now] with its vCPUs' states unchanged in between. */
static void advance_lock(struct sim *s, struct vm *v, double dt)
{
	double hw = (double)(s->p.hold_ns + s->p.work_ns);
	int k = v->nr_vcpus;

	for (int guard = 0; dt > 0 && guard < 100000; guard++) {
		int nrun = 0, m = 0;
		double r, step, hit = INFINITY;

		for (int i = 0; i < k; i++)
			if (running(s, v, i)) {
				nrun++;
				m += !waiting(v, i);
			}
		if (nrun == 0)
			return;
		if (v->lock_owner >= 0 || m == 0) {
			bool all = m == 0 && v->lock_owner < 0;

			for (int i = 0; i < k && all; i++)
				all = waiting(v, i);
			if (all) { /* the last one arrived: everybody goes on */
				v->barrier += s->p.every;
				continue;
			}
			if (s->measuring)
				v->spin_ns += nrun * dt;
			return;
		}
		r = xrate(s, m) / m; /* ops per ns of each active vCPU */
		for (int i = 0; i < k; i++)
			if (running(s, v, i) && !waiting(v, i))
				hit = fmin(hit, (v->barrier - v->ops[i]) / r);
		step = fmin(hit, dt);
		for (int i = 0; i < k; i++) {
			if (!running(s, v, i))
				continue;
			if (waiting(v, i)) {
				if (s->measuring)
					v->spin_ns += step;
				continue;
			}
			v->ops[i] += r * step;
			if (s->measuring) {
				v->spin_ns += step * fmax(0, 1 - r * hw);
				v->total_ops += r * step;
			}
		}
		dt -= step;
		if (step >= hit)
			for (int i = 0; i < k; i++)
				if (running(s, v, i) && v->barrier - v->ops[i] < 1e-6)
					v->ops[i] = v->barrier;
	}
}

void wl_advance(struct sim *s, int vi)
{
	struct vm *v = &s->vm[vi];
	double dt = (double)(s->now - v->last_ns);

	if (dt <= 0)
		return;
	if (s->measuring) {
		if (v->nr_runnable >= 2) {
			v->busy2_ns += (int64_t)dt;
			if (v->nr_running == v->nr_runnable)
				v->corun_ns += (int64_t)dt;
		}
		v->run_ns += v->nr_running * dt;
	}
	if (v->work == WORK_HOG) {
		if (s->measuring)
			v->total_ops += v->nr_running * dt / (double)(s->p.hold_ns + s->p.work_ns);
	} else {
		advance_lock(s, v, dt);
	}
	v->last_ns = s->now;
}

void wl_switch_in(struct sim *s, int ti)
{
	struct task *t = &s->t[ti];
	struct vm *v;

	if (t->vm < 0)
		return;
	v = &s->vm[t->vm];
	wl_advance(s, t->vm);
	if (v->lock_owner == t->vcpu)
		v->lock_owner = -1; /* it finishes its critical section (~hold / 2: ignored) */
	v->nr_running++;
}

void wl_switch_out(struct sim *s, int ti, bool runnable)
{
	struct task *t = &s->t[ti];
	struct vm *v;

	if (t->vm < 0)
		return;
	v = &s->vm[t->vm];
	wl_advance(s, t->vm);
	v->nr_running--;
	if (runnable) {
		t->nivcsw++;
		if (s->measuring)
			v->nivcsw++;
	}
	if (runnable && v->work != WORK_HOG && v->lock_owner < 0 && !waiting(v, t->vcpu)) {
		int m = 1; /* this vCPU and its running, active siblings */

		for (int i = 0; i < v->nr_vcpus; i++)
			m += i != t->vcpu && running(s, v, i) && !waiting(v, i);
		if (sim_uniform(s) < xrate(s, m) * (double)s->p.hold_ns / m) {
			v->lock_owner = t->vcpu;
			if (s->measuring)
				v->lhp++;
		}
	}
}

void wl_runnable_change(struct sim *s, int ti, int delta)
{
	struct task *t = &s->t[ti];

	if (t->vm < 0)
		return;
	wl_advance(s, t->vm);
	s->vm[t->vm].nr_runnable += delta;
}
