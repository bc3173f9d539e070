/* SPDX-License-Identifier: MIT */
/*
 * Anti-stacking (the paper's SCHED_DISPATCH / BAL) as pure placement: disjoint CPU stripes
 * per vCPU of each managed VM. See sbco_policy_stripes() in sbco.h for the rules.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sbco.h"

static bool managed(const struct sbco_vm *vm, const struct sbco_vm_policy *p)
{
	return p->mode != SBCO_MODE_OFF && vm->nr_vcpus > 0 && (!vm->pinned || p->override_pinning);
}

/* The VM's usable CPUs in topology order. */
static size_t usable(const struct sbco_vm *vm, const struct sbco_topology *t,
		     const struct sbco_cpuset *hk, int32_t *out)
{
	struct sbco_cpuset allowed = {{0}};
	size_t n = 0;

	for (size_t i = 0; i < vm->nr_vcpus; i++)
		for (int w = 0; w < SBCO_CPUSET_WORDS; w++)
			allowed.w[w] |= vm->vcpus[i].affinity.w[w];
	if (sbco_cpuset_count(&allowed) == 0)
		allowed = t->online; /* affinity unknown: all online CPUs */
	for (uint32_t k = 0; k < t->nr_order; k++) {
		unsigned c = (unsigned)t->order[k];

		if (sbco_cpuset_has(&allowed, c) && !(hk && sbco_cpuset_has(hk, c)))
			out[n++] = (int32_t)c;
	}
	return n;
}

/* Stable VM order for the rotation: by uuid, then name, then pid, so a VM list that comes
 * back in another order (a single-domain refresh re-appends it) gives the same stripes and
 * no vCPU is moved for nothing. */
static int cmp_vm(const void *a, const void *b, void *arg)
{
	const struct sbco_vm *x = &((const struct sbco_vm_list *)arg)->vms[*(const size_t *)a];
	const struct sbco_vm *y = &((const struct sbco_vm_list *)arg)->vms[*(const size_t *)b];
	int r = strcmp(x->uuid, y->uuid);

	if (!r)
		r = strcmp(x->name ? x->name : "", y->name ? y->name : "");
	if (!r)
		r = (x->pid > y->pid) - (x->pid < y->pid);
	return r;
}

int sbco_policy_stripes(const struct sbco_vm_list *vms, const struct sbco_vm_policy *pol,
			const struct sbco_topology *topo, const struct sbco_cpuset *housekeeping,
			struct sbco_placement **ret, size_t *ret_n)
{
	struct sbco_placement *out = NULL;
	int32_t *cpus;
	size_t *rank, *byname, n_out = 0, total = 0, nr_managed = 0;

	if (!vms || !pol || !topo || !ret || !ret_n)
		return -EINVAL;
	for (size_t v = 0; v < vms->nr; v++)
		total += vms->vms[v].nr_vcpus;
	out = calloc(total + 1, sizeof(*out));
	cpus = malloc(SBCO_MAX_CPUS * sizeof(*cpus));
	rank = calloc(vms->nr + 1, sizeof(*rank));
	byname = calloc(vms->nr + 1, sizeof(*byname));
	if (!out || !cpus || !rank || !byname) {
		free(out);
		free(cpus);
		free(rank);
		free(byname);
		return -ENOMEM;
	}
	for (size_t v = 0; v < vms->nr; v++)
		if (managed(&vms->vms[v], &pol[v]))
			byname[nr_managed++] = v;
	qsort_r(byname, nr_managed, sizeof(*byname), cmp_vm, (void *)vms);
	for (size_t i = 0; i < nr_managed; i++)
		rank[byname[i]] = i;
	for (size_t v = 0; v < vms->nr; v++) {
		const struct sbco_vm *vm = &vms->vms[v];
		size_t n, k = vm->nr_vcpus, off;

		if (!managed(vm, &pol[v]))
			continue;
		n = usable(vm, topo, housekeeping, cpus);
		if (n == 0)
			continue;
		/* rotate: half a stripe further for each managed VM, in the stable order */
		off = (rank[v] * (n >= k ? (n / k + 1) / 2 : 1)) % n;
		for (size_t i = 0; i < k; i++) {
			struct sbco_placement *p = &out[n_out++];

			*p = (struct sbco_placement){.vm = v, .vcpu = i, .tid = vm->vcpus[i].tid};
			if (k > n) {
				sbco_cpuset_add(&p->cpus, (unsigned)cpus[(off + i) % n]);
				continue;
			}
			for (size_t j = i * n / k; j < (i + 1) * n / k; j++)
				sbco_cpuset_add(&p->cpus, (unsigned)cpus[(off + j) % n]);
		}
	}
	free(cpus);
	free(rank);
	free(byname);
	*ret = out;
	*ret_n = n_out;
	return 0;
}
