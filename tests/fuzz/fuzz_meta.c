/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the libvirt domain metadata parser (<sbco:policy>, written by
 * whoever may define domains): any input either parses into values inside their ranges
 * with no error, or is rejected with a printable, bounded reason.
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
		abort(); /* test code: an invariant of the metadata parser is broken */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sbco_vm_meta m = {0};
	struct sbco_vm vm = {.name = (char *)"x"};
	struct sbco_config *c = NULL;
	struct sbco_vm_policy p;
	int r = sbco_meta_parse((const char *)data, size, &m);

	check(m.present);
	if (r == -ENOMEM)
		return 0;
	if (r < 0) {
		check(r == -EINVAL && !m.valid && !m.has_mode && !m.has_alpha && m.error);
		check(strlen(m.error) < 256);
		for (const char *s = m.error; *s; s++)
			check(*s >= 0x20 && *s < 0x7f);
	} else {
		check(r == 0 && m.valid && !m.error && (m.has_mode || m.has_alpha));
		check(!m.has_alpha || (m.alpha > 0 && m.alpha <= 1));
		check(!m.has_mode || (unsigned)m.mode <= SBCO_MODE_SBCO);
	}
	vm.meta = m;
	if (sbco_config_default(&c) == 0) {
		sbco_config_policy(c, &vm, &p);
		check(p.alpha > 0 && p.alpha <= 1 && (unsigned)p.mode <= SBCO_MODE_SBCO);
		check(p.source ==
		      (m.valid && m.has_mode ? SBCO_SOURCE_METADATA : SBCO_SOURCE_DEFAULT));
		sbco_config_free(c);
	}
	sbco_vm_meta_clear(&m);
	return 0;
}
