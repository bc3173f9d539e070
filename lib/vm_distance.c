/* SPDX-License-Identifier: MIT */
/*
 * Per-VM scheduling distance. Groups the vCPU threads of a snapshot into VMs (vcpu.c
 * explains the rules), then, from the ordinates, computes for each VM: which of its vCPUs
 * are runnable, whether two of them are stacked on one run queue, the scheduling distance
 * (largest ordinate difference among its runnable vCPUs, in positions and in estimated
 * wait), the leader and laggard, and whether the distance reaches the SBCO threshold
 * D_threshold = alpha * Q_size, Q_size being the longest run queue holding one of the VM's
 * runnable vCPUs (DESIGN.md, distance balancing).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbco.h"
#include "util.h"

struct cand {
	size_t task;
	int32_t tgid, pid;
	int index;
	const char *key; /* grouping key: the VM's cgroup */
	size_t key_len;
	bool vm_group; /* key is a per-VM cgroup (libvirt ".../vcpuN" parent) */
};

/* libvirt: /machine/qemu-1-tb1.libvirt-qemu/vcpu0 or /machine.slice/machine-qemu\x2d1\x2dtb1
 * .scope/libvirt/vcpu0: the VM is the path up to the vcpuN component (and a "libvirt" one). */
static void group_key(const char *path, struct cand *c)
{
	size_t n = strlen(path), i = n;

	c->key = path;
	c->key_len = n;
	c->vm_group = false;
	while (i > 0 && path[i - 1] != '/')
		i--;
	if (i > 0 && strncmp(path + i, "vcpu", 4) == 0 && is_digit(path[i + 4])) {
		i--;
		if (i >= 8 && strncmp(path + i - 8, "/libvirt", 8) == 0)
			i -= 8;
		c->key_len = i;
		c->vm_group = true;
	}
}

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int r;

	if (x->tgid != y->tgid) /* live: by process first; offline all tgids are 0 */
		return x->tgid < y->tgid ? -1 : 1;
	r = memcmp(x->key, y->key, n);
	if (r)
		return r;
	if (x->key_len != y->key_len)
		return x->key_len < y->key_len ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static bool same_key(const struct cand *a, const struct cand *b, bool live)
{
	if (live)
		return a->tgid == b->tgid;
	return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0;
}

/* Threads of several VMs sharing one non-VM group (offline, no tgid): in pid order, a vCPU
 * joins the most recently started VM whose highest index is below its own, else it starts
 * a new VM. VMMs create their vCPU threads in index order, so interleaved starts of two
 * VMs still come apart. Writes a VM number per candidate; returns the number of VMs. */
static size_t split_shared(const struct cand *c, size_t n, size_t *vm_of, int *max_idx)
{
	size_t nr = 0;

	for (size_t k = 0; k < n; k++) {
		size_t v = nr;

		if (c[k].index >= 0)
			for (v = nr; v-- > 0;)
				if (max_idx[v] < c[k].index)
					break;
		if (c[k].index < 0)
			v = nr ? nr - 1 : 0; /* no index ("qemu-kvm"): one VM per group */
		if (v == (size_t)-1 || v >= nr) {
			v = nr++;
			max_idx[v] = -1;
		}
		vm_of[k] = v;
		if (c[k].index > max_idx[v])
			max_idx[v] = c[k].index;
	}
	return nr;
}

/* "qemu-1-tb1.libvirt-qemu" -> "tb1"; "machine-qemu\x2d1\x2dtb1.scope" -> "tb1". */
static void vm_name(const struct cand *c, bool live, char *out, size_t len)
{
	const char *p = c->key, *end = c->key + c->key_len, *last = p;
	char buf[256];
	size_t n;

	for (const char *q = p; q < end; q++)
		if (*q == '/')
			last = q + 1;
	n = (size_t)(end - last);
	if (c->vm_group && n > 0 && n < sizeof(buf)) {
		char *s = buf, *dot;
		int skip = 2;

		memcpy(buf, last, n);
		buf[n] = '\0';
		if (strncmp(s, "machine-", 8) == 0)
			s += 8;
		for (char *r = s, *w = s;; r++) { /* undo systemd's \x2d escaping */
			if (r[0] == '\\' && r[1] == 'x' && r[2] == '2' && r[3] == 'd') {
				*w++ = '-';
				r += 3;
			} else if (!(*w++ = *r))
				break;
		}
		if ((dot = strrchr(s, '.')))
			*dot = '\0';
		if (strncmp(s, "qemu-", 5) == 0) {
			s += 5;
			while (skip-- > 1 && is_digit(*s)) {
				while (is_digit(*s))
					s++;
				if (*s == '-')
					s++;
			}
		}
		n = strlen(s) < len - 1 ? strlen(s) : len - 1;
		memcpy(out, s, n);
		out[n] = '\0';
		return;
	}
	if (live)
		snprintf(out, len, "pid%d", c->tgid);
	else
		snprintf(out, len, "vm%d", c->pid);
}

