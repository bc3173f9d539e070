/* SPDX-License-Identifier: MIT */
/*
 * The VM model shared by the discovery backends: VM lists with deep copies, lookup, and
 * the merge rule (libvirt knows its domains best; /proc fills in the other VMMs).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sbco.h"

void sbco_vm_clear(struct sbco_vm *vm)
{
	if (!vm)
		return;
	for (size_t i = 0; i < vm->nr_vcpus; i++)
		free(vm->vcpus[i].cgroup);
	free(vm->vcpus);
	free(vm->name);
	free(vm->pin_reason);
	sbco_vm_meta_clear(&vm->meta);
	memset(vm, 0, sizeof(*vm));
}

struct sbco_vm_list *sbco_vm_list_free(struct sbco_vm_list *l)
{
	if (!l)
		return NULL;
	for (size_t i = 0; i < l->nr; i++)
		sbco_vm_clear(&l->vms[i]);
	free(l->vms);
	free(l);
	return NULL;
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

int sbco_vm_list_add(struct sbco_vm_list *l, const struct sbco_vm *vm)
{
	struct sbco_vm *arr = realloc(l->vms, (l->nr + 1) * sizeof(*arr)), *d;
	bool oom = false;

	if (!arr)
		return -ENOMEM;
	l->vms = arr;
	d = &arr[l->nr];
	*d = *vm;
	d->name = dup_or_null(vm->name ? vm->name : "", &oom);
	d->pin_reason = dup_or_null(vm->pin_reason, &oom);
	d->meta.error = dup_or_null(vm->meta.error, &oom);
	d->vcpus = calloc(vm->nr_vcpus + 1, sizeof(*d->vcpus));
	if (!d->vcpus)
		oom = true;
	for (size_t i = 0; d->vcpus && i < vm->nr_vcpus; i++) {
		d->vcpus[i] = vm->vcpus[i];
		d->vcpus[i].cgroup =
		    dup_or_null(vm->vcpus[i].cgroup ? vm->vcpus[i].cgroup : "", &oom);
	}
	if (oom) {
		d->nr_vcpus = d->vcpus ? vm->nr_vcpus : 0;
		sbco_vm_clear(d);
		return -ENOMEM;
	}
	l->nr++;
	return 0;
}

const struct sbco_vm *sbco_vm_list_find_pid(const struct sbco_vm_list *l, int32_t pid)
{
	for (size_t i = 0; l && pid > 0 && i < l->nr; i++)
		if (l->vms[i].pid == pid)
			return &l->vms[i];
	return NULL;
}

int sbco_vm_list_merge(const struct sbco_vm_list *libvirt, const struct sbco_vm_list *proc,
		       struct sbco_vm_list **ret)
{
	struct sbco_vm_list *l = calloc(1, sizeof(*l));
	int r;

	if (!l)
		return -ENOMEM;
	for (size_t i = 0; libvirt && i < libvirt->nr; i++)
		if ((r = sbco_vm_list_add(l, &libvirt->vms[i])) < 0)
			goto fail;
	for (size_t i = 0; proc && i < proc->nr; i++) {
		bool known = sbco_vm_list_find_pid(libvirt, proc->vms[i].pid) != NULL;

		for (size_t j = 0; libvirt && !known && j < libvirt->nr; j++)
			known = proc->vms[i].uuid[0] &&
				strcmp(proc->vms[i].uuid, libvirt->vms[j].uuid) == 0;
		if (!known && (r = sbco_vm_list_add(l, &proc->vms[i])) < 0)
			goto fail;
	}
	*ret = l;
	return 0;
fail:
	sbco_vm_list_free(l);
	return r;
}
