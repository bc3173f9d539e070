/* SPDX-License-Identifier: MIT */
/*
 * Actuators: apply affinities and balancing actions through struct sbco_host_ops, record
 * the original value before sbco's first change to anything, and put all of it back on
 * request. A thread that vanished (ESRCH/ENOENT) is normal: its records are dropped.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbco.h"
#include "util.h"

enum kind { K_AFFINITY, K_SLICE, K_NICE, K_WEIGHT, K_GROUP };

struct record {
	enum kind kind;
	int32_t tid;
	int32_t index;	/* K_AFFINITY through the pinner: the vCPU index */
	char uuid[37];	/* K_AFFINITY through the pinner: the domain, else "" */
	char *cgroup;	/* K_WEIGHT; K_GROUP: the group the threads came from */
	char *to;	/* K_GROUP: the group sbco made for them */
	uint64_t start; /* the thread's start time (clock ticks since boot), 0 unknown */
	struct sbco_cpuset cpus;
	int64_t value;
};

struct sbco_actuator {
	const struct sbco_host_ops *ops;
	void *ud;
	sbco_pin_fn pin;
	void *pin_ud;
	char *state_path;
	struct record *r;
	size_t n, cap;
	/* kernel-lever loans outstanding, netted per pair: a has lent ns to b. Not in the
	 * state file: a loan is a one-off vruntime move, not a setting a crash leaves behind. */
	struct loan {
		int32_t a, b;
		int64_t ns;
	} * loans;
	size_t nr_loans, cap_loans;
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
	for (size_t i = 0; i < a->n; i++) {
		free(a->r[i].cgroup);
		free(a->r[i].to);
	}
	free(a->r);
	free(a->loans);
	free(a->state_path);
	free(a);
	return NULL;
}

int sbco_actuator_original_affinity(const struct sbco_actuator *a, int32_t tid,
				    struct sbco_cpuset *ret)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->r[i].kind == K_AFFINITY && a->r[i].tid == tid) {
			*ret = a->r[i].cpus;
			return 0;
		}
	return -ENOENT;
}

size_t sbco_actuator_pending(const struct sbco_actuator *a)
{
	return a->n;
}

static struct record *find(struct sbco_actuator *a, enum kind k, int32_t tid, const char *cg)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->r[i].kind == k && (k == K_WEIGHT	 ? !strcmp(a->r[i].cgroup, cg)
					  : k == K_GROUP ? !strcmp(a->r[i].to, cg)
							 : a->r[i].tid == tid))
			return &a->r[i];
	return NULL;
}

static void tally(struct sbco_restore_stats *st, int r)
{
	if (r == 0)
		st->restored++;
	else if (r == -ESRCH || r == -ENOENT)
		st->vanished++; /* a thread that is gone needs nothing put back */
	else
		st->failed++;
}

static const char *const kind_names[] = {"affinity", "slice", "nice", "weight", "group"};

/* Field 22 of /proc/TID/stat: when the thread started. 0 when it cannot be read. */
static uint64_t thread_start(int32_t tid)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd, field = 2;

	snprintf(path, sizeof(path), "/proc/%d/stat", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	for (; p && *p && field < 22; p++)
		if (*p == ' ')
			field++;
	return p && field == 22 ? strtoull(p, NULL, 10) : 0;
}

/* The originals as JSON: {"version":1,"records":[...]} */
static int save_state(struct sbco_actuator *a)
{
	cJSON *root, *arr;
	char *txt, cpus[4096];
	int r;

	if (!a->state_path)
		return 0;
	root = cJSON_CreateObject();
	if (!root)
		return -ENOMEM;
	cJSON_AddNumberToObject(root, "version", 1);
	arr = cJSON_AddArrayToObject(root, "records");
	for (size_t i = 0; arr && i < a->n; i++) {
		const struct record *rec = &a->r[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "kind", kind_names[rec->kind]);
		cJSON_AddNumberToObject(o, "tid", rec->tid);
		cJSON_AddNumberToObject(o, "start", (double)rec->start);
		if (rec->kind == K_AFFINITY) {
			if (sbco_cpuset_format(&rec->cpus, cpus, sizeof(cpus)) < 0)
				cpus[0] = '\0';
			cJSON_AddStringToObject(o, "cpus", cpus);
			cJSON_AddStringToObject(o, "uuid", rec->uuid);
			cJSON_AddNumberToObject(o, "index", rec->index);
		} else {
			cJSON_AddNumberToObject(o, "value", (double)rec->value);
		}
		if (rec->cgroup)
			cJSON_AddStringToObject(o, "cgroup", rec->cgroup);
		if (rec->to)
			cJSON_AddStringToObject(o, "to", rec->to);
		cJSON_AddItemToArray(arr, o);
	}
	txt = cJSON_Print(root);
	cJSON_Delete(root);
	if (!txt)
		return -ENOMEM;
	r = sbco_write_atomic(a->state_path, txt, strlen(txt), 0600, true);
	free(txt);
	return r;
}