static void vm_metrics(struct sbco_vm_stat *vm, const struct sbco_snapshot *s,
		       const struct sbco_ordinates *o, double alpha)
{
	int32_t lo = -1, hi = -1;
	int64_t wlo = 0, whi = 0;
	uint32_t cpus_seen = 0, first_cpu = UINT32_MAX;

	vm->leader = vm->laggard = -1;
	for (size_t i = 0; i < vm->nr_vcpus; i++) {
		const struct sbco_ordinate *od = &o->task[vm->vcpus[i].task];
		const struct sbco_task *t = &s->tasks[vm->vcpus[i].task];
		uint32_t q = o->cpu[t->cpu].nr_runnable;

		if (!od->runnable)
			continue;
		vm->nr_runnable++;
		if (q > vm->q_size)
			vm->q_size = q;
		for (size_t j = 0; j < i; j++) {
			const struct sbco_task *u = &s->tasks[vm->vcpus[j].task];

			if (o->task[vm->vcpus[j].task].runnable && u->cpu == t->cpu)
				vm->stacked = true;
		}
		if (first_cpu == UINT32_MAX)
			first_cpu = t->cpu;
		if (t->cpu != first_cpu)
			cpus_seen = 2;
		{
			bool seen = false;

			for (size_t j = 0; j < i; j++)
				seen |= o->task[vm->vcpus[j].task].runnable &&
					s->tasks[vm->vcpus[j].task].cpu == t->cpu;
			vm->nr_queues += !seen;
		}
		if (lo < 0 || od->ordinate < lo) {
			lo = od->ordinate;
			wlo = od->wait_ns;
			vm->leader = (int32_t)i;
		}
		if (hi < 0 || od->ordinate > hi) {
			hi = od->ordinate;
			whi = od->wait_ns;
			vm->laggard = (int32_t)i;
		}
	}
	if (vm->nr_runnable >= 2) {
		vm->distance = hi - lo;
		vm->distance_ns = whi - wlo;
		vm->exceeds = cpus_seen >= 2 && vm->distance >= alpha * vm->q_size;
	} else {
		vm->leader = vm->laggard = -1;
	}
}

struct sbco_vm_set *sbco_vm_set_free(struct sbco_vm_set *set)
{
	if (!set)
		return NULL;
	for (size_t i = 0; i < set->nr_vms; i++) {
		free(set->vms[i].vcpus);
		free(set->vms[i].group);
	}
	free(set->vms);
	free(set);
	return NULL;
}

static size_t collect(const struct sbco_snapshot *s, const struct sbco_patterns *pat,
		      sbco_tgid_fn tgid_fn, void *tgid_data, struct cand *c)
{
	size_t n = 0;

	for (size_t i = 0; i < s->nr_tasks; i++) {
		const struct sbco_task *t = &s->tasks[i];
		int idx, tgid = 0;

		if (!sbco_patterns_match(pat, t->comm, &idx))
			continue;
		if (tgid_fn) {
			tgid = tgid_fn(tgid_data, t->pid);
			if (tgid <= 0)
				continue; /* exited since the dump was taken */
		}
		c[n] = (struct cand){.task = i, .tgid = tgid, .pid = t->pid, .index = idx};
		group_key(t->group_path, &c[n]);
		n++;
	}
	return n;
}

/* The dump is not atomic: a thread can show up under two CPUs. Keep the row that says it
 * is running, else the first. */
