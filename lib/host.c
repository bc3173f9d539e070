/* SPDX-License-Identifier: MIT */
/*
 * The real host operations (struct sbco_host_ops): affinity, EEVDF custom slice through
 * sched_setattr (glibc 2.36 has no wrapper), nice, and cpu cgroup weights through
 * libcgroup. On a fake root (tests) weights are files under root/sys/fs/cgroup.
 */
#include <errno.h>
#include <fcntl.h>
#include <libcgroup.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "host_internal.h"
#include "sbco.h"
#include "util.h"

struct sched_attr_v1 { /* SCHED_ATTR_SIZE_VER1, as the kernel's uapi */
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
	uint32_t sched_util_min, sched_util_max;
};

bool sbco_host_real_root(const void *ud)
{
	const char *root = ud;

	return !root || !*root || !strcmp(root, "/");
}

static int get_affinity(void *ud, int32_t tid, struct sbco_cpuset *ret)
{
	cpu_set_t set;

	(void)ud;
	if (sched_getaffinity(tid, sizeof(set), &set) < 0)
		return -errno;
	memset(ret, 0, sizeof(*ret));
	for (unsigned c = 0; c < CPU_SETSIZE && c < SBCO_MAX_CPUS; c++)
		if (CPU_ISSET(c, &set))
			sbco_cpuset_add(ret, c);
	return 0;
}

static int set_affinity(void *ud, int32_t tid, const struct sbco_cpuset *c)
{
	cpu_set_t set;

	(void)ud;
	CPU_ZERO(&set);
	for (unsigned i = 0; i < CPU_SETSIZE && i < SBCO_MAX_CPUS; i++)
		if (sbco_cpuset_has(c, i))
			CPU_SET(i, &set);
	return sched_setaffinity(tid, sizeof(set), &set) < 0 ? -errno : 0;
}

static int set_slice(void *ud, int32_t tid, int64_t slice_ns)
{
	struct sched_attr_v1 a = {0};

	(void)ud;
	if (syscall(SYS_sched_getattr, tid, &a, sizeof(a), 0) < 0)
		return -errno;
	if (a.sched_policy != SCHED_OTHER && a.sched_policy != SCHED_BATCH)
		return -EPERM; /* not a fair-class thread: leave it alone */
	a.size = sizeof(a);
	a.sched_flags = 0;
	a.sched_runtime = (uint64_t)(slice_ns > 0 ? slice_ns : 0); /* 0 resets the slice */
	return syscall(SYS_sched_setattr, tid, &a, 0) < 0 ? -errno : 0;
}

static int get_nice(void *ud, int32_t tid, int64_t *ret)
{
	int v;

	(void)ud;
	errno = 0;
	v = getpriority(PRIO_PROCESS, (id_t)tid);
	if (v == -1 && errno)
		return -errno;
	*ret = v;
	return 0;
}

static int set_nice(void *ud, int32_t tid, int64_t nice)
{
	(void)ud;
	return setpriority(PRIO_PROCESS, (id_t)tid, (int)nice) < 0 ? -errno : 0;
}

/* v1 "cpu.shares" or v2 "cpu.weight", whichever the group has. */
static int cg_value(const char *path, bool set, int64_t *v)
{
	static const char *const files[2] = {"cpu.shares", "cpu.weight"};
	int r = -ENOENT;

	if (!sbco_cg_ready())
		return -ENODEV;
	for (int i = 0; i < 2 && r == -ENOENT; i++) {
		struct cgroup *cg = cgroup_new_cgroup(path);
		struct cgroup_controller *c;
		u_int64_t u;

		if (!cg)
			return -ENOMEM;
		if (cgroup_get_cgroup(cg) == 0 && (c = cgroup_get_controller(cg, "cpu")) &&
		    cgroup_get_value_uint64(c, files[i], &u) == 0) {
			if (!set) {
				*v = (int64_t)u;
				r = 0;
			} else {
				r = cgroup_set_value_uint64(c, files[i], (u_int64_t)*v) == 0 &&
					    cgroup_modify_cgroup(cg) == 0
					? 0
					: -EIO;
			}
		}
		cgroup_free(&cg);
	}
	return r;
}

/* Fake root: root/sys/fs/cgroup/cpu/PATH/cpu.shares (v1) or root/sys/fs/cgroup/PATH/cpu.weight */
static int file_value(const char *root, const char *path, bool set, int64_t *v)
{
	static const char *const dir[2] = {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup"};
	static const char *const file[2] = {"cpu.shares", "cpu.weight"};

	for (int i = 0; i < 2; i++) {
		char p[4096];
		FILE *f;

		snprintf(p, sizeof(p), "%s%s%s/%s", root, dir[i], path, file[i]);
		f = fopen(p, set ? "r+e" : "re");
		if (!f)
			continue;
		if (set) {
			int ok = fprintf(f, "%lld\n", (long long)*v) > 0;

			return fclose(f) == 0 && ok ? 0 : -EIO;
		} else {
			long long x;
			int n = fscanf(f, "%lld", &x);

			fclose(f);
			if (n != 1)
				return -EIO;
			*v = x;
			return 0;
		}
	}
	return -ENOENT;
}

static int get_weight(void *ud, const char *cgroup, int64_t *ret)
{
	if (!sbco_cg_sane(cgroup))
		return -EINVAL;
	return sbco_host_real_root(ud) ? cg_value(cgroup, false, ret)
				       : file_value(ud, cgroup, false, ret);
}

static int set_weight(void *ud, const char *cgroup, int64_t weight)
{
	if (!sbco_cg_sane(cgroup))
		return -EINVAL;
	return sbco_host_real_root(ud) ? cg_value(cgroup, true, &weight)
				       : file_value(ud, cgroup, true, &weight);
}

/* One request line to the kernel patch's /proc/sbco/<file> below root. */
static int kpatch_write(const char *root, const char *file, const char *req)
{
	char path[4096];
	size_t n = strlen(req);
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/proc/sbco/%s", root && strcmp(root, "/") ? root : "",
		 file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, req, n) != (ssize_t)n)
		r = -errno;
	close(fd);
	return r;
}

/* /proc/sbco/lend: "A B NS". */
static int lend(void *ud, int32_t a, int32_t b, int64_t ns)
{
	char req[64];

	snprintf(req, sizeof(req), "%d %d %lld\n", a, b, (long long)ns);
	return kpatch_write(ud, "lend", req);
}

/* /proc/sbco/vm: "ID lend|count ALPHA TID...", "ID del", "clear". */
static int kernel_vm(void *ud, const char *req)
{
	return kpatch_write(ud, "vm", req);
}

const struct sbco_host_ops sbco_host_ops_real = {
    .get_affinity = get_affinity,
    .set_affinity = set_affinity,
    .set_slice = set_slice,
    .get_nice = get_nice,
    .set_nice = set_nice,
    .get_weight = get_weight,
    .set_weight = set_weight,
    .lend = lend,
    .kernel_vm = kernel_vm,
    .make_group = sbco_cg_make_group,
    .remove_group = sbco_cg_remove_group,
    .move_thread = sbco_cg_move_thread,
    .group_threads = sbco_cg_group_threads,
};
