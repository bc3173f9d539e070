/* SPDX-License-Identifier: MIT */
/*
 * The process backend kept up to date by process events: after one full /proc scan, a
 * thread being named like a vCPU or a vCPU thread (or its VMM) exiting marks that process
 * dirty, and only dirty processes are rescanned. Lost events fall back to a full scan.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sbco.h"
#include "util.h"

struct sbco_proc_watch {
	char *root;
	const struct sbco_patterns *pat;
	struct sbco_proc_events *pe;
	struct sbco_vm_list *vms;
	int32_t *dirty, *changed;
	size_t nr_dirty, cap_dirty, nr_changed, cap_changed;
	bool lost;
	struct sbco_proc_watch_stats st;
};

static bool is_vcpu_of(const struct sbco_vm_list *l, int32_t tgid, int32_t tid)
{
	const struct sbco_vm *vm = sbco_vm_list_find_pid(l, tgid);

	for (size_t i = 0; vm && i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].tid == tid || tid == tgid)
			return true;
	return false;
}

static void mark(struct sbco_proc_watch *w, int32_t tgid)
{
	for (size_t i = 0; i < w->nr_dirty; i++)
		if (w->dirty[i] == tgid)
			return;
	if (sbco_grow((void **)&w->dirty, &w->cap_dirty, w->nr_dirty + 1, sizeof(*w->dirty)) < 0) {
		w->lost = true; /* cannot remember it: rescan everything instead */
		return;
	}
	w->dirty[w->nr_dirty++] = tgid;
}

static void on_event(void *ud, enum sbco_proc_event ev, int32_t tgid, int32_t tid, const char *comm)
{
	struct sbco_proc_watch *w = ud;

	w->st.events++;
	if (ev == SBCO_PROC_EVENT_LOST) {
		w->lost = true;
		w->st.lost++;
	} else if (ev == SBCO_PROC_EVENT_COMM) {
		if (sbco_patterns_match(w->pat, comm, NULL) || is_vcpu_of(w->vms, tgid, tid))
			mark(w, tgid);
	} else if (is_vcpu_of(w->vms, tgid, tid)) {
		mark(w, tgid);
	}
}

static int full_scan(struct sbco_proc_watch *w)
{
	struct sbco_vm_list *l = NULL;
	int r = sbco_proc_scan(w->root, w->pat, w->vms, 0, &l, NULL);

	if (r < 0)
		return r;
	sbco_vm_list_free(w->vms);
	w->vms = l;
	w->st.full_scans++;
	w->nr_dirty = 0;
	w->lost = false;
	return 1;
}

static void remove_pid(struct sbco_vm_list *l, int32_t pid)
{
	for (size_t i = 0; i < l->nr; i++)
		if (l->vms[i].pid == pid) {
			sbco_vm_clear(&l->vms[i]);
			memmove(&l->vms[i], &l->vms[i + 1], (l->nr - i - 1) * sizeof(*l->vms));
			l->nr--;
			return;
		}
}

static int rescan_pid(struct sbco_proc_watch *w, int32_t pid)
{
	struct sbco_vm_list one = {0};
	int r = sbco_proc_scan_pid(w->root, w->pat, pid, w->vms, 0, &one);

	w->st.pid_scans++;
	if (r < 0 && r != -ENOENT)
		return r;
	remove_pid(w->vms, pid);
	if (r == 1) {
		r = sbco_vm_list_add(w->vms, &one.vms[0]);
		sbco_vm_clear(&one.vms[0]);
	}
	free(one.vms);
	return r < 0 ? r : 1;
}

int sbco_proc_watch_process(struct sbco_proc_watch *w)
{
	int r, changed = 0;

	w->nr_changed = 0;
	if (!w->pe || w->lost)
		return full_scan(w);
	r = sbco_proc_events_drain(w->pe, on_event, w);
	if (r < 0)
		return r;
	if (w->lost)
		return full_scan(w);
	w->nr_changed = 0;
	if (sbco_grow((void **)&w->changed, &w->cap_changed, w->nr_dirty, sizeof(*w->changed)) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < w->nr_dirty; i++) {
		r = rescan_pid(w, w->dirty[i]);
		if (r < 0)
			return r;
		changed |= r;
		w->changed[w->nr_changed++] = w->dirty[i];
	}
	w->nr_dirty = 0;
	return changed;
}

int sbco_proc_watch_new(const char *root, const struct sbco_patterns *pat,
			struct sbco_proc_watch **ret)
{
	struct sbco_proc_watch *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	w->root = strdup(root ? root : "/");
	w->pat = pat;
	w->vms = calloc(1, sizeof(*w->vms));
	if (!w->root || !w->vms) {
		sbco_proc_watch_free(w);
		return -ENOMEM;
	}
	/* subscribe first, then scan: nothing that happens in between is missed */
	if (sbco_proc_events_open(&w->pe) < 0)
		w->pe = NULL;
	r = full_scan(w);
	if (r < 0) {
		sbco_proc_watch_free(w);
		return r;
	}
	*ret = w;
	return 0;
}

struct sbco_proc_watch *sbco_proc_watch_free(struct sbco_proc_watch *w)
{
	if (!w)
		return NULL;
	sbco_proc_events_free(w->pe);
	sbco_vm_list_free(w->vms);
	free(w->dirty);
	free(w->changed);
	free(w->root);
	free(w);
	return NULL;
}

bool sbco_proc_watch_has_events(const struct sbco_proc_watch *w)
{
	return w->pe != NULL;
}

int sbco_proc_watch_fd(const struct sbco_proc_watch *w)
{
	return w->pe ? sbco_proc_events_fd(w->pe) : -1;
}

const struct sbco_vm_list *sbco_proc_watch_vms(const struct sbco_proc_watch *w)
{
	return w->vms;
}

void sbco_proc_watch_get_stats(const struct sbco_proc_watch *w, struct sbco_proc_watch_stats *r)
{
	*r = w->st;
}

size_t sbco_proc_watch_changed(const struct sbco_proc_watch *w, const int32_t **ret)
{
	*ret = w->changed;
	return w->nr_changed;
}
