/* SPDX-License-Identifier: MIT */
/*
 * JSON forms of libsbco's results shared by sbcoctl and sbcod (cJSON).
 */
#ifndef SBCO_JSON_H
#define SBCO_JSON_H

#include <cjson/cJSON.h>

#include "sbco.h"

/* Add a VM's distance metrics to object j: tgid, nr_runnable, stacked, distance,
 * distance_ns, q_size, threshold (alpha x Q) and exceeds. */
void sbco_json_vm_stat(cJSON *j, const struct sbco_vm_stat *v, double alpha);

/* Add a VM's policy to object j: mode, alpha, source ("default", "rule", "metadata",
 * "override"), rule (index or -1) and, when the domain has sbco metadata, "metadata":
 * {valid, mode?, alpha?, error?}. */
void sbco_json_vm_policy(cJSON *j, const struct sbco_vm *vm, const struct sbco_vm_policy *p);

#endif
