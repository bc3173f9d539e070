/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the scheduler dump parser and everything that consumes a snapshot:
 * parse, compute ordinates, group vCPUs into VMs, and check the invariants the rest of
 * sbco relies on (indices in range, distinct ordinates per queue, error text on failure).
 * Built with clang -fsanitize=fuzzer for `make fuzz`, and with gcc plus fuzz-main.c to
 * replay the corpus in `make check`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sbco.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort(); /* test code: an invariant of libsbco is broken */
}

static void check_snapshot(const struct sbco_snapshot *s)
{
	for (size_t i = 0; i < s->nr_tasks; i++) {
		check(s->tasks[i].cpu < s->nr_cpus);
		check(s->tasks[i].comm && s->tasks[i].group_path);
	}
	for (size_t i = 0; i < s->nr_rqs; i++)
		check(s->rqs[i].cpu < s->nr_cpus && s->rqs[i].path);
	for (size_t c = 0; c < s->nr_cpus; c++) {
		check((size_t)s->cpus[c].first_task + s->cpus[c].nr_tasks <= s->nr_tasks);
		check((size_t)s->cpus[c].first_rq + s->cpus[c].nr_rqs <= s->nr_rqs);
	}
}

static void check_ordinates(const struct sbco_snapshot *s, const struct sbco_ordinates *o)
{
	check(o->nr_tasks == s->nr_tasks && o->nr_cpus == s->nr_cpus);
	for (size_t c = 0; c < s->nr_cpus; c++) {
		const struct sbco_cpu *cpu = &s->cpus[c];
		uint32_t n = o->cpu[c].nr_runnable;
		unsigned char *seen = calloc(n + 1, 1);

		check(seen != NULL && n <= cpu->nr_tasks);
		for (uint32_t k = 0; k < cpu->nr_tasks; k++) {
			const struct sbco_ordinate *od = &o->task[cpu->first_task + k];

			if (!od->runnable) {
				check(od->ordinate == -1);
				continue;
			}
			check(od->ordinate >= 0 && (uint32_t)od->ordinate < n);
			check(!seen[od->ordinate]);
			seen[od->ordinate] = 1;
		}
		free(seen);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sbco_snapshot *s = NULL;
	struct sbco_ordinates *o = NULL;
	struct sbco_vm_set *vms = NULL;
	struct sbco_patterns pat = {0};
	char err[256];
	int r;

	if (size > (1u << 20))
		return 0;
	r = sbco_dump_parse((const char *)data, size, &s, err, sizeof(err));
	if (r < 0) {
		check(s == NULL && strncmp(err, "line ", 5) == 0);
		return 0;
	}
	check_snapshot(s);
	check(sbco_ordinates_compute(s, &o) == 0);
	check_ordinates(s, o);
	check(sbco_patterns_default(&pat) == 0);
	check(sbco_vms_analyze(s, o, &pat, NULL, NULL, 2.0 / 3, &vms) == 0);
	for (size_t i = 0; i < vms->nr_vms; i++)
		for (size_t k = 0; k < vms->vms[i].nr_vcpus; k++)
			check(vms->vms[i].vcpus[k].task < s->nr_tasks);
	sbco_vm_set_free(vms);
	sbco_patterns_clear(&pat);
	sbco_ordinates_free(o);
	sbco_snapshot_free(s);
	return 0;
}
