/* SPDX-License-Identifier: MIT */
/*
 * sbcod's read-only control requests: status (with the kernel's capabilities and what a
 * cycle costs), vms, distance (per vCPU, with nudges in flight and debts), runqueue (the
 * Fig. 3a view of each queue) and metrics (Prometheus text).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "sbco_json.h"

static const struct sbco_vm *vm_of_tid(const struct sbco_vm_list *l, int32_t tid, size_t *ret_i)
{
	for (size_t i = 0; i < l->nr; i++)
		for (size_t k = 0; k < l->vms[i].nr_vcpus; k++)
			if (l->vms[i].vcpus[k].tid == tid) {
				if (ret_i)
					*ret_i = i;
				return &l->vms[i];
			}
	return NULL;
}

static cJSON *kernel_info(struct daemon *d)
{
	static const enum sbco_lever levers[] = {SBCO_LEVER_KERNEL, SBCO_LEVER_SLICE,
						 SBCO_LEVER_WEIGHT, SBCO_LEVER_NICE};
	const struct sbco_snapshot *s;
	const struct sbco_ordinates *o;
	const struct sbco_vm_set *set;
	cJSON *k = cJSON_CreateObject(), *lv;
	char ver[128], kv[32];
	bool eevdf = false;

	sbco_engine_last(d->eng, &s, &o, &set);
	cJSON_AddStringToObject(k, "dump", d->dump_path ? d->dump_path : "");
	cJSON_AddStringToObject(k, "release", s && s->release ? s->release : "");
	snprintf(kv, sizeof(kv), "%d.%d", s ? s->kernel_major : 0, s ? s->kernel_minor : 0);
	cJSON_AddStringToObject(k, "version", s && s->kernel_major ? kv : "");
	for (size_t c = 0; o && c < o->nr_cpus; c++)
		eevdf |= o->cpu[c].eevdf;
	cJSON_AddStringToObject(k, "pick", !s ? "" : eevdf ? "EEVDF" : "CFS");
	cJSON_AddNumberToObject(k, "base_slice_ms", s ? (double)s->base_slice_ns / 1e6 : 0);
	lv = cJSON_AddObjectToObject(k, "levers");
	for (size_t i = 0; i < sizeof(levers) / sizeof(levers[0]); i++)
		cJSON_AddBoolToObject(lv, sbco_lever_name(levers[i]),
				      sbco_engine_lever_works(d->eng, levers[i]));
	cJSON_AddStringToObject(k, "lever_in_use",
				sbco_engine_lever(d->eng) == SBCO_LEVER_AUTO
				    ? "none"
				    : sbco_lever_name(sbco_engine_lever(d->eng)));
	cJSON_AddStringToObject(k, "kernel_pick", sbco_engine_kernel_pick(d->eng));
	if (sbco_kpatch_detect(d->root, ver, sizeof(ver)) == 0)
		cJSON_AddStringToObject(k, "kernel_patch", ver);
	else
		cJSON_AddNullToObject(k, "kernel_patch");
	return k;
}

static cJSON *cycle_info(struct daemon *d)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddNumberToObject(c, "interval_ms", d->cfg->interval_ms);
	cJSON_AddNumberToObject(c, "last_read_ms", (double)d->cost.read_ns / 1e6);
	cJSON_AddNumberToObject(c, "last_policy_ms", (double)d->cost.cycle_ns / 1e6);
	cJSON_AddNumberToObject(c, "avg_ms",
				d->cost.n ? (double)d->cost.sum_ns / (double)d->cost.n / 1e6 : 0);
	cJSON_AddNumberToObject(c, "max_ms", (double)d->cost.max_ns / 1e6);
	cJSON_AddNumberToObject(c, "dump_bytes", (double)d->cost.dump_bytes);
	cJSON_AddNumberToObject(c, "slow", (double)d->cost.slow);
	return c;
}

cJSON *query_status(struct daemon *d, const struct sbco_request *req)
{
	struct sbco_engine_stats st;
	cJSON *r = cJSON_CreateObject();
	char sum[256];

	(void)req;
	sbco_engine_get_stats(d->eng, &st);
	sbco_engine_summary(d->eng, sum, sizeof(sum));
	cJSON_AddBoolToObject(r, "ok", true);
	cJSON_AddBoolToObject(r, "ready", d->ready);
	cJSON_AddStringToObject(r, "summary", sum);
	cJSON_AddStringToObject(r, "config", d->config_path);
	cJSON_AddStringToObject(r, "mode", sbco_mode_name(d->cfg->mode));
	cJSON_AddNumberToObject(r, "interval_ms", d->cfg->interval_ms);
	cJSON_AddBoolToObject(r, "libvirt_connected", d->lv && sbco_libvirt_connected(d->lv));
	cJSON_AddNumberToObject(r, "cycles", (double)st.cycles);
	cJSON_AddNumberToObject(r, "failed_cycles_in_a_row", (double)d->fail_streak);
	cJSON_AddNumberToObject(r, "failed_cycles", (double)d->cycles_bad);
	cJSON_AddStringToObject(r, "last_error", d->last_error);
	cJSON_AddNumberToObject(r, "reloads", (double)d->reloads);
	cJSON_AddNumberToObject(r, "reload_errors", (double)d->reload_errors);
	cJSON_AddNumberToObject(r, "actions", (double)st.actions);
	cJSON_AddNumberToObject(r, "action_errors", (double)st.action_errors);
	cJSON_AddNumberToObject(r, "vanished", (double)st.vanished);
	cJSON_AddNumberToObject(r, "placements", (double)st.placements);
	cJSON_AddNumberToObject(r, "stalls", (double)st.stalls);
	cJSON_AddNumberToObject(r, "stalled_vms", st.stalled_vms);
	cJSON_AddNumberToObject(r, "stall_lifted_vms", st.lifted_vms);
	cJSON_AddItemToObject(r, "kernel", kernel_info(d));
	cJSON_AddItemToObject(r, "cycle", cycle_info(d));
	return r;
}

cJSON *query_vms(struct daemon *d, const struct sbco_request *req)
{
	const struct sbco_vm_policy *pol;
	const struct sbco_vm_list *l = sbco_engine_vms(d->eng, &pol);
	cJSON *r = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(r, "vms");
	char aff[4096];

	(void)req;
	cJSON_AddBoolToObject(r, "ok", true);
	for (size_t i = 0; i < l->nr; i++) {
		const struct sbco_vm *vm = &l->vms[i];
		cJSON *o = cJSON_CreateObject(), *vc = cJSON_AddArrayToObject(o, "vcpus");

		cJSON_AddStringToObject(o, "name", vm->name);
		cJSON_AddStringToObject(o, "uuid", vm->uuid);
		cJSON_AddStringToObject(o, "backend",
					vm->backend == SBCO_BACKEND_LIBVIRT ? "libvirt" : "proc");
		cJSON_AddNumberToObject(o, "pid", vm->pid);
		sbco_json_vm_policy(o, vm, &pol[i]);
		if (i < d->nr_pol_since)
			cJSON_AddNumberToObject(o, "policy_since_cycle", (double)d->pol_since[i]);
		cJSON_AddBoolToObject(o, "pinned", vm->pinned);
		for (size_t k = 0; k < vm->nr_vcpus; k++) {
			cJSON *x = cJSON_CreateObject();

			if (sbco_cpuset_format(&vm->vcpus[k].affinity, aff, sizeof(aff)) < 0)
				aff[0] = '\0';
			cJSON_AddNumberToObject(x, "index", vm->vcpus[k].index);
			cJSON_AddNumberToObject(x, "tid", vm->vcpus[k].tid);
			cJSON_AddStringToObject(x, "affinity", aff);
			cJSON_AddItemToArray(vc, x);
		}
		cJSON_AddItemToArray(arr, o);
	}
	return r;
}

/* One vCPU of the distance reply: where it is, its turn, and sbco's loan to it. */
static cJSON *vcpu_json(struct daemon *d, const struct sbco_snapshot *s,
			const struct sbco_ordinates *o, const struct sbco_vm_vcpu *v)
{
	const struct sbco_task *t = &s->tasks[v->task];
	const struct sbco_ordinate *od = &o->task[v->task];
	const struct sbco_ledger *lg = sbco_engine_ledger(d->eng);
	cJSON *x = cJSON_CreateObject();

	cJSON_AddNumberToObject(x, "index", v->index);
	cJSON_AddNumberToObject(x, "tid", v->tid);
	cJSON_AddNumberToObject(x, "cpu", s->cpus[t->cpu].id);
	cJSON_AddStringToObject(x, "state", (char[]){t->current ? '>' : t->state, 0});
	cJSON_AddBoolToObject(x, "runnable", od->runnable);
	cJSON_AddNumberToObject(x, "ordinate", od->ordinate);
	cJSON_AddNumberToObject(x, "wait_ns", (double)od->wait_ns);
	for (size_t i = 0; i < lg->n; i++) {
		const struct sbco_ledger_entry *e = &lg->e[i];
		cJSON *n;

		if (e->tid != v->tid)
			continue;
		n = cJSON_AddObjectToObject(x, "nudge");
		cJSON_AddStringToObject(n, "lever", sbco_lever_name(e->lever));
		cJSON_AddNumberToObject(n, "value", (double)e->current);
		cJSON_AddNumberToObject(n, "original", (double)e->original);
		cJSON_AddBoolToObject(n, "dirty", e->dirty);
		cJSON_AddBoolToObject(n, "repaying", e->repaying);
		cJSON_AddNumberToObject(n, "debt", e->balance);
	}
	return x;
}

