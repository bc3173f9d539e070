/* SPDX-License-Identifier: MIT */
/*
 * One policy cycle, composed from the pieces: parse the dump, compute ordinates, group the
 * vCPUs into VMs by process, count stacking and threshold excess, run distance balancing
 * for the VMs in mode sbco, and apply the actions; anti-stacking placements are applied
 * when the VM set or policy changes. Everything changed goes through one actuator, so
 * sbco_engine_restore() undoes all of it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbco.h"

struct sbco_engine {
	const struct sbco_host_ops *ops;
	void *ud;
	char *root;
	const struct sbco_patterns *pat;
	struct sbco_balance_cfg bal;
	struct sbco_cpuset hk;
	bool have_hk;
	struct sbco_actuator *act;
	struct sbco_ledger ledger;
	struct sbco_vm_list *vms;
	struct sbco_vm_policy *pol;
	enum sbco_lever levers[SBCO_LEVERS_MAX];
	size_t nr_levers;
	struct sbco_engine_stats st;
	struct sbco_snapshot *last_snap; /* the last good cycle's, kept for inspection */
	struct sbco_ordinates *last_ord;
	struct sbco_vm_set *last_set;
	int32_t worst_distance; /* of the last cycle */
	char worst_vm[64];
	enum sbco_lever lever;	  /* the lever of the last cycle, SBCO_LEVER_AUTO if none */
	bool kpatch;		  /* the sbco kernel patch runs (/proc/sbco/version) */
	bool kpick_cap;		  /* ... with pick-time balancing ("pick") */
	bool kpick_refused;	  /* ... but /proc/sbco/vm refused sbcod */
	struct sbco_kpick *kpick; /* its registrations (every VM counted; see kernel_pick) */
	sbco_event_fn observer;
	void *observer_ud;
	struct vm_counter {
		int32_t pid;
		struct sbco_vm_counts c;
		struct sbco_stall_hold hold;
		struct iso_pair {
			char *from, *to;
		} * iso; /* stall prevention: the groups sbco made for its vCPUs, parents first */
		size_t nr_iso;
		bool iso_failed; /* not tried again until the VM is placed anew */
	} * counters;		 /* per VM (by VMM pid), for the VMs in e->vms */
	size_t nr_counters, cap_counters;
	struct sbco_stall_cfg stall_cfg;
	bool stall_response; /* lift anti-stacking of stalled VMs (else detect only) */
	struct sbco_stall_tracker stall;
	struct sbco_placement *pl; /* the stripes of the VM set in force (lifted VMs too) */
	size_t nr_pl;
	bool *striped; /* parallel to vms: the VM has stripes in pl */
};

static bool own_cgroups(const struct sbco_engine *e);
static void notify(const struct sbco_engine *e, const struct sbco_event *ev);

/* The counters of the VM with this pid, NULL when it has none yet. */
static const struct vm_counter *find_counter(const struct sbco_engine *e, int32_t pid)
{
	for (size_t i = 0; i < e->nr_counters; i++)
		if (e->counters[i].pid == pid)
			return &e->counters[i];
	return NULL;
}

/* The same, created when missing (NULL only without memory). */
static struct vm_counter *vm_counter_of(struct sbco_engine *e, int32_t pid)
{
	const struct vm_counter *f = find_counter(e, pid);

	if (f)
		return &e->counters[f - e->counters];
	if (e->nr_counters == e->cap_counters) {
		size_t cap = e->cap_counters ? 2 * e->cap_counters : 16;
		struct vm_counter *n = realloc(e->counters, cap * sizeof(*n));

		if (!n)
			return NULL;
		e->counters = n;
		e->cap_counters = cap;
	}
	e->counters[e->nr_counters] = (struct vm_counter){.pid = pid, .c = {.stall_index = -1}};
	return &e->counters[e->nr_counters++];
}

static struct sbco_vm_counts *counter_of(struct sbco_engine *e, int32_t pid)
{
	struct vm_counter *c = vm_counter_of(e, pid);

	return c ? &c->c : NULL;
}

/* Is anti-stacking of the VM with this pid lifted after a stall? */
static bool lifted(const struct sbco_engine *e, int32_t pid)
{
	const struct vm_counter *c = find_counter(e, pid);

	return c && c->hold.lifted;
}

int sbco_engine_take_stalls(struct sbco_engine *to, const struct sbco_engine *from)
{
	for (size_t i = 0; from && i < from->nr_counters; i++) {
		struct vm_counter *c = vm_counter_of(to, from->counters[i].pid);

		if (!c)
			return -ENOMEM;
		c->hold = from->counters[i].hold;
	}
	return 0;
}

/* Stall prevention off for a VM: its vCPU threads back into the groups they came from,
 * sbco's groups removed. vm may be NULL (the VM is gone). */
