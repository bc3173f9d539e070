/* SPDX-License-Identifier: MIT */
/*
 * sbcoctl's rendering of an analyzed dump: text tables or JSON.
 */
#ifndef SBCOCTL_OUTPUT_H
#define SBCOCTL_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "sbco.h"

/* Print root as indented JSON on stdout and free it. Returns 0 or -ENOMEM. */
int out_print_json(cJSON *root);

struct out_opts {
	bool json, all, live;
	double alpha;
	const char *source, *root;
};

/* Parse text, compute ordinates and VM distance, print to stdout. Returns 0, -EBADMSG with
 * err filled for a dump it cannot read, or another -errno. */
int out_analyze(const char *text, size_t len, const struct sbco_patterns *pat,
		const struct out_opts *oo, char *err, size_t err_len);

#endif
