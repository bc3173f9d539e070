/* SPDX-License-Identifier: MIT */
/*
 * gen_dump: writes a synthetic Linux 6.18 scheduler debug dump (the text of
 * /sys/kernel/debug/sched/debug) to stdout, for the parse benchmark. The layout copies the
 * real fixture sched-debug-6.18-two-vms.txt line for line: header, sysctl_sched block, then
 * per CPU the rq fields, one cfs_rq block per task group that has a task on that CPU (and
 * its ancestors; children first, root "/" last, .se-> lines for non-root groups), rt_rq and
 * dl_rq blocks, and the 6.12+ "runnable tasks:" table printed with print_task()'s own
 * format strings. The host runs libvirt-like VMs (vCPU threads "CPU N/KVM" in
 * /machine/qemu-ID-vmID.libvirt-qemu/vcpuN), per-CPU and unbound kernel threads, services
 * in /system.slice/NAME.service and login sessions in /autogroup-K. About a quarter of the
 * tasks are runnable and every CPU with tasks has exactly one current (">R") task; queue
 * fields (nr_queued, load, left/avg vruntime, .se->vruntime) agree with the rows. Without
 * -R the kernel is a distro one (no RT_GROUP_SCHED: one "rt_rq[N]:" per CPU); -R prints
 * one rt_rq per task group as the fixture's kernel does. -A prints cfs_rq blocks only for
 * groups with a runnable task on the CPU: a real kernel drops fully decayed (long idle)
 * group queues from its leaf list, as the fixture shows for /autogroup-11 on cpu#0, so
 * the default is the upper bound. The output depends only on the arguments, seed included.
 * usage: gen_dump [-c CPUS] [-t TASKS] [-m VMS] [-v VCPUS] [-s SEED] [-R] [-A] [-S]
 *        -S prints a summary (tasks, runnable share, cfs_rq blocks) to stderr.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MS	   1000000LL	   /* ns per ms */
#define NICE_0_W   (1024ull << 10) /* scale_load(1024), what 64-bit kernels print */
#define MAX_GROUPS 8192

enum gkind { G_ROOT, G_MACHINE, G_VM, G_EMU, G_VCPU, G_SLICE, G_SERVICE, G_AUTO };

/* How a task behaves, for its state and numbers. */
enum tkind { T_USER, T_VCPU, T_KTHREAD, T_KWORKER, T_RT, T_BOOT };

struct group {
	char path[112];
	int parent;
	enum gkind kind;
};

struct task {
	char comm[16];
	int32_t pid;
	int cpu, group, prio, numa_group;
	enum tkind kind;
	char state;
	bool current, custom_slice;
	int64_t slice, sum_exec, vruntime, deadline;
	uint64_t switches;
};

/* One group's cfs_rq on the CPU being printed. */
struct gq {
	int stamp;
	int h;	       /* runnable fair tasks below (h_nr_queued) */
	int nq;	       /* queued entities (nr_queued) */
	bool se_curr;  /* the group's se is its parent's current entity */
	bool has_left; /* an entity other than curr is queued */
	int64_t base;  /* zero_vruntime of the queue */
	int64_t avg;   /* avg_vruntime */
	int64_t left_v, left_d, right_v;
	int64_t se_v, se_d; /* the group's se in its parent queue */
	uint64_t se_w, load;
	double wsum, wv; /* load-weighted sum of (vruntime - base), for avg_vruntime */
};

static const uint32_t prio_to_weight[40] = {
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904,
    3906,  3121,  2501,	 1991,	1586,  1277,  1024,  820,   655,   526,	  423,	335,  272,  215,
    172,   137,	  110,	 87,	70,    56,    45,    36,    29,	   23,	  18,	15,
};

struct service {
	const char *unit, *comm;
	const char *thr[5]; /* thread names, used in turn; a trailing '#' gets the index */
	int nthr;
};

static const struct service services[] = {
    {"systemd-journald", "systemd-journal", {NULL}, 0},
    {"systemd-udevd", "systemd-udevd", {"(udev-worker)"}, 2},
    {"dbus", "dbus-daemon", {NULL}, 0},
    {"systemd-logind", "systemd-logind", {NULL}, 0},
    {"chronyd", "chronyd", {NULL}, 0},
    {"rsyslog", "rsyslogd", {"in:imjournal", "rs:main Q:Reg"}, 2},
    {"irqbalance", "irqbalance", {"gmain"}, 1},
    {"polkit", "polkitd", {"gmain", "gdbus"}, 2},
    {"ssh", "sshd", {NULL}, 0},
    {"cron", "cron", {NULL}, 0},
    {"virtlogd", "virtlogd", {NULL}, 0},
    {"libvirtd",
     "libvirtd",
     {"rpc-libvirtd", "prio-rpc-libvir", "rpc-admin", "gmain", "udev-event"},
     17},
    {"containerd", "containerd", {"containerd"}, 11},
    {"prometheus-node-exporter", "node_exporter", {"node_exporter"}, 6},
    {"multipathd", "multipathd", {"multipathd"}, 6},
};

