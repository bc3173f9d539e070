/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for sbcod's control requests (lib/request.c): any input is either
 * accepted with every field in range, or refused with a printable reason of bounded
 * length and a zeroed result.
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
		abort(); /* test code: an invariant of the request parser is broken */
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s >= 0x7f)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sbco_request r;
	char err[256];
	int ret = sbco_request_parse((const char *)data, size, &r, err, sizeof(err));

	if (ret == -ENOMEM)
		return 0;
	if (ret < 0) {
		check(ret == -EINVAL && err[0] && strlen(err) <= 200 && printable(err));
		check(r.cmd == 0 && !r.vm[0] && !r.has_cpu && r.mode == 0);
		return 0;
	}
	check(ret == 0 && (unsigned)r.cmd < SBCO_CMD_MAX_ && printable(r.vm));
	check(strlen(r.vm) < SBCO_VM_NAME_MAX);
	check(!r.has_cpu || (r.cpu >= 0 && r.cpu < SBCO_MAX_CPUS));
	check(r.cmd != SBCO_CMD_SET_MODE || (r.vm[0] && (unsigned)r.mode <= SBCO_MODE_SBCO));
	check(r.cmd == SBCO_CMD_SET_MODE || r.mode == 0);
	check(r.cmd == SBCO_CMD_RUNQUEUE || !r.has_cpu);
	return 0;
}
