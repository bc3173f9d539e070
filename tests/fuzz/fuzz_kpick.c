/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the readers of the kernel patch's procfs files (lib/kpick.c): the
 * counters of /proc/sbco/vm (sbco_kpick_parse) and the capability words of
 * /proc/sbco/version (sbco_kpatch_has). Any input is found, not found or malformed, never
 * read past its end; a VM is found only in a text with a "vm" line.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbco.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort(); /* test code: an invariant of the kpick readers is broken */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	static const int32_t ids[] = {7, 1, -1, 0, 2147483647};

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct sbco_kpick_counts c = {0};
		int r = sbco_kpick_parse(text, ids[i], &c);

		check(r == 0 || r == -ENOENT || r == -EINVAL);
		check(r == -ENOENT || strstr(text, "vm") != NULL);
	}
	(void)sbco_kpatch_has(text, "pick");
	(void)sbco_kpatch_has(text, "lend");
	free(text);
	return 0;
}