cJSON *query_distance(struct daemon *d, const struct sbco_request *req)
{
	const struct sbco_snapshot *s;
	const struct sbco_ordinates *o;
	const struct sbco_vm_set *set;
	const struct sbco_vm_policy *pol;
	const struct sbco_vm_list *l = sbco_engine_vms(d->eng, &pol);
	const char *only = req->vm[0] ? req->vm : NULL;
	cJSON *r, *arr;
	char msg[160];

	sbco_engine_last(d->eng, &s, &o, &set);
	if (!set)
		return error_reply("no good cycle yet");
	r = cJSON_CreateObject();
	cJSON_AddBoolToObject(r, "ok", true);
	arr = cJSON_AddArrayToObject(r, "vms");
	for (size_t i = 0; i < set->nr_vms; i++) {
		const struct sbco_vm_stat *v = &set->vms[i];
		const struct sbco_vm *vm = sbco_vm_list_find_pid(l, v->tgid);
		const char *name = vm ? vm->name : v->name;
		double alpha =
		    vm && pol[vm - l->vms].alpha > 0 ? pol[vm - l->vms].alpha : set->alpha;
		struct sbco_vm_counts cnt;
		cJSON *x, *c, *vc;

		if (only && strcmp(only, name))
			continue;
		x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "name", name);
		cJSON_AddStringToObject(x, "uuid", vm ? vm->uuid : "");
		cJSON_AddStringToObject(x, "mode",
					vm ? sbco_mode_name(pol[vm - l->vms].mode) : "unmanaged");
		sbco_json_vm_stat(x, v, alpha);
		sbco_engine_vm_counts(d->eng, v->tgid, &cnt);
		c = cJSON_AddObjectToObject(x, "counts");
		cJSON_AddNumberToObject(c, "samples", (double)cnt.samples);
		cJSON_AddNumberToObject(c, "stacked", (double)cnt.stacked);
		cJSON_AddNumberToObject(c, "exceeded", (double)cnt.exceeded);
		cJSON_AddNumberToObject(c, "nudges", (double)cnt.nudges);
		cJSON_AddNumberToObject(c, "stalls", (double)cnt.stalls);
		cJSON_AddNumberToObject(c, "stalled_s", (double)cnt.stalled_ns / 1e9);
		cJSON_AddNumberToObject(c, "stall_lifts", (double)cnt.lifts);
		cJSON_AddNumberToObject(c, "stall_rotations", (double)cnt.rotations);
		c = cJSON_AddObjectToObject(x, "stall");
		cJSON_AddBoolToObject(c, "stalled", cnt.stalled);
		cJSON_AddBoolToObject(c, "antistacking_lifted", cnt.lifted);
		cJSON_AddBoolToObject(c, "prevented", cnt.prevented);
		cJSON_AddNumberToObject(c, "vcpu", cnt.stall_index);
		cJSON_AddNumberToObject(c, "tid", cnt.stall_tid);
		cJSON_AddNumberToObject(c, "starving_s", (double)cnt.starving_ns / 1e9);
		vc = cJSON_AddArrayToObject(x, "vcpus");
		for (size_t k = 0; k < v->nr_vcpus; k++)
			cJSON_AddItemToArray(vc, vcpu_json(d, s, o, &v->vcpus[k]));
		cJSON_AddItemToArray(arr, x);
	}
	if (only && cJSON_GetArraySize(arr) == 0) {
		cJSON_Delete(r);
		snprintf(msg, sizeof(msg),
			 "no VM named '%.64s' in the last sample (sbcoctl daemon-vms lists them)",
			 only);
		return error_reply(msg);
	}
	return r;
}