int sbco_actuator_set_state_file(struct sbco_actuator *a, const char *path)
{
	free(a->state_path);
	a->state_path = path ? strdup(path) : NULL;
	if (path && !a->state_path)
		return -ENOMEM;
	return save_state(a);
}

static struct record *add(struct sbco_actuator *a, enum kind k, int32_t tid, const char *cg)
{
	struct record *r;

	if (sbco_grow((void **)&a->r, &a->cap, a->n + 1, sizeof(*a->r)) < 0)
		return NULL;
	r = &a->r[a->n];
	*r = (struct record){
	    .kind = k, .tid = tid, .start = k == K_WEIGHT || k == K_GROUP ? 0 : thread_start(tid)};
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
		if (a->r[i].kind != K_WEIGHT && a->r[i].kind != K_GROUP && a->r[i].tid == tid) {
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
	/* Through libvirt when we can, so it keeps its view and the vCPU's cpuset cgroup;
	 * then directly as well: libvirt 9 was seen leaving the thread's own mask narrow when
	 * a vCPU is pinned back to all CPUs (its "unpin"), while its config said 0-N. */
	int rp = rec->uuid[0] && a->pin ? a->pin(a->pin_ud, rec->uuid, rec->index, c) : 0;
	int r = a->ops->set_affinity(a->ud, rec->tid, c);

	/* when both failed, libvirt's refusal is the cause to report (the direct call then
	 * usually meets the vCPU cgroup's cpuset libvirt did not widen) */
	return r < 0 && rp < 0 && r != -ESRCH ? rp : r;
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
		r = save_state(a); /* the original is on disk before the change */
		if (r < 0)
			return r;
	}
	return gone(a, tid, put_affinity(a, rec, c));
}

int sbco_actuator_restore_affinity(struct sbco_actuator *a, int32_t tid,
				   struct sbco_cpuset *ret_cpus)
{
	struct record *rec = find(a, K_AFFINITY, tid, NULL);
	size_t i;
	int r;

	if (!rec)
		return -ENOENT;
	r = put_affinity(a, rec, &rec->cpus);
	if (r == -ESRCH || r == -ENOENT)
		return gone(a, tid, r); /* every record of the thread dropped */
	if (r < 0)
		return r; /* kept: restore_all tries again */
	if (ret_cpus)
		*ret_cpus = rec->cpus;
	i = (size_t)(rec - a->r);
	memmove(&a->r[i], &a->r[i + 1], (a->n - i - 1) * sizeof(*a->r));
	a->n--;
	(void)save_state(a); /* one original fewer; a stale entry would only restore it again */
	return r;
}

int sbco_actuator_set_affinity(struct sbco_actuator *a, int32_t tid, const struct sbco_cpuset *c)
{
	return sbco_actuator_set_vcpu_affinity(a, tid, NULL, -1, c);
}

/* Book a loan of ns from a to b, netted against one from b to a. */
static int book_loan(struct sbco_actuator *a, int32_t from, int32_t to, int64_t ns)
{
	for (size_t i = 0; i < a->nr_loans; i++) {
		struct loan *l = &a->loans[i];

		if (l->a == from && l->b == to) {
			l->ns += ns;
			return 0;
		}
		if (l->a == to && l->b == from) {
			l->ns -= ns;
			return 0;
		}
	}
	if (sbco_grow((void **)&a->loans, &a->cap_loans, a->nr_loans + 1, sizeof(*a->loans)) < 0)
		return -ENOMEM;
	a->loans[a->nr_loans++] = (struct loan){from, to, ns};
	return 0;
}