static void unisolate(struct sbco_engine *e, struct vm_counter *c, const struct sbco_vm *vm)
{
	size_t k = c->nr_iso;

	for (size_t i = c->nr_iso; i-- > 0;) { /* children before their parents */
		int r = sbco_actuator_unisolate(e->act, c->iso[i].to);

		notify(e, &(struct sbco_event){.kind = SBCO_EVENT_UNISOLATE,
					       .vm = vm,
					       .vcpu = -1,
					       .group = c->iso[i].to,
					       .from = c->iso[i].from,
					       .err = r == -ENOENT ? 0 : r});
		if (r < 0 && r != -ENOENT) {
			e->st.action_errors++;
			break; /* kept (with its parents): tried again, and by restore */
		}
		free(c->iso[i].from);
		free(c->iso[i].to);
		k = i;
	}
	c->nr_iso = k;
	if (!k) {
		free(c->iso);
		c->iso = NULL;
	}
}

/* The group the vCPU thread in cgroup cg now runs in (cg when sbco did not move it). */
static const char *vcpu_group(const struct sbco_engine *e, int32_t pid, const char *cg)
{
	const struct vm_counter *c = find_counter(e, pid);

	for (size_t i = 0; cg && c && i < c->nr_iso; i++)
		if (!strcmp(c->iso[i].from, cg))
			return c->iso[i].to;
	return cg;
}

/* Stall prevention on for VM v: move its vCPU threads out of the cpu group they share with
 * its other threads (lib/isolate.c). Run at every placement and VM-set refresh, so vCPUs
 * the VMM starts later follow. */
static void isolate(struct sbco_engine *e, struct vm_counter *c, const struct sbco_vm *vm)
{
	struct sbco_thread_cg *t = NULL;
	struct sbco_isolate_group *g = NULL;
	size_t nt = 0, ng = 0;
	int r;

	if (c->iso_failed || vm->pid <= 0 ||
	    sbco_proc_thread_cgroups(e->root, vm->pid, &t, &nt) < 0)
		return;
	for (size_t i = 0; i < nt; i++) {
		for (size_t k = 0; k < vm->nr_vcpus && !t[i].vcpu; k++)
			t[i].vcpu = vm->vcpus[k].tid == t[i].tid;
		for (size_t k = 0; k < c->nr_iso && !t[i].moved; k++) {
			char *from;

			if (strcmp(t[i].cgroup, c->iso[k].to) || !(from = strdup(c->iso[k].from)))
				continue;
			free(t[i].cgroup); /* planned from where it came from */
			t[i].cgroup = from;
			t[i].moved = true;
		}
	}
	r = sbco_isolate_plan(t, nt, &g, &ng);
	sbco_thread_cgs_free(t, nt);
	for (size_t i = 0; r == 0 && i < ng; i++) {
		bool known = false;
		struct iso_pair *x;

		r = sbco_actuator_isolate(e->act, g[i].from, g[i].to, g[i].tids, g[i].n);
		notify(e, &(struct sbco_event){.kind = SBCO_EVENT_ISOLATE,
					       .vm = vm,
					       .vcpu = -1,
					       .group = g[i].to,
					       .from = g[i].from,
					       .moved = r > 0 ? r : 0,
					       .err = r < 0 ? r : 0});
		if (r < 0) {
			c->iso_failed = true; /* reported once; the VM keeps its stall response */
			if (r != -EOPNOTSUPP) /* v2 hierarchy: not possible there, not an error */
				e->st.action_errors++;
			break;
		}
		for (size_t k = 0; k < c->nr_iso && !known; k++)
			known = !strcmp(c->iso[k].to, g[i].to);
		if (known)
			continue;
		x = realloc(c->iso, (c->nr_iso + 1) * sizeof(*x));
		if (x) {
			c->iso = x;
			x[c->nr_iso] = (struct iso_pair){strdup(g[i].from), strdup(g[i].to)};
			if (x[c->nr_iso].from && x[c->nr_iso].to) {
				c->nr_iso++;
			} else {
				free(x[c->nr_iso].from);
				free(x[c->nr_iso].to);
			}
		}
		r = 0;
	}
	sbco_isolate_groups_free(g, ng);
}

/* Stall prevention for VM v of e->vms as its anti-stacking stands: on while sbco places
 * it (stall.isolate), off when it does not (mode off, pinned, lifted after a stall). */
static void guard(struct sbco_engine *e, size_t v)
{
	const struct sbco_vm *vm = &e->vms->vms[v];
	struct vm_counter *c = vm_counter_of(e, vm->pid);

	if (!c)
		return;
	if (e->stall_cfg.isolate && e->striped && e->striped[v] && !c->hold.lifted) {
		isolate(e, c, vm);
		return;
	}
	if (c->nr_iso)
		unisolate(e, c, vm);
	c->iso_failed = false;
}

/* Forget the groups of a VM (the actuator keeps its records: restore undoes them). */
static void forget_vm_groups(struct vm_counter *c)
{
	for (size_t j = 0; j < c->nr_iso; j++) {
		free(c->iso[j].from);
		free(c->iso[j].to);
	}
	free(c->iso);
	c->iso = NULL;
	c->nr_iso = 0;
	c->iso_failed = false;
}

