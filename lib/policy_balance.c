/* SPDX-License-Identifier: MIT */
/*
 * Distance balancing (the paper's SCHED_BALANCE, Algorithm 1) for a userspace daemon, and
 * the lending ledger that keeps it fair. Deterministic: the snapshot, the distance
 * analysis, the config, the ledger and the time go in; actions come out and the ledger is
 * advanced as if they succeed. See sbco_policy_balance() in sbco.h.
 *
 * Why the levers differ: a custom slice (EEVDF) changes when a vCPU is picked, not how
 * much CPU it gets, so taking it back is enough. Weight and nice change the share; every
 * unit of extra weight a laggard held is paid back by holding it under its original
 * weight for as long (the balance integral), so over any window the VM gets what the
 * default scheduler would give it.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sbco.h"
#include "util.h"

void sbco_balance_cfg_default(struct sbco_balance_cfg *cfg)
{
	*cfg = (struct sbco_balance_cfg){
	    .lever = SBCO_LEVER_AUTO,
	    .boost_slice_ns = 100000,
	    .hold_slice_ns = 3000000,
	    .weight_factor = 0.5,
	    .nice_step = 2,
	    .dirty_timeout_ns = 200000000,
	    .max_loan_ns = 1000000000,
	    .max_kernel_loan_ns = 20000000,
	    .kernel_pick_lend = true,
	};
}

enum sbco_lever sbco_lever_resolve(enum sbco_lever want, int major, int minor, bool own_cgroups,
				   bool kpatch)
{
	if (want != SBCO_LEVER_AUTO)
		return want;
	if (kpatch)
		return SBCO_LEVER_KERNEL;
	/* sched_attr::sched_runtime as a custom slice: 857b158dc5e8, Linux 6.12 */
	if (major == 0 || major > 6 || (major == 6 && minor >= 12))
		return SBCO_LEVER_SLICE;
	return own_cgroups ? SBCO_LEVER_WEIGHT : SBCO_LEVER_NICE;
}

void sbco_ledger_clear(struct sbco_ledger *l)
{
	free(l->e);
	memset(l, 0, sizeof(*l));
}

struct sbco_ledger_entry *sbco_ledger_find(struct sbco_ledger *l, int32_t tid)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->e[i].tid == tid)
			return &l->e[i];
	return NULL;
}

static struct sbco_ledger_entry *ledger_get(struct sbco_ledger *l, int32_t tid,
					    enum sbco_lever lever, sbco_original_fn fn, void *ud,
					    uint64_t now)
{
	struct sbco_ledger_entry *e = sbco_ledger_find(l, tid);

	if (e)
		return e;
	if (sbco_grow((void **)&l->e, &l->cap, l->n + 1, sizeof(*l->e)) < 0)
		return NULL;
	e = &l->e[l->n++];
	*e = (struct sbco_ledger_entry){.tid = tid, .lever = lever, .updated_ns = now};
	/* a kernel loan starts from nothing owed; the other levers from the thread's value */
	e->original = fn && lever != SBCO_LEVER_KERNEL ? fn(ud, tid, lever) : 0;
	e->current = e->original;
	return e;
}

struct plan {
	struct sbco_action *a;
	size_t n, cap;
};

