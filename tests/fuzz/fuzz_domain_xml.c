/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the libvirt domain XML reader (operator pinning: <vcpu cpuset>,
 * <cputune><vcpupin>, emulator/iothread pinning): any input gives 0, -EINVAL (not XML) or
 * -ENOMEM; a VM marked pinned always says why; vCPU marks stay within the VM.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort(); /* test code: an invariant of the domain XML reader is broken */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sbco_vcpu v[3] = {{.index = 0}, {.index = 1}, {.index = 7}};
	struct sbco_vm vm = {.vcpus = v, .nr_vcpus = 3};
	char *xml = malloc(size + 1);
	int r;

	if (!xml || size > (1u << 16)) {
		free(xml);
		return 0;
	}
	memcpy(xml, data, size);
	xml[size] = '\0';
	r = lv_pinning_from_xml(xml, &vm);
	check(r == 0 || r == -EINVAL || r == -ENOMEM);
	check(!vm.pinned || vm.pin_reason || r == -ENOMEM);
	check(!(v[0].pinned || v[1].pinned || v[2].pinned) || vm.pinned);
	if (r == -EINVAL)
		check(!vm.pinned);
	free(vm.pin_reason);
	free(xml);
	return 0;
}