/* Processes started after the VMs, until the task budget is used up. */
struct app {
	const char *comm;
	const char *thr[5];
	int min_thr, max_thr;
	const char *unit; /* NULL: a login session's process (autogroup) */
};

static const struct app apps[] = {
    {"bash", {NULL}, 0, 0, NULL},
    {"tmux: server", {NULL}, 0, 0, NULL},
    {"vim", {NULL}, 0, 0, NULL},
    {"python3", {"python3"}, 0, 4, NULL},
    {"make", {NULL}, 0, 0, NULL},
    {"cc1", {NULL}, 0, 0, NULL},
    {"less", {NULL}, 0, 0, NULL},
    {"ingest-worker", {"tokio-rt-worker"}, 4, 32, NULL},
    {"dconf-service", {"gmain", "gdbus", "dconf worker"}, 3, 3, NULL},
    {"postgres", {NULL}, 0, 0, "postgresql"},
    {"java",
     {"java", "C2 CompilerThread#", "C1 CompilerThre", "GC Thread#", "VM Periodic Tas"},
     20,
     80,
     "billing-app"},
    {"nginx", {NULL}, 0, 0, "nginx"},
    {"php-fpm8.2", {NULL}, 0, 0, "php8.2-fpm"},
    {"dockerd", {"dockerd"}, 8, 24, "docker"},
    {"memcached", {"memcached"}, 4, 8, "memcached"},
    {"redis-server",
     {"bio_close_file", "bio_aof", "bio_lazy_free", "jemalloc_bg_thd"},
     4,
     4,
     "redis-server"},
};

static uint64_t rng_state;
static struct group *groups;
static int ngroups;
static struct task *tasks;
static int ntasks, max_tasks;
static int32_t next_pid = 1;
static int ncpus, nnodes;
static int64_t uptime_ns, base_slice_ns;
static int auto_id, nauto, *autos;
static bool active_only;

static uint64_t rnd(void) /* splitmix64 */
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double rndf(void) /* [0, 1) */
{
	return (double)(rnd() >> 11) * 0x1.0p-53;
}

