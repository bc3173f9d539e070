/* SPDX-License-Identifier: MIT */
/*
 * The process backend of VM discovery: walk root/proc, find threads whose comm matches the
 * vCPU name patterns, and describe each such process as a VM. Everything is read relative
 * to directory descriptors (openat), so a fake root works the same as "/", and every read
 * tolerates the thread or process having exited in between (ENOENT/ESRCH: counted, skipped).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbco.h"
#include "util.h"

/* Read a small file below dirfd into buf (NUL-terminated). Returns length or -errno. */
static ssize_t read_at(int dirfd, const char *path, char *buf, size_t size)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t n, at = 0;

	if (fd < 0)
		return -errno;
	while ((size_t)at < size - 1) {
		n = read(fd, buf + at, size - 1 - (size_t)at);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		at += n;
	}
	close(fd);
	buf[at] = '\0';
	return at;
}

/* root/proc as a directory fd (NULL, "" or "/": the real one), or -1. */
static int open_proc(const char *root)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/proc", root && *root && strcmp(root, "/") ? root : "");
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* The task directory of process pid below procfd, or NULL (the process is gone). */
static DIR *open_tasks(int procfd, int32_t pid)
{
	char path[32];
	int fd;
	DIR *d;

	snprintf(path, sizeof(path), "%d/task", pid);
	fd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d && fd >= 0)
		close(fd);
	return d;
}

int sbco_cpus_online(const char *root, struct sbco_cpuset *ret)
{
	char path[4096], buf[4096];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/sys/devices/system/cpu/online",
		 root && strcmp(root, "/") ? root : "");
	n = read_at(AT_FDCWD, path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	return sbco_cpuset_parse(buf, ret);
}

static bool is_pid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!is_digit(*s))
			return false;
	return true;
}

/* The CPU a thread last ran on: field 39 of /proc/TID/stat, counted after the comm's ')'. */
static int32_t stat_cpu(const char *stat)
{
	const char *p = strrchr(stat, ')');
	int field = 2;

	if (!p)
		return -1;
	for (p++; *p && field < 39; p++)
		if (*p == ' ' && p[1] && p[1] != ' ')
			field++;
	return field == 39 ? (int32_t)strtol(p, NULL, 10) : -1;
}

static bool allowed_list(const char *status, struct sbco_cpuset *ret)
{
	const char *p = strstr(status, "\nCpus_allowed_list:");

	if (!p)
		return false;
	p += strlen("\nCpus_allowed_list:");
	return sbco_cpuset_parse(p, ret) == 0;
}

/* The cpu controller's path from /proc/TID/cgroup: a v1 line naming "cpu", else v2 "0::". */
static char *cpu_cgroup(char *text)
{
	char *v2 = NULL;

	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		*c2 = '\0';
		if (c1 + 1 == c2 && strncmp(line, "0:", 2) == 0) {
			v2 = c2 + 1;
			continue;
		}
		for (char *tok = strtok_r(c1 + 1, ",", &c1); tok; tok = strtok_r(NULL, ",", &c1))
			if (strcmp(tok, "cpu") == 0)
				return strdup(c2 + 1);
	}
	return strdup(v2 ? v2 : "");
}

/* QEMU "-name guest=X,debug-threads=on" or "-name X,...", "-uuid U"; Firecracker "--id X". */
static void cmdline_identity(const char *cmd, size_t len, char *name, size_t name_len,
			     char uuid[37])
{
	const char *end = cmd + len;

	for (const char *a = cmd; a < end; a += strlen(a) + 1) {
		const char *v = a + strlen(a) + 1;

		if (v >= end)
			break;
		if (!strcmp(a, "-name") || !strcmp(a, "--id")) {
			size_t n;

			if (!strncmp(v, "guest=", 6))
				v += 6;
			n = strcspn(v, ",");
			if (n >= name_len)
				n = name_len - 1;
			memcpy(name, v, n);
			name[n] = '\0';
		} else if (!strcmp(a, "-uuid") && strlen(v) == 36) {
			memcpy(uuid, v, 37);
		}
	}
}

