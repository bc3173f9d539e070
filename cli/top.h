/* SPDX-License-Identifier: MIT */
/*
 * sbcoctl top: a live view of sbcod's VMs sorted by scheduling distance.
 */
#ifndef SBCOCTL_TOP_H
#define SBCOCTL_TOP_H

/* Refresh every delay_ms until 'q' (or iterations > 0 of them). Returns 0, or -EIO when
 * sbcod never answered. */
int top_run(const char *sock, unsigned delay_ms, unsigned iterations);

#endif
