/* SPDX-License-Identifier: MIT */
/*
 * The ordinate model: for each run queue of a snapshot, the order in which the scheduler is
 * expected to pick its runnable fair tasks, and the wall time until each is first picked.
 *
 * Model. The queue is rebuilt as the kernel's entity hierarchy: tasks under their group
 * path, one group entity per path component, with the group entity's vruntime and weight
 * taken from the cfs_rq block of that path on that CPU (.se->vruntime, .se->load.weight;
 * 64-bit kernels print weights scaled by 1024, detected from the loads). Task weights come
 * from prio via the kernel's nice-to-weight table. Then picks are simulated: at every level
 * the pick rule of the kernel in the dump chooses a child (CFS: smallest vruntime; EEVDF:
 * among the children with vruntime <= the level's weighted average, the earliest virtual
 * deadline), down to a task, which then runs one slice (EEVDF: its slice; CFS: the period
 * T_p split by weight along the path; the current task only its remaining slice); every
 * entity on its path advances by slice * 1024 / weight. A task's ordinate is the number of
 * distinct tasks picked before its first pick; its wait is the simulated wall time until
 * then. The currently running task has ordinate 0.
 *
 * Limits. The dump is not atomic and is a single sample; group entity deadlines and
 * lag are not printed (a group's deadline is estimated from its vruntime and the smallest
 * slice below it); wakeup preemption, sleeper placement, load balancing between CPUs,
 * bandwidth throttling and RT/DL tasks (counted separately, they run first) are not modelled.
 * On kernels older than 4.14 without a state column, runnable tasks are only known when the
 * table lists on-queue tasks alone (rows <= .nr_running + 1); otherwise only the current
 * task is. Cost: O(r log r) per queue of r runnable tasks, with a pick bound of 4r + 64.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sbco.h"
#include "util.h"

static const int prio_to_weight[40] = {
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904,
    3906,  3121,  2501,	 1991,	1586,  1277,  1024,  820,   655,   526,	  423,	335,  272,  215,
    172,   137,	  110,	 87,	70,    56,    45,    36,    29,	   23,	  18,	15,
};

struct node {
	int parent; /* -1 for the root */
	int task;   /* index into snapshot tasks, -1 for a group */
	const char *path;
	size_t path_len;
	double v, deadline, w, slice;
	/* groups only */
	int first_child, nr_children;
	int *pend, nr_pend; /* heap by v: not yet known eligible (EEVDF) / all (CFS) */
	int *elig, nr_elig; /* heap by deadline (EEVDF) */
	double sum_w, sum_wv, base;
};

struct model {
	const struct sbco_snapshot *s;
	struct node *n;
	int nr, cap;
	int *children; /* child lists, then heap storage */
	int *slots;    /* hash: path -> node index + 1 */
	int *rq_slots; /* hash: path -> cfs_rq index + 1 */
	size_t nr_slots;
	bool eevdf, scaled;
	double period_ns; /* CFS T_p */
};

static uint64_t hash_path(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
	return h;
}

static int *slot_of(struct model *m, const char *p, size_t n)
{
	size_t i = hash_path(p, n) & (m->nr_slots - 1);

	for (;; i = (i + 1) & (m->nr_slots - 1)) {
		int k = m->slots[i];

		if (!k)
			return &m->slots[i];
		if (m->n[k - 1].path_len == n && memcmp(m->n[k - 1].path, p, n) == 0)
			return &m->slots[i];
	}
}

static int new_node(struct model *m, int parent, int task, const char *path, size_t len)
{
	struct node *nn;

	if (m->nr == m->cap)
		return -ENOMEM; /* sized up front; cannot happen */
	nn = &m->n[m->nr];
	*nn = (struct node){.parent = parent, .task = task, .path = path, .path_len = len};
	return m->nr++;
}

static double task_weight(const struct sbco_task *t)
{
	if (t->prio >= 100 && t->prio < 140)
		return prio_to_weight[t->prio - 100];
	return 1024;
}

/* This CPU's cfs_rq blocks by path, in a second open-addressing table (rq index + 1). */
static void index_rqs(struct model *m, const struct sbco_cpu *c)
{
	memset(m->rq_slots, 0, m->nr_slots * sizeof(*m->rq_slots));
	for (uint32_t k = 0; k < c->nr_rqs; k++) {
		const char *p = m->s->rqs[c->first_rq + k].path;
		size_t n = strlen(p), i = hash_path(p, n) & (m->nr_slots - 1);

		while (m->rq_slots[i])
			i = (i + 1) & (m->nr_slots - 1);
		m->rq_slots[i] = (int)(c->first_rq + k) + 1;
	}
}

