/* SPDX-License-Identifier: MIT */
/*
 * sbcoctl's tables of sbcod's replies (see view.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "view.h"

static int colour = -1; /* -1 auto, not yet decided */

int view_set_colour(const char *when)
{
	if (!strcmp(when, "always"))
		colour = 1;
	else if (!strcmp(when, "never"))
		colour = 0;
	else if (!strcmp(when, "auto"))
		colour = -1;
	else
		return -EINVAL;
	return 0;
}

bool view_colour(void)
{
	if (colour < 0) {
		const char *term = getenv("TERM");

		colour = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && term &&
			 strcmp(term, "dumb") != 0;
	}
	return colour;
}

const char *view_vm_colour(const char *name)
{
	static const char *const c[] = {"\033[36m", "\033[33m", "\033[35m",
					"\033[32m", "\033[34m", "\033[96m"};
	unsigned h = 5381;

	if (!view_colour() || !name || !*name)
		return "";
	for (const char *p = name; *p; p++)
		h = h * 33 + (unsigned char)*p;
	return c[h % (sizeof(c) / sizeof(c[0]))];
}

const char *view_red(void)
{
	return view_colour() ? "\033[1;31m" : "";
}

const char *view_bold(void)
{
	return view_colour() ? "\033[1m" : "";
}

const char *view_reset(void)
{
	return view_colour() ? "\033[0m" : "";
}

double view_num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

const char *view_str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

