/* SPDX-License-Identifier: MIT */
/*
 * Guest stalls (issue 14): a vCPU that stays runnable on its run queue but gets (almost)
 * no CPU while a sibling runs. Anti-stacked guests whose threads share a cpu cgroup fall
 * into it on EEVDF hosts (bench/STALLS.md): on each CPU one VM's group entity runs and the
 * other's sits behind it for seconds, so each VM runs on one vCPU while the starved one
 * holds the guest's lock. Seen from the host only, without the guest: the dump lists the
 * vCPU in state R at successive samples and its sum-exec does not move.
 *
 * sbco_stall_update() is the detector (pure: snapshot + previous tracks + time);
 * sbco_stall_step() the per-VM response: first rotate the VM's stripes (its vCPUs trade
 * CPUs, still apart; the migrations re-enqueue the trapped group entities), and when
 * rotations do not keep it out, a back-off: lift anti-stacking of the VM (its vCPUs get
 * their original CPUs), hold it lifted for hold_ns, then place it again; a stall soon
 * after placing lifts it at once (no rotations: they did not keep it out) and doubles
 * the hold, up to hold_max_ns. A VM not under anti-stacking (mode off) keeps its hold
 * until it is again, so a VM that traps whenever placed is not placed anew for nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sbco.h"

void sbco_stall_cfg_default(struct sbco_stall_cfg *c)
{
	*c = (struct sbco_stall_cfg){
	    .starve_frac = 0.05,
	    .sibling_share = 0.5,
	    .detect_ns = 1000000000ull,
	    .hold_ns = 10000000000ull,
	    .hold_max_ns = 160000000000ull,
	    .rotations = 3,
	    .isolate = true,
	};
}

void sbco_stall_tracker_clear(struct sbco_stall_tracker *t)
{
	free(t->v);
	*t = (struct sbco_stall_tracker){0};
}

static int by_tid(const void *a, const void *b)
{
	const struct sbco_stall_vcpu *x = a, *y = b;

	return (x->tid > y->tid) - (x->tid < y->tid);
}

static const struct sbco_stall_vcpu *find(const struct sbco_stall_tracker *t, int32_t tid)
{
	struct sbco_stall_vcpu key = {.tid = tid};

	return t->n ? bsearch(&key, t->v, t->n, sizeof(key), by_tid) : NULL;
}

/* One vCPU's new track from its row in this snapshot and its previous track. */
static void track(struct sbco_stall_vcpu *n, const struct sbco_stall_vcpu *p,
		  const struct sbco_task *row, const struct sbco_stall_cfg *cfg, uint64_t now)
{
	n->tid = row->pid;
	n->at_ns = now;
	n->exec_ns = row->sum_exec_ns;
	/* state R: queued on its run queue (running or waiting); without a state column
	 * (kernels before 4.14) or sum-exec nothing can be told */
	n->runnable =
	    (row->have & SBCO_HAVE_STATE) && (row->have & SBCO_HAVE_SUM_EXEC) && row->state == 'R';
	n->starve_since_ns = 0;
	n->share = -1;
	if (!p || now <= p->at_ns)
		return;
	{ /* CPU share, averaged over about a second */
		double dt = (double)(now - p->at_ns), x = (double)(n->exec_ns - p->exec_ns) / dt;
		double a = dt / 1e9 < 1 ? dt / 1e9 : 1;

		x = x < 0 ? 0 : x > 1 ? 1 : x;
		n->share = p->share >= 0 ? p->share + a * (x - p->share) : x;
		if (!n->runnable || !p->runnable || row->current)
			return;
		if (x < cfg->starve_frac)
			n->starve_since_ns = p->starve_since_ns ? p->starve_since_ns : p->at_ns;
	}
}

