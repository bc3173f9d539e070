/* SPDX-License-Identifier: MIT */
/*
 * sbcoctl vms: one discovery pass of both backends (libvirt first, then the /proc scan for
 * VMMs libvirt does not manage), printed as a table or JSON, with the policy sbcod would
 * give each VM (config, rules, domain metadata) and where its mode comes from. A libvirt
 * that cannot be reached is reported on stderr and the /proc results are still shown.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "sbco_json.h"
#include "vms.h"

static const char *backend_name(enum sbco_backend b)
{
	return b == SBCO_BACKEND_LIBVIRT ? "libvirt" : "proc";
}

static void print_table(const struct sbco_vm_list *l, const struct sbco_vm_policy *pol)
{
	char aff[256];

	printf("%-24s %-8s %8s  %-36s %-5s %5s %-8s %s\n", "VM", "BACKEND", "PID", "UUID", "MODE",
	       "ALPHA", "SOURCE", "PINNED");
	for (size_t i = 0; i < l->nr; i++) {
		const struct sbco_vm *vm = &l->vms[i];

		printf("%-24s %-8s %8d  %-36s %-5s %5.2f %-8s %s\n", vm->name,
		       backend_name(vm->backend), vm->pid, vm->uuid[0] ? vm->uuid : "-",
		       sbco_mode_name(pol[i].mode), pol[i].alpha, sbco_source_name(pol[i].source),
		       vm->pinned ? vm->pin_reason : "no");
		if (vm->meta.error)
			printf("  domain metadata ignored: %s\n", vm->meta.error);
		printf("  %5s %8s %4s %-16s %-6s %s\n", "vCPU", "TID", "CPU", "AFFINITY", "PINNED",
		       "CGROUP");
		for (size_t k = 0; k < vm->nr_vcpus; k++) {
			const struct sbco_vcpu *v = &vm->vcpus[k];

			if (sbco_cpuset_format(&v->affinity, aff, sizeof(aff)) < 0)
				snprintf(aff, sizeof(aff), "(long)");
			printf("  %5d %8d %4d %-16s %-6s %s\n", v->index, v->tid, v->cpu, aff,
			       v->pinned ? "yes" : "no", v->cgroup ? v->cgroup : "");
		}
	}
	if (!l->nr)
		printf("(no VMs found)\n");
}

static int print_json(const struct sbco_vm_list *l, const struct sbco_vm_policy *pol)
{
	cJSON *root = cJSON_CreateArray();
	char aff[4096];

	for (size_t i = 0; root && i < l->nr; i++) {
		const struct sbco_vm *vm = &l->vms[i];
		cJSON *j = cJSON_CreateObject(), *arr;

		cJSON_AddStringToObject(j, "name", vm->name);
		cJSON_AddStringToObject(j, "uuid", vm->uuid);
		cJSON_AddStringToObject(j, "backend", backend_name(vm->backend));
		cJSON_AddNumberToObject(j, "pid", vm->pid);
		cJSON_AddNumberToObject(j, "domid", vm->domid);
		sbco_json_vm_policy(j, vm, &pol[i]);
		cJSON_AddBoolToObject(j, "pinned", vm->pinned);
		if (vm->pin_reason)
			cJSON_AddStringToObject(j, "pin_reason", vm->pin_reason);
		arr = cJSON_AddArrayToObject(j, "vcpus");
		for (size_t k = 0; k < vm->nr_vcpus; k++) {
			const struct sbco_vcpu *v = &vm->vcpus[k];
			cJSON *x = cJSON_CreateObject();

			cJSON_AddNumberToObject(x, "index", v->index);
			cJSON_AddNumberToObject(x, "tid", v->tid);
			cJSON_AddNumberToObject(x, "cpu", v->cpu);
			if (sbco_cpuset_format(&v->affinity, aff, sizeof(aff)) < 0)
				aff[0] = '\0';
			cJSON_AddStringToObject(x, "affinity", aff);
			cJSON_AddBoolToObject(x, "pinned", v->pinned);
			cJSON_AddStringToObject(x, "cgroup", v->cgroup ? v->cgroup : "");
			cJSON_AddItemToArray(arr, x);
		}
		cJSON_AddItemToArray(root, j);
	}
	return out_print_json(root);
}

/* The config vms applies: --config, else /etc/sbco/sbco.json, else the defaults. */
static int load_config(const char *path, struct sbco_config **ret)
{
	char *errs = NULL;
	int r = sbco_config_load(path ? path : "/etc/sbco/sbco.json", ret, &errs);

	if (r == -ENOENT && !path) {
		free(errs);
		return sbco_config_default(ret);
	}
	if (r < 0)
		fputs(errs ? errs : "sbcoctl: invalid config\n", stderr);
	free(errs);
	return r;
}

int vms_list(const struct sbco_patterns *pat, const struct vms_opts *o)
{
	struct sbco_libvirt *lv = NULL;
	struct sbco_vm_list *proc = NULL, *all = NULL;
	const struct sbco_vm_list *virt = NULL;
	struct sbco_vm_policy *pol = NULL;
	struct sbco_config *cfg = NULL;
	int r;

	r = load_config(o->config, &cfg);
	if (r < 0)
		return r;

	if (!o->no_libvirt) {
		struct sbco_libvirt_opts lo = {
		    .uri = o->uri, .root = o->root, .pat = pat, .use_qmp = o->qmp};

		r = sbco_libvirt_new(&lo, &lv);
		if (r < 0)
			fprintf(stderr, "sbcoctl: libvirt backend unavailable: %s, ignoring\n",
				strerror(-r));
		else if (!sbco_libvirt_connected(lv))
			fprintf(stderr, "sbcoctl: libvirt: %s, showing /proc only\n",
				sbco_libvirt_last_error(lv));
		else
			virt = sbco_libvirt_vms(lv);
	}
	r = sbco_proc_scan(o->root, pat, NULL, SBCO_SCAN_CPU, &proc, NULL);
	if (r < 0) {
		fprintf(stderr, "sbcoctl: scanning %s/proc failed: %s\n", o->root, strerror(-r));
		goto out;
	}
	r = sbco_vm_list_merge(virt, proc, &all);
	if (r < 0)
		goto out;
	pol = calloc(all->nr + 1, sizeof(*pol));
	if (!pol) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < all->nr; i++)
		sbco_config_policy(cfg, &all->vms[i], &pol[i]);
	if (o->json)
		r = print_json(all, pol);
	else
		print_table(all, pol);
out:
	free(pol);
	sbco_config_free(cfg);
	sbco_vm_list_free(all);
	sbco_vm_list_free(proc);
	sbco_libvirt_free(lv);
	return r;
}