static int64_t rnd_range(int64_t lo, int64_t hi) /* [lo, hi] */
{
	return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

static bool chance(double p)
{
	return rndf() < p;
}

/* Log-uniform in [lo, hi]: run times and switch counts span many decades. */
static int64_t rnd_log(int64_t lo, int64_t hi)
{
	return (int64_t)exp(log((double)lo) + rndf() * (log((double)hi) - log((double)lo)));
}

/* The kernel's SPLIT_NS(): values in (-1 ms, 0) lose their sign, as in the real dumps. */
static long long nsec_high(int64_t ns)
{
	return ns < 0 ? -(long long)(-ns / MS) : (long long)(ns / MS);
}

static long nsec_low(int64_t ns)
{
	return (long)((ns < 0 ? -ns : ns) % MS);
}

static uint64_t weight_of(int prio)
{
	return prio >= 100 && prio < 140 ? (uint64_t)prio_to_weight[prio - 100] << 10 : NICE_0_W;
}

/* The slice in virtual time: calc_delta_fair(slice, se). */
static int64_t vslice(int64_t slice, uint64_t w)
{
	return (int64_t)((double)slice * (double)NICE_0_W / (double)w);
}

static int add_group(int parent, enum gkind kind, const char *fmt_a, const char *b)
{
	struct group *g;

	if (ngroups == MAX_GROUPS) {
		fprintf(stderr, "gen_dump: more than %d task groups\n", MAX_GROUPS);
		exit(1);
	}
	g = &groups[ngroups];
	snprintf(g->path, sizeof(g->path), "%s%s%s", parent > 0 ? groups[parent].path : "", fmt_a,
		 b);
	g->parent = parent;
	g->kind = kind;
	return ngroups++;
}

static int find_group(const char *path)
{
	for (int i = 0; i < ngroups; i++)
		if (strcmp(groups[i].path, path) == 0)
			return i;
	return -1;
}

static int service_group(const char *unit)
{
	char path[112];
	int slice = find_group("/system.slice"), g;

	if (slice < 0)
		slice = add_group(0, G_SLICE, "/system.slice", "");
	snprintf(path, sizeof(path), "/system.slice/%.60s.service", unit);
	g = find_group(path);
	return g >= 0 ? g : add_group(slice, G_SERVICE, path + strlen("/system.slice"), "");
}

/* A login session: a new autogroup now and then, else one of the existing ones. */
static int session_group(void)
{
	char name[32];

	if (nauto > 0 && (nauto >= 8 + max_tasks / 500 || !chance(0.25)))
		return autos[rnd() % (uint64_t)nauto];
	auto_id += 1 + (int)(rnd() % 3);
	snprintf(name, sizeof(name), "/autogroup-%d", auto_id);
	autos[nauto] = add_group(0, G_AUTO, name, "");
	return autos[nauto++];
}

static char pick_state(enum tkind kind)
{
	double x = rndf();

	switch (kind) {
	case T_VCPU:
		return x < 0.55 ? 'R' : 'S';
	case T_USER:
		return x < 0.28 ? 'R' : x < 0.29 ? 'D' : 'S';
	case T_KWORKER:
		return x < 0.10 ? 'R' : 'I';
	case T_KTHREAD:
		return x < 0.10 ? 'R' : x < 0.2 ? 'I' : 'S';
	case T_RT:
		return x < 0.02 ? 'R' : 'S';
	case T_BOOT:
		return 'I';
	}
	return 'S';
}

/* Append one task; cpu < 0 places it on a random CPU. */
static struct task *add_task(const char *comm, int idx, int group, int cpu, int prio,
			     enum tkind kind)
{
	struct task *t;

	if (ntasks == max_tasks)
		return NULL;
	t = &tasks[ntasks++];
	memset(t, 0, sizeof(*t));
	if (idx >= 0 && comm[strlen(comm) - 1] == '#')
		snprintf(t->comm, sizeof(t->comm), "%s%d", comm, idx);
	else
		snprintf(t->comm, sizeof(t->comm), "%s", comm);
	t->pid = next_pid;
	next_pid += chance(0.05) ? (int32_t)rnd_range(2, 400) : 1;
	t->cpu = cpu >= 0 ? cpu : (int)(rnd() % (uint64_t)ncpus);
	t->group = group;
	t->prio = prio;
	t->kind = kind;
	t->state = pick_state(kind);
	if (kind == T_BOOT) { /* reserve kworkers that never ran since boot */
		t->slice = 700000;
		t->switches = 2;
		return t;
	}
	t->slice = base_slice_ns;
	if (chance(0.004)) {
		t->custom_slice = true;
		t->slice = rnd_range(100, 20000) * 1000;
	}
	if (kind == T_VCPU)
		t->sum_exec = (int64_t)((double)uptime_ns * (0.05 + 0.5 * rndf()));
	else if (kind == T_USER)
		t->sum_exec = chance(0.03) ? 0 : rnd_log(2000, uptime_ns / 50);
	else
		t->sum_exec = chance(0.03) ? 0 : rnd_log(2000, uptime_ns / 2000);
	t->switches = 1 + (uint64_t)(t->sum_exec / rnd_log(20000, 5 * MS));
	return t;
}

/* Room left for optional tasks once the VMs' threads are reserved. */
static int room(int reserved)
{
	return max_tasks - ntasks - reserved;
}

static void build_kernel(int reserved)
{
	static const char *const boot[] = {"kworker/R-rcu_g", "kworker/R-sync_", "kworker/R-kvfre",
					   "kworker/R-slub_", "kworker/R-netns", "kworker/R-mm_pe"};
	static const char *const percpu[] = {"migration/", "ksoftirqd/", "cpuhp/",  "kworker/",
					     "kworker/",   "kworker/",	 "kworker/"};
	static const char *const wsuffix[] = {"", "", "", ":0", ":0H", ":1", ":1H"};
	static const int pprio[] = {0, 120, 120, 120, 100, 120, 100};
	static const enum tkind pkind[] = {T_RT,      T_KTHREAD, T_KTHREAD, T_KWORKER,
					   T_KWORKER, T_KWORKER, T_KWORKER};
	static const char *const global[] = {"rcu_preempt",  "rcu_exp_gp_kthr", "kdevtmpfs",
					     "kauditd",	     "khungtaskd",	"oom_reaper",
					     "ksmd",	     "khugepaged",	"hwrng",
					     "watchdogd",    "irq/9-acpi",	"irq/24-pciehp",
					     "irq/25-pciehp"};
	int per = (int)((double)room(reserved) * 0.35 / ncpus);

	if (per > 7)
		per = 7;
	if (per < 1)
		per = 1;
	add_task("kthreadd", -1, 0, -1, 120, T_KTHREAD);
	add_task("pool_workqueue_", -1, 0, -1, 120, T_KTHREAD);
	for (size_t i = 0; i < sizeof(boot) / sizeof(boot[0]) && room(reserved) > 0; i++)
		add_task(boot[i], -1, 0, 0, 100, T_BOOT);
	for (int c = 0; c < ncpus; c++)
		for (int k = 0; k < per && room(reserved) > 0; k++) {
			char name[32];

			snprintf(name, sizeof(name), "%s%d%s", percpu[k], c, wsuffix[k]);
			add_task(name, -1, 0, c, pprio[k], pkind[k]);
		}
	for (size_t i = 0; i < sizeof(global) / sizeof(global[0]) && room(reserved) > 0; i++) {
		int prio = strncmp(global[i], "irq/", 4) == 0 || strcmp(global[i], "watchdogd") == 0
			       ? 49
			   : strcmp(global[i], "khugepaged") == 0 ? 139
			   : strcmp(global[i], "ksmd") == 0	  ? 125
								  : 120;

		add_task(global[i], -1, 0, -1, prio, prio < 100 ? T_RT : T_KTHREAD);
	}
	for (int n = 0; n < nnodes && room(reserved) > 1; n++) {
		char name[32];

		snprintf(name, sizeof(name), "kswapd%d", n);
		add_task(name, -1, 0, n * (ncpus / nnodes), 120, T_KTHREAD);
		snprintf(name, sizeof(name), "kcompactd%d", n);
		add_task(name, -1, 0, n * (ncpus / nnodes), 120, T_KTHREAD);
	}
	for (int i = 0; i < ncpus / 8 + 2 && room(reserved) > 0; i++) {
		char name[32];

		snprintf(name, sizeof(name), "kworker/u%d:%d", 2 * ncpus, i);
		add_task(name, -1, 0, -1, 120, T_KWORKER);
	}
}

static void build_services(int reserved)
{
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		const struct service *s = &services[i];
		int g;

		if (room(reserved) < 1 + s->nthr)
			continue;
		g = service_group(s->unit);
		add_task(s->comm, -1, g, -1, 120, T_USER);
		for (int k = 0; k < s->nthr; k++)
			add_task(s->thr[k % 5] ? s->thr[k % 5] : s->thr[0], k, g, -1, 120, T_USER);
	}
}