static void forget_groups(struct sbco_engine *e)
{
	for (size_t i = 0; i < e->nr_counters; i++)
		forget_vm_groups(&e->counters[i]);
}

/* Keep the counters of VMs still in the set only (a VM gone gets its groups removed). */
static void prune_counters(struct sbco_engine *e)
{
	size_t k = 0;

	for (size_t i = 0; i < e->nr_counters; i++) {
		if (sbco_vm_list_find_pid(e->vms, e->counters[i].pid)) {
			e->counters[k++] = e->counters[i];
			continue;
		}
		unisolate(e, &e->counters[i], NULL);
		forget_vm_groups(&e->counters[i]);
	}
	e->nr_counters = k;
}

int sbco_engine_vm_counts(const struct sbco_engine *e, int32_t pid, struct sbco_vm_counts *ret)
{
	const struct vm_counter *c = find_counter(e, pid);

	if (!c) {
		*ret = (struct sbco_vm_counts){0};
		return -ENOENT;
	}
	*ret = c->c;
	ret->stalls = c->hold.stalls;
	ret->stalled_ns = c->hold.stalled_ns;
	ret->lifts = c->hold.lifts;
	ret->rotations = c->hold.rotations;
	ret->stalled = c->hold.stalled;
	ret->lifted = c->hold.lifted;
	ret->prevented = c->nr_iso > 0;
	return 0;
}

void sbco_engine_set_observer(struct sbco_engine *e, sbco_event_fn fn, void *userdata)
{
	e->observer = fn;
	e->observer_ud = userdata;
}

const struct sbco_ledger *sbco_engine_ledger(const struct sbco_engine *e)
{
	return &e->ledger;
}

bool sbco_engine_lever_works(const struct sbco_engine *e, enum sbco_lever lever)
{
	const struct sbco_snapshot *s = e->last_snap;

	return sbco_lever_pick(&lever, 1, s ? s->kernel_major : 0, s ? s->kernel_minor : 0,
			       own_cgroups(e), e->kpatch) >= 0;
}

enum sbco_lever sbco_engine_lever(const struct sbco_engine *e)
{
	return e->lever;
}

const char *sbco_engine_kernel_pick(const struct sbco_engine *e)
{
	if (e->kpick_refused)
		return "refused";
	if (!e->kpick_cap || !e->kpick)
		return "none";
	return e->lever == SBCO_LEVER_KERNEL && e->bal.kernel_pick_lend ? "lend" : "count";
}

static void notify(const struct sbco_engine *e, const struct sbco_event *ev)
{
	if (e->observer)
		e->observer(e->observer_ud, ev);
}

int sbco_engine_set_state_file(struct sbco_engine *e, const char *path)
{
	return sbco_actuator_set_state_file(e->act, path);
}

void sbco_engine_summary(const struct sbco_engine *e, char *buf, size_t len)
{
	size_t n[3] = {0};

	for (size_t i = 0; i < e->vms->nr; i++)
		n[e->pol[i].mode]++;
	snprintf(buf, len, "%zu VMs (off %zu, bal %zu, sbco %zu); worst distance %d%s%s%s",
		 e->vms->nr, n[0], n[1], n[2], e->worst_distance, e->worst_vm[0] ? " (" : "",
		 e->worst_vm, e->worst_vm[0] ? ")" : "");
}

void sbco_engine_set_levers(struct sbco_engine *e, const enum sbco_lever *levers, size_t n)
{
	e->nr_levers = n < SBCO_LEVERS_MAX ? n : SBCO_LEVERS_MAX;
	memcpy(e->levers, levers, e->nr_levers * sizeof(*levers));
}

int sbco_engine_new(const struct sbco_host_ops *ops, void *ud, const char *root,
		    const struct sbco_patterns *pat, const struct sbco_balance_cfg *bal,
		    const struct sbco_cpuset *housekeeping, struct sbco_engine **ret)
{
	struct sbco_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->ops = ops;
	e->ud = ud;
	e->pat = pat;
	e->root = strdup(root ? root : "/");
	if (bal)
		e->bal = *bal;
	else
		sbco_balance_cfg_default(&e->bal);
	if (housekeeping) {
		e->hk = *housekeeping;
		e->have_hk = true;
	}
	e->lever = SBCO_LEVER_AUTO;
	sbco_stall_cfg_default(&e->stall_cfg);
	e->stall_response = true;
	{
		char ver[64];

		e->kpatch = sbco_kpatch_detect(e->root ? e->root : "/", ver, sizeof(ver)) == 0;
		e->kpick_cap = e->kpatch && sbco_kpatch_has(ver, "pick");
	}
	e->vms = calloc(1, sizeof(*e->vms));
	if (!e->root || !e->vms || sbco_actuator_new(ops, ud, &e->act) < 0) {
		sbco_engine_free(e);
		return -ENOMEM;
	}
	*ret = e;
	return 0;
}