static int apply_loan(struct sbco_actuator *a, const struct sbco_action *act)
{
	int r;

	if (!a->ops->lend || act->value <= 0 || act->peer <= 0)
		return -EINVAL;
	r = a->ops->lend(a->ud, act->tid, act->peer, act->value);
	if (r < 0)
		return r;
	return book_loan(a, act->tid, act->peer, act->value);
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

	if (act->lever == SBCO_LEVER_KERNEL)
		return apply_loan(a, act);
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
		r = save_state(a); /* the original is on disk before the change */
		if (r < 0)
			return r;
	}
	if (k == K_SLICE)
		r = a->ops->set_slice(a->ud, act->tid, act->value);
	else if (k == K_NICE)
		r = a->ops->set_nice(a->ud, act->tid, act->value);
	else
		r = a->ops->set_weight(a->ud, cgroup, act->value);
	return k == K_WEIGHT ? r : gone(a, act->tid, r);
}

/* Every thread in group to back into from, then to removed. A from that is gone (its VM
 * ended) leaves nothing to move back: to is removed when empty. Returns 0 or -errno. */
static int regroup(const struct sbco_host_ops *ops, void *ud, const char *to, const char *from)
{
	int32_t tids[256];
	size_t n = 0;
	int r = 0, pass = 0;

	if (!ops->group_threads || !ops->move_thread || !ops->remove_group)
		return -EOPNOTSUPP;
	do { /* bounded: threads the moved ones start meanwhile land in to too */
		r = ops->group_threads(ud, to, tids, sizeof(tids) / sizeof(tids[0]), &n);
		if (r == -ENOENT)
			return 0; /* already gone */
		for (size_t i = 0; r == 0 && i < n; i++) {
			int m = ops->move_thread(ud, tids[i], from);

			if (m < 0 && m != -ESRCH && m != -ENOENT)
				r = m;
		}
	} while (r == 0 && n > 0 && ++pass < 8);
	if (r < 0)
		return r;
	r = ops->remove_group(ud, to);
	return r == -ENOENT ? 0 : r;
}

int sbco_actuator_isolate(struct sbco_actuator *a, const char *from, const char *to,
			  const int32_t *tids, size_t n)
{
	struct record *rec = find(a, K_GROUP, 0, to);
	int r, moved = 0;

	if (!a->ops->make_group || !a->ops->move_thread)
		return -EOPNOTSUPP;
	if (!rec) { /* on disk before the group is made: a crash leaves nothing unrecorded */
		rec = add(a, K_GROUP, 0, from);
		if (!rec)
			return -ENOMEM;
		rec->to = strdup(to);
		r = rec->to ? save_state(a) : -ENOMEM;
		if (r == 0) {
			r = a->ops->make_group(a->ud, to, from);
			r = r == -EEXIST ? 0 : r;
		}
		if (r < 0) {
			free(rec->cgroup);
			free(rec->to);
			a->n--;
			(void)save_state(a);
			return r;
		}
	}
	for (size_t i = 0; i < n; i++) {
		r = a->ops->move_thread(a->ud, tids[i], to);
		if (r == 0)
			moved++;
		else if (r != -ESRCH && r != -ENOENT)
			return r;
	}
	return moved;
}

int sbco_actuator_unisolate(struct sbco_actuator *a, const char *to)
{
	struct record *rec = find(a, K_GROUP, 0, to);
	size_t i;
	int r;

	if (!rec)
		return -ENOENT;
	r = regroup(a->ops, a->ud, rec->to, rec->cgroup);
	if (r < 0)
		return r;
	i = (size_t)(rec - a->r);
	free(rec->cgroup);
	free(rec->to);
	memmove(&a->r[i], &a->r[i + 1], (a->n - i - 1) * sizeof(*a->r));
	a->n--;
	(void)save_state(a);
	return 0;
}

