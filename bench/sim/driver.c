/* SPDX-License-Identifier: MIT */
/*
 * The simulator's sbcod: what the daemon does each cycle, with the same libsbco calls and
 * nothing of its own. The host's state is written into a struct sbco_snapshot (what
 * sbco_dump_parse() would return for the scheduler dump: per CPU the current task and the
 * runnable tasks with vruntime, E/N, deadline, slice, prio, sum-exec, switches; vCPU threads
 * named "CPU N/KVM"), then sbco_ordinates_compute(), sbco_vms_analyze() (VMs by process, as
 * on a live host), the per-VM stacking / threshold counts (as the engine's count()), and for
 * mode sbco sbco_policy_balance() with the run's lever and the ledger kept across cycles.
 * Its actions are applied to the simulated tasks: custom slice, weight, nice, or the
 * kernel patch's loan. Modes bal and sbco start with sbco_policy_stripes() placements.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

struct driver {
	struct sbco_patterns pat;
	struct sbco_snapshot snap;
	char (*comm)[16];
	int32_t *fill;
	int64_t *V;
	struct sbco_ledger ledger;
	struct sbco_balance_cfg cfg;
	enum sbco_mode *mode;
	double *alpha;
	int32_t *vm_of_tgid; /* sim VM index by tgid - TGID0 */
};

#define TID0  1000
#define TGID0 100000

static const int nice_weight[40] = {
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904,
    3906,  3121,  2501,	 1991,	1586,  1277,  1024,  820,   655,   526,	  423,	335,  272,  215,
    172,   137,	  110,	 87,	70,    56,    45,    36,    29,	   23,	  18,	15,
};

static int64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: the host is shared */
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int task_of_tid(const struct sim *s, int32_t tid)
{
	int i = tid - TID0;

	return i >= 0 && i < s->nr_tasks ? i : -1;
}

static int tgid_fn(void *ud, int32_t tid)
{
	const struct sim *s = ud;
	int i = task_of_tid(s, tid);

	return i < 0 ? -ESRCH : s->t[i].tgid;
}

static int64_t original(void *ud, int32_t tid, enum sbco_lever lever)
{
	const struct sim *s = ud;
	int i = task_of_tid(s, tid);

	if (i < 0)
		return 0;
	switch (lever) {
	case SBCO_LEVER_SLICE:
		return s->t[i].slice;
	case SBCO_LEVER_NICE:
		return s->t[i].nice;
	case SBCO_LEVER_WEIGHT:
		return s->t[i].base_weight;
	case SBCO_LEVER_AUTO:
	case SBCO_LEVER_KERNEL:
		break;
	}
	return 0;
}

static bool listed(const struct task *t)
{
	return t->state != TS_SLEEPING || t->kind == TASK_VCPU;
}

/* Rank of each runnable task in its queue's deadline (EEVDF) / vruntime order, as the
 * kernel patch prints it ("ord="): the current task 0, the queued ones from 1. */
static void exact_ords(struct sim *s, const struct cpu *c, struct sbco_task *rows, uint32_t n)
{
	for (uint32_t a = 0; a < n; a++) {
		struct sbco_task *x = &rows[a];
		const struct task *tx = &s->t[task_of_tid(s, x->pid)];
		int32_t rank = 0;

		x->have |= SBCO_HAVE_EXACT_ORD;
		x->exact_ord = -1;
		if (tx->state == TS_SLEEPING)
			continue;
		if (c->curr >= 0 && &s->t[c->curr] == tx) {
			x->exact_ord = 0;
			continue;
		}
		for (int i = 0; i < c->nq; i++) {
			const struct task *u = &s->t[c->q[i]];
			int64_t ku = s->p.eevdf ? u->deadline : u->v,
				kx = s->p.eevdf ? tx->deadline : tx->v;

			rank += ku < kx || (ku == kx && u->tid < tx->tid);
		}
		x->exact_ord = rank + (c->curr >= 0);
	}
}