static int cmp_vcpu(const void *a, const void *b)
{
	const struct sbco_vcpu *x = a, *y = b;

	if (x->index != y->index)
		return (x->index > y->index) - (x->index < y->index);
	return (x->tid > y->tid) - (x->tid < y->tid);
}

struct scan_ctx {
	int procfd;
	bool real_root; /* "/": syscalls may stand in for file reads */
	unsigned flags;
	const struct sbco_vm_list *prev;
	struct sbco_proc_scan_stats st;
};

static bool affinity_syscall(int32_t tid, struct sbco_cpuset *ret)
{
	cpu_set_t set;

	if (sched_getaffinity(tid, sizeof(set), &set) < 0)
		return false;
	memset(ret, 0, sizeof(*ret));
	for (unsigned c = 0; c < CPU_SETSIZE && c < SBCO_MAX_CPUS; c++)
		if (CPU_ISSET(c, &set))
			sbco_cpuset_add(ret, c);
	return true;
}

static const char *prev_cgroup(const struct sbco_vm_list *prev, int32_t pid, int32_t tid)
{
	const struct sbco_vm *vm = prev ? sbco_vm_list_find_pid(prev, pid) : NULL;

	for (size_t i = 0; vm && i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].tid == tid && vm->vcpus[i].cgroup)
			return vm->vcpus[i].cgroup;
	return NULL;
}

/* Fill in CPU, affinity and cgroup of one vCPU thread. Returns 0 or -ENOENT if it exited. */
static int describe_vcpu(const struct scan_ctx *x, int32_t pid, struct sbco_vcpu *v)
{
	char path[64], buf[4096];
	const char *cg;

	v->cpu = -1;
	if (x->flags & SBCO_SCAN_CPU) {
		snprintf(path, sizeof(path), "%d/task/%d/stat", pid, v->tid);
		if (read_at(x->procfd, path, buf, sizeof(buf)) < 0)
			return -ENOENT;
		v->cpu = stat_cpu(buf);
	}
	if (x->real_root) {
		if (!affinity_syscall(v->tid, &v->affinity))
			return -ENOENT;
	} else {
		snprintf(path, sizeof(path), "%d/task/%d/status", pid, v->tid);
		if (read_at(x->procfd, path, buf, sizeof(buf)) < 0 ||
		    !allowed_list(buf, &v->affinity))
			return -ENOENT;
	}
	cg = prev_cgroup(x->prev, pid, v->tid);
	if (cg) {
		v->cgroup = strdup(cg);
	} else {
		snprintf(path, sizeof(path), "%d/task/%d/cgroup", pid, v->tid);
		if (read_at(x->procfd, path, buf, sizeof(buf)) < 0)
			return -ENOENT;
		v->cgroup = cpu_cgroup(buf);
	}
	return v->cgroup ? 0 : -ENOMEM;
}