struct sbco_engine *sbco_engine_free(struct sbco_engine *e)
{
	if (!e)
		return NULL;
	sbco_actuator_free(e->act);
	sbco_kpick_free(e->kpick);
	sbco_ledger_clear(&e->ledger);
	sbco_snapshot_free(e->last_snap);
	sbco_ordinates_free(e->last_ord);
	sbco_vm_set_free(e->last_set);
	sbco_vm_list_free(e->vms);
	free(e->pol);
	forget_groups(e);
	free(e->counters);
	sbco_stall_tracker_clear(&e->stall);
	free(e->pl);
	free(e->striped);
	free(e->root);
	free(e);
	return NULL;
}

static const struct sbco_vcpu *vcpu_of(const struct sbco_engine *e, int32_t tid, size_t *ret_vm)
{
	for (size_t v = 0; v < e->vms->nr; v++)
		for (size_t k = 0; k < e->vms->vms[v].nr_vcpus; k++)
			if (e->vms->vms[v].vcpus[k].tid == tid) {
				if (ret_vm)
					*ret_vm = v;
				return &e->vms->vms[v].vcpus[k];
			}
	return NULL;
}

/* The affinities the policy starts from are the ones before sbco's own changes: what the
 * actuator recorded, else what the thread has now. For VMs found in /proc, "pinned" is
 * decided on those, so sbco's stripes are never mistaken for the operator's pinning. */
static void base_affinities(struct sbco_engine *e, struct sbco_vm_list *l,
			    const struct sbco_cpuset *online)
{
	for (size_t v = 0; v < l->nr; v++) {
		struct sbco_vm *vm = &l->vms[v];
		bool pinned = false;

		for (size_t k = 0; k < vm->nr_vcpus; k++) {
			struct sbco_vcpu *vc = &vm->vcpus[k];

			if (vc->tid > 0 &&
			    sbco_actuator_original_affinity(e->act, vc->tid, &vc->affinity) < 0)
				(void)e->ops->get_affinity(e->ud, vc->tid, &vc->affinity);
			vc->pinned = sbco_cpuset_count(online) > 0 &&
				     sbco_cpuset_count(&vc->affinity) &&
				     !sbco_cpuset_equal(&vc->affinity, online);
			pinned |= vc->pinned;
		}
		if (vm->backend == SBCO_BACKEND_PROC && vm->pinned != pinned) {
			vm->pinned = pinned;
			free(vm->pin_reason);
			vm->pin_reason =
			    pinned ? strdup("vCPU affinity narrower than the online CPUs") : NULL;
		}
	}
}

/* Give one vCPU sbco placed its original affinity back, at once. */
static void unplace_vcpu(struct sbco_engine *e, struct sbco_vm *vm, struct sbco_vcpu *vc)
{
	struct sbco_cpuset orig;
	int r;

	if (vc->tid <= 0 || sbco_actuator_original_affinity(e->act, vc->tid, &orig) < 0)
		return;
	r = sbco_actuator_restore_affinity(e->act, vc->tid, &orig);
	notify(e, &(struct sbco_event){.kind = SBCO_EVENT_UNPLACE,
				       .vm = vm,
				       .vcpu = vc->index,
				       .tid = vc->tid,
				       .cpus = &orig,
				       .err = r});
	if (r == 0)
		vc->affinity = orig;
	else if (r == -ESRCH)
		e->st.vanished++;
	else
		e->st.action_errors++;
}

/* vCPUs sbco placed that get no placement now (their VM went to mode off, became pinned,
 * ...): their original affinity back, at once. */
static void unplace(struct sbco_engine *e, struct sbco_vm_list *l, const struct sbco_placement *pl,
		    size_t n)
{
	for (size_t v = 0; v < l->nr; v++)
		for (size_t k = 0; k < l->vms[v].nr_vcpus; k++) {
			bool placed = false;

			for (size_t i = 0; i < n && !placed; i++)
				placed = pl[i].vm == v && pl[i].vcpu == k;
			if (!placed)
				unplace_vcpu(e, &l->vms[v], &l->vms[v].vcpus[k]);
		}
}

/* Apply one anti-stacking placement (of a VM in l). Returns 0, or -ENOMEM. */
static int place(struct sbco_engine *e, struct sbco_vm_list *l, const struct sbco_placement *p)
{
	struct sbco_vm *vm = &l->vms[p->vm];
	struct sbco_vcpu *v = &vm->vcpus[p->vcpu];
	struct sbco_cpuset cur;
	int r;

	if (v->tid <= 0)
		return 0;
	/* already there (v->affinity is the original): no call, no libvirt event */
	if (e->ops->get_affinity(e->ud, v->tid, &cur) == 0 && sbco_cpuset_equal(&cur, &p->cpus) &&
	    sbco_actuator_original_affinity(e->act, v->tid, &cur) == 0) {
		v->affinity = p->cpus;
		return 0;
	}
	r = sbco_actuator_set_vcpu_affinity(e->act, v->tid,
					    vm->backend == SBCO_BACKEND_LIBVIRT ? vm->uuid : NULL,
					    v->index, &p->cpus);
	if (r == -ENOMEM)
		return r;
	notify(e, &(struct sbco_event){.kind = SBCO_EVENT_PLACE,
				       .vm = vm,
				       .vcpu = v->index,
				       .tid = v->tid,
				       .cpus = &p->cpus,
				       .err = r});
	if (r == 0) {
		v->affinity = p->cpus;
		e->st.placements++;
	} else if (r == -ESRCH) {
		e->st.vanished++;
	} else {
		e->st.action_errors++;
	}
	return 0;
}

