/* SPDX-License-Identifier: MIT */
/*
 * sbcod's per-VM log: VMs appearing and going, anti-stacking placements (info), balancing
 * nudges (debug) and refused changes (warning, at most 10 a minute), each with the journal
 * fields SBCO_VM, SBCO_UUID, SBCO_VCPU and SBCO_TID.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "sbcod.h"

#define WARN_BURST     10
#define WARN_WINDOW_NS (60ull * 1000000000ull)

static const char *uuid_of(const struct sbco_vm *vm)
{
	return vm && vm->uuid[0] ? vm->uuid : NULL;
}

void vmlog_changes(struct daemon *d, const struct sbco_vm_list *now,
		   const struct sbco_vm_policy *pol)
{
	const struct sbco_vm_policy *polb;
	const struct sbco_vm_list *before = sbco_engine_vms(d->eng, &polb);
	uint64_t *since = calloc(now->nr + 1, sizeof(*since));
	struct sbco_engine_stats st;

	sbco_engine_get_stats(d->eng, &st);
	for (size_t i = 0; i < now->nr; i++) {
		const struct sbco_vm *vm = &now->vms[i];
		const struct sbco_vm *old = sbco_vm_list_find_pid(before, vm->pid);
		size_t k = old ? (size_t)(old - before->vms) : 0;
		const struct sbco_vm_policy *p = &pol[i], *pb = old ? &polb[k] : NULL;
		bool changed =
		    pb && (pb->mode != p->mode || pb->source != p->source || pb->alpha != p->alpha);

		/* the cycle from which this policy is in force (query_vms) */
		if (since)
			since[i] =
			    old && !changed && k < d->nr_pol_since ? d->pol_since[k] : st.cycles;
		if (!old)
			log_vm(LOG_INFO, 0, vm->name, uuid_of(vm), -1, vm->pid,
			       "VM '%s' (%s, pid %d, uuid %s, %zu vCPUs): mode %s (%s)%s", vm->name,
			       vm->backend == SBCO_BACKEND_LIBVIRT ? "libvirt" : "proc", vm->pid,
			       vm->uuid[0] ? vm->uuid : "-", vm->nr_vcpus, sbco_mode_name(p->mode),
			       sbco_source_name(p->source),
			       vm->pinned && !p->override_pinning
				   ? ", pinned by the operator: affinity left alone"
				   : "");
		else if (changed)
			log_vm(LOG_INFO, 0, vm->name, uuid_of(vm), -1, vm->pid,
			       "VM '%s': mode %s alpha %.3g (%s), was %s alpha %.3g (%s)", vm->name,
			       sbco_mode_name(p->mode), p->alpha, sbco_source_name(p->source),
			       sbco_mode_name(pb->mode), pb->alpha, sbco_source_name(pb->source));
		if (vm->meta.error &&
		    (!old || !old->meta.error || strcmp(old->meta.error, vm->meta.error)))
			log_vm(LOG_WARNING, 0, vm->name, uuid_of(vm), -1, vm->pid,
			       "VM '%s': sbco domain metadata ignored: %s", vm->name,
			       vm->meta.error);
	}
	free(d->pol_since);
	d->pol_since = since;
	d->nr_pol_since = since ? now->nr : 0;
	for (size_t i = 0; i < before->nr; i++) {
		const struct sbco_vm *vm = &before->vms[i];

		if (!sbco_vm_list_find_pid(now, vm->pid))
			log_vm(LOG_INFO, 0, vm->name, uuid_of(vm), -1, vm->pid,
			       "VM '%s' (pid %d) is gone", vm->name, vm->pid);
	}
}

/* Refused changes can repeat every cycle: allow WARN_BURST per minute, then debug. */
static int warn_prio(struct daemon *d)
{
	struct timespec t;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &t);
	now = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
	if (now - d->warn_window_ns > WARN_WINDOW_NS) {
		d->warn_window_ns = now;
		d->warns = 0;
	}
	return d->warns++ < WARN_BURST ? LOG_WARNING : LOG_DEBUG;
}

static const char *why_name(int why)
{
	static const char *const n[] = {"boost laggard", "hold leader", "repay", "restore"};

	return why >= 0 && why <= SBCO_WHY_RESTORE ? n[why] : "?";
}