int sbco_proc_thread_cgroups(const char *root, int32_t pid, struct sbco_thread_cg **ret,
			     size_t *ret_n)
{
	char path[300], buf[4096];
	struct sbco_thread_cg *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int procfd, r = 0;

	*ret = NULL;
	*ret_n = 0;
	procfd = open_proc(root);
	if (procfd < 0)
		return -ENOENT;
	d = open_tasks(procfd, pid);
	if (!d) {
		close(procfd);
		return -ENOENT;
	}
	while (r == 0 && (de = readdir(d))) {
		if (!is_pid_name(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%d/task/%s/cgroup", pid, de->d_name);
		if (read_at(procfd, path, buf, sizeof(buf)) < 0)
			continue; /* exited meanwhile */
		if (sbco_grow((void **)&v, &cap, n + 1, sizeof(*v)) < 0) {
			r = -ENOMEM;
			break;
		}
		v[n] = (struct sbco_thread_cg){.tid = (int32_t)strtol(de->d_name, NULL, 10),
					       .cgroup = cpu_cgroup(buf)};
		if (!v[n].cgroup)
			r = -ENOMEM;
		else
			n++;
	}
	closedir(d);
	close(procfd);
	if (r < 0) {
		sbco_thread_cgs_free(v, n);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

void sbco_thread_cgs_free(struct sbco_thread_cg *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].cgroup);
	free(v);
}

int sbco_proc_describe_thread(const char *root, int32_t pid, struct sbco_vcpu *v)
{
	int procfd = open_proc(root), r;

	if (procfd < 0)
		return -ENOENT;
	r = describe_vcpu(&(struct scan_ctx){.procfd = procfd, .flags = SBCO_SCAN_CPU}, pid, v);
	close(procfd);
	return r;
}

static void identify(int procfd, struct sbco_vm *vm, char *name, size_t name_len)
{
	char path[64], buf[8192];
	ssize_t n;

	name[0] = '\0';
	snprintf(path, sizeof(path), "%d/cmdline", vm->pid);
	n = read_at(procfd, path, buf, sizeof(buf));
	if (n > 0)
		cmdline_identity(buf, (size_t)n, name, name_len, vm->uuid);
	if (!name[0]) {
		char comm[32] = "vmm";

		snprintf(path, sizeof(path), "%d/comm", vm->pid);
		if (read_at(procfd, path, comm, sizeof(comm)) > 0)
			comm[strcspn(comm, "\n")] = '\0';
		snprintf(name, name_len, "%s-%d", comm, vm->pid);
	}
}

/* All vCPU threads of process pid; *ret_n = 0 when it has none. */
static int scan_process(int procfd, int32_t pid, const struct sbco_patterns *pat,
			struct sbco_vcpu **ret, size_t *ret_n, struct sbco_proc_scan_stats *st)
{
	char path[300], comm[64];
	struct sbco_vcpu *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	d = open_tasks(procfd, pid);
	if (!d) {
		st->vanished++;
		*ret_n = 0;
		return 0;
	}
	while ((de = readdir(d))) {
		uint64_t tid;
		int idx;

		if (!is_pid_name(de->d_name))
			continue;
		st->threads++;
		snprintf(path, sizeof(path), "%s/comm", de->d_name);
		if (read_at(dirfd(d), path, comm, sizeof(comm)) <= 0) {
			st->vanished++;
			continue;
		}
		comm[strcspn(comm, "\n")] = '\0';
		if (!sbco_patterns_match(pat, comm, &idx))
			continue;
		if (n == cap) {
			struct sbco_vcpu *nv = realloc(v, (cap = cap ? cap * 2 : 8) * sizeof(*v));

			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		if (sbco_parse_u64(de->d_name, &tid) < 0 || tid > INT32_MAX)
			continue;
		v[n++] = (struct sbco_vcpu){.index = idx, .tid = (int32_t)tid};
	}
	closedir(d);
	*ret = v;
	*ret_n = n;
	return 0;
}

/* Build the VM of one process from its vCPU threads (v is consumed). */
static int add_process(struct sbco_vm_list *l, struct scan_ctx *x, int32_t pid, struct sbco_vcpu *v,
		       size_t n, const struct sbco_cpuset *online)
{
	struct sbco_vm vm = {.backend = SBCO_BACKEND_PROC, .pid = pid, .domid = -1};
	char name[128];
	size_t w = 0;
	int r;

	for (size_t i = 0; i < n; i++) {
		r = describe_vcpu(x, pid, &v[i]);
		if (r == -ENOMEM)
			goto out;
		if (r < 0) {
			x->st.vanished++;
			continue;
		}
		if (sbco_cpuset_count(online) > 0 && !sbco_cpuset_equal(&v[i].affinity, online))
			v[i].pinned = true;
		v[w++] = v[i];
	}
	if (w == 0) {
		r = 0;
		goto out;
	}
	qsort(v, w, sizeof(*v), cmp_vcpu);
	for (size_t i = 0; i < w; i++)
		if (v[i].pinned) {
			vm.pinned = true;
			vm.pin_reason = strdup("vCPU affinity narrower than the online CPUs");
			break;
		}
	if (prev_cgroup(x->prev, pid, v[0].tid)) {
		/* same process as last scan (pid and a vCPU tid match): same command line */
		const struct sbco_vm *p = sbco_vm_list_find_pid(x->prev, pid);

		snprintf(name, sizeof(name), "%s", p->name);
		memcpy(vm.uuid, p->uuid, sizeof(vm.uuid));
	} else {
		identify(x->procfd, &vm, name, sizeof(name));
	}
	vm.name = name;
	vm.vcpus = v;
	vm.nr_vcpus = w;
	x->st.vcpus += (uint32_t)w;
	r = sbco_vm_list_add(l, &vm);
	free(vm.pin_reason);
out:
	for (size_t i = 0; i < w; i++) /* [w, n) are stale copies or had no cgroup yet */
		free(v[i].cgroup);
	free(v);
	return r;
}

int sbco_proc_scan_pid(const char *root, const struct sbco_patterns *pat, int32_t pid,
		       const struct sbco_vm_list *prev, unsigned flags, struct sbco_vm_list *out)
{
	struct scan_ctx x = {.flags = flags, .prev = prev};
	struct sbco_cpuset online = {{0}};
	struct sbco_vcpu *v = NULL;
	size_t n, before = out->nr;
	int r;

	x.real_root = !root || !strcmp(root, "/") || !*root;
	x.procfd = open_proc(root);
	if (x.procfd < 0)
		return -ENOENT;
	(void)sbco_cpus_online(root, &online);
	r = scan_process(x.procfd, pid, pat, &v, &n, &x.st);
	if (r == 0 && n > 0)
		r = add_process(out, &x, pid, v, n, &online);
	else
		free(v);
	close(x.procfd);
	return r < 0 ? r : out->nr > before;
}

int sbco_proc_scan(const char *root, const struct sbco_patterns *pat,
		   const struct sbco_vm_list *prev, unsigned flags, struct sbco_vm_list **ret,
		   struct sbco_proc_scan_stats *ret_stats)
{
	struct scan_ctx x = {.flags = flags, .prev = prev};
	struct sbco_cpuset online = {{0}};
	struct sbco_vm_list *l;
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (!pat || !ret)
		return -EINVAL;
	x.real_root = !root || !strcmp(root, "/") || !*root;
	x.procfd = open_proc(root);
	if (x.procfd < 0)
		return -ENOENT;
	d = fdopendir(x.procfd);
	l = calloc(1, sizeof(*l));
	if (!d || !l) {
		if (d)
			closedir(d);
		else
			close(x.procfd);
		free(l);
		return -ENOMEM;
	}
	(void)sbco_cpus_online(root, &online); /* unknown: no pinning detection */
	while (r == 0 && (de = readdir(d))) {
		struct sbco_vcpu *v = NULL;
		uint64_t pid;
		size_t n;

		if (!is_pid_name(de->d_name) || sbco_parse_u64(de->d_name, &pid) < 0 ||
		    pid > INT32_MAX)
			continue;
		x.st.processes++;
		r = scan_process(x.procfd, (int32_t)pid, pat, &v, &n, &x.st);
		if (r == 0 && n > 0)
			r = add_process(l, &x, (int32_t)pid, v, n, &online);
		else
			free(v);
	}
	closedir(d);
	if (r < 0) {
		sbco_vm_list_free(l);
		return r;
	}
	if (ret_stats)
		*ret_stats = x.st;
	*ret = l;
	return 0;
}