static const struct sbco_cfs_rq *find_rq(const struct model *m, const char *path, size_t len)
{
	size_t i = hash_path(path, len) & (m->nr_slots - 1);

	for (;; i = (i + 1) & (m->nr_slots - 1)) {
		int k = m->rq_slots[i];
		const struct sbco_cfs_rq *r;

		if (!k)
			return NULL;
		r = &m->s->rqs[k - 1];
		if (strncmp(r->path, path, len) == 0 && r->path[len] == '\0')
			return r; /* the first block of a path wins, as the kernel prints one */
	}
}

/* The group node for path[0..len), created with its ancestors. "" and "/" are the root. */
static int group_node(struct model *m, const struct sbco_cpu *c, const char *path, size_t len)
{
	const struct sbco_cfs_rq *rq;
	int parent, *slot, id;
	size_t plen;

	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len <= 1)
		return 0;
	slot = slot_of(m, path, len);
	if (*slot)
		return *slot - 1;
	plen = len - 1;
	while (plen > 0 && path[plen] != '/')
		plen--;
	parent = group_node(m, c, path, plen);
	if (parent < 0)
		return parent;
	id = new_node(m, parent, -1, path, len);
	if (id < 0)
		return id;
	slot = slot_of(m, path, len); /* the recursion may have moved things along */
	*slot = id + 1;
	rq = find_rq(m, path, len);
	m->n[id].w = 1024;
	m->n[id].v = NAN;
	if (rq && (rq->have & SBCO_RQ_SE_WEIGHT))
		m->n[id].w = (double)rq->se_weight / (m->scaled ? 1024.0 : 1.0);
	if (m->n[id].w < 2)
		m->n[id].w = 2;
	if (rq && (rq->have & SBCO_RQ_SE_VRUNTIME))
		m->n[id].v = (double)rq->se_vruntime_ns;
	return id;
}

static double key(const struct model *m, int i, bool by_deadline)
{
	return by_deadline ? m->n[i].deadline : m->n[i].v;
}