static void build_vms(int nvms, int vcpus)
{
	int machine;

	if (nvms == 0)
		return;
	machine = add_group(0, G_MACHINE, "/machine", "");
	for (int v = 0; v < nvms; v++) {
		char name[64], vhost[16];
		int vm, emu, numa;
		struct task *main;

		snprintf(name, sizeof(name), "/qemu-%d-vm%d.libvirt-qemu", v + 1, v + 1);
		vm = add_group(machine, G_VM, name, "");
		emu = add_group(vm, G_EMU, "/emulator", "");
		numa = chance(0.5) ? next_pid : 0; /* NUMA balancing grouped this VM's threads */
		main = add_task("qemu-system-x86", -1, emu, -1, 120, T_USER);
		snprintf(vhost, sizeof(vhost), "vhost-%d", main->pid);
		main->numa_group = numa;
		add_task("call_rcu", -1, emu, -1, 120, T_USER)->numa_group = numa;
		add_task("IO mon_iothread", -1, emu, -1, 120, T_USER)->numa_group = numa;
		for (int c = 0; c < vcpus; c++) {
			char comm[16], gname[16];

			snprintf(comm, sizeof(comm), "CPU %d/KVM", c);
			snprintf(gname, sizeof(gname), "/vcpu%d", c);
			add_task(comm, -1, add_group(vm, G_VCPU, gname, ""), -1, 120, T_VCPU)
			    ->numa_group = numa;
		}
		add_task(vhost, -1, emu, -1, 120, T_USER)->numa_group = numa;
		if (chance(0.3))
			next_pid += (int32_t)rnd_range(50, 3000); /* time passes between starts */
	}
}

static void build_apps(void)
{
	while (ntasks < max_tasks) {
		const struct app *a = &apps[rnd() % (sizeof(apps) / sizeof(apps[0]))];
		int g = a->unit ? service_group(a->unit) : session_group();
		int n = a->max_thr ? (int)rnd_range(a->min_thr, a->max_thr) : 0;

		add_task(a->comm, -1, g, -1, a->unit || chance(0.9) ? 120 : 130, T_USER);
		for (int k = 0; k < n && ntasks < max_tasks; k++)
			add_task(a->thr[k % 5] ? a->thr[k % 5] : a->thr[0], k, g, -1, 120, T_USER);
	}
}

