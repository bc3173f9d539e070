/* SPDX-License-Identifier: MIT */
/*
 * sbcoctl: tables of sbcod's replies (status, distance, runqueue, daemon-vms), with colour
 * on terminals: each VM's vCPUs in a colour of their own, exceeded thresholds in red.
 */
#ifndef SBCOCTL_VIEW_H
#define SBCOCTL_VIEW_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

/* Colour on or off: "auto" (a terminal, NO_COLOR unset, TERM not dumb), "always", "never".
 * Returns 0 or -EINVAL for another word. */
int view_set_colour(const char *when);
bool view_colour(void);
/* ANSI escape that starts name's colour ("" without colour); view_reset() ends it. */
const char *view_vm_colour(const char *name);
const char *view_red(void);
const char *view_bold(void);
const char *view_reset(void);

double view_num(const cJSON *o, const char *k);
const char *view_str(const cJSON *o, const char *k);
bool view_yes(const cJSON *o, const char *k);

void view_status(FILE *f, const cJSON *r);
void view_distance(FILE *f, const cJSON *r);
void view_runqueue(FILE *f, const cJSON *r);
void view_vms(FILE *f, const cJSON *r);

#endif
