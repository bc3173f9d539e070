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
