/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the config parser: any input either yields a config whose values
 * are inside their documented ranges, or is rejected with at least one error line.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sbco.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort(); /* test code: an invariant of the config parser is broken */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sbco_config *c = NULL;
	struct sbco_vm vm = {.name = (char *)"db-1"};
	struct sbco_vm_policy p;
	char *errs = NULL;
	int r;

	if (size > (1u << 16))
		return 0;
	r = sbco_config_parse((const char *)data, size, "fuzz.json", &c, &errs);
	if (r < 0) {
		check(c == NULL && (r == -ENOMEM || (errs && !strncmp(errs, "fuzz.json: ", 11))));
		free(errs);
		return 0;
	}
	check(errs == NULL);
	check(c->interval_ms >= 10 && c->interval_ms <= 10000);
	check(c->alpha > 0 && c->alpha <= 1);
	check(c->nr_levers >= 1 && c->nr_levers <= SBCO_LEVERS_MAX);
	check(c->patterns.n >= 1);
	for (size_t i = 0; i < c->nr_rules; i++)
		check(c->rules[i].pattern && *c->rules[i].pattern);
	sbco_config_policy(c, &vm, &p);
	check(p.alpha > 0 && p.alpha <= 1 && (unsigned)p.mode <= SBCO_MODE_SBCO);
	sbco_config_free(c);
	return 0;
}