/* Placement k of pl (n entries) with its VM's rotation rot: the VM's j-th placement takes
 * the CPUs of its (j + rot)-th, so its vCPUs stay on distinct stripes. */
static struct sbco_placement rotated(const struct sbco_placement *pl, size_t n, size_t k,
				     unsigned rot)
{
	struct sbco_placement out = pl[k];
	size_t m = 0, j = 0, want;

	for (size_t i = 0; i < n; i++)
		if (pl[i].vm == pl[k].vm) {
			j = i < k ? j + 1 : j;
			m++;
		}
	if (m < 2 || !(rot % m))
		return out;
	want = (j + rot) % m;
	for (size_t i = 0; i < n; i++)
		if (pl[i].vm == pl[k].vm && want-- == 0) {
			out.cpus = pl[i].cpus;
			break;
		}
	return out;
}

/* The rotation in force for the VM with this pid (0 when none). */
static unsigned rotation(const struct sbco_engine *e, int32_t pid)
{
	const struct vm_counter *c = find_counter(e, pid);

	return c ? (unsigned)c->hold.rotations : 0;
}

int sbco_engine_set_vms(struct sbco_engine *e, const struct sbco_vm_list *vms,
			const struct sbco_vm_policy *pol, const struct sbco_topology *topo)
{
	struct sbco_vm_list *copy = calloc(1, sizeof(*copy));
	struct sbco_vm_policy *pc = calloc(vms->nr + 1, sizeof(*pc));
	struct sbco_placement *pl = NULL, *act = NULL;
	bool *striped = calloc(vms->nr + 1, sizeof(*striped));
	size_t n = 0, na = 0;
	int r = 0;

	if (!copy || !pc || !striped)
		goto oom;
	for (size_t i = 0; i < vms->nr; i++)
		if (sbco_vm_list_add(copy, &vms->vms[i]) < 0)
			goto oom;
	memcpy(pc, pol, vms->nr * sizeof(*pc));
	if (topo)
		base_affinities(e, copy, &topo->online);
	if (topo && sbco_policy_stripes(copy, pc, topo, e->have_hk ? &e->hk : NULL, &pl, &n) < 0)
		goto oom;
	act = calloc(n + 1, sizeof(*act));
	if (!act)
		goto oom;
	sbco_vm_list_free(e->vms);
	free(e->pol);
	e->vms = copy;
	e->pol = pc;
	prune_counters(e);
	/* VMs whose anti-stacking is lifted after a stall keep their original CPUs */
	for (size_t i = 0; i < n; i++) {
		striped[pl[i].vm] = true;
		if (!lifted(e, copy->vms[pl[i].vm].pid))
			act[na++] = rotated(pl, n, i, rotation(e, copy->vms[pl[i].vm].pid));
	}
	for (size_t i = 0; i < na && r == 0; i++)
		r = place(e, copy, &act[i]);
	if (r == 0)
		unplace(e, copy, act, na);
	free(act);
	free(e->pl);
	free(e->striped);
	e->pl = pl;
	e->nr_pl = n;
	e->striped = striped;
	for (size_t v = 0; v < copy->nr && r == 0; v++)
		guard(e, v);
	return r;
oom:
	sbco_vm_list_free(copy);
	free(pc);
	free(pl);
	free(striped);
	return -ENOMEM;
}

struct orig_ctx {
	struct sbco_engine *e;
	const struct sbco_snapshot *s;
};

/* The ledger's view of a value before sbco touched it. */
static int64_t original(void *ud, int32_t tid, enum sbco_lever lever)
{
	struct orig_ctx *c = ud;
	const struct sbco_vcpu *v = vcpu_of(c->e, tid, NULL);
	int64_t x = 0;

	if (lever == SBCO_LEVER_SLICE) {
		for (size_t i = 0; i < c->s->nr_tasks; i++)
			if (c->s->tasks[i].pid == tid)
				return c->s->tasks[i].custom_slice ? c->s->tasks[i].slice_ns : 0;
		return 0;
	}
	if (lever == SBCO_LEVER_NICE)
		return c->e->ops->get_nice(c->e->ud, tid, &x) == 0 ? x : 0;
	if (v && v->cgroup && c->e->ops->get_weight(c->e->ud, v->cgroup, &x) == 0)
		return x;
	return 1024;
}