static cJSON *task_json(const struct sbco_task *t, const struct sbco_ordinate *od,
			const struct sbco_vm *vm)
{
	cJSON *y = cJSON_CreateObject();

	cJSON_AddStringToObject(y, "state", (char[]){t->current ? '>' : t->state, 0});
	cJSON_AddNumberToObject(y, "pid", t->pid);
	cJSON_AddStringToObject(y, "comm", t->comm);
	cJSON_AddNumberToObject(y, "key_ns", (double)t->vruntime_ns);
	if (t->have & SBCO_HAVE_ELIGIBLE)
		cJSON_AddBoolToObject(y, "eligible", t->eligible);
	if (t->have & SBCO_HAVE_DEADLINE)
		cJSON_AddNumberToObject(y, "deadline_ns", (double)t->deadline_ns);
	cJSON_AddNumberToObject(y, "ordinate", od->ordinate);
	cJSON_AddNumberToObject(y, "wait_ns", (double)od->wait_ns);
	if (vm)
		cJSON_AddStringToObject(y, "vm", vm->name);
	return y;
}

cJSON *query_runqueue(struct daemon *d, const struct sbco_request *req)
{
	const struct sbco_snapshot *s;
	const struct sbco_ordinates *o;
	const struct sbco_vm_set *set;
	const struct sbco_vm_list *l = sbco_engine_vms(d->eng, NULL);
	cJSON *r, *cpus;
	bool found = false;

	sbco_engine_last(d->eng, &s, &o, &set);
	if (!s)
		return error_reply("no good cycle yet");
	r = cJSON_CreateObject();
	cJSON_AddBoolToObject(r, "ok", true);
	cpus = cJSON_AddArrayToObject(r, "cpus");
	for (size_t c = 0; c < s->nr_cpus; c++) {
		const struct sbco_cpu *cpu = &s->cpus[c];
		cJSON *x, *tasks;

		if (req->has_cpu && cpu->id != req->cpu)
			continue;
		found = true;
		x = cJSON_CreateObject();
		cJSON_AddNumberToObject(x, "cpu", cpu->id);
		cJSON_AddStringToObject(x, "pick", o->cpu[c].eevdf ? "EEVDF" : "CFS");
		cJSON_AddNumberToObject(x, "nr_runnable", o->cpu[c].nr_runnable);
		cJSON_AddNumberToObject(x, "nr_rt", o->cpu[c].nr_rt);
		tasks = cJSON_AddArrayToObject(x, "tasks");
		/* in pick order: ordinates are 0..n-1, one pass per position keeps it simple */
		for (uint32_t pos = 0; pos < o->cpu[c].nr_runnable; pos++)
			for (uint32_t k = 0; k < cpu->nr_tasks; k++) {
				const struct sbco_task *t = &s->tasks[cpu->first_task + k];
				const struct sbco_ordinate *od = &o->task[cpu->first_task + k];

				if (od->runnable && (uint32_t)od->ordinate == pos)
					cJSON_AddItemToArray(
					    tasks, task_json(t, od, vm_of_tid(l, t->pid, NULL)));
			}
		cJSON_AddItemToArray(cpus, x);
	}
	if (req->has_cpu && !found) {
		cJSON_Delete(r);
		return error_reply("runqueue: no such CPU in the last sample");
	}
	return r;
}

/* Prometheus text exposition format, as one JSON string ("text"). */
cJSON *query_metrics(struct daemon *d, const struct sbco_request *req)
{
	char *buf = NULL;
	size_t len = 0;
	cJSON *r;

	(void)req;
	if (daemon_metrics_text(d, &buf, &len) < 0)
		return error_reply("metrics: out of memory");
	r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "text", buf ? buf : "");
	free(buf);
	return r;
}
