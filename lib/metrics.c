/* SPDX-License-Identifier: MIT */
/*
 * The Prometheus text exposition of an engine (and the daemon numbers the caller adds),
 * for `sbcoctl metrics` and node_exporter's textfile collector. Conventions: base units
 * in names (_seconds), counters end in _total, one HELP and TYPE per family, per-VM series
 * labelled by vm name and uuid only (bounded cardinality: no per-vCPU or per-thread
 * labels), label values escaped.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbco.h"

static void put_label(FILE *f, const char *s)
{
	for (; s && *s; s++)
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(FILE *f, const char *name, const char *type, const char *help, double v)
{
	family(f, name, type, help);
	fprintf(f, "%s %.9g\n", name, v);
}

static void vm_labels(FILE *f, const char *name, const struct sbco_vm *vm)
{
	fprintf(f, "%s{vm=\"", name);
	put_label(f, vm->name);
	fputs("\",uuid=\"", f);
	put_label(f, vm->uuid);
	fputs("\"}", f);
}

/* run delay and CPU time of a thread (/proc/TID/schedstat: exec ns, run-delay ns, slices) */
static void schedstat(const char *root, int32_t tid, uint64_t *exec_ns, uint64_t *delay_ns)
{
	char path[4200];
	unsigned long long a, b;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/proc/%d/schedstat", strcmp(root, "/") ? root : "", tid);
	fp = fopen(path, "re");
	if (!fp)
		return;
	if (fscanf(fp, "%llu %llu", &a, &b) == 2) {
		*exec_ns += a;
		*delay_ns += b;
	}
	fclose(fp);
}

/* Per-VM values the families below print, gathered once. */
struct vm_row {
	const struct sbco_vm *vm;
	enum sbco_mode mode;
	enum sbco_policy_source source;
	struct sbco_vm_counts c;
	int32_t distance;
	uint64_t exec_ns, delay_ns;
	unsigned in_force;
	int64_t kernel_debt_ns;
	struct sbco_kpick_counts kp; /* the kernel's pick-time counts (zeros without) */
};

static void gather(const struct sbco_engine *e, const char *root, struct vm_row *rows, size_t n)
{
	const struct sbco_vm_policy *pol;
	const struct sbco_vm_list *l = sbco_engine_vms(e, &pol);
	const struct sbco_ledger *led = sbco_engine_ledger(e);
	const struct sbco_snapshot *s;
	const struct sbco_ordinates *o;
	const struct sbco_vm_set *set;
	char *kvm = sbco_kpick_read(root);

	sbco_engine_last(e, &s, &o, &set);
	for (size_t i = 0; i < n; i++) {
		struct vm_row *r = &rows[i];

		*r =
		    (struct vm_row){.vm = &l->vms[i], .mode = pol[i].mode, .source = pol[i].source};
		sbco_engine_vm_counts(e, r->vm->pid, &r->c);
		if (kvm && r->vm->pid > 0 && sbco_kpick_parse(kvm, r->vm->pid, &r->kp) < 0)
			r->kp = (struct sbco_kpick_counts){0};
		for (size_t k = 0; set && k < set->nr_vms; k++)
			if (r->vm->pid > 0 && set->vms[k].tgid == r->vm->pid)
				r->distance = set->vms[k].distance;
		for (size_t k = 0; k < r->vm->nr_vcpus; k++) {
			int32_t tid = r->vm->vcpus[k].tid;

			if (tid <= 0)
				continue;
			schedstat(root, tid, &r->exec_ns, &r->delay_ns);
			for (size_t j = 0; led && j < led->n; j++) {
				const struct sbco_ledger_entry *le = &led->e[j];

				if (le->tid != tid)
					continue;
				r->in_force += le->current != le->original;
				if (le->lever == SBCO_LEVER_KERNEL && le->current > 0)
					r->kernel_debt_ns += le->current;
			}
		}
	}
	free(kvm);
}