static void fill_row(struct sim *s, int ti, int64_t V, struct sbco_task *r)
{
	const struct task *t = &s->t[ti];

	*r = (struct sbco_task){
	    .comm = s->drv->comm[ti],
	    .group_path = "",
	    .pid = t->tid,
	    .cpu = (uint32_t)t->cpu,
	    .have = SBCO_HAVE_STATE | SBCO_HAVE_SUM_EXEC |
		    (s->p.eevdf ? SBCO_HAVE_ELIGIBLE | SBCO_HAVE_DEADLINE | SBCO_HAVE_SLICE : 0),
	    .state = t->state == TS_SLEEPING ? 'S' : 'R',
	    .current = t->state == TS_RUNNING,
	    .eligible = t->v <= V,
	    .custom_slice = t->slice != 0,
	    .prio = 120 + t->nice,
	    .switches = t->switches,
	    .vruntime_ns = t->v,
	    .deadline_ns = t->deadline,
	    .slice_ns = rq_task_slice(s, ti),
	    .sum_exec_ns = t->sum_exec,
	    .exact_ord = -1,
	};
}

/* The host as sbco_dump_parse() would give it. */
static void build_snapshot(struct sim *s)
{
	struct driver *d = s->drv;
	struct sbco_snapshot *sn = &d->snap;
	uint32_t n = 0;

	for (int c = 0; c < (int)s->p.nr_cpus; c++)
		rq_update_curr(s, c);
	memset(d->fill, 0, (s->p.nr_cpus + 1) * sizeof(*d->fill));
	for (int i = 0; i < s->nr_tasks; i++)
		if (listed(&s->t[i]))
			d->fill[s->t[i].cpu + 1]++;
	for (uint32_t c = 0; c < s->p.nr_cpus; c++) {
		struct sbco_cpu *sc = &sn->cpus[c];

		d->fill[c + 1] += d->fill[c];
		*sc = (struct sbco_cpu){
		    .id = (int32_t)c,
		    .have = SBCO_CPU_NR_RUNNING | SBCO_CPU_CURR_PID | SBCO_CPU_CLOCK,
		    .nr_running = (uint64_t)rq_nr(s, (int)c),
		    .curr_pid = s->c[c].curr >= 0 ? s->t[s->c[c].curr].tid : 0,
		    .clock_ns = s->now,
		    .first_task = (uint32_t)d->fill[c],
		    .layout = s->p.eevdf ? SBCO_LAYOUT_EEVDF : SBCO_LAYOUT_CFS_WAIT,
		    .has_table = true,
		};
	}
	for (uint32_t c = 0; c < s->p.nr_cpus; c++)
		d->V[c] = s->p.eevdf ? rq_avg_vruntime(s, (int)c) : INT64_MAX;
	for (int i = 0; i < s->nr_tasks; i++) {
		const struct task *t = &s->t[i];

		if (!listed(t))
			continue;
		fill_row(s, i, d->V[t->cpu], &sn->tasks[d->fill[t->cpu]++]);
		n++;
	}
	for (uint32_t c = 0; c < s->p.nr_cpus; c++) {
		sn->cpus[c].nr_tasks = (uint32_t)d->fill[c] - sn->cpus[c].first_task;
		if (s->p.kernel_ord)
			exact_ords(s, &s->c[c], sn->tasks + sn->cpus[c].first_task,
				   sn->cpus[c].nr_tasks);
	}
	sn->nr_tasks = n;
}

/* The engine's count(): per VM with >= 2 runnable vCPUs, stacked and over the threshold. */
static void measure(struct sim *s, const struct sbco_vm_set *set)
{
	for (size_t i = 0; i < set->nr_vms; i++) {
		const struct sbco_vm_stat *st = &set->vms[i];
		int v = st->tgid - TGID0;
		bool over, over_any;

		if (v < 0 || v >= s->nr_vms || st->nr_runnable < 2)
			continue;
		over_any = st->distance >= s->p.alpha * st->q_size;
		over = st->nr_queues >= 2 && over_any;
		s->vm[v].samples++;
		s->vm[v].stacked += st->stacked;
		s->vm[v].exceeded += over;
		s->vm[v].exceeded_any += over_any;
		s->st.vm_samples++;
		s->st.stacked += st->stacked;
		s->st.exceeded += over;
		s->st.exceeded_any += over_any;
	}
}

