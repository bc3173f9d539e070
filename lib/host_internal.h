/* SPDX-License-Identifier: MIT */
/* Between host.c and host_cgroup.c: the cpu cgroup operations of sbco_host_ops_real. */
#ifndef SBCO_HOST_INTERNAL_H
#define SBCO_HOST_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ud (the host root) names the real root: NULL, "" or "/" */
bool sbco_host_real_root(const void *ud);
/* libcgroup initialised (once, on first use); false when it cannot be */
bool sbco_cg_ready(void);
/* A cgroup path as the kernel prints it: absolute, no "." or ".." component */
bool sbco_cg_sane(const char *path);
/* sbco_host_ops make_group, remove_group, move_thread, group_threads */
int sbco_cg_make_group(void *ud, const char *path, const char *like);
int sbco_cg_remove_group(void *ud, const char *path);
int sbco_cg_move_thread(void *ud, int32_t tid, const char *path);
int sbco_cg_group_threads(void *ud, const char *path, int32_t *tids, size_t cap, size_t *ret_n);

#endif