bool sbco_actuator_isolated(const struct sbco_actuator *a, const char *to)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->r[i].kind == K_GROUP && !strcmp(a->r[i].to, to))
			return true;
	return false;
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
		case K_GROUP:
			r = regroup(a->ops, a->ud, rec->to, rec->cgroup);
			break;
		default:
			r = a->ops->set_weight(a->ud, rec->cgroup, rec->value);
			break;
		}
		tally(&st, r);
		free(rec->cgroup);
		free(rec->to);
	}
	a->n = 0;
	for (size_t i = 0; i < a->nr_loans; i++) { /* every loan paid back */
		const struct loan *l = &a->loans[i];

		if (l->ns == 0)
			continue;
		tally(&st, l->ns > 0 ? a->ops->lend(a->ud, l->b, l->a, l->ns)
				     : a->ops->lend(a->ud, l->a, l->b, -l->ns));
	}
	a->nr_loans = 0;
	if (a->state_path)
		unlink(a->state_path);
	if (ret)
		*ret = st;
}

static int restore_one(const cJSON *o, const struct sbco_host_ops *ops, void *ud, sbco_pin_fn pin,
		       void *pin_ud)
{
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
	const cJSON *tid = cJSON_GetObjectItemCaseSensitive(o, "tid");
	const cJSON *start = cJSON_GetObjectItemCaseSensitive(o, "start");
	const cJSON *value = cJSON_GetObjectItemCaseSensitive(o, "value");
	const cJSON *cg = cJSON_GetObjectItemCaseSensitive(o, "cgroup");
	int k = -1;

	for (int i = 0; cJSON_IsString(kind) && i < 5; i++)
		if (!strcmp(kind->valuestring, kind_names[i]))
			k = i;
	if (k < 0 || !cJSON_IsNumber(tid) || !cJSON_IsNumber(start))
		return -EBADMSG;
	if (k == K_WEIGHT) {
		if (!cJSON_IsString(cg) || !cJSON_IsNumber(value))
			return -EBADMSG;
		return ops->set_weight(ud, cg->valuestring, (int64_t)value->valuedouble);
	}
	if (k == K_GROUP) {
		const cJSON *to = cJSON_GetObjectItemCaseSensitive(o, "to");

		if (!cJSON_IsString(cg) || !cJSON_IsString(to))
			return -EBADMSG;
		return regroup(ops, ud, to->valuestring, cg->valuestring);
	}
	if (start->valuedouble > 0 && thread_start(tid->valueint) != (uint64_t)start->valuedouble)
		return -ESRCH; /* gone, or the tid now names another thread */
	if (k == K_AFFINITY) {
		const cJSON *cpus = cJSON_GetObjectItemCaseSensitive(o, "cpus");
		const cJSON *uuid = cJSON_GetObjectItemCaseSensitive(o, "uuid");
		const cJSON *index = cJSON_GetObjectItemCaseSensitive(o, "index");
		struct sbco_cpuset set;

		if (!cJSON_IsString(cpus) || sbco_cpuset_parse(cpus->valuestring, &set) < 0)
			return -EBADMSG;
		if (pin && cJSON_IsString(uuid) && *uuid->valuestring && cJSON_IsNumber(index) &&
		    pin(pin_ud, uuid->valuestring, index->valueint, &set) == 0)
			return 0;
		return ops->set_affinity(ud, tid->valueint, &set);
	}
	if (!cJSON_IsNumber(value))
		return -EBADMSG;
	if (k == K_SLICE)
		return ops->set_slice(ud, tid->valueint, (int64_t)value->valuedouble);
	return ops->set_nice(ud, tid->valueint, (int64_t)value->valuedouble);
}

int sbco_state_restore(const char *path, const struct sbco_host_ops *ops, void *ud, sbco_pin_fn pin,
		       void *pin_ud, struct sbco_restore_stats *ret)
{
	struct sbco_restore_stats st = {0};
	char *buf = NULL;
	size_t len;
	cJSON *root, *arr;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r, n;

	if (ret)
		*ret = st;
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	r = sbco_read_fd(fd, 16u << 20, &buf, &len);
	close(fd);
	if (r < 0)
		return r;
	root = cJSON_ParseWithLength(buf, len);
	free(buf);
	arr = root ? cJSON_GetObjectItemCaseSensitive(root, "records") : NULL;
	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(root);
		return -EBADMSG;
	}
	n = cJSON_GetArraySize(arr);
	for (int i = n - 1; i >= 0; i--) { /* newest first, as restore_all */
		tally(&st, restore_one(cJSON_GetArrayItem(arr, i), ops, ud, pin, pin_ud));
	}
	cJSON_Delete(root);
	unlink(path);
	if (ret)
		*ret = st;
	return 0;
}