static void apply(struct sim *s, const struct sbco_action *a, int n)
{
	for (int k = 0; k < n; k++) {
		int ti = task_of_tid(s, a[k].tid), peer = task_of_tid(s, a[k].peer);

		if (ti < 0 || (a[k].lever == SBCO_LEVER_KERNEL && peer < 0)) {
			s->st.action_errors++;
			continue;
		}
		s->st.actions++;
		switch (a[k].lever) {
		case SBCO_LEVER_SLICE:
			rq_set_slice(s, ti, a[k].value);
			break;
		case SBCO_LEVER_WEIGHT:
			rq_reweight(s, ti, a[k].value);
			break;
		case SBCO_LEVER_NICE:
			s->t[ti].nice = (int32_t)a[k].value;
			rq_reweight(s, ti, nice_weight[a[k].value + 20]);
			break;
		case SBCO_LEVER_KERNEL:
			/* lender back at once, borrower forward at its queue's next pick, which
			 * the patch forces at once (resched_curr on both queues) */
			rq_shift(s, ti, a[k].value);
			rq_shift(s, peer, -a[k].value);
			if (s->t[peer].state != TS_SLEEPING)
				sim_resched(s, s->t[peer].cpu);
			break;
		case SBCO_LEVER_AUTO:
			break;
		}
		if (s->t[ti].state != TS_SLEEPING) {
			if (a[k].lever == SBCO_LEVER_KERNEL && !s->p.lend_lazy)
				sim_resched(s, s->t[ti].cpu);
			else
				sim_kick(s, s->t[ti].cpu);
		}
	}
}

static int policy(struct sim *s, struct sbco_vm_set *set, const struct sbco_ordinates *o)
{
	struct driver *d = s->drv;
	struct sbco_action *a = NULL;
	int r;

	for (size_t i = 0; i < set->nr_vms; i++) {
		d->mode[i] = s->p.mode;
		d->alpha[i] = s->p.alpha;
	}
	if (d->cfg.lever == SBCO_LEVER_KERNEL)
		set->slot_ns = sbco_slot_estimate(&d->snap, o);
	r = sbco_policy_balance(&d->snap, set, d->mode, d->alpha, &d->cfg, original, s, &d->ledger,
				(uint64_t)s->now, &a);
	if (r > 0)
		apply(s, a, r);
	free(a);
	return r < 0 ? r : 0;
}

int drv_sample(struct sim *s, bool pol, bool meas)
{
	struct driver *d = s->drv;
	struct sbco_ordinates *o = NULL;
	struct sbco_vm_set *set = NULL;
	int64_t t0;
	int r;

	pol = pol && s->p.mode == SBCO_MODE_SBCO;
	if (!pol && !meas)
		return 0;
	build_snapshot(s);
	t0 = cpu_ns();
	r = sbco_ordinates_compute(&d->snap, &o);
	if (r == 0)
		r = sbco_vms_analyze(&d->snap, o, &d->pat, tgid_fn, s, s->p.alpha, &set);
	if (r == 0 && meas)
		measure(s, set);
	if (r == 0 && pol) {
		s->st.cycles++;
		r = policy(s, set, o);
	}
	s->st.policy_ns += cpu_ns() - t0;
	sbco_vm_set_free(set);
	sbco_ordinates_free(o);
	return r;
}

/* Anti-stacking: sbco_policy_stripes() over the VMs as the process backend lists them. */
static int place(struct sim *s)
{
	struct sbco_vm_list l = {0};
	struct sbco_vm_policy *pol = calloc(s->nr_vms + 1, sizeof(*pol));
	struct sbco_topology *topo = calloc(1, sizeof(*topo));
	struct sbco_placement *pl = NULL;
	size_t n = 0;
	int r = -ENOMEM;

	l.vms = calloc(s->nr_vms + 1, sizeof(*l.vms));
	if (!pol || !topo || !l.vms)
		goto out;
	for (uint32_t c = 0; c < s->p.nr_cpus; c++) {
		sbco_cpuset_add(&topo->online, c);
		topo->cpu[c] = (struct sbco_cpu_topo){.core = (int32_t)c, .llc = s->c[c].llc};
		topo->order[c] = (int32_t)c;
	}
	topo->nr_cpus = topo->nr_order = s->p.nr_cpus;
	for (int v = 0; v < s->nr_vms; v++) {
		struct sbco_vm *vm = &l.vms[l.nr++];
		char name[32];

		snprintf(name, sizeof(name), "lhp-%d", v);
		*vm = (struct sbco_vm){.name = strdup(name),
				       .backend = SBCO_BACKEND_PROC,
				       .pid = s->vm[v].pid,
				       .domid = -1};
		vm->vcpus = calloc(s->vm[v].nr_vcpus, sizeof(*vm->vcpus));
		if (!vm->name || !vm->vcpus)
			goto out;
		for (int k = 0; k < s->vm[v].nr_vcpus; k++) {
			const struct task *t = &s->t[s->vm[v].first_task + k];

			vm->vcpus[vm->nr_vcpus++] = (struct sbco_vcpu){
			    .index = k, .tid = t->tid, .cpu = t->cpu, .affinity = t->aff};
		}
		pol[v] =
		    (struct sbco_vm_policy){.mode = s->p.mode, .alpha = s->p.alpha, .rule = -1};
	}
	r = sbco_policy_stripes(&l, pol, topo, NULL, &pl, &n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		int ti = task_of_tid(s, pl[i].tid);

		if (ti < 0)
			continue;
		s->t[ti].aff = pl[i].cpus;
		s->st.placements++;
		if (!sbco_cpuset_has(&pl[i].cpus, (unsigned)s->t[ti].cpu))
			lb_migrate(s, ti, lb_fallback_cpu(s, ti));
	}
out:
	free(pl);
	for (size_t i = 0; i < l.nr; i++)
		sbco_vm_clear(&l.vms[i]);
	free(l.vms);
	free(pol);
	free(topo);
	return r;
}

