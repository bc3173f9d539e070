/* SPDX-License-Identifier: MIT */
/*
 * Rendering for sbcoctl analyze/snapshot: per run queue the paper's Fig. 3a table (PID,
 * key, eligible, COMMAND, ORDER, VM) in pick order, then one line per VM with stacking and
 * scheduling distance; or all of it as one JSON object (cJSON).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "output.h"
#include "sbco_json.h"

static const char *layout_name(enum sbco_dump_layout l)
{
	switch (l) {
	case SBCO_LAYOUT_CFS_EXEC:
	case SBCO_LAYOUT_CFS_WAIT:
		return "CFS";
	case SBCO_LAYOUT_EEVDF_OLD:
	case SBCO_LAYOUT_EEVDF:
		return "EEVDF";
	default:
		return "unknown";
	}
}

static double ms(int64_t ns)
{
	return (double)ns / 1e6;
}

static int cmp_order(const void *a, const void *b, void *arg)
{
	const struct sbco_ordinates *o = arg;
	int32_t x = o->task[*(const size_t *)a].ordinate, y = o->task[*(const size_t *)b].ordinate;

	if (x < 0)
		x = INT32_MAX;
	if (y < 0)
		y = INT32_MAX;
	return (x > y) - (x < y);
}

static void print_cpu(const struct sbco_snapshot *s, const struct sbco_ordinates *o,
		      const char **vm_of, size_t ci, const struct out_opts *oo, size_t *idx)
{
	const struct sbco_cpu *c = &s->cpus[ci];
	size_t n = 0;

	printf("\ncpu#%d  runnable %u  rt %u  pick %s\n", c->id, o->cpu[ci].nr_runnable,
	       o->cpu[ci].nr_rt, o->cpu[ci].eevdf ? "EEVDF" : "CFS");
	for (uint32_t k = 0; k < c->nr_tasks; k++) {
		size_t ti = c->first_task + k;

		if (oo->all || o->task[ti].runnable)
			idx[n++] = ti;
	}
	if (!n)
		return;
	qsort_r(idx, n, sizeof(*idx), cmp_order, (void *)o);
	printf("  %2s %7s %16s %1s %16s  %-15s %5s %9s  %s\n", "S", "PID", "key", "E", "deadline",
	       "COMMAND", "ORDER", "wait(ms)", "VM");
	for (size_t i = 0; i < n; i++) {
		const struct sbco_task *t = &s->tasks[idx[i]];
		const struct sbco_ordinate *od = &o->task[idx[i]];
		char order[16] = "-", wait[24] = "-", dl[24] = "-";

		if (od->runnable) {
			snprintf(order, sizeof(order), "%d", od->ordinate);
			snprintf(wait, sizeof(wait), "%.3f", ms(od->wait_ns));
		}
		if (t->have & SBCO_HAVE_DEADLINE)
			snprintf(dl, sizeof(dl), "%.6f", ms(t->deadline_ns));
		printf("  %c%c %7d %16.6f %1s %16s  %-15s %5s %9s  %s\n", t->current ? '>' : ' ',
		       t->state, t->pid, ms(t->vruntime_ns),
		       (t->have & SBCO_HAVE_ELIGIBLE) ? (t->eligible ? "E" : "N") : "-", dl,
		       t->comm, order, wait, vm_of[idx[i]] ? vm_of[idx[i]] : "");
	}
}

static void print_text(const struct sbco_snapshot *s, const struct sbco_ordinates *o,
		       const struct sbco_vm_set *vms, const char **vm_of, const struct out_opts *oo,
		       size_t *idx)
{
	printf("source %s  kernel %s  cpus %zu  tasks %zu  layout %s", oo->source,
	       s->release ? s->release : "unknown", s->nr_cpus, s->nr_tasks,
	       s->nr_cpus ? layout_name(s->cpus[0].layout) : "unknown");
	if (s->skipped_lines)
		printf("  skipped %u lines (first: %u)", s->skipped_lines, s->first_skipped);
	if (s->truncated)
		printf("  TRUNCATED");
	printf("\n");
	for (size_t ci = 0; ci < s->nr_cpus; ci++)
		print_cpu(s, o, vm_of, ci, oo, idx);
	printf("\n%-20s %5s %8s %7s %8s %10s %4s %9s %7s\n", "VM", "vCPUs", "runnable", "stacked",
	       "distance", "dist(ms)", "Q", "threshold", "exceeds");
	for (size_t i = 0; i < vms->nr_vms; i++) {
		const struct sbco_vm_stat *v = &vms->vms[i];

		printf("%-20s %5zu %8u %7s %8d %10.3f %4u %9.2f %7s\n", v->name, v->nr_vcpus,
		       v->nr_runnable, v->stacked ? "yes" : "no", v->distance, ms(v->distance_ns),
		       v->q_size, vms->alpha * v->q_size, v->exceeds ? "YES" : "no");
	}
	if (!vms->nr_vms)
		printf("(no vCPU threads found)\n");
}

int out_print_json(cJSON *root)
{
	char *txt = root ? cJSON_Print(root) : NULL;

	cJSON_Delete(root);
	if (!txt)
		return -ENOMEM;
	puts(txt);
	free(txt);
	return 0;
}

static cJSON *task_json(const struct sbco_snapshot *s, const struct sbco_ordinates *o,
			const char **vm_of, size_t ti)
{
	const struct sbco_task *t = &s->tasks[ti];
	cJSON *j = cJSON_CreateObject();
	char st[2] = {t->state, 0};

	cJSON_AddNumberToObject(j, "pid", t->pid);
	cJSON_AddStringToObject(j, "comm", t->comm);
	cJSON_AddStringToObject(j, "state", st);
	cJSON_AddBoolToObject(j, "current", t->current);
	cJSON_AddNumberToObject(j, "vruntime_ns", (double)t->vruntime_ns);
	if (t->have & SBCO_HAVE_ELIGIBLE)
		cJSON_AddBoolToObject(j, "eligible", t->eligible);
	if (t->have & SBCO_HAVE_DEADLINE)
		cJSON_AddNumberToObject(j, "deadline_ns", (double)t->deadline_ns);
	if (t->have & SBCO_HAVE_SLICE) {
		cJSON_AddNumberToObject(j, "slice_ns", (double)t->slice_ns);
		cJSON_AddBoolToObject(j, "custom_slice", t->custom_slice);
	}
	cJSON_AddNumberToObject(j, "prio", t->prio);
	cJSON_AddStringToObject(j, "group", t->group_path);
	cJSON_AddBoolToObject(j, "runnable", o->task[ti].runnable);
	if (o->task[ti].runnable) {
		cJSON_AddNumberToObject(j, "ordinate", o->task[ti].ordinate);
		cJSON_AddNumberToObject(j, "wait_ns", (double)o->task[ti].wait_ns);
	}
	if (vm_of[ti])
		cJSON_AddStringToObject(j, "vm", vm_of[ti]);
	return j;
}

static cJSON *vm_json(const struct sbco_snapshot *s, const struct sbco_ordinates *o,
		      const struct sbco_vm_set *vms, const struct sbco_vm_stat *v)
{
	cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "vcpus");

	cJSON_AddStringToObject(j, "name", v->name);
	cJSON_AddStringToObject(j, "group", v->group);
	sbco_json_vm_stat(j, v, vms->alpha);
	for (size_t i = 0; i < v->nr_vcpus; i++) {
		const struct sbco_vm_vcpu *vc = &v->vcpus[i];
		cJSON *x = cJSON_CreateObject();

		cJSON_AddNumberToObject(x, "index", vc->index);
		cJSON_AddNumberToObject(x, "tid", vc->tid);
		cJSON_AddNumberToObject(x, "cpu", s->cpus[s->tasks[vc->task].cpu].id);
		cJSON_AddBoolToObject(x, "runnable", o->task[vc->task].runnable);
		cJSON_AddNumberToObject(x, "ordinate", o->task[vc->task].ordinate);
		cJSON_AddNumberToObject(x, "wait_ns", (double)o->task[vc->task].wait_ns);
		cJSON_AddBoolToObject(x, "leader", v->leader == (int32_t)i);
		cJSON_AddBoolToObject(x, "laggard", v->laggard == (int32_t)i);
		cJSON_AddItemToArray(arr, x);
	}
	return j;
}

static int print_json(const struct sbco_snapshot *s, const struct sbco_ordinates *o,
		      const struct sbco_vm_set *vms, const char **vm_of, const struct out_opts *oo)
{
	cJSON *root = cJSON_CreateObject(), *cpus, *arr;

	if (!root)
		return -ENOMEM;
	cJSON_AddStringToObject(root, "source", oo->source);
	if (s->release)
		cJSON_AddStringToObject(root, "kernel", s->release);
	cJSON_AddNumberToObject(root, "lines", s->lines);
	cJSON_AddNumberToObject(root, "skipped_lines", s->skipped_lines);
	cJSON_AddBoolToObject(root, "truncated", s->truncated);
	cJSON_AddNumberToObject(root, "alpha", vms->alpha);
	cpus = cJSON_AddArrayToObject(root, "cpus");
	for (size_t ci = 0; ci < s->nr_cpus; ci++) {
		const struct sbco_cpu *c = &s->cpus[ci];
		cJSON *cj = cJSON_CreateObject(), *tasks;

		cJSON_AddNumberToObject(cj, "cpu", c->id);
		cJSON_AddStringToObject(cj, "pick", o->cpu[ci].eevdf ? "EEVDF" : "CFS");
		cJSON_AddNumberToObject(cj, "nr_runnable", o->cpu[ci].nr_runnable);
		cJSON_AddNumberToObject(cj, "nr_rt", o->cpu[ci].nr_rt);
		cJSON_AddNumberToObject(cj, "nr_tasks", c->nr_tasks);
		tasks = cJSON_AddArrayToObject(cj, "tasks");
		for (uint32_t k = 0; k < c->nr_tasks; k++)
			if (oo->all || o->task[c->first_task + k].runnable)
				cJSON_AddItemToArray(tasks,
						     task_json(s, o, vm_of, c->first_task + k));
		cJSON_AddItemToArray(cpus, cj);
	}
	arr = cJSON_AddArrayToObject(root, "vms");
	for (size_t i = 0; i < vms->nr_vms; i++)
		cJSON_AddItemToArray(arr, vm_json(s, o, vms, &vms->vms[i]));
	return out_print_json(root);
}

int out_analyze(const char *text, size_t len, const struct sbco_patterns *pat,
		const struct out_opts *oo, char *err, size_t err_len)
{
	struct sbco_snapshot *s = NULL;
	struct sbco_ordinates *o = NULL;
	struct sbco_vm_set *vms = NULL;
	const char **vm_of = NULL;
	size_t *idx = NULL;
	int r;

	r = sbco_dump_parse(text, len, &s, err, err_len);
	if (r < 0)
		return r;
	r = sbco_ordinates_compute(s, &o);
	if (r < 0)
		goto out;
	r = sbco_vms_analyze(s, o, pat, oo->live ? sbco_tgid_from_proc : NULL, (void *)oo->root,
			     oo->alpha, &vms);
	if (r < 0)
		goto out;
	vm_of = calloc(s->nr_tasks + 1, sizeof(*vm_of));
	idx = calloc(s->nr_tasks + 1, sizeof(*idx));
	if (!vm_of || !idx) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < vms->nr_vms; i++)
		for (size_t k = 0; k < vms->vms[i].nr_vcpus; k++)
			vm_of[vms->vms[i].vcpus[k].task] = vms->vms[i].name;
	if (oo->json)
		r = print_json(s, o, vms, vm_of, oo);
	else
		print_text(s, o, vms, vm_of, oo, idx);
out:
	free(idx);
	free(vm_of);
	sbco_vm_set_free(vms);
	sbco_ordinates_free(o);
	sbco_snapshot_free(s);
	return r;
}