static void heap_push(struct model *m, int *h, int *nh, int x, bool by_dl)
{
	int i = (*nh)++;

	while (i > 0) {
		int p = (i - 1) / 2;

		if (key(m, h[p], by_dl) <= key(m, x, by_dl))
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = x;
}

static int heap_pop(struct model *m, int *h, int *nh, bool by_dl)
{
	int top = h[0], x = h[--(*nh)], i = 0;

	for (;;) {
		int c = 2 * i + 1;

		if (c >= *nh)
			break;
		if (c + 1 < *nh && key(m, h[c + 1], by_dl) < key(m, h[c], by_dl))
			c++;
		if (key(m, x, by_dl) <= key(m, h[c], by_dl))
			break;
		h[i] = h[c];
		i = c;
	}
	if (*nh > 0)
		h[i] = x;
	return top;
}

/* Run entity chain from leaf upward for wall ns; re-queue each in its parent when requeue. */
static void advance(struct model *m, int leaf, double wall, bool requeue)
{
	for (int i = leaf; m->n[i].parent >= 0; i = m->n[i].parent) {
		struct node *e = &m->n[i], *g = &m->n[e->parent];
		double dv = wall * 1024.0 / e->w;

		e->v += dv;
		if (e->v >= e->deadline)
			e->deadline = e->v + e->slice * 1024.0 / e->w;
		g->sum_wv += e->w * dv;
		if (requeue)
			heap_push(m, g->pend, &g->nr_pend, i, false);
	}
}

static int pick_child(struct model *m, struct node *g)
{
	if (!m->eevdf)
		return heap_pop(m, g->pend, &g->nr_pend, false);
	if (g->sum_w > 0) {
		double V = g->base + g->sum_wv / g->sum_w;

		while (g->nr_pend && m->n[g->pend[0]].v <= V)
			heap_push(m, g->elig, &g->nr_elig, heap_pop(m, g->pend, &g->nr_pend, false),
				  true);
	}
	if (!g->nr_elig && g->nr_pend)
		heap_push(m, g->elig, &g->nr_elig, heap_pop(m, g->pend, &g->nr_pend, false), true);
	return heap_pop(m, g->elig, &g->nr_elig, true);
}

/* Wall time a pick of leaf runs: its EEVDF slice, or the CFS period split by weight. */
static double pick_wall(const struct model *m, int leaf)
{
	double share = 1.0;

	if (m->eevdf)
		return m->n[leaf].slice;
	for (int i = leaf; m->n[i].parent >= 0; i = m->n[i].parent)
		share *= m->n[i].w / m->n[m->n[i].parent].sum_w;
	return m->period_ns * share;
}

static bool lists_on_rq_only(const struct sbco_cpu *c)
{
	return (c->have & SBCO_CPU_NR_RUNNING) && c->nr_tasks <= c->nr_running + 1;
}

static bool is_runnable(const struct sbco_task *t, bool onrq_only)
{
	if (!(t->have & SBCO_HAVE_STATE))
		return t->current || onrq_only;
	return t->state == 'R';
}

static double default_slice(const struct sbco_snapshot *s)
{
	/* The kernel scales its defaults by 1 + ilog2(min(ncpus, 8)). */
	double factor =
	    1 + floor(log2((double)(s->nr_cpus < 8 ? (s->nr_cpus ? s->nr_cpus : 1) : 8)));

	if (s->base_slice_ns > 0)
		return (double)s->base_slice_ns;
	if (s->min_granularity_ns > 0)
		return (double)s->min_granularity_ns;
	return 750000.0 * factor;
}

static void cfs_period(struct model *m, int nr_run)
{
	const struct sbco_snapshot *s = m->s;
	double gran = default_slice(s);
	double lat = s->latency_ns > 0 ? (double)s->latency_ns : gran * 8;

	/* T_p = S_latency if P_run <= S_latency / S_min, else P_run * S_min */
	m->period_ns = nr_run <= lat / gran ? lat : nr_run * gran;
}

/* Resolve group vruntimes that were not printed, slices and deadlines, bottom-up. */
static void finish_values(struct model *m, const struct sbco_snapshot *s, double dslice)
{
	for (int i = m->nr - 1; i >= 0; i--) {
		struct node *e = &m->n[i];

		if (e->task >= 0) {
			const struct sbco_task *t = &s->tasks[e->task];

			e->slice = (t->have & SBCO_HAVE_SLICE) && t->slice_ns > 0
				       ? (double)t->slice_ns
				       : dslice;
			e->deadline = (t->have & SBCO_HAVE_DEADLINE)
					  ? (double)t->deadline_ns
					  : e->v + e->slice * 1024.0 / e->w;
		} else {
			if (isnan(e->v))
				e->v = isnan(e->base) ? 0 : e->base; /* min child v, see below */
			if (e->slice <= 0)
				e->slice = dslice;
			e->deadline = e->v + e->slice * 1024.0 / e->w;
		}
		if (e->parent >= 0) {
			struct node *g = &m->n[e->parent];

			if (isnan(g->base) || e->v < g->base)
				g->base = e->v;
			if (g->slice <= 0 || e->slice < g->slice)
				g->slice = e->slice;
		}
	}
}

static int build_cpu(struct model *m, const struct sbco_cpu *c, const bool *runnable,
		     int *ret_current)
{
	const struct sbco_snapshot *s = m->s;
	int cur = -1;

	m->nr = 0;
	memset(m->slots, 0, m->nr_slots * sizeof(*m->slots));
	index_rqs(m, c);
	new_node(m, -1, -1, "", 0);
	m->n[0].v = 0;
	for (uint32_t k = 0; k < c->nr_tasks; k++) {
		size_t ti = c->first_task + k;
		const struct sbco_task *t = &s->tasks[ti];
		int g, id;

		if (!runnable[ti])
			continue;
		g = group_node(m, c, t->group_path, strlen(t->group_path));
		if (g < 0)
			return g;
		id = new_node(m, g, (int)ti, NULL, 0);
		if (id < 0)
			return id;
		m->n[id].v = (double)t->vruntime_ns;
		m->n[id].w = task_weight(t);
		if (t->current && cur < 0)
			cur = id;
	}
	for (int i = 0; i < m->nr; i++)
		m->n[i].base = NAN;
	*ret_current = cur;
	return 0;
}

static void setup_heaps(struct model *m)
{
	int off = 0;

	for (int i = 0; i < m->nr; i++)
		m->n[i].nr_children = 0;
	for (int i = 1; i < m->nr; i++)
		m->n[m->n[i].parent].nr_children++;
	for (int i = 0; i < m->nr; i++) {
		struct node *g = &m->n[i];

		g->pend = m->children + off;
		g->elig = m->children + off + g->nr_children;
		off += 2 * g->nr_children;
		g->nr_pend = g->nr_elig = 0;
		g->sum_w = g->sum_wv = 0;
		if (isnan(g->base))
			g->base = 0;
	}
	for (int i = 1; i < m->nr; i++) {
		struct node *e = &m->n[i], *g = &m->n[e->parent];

		g->sum_w += e->w;
		g->sum_wv += e->w * (e->v - g->base);
	}
	for (int i = 1; i < m->nr; i++)
		heap_push(m, m->n[m->n[i].parent].pend, &m->n[m->n[i].parent].nr_pend, i, false);
}

static void simulate(struct model *m, int cur, int nr_run, struct sbco_ordinates *o)
{
	int order = 0, assigned = 0, steps = 0, limit = 4 * nr_run + 64;
	double wall = 0;

	if (cur >= 0) {
		/* The running task is not in the tree: charge its rest of slice first. */
		struct node *e = &m->n[cur];
		double rest = e->slice;

		if (m->eevdf && e->deadline > e->v)
			rest = fmin(e->slice, (e->deadline - e->v) * e->w / 1024.0);
		o->task[e->task] = (struct sbco_ordinate){.ordinate = 0, .runnable = true};
		order = assigned = 1;
		advance(m, cur, rest, false);
		wall = rest;
	}
	setup_heaps(m);
	while (assigned < nr_run && steps++ < limit) {
		int i = 0;

		while (m->n[i].task < 0)
			i = pick_child(m, &m->n[i]);
		if (o->task[m->n[i].task].ordinate < 0) {
			o->task[m->n[i].task] = (struct sbco_ordinate){
			    .ordinate = order++, .runnable = true, .wait_ns = (int64_t)wall};
			assigned++;
		}
		{
			double run = pick_wall(m, i);

			advance(m, i, run, true);
			wall += run;
		}
	}
	for (int i = 1; i < m->nr && assigned < nr_run; i++) /* pick bound hit */
		if (m->n[i].task >= 0 && o->task[m->n[i].task].ordinate < 0) {
			o->task[m->n[i].task] = (struct sbco_ordinate){
			    .ordinate = order++, .runnable = true, .wait_ns = (int64_t)wall};
			assigned++;
		}
}

struct sbco_ordinates *sbco_ordinates_free(struct sbco_ordinates *o)
{
	if (!o)
		return NULL;
	free(o->task);
	free(o->cpu);
	free(o);
	return NULL;
}

static bool weights_scaled(const struct sbco_snapshot *s)
{
	/* 64-bit kernels since 2.6.39 print loads in units of 1024 << 10 per nice-0 task. */
	for (size_t i = 0; i < s->nr_rqs; i++)
		if (((s->rqs[i].have & SBCO_RQ_LOAD) && s->rqs[i].load >= (1u << 20)) ||
		    ((s->rqs[i].have & SBCO_RQ_SE_WEIGHT) && s->rqs[i].se_weight >= (1u << 20)))
			return true;
	return false;
}

static size_t model_size(const struct sbco_snapshot *s, const struct sbco_cpu *c,
			 const bool *runnable)
{
	size_t need = 1 + c->nr_rqs;

	for (uint32_t k = 0; k < c->nr_tasks; k++) {
		const struct sbco_task *t = &s->tasks[c->first_task + k];

		if (!runnable[c->first_task + k])
			continue;
		need += 2; /* the task, and a first component not led by '/' */
		for (const char *q = t->group_path; *q; q++)
			need += *q == '/';
	}
	return need;
}

static int compute_cpu(struct model *m, const struct sbco_cpu *c, const bool *runnable, int nr_run,
		       struct sbco_ordinates *o)
{
	size_t need = model_size(m->s, c, runnable);
	int cur, ret;

	if ((size_t)m->cap < need) {
		size_t slots = 16;

		while (slots < 2 * need)
			slots *= 2;
		free(m->n);
		free(m->children);
		free(m->slots);
		free(m->rq_slots);
		m->n = malloc(need * sizeof(*m->n));
		m->children = malloc(2 * need * sizeof(*m->children));
		m->slots = malloc(slots * sizeof(*m->slots));
		m->rq_slots = malloc(slots * sizeof(*m->rq_slots));
		if (!m->n || !m->children || !m->slots || !m->rq_slots)
			return -ENOMEM;
		m->cap = (int)need;
		m->nr_slots = slots;
	}
	m->eevdf = c->layout == SBCO_LAYOUT_EEVDF || c->layout == SBCO_LAYOUT_EEVDF_OLD;
	ret = build_cpu(m, c, runnable, &cur);
	if (ret < 0)
		return ret;
	finish_values(m, m->s, default_slice(m->s));
	cfs_period(m, nr_run);
	simulate(m, cur, nr_run, o);
	return 0;
}

static int cmp_ranked_wait(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

struct ranked {
	int64_t key;
	size_t ti;
};

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	return (x->key > y->key) - (x->key < y->key);
}

/*
 * A patched kernel (kernel/) prints each task's exact ordinate: its rank in its cfs_rq's
 * timeline, taken under the rq lock. Where every runnable task of the CPU has one and they
 * all share one cfs_rq (same group path), that order replaces the model's, densely
 * renumbered 0..n-1 (entities that are queued but not runnable, such as delayed dequeues,
 * count in the kernel's rank); the model's waits are kept, in rank order. On hierarchical
 * queues a per-level rank is not a position on the CPU, and the model stays.
 */
static bool use_exact(const struct sbco_snapshot *s, const struct sbco_cpu *c, const bool *runnable,
		      struct sbco_ordinates *o)
{
	struct ranked *rk;
	int64_t *waits;
	const char *path = NULL;
	size_t n = 0;

	/* the common case, an unpatched kernel, costs one look at a runnable task */
	for (uint32_t k = 0; k < c->nr_tasks; k++) {
		const struct sbco_task *t = &s->tasks[c->first_task + k];

		if (!runnable[c->first_task + k])
			continue;
		if (!(t->have & SBCO_HAVE_EXACT_ORD) || t->exact_ord < 0 ||
		    (path && strcmp(path, t->group_path)))
			return false;
		path = t->group_path;
	}
	rk = calloc(c->nr_tasks + 1, sizeof(*rk));
	waits = calloc(c->nr_tasks + 1, sizeof(*waits));
	if (!rk || !waits) {
		free(rk);
		free(waits);
		return false;
	}
	for (uint32_t k = 0; k < c->nr_tasks; k++) {
		size_t ti = c->first_task + k;

		if (!runnable[ti])
			continue;
		waits[n] = o->task[ti].wait_ns;
		rk[n++] = (struct ranked){s->tasks[ti].exact_ord, ti};
	}
	qsort(rk, n, sizeof(*rk), cmp_ranked);
	qsort(waits, n, sizeof(*waits), cmp_ranked_wait);
	for (size_t i = 0; i < n; i++) {
		o->task[rk[i].ti].ordinate = (int32_t)i;
		o->task[rk[i].ti].wait_ns = waits[i];
	}
	free(rk);
	free(waits);
	return n > 0;
}

int sbco_ordinates_compute(const struct sbco_snapshot *s, struct sbco_ordinates **ret)
{
	struct model m = {.s = s};
	struct sbco_ordinates *o;
	bool *runnable;
	int r = 0;

	if (!s || !ret)
		return -EINVAL;
	o = calloc(1, sizeof(*o));
	runnable = calloc(s->nr_tasks + 1, sizeof(*runnable));
	if (!o || !runnable) {
		free(runnable);
		free(o);
		return -ENOMEM;
	}
	o->task = calloc(s->nr_tasks + 1, sizeof(*o->task));
	o->cpu = calloc(s->nr_cpus + 1, sizeof(*o->cpu));
	if (!o->task || !o->cpu) {
		r = -ENOMEM;
		goto out;
	}
	o->nr_tasks = s->nr_tasks;
	o->nr_cpus = s->nr_cpus;
	m.scaled = weights_scaled(s);
	for (size_t i = 0; i < s->nr_tasks; i++)
		o->task[i].ordinate = -1;
	for (size_t ci = 0; ci < s->nr_cpus && r == 0; ci++) {
		const struct sbco_cpu *c = &s->cpus[ci];
		struct sbco_queue_stats *qs = &o->cpu[ci];
		bool onrq = lists_on_rq_only(c);

		qs->eevdf = c->layout == SBCO_LAYOUT_EEVDF || c->layout == SBCO_LAYOUT_EEVDF_OLD;
		for (uint32_t k = 0; k < c->nr_tasks; k++) {
			size_t ti = c->first_task + k;
			const struct sbco_task *t = &s->tasks[ti];

			if (!is_runnable(t, onrq))
				continue;
			if (t->prio < 100) {
				qs->nr_rt++;
				continue;
			}
			runnable[ti] = true;
			qs->nr_runnable++;
		}
		if (qs->nr_runnable)
			r = compute_cpu(&m, c, runnable, (int)qs->nr_runnable, o);
		if (r == 0 && qs->nr_runnable)
			qs->exact = use_exact(s, c, runnable, o);
	}
out:
	free(m.n);
	free(m.children);
	free(m.slots);
	free(m.rq_slots);
	free(runnable);
	if (r < 0) {
		sbco_ordinates_free(o);
		return r;
	}
	*ret = o;
	return 0;
}