/* Does every vCPU of a VM in mode sbco have a cpu cgroup of its own (libvirt's vcpuN)? */
static bool own_cgroups(const struct sbco_engine *e)
{
	for (size_t v = 0; v < e->vms->nr; v++) {
		if (e->pol[v].mode != SBCO_MODE_SBCO)
			continue;
		for (size_t k = 0; k < e->vms->vms[v].nr_vcpus; k++) {
			const char *cg = e->vms->vms[v].vcpus[k].cgroup;
			const char *last = cg ? strrchr(cg, '/') : NULL;

			if (!last || strncmp(last, "/vcpu", 5) != 0)
				return false;
		}
	}
	return true;
}

/* Are all runnable vCPUs of s on a CPU right now (co-running)? */
static bool corunning(const struct sbco_snapshot *snap, const struct sbco_ordinates *o,
		      const struct sbco_vm_stat *s)
{
	for (size_t k = 0; k < s->nr_vcpus; k++) {
		size_t t = s->vcpus[k].task;

		if (o->task[t].runnable && !snap->tasks[t].current)
			return false;
	}
	return true;
}

static void count(struct sbco_engine *e, const struct sbco_snapshot *snap,
		  const struct sbco_ordinates *o, const struct sbco_vm_set *set,
		  enum sbco_mode *mode, double *alpha)
{
	for (size_t i = 0; i < set->nr_vms; i++) {
		const struct sbco_vm_stat *s = &set->vms[i];
		const struct sbco_vm *vm = sbco_vm_list_find_pid(e->vms, s->tgid);
		size_t idx = vm ? (size_t)(vm - e->vms->vms) : 0;

		mode[i] = vm ? e->pol[idx].mode : SBCO_MODE_OFF;
		alpha[i] = vm && e->pol[idx].alpha > 0 ? e->pol[idx].alpha : set->alpha;
		if (!vm || s->nr_runnable < 2)
			continue;
		if (s->distance > e->worst_distance) {
			e->worst_distance = s->distance;
			snprintf(e->worst_vm, sizeof(e->worst_vm), "%s", vm->name);
		}
		{
			bool over = s->nr_queues >= 2 && s->distance >= alpha[i] * s->q_size;
			struct sbco_vm_counts *c = counter_of(e, vm->pid);

			e->st.vm_samples++;
			e->st.stacked += s->stacked;
			e->st.exceeded += over;
			e->st.exceeded_any += s->distance >= alpha[i] * s->q_size;
			if (c) {
				c->samples++;
				c->stacked += s->stacked;
				c->exceeded += over;
				c->corun += corunning(snap, o, s);
			}
		}
	}
}

/* Guest stalls: detect them in every VM sbco knows and, in modes bal and sbco, rotate the
 * stripes of a stalled VM or lift its anti-stacking for a while (sbco_stall_step). A VM in
 * mode sbco that is stalled, lifted or rotated within hold_ns lends nothing this cycle
 * (mode[i] becomes bal; its loans are repaid): holding its leader back lengthens the
 * leader's slice, which the kernel propagates to the group entity that holds the CPU in
 * the trap, and a boost inside the starved vCPU's own group does not reach the queue it
 * waits on. */
static int stalls(struct sbco_engine *e, const struct sbco_snapshot *s,
		  const struct sbco_vm_set *set, enum sbco_mode *mode, uint64_t now)
{
	struct sbco_stall_vm *st = calloc(set->nr_vms + 1, sizeof(*st));

	if (!st || sbco_stall_update(&e->stall, s, set, &e->stall_cfg, now, st) < 0) {
		free(st);
		return -ENOMEM;
	}
	for (size_t i = 0; i < set->nr_vms; i++) {
		const struct sbco_vm *cvm = sbco_vm_list_find_pid(e->vms, set->vms[i].tgid);
		size_t v = cvm ? (size_t)(cvm - e->vms->vms) : 0;
		struct vm_counter *c = cvm ? vm_counter_of(e, cvm->pid) : NULL;
		bool striped;
		enum sbco_stall_step step;
		enum sbco_stall_answer answer;
		uint64_t before;

		if (!c)
			continue;
		before = c->hold.stalls;
		striped = e->striped && e->striped[v] && mode[i] != SBCO_MODE_OFF;
		step = sbco_stall_step(&c->hold, st[i].stalled, striped && e->stall_response,
				       &e->stall_cfg, now);
		answer = !striped		     ? SBCO_ANSWER_NOT_PLACED
			 : !e->stall_response	     ? SBCO_ANSWER_DETECT_ONLY
			 : step == SBCO_STALL_LIFT   ? SBCO_ANSWER_LIFTED
			 : step == SBCO_STALL_ROTATE ? SBCO_ANSWER_ROTATED
						     : SBCO_ANSWER_WAITING;
		e->st.stalls += c->hold.stalls - before;
		if (st[i].stalled) {
			c->c.stall_index = st[i].index;
			c->c.stall_tid = st[i].tid;
			c->c.starving_ns = st[i].starving_ns;
		}
		if (step == SBCO_STALL_LIFT || step == SBCO_STALL_ROTATE ||
		    c->hold.stalls != before)
			notify(e, &(struct sbco_event){
				      .kind = SBCO_EVENT_STALL,
				      .vm = &e->vms->vms[v],
				      .vcpu = st[i].index,
				      .tid = st[i].tid,
				      .starving_ns = st[i].starving_ns,
				      .hold_ns = step == SBCO_STALL_LIFT ? c->hold.hold_ns : 0,
				      .answer = answer});
		if (mode[i] == SBCO_MODE_SBCO && e->stall_response &&
		    (c->hold.stalled || c->hold.lifted ||
		     (c->hold.rotated_ns && now - c->hold.rotated_ns < e->stall_cfg.hold_ns)))
			mode[i] = SBCO_MODE_BAL;
		if (step == SBCO_STALL_PLACE)
			notify(e, &(struct sbco_event){.kind = SBCO_EVENT_STALL_OVER,
						       .vm = &e->vms->vms[v],
						       .vcpu = -1});
		for (size_t k = 0; k < e->vms->vms[v].nr_vcpus && step == SBCO_STALL_LIFT; k++)
			unplace_vcpu(e, &e->vms->vms[v], &e->vms->vms[v].vcpus[k]);
		if (step == SBCO_STALL_LIFT || step == SBCO_STALL_PLACE)
			guard(e, v);
		for (size_t k = 0;
		     k < e->nr_pl && (step == SBCO_STALL_PLACE || step == SBCO_STALL_ROTATE); k++) {
			struct sbco_placement p;

			if (e->pl[k].vm != v)
				continue;
			p = rotated(e->pl, e->nr_pl, k, (unsigned)c->hold.rotations);
			if (place(e, e->vms, &p) < 0) {
				free(st);
				return -ENOMEM;
			}
		}
	}
	free(st);
	return 0;
}

