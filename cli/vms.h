/* SPDX-License-Identifier: MIT */
/*
 * sbcoctl vms: list the host's VMs and vCPUs from libvirt and /proc, without the daemon.
 */
#ifndef SBCOCTL_VMS_H
#define SBCOCTL_VMS_H

#include <stdbool.h>

#include "sbco.h"

struct vms_opts {
	bool json, no_libvirt, qmp;
	const char *uri, *root;
	const char *config; /* NULL: /etc/sbco/sbco.json, the defaults when it is absent */
};

/* Returns 0 on success, -errno on failure (reported on stderr). */
int vms_list(const struct sbco_patterns *pat, const struct vms_opts *o);

#endif
