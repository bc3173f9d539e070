/* SPDX-License-Identifier: MIT */
/*
 * JSON forms of libsbco's results (see sbco_json.h).
 */
#include "sbco_json.h"

void sbco_json_vm_stat(cJSON *j, const struct sbco_vm_stat *v, double alpha)
{
	cJSON_AddNumberToObject(j, "tgid", v->tgid);
	cJSON_AddNumberToObject(j, "nr_runnable", v->nr_runnable);
	cJSON_AddBoolToObject(j, "stacked", v->stacked);
	cJSON_AddNumberToObject(j, "distance", v->distance);
	cJSON_AddNumberToObject(j, "distance_ns", (double)v->distance_ns);
	cJSON_AddNumberToObject(j, "q_size", v->q_size);
	cJSON_AddNumberToObject(j, "threshold", alpha * v->q_size);
	cJSON_AddBoolToObject(j, "exceeds", v->exceeds);
}

void sbco_json_vm_policy(cJSON *j, const struct sbco_vm *vm, const struct sbco_vm_policy *p)
{
	cJSON *m;

	cJSON_AddStringToObject(j, "mode", sbco_mode_name(p->mode));
	cJSON_AddNumberToObject(j, "alpha", p->alpha);
	cJSON_AddStringToObject(j, "source", sbco_source_name(p->source));
	cJSON_AddNumberToObject(j, "rule", p->rule);
	if (!vm->meta.present)
		return;
	m = cJSON_AddObjectToObject(j, "metadata");
	cJSON_AddBoolToObject(m, "valid", vm->meta.valid);
	if (vm->meta.has_mode)
		cJSON_AddStringToObject(m, "mode", sbco_mode_name(vm->meta.mode));
	if (vm->meta.has_alpha)
		cJSON_AddNumberToObject(m, "alpha", vm->meta.alpha);
	if (vm->meta.error)
		cJSON_AddStringToObject(m, "error", vm->meta.error);
}
