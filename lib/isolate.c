/* SPDX-License-Identifier: MIT */
/*
 * Stall prevention (issue 14, bench/STALLS.md): anti-stacked VMs stall on 6.13-7.0 kernels
 * when the cpu cgroup their vCPUs share also holds threads that wake often (QEMU's main
 * loop, I/O, RCU threads): every wakeup re-weights the VM's group entity on the CPU, and a
 * re-weight of the running entity inflates its lag until the other VM's entity never
 * becomes eligible. The group entity of vCPU threads alone is re-weighted only at ticks,
 * which does not trap. So while a VM is anti-stacked sbcod moves its other threads into a
 * group of their own beside the shared one (v1 cpu hierarchy), with the weight (and CFS
 * quota) of the group they came from, and moves them back when it is not.
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

/* The group beside shared (length ls) for threads in from: parent/sbco.<name>[.<rest>] */
static char *group_for(const char *shared, size_t ls, const char *from)
{
	const char *name = shared;
	size_t lp, len;
	char *to, *w;

	for (size_t i = 0; i < ls; i++)
		if (shared[i] == '/')
			name = shared + i + 1;
	lp = (size_t)(name - shared); /* parent with its trailing '/' */
	len = lp + strlen("sbco.") + (ls - lp) + strlen(from + ls) + 1;
	if (len - lp > NAME_MAX + 1)
		return NULL;
	to = malloc(len);
	if (!to)
		return NULL;
	memcpy(to, shared, lp);
	w = to + lp;
	w += sprintf(w, "sbco.%.*s", (int)(ls - lp), name);
	for (const char *c = from + ls; *c; c++)
		*w++ = *c == '/' ? '.' : *c;
	*w = '\0';
	return to;
}

int sbco_isolate_plan(const struct sbco_thread_cg *t, size_t n, struct sbco_isolate_group **ret,
		      size_t *ret_n)
{
	const char *shared = NULL;
	struct sbco_isolate_group *g = NULL;
	size_t ls = 0, ng = 0, cap = 0;

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
	for (size_t i = 0; i < n; i++) {
		size_t k;

		if (t[i].vcpu || !t[i].cgroup || !below(t[i].cgroup, shared, ls))
			continue;
		for (k = 0; k < ng && strcmp(g[k].from, t[i].cgroup); k++)
			;
		if (k == ng) {
			if (sbco_grow((void **)&g, &cap, ng + 1, sizeof(*g)) < 0)
				goto oom;
			g[ng] = (struct sbco_isolate_group){
			    .from = strdup(t[i].cgroup), .to = group_for(shared, ls, t[i].cgroup)};
			ng++;
			if (!g[k].from)
				goto oom;
			if (!g[k].to) { /* a name over NAME_MAX: leave those threads */
				free(g[k].from);
				ng--;
				continue;
			}
		}
		{
			int32_t *x = realloc(g[k].tids, (g[k].n + 1) * sizeof(*x));

			if (!x)
				goto oom;
			g[k].tids = x;
			g[k].tids[g[k].n++] = t[i].tid;
		}
	}
	*ret = g;
	*ret_n = ng;
	return 0;
oom:
	sbco_isolate_groups_free(g, ng);
	return -ENOMEM;
}
