/* SPDX-License-Identifier: MIT */
/*
 * Actuators: apply affinities and balancing actions through struct sbco_host_ops, record
 * the original value before sbco's first change to anything, and put all of it back on
 * request. A thread that vanished (ESRCH/ENOENT) is normal: its records are dropped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbco.h"

enum kind { K_AFFINITY, K_SLICE, K_NICE, K_WEIGHT };

struct record {
	enum kind kind;
	int32_t tid;
	int32_t index; /* K_AFFINITY through the pinner: the vCPU index */
	char uuid[37]; /* K_AFFINITY through the pinner: the domain, else "" */
	char *cgroup;  /* K_WEIGHT */
	struct sbco_cpuset cpus;
	int64_t value;
};

struct sbco_actuator {
	const struct sbco_host_ops *ops;
	void *ud;
	sbco_pin_fn pin;
	void *pin_ud;
	struct record *r;
	size_t n, cap;
};

int sbco_actuator_new(const struct sbco_host_ops *ops, void *ud, struct sbco_actuator **ret)
{
	struct sbco_actuator *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	a->ops = ops;
	a->ud = ud;
	*ret = a;
	return 0;
}

struct sbco_actuator *sbco_actuator_free(struct sbco_actuator *a)
{
	if (!a)
		return NULL;
	for (size_t i = 0; i < a->n; i++)
		free(a->r[i].cgroup);
	free(a->r);
	free(a);
	return NULL;
}

size_t sbco_actuator_pending(const struct sbco_actuator *a)
{
	return a->n;
}

static struct record *find(struct sbco_actuator *a, enum kind k, int32_t tid, const char *cg)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->r[i].kind == k &&
		    (k == K_WEIGHT ? !strcmp(a->r[i].cgroup, cg) : a->r[i].tid == tid))
			return &a->r[i];
	return NULL;
}

static struct record *add(struct sbco_actuator *a, enum kind k, int32_t tid, const char *cg)
{
	struct record *r;

	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		struct record *nr = realloc(a->r, cap * sizeof(*nr));

		if (!nr)
			return NULL;
		a->r = nr;
		a->cap = cap;
	}
	r = &a->r[a->n];
	*r = (struct record){.kind = k, .tid = tid};
	if (cg && !(r->cgroup = strdup(cg)))
		return NULL;
	a->n++;
	return r;
}

/* A thread is gone: forget everything recorded for it. */
static void drop_tid(struct sbco_actuator *a, int32_t tid)
{
	size_t w = 0;

	for (size_t i = 0; i < a->n; i++) {
		if (a->r[i].kind != K_WEIGHT && a->r[i].tid == tid) {
			free(a->r[i].cgroup);
			continue;
		}
		a->r[w++] = a->r[i];
	}
	a->n = w;
}

static int gone(struct sbco_actuator *a, int32_t tid, int r)
{
	if (r == -ESRCH || r == -ENOENT) {
		drop_tid(a, tid);
		return -ESRCH;
	}
	return r;
}

void sbco_actuator_set_pinner(struct sbco_actuator *a, sbco_pin_fn pin, void *userdata)
{
	a->pin = pin;
	a->pin_ud = userdata;
}

static int put_affinity(struct sbco_actuator *a, const struct record *rec,
			const struct sbco_cpuset *c)
{
	/* through libvirt when we can; directly when libvirt is away (inside the cpuset) */
	if (rec->uuid[0] && a->pin && a->pin(a->pin_ud, rec->uuid, rec->index, c) == 0)
		return 0;
	return a->ops->set_affinity(a->ud, rec->tid, c);
}

int sbco_actuator_set_vcpu_affinity(struct sbco_actuator *a, int32_t tid, const char *uuid,
				    int32_t index, const struct sbco_cpuset *c)
{
	struct record *rec = find(a, K_AFFINITY, tid, NULL);
	int r;

	if (!rec) {
		struct sbco_cpuset orig;

		r = a->ops->get_affinity(a->ud, tid, &orig);
		if (r < 0)
			return gone(a, tid, r);
		rec = add(a, K_AFFINITY, tid, NULL);
		if (!rec)
			return -ENOMEM;
		rec->cpus = orig;
		rec->index = index;
		if (uuid && a->pin)
			snprintf(rec->uuid, sizeof(rec->uuid), "%s", uuid);
	}
	return gone(a, tid, put_affinity(a, rec, c));
}

int sbco_actuator_set_affinity(struct sbco_actuator *a, int32_t tid, const struct sbco_cpuset *c)
{
	return sbco_actuator_set_vcpu_affinity(a, tid, NULL, -1, c);
}

int sbco_actuator_apply(struct sbco_actuator *a, const struct sbco_action *act, const char *cgroup,
			int64_t original_slice_ns)
{
	enum kind k = act->lever == SBCO_LEVER_SLICE  ? K_SLICE
		      : act->lever == SBCO_LEVER_NICE ? K_NICE
						      : K_WEIGHT;
	struct record *rec;
	int64_t orig = original_slice_ns;
	int r = 0;

	if (k == K_WEIGHT && (!cgroup || !*cgroup || !strcmp(cgroup, "/")))
		return -EINVAL; /* no own cgroup: never reweight a shared one */
	rec = find(a, k, act->tid, cgroup);
	if (!rec) {
		if (k == K_NICE)
			r = a->ops->get_nice(a->ud, act->tid, &orig);
		else if (k == K_WEIGHT)
			r = a->ops->get_weight(a->ud, cgroup, &orig);
		if (r < 0)
			return gone(a, act->tid, r);
		rec = add(a, k, act->tid, k == K_WEIGHT ? cgroup : NULL);
		if (!rec)
			return -ENOMEM;
		rec->value = orig;
	}
	if (k == K_SLICE)
		r = a->ops->set_slice(a->ud, act->tid, act->value);
	else if (k == K_NICE)
		r = a->ops->set_nice(a->ud, act->tid, act->value);
	else
		r = a->ops->set_weight(a->ud, cgroup, act->value);
	return k == K_WEIGHT ? r : gone(a, act->tid, r);
}

void sbco_actuator_restore_all(struct sbco_actuator *a, struct sbco_restore_stats *ret)
{
	struct sbco_restore_stats st = {0};

	for (size_t i = a->n; i-- > 0;) {
		struct record *rec = &a->r[i];
		int r;

		switch (rec->kind) {
		case K_AFFINITY:
			r = put_affinity(a, rec, &rec->cpus);
			break;
		case K_SLICE:
			r = a->ops->set_slice(a->ud, rec->tid, rec->value);
			break;
		case K_NICE:
			r = a->ops->set_nice(a->ud, rec->tid, rec->value);
			break;
		default:
			r = a->ops->set_weight(a->ud, rec->cgroup, rec->value);
			break;
		}
		if (r == 0)
			st.restored++;
		else if (r == -ESRCH || r == -ENOENT)
			st.vanished++;
		else
			st.failed++;
		free(rec->cgroup);
	}
	a->n = 0;
	if (ret)
		*ret = st;
}