static void per_vm(FILE *f, const struct vm_row *rows, size_t n)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
	    {"sbco_vm_info", "gauge",
	     "A VM sbcod manages (1), with its mode and where the mode came from."},
	    {"sbco_vm_vcpus", "gauge", "vCPU threads of a VM."},
	    {"sbco_vm_distance", "gauge", "Scheduling distance of a VM at the last cycle."},
	    {"sbco_vm_busy_samples_total", "counter",
	     "Samples of a VM with two or more runnable vCPUs."},
	    {"sbco_vm_stacked_samples_total", "counter",
	     "Samples of a VM with two runnable siblings on one queue."},
	    {"sbco_vm_exceeded_samples_total", "counter",
	     "Samples of a VM with distance >= alpha * Q across queues."},
	    {"sbco_vm_corun_samples_total", "counter",
	     "Samples of a VM with all runnable vCPUs on a CPU at once (co-run fraction = this "
	     "/ busy samples)."},
	    {"sbco_vm_nudges_total", "counter", "Balancing actions applied to a VM's vCPUs."},
	    {"sbco_vm_nudges_in_force", "gauge", "vCPUs of a VM with a nudge in force now."},
	    {"sbco_vm_kernel_debt_seconds", "gauge",
	     "Vruntime a VM's vCPUs borrowed through the kernel lever, not yet repaid."},
	    {"sbco_vm_run_delay_seconds_total", "counter",
	     "Time a VM's vCPU threads spent runnable but waiting for a CPU (schedstat)."},
	    {"sbco_vm_cpu_seconds_total", "counter",
	     "CPU time of a VM's vCPU threads (schedstat)."},
	    {"sbco_vm_stalls_total", "counter",
	     "Guest stalls of a VM: a vCPU runnable without CPU for the detection time while a "
	     "sibling runs."},
	    {"sbco_vm_stalled_seconds_total", "counter", "Time a VM spent stalled."},
	    {"sbco_vm_stalled", "gauge", "The VM is stalled now (1) or not (0)."},
	    {"sbco_vm_stall_lifts_total", "counter",
	     "Times a VM's anti-stacking was lifted after a stall."},
	    {"sbco_vm_antistacking_lifted", "gauge",
	     "The VM's anti-stacking is lifted now after a stall (1) or not (0)."},
	    {"sbco_vm_stall_rotations_total", "counter",
	     "Times a VM's vCPUs traded anti-stacking stripes after a stall."},
	    {"sbco_vm_stall_prevented", "gauge",
	     "The VM's vCPU threads are kept apart from its other threads' cpu cgroup now "
	     "(stall prevention, 1) or not (0)."},
	    {"sbco_vm_kernel_picks_total", "counter",
	     "Picks of a VM's vCPU with a sibling queued on another CPU, counted by the kernel "
	     "patch's pick-time balancing (0 without it)."},
	    {"sbco_vm_kernel_exceeded_picks_total", "counter",
	     "Of those picks: distance >= alpha * Q (exact ordinates)."},
	    {"sbco_vm_kernel_loans_total", "counter",
	     "Loans the kernel made at its picks between a VM's vCPUs (mode sbco)."},
	    {"sbco_vm_kernel_any_picks_total", "counter",
	     "Picks of a VM's vCPU with a sibling queued on any CPU, its own included."},
	    {"sbco_vm_kernel_any_exceeded_picks_total", "counter",
	     "Of those picks: distance >= alpha * Q, a sibling stacked on the same queue "
	     "counted by its ordinate."},
	};

	for (size_t k = 0; k < sizeof(fam) / sizeof(fam[0]); k++) {
		family(f, fam[k].name, fam[k].type, fam[k].help);
		for (size_t i = 0; i < n; i++) {
			const struct vm_row *r = &rows[i];
			double v[] = {1,
				      (double)r->vm->nr_vcpus,
				      r->distance,
				      (double)r->c.samples,
				      (double)r->c.stacked,
				      (double)r->c.exceeded,
				      (double)r->c.corun,
				      (double)r->c.nudges,
				      r->in_force,
				      (double)r->kernel_debt_ns / 1e9,
				      (double)r->delay_ns / 1e9,
				      (double)r->exec_ns / 1e9,
				      (double)r->c.stalls,
				      (double)r->c.stalled_ns / 1e9,
				      r->c.stalled,
				      (double)r->c.lifts,
				      r->c.lifted,
				      (double)r->c.rotations,
				      r->c.prevented,
				      (double)r->kp.samples,
				      (double)r->kp.exceeded,
				      (double)r->kp.loans,
				      (double)r->kp.any,
				      (double)r->kp.any_exceeded};

			if (k == 0) { /* the info series carries the mode and its source */
				fputs("sbco_vm_info{vm=\"", f);
				put_label(f, r->vm->name);
				fputs("\",uuid=\"", f);
				put_label(f, r->vm->uuid);
				fprintf(f, "\",mode=\"%s\",source=\"%s\"} 1\n",
					sbco_mode_name(r->mode), sbco_source_name(r->source));
				continue;
			}
			vm_labels(f, fam[k].name, r->vm);
			fprintf(f, " %.9g\n", v[k]);
		}
	}
}