bool view_yes(const cJSON *o, const char *k)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static void kv(FILE *f, const char *k, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void kv(FILE *f, const char *k, const char *fmt, ...)
{
	va_list ap;

	fprintf(f, "%-18s ", k);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

void view_status(FILE *f, const cJSON *r)
{
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(r, "kernel");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(r, "cycle");
	const cJSON *lv = cJSON_GetObjectItemCaseSensitive(k, "levers"), *l;
	const cJSON *kp = cJSON_GetObjectItemCaseSensitive(k, "kernel_patch");
	const char *err = view_str(r, "last_error");

	kv(f, "ready", "%s", view_yes(r, "ready") ? "yes" : "no");
	kv(f, "summary", "%s", view_str(r, "summary"));
	kv(f, "mode", "%s (config %s)", view_str(r, "mode"), view_str(r, "config"));
	kv(f, "libvirt", "%s", view_yes(r, "libvirt_connected") ? "connected" : "not connected");
	kv(f, "kernel", "%s (%s pick rule, base slice %.2f ms)",
	   *view_str(k, "release") ? view_str(k, "release") : "unknown", view_str(k, "pick"),
	   view_num(k, "base_slice_ms"));
	kv(f, "dump", "%s", view_str(k, "dump"));
	fprintf(f, "%-18s", "levers");
	cJSON_ArrayForEach(l, lv) fprintf(f, " %s %s", l->string, cJSON_IsTrue(l) ? "yes" : "no");
	fprintf(f, "; in use: %s\n", view_str(k, "lever_in_use"));
	kv(f, "kernel patch", "%s",
	   cJSON_IsString(kp) ? kp->valuestring : "absent (userspace model; see kernel/)");
	{
		const char *pick = view_str(k, "kernel_pick");

		kv(f, "kernel picks", "%s%s", pick,
		   !strcmp(pick, "lend")      ? " (the kernel balances the sbco VMs at its picks)"
		   : !strcmp(pick, "count")   ? " (the kernel counts every VM at its picks)"
		   : !strcmp(pick, "refused") ? " (/proc/sbco/vm refused sbcod)"
					      : "");
	}
	kv(f, "cycle", "every %.0f ms: last %.2f ms read + %.2f ms policy, avg %.2f, max %.2f ms",
	   view_num(c, "interval_ms"), view_num(c, "last_read_ms"), view_num(c, "last_policy_ms"),
	   view_num(c, "avg_ms"), view_num(c, "max_ms"));
	kv(f, "dump size", "%.0f bytes", view_num(c, "dump_bytes"));
	kv(f, "slow cycles", "%.0f held the loop over 1 s", view_num(c, "slow"));
	kv(f, "cycles", "%.0f good, %.0f failed (%.0f in a row now)", view_num(r, "cycles"),
	   view_num(r, "failed_cycles"), view_num(r, "failed_cycles_in_a_row"));
	kv(f, "actions", "%.0f nudges (%.0f refused), %.0f placements, %.0f skipped (thread gone)",
	   view_num(r, "actions"), view_num(r, "action_errors"), view_num(r, "placements"),
	   view_num(r, "vanished"));
	kv(f, "guest stalls", "%.0f seen; %.0f VMs stalled now, %.0f with anti-stacking lifted",
	   view_num(r, "stalls"), view_num(r, "stalled_vms"), view_num(r, "stall_lifted_vms"));
	kv(f, "reloads", "%.0f (%.0f rejected)", view_num(r, "reloads"),
	   view_num(r, "reload_errors"));
	if (*err)
		kv(f, "last error", "%s%s%s", view_red(), err, view_reset());
}

static void lever_value(const char *lever, double v, char *buf, size_t len)
{
	if (!strcmp(lever, "slice"))
		snprintf(buf, len, v > 0 ? "%.2f ms" : "default", v / 1e6);
	else
		snprintf(buf, len, "%.0f", v);
}

static void nudge_text(const cJSON *n, char *buf, size_t len)
{
	const char *lever = view_str(n, "lever");
	char now[32], was[32];

	if (!n || (view_num(n, "value") == view_num(n, "original") && !view_yes(n, "dirty"))) {
		snprintf(buf, len, "-");
		return;
	}
	lever_value(lever, view_num(n, "value"), now, sizeof(now));
	lever_value(lever, view_num(n, "original"), was, sizeof(was));
	if (!strcmp(lever, "slice"))
		snprintf(buf, len, "slice %s (was %s)%s", now, was,
			 view_yes(n, "dirty") ? " dirty" : "");
	else
		snprintf(buf, len, "%s %s (was %s)%s%s, debt %.3g", lever, now, was,
			 view_yes(n, "dirty") ? " dirty" : "",
			 view_yes(n, "repaying") ? " repaying" : "", view_num(n, "debt"));
}

/* A VM's guest-stall line (only when it has stalled at all). */
static void view_stall(FILE *f, const cJSON *vm)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(vm, "stall");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(vm, "counts");
	bool now = view_yes(st, "stalled");

	if (view_yes(st, "prevented"))
		fputs(
		    "  stall prevention: vCPU threads kept apart from the VM's other threads' cpu "
		    "group\n",
		    f);
	if (view_num(c, "stalls") == 0)
		return;
	fprintf(f, "  stall: %s%s%s", now ? view_red() : "", now ? "STALLED" : "not now",
		now ? view_reset() : "");
	if (now)
		fprintf(f, " (vCPU %.0f tid %.0f runnable without CPU for %.1f s)",
			view_num(st, "vcpu"), view_num(st, "tid"), view_num(st, "starving_s"));
	fprintf(f,
		"; %.0f stalls, %.1f s stalled, stripes rotated %.0f times, anti-stacking "
		"lifted %.0f times%s\n",
		view_num(c, "stalls"), view_num(c, "stalled_s"), view_num(c, "stall_rotations"),
		view_num(c, "stall_lifts"),
		view_yes(st, "antistacking_lifted") ? " (lifted now)" : "");
}

void view_distance(FILE *f, const cJSON *r)
{
	const cJSON *vm, *v;

	fprintf(f, "%-24s %-5s %8s %7s %8s %10s %4s %9s %7s\n", "VM", "MODE", "runnable", "stacked",
		"distance", "dist(ms)", "Q", "threshold", "exceeds");
	cJSON_ArrayForEach(vm, cJSON_GetObjectItemCaseSensitive(r, "vms"))
	{
		const char *name = view_str(vm, "name");
		bool over = view_yes(vm, "exceeds");

		fprintf(f, "%s%-24s%s %-5s %8.0f %7s %8.0f %10.3f %4.0f %9.2f %s%7s%s\n",
			view_vm_colour(name), name, view_reset(), view_str(vm, "mode"),
			view_num(vm, "nr_runnable"), view_yes(vm, "stacked") ? "yes" : "no",
			view_num(vm, "distance"), view_num(vm, "distance_ns") / 1e6,
			view_num(vm, "q_size"), view_num(vm, "threshold"), over ? view_red() : "",
			over ? "YES" : "no", over ? view_reset() : "");
		view_stall(f, vm);
		cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(vm, "vcpus"))
		{
			char nudge[160];

			nudge_text(cJSON_GetObjectItemCaseSensitive(v, "nudge"), nudge,
				   sizeof(nudge));
			if (view_yes(v, "runnable"))
				fprintf(f,
					"  vCPU %-3.0f tid %-8.0f cpu %-4.0f %s ORDER %-3.0f wait "
					"%8.3f ms  nudge: %s\n",
					view_num(v, "index"), view_num(v, "tid"),
					view_num(v, "cpu"), view_str(v, "state"),
					view_num(v, "ordinate"), view_num(v, "wait_ns") / 1e6,
					nudge);
			else
				fprintf(f,
					"  vCPU %-3.0f tid %-8.0f cpu %-4.0f %s (not runnable)     "
					"     "
					"      nudge: %s\n",
					view_num(v, "index"), view_num(v, "tid"),
					view_num(v, "cpu"), view_str(v, "state"), nudge);
		}
	}
}