static size_t dedup(const struct sbco_snapshot *s, struct cand *c, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++) {
		if (w > 0 && c[w - 1].pid == c[i].pid && c[w - 1].tgid == c[i].tgid) {
			if (s->tasks[c[i].task].current && !s->tasks[c[w - 1].task].current)
				c[w - 1] = c[i];
			continue;
		}
		c[w++] = c[i];
	}
	return w;
}

/* Append VM number v of the run c[0..n) (vm_of per candidate) to set. */
static int add_vm(struct sbco_vm_set *set, const struct sbco_snapshot *s,
		  const struct sbco_ordinates *o, const struct cand *c, size_t n,
		  const size_t *vm_of, size_t v, bool live, double alpha)
{
	struct sbco_vm_stat *vm = &set->vms[set->nr_vms++];
	size_t first = SIZE_MAX, cnt = 0;

	for (size_t k = 0; k < n; k++)
		if (vm_of[k] == v) {
			if (first == SIZE_MAX)
				first = k;
			cnt++;
		}
	vm->tgid = c[first].tgid;
	vm->group = strndup(c[first].key, c[first].key_len);
	vm->vcpus = calloc(cnt, sizeof(*vm->vcpus));
	if (!vm->group || !vm->vcpus)
		return -ENOMEM;
	vm_name(&c[first], live, vm->name, sizeof(vm->name));
	for (size_t k = 0; k < n; k++)
		if (vm_of[k] == v)
			vm->vcpus[vm->nr_vcpus++] = (struct sbco_vm_vcpu){
			    .index = c[k].index, .tid = c[k].pid, .task = c[k].task};
	vm_metrics(vm, s, o, alpha);
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int64_t sbco_slot_estimate(const struct sbco_snapshot *s, const struct sbco_ordinates *o)
{
	int64_t *v = malloc((s->nr_tasks + 1) * sizeof(*v)), m = 0;
	size_t n = 0;

	if (!v)
		return 0;
	for (size_t i = 0; i < s->nr_tasks; i++) {
		const struct sbco_task *t = &s->tasks[i];

		if (o->task[i].runnable && (t->have & SBCO_HAVE_SUM_EXEC) && t->switches >= 20)
			v[n++] = t->sum_exec_ns / (int64_t)t->switches;
	}
	if (n) {
		qsort(v, n, sizeof(*v), cmp_i64);
		m = v[n / 2];
	}
	free(v);
	return m;
}

int sbco_vms_analyze(const struct sbco_snapshot *s, const struct sbco_ordinates *o,
		     const struct sbco_patterns *pat, sbco_tgid_fn tgid_fn, void *tgid_data,
		     double alpha, struct sbco_vm_set **ret)
{
	struct sbco_vm_set *set;
	struct cand *c;
	size_t n, *vm_of = NULL;
	int *max_idx = NULL;
	bool live = tgid_fn != NULL;

	if (!s || !o || !pat || !ret || !(alpha > 0 && alpha <= 1) || o->nr_tasks != s->nr_tasks)
		return -EINVAL;
	set = calloc(1, sizeof(*set));
	c = malloc((s->nr_tasks + 1) * sizeof(*c));
	if (!set || !c)
		goto oom;
	set->alpha = alpha;
	n = collect(s, pat, tgid_fn, tgid_data, c);
	qsort(c, n, sizeof(*c), cmp_cand);
	n = dedup(s, c, n);
	set->vms = calloc(n + 1, sizeof(*set->vms));
	if (!set->vms)
		goto oom;
	vm_of = malloc((n + 1) * sizeof(*vm_of));
	max_idx = malloc((n + 1) * sizeof(*max_idx));
	if (!vm_of || !max_idx)
		goto oom;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1, nr;

		while (j < n && same_key(&c[i], &c[j], live))
			j++;
		if (live || c[i].vm_group) {
			nr = 1;
			for (size_t k = i; k < j; k++)
				vm_of[k - i] = 0;
		} else {
			nr = split_shared(c + i, j - i, vm_of, max_idx);
		}
		for (size_t v = 0; v < nr; v++)
			if (add_vm(set, s, o, c + i, j - i, vm_of, v, live, alpha) < 0)
				goto oom;
		i = j;
	}
	free(vm_of);
	free(max_idx);
	free(c);
	*ret = set;
	return 0;
oom:
	free(vm_of);
	free(max_idx);
	free(c);
	sbco_vm_set_free(set);
	return -ENOMEM;
}