int sbco_metrics_write(FILE *f, const struct sbco_engine *e, const char *root,
		       const struct sbco_metrics_extra *x)
{
	const struct sbco_vm_policy *pol;
	const struct sbco_vm_list *l = sbco_engine_vms(e, &pol);
	struct sbco_engine_stats st;
	unsigned modes[3] = {0};
	struct vm_row *rows = calloc(l->nr + 1, sizeof(*rows));

	if (!rows)
		return -ENOMEM;
	sbco_engine_get_stats(e, &st);
	family(f, "sbco_build_info", "gauge", "sbco's version (1).");
	fprintf(f, "sbco_build_info{version=\"");
	put_label(f, x->version);
	fputs("\"} 1\n", f);
	one(f, "sbco_cycles_total", "counter", "Policy cycles run.", (double)st.cycles);
	one(f, "sbco_cycle_errors_total", "counter",
	    "Cycles that failed (unreadable or malformed dump); the last good state stayed.",
	    (double)x->cycle_errors);
	one(f, "sbco_cycle_seconds", "gauge",
	    "Duration of the last good cycle (dump read + policy).", (double)x->cycle_ns / 1e9);
	one(f, "sbco_cycle_max_seconds", "gauge", "Longest good cycle since sbcod started.",
	    (double)x->cycle_max_ns / 1e9);
	one(f, "sbco_vm_samples_total", "counter", "VM samples with two or more runnable vCPUs.",
	    (double)st.vm_samples);
	one(f, "sbco_stacked_samples_total", "counter",
	    "Samples with two runnable siblings on one queue.", (double)st.stacked);
	one(f, "sbco_threshold_exceeded_samples_total", "counter",
	    "Samples with distance >= alpha * Q across queues.", (double)st.exceeded);
	one(f, "sbco_actions_total", "counter", "Balancing actions applied.", (double)st.actions);
	one(f, "sbco_action_errors_total", "counter", "Actions refused by the kernel.",
	    (double)st.action_errors);
	one(f, "sbco_vanished_total", "counter",
	    "Changes skipped because the vCPU thread had exited (ESRCH).", (double)st.vanished);
	one(f, "sbco_placements_total", "counter", "Affinities set by anti-stacking.",
	    (double)st.placements);
	one(f, "sbco_stalls_total", "counter", "Guest stalls seen (all VMs, since start).",
	    (double)st.stalls);
	one(f, "sbco_stalled_vms", "gauge", "VMs stalled at the last cycle.",
	    (double)st.stalled_vms);
	one(f, "sbco_reloads_total", "counter", "Config reloads.", (double)x->reloads);
	one(f, "sbco_reload_errors_total", "counter", "Config reloads refused (invalid config).",
	    (double)x->reload_errors);
	if (x->libvirt >= 0) {
		one(f, "sbco_libvirt_up", "gauge", "Connected to libvirt (1) or not (0).",
		    x->libvirt);
		one(f, "sbco_libvirt_events_total", "counter", "libvirt domain events received.",
		    (double)x->libvirt_events);
	}
	one(f, "sbco_metadata_errors", "gauge",
	    "VMs whose sbco domain metadata is invalid (ignored) right now.",
	    (double)x->metadata_errors);
	for (size_t i = 0; i < l->nr; i++)
		modes[pol[i].mode < 3 ? pol[i].mode : 0]++;
	family(f, "sbco_vms", "gauge", "VMs sbcod manages, by mode.");
	for (int m = 0; m < 3; m++)
		fprintf(f, "sbco_vms{mode=\"%s\"} %u\n", sbco_mode_name((enum sbco_mode)m),
			modes[m]);
	gather(e, root, rows, l->nr);
	per_vm(f, rows, l->nr);
	free(rows);
	return ferror(f) ? -EIO : 0;
}

int sbco_metrics_textfile(const char *dir, const char *text, size_t len)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/sbco.prom", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	/* 0644: readable by node_exporter; no fsync: a lost sample is rewritten next time */
	return sbco_write_atomic(path, text, len, 0644, false);
}
