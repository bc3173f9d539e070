/* SPDX-License-Identifier: MIT */
/*
 * Internal interface between the libvirt connection code and the domain description code.
 */
#ifndef SBCO_LIBVIRT_INTERNAL_H
#define SBCO_LIBVIRT_INTERNAL_H

#include <libvirt/libvirt.h>

#include "sbco.h"

/* Describe running domain dom into *ret (cleared first; caller clears it after use).
 * Returns 0, -ENOENT when the domain is not running (any more), -EIO for libvirt errors,
 * -ENOMEM. */
int lv_describe_domain(virDomainPtr dom, const char *root, const struct sbco_patterns *pat,
		       bool use_qmp, struct sbco_vm *ret);

/* Operator pinning in a domain XML: sets vm->pinned, vm->pin_reason and vcpus[].pinned. */
int lv_pinning_from_xml(const char *xml, struct sbco_vm *vm);

#endif
