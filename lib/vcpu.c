/* SPDX-License-Identifier: MIT */
/*
 * vCPU thread recognition and VM grouping. A vCPU is a task whose comm matches one of the
 * configured fnmatch(3) globs (QEMU names its vCPU threads "CPU N/KVM" or "CPU N/TCG" with
 * debug-threads=on; old qemu-kvm left every thread "qemu-kvm"; Firecracker "fc_vcpu N";
 * cloud-hypervisor "vcpuN"). VMs are formed by process on a live host (thread -> tgid), and
 * offline by cgroup: libvirt gives each vCPU its own ".../vcpuN" group, whose parent is the
 * VM; threads sharing one non-VM group (an autogroup, "/") are split into runs of ascending
 * vCPU index in pid order, as a VMM creates its vCPU threads one after another.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbco.h"
#include "util.h"

static const char *const default_globs[] = {
    "CPU [0-9]*/KVM", "CPU [0-9]*/TCG", "qemu-kvm", "fc_vcpu [0-9]*", "vcpu[0-9]*",
};

void sbco_patterns_clear(struct sbco_patterns *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->glob[i]);
	p->n = 0;
}

int sbco_patterns_add(struct sbco_patterns *p, const char *glob)
{
	if (!glob || !*glob)
		return -EINVAL;
	if (p->n == SBCO_PATTERNS_MAX)
		return -E2BIG;
	p->glob[p->n] = strdup(glob);
	if (!p->glob[p->n])
		return -ENOMEM;
	p->n++;
	return 0;
}

int sbco_patterns_default(struct sbco_patterns *p)
{
	int r;

	sbco_patterns_clear(p);
	for (size_t i = 0; i < sizeof(default_globs) / sizeof(default_globs[0]); i++)
		if ((r = sbco_patterns_add(p, default_globs[i])) < 0)
			return r;
	return 0;
}

bool sbco_patterns_match(const struct sbco_patterns *p, const char *comm, int *ret_index)
{
	for (size_t i = 0; i < p->n; i++) {
		if (fnmatch(p->glob[i], comm, 0) == 0) {
			const char *d = comm;
			long idx = -1;

			while (*d && !is_digit(*d))
				d++;
			if (*d) {
				idx = 0;
				for (; is_digit(*d) && idx < 1000000; d++)
					idx = idx * 10 + (*d - '0');
			}
			if (ret_index)
				*ret_index = (int)idx;
			return true;
		}
	}
	return false;
}

int sbco_tgid_from_proc(void *root, int32_t tid)
{
	char path[4096], line[256];
	FILE *f;
	int tgid = -ESRCH;

	snprintf(path, sizeof(path), "%s/proc/%d/status", root ? (const char *)root : "", tid);
	f = fopen(path, "re");
	if (!f)
		return -ESRCH; /* the thread exited: normal */
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Tgid:", 5) == 0) {
			uint64_t v;
			char *q = line + 5;

			while (is_blank(*q))
				q++;
			q[strcspn(q, "\n")] = '\0';
			if (sbco_parse_u64(q, &v) == 0 && v > 0 && v <= INT32_MAX)
				tgid = (int)v;
			break;
		}
	fclose(f);
	return tgid;
}