/* A patch with pick-time balancing ("pick"): every VM is registered there, so the kernel
 * counts its exact threshold-exceed rate at every pick. With the kernel lever and
 * balance.kernel_pick "lend", the kernel also runs Algorithm 1 for each VM whose mode is
 * sbco this cycle, and userspace lends nothing to those (mode[i] becomes bal here). */
static int kernel_pick(struct sbco_engine *e, const struct sbco_vm_set *set, enum sbco_mode *mode,
		       enum sbco_lever lever)
{
	bool lend = lever == SBCO_LEVER_KERNEL && e->bal.kernel_pick_lend;
	struct sbco_vm_policy *pol;
	int r;

	if (!e->kpick_cap)
		return 0;
	if (!e->kpick && (r = sbco_kpick_new(e->ops, e->ud, &e->kpick)) < 0) {
		e->kpick_cap = false; /* the userspace loans through /proc/sbco/lend instead */
		e->kpick_refused = true;
		notify(e, &(struct sbco_event){.kind = SBCO_EVENT_KPICK_OFF, .vcpu = -1, .err = r});
		return 0;
	}
	pol = calloc(e->vms->nr + 1, sizeof(*pol));
	if (!pol)
		return -ENOMEM;
	memcpy(pol, e->pol, e->vms->nr * sizeof(*pol));
	for (size_t i = 0; i < set->nr_vms; i++) { /* the mode of this cycle (stalls) */
		const struct sbco_vm *vm = sbco_vm_list_find_pid(e->vms, set->vms[i].tgid);

		if (vm)
			pol[vm - e->vms->vms].mode = mode[i];
	}
	for (size_t v = 0; v < e->vms->nr; v++) /* sbco: the kernel lends; else it counts */
		pol[v].mode =
		    lend && pol[v].mode == SBCO_MODE_SBCO ? SBCO_MODE_SBCO : SBCO_MODE_BAL;
	r = sbco_kpick_sync(e->kpick, e->vms, pol, set->alpha);
	free(pol);
	for (size_t i = 0; i < set->nr_vms; i++)
		if (mode[i] == SBCO_MODE_SBCO && sbco_kpick_lends(e->kpick, set->vms[i].tgid))
			mode[i] = SBCO_MODE_BAL;
	return r < 0 ? r : 0;
}

static void apply(struct sbco_engine *e, const struct sbco_snapshot *s, const struct sbco_action *a,
		  int n)
{
	for (int i = 0; i < n; i++) {
		size_t vm = 0;
		const struct sbco_vcpu *v = vcpu_of(e, a[i].tid, &vm);
		int64_t orig_slice = 0;
		int r;

		for (size_t t = 0; t < s->nr_tasks; t++)
			if (s->tasks[t].pid == a[i].tid && s->tasks[t].custom_slice)
				orig_slice = s->tasks[t].slice_ns;
		r = sbco_actuator_apply(e->act, &a[i],
					v ? vcpu_group(e, e->vms->vms[vm].pid, v->cgroup) : NULL,
					orig_slice);
		notify(e, &(struct sbco_event){.kind = SBCO_EVENT_NUDGE,
					       .vm = v ? &e->vms->vms[vm] : NULL,
					       .vcpu = v ? v->index : -1,
					       .tid = a[i].tid,
					       .action = &a[i],
					       .err = r});
		if (r == 0 && v) {
			struct sbco_vm_counts *c = counter_of(e, e->vms->vms[vm].pid);

			if (c)
				c->nudges++;
		}
		if (r == 0)
			e->st.actions++;
		else if (r == -ESRCH)
			e->st.vanished++;
		else
			e->st.action_errors++;
	}
}

