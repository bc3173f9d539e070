/* SPDX-License-Identifier: MIT */
/*
 * Stall prevention (issue 14, bench/STALLS.md): anti-stacked VMs stall on 6.13-7.0 kernels
 * when the cpu cgroup their vCPUs share also holds threads that wake often (QEMU's main
 * loop, I/O, RCU threads): every wakeup re-weights the VM's group entity on the CPU, and a
 * re-weight of the running entity inflates its lag until the other VM's entity never
 * becomes eligible. A group entity of vCPU threads alone is re-weighted only at ticks,
 * which does not trap. So while a VM is anti-stacked sbcod moves its vCPU threads into a
 * copy of that group beside it (v1 cpu hierarchy; the same subgroups, each with the weight
 * and CFS quota of the group it copies) and moves them back when it is not. The vCPUs move,
 * not the other threads: libvirt finds a domain's cgroup from where its main thread is
 * (on reconnecting after a libvirtd restart), so that one stays where libvirt put it.
 *
 * sbco_isolate_plan() is pure: threads and their cgroups in, groups to make out.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sbco.h"
#include "util.h"

void sbco_isolate_groups_free(struct sbco_isolate_group *g, size_t n)
{
	for (size_t i = 0; g && i < n; i++) {
		free(g[i].from);
		free(g[i].to);
		free(g[i].tids);
	}
	free(g);
}

/* Length of the longest common prefix of a (its first la bytes) and b that ends at a path
 * component of both. */
static size_t common(const char *a, size_t la, const char *b)
{
	size_t i = 0;

	while (i < la && a[i] == b[i])
		i++;
	if (i == la && (b[i] == '/' || b[i] == '\0'))
		return la;
	if (i == la)
		i--;
	while (i > 0 && a[i] != '/')
		i--;
	return i;
}

/* Is cgroup p the group s (length ls) or below it? */
static bool below(const char *p, const char *s, size_t ls)
{
	return !strncmp(p, s, ls) && (p[ls] == '\0' || p[ls] == '/');
}

/* The copy of group from (at or below shared, length ls) beside shared:
 * parent/sbco.<shared's name><the rest of from>. NULL when a name is over NAME_MAX. */
static char *group_for(const char *shared, size_t ls, const char *from, size_t lf)
{
	const char *name = shared;
	size_t lp;
	char *to;

	for (size_t i = 0; i < ls; i++)
		if (shared[i] == '/')
			name = shared + i + 1;
	lp = (size_t)(name - shared); /* the parent with its trailing '/' */
	if (strlen("sbco.") + ls - lp > NAME_MAX) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	to = malloc(lp + strlen("sbco.") + lf + 1);
	if (!to)
		return NULL;
	memcpy(to, shared, lp);
	sprintf(to + lp, "sbco.%.*s", (int)(lf - lp), from + lp); /* from begins with shared */
	return to;
}

/* The group for the first lf bytes of from, appended to g when new; its index or -ENOMEM
 * (-ENAMETOOLONG when it cannot be named). */
static int group_at(struct sbco_isolate_group **g, size_t *ng, size_t *cap, const char *shared,
		    size_t ls, const char *from, size_t lf)
{
	struct sbco_isolate_group *x;

	for (size_t k = 0; k < *ng; k++)
		if (strlen((*g)[k].from) == lf && !strncmp((*g)[k].from, from, lf))
			return (int)k;
	if (sbco_grow((void **)g, cap, *ng + 1, sizeof(**g)) < 0)
		return -ENOMEM;
	x = &(*g)[*ng];
	*x = (struct sbco_isolate_group){.from = strndup(from, lf),
					 .to = group_for(shared, ls, from, lf)};
	if (!x->from || !x->to) {
		bool oom = !x->from || errno == ENOMEM;

		free(x->from);
		free(x->to);
		return oom ? -ENOMEM : -ENAMETOOLONG;
	}
	return (int)(*ng)++;
}

int sbco_isolate_plan(const struct sbco_thread_cg *t, size_t n, struct sbco_isolate_group **ret,
		      size_t *ret_n)
{
	const char *shared = NULL;
	struct sbco_isolate_group *g = NULL;
	size_t ls = 0, ng = 0, cap = 0;
	bool others = false;
	int r = 0;

	*ret = NULL;
	*ret_n = 0;
	for (size_t i = 0; i < n; i++) {
		if (!t[i].vcpu)
			continue;
		if (!t[i].cgroup || t[i].cgroup[0] != '/')
			return 0; /* a vCPU whose group is unknown: nothing to tell */
		if (!shared) {
			shared = t[i].cgroup;
			ls = strlen(shared);
		} else {
			ls = common(shared, ls, t[i].cgroup);
		}
	}
	while (ls > 0 && shared[ls - 1] == '/')
		ls--;
	if (!shared || ls == 0)
		return 0; /* no vCPU, or they share only the root group: no group entity */
	for (size_t i = 0; i < n && !others; i++)
		others = !t[i].vcpu && t[i].cgroup && below(t[i].cgroup, shared, ls);
	if (!others)
		return 0; /* the group holds vCPUs only: nothing to separate */
	for (size_t i = 0; i < n && r >= 0; i++) {
		const char *from = t[i].cgroup;
		size_t lf = ls;
		int32_t *x;

		if (!t[i].vcpu)
			continue;
		for (;;) { /* shared first, then each group below it down to the vCPU's */
			r = group_at(&g, &ng, &cap, shared, ls, from, lf);
			if (r < 0 || !from[lf])
				break;
			lf += strcspn(from + lf + 1, "/") + 1;
		}
		if (r == -ENAMETOOLONG) { /* that vCPU stays: its group cannot be copied */
			r = 0;
			continue;
		}
		if (r < 0 || t[i].moved)
			continue;
		x = realloc(g[r].tids, (g[r].n + 1) * sizeof(*x));
		if (!x) {
			r = -ENOMEM;
			break;
		}
		g[r].tids = x;
		g[r].tids[g[r].n++] = t[i].tid;
	}
	if (r == -ENOMEM) {
		sbco_isolate_groups_free(g, ng);
		return r;
	}
	*ret = g;
	*ret_n = ng;
	return 0;
}