static void split_ns_line(const char *name, int64_t ns)
{
	printf("  .%-30s: %lld.%06ld\n", name, nsec_high(ns), nsec_low(ns));
}

static void int_line(const char *name, long long v)
{
	printf("  .%-30s: %lld\n", name, v);
}

static void print_header(int64_t jiffies, const char *release)
{
	printf("Sched Debug Version: v0.11, %s #1\n", release);
	printf("%-40s: %lld.%06ld\n", "ktime", nsec_high(uptime_ns), nsec_low(uptime_ns));
	printf("%-40s: %lld.%06ld\n", "sched_clk", nsec_high(uptime_ns + 21425252),
	       nsec_low(uptime_ns + 21425252));
	printf("%-40s: %lld.%06ld\n", "cpu_clk", nsec_high(uptime_ns + 1473393),
	       nsec_low(uptime_ns + 1473393));
	printf("%-40s: %lld\n", "jiffies", (long long)jiffies);
	printf("%-40s: %d\n", "sched_clock_stable()", 1);
	printf("\nsysctl_sched\n");
	printf("  .%-40s: %lld.%06ld\n", "sysctl_sched_base_slice", nsec_high(base_slice_ns),
	       nsec_low(base_slice_ns));
	printf("  .%-40s: %d\n", "sysctl_sched_features", 99674079);
	printf("  .%-40s: %d (%s)\n", "sysctl_sched_tunable_scaling", 1, "logarithmic");
	printf("\n");
}

static void print_cfs_rq(int cpu, int g, const struct gq *q, int64_t clock)
{
	bool root = g == 0;
	int64_t util = q->h ? rnd_range(300, 1024) : rnd_range(0, 60);
	int64_t load_avg = q->h ? (int64_t)q->load / 1024 + rnd_range(-40, 40) : util;

	if (load_avg < 0)
		load_avg = 0;
	printf("\ncfs_rq[%d]:%s\n", cpu, root ? "/" : groups[g].path);
	split_ns_line("left_deadline", q->has_left ? q->left_d : 1);
	split_ns_line("left_vruntime", q->has_left ? q->left_v : 1);
	split_ns_line("zero_vruntime", q->avg);
	split_ns_line("avg_vruntime", q->avg);
	split_ns_line("right_vruntime", q->has_left ? q->right_v : 1);
	split_ns_line("spread", q->has_left ? q->right_v - q->left_v : 0);
	int_line("nr_queued", q->nq);
	int_line("h_nr_runnable", q->h);
	int_line("h_nr_queued", q->h);
	int_line("h_nr_idle", 0);
	int_line("load", (long long)q->load);
	int_line("load_avg", load_avg);
	int_line("runnable_avg", q->h ? load_avg + rnd_range(0, 200) : util);
	int_line("util_avg", util);
	int_line("util_est", root ? rnd_range(0, 2048) : 0);
	int_line("removed.load_avg", 0);
	int_line("removed.util_avg", 0);
	int_line("removed.runnable_avg", 0);
	int_line("tg_load_avg_contrib", root ? 0 : load_avg);
	int_line("tg_load_avg", root ? 0 : load_avg + rnd_range(0, 4000));
	int_line("throttled", 0);
	int_line("throttle_count", 0);
	if (root)
		return;
	split_ns_line("se->exec_start", q->se_curr ? clock : clock - rnd_range(0, 200 * MS));
	split_ns_line("se->vruntime", q->se_v);
	split_ns_line("se->sum_exec_runtime", q->base + rnd_range(0, 2000 * MS));
	int_line("se->load.weight", (long long)q->se_w);
	int_line("se->avg.load_avg", (long long)(q->se_w >> 10) * util / 1024);
	int_line("se->avg.util_avg", util);
	int_line("se->avg.runnable_avg", q->h ? load_avg : util);
}

/* Children before parents, root last: the order of the kernel's leaf cfs_rq list. */
static void print_cfs_tree(int cpu, int g, const struct gq *q, const int *first_child,
			   const int *next_sibling, int stamp, int64_t clock, int *nblocks)
{
	for (int c = first_child[g]; c >= 0; c = next_sibling[c])
		if (q[c].stamp == stamp && (q[c].h > 0 || !active_only))
			print_cfs_tree(cpu, c, q, first_child, next_sibling, stamp, clock, nblocks);
	print_cfs_rq(cpu, g, &q[g], clock);
	(*nblocks)++;
}