void vmlog_event(void *userdata, const struct sbco_event *ev)
{
	struct daemon *d = userdata;
	const char *name = ev->vm ? ev->vm->name : "?";
	char cpus[256] = "";

	if (ev->err == -ESRCH) {
		log_vm(LOG_DEBUG, 0, name, uuid_of(ev->vm), ev->vcpu, ev->tid,
		       "VM '%s' vCPU %d (tid %d) vanished before a change", name, ev->vcpu,
		       ev->tid);
		return;
	}
	if (ev->kind == SBCO_EVENT_PLACE) {
		const char *lv =
		    ev->err == -EIO && d->lv && ev->vm && ev->vm->backend == SBCO_BACKEND_LIBVIRT
			? sbco_libvirt_last_error(d->lv)
			: NULL;

		sbco_cpuset_format(ev->cpus, cpus, sizeof(cpus));
		log_vm(ev->err ? warn_prio(d) : LOG_INFO, ev->err, name, uuid_of(ev->vm), ev->vcpu,
		       ev->tid, "VM '%s' vCPU %d (tid %d): %s CPUs %s (anti-stacking)%s%s", name,
		       ev->vcpu, ev->tid, ev->err ? "cannot allow" : "allowed", cpus,
		       lv && *lv ? "; libvirt: " : "", lv && *lv ? lv : "");
		return;
	}
	if (ev->kind == SBCO_EVENT_UNPLACE) {
		sbco_cpuset_format(ev->cpus, cpus, sizeof(cpus));
		log_vm(ev->err ? warn_prio(d) : LOG_INFO, ev->err, name, uuid_of(ev->vm), ev->vcpu,
		       ev->tid,
		       "VM '%s' vCPU %d (tid %d): %s its original CPUs %s (no anti-stacking)", name,
		       ev->vcpu, ev->tid, ev->err ? "cannot give back" : "back to", cpus);
		return;
	}
	if (ev->kind == SBCO_EVENT_STALL) {
		char what[96] = "not anti-stacked by sbco now (mode off or pinned)";

		if (ev->answer == SBCO_ANSWER_DETECT_ONLY)
			snprintf(what, sizeof(what),
				 "anti-stacked, no response (stall.respond false)");
		else if (ev->answer == SBCO_ANSWER_ROTATED)
			snprintf(what, sizeof(what),
				 "its vCPUs traded stripes (still anti-stacked)");
		else if (ev->answer == SBCO_ANSWER_LIFTED)
			snprintf(what, sizeof(what), "anti-stacking lifted for %.0f s",
				 (double)ev->hold_ns / 1e9);
		else if (ev->answer == SBCO_ANSWER_WAITING)
			snprintf(what, sizeof(what), "already answered");
		log_vm(LOG_WARNING, 0, name, uuid_of(ev->vm), ev->vcpu, ev->tid,
		       "VM '%s' stalled: vCPU %d (tid %d) runnable without CPU for %.1f s while a "
		       "sibling runs; %s (sbcod(8), GUEST STALLS)",
		       name, ev->vcpu, ev->tid, (double)ev->starving_ns / 1e9, what);
		return;
	}
	if (ev->kind == SBCO_EVENT_ISOLATE) {
		if (ev->err)
			log_vm(ev->err == -EOPNOTSUPP ? LOG_NOTICE : warn_prio(d), ev->err, name,
			       uuid_of(ev->vm), -1, ev->vm->pid,
			       "VM '%s': cannot keep its vCPUs apart from its other threads' cpu "
			       "group (%s -> %s): %s; the stall response stands (sbcod(8), GUEST "
			       "STALLS)",
			       name, ev->from, ev->group, strerror(-ev->err));
		else if (ev->moved > 0)
			log_vm(
			    LOG_INFO, 0, name, uuid_of(ev->vm), -1, ev->vm->pid,
			    "VM '%s': %d vCPU thread(s) moved from %s to %s, apart from its other "
			    "threads (stall prevention while anti-stacked)",
			    name, ev->moved, ev->from, ev->group);
		return;
	}
	if (ev->kind == SBCO_EVENT_UNISOLATE) {
		log_vm(ev->err ? warn_prio(d) : LOG_INFO, ev->err, name, uuid_of(ev->vm), -1,
		       ev->vm ? ev->vm->pid : 0, "VM '%s': %s the threads of %s to %s%s%s", name,
		       ev->err ? "cannot give back" : "gave back", ev->group,
		       ev->from ? ev->from : "?", ev->err ? ": " : "",
		       ev->err ? strerror(-ev->err) : "");
		return;
	}
	if (ev->kind == SBCO_EVENT_KPICK_OFF) {
		log_full(LOG_WARNING, ev->err, NULL,
			 "the kernel patch offers pick-time balancing, but /proc/sbco/vm refused "
			 "sbcod (%s): the kernel neither counts nor lends at its picks; sbcod "
			 "lends through /proc/sbco/lend",
			 strerror(-ev->err));
		return;
	}
	if (ev->kind == SBCO_EVENT_STALL_OVER) {
		log_vm(LOG_INFO, 0, name, uuid_of(ev->vm), -1, ev->vm ? ev->vm->pid : 0,
		       "VM '%s': stall hold over, anti-stacking again", name);
		return;
	}
	log_vm(ev->err ? warn_prio(d) : LOG_DEBUG, ev->err, name, uuid_of(ev->vm), ev->vcpu,
	       ev->tid, "VM '%s' vCPU %d (tid %d): %s, %s %lld%s", name, ev->vcpu, ev->tid,
	       why_name((int)ev->action->why), sbco_lever_name(ev->action->lever),
	       (long long)ev->action->value, ev->err ? " refused" : "");
}
