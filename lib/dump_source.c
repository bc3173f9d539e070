/* SPDX-License-Identifier: MIT */
/*
 * Where the live dump comes from: debugfs sched/debug (Linux >= 5.13) or /proc/sched_debug
 * (older kernels), below a root directory so tests can point at a fake tree. Mounting
 * debugfs is the caller's decision; this only tells apart "not mounted" from "not allowed".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbco.h"

static const char debugfs_path[] = "/sys/kernel/debug/sched/debug";
static const char procfs_path[] = "/proc/sched_debug";

int sbco_dump_open_live(const char *root, const char **ret_path)
{
	char p[4096];
	int fd, err;
	struct stat st;

	if (!root || !strcmp(root, "/"))
		root = "";
	snprintf(p, sizeof(p), "%s%s", root, debugfs_path);
	fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0) {
		if (ret_path)
			*ret_path = debugfs_path;
		return fd;
	}
	err = errno;
	if (err == EACCES || err == EPERM)
		return -err;
	snprintf(p, sizeof(p), "%s%s", root, procfs_path);
	fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0) {
		if (ret_path)
			*ret_path = procfs_path;
		return fd;
	}
	if (errno == EACCES || errno == EPERM)
		return -errno;
	/* debugfs mounted but without sched/debug: a kernel without SCHED_DEBUG */
	snprintf(p, sizeof(p), "%s/sys/kernel/debug/sched", root);
	if (stat(p, &st) == 0)
		return -ENOENT;
	return -ENODEV;
}
