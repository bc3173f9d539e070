/* SPDX-License-Identifier: MIT */
/*
 * The policy loop on real threads: two synthetic spin-lock VMs (fakevm -mode lock, 2 vCPUs
 * and a QEMU-like helper thread each) and two CPU hogs, one pinned on each of the first two
 * CPUs, share the host; for each mode
 * (off, bal, sbco) the engine runs for a bounded time on the real scheduler dump, then
 * restores. Checks: no stacking under bal and sbco, every affinity, slice and nice back to
 * its original afterwards; reports stacking and threshold-exceed rates per mode (and, when
 * asked, asserts that sbco lowers the exceed rate against off).
 * With --pinned-apart, the comparison Algorithm 1 is about: every VM's vCPU k is pinned to
 * CPU k (operator pinning: the stripes leave it alone, so off and sbco place the vCPUs
 * alike); only off and sbco run, ROUNDS times alternating, and sbco must lower the share of
 * samples over the threshold in total. On a host with 3 or more CPUs, --pinned-apart keeps
 * CPUs 0 and 1 for the VMs and the hogs: the sampler and the VMs' helper threads run on
 * the others (housekeeping CPUs), so the two queues keep one composition and a phase
 * set by a loan can persist (the emulated quiet host of bench/guest4.sh).
 * Environment, for experiments: SBCO_HOGS="N,M" hog threads on CPU 0 and 1 (default 1,1);
 * SBCO_LEVER=slice|weight|nice one lever only; SBCO_NICE_STEP=N the nice loan;
 * SBCO_INTERVAL_MS=N: the sampling period (default 20 ms);
 * SBCO_KPICK=lend: on a kernel patch with pick-time balancing, the kernel lends at its
 * picks for mode sbco (balance.kernel_pick "lend", sbcod's default); without it the
 * kernel only counts ("count") and sbcod lends through /proc/sbco/lend, so that
 * kernel-check runs both;
 * SBCO_QUIET=1 starts the VMs without their helper threads (fakevm -nohelper);
 * SBCO_TRACE=1 prints every cycle's vCPU ordinates/queue sizes and distances on stderr.
 * usage: policy_live BUILD_DIR [SECONDS_PER_MODE [--assert-exceed | --pinned-apart [ROUNDS]]]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sbco.h"
#include "sched_attr.h"

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Start a fakevm living secs seconds; its stderr (the lock-op count) goes to *ret_err. */
static pid_t spawn(const char *fakevm, const char *name, const char *smp, const char *mode,
		   const char *fmt, int secs, int *ret_err)
{
	char t[16];
	int fds[2];
	pid_t p;

	if (pipe(fds) < 0)
		return -1;
	snprintf(t, sizeof(t), "%d", secs);
	p = fork();
	if (p == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(devnull, 1);
		dup2(fds[1], 2);
		close(fds[0]);
		execl(fakevm, fakevm, "-name", name, "-smp", smp, "-mode", mode, "-time", t, "-fmt",
		      fmt, getenv("SBCO_QUIET") ? "-nohelper" : (char *)NULL, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	*ret_err = fds[0];
	return p;
}

/* Pin every thread of process pid to one CPU (the hogs: one per CPU, as in DESIGN.md). */
static void pin_process(pid_t pid, unsigned cpu)
{
	char path[64];
	struct sbco_cpuset c = {{0}};
	DIR *d;
	struct dirent *de;

	sbco_cpuset_add(&c, cpu);
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	while (d && (de = readdir(d)))
		if (de->d_name[0] >= '0' && de->d_name[0] <= '9')
			sbco_host_ops_real.set_affinity(NULL, (int32_t)strtol(de->d_name, NULL, 10),
							&c);
	if (d)
		closedir(d);
}

/* Wait (bounded by its -time) for a fakevm to end; returns its lock ops or 0. */
static unsigned long reap(pid_t p, int errfd)
{
	char buf[256] = "";
	unsigned long ops = 0;
	ssize_t n;

	waitpid(p, NULL, 0);
	n = read(errfd, buf, sizeof(buf) - 1);
	close(errfd);
	if (n > 0) {
		buf[n] = '\0';
		sscanf(buf, "fakevm: %lu", &ops);
	}
	return ops;
}

struct orig {
	int32_t tid;
	struct sbco_cpuset aff;
	uint64_t runtime;
	int nice;
};

static int snapshot_origs(const struct sbco_vm_list *l, struct orig *o, int max)
{
	int n = 0;

	for (size_t v = 0; v < l->nr; v++)
		for (size_t k = 0; k < l->vms[v].nr_vcpus && n < max; k++, n++) {
			o[n].tid = l->vms[v].vcpus[k].tid;
			sbco_host_ops_real.get_affinity(NULL, o[n].tid, &o[n].aff);
			o[n].runtime = test_runtime_of(o[n].tid);
			errno = 0;
			o[n].nice = getpriority(PRIO_PROCESS, (id_t)o[n].tid);
		}
	return n;
}

static int check_origs(const struct orig *o, int n)
{
	for (int i = 0; i < n; i++) {
		struct sbco_cpuset now;

		sbco_host_ops_real.get_affinity(NULL, o[i].tid, &now);
		if (!sbco_cpuset_equal(&now, &o[i].aff) ||
		    test_runtime_of(o[i].tid) != o[i].runtime ||
		    getpriority(PRIO_PROCESS, (id_t)o[i].tid) != o[i].nice) {
			fprintf(stderr, "FAIL: tid %d not restored (runtime %lu/%lu)\n", o[i].tid,
				(unsigned long)test_runtime_of(o[i].tid),
				(unsigned long)o[i].runtime);
			return -1;
		}
	}
	return 0;
}

/* SBCO_TRACE: per cycle and VM, each vCPU's ordinate/queue size and the distance. */
static void trace(const struct sbco_engine *e, uint64_t end)
{
	const struct sbco_snapshot *s;
	const struct sbco_ordinates *o;
	const struct sbco_vm_set *set;

	sbco_engine_last(e, &s, &o, &set);
	if (!set)
		return;
	fprintf(stderr, "T %6.3f", (double)now_ns() / 1e9 - (double)end / 1e9);
	for (size_t v = 0; v < set->nr_vms; v++) {
		const struct sbco_vm_stat *vm = &set->vms[v];

		fprintf(stderr, " |");
		for (size_t k = 0; k < vm->nr_vcpus; k++) {
			const struct sbco_task *t = &s->tasks[vm->vcpus[k].task];

			fprintf(stderr, " %d/%u", o->task[vm->vcpus[k].task].ordinate,
				o->cpu[t->cpu].nr_runnable);
		}
		fprintf(stderr, " d%d%s", vm->distance, vm->exceeds ? "!" : "");
	}
	fprintf(stderr, "\n");
}

/* Does the default scheduler hold a VM's relative phase? For each VM with two vCPUs on
 * two queues of one size Q, the phase is (ordinate 1 - ordinate 0) mod Q; count how often
 * it equals the VM's phase in the previous cycle (chance alone: 1/Q). Algorithm 1 corrects
 * a distance that persists; this says whether one does. */
struct phase {
	int last[16], last_q[16]; /* per VM: the previous phase and queue size, or -1 */
	uint64_t held, compared;
	double chance; /* the sum of 1/Q over the compared cycles */
};

static void phase_step(const struct sbco_engine *e, struct phase *ph)
{
	const struct sbco_snapshot *s;
	const struct sbco_ordinates *o;
	const struct sbco_vm_set *set;

	sbco_engine_last(e, &s, &o, &set);
	for (size_t v = 0; set && v < set->nr_vms && v < 16; v++) {
		const struct sbco_vm_stat *vm = &set->vms[v];
		int q = -1, now = -1;

		if (vm->nr_vcpus == 2) {
			const struct sbco_vm_vcpu *c = vm->vcpus;
			unsigned cpu0 = s->tasks[c[0].task].cpu, cpu1 = s->tasks[c[1].task].cpu;

			q = (int)o->cpu[cpu0].nr_runnable;
			if (cpu0 != cpu1 && q > 1 && q == (int)o->cpu[cpu1].nr_runnable)
				now = (o->task[c[1].task].ordinate - o->task[c[0].task].ordinate +
				       q) %
				      q;
		}
		if (now >= 0 && ph->last[v] >= 0 && ph->last_q[v] == q) {
			ph->compared++;
			ph->held += ph->last[v] == now;
			ph->chance += 1.0 / q;
		}
		ph->last[v] = now;
		ph->last_q[v] = q;
	}
}

/* Run the engine in one mode for secs seconds; fills *st. */
/* The kernel patch's pick-time counters of our VMs (/proc/sbco/vm), summed into *kp; false
 * when the kernel has none (no patch, or one without "pick"). */
static bool kernel_counts(const struct sbco_vm_list *vms, struct sbco_kpick_counts *kp)
{
	char *buf = sbco_kpick_read("/");
	bool any = false;

	for (size_t i = 0; buf && i < vms->nr; i++) {
		struct sbco_kpick_counts c;

		if (sbco_kpick_parse(buf, vms->vms[i].pid, &c) < 0)
			continue;
		any = true;
		kp->samples += c.samples;
		kp->exceeded += c.exceeded;
		kp->loans += c.loans;
	}
	free(buf);
	return any;
}

static char kpick_state[16] = "none"; /* sbco_engine_kernel_pick() of the last run_mode() */

static int run_mode(enum sbco_mode mode, const struct sbco_vm_list *vms,
		    const struct sbco_topology *topo, const struct sbco_patterns *pat, int secs,
		    struct sbco_engine_stats *st, struct sbco_restore_stats *rs, struct phase *ph,
		    struct sbco_kpick_counts *kp, bool *have_kp)
{
	struct sbco_engine *e = NULL;
	struct sbco_vm_policy pol[16];
	uint64_t end;
	int r = -1;

	for (size_t i = 0; i < vms->nr && i < 16; i++)
		pol[i] = (struct sbco_vm_policy){.mode = mode, .alpha = 2.0 / 3};
	struct sbco_balance_cfg bal;

	sbco_balance_cfg_default(&bal);
	if (getenv("SBCO_NICE_STEP")) /* experiments: a larger nice loan */
		bal.nice_step = atoi(getenv("SBCO_NICE_STEP"));
	bal.kernel_pick_lend = getenv("SBCO_KPICK") && !strcmp(getenv("SBCO_KPICK"), "lend");
	if (sbco_engine_new(&sbco_host_ops_real, (void *)"/", "/", pat, &bal, NULL, &e) < 0)
		goto out;
	/* stacking under bal is asserted here; the stall response (issue 14, stall_live)
	 * would lift anti-stacking of a stalled VM */
	sbco_engine_set_stall(e, NULL, false);
	if (getenv("SBCO_LEVER")) { /* slice, weight or nice: one lever only */
		for (int l = SBCO_LEVER_SLICE; l <= SBCO_LEVER_NICE; l++)
			if (!strcmp(getenv("SBCO_LEVER"), sbco_lever_name((enum sbco_lever)l))) {
				enum sbco_lever one = (enum sbco_lever)l;

				sbco_engine_set_levers(e, &one, 1);
			}
	}
	if (sbco_engine_set_vms(e, vms, pol, topo) < 0)
		goto out;
	end = now_ns() + (uint64_t)secs * 1000000000ull;
	while (now_ns() < end) { /* bounded by secs */
		char *buf = NULL, err[256];
		size_t len;
		int fd = sbco_dump_open_live("/", NULL);

		if (fd < 0 || sbco_read_fd(fd, 64u << 20, &buf, &len) < 0) {
			fprintf(stderr, "FAIL: reading the dump\n");
			if (fd >= 0)
				close(fd);
			goto out;
		}
		close(fd);
		if (sbco_engine_cycle(e, buf, len, now_ns(), err, sizeof(err)) < 0) {
			fprintf(stderr, "cycle: %s\n", err);
		} else {
			phase_step(e, ph);
			if (getenv("SBCO_TRACE"))
				trace(e, end);
		}
		free(buf);
		usleep(getenv("SBCO_INTERVAL_MS")
			   ? 1000 * (useconds_t)atoi(getenv("SBCO_INTERVAL_MS"))
			   : 20000);
	}
	sbco_engine_get_stats(e, st);
	*have_kp = kernel_counts(vms, kp); /* (before the restore clears the kernel's table) */
	snprintf(kpick_state, sizeof(kpick_state), "%s", sbco_engine_kernel_pick(e));
	r = 0;
out:
	if (e)
		sbco_engine_restore(e, rs);
	sbco_engine_free(e);
	return r;
}

static void pin_vcpus_apart(const struct sbco_vm_list *vms, unsigned nr_cpus)
{
	for (size_t v = 0; v < vms->nr; v++)
		for (size_t k = 0; k < vms->vms[v].nr_vcpus; k++) {
			struct sbco_cpuset c = {{0}};

			sbco_cpuset_add(&c, (unsigned)k % nr_cpus);
			sbco_host_ops_real.set_affinity(NULL, vms->vms[v].vcpus[k].tid, &c);
		}
}

static double pct(uint64_t n, uint64_t d)
{
	return d ? 100.0 * (double)n / (double)d : 0;
}

int main(int argc, char **argv)
{
	const char *build = argc > 1 ? argv[1] : "build";
	int secs = argc > 2 ? atoi(argv[2]) : 4, rc = 1;
	bool assert_exceed = argc > 3 && !strcmp(argv[3], "--assert-exceed");
	bool apart = argc > 3 && !strcmp(argv[3], "--pinned-apart");
	int rounds = apart ? (argc > 4 ? atoi(argv[4]) : 3) : 1;
	const char *hogs[2] = {"1", "1"};
	char hogenv[32] = "";
	static const char *const names[3] = {"off", "bal", "sbco"};
	static const char *const vmname[4] = {"guest=plA", "guest=plB", "guest=hog1", "guest=hog2"};
	char fakevm[4096];
	struct sbco_patterns pat = {0};
	struct sbco_topology *topo = NULL;
	struct sbco_engine_stats st[3] = {{0}};
	unsigned long ops[3] = {0};
	struct sbco_kpick_counts kpt[3] = {{0}};
	bool have_kpt = false;
	int fd = sbco_dump_open_live("/", NULL);

	if (fd < 0) {
		printf("SKIP: no readable scheduler dump (%s): need root and debugfs\n",
		       strerror(-fd));
		return 77;
	}
	close(fd);
	snprintf(fakevm, sizeof(fakevm), "%s/tests/fakevm", build);
	if (sbco_patterns_default(&pat) < 0 || sbco_topology_read("/", &topo) < 0)
		goto out;
	if (getenv("SBCO_HOGS")) { /* "N,M": hog threads on CPU 0 and on CPU 1 */
		snprintf(hogenv, sizeof(hogenv), "%s", getenv("SBCO_HOGS"));
		hogs[0] = strtok(hogenv, ",");
		hogs[1] = strtok(NULL, ",");
		if (!hogs[0] || !hogs[1])
			hogs[0] = hogs[1] = "1";
	}
	if (apart && topo->nr_cpus < 2) {
		printf("SKIP: --pinned-apart needs 2 CPUs, this host has %u\n", topo->nr_cpus);
		rc = 77;
		goto out;
	}
	if (apart && topo->nr_cpus >= 3) { /* housekeeping: the sampler, and (inherited) the
					    * helper threads of the VMs started below */
		struct sbco_cpuset hk = {{0}};

		for (unsigned c = 2; c < topo->nr_cpus; c++)
			sbco_cpuset_add(&hk, c);
		if (sbco_host_ops_real.set_affinity(NULL, getpid(), &hk) == 0)
			printf("housekeeping: the sampler and the VMs' helper threads on CPUs "
			       "2-%u\n",
			       topo->nr_cpus - 1);
	}
	for (int step = 0; step < 3 * rounds; step++) {
		int m = step % 3;
		struct sbco_restore_stats rs = {0};
		struct sbco_vm_list *all = NULL, vms = {0};
		struct sbco_engine_stats one = {0};
		struct phase ph = {.held = 0};
		struct sbco_kpick_counts kp = {0};
		bool have_kp = false;
		struct orig orig[16];
		pid_t kids[4];
		int errfd[4], n_orig, bad = 0;
		unsigned long vm_ops = 0;

		if (apart && m == 1) /* bal equals off when everything is pinned */
			continue;
		/* fresh VMs per mode, living secs + 3 s: the run below (and its last, slow
		 * cycle on a slow guest, kernel/check.sh) fits inside */
		for (int i = 0; i < 4; i++)
			kids[i] = spawn(fakevm, vmname[i], i < 2 ? "2" : hogs[i - 2],
					i < 2 ? "lock" : "spin", i < 2 ? "CPU %d/KVM" : "hog%d",
					secs + 3, &errfd[i]);
		usleep(300000);
		pin_process(kids[2], 0);
		pin_process(kids[3], topo->nr_cpus > 1 ? 1 : 0);
		if (sbco_proc_scan("/", &pat, NULL, 0, &all, NULL) < 0)
			bad = 1;
		for (size_t i = 0; !bad && i < all->nr; i++) /* only our own synthetic VMs */
			if (all->vms[i].pid == kids[0] || all->vms[i].pid == kids[1])
				sbco_vm_list_add(&vms, &all->vms[i]);
		if (!bad && vms.nr != 2) {
			fprintf(stderr, "FAIL: found %zu of our 2 VMs\n", vms.nr);
			bad = 1;
		}
		if (!bad && apart) {
			pin_vcpus_apart(&vms, topo->nr_cpus);
			for (size_t i = 0; i < vms.nr; i++)
				vms.vms[i].pinned = true;
		}
		n_orig = bad ? 0 : snapshot_origs(&vms, orig, 16);
		memset(ph.last, 0xff, sizeof(ph.last)); /* -1: no previous phase */
		memset(ph.last_q, 0xff, sizeof(ph.last_q));
		if (!bad && run_mode((enum sbco_mode)m, &vms, topo, &pat, secs, &one, &rs, &ph, &kp,
				     &have_kp) < 0)
			bad = 1;
		if (!bad && (check_origs(orig, n_orig) < 0 || rs.failed))
			bad = 1;
		for (int i = 0; i < 4; i++) {
			unsigned long o = reap(kids[i], errfd[i]);

			vm_ops += i < 2 ? o : 0;
		}
		ops[m] += vm_ops;
		for (size_t i = 0; i < vms.nr; i++)
			sbco_vm_clear(&vms.vms[i]);
		free(vms.vms);
		sbco_vm_list_free(all);
		if (bad)
			goto out;
		printf("mode %-4s: %lu cycles, %lu VM samples, stacked %.1f %%, over threshold "
		       "%.1f %% across queues, %.1f %% any; %lu actions (%lu errors), %lu "
		       "placements; restored %u; lock ops/s %.0f",
		       names[m], (unsigned long)one.cycles, (unsigned long)one.vm_samples,
		       pct(one.stacked, one.vm_samples), pct(one.exceeded, one.vm_samples),
		       pct(one.exceeded_any, one.vm_samples), (unsigned long)one.actions,
		       (unsigned long)one.action_errors, (unsigned long)one.placements, rs.restored,
		       vm_ops / (double)(secs + 3));
		printf("; phase held %.1f %% of %lu (chance %.1f %%)", pct(ph.held, ph.compared),
		       (unsigned long)ph.compared,
		       ph.compared ? 100.0 * ph.chance / (double)ph.compared : 0);
		if (have_kp) /* the kernel's own count at every pick (kernel patch, "pick") */
			printf("; kernel picks %llu over threshold %.1f %% loans %llu (%s)",
			       (unsigned long long)kp.samples, pct(kp.exceeded, kp.samples),
			       (unsigned long long)kp.loans, kpick_state);
		printf("\n");
		fflush(stdout);
		if (m > 0 && one.stacked) {
			fprintf(stderr, "FAIL: stacking under %s\n", names[m]);
			goto out;
		}
		if (one.vm_samples < 10) {
			fprintf(stderr, "FAIL: too few samples under %s\n", names[m]);
			goto out;
		}
		st[m].vm_samples += one.vm_samples;
		st[m].exceeded += one.exceeded;
		st[m].exceeded_any += one.exceeded_any;
		kpt[m].samples += kp.samples;
		kpt[m].exceeded += kp.exceeded;
		kpt[m].loans += kp.loans;
		have_kpt |= have_kp;
	}
	if (apart)
		printf("total over %d rounds: over threshold off %.1f %%, sbco %.1f %%\n", rounds,
		       pct(st[0].exceeded, st[0].vm_samples),
		       pct(st[2].exceeded, st[2].vm_samples));
	if (apart && have_kpt)
		printf("kernel total over %d rounds: picks over threshold off %.1f %% of %llu, "
		       "sbco %.1f %% of %llu (%llu loans)\n",
		       rounds, pct(kpt[0].exceeded, kpt[0].samples),
		       (unsigned long long)kpt[0].samples, pct(kpt[2].exceeded, kpt[2].samples),
		       (unsigned long long)kpt[2].samples, (unsigned long long)kpt[2].loans);
	if ((assert_exceed || apart) &&
	    !(st[2].exceeded_any * st[0].vm_samples < st[0].exceeded_any * st[2].vm_samples)) {
		fprintf(stderr, "FAIL: sbco did not lower the threshold-exceed rate\n");
		goto out;
	}
	printf("ok: every affinity, slice and nice restored after each mode\n");
	rc = 0;
	printf("PASS\n");
out:
	sbco_topology_free(topo);
	sbco_patterns_clear(&pat);
	return rc;
}