int drv_new(struct sim *s)
{
	struct driver *d = calloc(1, sizeof(*d));
	size_t nt = (size_t)s->nr_tasks + 1;
	int r;

	if (!d)
		return -ENOMEM;
	s->drv = d;
	d->comm = calloc(nt, sizeof(*d->comm));
	d->fill = calloc(s->p.nr_cpus + 2, sizeof(*d->fill));
	d->V = calloc(s->p.nr_cpus + 1, sizeof(*d->V));
	d->snap.cpus = calloc(s->p.nr_cpus + 1, sizeof(*d->snap.cpus));
	d->snap.tasks = calloc(nt, sizeof(*d->snap.tasks));
	d->mode = calloc(nt, sizeof(*d->mode));
	d->alpha = calloc(nt, sizeof(*d->alpha));
	if (!d->comm || !d->fill || !d->V || !d->snap.cpus || !d->snap.tasks || !d->mode ||
	    !d->alpha)
		return -ENOMEM;
	r = sbco_patterns_default(&d->pat);
	if (r < 0)
		return r;
	for (int i = 0; i < s->nr_tasks; i++) {
		const struct task *t = &s->t[i];

		if (t->kind == TASK_VCPU)
			snprintf(d->comm[i], sizeof(d->comm[i]), "CPU %d/KVM", t->vcpu);
		else
			snprintf(d->comm[i], sizeof(d->comm[i]),
				 t->kind == TASK_HOG ? "hog%d" : "kworker/%d", i);
	}
	d->snap.nr_cpus = s->p.nr_cpus;
	d->snap.kernel_major = 6;
	d->snap.kernel_minor = s->p.eevdf ? 18 : 5;
	if (s->p.eevdf) {
		d->snap.base_slice_ns = s->slice_ns;
	} else {
		d->snap.kernel_major = 5;
		d->snap.kernel_minor = 15;
		d->snap.latency_ns = s->latency_ns;
		d->snap.min_granularity_ns = s->min_gran_ns;
	}
	sbco_balance_cfg_default(&d->cfg);
	/* as the engine resolves AUTO: libvirt vCPUs have cgroups of their own, no patch */
	d->cfg.lever = s->p.lever == SBCO_LEVER_AUTO
			   ? sbco_lever_resolve(SBCO_LEVER_AUTO, d->snap.kernel_major,
						d->snap.kernel_minor, true, false)
			   : s->p.lever;
	if (s->p.mode != SBCO_MODE_OFF)
		return place(s);
	return 0;
}

enum sbco_lever drv_lever(const struct sim *s)
{
	return s->drv->cfg.lever;
}

void drv_free(struct sim *s)
{
	struct driver *d = s->drv;

	if (!d)
		return;
	sbco_patterns_clear(&d->pat);
	sbco_ledger_clear(&d->ledger);
	free(d->comm);
	free(d->fill);
	free(d->V);
	free(d->snap.cpus);
	free(d->snap.tasks);
	free(d->mode);
	free(d->alpha);
	free(d);
	s->drv = NULL;
}
