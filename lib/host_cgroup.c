/* SPDX-License-Identifier: MIT */
/*
 * Moving threads between cpu cgroups (stall prevention, lib/isolate.c), through libcgroup,
 * on the real root only (a fake root has no cgroupfs to move threads in: -EOPNOTSUPP).
 * Only the v1 cpu hierarchy, where a thread may sit in any group: on v2 a process's threads
 * cannot leave its threaded subtree, so every call there is -EOPNOTSUPP. Told by the
 * group's "tasks" file, which v1 groups have and v2 groups do not.
 */
#include <errno.h>
#include <libcgroup.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host_internal.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool ready;

static void init(void)
{
	ready = cgroup_init() == 0;
}

bool sbco_cg_ready(void)
{
	pthread_once(&once, init);
	return ready;
}

bool sbco_cg_sane(const char *p)
{
	if (!p || p[0] != '/' || strlen(p) > 4000)
		return false;
	for (const char *c = p; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
	for (const char *c = p; (c = strchr(c, '/')); c++)
		if (!strncmp(c, "/./", 3) || !strcmp(c, "/.") || !strncmp(c, "/../", 4) ||
		    !strcmp(c, "/.."))
			return false;
	return true;
}

/* 0 when path is a v1 cpu group (its tasks file exists), else -ENOENT, -EOPNOTSUPP. */
static int v1_group(void *ud, const char *path)
{
	char *mnt = NULL, file[4200];
	int r;

	if (!sbco_host_real_root(ud))
		return -EOPNOTSUPP;
	if (!sbco_cg_sane(path))
		return -EINVAL;
	if (!sbco_cg_ready() || cgroup_get_subsys_mount_point("cpu", &mnt) != 0 || !mnt)
		return -EOPNOTSUPP;
	snprintf(file, sizeof(file), "%s%s", mnt, path);
	r = access(file, F_OK) < 0 ? -ENOENT : 0;
	snprintf(file, sizeof(file), "%s%s/tasks", mnt, path);
	if (r == 0 && access(file, F_OK) < 0)
		r = -EOPNOTSUPP;
	free(mnt);
	return r;
}

/* libcgroup's answer as -errno */
static int cg_err(int r)
{
	if (r == 0)
		return 0;
	if (r == ECGROUPNOTEXIST)
		return -ENOENT;
	if (r == ECGOTHER && cgroup_get_last_errno())
		return -cgroup_get_last_errno();
	return -EIO;
}

/* A struct cgroup for path with the cpu controller, *ret_c its controller. */
static struct cgroup *cpu_group(const char *path, struct cgroup_controller **ret_c)
{
	struct cgroup *cg = cgroup_new_cgroup(path);
	struct cgroup_controller *c = cg ? cgroup_add_controller(cg, "cpu") : NULL;

	if (cg && !c)
		cgroup_free(&cg);
	if (ret_c)
		*ret_c = c;
	return cg;
}

int sbco_cg_make_group(void *ud, const char *path, const char *like)
{
	struct cgroup *src, *dst;
	struct cgroup_controller *sc, *dc;
	u_int64_t shares = 0;
	int64_t period = 0, quota = -1;
	int r = v1_group(ud, like);

	if (r < 0)
		return r;
	if (!sbco_cg_sane(path))
		return -EINVAL;
	r = v1_group(ud, path);
	if (r == 0)
		return -EEXIST;
	if (r != -ENOENT)
		return r;
	src = cgroup_new_cgroup(like);
	if (!src)
		return -ENOMEM;
	r = cg_err(cgroup_get_cgroup(src));
	sc = r == 0 ? cgroup_get_controller(src, "cpu") : NULL;
	if (sc) {
		(void)cgroup_get_value_uint64(sc, "cpu.shares", &shares);
		(void)cgroup_get_value_int64(sc, "cpu.cfs_period_us", &period);
		(void)cgroup_get_value_int64(sc, "cpu.cfs_quota_us", &quota);
	}
	cgroup_free(&src);
	if (r < 0)
		return r;
	dst = cpu_group(path, &dc);
	if (!dst)
		return -ENOMEM;
	if (shares)
		cgroup_add_value_uint64(dc, "cpu.shares", shares);
	if (quota > 0 && period > 0) { /* the limit goes with the threads */
		cgroup_add_value_int64(dc, "cpu.cfs_period_us", period);
		cgroup_add_value_int64(dc, "cpu.cfs_quota_us", quota);
	}
	r = cg_err(cgroup_create_cgroup(dst, 0));
	cgroup_free(&dst);
	return r;
}

/* One libcgroup call on the v1 cpu group at path: attach thread tid, or (tid 0) remove the
 * group when it is empty. */
static int group_call(void *ud, const char *path, int32_t tid)
{
	struct cgroup *cg;
	int r = v1_group(ud, path);

	if (r < 0)
		return r;
	cg = cpu_group(path, NULL);
	if (!cg)
		return -ENOMEM;
	r = cg_err(tid ? cgroup_attach_task_pid(cg, tid)
		       : cgroup_delete_cgroup_ext(cg, CGFLAG_DELETE_EMPTY_ONLY));
	cgroup_free(&cg);
	return r;
}

int sbco_cg_remove_group(void *ud, const char *path)
{
	return group_call(ud, path, 0);
}

int sbco_cg_move_thread(void *ud, int32_t tid, const char *path)
{
	return tid > 0 ? group_call(ud, path, tid) : -EINVAL;
}

int sbco_cg_group_threads(void *ud, const char *path, int32_t *tids, size_t cap, size_t *ret_n)
{
	void *h = NULL;
	pid_t pid;
	int r = v1_group(ud, path);

	*ret_n = 0;
	if (r < 0)
		return r;
	r = cgroup_get_task_begin(path, "cpu", &h, &pid);
	while (r == 0 && *ret_n < cap) {
		tids[(*ret_n)++] = pid;
		r = cgroup_get_task_next(&h, &pid);
	}
	if (h)
		cgroup_get_task_end(&h);
	return r == 0 || r == ECGEOF ? 0 : cg_err(r);
}