int sbco_stall_update(struct sbco_stall_tracker *t, const struct sbco_snapshot *s,
		      const struct sbco_vm_set *set, const struct sbco_stall_cfg *cfg,
		      uint64_t now_ns, struct sbco_stall_vm *ret)
{
	size_t n = 0, cap = 0;
	struct sbco_stall_vcpu *nv;

	for (size_t i = 0; i < set->nr_vms; i++)
		cap += set->vms[i].nr_vcpus;
	nv = calloc(cap + 1, sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	for (size_t i = 0; i < set->nr_vms; i++) {
		const struct sbco_vm_stat *vm = &set->vms[i];
		struct sbco_stall_vm *r = &ret[i];
		size_t first = n;
		bool progress = false;

		*r = (struct sbco_stall_vm){.tid = 0, .index = -1};
		for (size_t k = 0; k < vm->nr_vcpus; k++) {
			const struct sbco_task *row = &s->tasks[vm->vcpus[k].task];

			track(&nv[n], find(t, row->pid), row, cfg, now_ns);
			if (nv[n].starve_since_ns &&
			    now_ns - nv[n].starve_since_ns >= cfg->detect_ns &&
			    now_ns - nv[n].starve_since_ns > r->starving_ns) {
				r->starving_ns = now_ns - nv[n].starve_since_ns;
				r->tid = row->pid;
				r->index = vm->vcpus[k].index;
			}
			n++;
		}
		/* a stall of the guest: one vCPU starved while a sibling runs most of the time
		 * (every vCPU starved, or all getting little, is an overloaded host, which
		 * anti-stacking does not cause and lifting it does not end) */
		for (size_t k = first; k < n; k++)
			progress |= nv[k].tid != r->tid && nv[k].share >= cfg->sibling_share;
		r->stalled = r->tid > 0 && progress;
	}
	qsort(nv, n, sizeof(*nv), by_tid);
	free(t->v);
	t->v = nv;
	t->n = n;
	return 0;
}

enum sbco_stall_step sbco_stall_step(struct sbco_stall_hold *h, bool stalled, bool placed,
				     const struct sbco_stall_cfg *cfg, uint64_t now_ns)
{
	bool was = h->stalled, again;

	if (h->last_ns && h->stalled && stalled && now_ns > h->last_ns)
		h->stalled_ns += now_ns - h->last_ns;
	if (stalled && !h->stalled)
		h->stalls++;
	h->stalled = stalled;
	h->last_ns = now_ns;
	if (h->lifted) { /* the hold ends only when the VM can be placed at once: while
			  * it is not (mode off), it stays lifted and its back-off stands */
		if (now_ns < h->until_ns || !placed)
			return SBCO_STALL_NONE;
		h->lifted = false;
		h->placed_ns = now_ns;
		return SBCO_STALL_PLACE;
	}
	if (!stalled || !placed)
		return SBCO_STALL_NONE;
	/* trapped again within two holds of being placed after a lift: rotations did not
	 * keep it out before, so lift at once, for twice as long */
	again = h->hold_ns && h->placed_ns && now_ns - h->placed_ns < 2 * h->hold_ns;
	if (cfg->rotations && !again) {
		bool recent = h->rotated_ns && now_ns - h->rotated_ns < cfg->hold_ns;

		/* the last rotation gets detect_ns to end the stall it answered */
		if (was && recent && now_ns - h->rotated_ns < cfg->detect_ns)
			return SBCO_STALL_NONE;
		h->streak = recent ? h->streak + 1 : 1;
		if (h->streak <= cfg->rotations) {
			h->rotated_ns = now_ns;
			h->rotations++;
			return SBCO_STALL_ROTATE;
		}
	}
	h->streak = 0;
	if (again)
		h->hold_ns = h->hold_ns * 2 < cfg->hold_max_ns ? h->hold_ns * 2 : cfg->hold_max_ns;
	else
		h->hold_ns = cfg->hold_ns;
	h->lifted = true;
	h->lifts++;
	h->until_ns = now_ns + h->hold_ns;
	return SBCO_STALL_LIFT;
}