void view_runqueue(FILE *f, const cJSON *r)
{
	const cJSON *cpu, *t;

	cJSON_ArrayForEach(cpu, cJSON_GetObjectItemCaseSensitive(r, "cpus"))
	{
		fprintf(f, "%scpu#%.0f%s runnable %.0f rt %.0f pick %s\n", view_bold(),
			view_num(cpu, "cpu"), view_reset(), view_num(cpu, "nr_runnable"),
			view_num(cpu, "nr_rt"), view_str(cpu, "pick"));
		fprintf(f, "  S %8s %12s %1s %12s %-16s %5s %9s  %s\n", "PID", "key(ms)", "E",
			"deadline", "COMMAND", "ORDER", "wait(ms)", "VM");
		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(cpu, "tasks"))
		{
			const cJSON *el = cJSON_GetObjectItemCaseSensitive(t, "eligible");
			const char *vm = view_str(t, "vm");
			char dl[32] = "-";

			if (cJSON_GetObjectItemCaseSensitive(t, "deadline_ns"))
				snprintf(dl, sizeof(dl), "%.3f", view_num(t, "deadline_ns") / 1e6);
			fprintf(f, "%s  %s %8.0f %12.3f %1s %12s %-16s %5.0f %9.3f  %s%s\n",
				view_vm_colour(vm), view_str(t, "state"), view_num(t, "pid"),
				view_num(t, "key_ns") / 1e6,
				!el		   ? "-"
				: cJSON_IsTrue(el) ? "E"
						   : "N",
				dl, view_str(t, "comm"), view_num(t, "ordinate"),
				view_num(t, "wait_ns") / 1e6, *vm ? vm : "-", view_reset());
		}
	}
}

void view_vms(FILE *f, const cJSON *r)
{
	const cJSON *vm, *v;

	fprintf(f, "%-24s %-8s %8s %-5s %5s %-8s %s\n", "VM", "BACKEND", "PID", "MODE", "ALPHA",
		"SOURCE", "vCPU:tid:CPUs");
	cJSON_ArrayForEach(vm, cJSON_GetObjectItemCaseSensitive(r, "vms"))
	{
		const char *name = view_str(vm, "name");
		const cJSON *meta = cJSON_GetObjectItemCaseSensitive(vm, "metadata");

		fprintf(f, "%s%-24s%s %-8s %8.0f %-5s %5.2f %-8s", view_vm_colour(name), name,
			view_reset(), view_str(vm, "backend"), view_num(vm, "pid"),
			view_str(vm, "mode"), view_num(vm, "alpha"), view_str(vm, "source"));
		cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(vm, "vcpus"))
		    fprintf(f, " %.0f:%.0f:%s", view_num(v, "index"), view_num(v, "tid"),
			    view_str(v, "affinity"));
		fputc('\n', f);
		if (meta && view_str(meta, "error")[0])
			fprintf(f, "  domain metadata ignored: %s\n", view_str(meta, "error"));
	}
}