static void enqueue(struct gq *q, int64_t v, int64_t d, uint64_t w, bool curr)
{
	q->nq++;
	q->load += w;
	q->wsum += (double)w;
	q->wv += (double)w * (double)(v - q->base);
	if (curr)
		return; /* rq->curr is counted, but not in the tree */
	if (!q->has_left || v < q->left_v) {
		q->left_v = v;
		q->left_d = d;
	}
	if (!q->has_left || v > q->right_v)
		q->right_v = v;
	q->has_left = true;
}

static bool fair_runnable(const struct task *t)
{
	return t->state == 'R' && t->prio >= 100;
}

int main(int argc, char **argv)
{
	static const char dashes[] = "-------------------------------------------------------"
				     "------------------------------------------------------"
				     "------------------------------------------------------"
				     "----------------------------";
	int nvms = 2, vcpus = 2, opt, *first_child, *next_sibling, *order, *cpu_start, *h_total;
	int stamp = 0, nblocks = 0, nrun = 0;
	bool rt_groups = false, stats = false;
	unsigned long long seed = 1;
	struct gq *q;
	int64_t jiffies;

	ncpus = 2;
	max_tasks = 120;
	while ((opt = getopt(argc, argv, "c:t:m:v:s:RAS")) != -1) {
		switch (opt) {
		case 'c':
			ncpus = (int)strtol(optarg, NULL, 10);
			break;
		case 't':
			max_tasks = (int)strtol(optarg, NULL, 10);
			break;
		case 'm':
			nvms = (int)strtol(optarg, NULL, 10);
			break;
		case 'v':
			vcpus = (int)strtol(optarg, NULL, 10);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 10);
			break;
		case 'R':
			rt_groups = true;
			break;
		case 'A':
			active_only = true;
			break;
		case 'S':
			stats = true;
			break;
		default:
			fprintf(stderr, "usage: gen_dump [-c CPUS] [-t TASKS] [-m VMS] [-v VCPUS] "
					"[-s SEED] [-R] [-A] [-S]\n");
			return 2;
		}
	}
	if (ncpus < 1 || ncpus > 4096 || max_tasks < 1 || nvms < 0 || vcpus < 1 || vcpus > 512 ||
	    nvms * (vcpus + 4) + 3 > max_tasks) {
		fprintf(stderr, "gen_dump: need 1..4096 CPUs and TASKS > VMS * (VCPUS + 4) + 2\n");
		return 2;
	}
	rng_state = seed * 0x2545f4914f6cdd1dull + 12345;
	nnodes = ncpus >= 128 ? ncpus / 64 : 1;
	uptime_ns = rnd_range(2000, 400000) * 1000 * MS + rnd_range(0, MS - 1);
	jiffies = 4294667296LL + uptime_ns / MS; /* INITIAL_JIFFIES, HZ=1000 */
	/* sysctl_sched_base_slice = 0.7 ms * (1 + ilog2(min(ncpus, 8))) */
	base_slice_ns = 700000LL * (1 + (ncpus >= 8 ? 3 : ncpus >= 4 ? 2 : ncpus >= 2 ? 1 : 0));
	groups = calloc(MAX_GROUPS, sizeof(*groups));
	tasks = calloc((size_t)max_tasks, sizeof(*tasks));
	autos = calloc(MAX_GROUPS, sizeof(*autos));
	if (!groups || !tasks || !autos)
		return 1;
	snprintf(groups[0].path, sizeof(groups[0].path), "/");
	groups[0].parent = -1;
	ngroups = 1;

	/* Creation order is pid order and the task list order the kernel walks. */
	add_task("systemd", -1, 0, -1, 120, T_USER);
	build_kernel(nvms * (vcpus + 4));
	build_services(nvms * (vcpus + 4));
	next_pid += (int32_t)rnd_range(100, 2000);
	build_vms(nvms, vcpus);
	build_apps();

	first_child = malloc((size_t)ngroups * sizeof(int));
	next_sibling = malloc((size_t)ngroups * sizeof(int));
	h_total = calloc((size_t)ngroups, sizeof(int));
	q = calloc((size_t)ngroups, sizeof(*q));
	order = malloc((size_t)ntasks * sizeof(int));
	cpu_start = calloc((size_t)ncpus + 1, sizeof(int));
	if (!first_child || !next_sibling || !h_total || !q || !order || !cpu_start)
		return 1;
	for (int g = 0; g < ngroups; g++)
		first_child[g] = next_sibling[g] = -1;
	for (int g = ngroups - 1; g > 0; g--) {
		next_sibling[g] = first_child[groups[g].parent];
		first_child[groups[g].parent] = g;
	}
	/* Bucket the tasks by CPU, keeping list order; count each group's runnable tasks. */
	for (int i = 0; i < ntasks; i++)
		cpu_start[tasks[i].cpu + 1]++;
	for (int c = 0; c < ncpus; c++)
		cpu_start[c + 1] += cpu_start[c];
	{
		int *fill = calloc((size_t)ncpus, sizeof(int));

		if (!fill)
			return 1;
		for (int i = 0; i < ntasks; i++)
			order[cpu_start[tasks[i].cpu] + fill[tasks[i].cpu]++] = i;
		free(fill);
	}
	/* Exactly one current task per CPU with tasks: a runnable fair one if there is. */
	for (int c = 0; c < ncpus; c++) {
		int n = cpu_start[c + 1] - cpu_start[c], pick = -1, seen = 0;

		for (int k = 0; k < n; k++) {
			struct task *t = &tasks[order[cpu_start[c] + k]];

			if (fair_runnable(t) && rnd() % (uint64_t)++seen == 0)
				pick = order[cpu_start[c] + k];
		}
		for (int tries = 0; pick < 0 && n > 0 && tries < 4 * n; tries++) {
			int i = order[cpu_start[c] + (int)(rnd() % (uint64_t)n)];

			if (tasks[i].prio >= 100 || tries >= 2 * n)
				pick = i;
		}
		if (pick >= 0) {
			tasks[pick].state = 'R';
			tasks[pick].current = true;
			if (tasks[pick].kind == T_BOOT)
				tasks[pick].kind = T_KWORKER;
		}
	}
	for (int i = 0; i < ntasks; i++) {
		nrun += tasks[i].state == 'R';
		if (fair_runnable(&tasks[i]))
			for (int g = tasks[i].group; g >= 0; g = groups[g].parent)
				h_total[g]++;
	}

	setvbuf(stdout, NULL, _IOFBF, 1 << 20);
	print_header(jiffies, "6.18.0-sbco-bench");
	for (int c = 0; c < ncpus; c++) {
		int64_t clock = uptime_ns + rnd_range(0, 2 * MS), next_balance;
		int first = cpu_start[c], n = cpu_start[c + 1] - first, nr_running = 0, nr_rt = 0;
		int32_t curr_pid = 0;

		stamp++;
		/* The queues of this CPU: every group with a task here, and its ancestors. */
		for (int k = -1; k < n; k++)
			for (int g = k < 0 ? 0 : tasks[order[first + k]].group; g >= 0;
			     g = groups[g].parent) {
				if (q[g].stamp == stamp)
					break;
				memset(&q[g], 0, sizeof(q[g]));
				q[g].stamp = stamp;
				q[g].base =
				    g == 0 ? (int64_t)((double)uptime_ns * (0.3 + 0.6 * rndf()))
					   : (int64_t)((double)uptime_ns * (0.001 + 0.2 * rndf()));
			}
		for (int k = 0; k < n; k++) {
			struct task *t = &tasks[order[first + k]];

			nr_running += t->state == 'R';
			nr_rt += t->state == 'R' && t->prio < 100;
			if (t->current) {
				curr_pid = t->pid;
				for (int g = t->group; g > 0; g = groups[g].parent)
					q[g].se_curr = true;
			}
			if (fair_runnable(t))
				for (int g = t->group; g >= 0; g = groups[g].parent)
					q[g].h++;
		}
		/* Task positions in their queue's virtual time. */
		for (int k = 0; k < n; k++) {
			struct task *t = &tasks[order[first + k]];
			struct gq *tq = &q[t->group];
			uint64_t w = weight_of(t->prio);
			int64_t vs = vslice(t->slice, w);

			if (t->kind == T_BOOT) {
				t->vruntime = -1048576;
				t->deadline = t->vruntime + vs;
				continue;
			}
			if (fair_runnable(t))
				t->vruntime = tq->base + rnd_range(-vs, vs);
			else if (chance(0.05))
				t->vruntime = tq->base + rnd_range(0, 2 * vs);
			else
				t->vruntime = tq->base - rnd_range(0, tq->base);
			t->deadline = t->vruntime + rnd_range(vs / 20 + 1, vs);
			if (fair_runnable(t))
				enqueue(tq, t->vruntime, t->deadline, w, t->current);
		}
		/* Group entities, deepest groups first (a child has a larger index). */
		for (int g = ngroups - 1; g > 0; g--) {
			struct gq *gq = &q[g], *pq = &q[groups[g].parent];
			int64_t vs;

			if (gq->stamp != stamp)
				continue;
			gq->avg = gq->nq ? gq->base + (int64_t)(gq->wv / gq->wsum) : gq->base;
			gq->se_w = h_total[g] ? NICE_0_W * (uint64_t)gq->h / (uint64_t)h_total[g]
					      : (uint64_t)rnd_range(2048, (int64_t)NICE_0_W);
			if (gq->se_w < 2048)
				gq->se_w = 2048;
			vs = vslice(base_slice_ns, gq->se_w);
			gq->se_v = gq->h ? pq->base + rnd_range(-vs, vs)
					 : pq->base - rnd_range(0, pq->base / 2);
			gq->se_d = gq->se_v + rnd_range(vs / 20 + 1, vs);
			if (gq->h)
				enqueue(pq, gq->se_v, gq->se_d, gq->se_w, gq->se_curr);
		}
		q[0].avg = q[0].nq ? q[0].base + (int64_t)(q[0].wv / q[0].wsum) : q[0].base;

		printf("cpu#%d, %u.%03u MHz\n", c, 2096u, 20u);
		int_line("nr_running", nr_running);
		int_line("nr_switches", rnd_log(100000, 400000000));
		int_line("nr_uninterruptible", rnd_range(-3000, 3000));
		next_balance = jiffies + rnd_range(1, 20);
		printf("  .%-30s: %lld.%06ld\n", "next_balance", (long long)(next_balance / MS),
		       (long)(next_balance % MS));
		int_line("curr->pid", curr_pid);
		split_ns_line("clock", clock);
		split_ns_line("clock_task", clock);
		int_line("avg_idle", rnd_range(1000, 1000000));
		int_line("max_idle_balance_cost", rnd_range(500000, 900000));
		print_cfs_tree(c, 0, q, first_child, next_sibling, stamp, clock, &nblocks);
		if (!rt_groups) {
			printf("\nrt_rq[%d]:\n", c);
			int_line("rt_nr_running", nr_rt);
		} else {
			for (int g = 0; g < ngroups; g++) {
				if (groups[g].kind == G_AUTO)
					continue; /* autogroups use the root's rt_rq */
				printf("\nrt_rq[%d]:%s\n", c, groups[g].path);
				int_line("rt_nr_running", g == 0 ? nr_rt : 0);
				int_line("rt_throttled", 0);
				split_ns_line("rt_time", g == 0 ? rnd_range(0, 100 * MS) : 0);
				split_ns_line("rt_runtime", g == 0 ? 950 * MS : 0);
			}
		}
		printf("\ndl_rq[%d]:\n", c);
		int_line("dl_nr_running", 0);
		int_line("dl_bw->bw", 996147);
		int_line("dl_bw->total_bw", 104856);

		printf("\nrunnable tasks:\n"
		       " S            task   PID       vruntime   eligible    deadline         "
		       "    slice          sum-exec      switches  prio         wait-time        "
		       "sum-sleep       sum-block  node   group-id  group-path\n%s\n",
		       dashes);
		for (int k = 0; k < n; k++) {
			const struct task *t = &tasks[order[first + k]];
			const struct gq *tq = &q[t->group];

			if (t->current)
				printf(">R");
			else
				printf(" %c", t->state);
			printf(
			    " %15s %5d %9lld.%06ld   %c   %9lld.%06ld %c %9lld.%06ld %9lld.%06ld "
			    "%9lld   %5d ",
			    t->comm, t->pid, nsec_high(t->vruntime), nsec_low(t->vruntime),
			    t->vruntime <= tq->avg ? 'E' : 'N', nsec_high(t->deadline),
			    nsec_low(t->deadline), t->custom_slice ? 'S' : ' ', nsec_high(t->slice),
			    nsec_low(t->slice), nsec_high(t->sum_exec), nsec_low(t->sum_exec),
			    (long long)t->switches, t->prio);
			/* schedstats off at run time, as in the fixture: wait/sleep/block are 0 */
			printf("%9lld.%06ld %9lld.%06ld %9lld.%06ld", 0ll, 0l, 0ll, 0l, 0ll, 0l);
			printf("   %d      %d", t->cpu / (ncpus / nnodes), t->numa_group);
			printf("        %s\n", groups[t->group].path);
		}
		printf("\n");
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("gen_dump: stdout");
		return 1;
	}
	if (stats)
		fprintf(stderr,
			"gen_dump: %d CPUs, %d tasks (%d runnable, %.1f%%), %d groups, %d cfs_rq "
			"blocks\n",
			ncpus, ntasks, nrun, 100.0 * nrun / ntasks, ngroups, nblocks);
	free(first_child);
	free(next_sibling);
	free(h_total);
	free(q);
	free(order);
	free(cpu_start);
	free(groups);
	free(tasks);
	free(autos);
	return 0;
}