static int emit(struct plan *p, struct sbco_ledger_entry *e, int64_t value, int why, uint64_t now)
{
	if (sbco_grow((void **)&p->a, &p->cap, p->n + 1, sizeof(*p->a)) < 0)
		return -ENOMEM;
	p->a[p->n++] =
	    (struct sbco_action){.tid = e->tid, .lever = e->lever, .value = value, .why = why};
	e->current = value;
	e->since_ns = now;
	e->dirty = true;
	return 0;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

/* The snapshot's tasks by tid: (tid, index) pairs sorted by tid, so that a ledger of
 * thousands of entries is not matched against thousands of tasks one by one. */
struct task_index {
	int32_t tid;
	uint32_t i;
};

static struct task_index *index_tasks(const struct sbco_snapshot *s)
{
	struct task_index *x = malloc((s->nr_tasks + 1) * sizeof(*x));

	if (!x)
		return NULL;
	for (size_t i = 0; i < s->nr_tasks; i++)
		x[i] = (struct task_index){s->tasks[i].pid, (uint32_t)i};
	qsort(x, s->nr_tasks, sizeof(*x), cmp_i32); /* tid is the first member */
	return x;
}

static const struct sbco_task *task_of(const struct sbco_snapshot *s, const struct task_index *x,
				       int32_t tid)
{
	const struct task_index *hit;

	if (!x) { /* no memory for the index: the slow way */
		for (size_t i = 0; i < s->nr_tasks; i++)
			if (s->tasks[i].pid == tid)
				return &s->tasks[i];
		return NULL;
	}
	hit = bsearch(&tid, x, s->nr_tasks, sizeof(*x), cmp_i32);
	return hit ? &s->tasks[hit->i] : NULL;
}

/* Does the snapshot show the entry's current value in force? */
static bool in_force(const struct sbco_task *t, const struct sbco_ledger_entry *e)
{
	if (e->lever == SBCO_LEVER_KERNEL)
		return true; /* applied at the next pick: any later snapshot has it */
	if (!t)
		return false;
	switch (e->lever) {
	case SBCO_LEVER_SLICE:
		if (e->current == 0)
			return !t->custom_slice;
		/* the kernel clamps custom slices to [0.1 ms, 100 ms] */
		return t->custom_slice && t->slice_ns == (e->current < 100000	   ? 100000
							  : e->current > 100000000 ? 100000000
										   : e->current);
	case SBCO_LEVER_NICE:
		return t->prio == 120 + e->current;
	case SBCO_LEVER_KERNEL:
	case SBCO_LEVER_WEIGHT:
	case SBCO_LEVER_AUTO:
		return false; /* not printed per task: the timeout decides */
	}
	return false;
}

/* The value a nudge of direction dir (+1 boost, -1 hold back) gives for entry e. */
static int64_t nudged(const struct sbco_balance_cfg *c, const struct sbco_ledger_entry *e, int dir)
{
	switch (e->lever) {
	case SBCO_LEVER_SLICE:
		return dir > 0 ? c->boost_slice_ns : c->hold_slice_ns;
	case SBCO_LEVER_WEIGHT:
		return (int64_t)llround((double)e->original * (1.0 + dir * c->weight_factor));
	case SBCO_LEVER_NICE: {
		int64_t v = e->original - dir * c->nice_step;

		return v < -20 ? -20 : v > 19 ? 19 : v;
	}
	case SBCO_LEVER_AUTO:
	case SBCO_LEVER_KERNEL:
		break;
	}
	return e->original;
}

static void account(const struct sbco_snapshot *s, const struct sbco_balance_cfg *c,
		    struct sbco_ledger *l, uint64_t now)
{
	struct task_index *x = NULL;

	for (size_t i = 0; i < l->n && !x; i++)
		if (l->e[i].dirty)
			x = index_tasks(s);
	for (size_t i = 0; i < l->n; i++) {
		struct sbco_ledger_entry *e = &l->e[i];

		if (e->lever == SBCO_LEVER_KERNEL)
			e->balance = (double)e->current; /* the debt is the loan itself, in ns */
		else if (e->lever != SBCO_LEVER_SLICE)
			e->balance += (double)(e->current - e->original) *
				      (double)(now - e->updated_ns) / 1e9;
		e->updated_ns = now;
		if (e->dirty && (now > e->since_ns || e->lever != SBCO_LEVER_KERNEL) &&
		    (in_force(task_of(s, x, e->tid), e) ||
		     now - e->since_ns >= c->dirty_timeout_ns))
			e->dirty = false;
	}
	free(x);
}

static bool exceeds(const struct sbco_vm_stat *vm, double alpha)
{
	return vm->nr_runnable >= 2 && vm->nr_queues >= 2 && vm->q_size > 0 && vm->leader >= 0 &&
	       vm->laggard >= 0 && vm->distance >= alpha * vm->q_size;
}

static int emit_loan(struct plan *p, struct sbco_ledger_entry *from, struct sbco_ledger_entry *to,
		     int64_t ns, int why, uint64_t now)
{
	if (sbco_grow((void **)&p->a, &p->cap, p->n + 1, sizeof(*p->a)) < 0)
		return -ENOMEM;
	p->a[p->n++] = (struct sbco_action){
	    .tid = from->tid, .lever = SBCO_LEVER_KERNEL, .value = ns, .why = why, .peer = to->tid};
	from->current -= ns;
	to->current += ns;
	from->peer = to->tid;
	to->peer = from->tid;
	from->since_ns = to->since_ns = now;
	from->dirty = to->dirty = true;
	return 0;
}

/* The kernel lever: the leader lends the laggard half the distance (in estimated wait),
 * so both move toward the middle, as in the paper's SCHED_BALANCE. */
static int lend_kernel(struct plan *p, const struct sbco_vm_stat *vm, int64_t slot_ns,
		       const struct sbco_balance_cfg *c, struct sbco_ledger_entry *laggard,
		       struct sbco_ledger_entry *leader, uint64_t now)
{
	/* in positions x what a position really costs when that is known (ticks), else in
	 * the model's estimated waits */
	int64_t ns = slot_ns > 0 ? vm->distance * slot_ns / 2 : vm->distance_ns / 2;

	if (ns < 100000)
		ns = 100000; /* a distance in positions with equal waits: one short slice */
	if (ns > c->max_kernel_loan_ns)
		ns = c->max_kernel_loan_ns;
	laggard->repaying = leader->repaying = false;
	return emit_loan(p, leader, laggard, ns, SBCO_WHY_BOOST, now);
}

/* Boost laggard and hold back leader of one exceeding VM; marks both touched. */
static int lend(struct plan *p, const struct sbco_vm_stat *vm, int64_t slot_ns,
		const struct sbco_balance_cfg *c, sbco_original_fn fn, void *ud,
		struct sbco_ledger *l, uint64_t now, int32_t *touched, size_t *nr_touched)
{
	int32_t tids[2] = {vm->vcpus[vm->laggard].tid, vm->vcpus[vm->leader].tid};
	struct sbco_ledger_entry *e[2];

	for (int k = 0; k < 2; k++) {
		e[k] = ledger_get(l, tids[k], c->lever, fn, ud, now);
		if (!e[k])
			return -ENOMEM;
		touched[(*nr_touched)++] = tids[k];
	}
	if (e[0]->dirty || e[1]->dirty)
		return 0; /* no vCPU is adjusted twice in one round */
	if (c->lever == SBCO_LEVER_KERNEL)
		return lend_kernel(p, vm, slot_ns, c, e[0], e[1], now);
	for (int k = 0; k < 2; k++) {
		bool nudged_now = e[k]->current != e[k]->original;

		if (nudged_now && now - e[k]->since_ns >= c->max_loan_ns)
			return 0; /* loan term over: repayment first */
	}
	for (int k = 0; k < 2; k++) {
		int64_t v = nudged(c, e[k], k == 0 ? +1 : -1);

		e[k]->repaying = false;
		if (v != e[k]->current &&
		    emit(p, e[k], v, k == 0 ? SBCO_WHY_BOOST : SBCO_WHY_HOLD, now) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Take a loan back: invert weight/nice nudges until the balance is even, then restore.
 * A repayment that overshoots zero within one cycle ends there: the residual, at most one
 * sampling period's worth of the nudge, is forgiven rather than chased back and forth. */
static int repay(struct plan *p, const struct sbco_balance_cfg *c, struct sbco_ledger_entry *e,
		 struct sbco_ledger *l, uint64_t now)
{
	if (e->lever == SBCO_LEVER_KERNEL) { /* the borrower lends back to its lender */
		struct sbco_ledger_entry *peer = sbco_ledger_find(l, e->peer);
		int64_t ns;

		if (e->dirty || e->current <= 0)
			return 0;
		if (!peer || peer->lever != SBCO_LEVER_KERNEL || peer->current >= 0) {
			e->current = 0; /* the lender is gone: nothing to pay back to */
			return 0;
		}
		if (peer->dirty)
			return 0;
		ns = e->current < -peer->current ? e->current : -peer->current;
		if (ns > 100000000)
			ns = 100000000;
		e->repaying = peer->repaying = true;
		return emit_loan(p, e, peer, ns, SBCO_WHY_REPAY, now);
	}
	double eps = e->lever == SBCO_LEVER_WEIGHT ? fabs((double)e->original) * 0.005 : 0.005;
	int64_t want = e->original;
	bool repaying = false;

	if (e->dirty)
		return 0;
	if (e->lever != SBCO_LEVER_SLICE && fabs(e->balance) > eps) {
		bool overshot = e->repaying && (e->current - e->original) * e->balance > 0;

		if (overshot) {
			e->balance = 0;
		} else {
			want = nudged(c, e, e->balance > 0 ? -1 : +1);
			repaying = true;
		}
	} else if (e->lever != SBCO_LEVER_SLICE) {
		e->balance = 0;
	}
	e->repaying = repaying;
	if (want == e->current)
		return 0;
	return emit(p, e, want, want == e->original ? SBCO_WHY_RESTORE : SBCO_WHY_REPAY, now);
}

int sbco_policy_balance(const struct sbco_snapshot *snap, const struct sbco_vm_set *dist,
			const enum sbco_mode *mode, const double *alpha,
			const struct sbco_balance_cfg *cfg, sbco_original_fn original, void *ud,
			struct sbco_ledger *ledger, uint64_t now_ns, struct sbco_action **ret)
{
	struct plan p = {0};
	struct sbco_balance_cfg c = *cfg;
	int32_t *touched;
	size_t nr_touched = 0;
	int r = 0;

	/* callers that know more (own cgroups) resolve AUTO themselves, as the engine does */
	c.lever = sbco_lever_resolve(c.lever, snap->kernel_major, snap->kernel_minor, false, false);
	cfg = &c;
	touched = malloc((2 * dist->nr_vms + 1) * sizeof(*touched));
	if (!touched)
		return -ENOMEM;
	account(snap, cfg, ledger, now_ns);
	for (size_t i = 0; i < dist->nr_vms && r == 0; i++)
		if (mode[i] == SBCO_MODE_SBCO && exceeds(&dist->vms[i], alpha[i]))
			r = lend(&p, &dist->vms[i], dist->slot_ns, cfg, original, ud, ledger,
				 now_ns, touched, &nr_touched);
	qsort(touched, nr_touched, sizeof(*touched), cmp_i32);
	for (size_t i = 0; i < ledger->n && r == 0; i++) {
		struct sbco_ledger_entry *e = &ledger->e[i];
		bool busy = bsearch(&e->tid, touched, nr_touched, sizeof(*touched), cmp_i32);

		if (busy && now_ns - e->since_ns < cfg->max_loan_ns)
			continue;
		if (e->current != e->original || fabs(e->balance) > 0)
			r = repay(&p, cfg, e, ledger, now_ns);
	}
	free(touched);
	if (r < 0) {
		free(p.a);
		return r;
	}
	*ret = p.a;
	return (int)p.n;
}
