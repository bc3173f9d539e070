/* SPDX-License-Identifier: MIT */
/*
 * Fault injection for the integration tests, as an LD_PRELOAD library in front of the real
 * sbcod: before the Nth call of one actuator entry point, run a command that breaks the
 * world under sbcod (a vCPU thread exits, a VM is destroyed, a vCPU cgroup is removed),
 * wait for it, then let the call go through to the real function, which now meets the
 * fault exactly between the snapshot it was planned on and its application.
 *   SBCO_FAULT_AT   sched_setaffinity | virDomainPinVcpuFlags | cgroup_modify_cgroup
 *   SBCO_FAULT_NTH  which call (default 1); the fault fires once
 *   SBCO_FAULT_RUN  the command, run with /bin/sh -c (test code; sbcod itself never
 *                   spawns anything), with SBCO_FAULT_TARGET = what the call changes:
 *                   the tid, the vCPU index, or the cgroup's path
 *   SBCO_FAULT_LOG  file that gets "fired AT N rc R" (and "call AT N target T result R
 *                   errno E" for that call and every later one; T = the tid, the vCPU
 *                   index, or -1), for the test to check
 */
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_int calls[3];
static const char *const names[3] = {"sched_setaffinity", "virDomainPinVcpuFlags",
				     "cgroup_modify_cgroup"};

__attribute__((format(printf, 1, 2))) static void note(const char *fmt, ...)
{
	const char *path = getenv("SBCO_FAULT_LOG");
	FILE *f = path ? fopen(path, "ae") : NULL;
	va_list ap;

	if (!f)
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

/* Returns the call's number; runs the fault first when this is the one, with
 * SBCO_FAULT_TARGET = what the call is about to change (tid, vCPU index, cgroup path). */
static int before(int which, const char *target)
{
	const char *at = getenv("SBCO_FAULT_AT"), *nth = getenv("SBCO_FAULT_NTH");
	const char *run = getenv("SBCO_FAULT_RUN");
	int n = atomic_fetch_add(&calls[which], 1) + 1, st = -1;
	pid_t p;

	if (!at || strcmp(at, names[which]) || n != (nth ? atoi(nth) : 1) || !run)
		return n;
	p = fork();
	if (p == 0) {
		unsetenv("LD_PRELOAD");
		setenv("SBCO_FAULT_TARGET", target, 1);
		execl("/bin/sh", "sh", "-c", run, (char *)NULL);
		_exit(127);
	}
	while (p > 0 && waitpid(p, &st, 0) < 0 && errno == EINTR)
		;
	note("fired %s %d rc %d\n", names[which], n, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return n;
}

static void after(int which, int n, int target, int r, int e)
{
	const char *at = getenv("SBCO_FAULT_AT"), *nth = getenv("SBCO_FAULT_NTH");

	if (at && !strcmp(at, names[which]) && n >= (nth ? atoi(nth) : 1))
		note("call %s %d target %d result %d errno %d\n", names[which], n, target, r, e);
}

#define REAL(T, name)                                                                              \
	static T real;                                                                             \
	if (!real)                                                                                 \
		real = (T)dlsym(RTLD_NEXT, name);                                                  \
	if (!real)                                                                                 \
	abort()

int sched_setaffinity(pid_t pid, size_t size, const cpu_set_t *set)
{
	typedef int (*fn)(pid_t, size_t, const cpu_set_t *);
	char t[16];
	int n, r, e;

	snprintf(t, sizeof(t), "%d", (int)pid);
	n = before(0, t);

	REAL(fn, "sched_setaffinity");
	r = real(pid, size, set);
	e = errno;
	after(0, n, pid, r, e);
	errno = e;
	return r;
}

/* libvirt's and libcgroup's, declared here without their headers (pointers stay opaque) */
int virDomainPinVcpuFlags(void *dom, unsigned int vcpu, unsigned char *map, int maplen,
			  unsigned int flags);
int virDomainPinVcpuFlags(void *dom, unsigned int vcpu, unsigned char *map, int maplen,
			  unsigned int flags)
{
	typedef int (*fn)(void *, unsigned int, unsigned char *, int, unsigned int);
	char t[16];
	int n, r;

	snprintf(t, sizeof(t), "%u", vcpu);
	n = before(1, t);
	REAL(fn, "virDomainPinVcpuFlags");
	r = real(dom, vcpu, map, maplen, flags);
	after(1, n, (int)vcpu, r, 0);
	return r;
}

int cgroup_modify_cgroup(void *cg);
int cgroup_modify_cgroup(void *cg)
{
	typedef int (*fn)(void *);
	/* libcgroup 2.0 does not export cgroup_get_cgroup_name(); the path is the first member
	 * of its struct cgroup (char name[FILENAME_MAX]) in every release since 0.32 */
	const char *path = cg;
	size_t len = strnlen(path, FILENAME_MAX);
	int n, r;

	for (size_t i = 0; i < len; i++)
		if (path[i] < 0x20 || path[i] >= 0x7f)
			len = 0;
	n = before(2, len && len < FILENAME_MAX ? path : "?");

	REAL(fn, "cgroup_modify_cgroup");
	r = real(cg);
	after(2, n, -1, r, 0);
	return r;
}