int sbco_engine_cycle(struct sbco_engine *e, const char *dump, size_t len, uint64_t now_ns,
		      char *err, size_t err_len)
{
	struct sbco_snapshot *s = NULL;
	struct sbco_ordinates *o = NULL;
	struct sbco_vm_set *set = NULL;
	struct sbco_action *a = NULL;
	enum sbco_mode *mode = NULL;
	struct sbco_balance_cfg bal;
	double *alpha = NULL;
	int r;

	r = sbco_dump_parse(dump, len, &s, err, err_len);
	if (r < 0)
		return r;
	r = sbco_ordinates_compute(s, &o);
	if (r == 0)
		r = sbco_vms_analyze(s, o, e->pat, sbco_tgid_from_proc, e->root, 2.0 / 3, &set);
	if (r < 0)
		goto out;
	mode = calloc(set->nr_vms + 1, sizeof(*mode));
	alpha = calloc(set->nr_vms + 1, sizeof(*alpha));
	if (!mode || !alpha) {
		r = -ENOMEM;
		goto out;
	}
	e->st.cycles++;
	e->worst_distance = 0;
	e->worst_vm[0] = '\0';
	count(e, s, o, set, mode, alpha);
	r = stalls(e, s, set, mode, now_ns);
	if (r < 0)
		goto out;
	bal = e->bal;
	if (e->nr_levers) {
		r = sbco_lever_pick(e->levers, e->nr_levers, s->kernel_major, s->kernel_minor,
				    own_cgroups(e), e->kpatch);
		if (r < 0) { /* no allowed lever works here: measure only */
			e->lever = SBCO_LEVER_AUTO;
			r = 0;
			goto out;
		}
		bal.lever = (enum sbco_lever)r;
	} else {
		bal.lever = sbco_lever_resolve(bal.lever, s->kernel_major, s->kernel_minor,
					       own_cgroups(e), e->kpatch);
	}
	e->lever = bal.lever;
	r = kernel_pick(e, set, mode, bal.lever);
	if (r < 0)
		goto out;
	if (bal.lever == SBCO_LEVER_KERNEL) /* loans are sized in real turns */
		set->slot_ns = sbco_slot_estimate(s, o);
	r = sbco_policy_balance(s, set, mode, alpha, &bal, original,
				&(struct orig_ctx){.e = e, .s = s}, &e->ledger, now_ns, &a);
	if (r > 0)
		apply(e, s, a, r);
out:
	free(a);
	free(mode);
	free(alpha);
	if (r >= 0 && set) { /* keep the good cycle's view; drop the one before */
		sbco_snapshot_free(e->last_snap);
		sbco_ordinates_free(e->last_ord);
		sbco_vm_set_free(e->last_set);
		e->last_snap = s;
		e->last_ord = o;
		e->last_set = set;
		return r;
	}
	sbco_vm_set_free(set);
	sbco_ordinates_free(o);
	sbco_snapshot_free(s);
	return r;
}

void sbco_engine_get_stats(const struct sbco_engine *e, struct sbco_engine_stats *ret)
{
	*ret = e->st;
	ret->stalled_vms = ret->lifted_vms = 0;
	for (size_t i = 0; i < e->nr_counters; i++) {
		ret->stalled_vms += e->counters[i].hold.stalled;
		ret->lifted_vms += e->counters[i].hold.lifted;
	}
}

void sbco_engine_set_stall(struct sbco_engine *e, const struct sbco_stall_cfg *cfg, bool respond)
{
	if (cfg)
		e->stall_cfg = *cfg;
	e->stall_response = respond;
}

void sbco_engine_set_pinner(struct sbco_engine *e, sbco_pin_fn pin, void *userdata)
{
	sbco_actuator_set_pinner(e->act, pin, userdata);
}

void sbco_engine_restore(struct sbco_engine *e, struct sbco_restore_stats *ret)
{
	sbco_actuator_restore_all(e->act, ret);
	sbco_ledger_clear(&e->ledger);
	e->kpick = sbco_kpick_free(e->kpick);
	forget_groups(e);
}

void sbco_engine_last(const struct sbco_engine *e, const struct sbco_snapshot **ret_snap,
		      const struct sbco_ordinates **ret_ord, const struct sbco_vm_set **ret_set)
{
	*ret_snap = e->last_snap;
	*ret_ord = e->last_ord;
	*ret_set = e->last_set;
}

const struct sbco_vm_list *sbco_engine_vms(const struct sbco_engine *e,
					   const struct sbco_vm_policy **ret_pol)
{
	if (ret_pol)
		*ret_pol = e->pol;
	return e->vms;
}
