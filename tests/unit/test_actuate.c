/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the actuators with recording host operations: originals are recorded
 * once, before the first change; restore puts every one of them back; vanished threads
 * are dropped; a shared cgroup is never reweighted; the real weight operations on a fake
 * cgroup v2 tree (cpu.weight) and v1 tree (cpu.shares).
 */
#include <sys/stat.h>

#include "testutil.h"

struct fake {
	struct sbco_cpuset aff[8];
	int64_t slice[8], nice[8], weight;
	int64_t service[8]; /* kernel lever: ns of service lent (-) and borrowed (+) */
	int calls, loans;
};

static int f_get_aff(void *ud, int32_t tid, struct sbco_cpuset *ret)
{
	struct fake *f = ud;

	if (tid >= 8)
		return -ESRCH;
	*ret = f->aff[tid];
	return 0;
}

static int f_set_aff(void *ud, int32_t tid, const struct sbco_cpuset *c)
{
	struct fake *f = ud;

	f->calls++;
	if (tid >= 8)
		return -ESRCH;
	f->aff[tid] = *c;
	return 0;
}

static int f_set_slice(void *ud, int32_t tid, int64_t v)
{
	struct fake *f = ud;

	f->calls++;
	f->slice[tid] = v;
	return 0;
}

static int f_get_nice(void *ud, int32_t tid, int64_t *ret)
{
	*ret = ((struct fake *)ud)->nice[tid];
	return 0;
}

static int f_set_nice(void *ud, int32_t tid, int64_t v)
{
	struct fake *f = ud;

	f->calls++;
	f->nice[tid] = v;
	return 0;
}

static int f_get_w(void *ud, const char *cg, int64_t *ret)
{
	(void)cg;
	*ret = ((struct fake *)ud)->weight;
	return 0;
}

static int f_set_w(void *ud, const char *cg, int64_t v)
{
	struct fake *f = ud;

	(void)cg;
	f->calls++;
	f->weight = v;
	return 0;
}

static int f_lend(void *ud, int32_t a, int32_t b, int64_t ns)
{
	struct fake *f = ud;

	f->calls++;
	if (a >= 8 || b >= 8)
		return -ESRCH;
	f->loans++;
	f->service[a] -= ns;
	f->service[b] += ns;
	return 0;
}

/* cpu groups: group[tid] is the index of thread tid's group in groups[] ("" = removed) */
static char groups[4][64];
static int group[8];
static int moves;

static int group_index(const char *path)
{
	for (int i = 0; i < 4; i++)
		if (groups[i][0] && !strcmp(groups[i], path))
			return i;
	return -1;
}

static int f_make_group(void *ud, const char *path, const char *like)
{
	(void)ud;
	if (group_index(like) < 0)
		return -ENOENT;
	if (group_index(path) >= 0)
		return -EEXIST;
	for (int i = 0; i < 4; i++)
		if (!groups[i][0]) {
			snprintf(groups[i], sizeof(groups[i]), "%s", path);
			return 0;
		}
	return -ENOSPC;
}

static int f_remove_group(void *ud, const char *path)
{
	int g = group_index(path);

	(void)ud;
	if (g < 0)
		return -ENOENT;
	for (int t = 0; t < 8; t++)
		if (group[t] == g)
			return -EBUSY;
	groups[g][0] = '\0';
	return 0;
}

static int f_move(void *ud, int32_t tid, const char *path)
{
	int g = group_index(path);

	(void)ud;
	if (tid >= 8)
		return -ESRCH;
	if (g < 0)
		return -ENOENT;
	group[tid] = g;
	moves++;
	return 0;
}

static int f_threads(void *ud, const char *path, int32_t *tids, size_t cap, size_t *ret_n)
{
	int g = group_index(path);

	(void)ud;
	*ret_n = 0;
	if (g < 0)
		return -ENOENT;
	for (int t = 0; t < 8 && *ret_n < cap; t++)
		if (group[t] == g)
			tids[(*ret_n)++] = t;
	return 0;
}

static const struct sbco_host_ops fake_ops = {
    f_get_aff, f_set_aff,    f_set_slice,    f_get_nice, f_set_nice, f_get_w, f_set_w,
    f_lend,    f_make_group, f_remove_group, f_move,	 f_threads,  NULL};

/* A fresh group table: groups[0] = /vm (every thread), groups[1] = /vm/emu. */
static void groups_reset(void)
{
	memset(groups, 0, sizeof(groups));
	snprintf(groups[0], sizeof(groups[0]), "/vm");
	snprintf(groups[1], sizeof(groups[1]), "/vm/emu");
	memset(group, 0, sizeof(group));
	moves = 0;
}

/* Stall prevention: a group made and recorded before any thread moves; undone, every
 * thread in it (also one started there later) goes back and the group goes; restore_all
 * and a crash's state file do the same. */
static void test_isolate(void **state)
{
	char dir[] = "/tmp/sbco-iso.XXXXXX", path[256], cmd[300], *txt;
	struct fake f = {.weight = 1024};
	struct sbco_actuator *a;
	struct sbco_restore_stats st;
	int32_t tids[] = {3, 4, 9}; /* 9: gone */
	FILE *fp;
	long len;

	(void)state;
	groups_reset();
	group[3] = group[4] = 1;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.json", dir);
	assert_int_equal(sbco_actuator_new(&fake_ops, &f, &a), 0);
	assert_int_equal(sbco_actuator_set_state_file(a, path), 0);
	assert_int_equal(sbco_actuator_isolate(a, "/nope", "/sbco.nope", tids, 3), -ENOENT);
	assert_int_equal(sbco_actuator_pending(a), 0);
	assert_int_equal(sbco_actuator_isolate(a, "/vm/emu", "/sbco.vm.emu", tids, 3), 2);
	assert_true(sbco_actuator_isolated(a, "/sbco.vm.emu"));
	assert_int_equal(group[3], 2);
	assert_int_equal(group[4], 2);
	assert_int_equal(sbco_actuator_pending(a), 1);
	assert_int_equal(sbco_actuator_isolate(a, "/vm/emu", "/sbco.vm.emu", tids, 1), 1);
	assert_int_equal(sbco_actuator_pending(a), 1); /* one record per group */
	fp = fopen(path, "re");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	txt = calloc(1, (size_t)len + 1);
	assert_int_equal(fread(txt, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	assert_non_null(strstr(txt, "\"to\":\t\"/sbco.vm.emu\""));
	assert_non_null(strstr(txt, "\"cgroup\":\t\"/vm/emu\""));
	free(txt);
	group[5] = 2; /* a thread the moved ones started */
	assert_int_equal(sbco_actuator_unisolate(a, "/sbco.vm.emu"), 0);
	assert_int_equal(group[3], 1);
	assert_int_equal(group[4], 1);
	assert_int_equal(group[5], 1);
	assert_int_equal(group_index("/sbco.vm.emu"), -1);
	assert_false(sbco_actuator_isolated(a, "/sbco.vm.emu"));
	assert_int_equal(sbco_actuator_unisolate(a, "/sbco.vm.emu"), -ENOENT);
	/* restore_all */
	assert_int_equal(sbco_actuator_isolate(a, "/vm/emu", "/sbco.vm.emu", tids, 2), 2);
	sbco_actuator_restore_all(a, &st);
	assert_int_equal(st.restored, 1);
	assert_int_equal(group[3], 1);
	assert_int_equal(group_index("/sbco.vm.emu"), -1);
	/* a crash: the state file brings them back */
	assert_int_equal(sbco_actuator_set_state_file(a, path), 0);
	assert_int_equal(sbco_actuator_isolate(a, "/vm/emu", "/sbco.vm.emu", tids, 2), 2);
	sbco_actuator_free(a);
	assert_int_equal(group[4], 2);
	assert_int_equal(sbco_state_restore(path, &fake_ops, &f, NULL, NULL, &st), 0);
	assert_int_equal(st.restored, 1);
	assert_int_equal(group[3], 1);
	assert_int_equal(group[4], 1);
	assert_int_equal(group_index("/sbco.vm.emu"), -1);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* Kernel-lever loans are netted per pair and paid back by restore. */
static void test_kernel_loans(void **state)
{
	struct fake f = {.weight = 1024};
	struct sbco_actuator *a;
	struct sbco_restore_stats st;
	struct sbco_action l1 = {.tid = 1, .lever = SBCO_LEVER_KERNEL, .value = 5000000, .peer = 2};
	struct sbco_action l2 = {.tid = 2, .lever = SBCO_LEVER_KERNEL, .value = 2000000, .peer = 1};
	struct sbco_action l3 = {.tid = 3, .lever = SBCO_LEVER_KERNEL, .value = 1000000, .peer = 4};
	struct sbco_action bad = {.tid = 3, .lever = SBCO_LEVER_KERNEL, .value = 0, .peer = 4};

	(void)state;
	assert_int_equal(sbco_actuator_new(&fake_ops, &f, &a), 0);
	assert_int_equal(sbco_actuator_apply(a, &l1, NULL, 0), 0);
	assert_int_equal(sbco_actuator_apply(a, &l2, NULL, 0), 0); /* partly paid back */
	assert_int_equal(sbco_actuator_apply(a, &l3, NULL, 0), 0);
	assert_int_equal(sbco_actuator_apply(a, &bad, NULL, 0), -EINVAL);
	assert_int_equal(f.service[1], -3000000);
	assert_int_equal(f.service[2], 3000000);
	sbco_actuator_restore_all(a, &st);
	assert_int_equal(st.restored, 2); /* one repayment per pair */
	for (int i = 0; i < 8; i++)
		assert_int_equal(f.service[i], 0);
	assert_int_equal(f.loans, 5);
	sbco_actuator_restore_all(a, &st); /* nothing left to pay */
	assert_int_equal(st.restored, 0);
	sbco_actuator_free(a);
}

static void test_record_and_restore(void **state)
{
	struct fake f = {.weight = 1024};
	struct sbco_actuator *a;
	struct sbco_cpuset all, one, two;
	struct sbco_restore_stats st;
	struct sbco_action slice = {.tid = 1, .lever = SBCO_LEVER_SLICE, .value = 100000};
	struct sbco_action nice = {.tid = 2, .lever = SBCO_LEVER_NICE, .value = -2};
	struct sbco_action w = {.tid = 3, .lever = SBCO_LEVER_WEIGHT, .value = 1536};

	(void)state;
	assert_int_equal(sbco_cpuset_parse("0-7", &all), 0);
	assert_int_equal(sbco_cpuset_parse("0-3", &one), 0);
	assert_int_equal(sbco_cpuset_parse("4-7", &two), 0);
	for (int i = 0; i < 8; i++)
		f.aff[i] = all;
	f.nice[2] = 5;
	assert_int_equal(sbco_actuator_new(&fake_ops, &f, &a), 0);
	assert_int_equal(sbco_actuator_set_affinity(a, 1, &one), 0);
	assert_int_equal(sbco_actuator_set_affinity(a, 1, &two), 0); /* original stays "0-7" */
	assert_int_equal(sbco_actuator_apply(a, &slice, NULL, 300000), 0);
	assert_int_equal(sbco_actuator_apply(a, &nice, NULL, 0), 0);
	assert_int_equal(sbco_actuator_apply(a, &w, "/machine/vm1/vcpu0", 0), 0);
	assert_int_equal(sbco_actuator_apply(a, &w, "/", 0), -EINVAL);
	assert_int_equal(sbco_actuator_set_affinity(a, 9, &one), -ESRCH);
	assert_true(sbco_cpuset_equal(&f.aff[1], &two));
	assert_int_equal(f.slice[1], 100000);
	assert_int_equal(f.nice[2], -2);
	assert_int_equal(f.weight, 1536);
	assert_int_equal(sbco_actuator_pending(a), 4);
	sbco_actuator_restore_all(a, &st);
	assert_int_equal(st.restored, 4);
	assert_int_equal(st.failed, 0);
	assert_true(sbco_cpuset_equal(&f.aff[1], &all));
	assert_int_equal(f.slice[1], 300000); /* the custom slice it had before */
	assert_int_equal(f.nice[2], 5);
	assert_int_equal(f.weight, 1024);
	assert_int_equal(sbco_actuator_pending(a), 0);
	sbco_actuator_free(a);
}

static void test_fake_cgroup_trees(void **state)
{
	char root[] = "/tmp/sbco-cg.XXXXXX", cmd[4300], path[4200];
	int64_t v;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s/sys/fs/cgroup/machine.slice/vm1/vcpu0 %s/sys/fs/cgroup/cpu/vm2/vcpu0"
		 " && echo 100 > %s/sys/fs/cgroup/machine.slice/vm1/vcpu0/cpu.weight"
		 " && echo 1024 > %s/sys/fs/cgroup/cpu/vm2/vcpu0/cpu.shares",
		 root, root, root, root);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(sbco_host_ops_real.get_weight(root, "/machine.slice/vm1/vcpu0", &v), 0);
	assert_int_equal(v, 100); /* v2 */
	assert_int_equal(sbco_host_ops_real.set_weight(root, "/machine.slice/vm1/vcpu0", 150), 0);
	assert_int_equal(sbco_host_ops_real.get_weight(root, "/vm2/vcpu0", &v), 0);
	assert_int_equal(v, 1024); /* v1 */
	assert_int_equal(sbco_host_ops_real.set_weight(root, "/vm2/vcpu0", 1536), 0);
	snprintf(path, sizeof(path), "%s/sys/fs/cgroup/machine.slice/vm1/vcpu0/cpu.weight", root);
	f = fopen(path, "re");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld", &v), 1);
	fclose(f);
	assert_int_equal(v, 150);
	assert_int_equal(sbco_host_ops_real.get_weight(root, "/nope", &v), -ENOENT);
	/* hostile paths are refused, never followed */
	assert_int_equal(sbco_host_ops_real.set_weight(root, "/vm2/../../../etc", 100), -EINVAL);
	assert_int_equal(sbco_host_ops_real.get_weight(root, "/vm2/..", &v), -EINVAL);
	assert_int_equal(sbco_host_ops_real.set_weight(root, "vm2/vcpu0", 100), -EINVAL);
	assert_int_equal(sbco_host_ops_real.set_weight(root, "/vm2/vcpu0\n", 100), -EINVAL);
	assert_int_equal(sbco_host_ops_real.get_weight(root, "/vm2/./vcpu0", &v), -EINVAL);
	assert_int_equal(sbco_host_ops_real.get_weight(root, "/vm2/..x/vcpu0", &v), -ENOENT);
	/* the kernel patch's /proc/sbco/lend, absent and then a (fake) file */
	assert_int_equal(sbco_host_ops_real.lend(root, 10, 11, 3000000), -ENOENT);
	{
		char ver[64], line[64] = "";

		assert_int_equal(sbco_kpatch_detect(root, ver, sizeof(ver)), -ENOENT);
		snprintf(
		    cmd, sizeof(cmd),
		    "mkdir -p %s/proc/sbco && echo 'sbco 1 ordinate lend' > %s/proc/sbco/version"
		    " && : > %s/proc/sbco/lend",
		    root, root, root);
		assert_int_equal(system(cmd), 0);
		assert_int_equal(sbco_kpatch_detect(root, ver, sizeof(ver)), 0);
		assert_string_equal(ver, "sbco 1 ordinate lend");
		assert_int_equal(sbco_host_ops_real.lend(root, 10, 11, 3000000), 0);
		snprintf(path, sizeof(path), "%s/proc/sbco/lend", root);
		f = fopen(path, "re");
		assert_non_null(f);
		assert_non_null(fgets(line, sizeof(line), f));
		fclose(f);
		assert_string_equal(line, "10 11 3000000\n");
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
}

/* Crash safety: originals are on disk before each change; after a "crash" (the actuator
 * dropped without restore) sbco_state_restore puts them back from the file. */
static void test_state_file(void **state)
{
	char dir[] = "/tmp/sbco-state.XXXXXX", path[256], cmd[300];
	struct fake f = {.weight = 1024};
	struct sbco_actuator *a;
	struct sbco_cpuset all, one;
	struct sbco_restore_stats st;
	struct sbco_action nice = {.tid = 1, .lever = SBCO_LEVER_NICE, .value = -3};
	struct sbco_action w = {.tid = 1, .lever = SBCO_LEVER_WEIGHT, .value = 2048};
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.json", dir);
	assert_int_equal(sbco_cpuset_parse("0-7", &all), 0);
	assert_int_equal(sbco_cpuset_parse("2", &one), 0);
	f.aff[1] = all;
	assert_int_equal(sbco_actuator_new(&fake_ops, &f, &a), 0);
	assert_int_equal(sbco_actuator_set_state_file(a, path), 0);
	assert_int_equal(sbco_actuator_set_affinity(a, 1, &one), 0);
	assert_int_equal(sbco_actuator_apply(a, &nice, NULL, 0), 0);
	assert_int_equal(sbco_actuator_apply(a, &w, "/vm/vcpu0", 0), 0);
	assert_int_equal(access(path, R_OK), 0);
	sbco_actuator_free(a); /* crash: nothing restored */
	assert_int_equal(f.nice[1], -3);
	assert_int_equal(sbco_state_restore(path, &fake_ops, &f, NULL, NULL, &st), 0);
	assert_int_equal(st.restored, 3);
	assert_true(sbco_cpuset_equal(&f.aff[1], &all));
	assert_int_equal(f.nice[1], 0);
	assert_int_equal(f.weight, 1024);
	assert_int_not_equal(access(path, F_OK), 0); /* consumed */
	assert_int_equal(sbco_state_restore(path, &fake_ops, &f, NULL, NULL, &st), 0);
	assert_int_equal(st.restored, 0); /* no file: nothing to do */
	fp = fopen(path, "we");
	assert_non_null(fp);
	fputs("{\"records\": 5}", fp);
	fclose(fp);
	assert_int_equal(sbco_state_restore(path, &fake_ops, &f, NULL, NULL, &st), -EBADMSG);
	assert_int_equal(access(path, F_OK), 0); /* kept for inspection */
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static const char engine_dump[] =
    "cpu#0\nrunnable tasks:\n"
    " S            task   PID       vruntime   eligible    deadline             slice"
    "          sum-exec      switches  prio\n----\n"
    ">R       CPU 0/KVM     1     1.000000   E     2.000000   1.000000   1.000000   1   120"
    "   0.000000   0.000000   0.000000\n"
    "cpu#1\nrunnable tasks:\n"
    " S            task   PID       vruntime   eligible    deadline             slice"
    "          sum-exec      switches  prio\n----\n"
    ">R             hog    20     1.000000   E     2.000000   1.000000   1.000000   1   120"
    "   0.000000   0.000000   0.000000\n"
    " R             hog    21     1.100000   E     2.100000   1.000000   1.000000   1   120"
    "   0.000000   0.000000   0.000000\n"
    " R             hog    22     1.200000   E     2.200000   1.000000   1.000000   1   120"
    "   0.000000   0.000000   0.000000\n"
    " R       CPU 1/KVM     2     9.000000   N    10.000000   1.000000   1.000000   1   120"
    "   0.000000   0.000000   0.000000\n";

/* The engine end to end on a constructed dump and a fake /proc: a VM whose second vCPU is
 * last of four on its queue gets its slices nudged (sbco mode only), stripes are applied,
 * and restore undoes all of it; a malformed dump is refused and changes nothing. */
/* The Prometheus exposition of the engine after test_engine's cycle, and the textfile. */
static void check_metrics(const struct sbco_engine *e, const char *root)
{
	struct sbco_metrics_extra x = {.version = "1.2", .libvirt = -1, .cycle_ns = 1500000};
	char *text = NULL, path[4200];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct stat sb;
	static const char *const want[] = {
	    "sbco_build_info{version=\"1.2\"} 1\n",
	    "# TYPE sbco_cycles_total counter\nsbco_cycles_total 1\n",
	    "sbco_cycle_seconds 0.0015\n",
	    "sbco_vms{mode=\"sbco\"} 1\n",
	    "sbco_vm_info{vm=\"vm \\\"1\\\"\\\\\",uuid=\"\",mode=\"sbco\",source=\"rule\"} 1\n",
	    "sbco_vm_exceeded_samples_total{vm=\"vm \\\"1\\\"\\\\\",uuid=\"\"} 1\n",
	    "sbco_vm_nudges_total{vm=\"vm \\\"1\\\"\\\\\",uuid=\"\"} 2\n",
	    "sbco_vm_nudges_in_force{vm=\"vm \\\"1\\\"\\\\\",uuid=\"\"} 2\n",
	    /* schedstat: 1.5 s + 2.5 s waiting, 1 s + 2 s running */
	    "sbco_vm_run_delay_seconds_total{vm=\"vm \\\"1\\\"\\\\\",uuid=\"\"} 4\n",
	    "sbco_vm_cpu_seconds_total{vm=\"vm \\\"1\\\"\\\\\",uuid=\"\"} 3\n",
	    /* the kernel's pick-time counts of VM 500, from the fake /proc/sbco/vm below */
	    "sbco_vm_kernel_picks_total{vm=\"vm \\\"1\\\"\\\\\",uuid=\"\"} 50\n",
	    "sbco_vm_kernel_exceeded_picks_total{vm=\"vm \\\"1\\\"\\\\\",uuid=\"\"} 20\n",
	    "sbco_vm_kernel_loans_total{vm=\"vm \\\"1\\\"\\\\\",uuid=\"\"} 7\n",
	    "sbco_vm_kernel_any_picks_total{vm=\"vm \\\"1\\\"\\\\\",uuid=\"\"} 80\n",
	    "sbco_vm_kernel_any_exceeded_picks_total{vm=\"vm \\\"1\\\"\\\\\",uuid=\"\"} 31\n",
	};
	char cmd[4300];

	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s/proc/sbco && printf 'vm 50 lend 666 tids 3,4 samples 9 exceeded 9 "
		 "loans 9 busy 0 stacked 0\\nvm 500 lend 666 tids 1,2 samples 50 exceeded 20 "
		 "loans 7 busy 0 stacked 30 any 80 any_exceeded 31\\n' > %s/proc/sbco/vm",
		 root, root);
	assert_int_equal(system(cmd), 0);
	assert_non_null(f);
	assert_int_equal(sbco_metrics_write(f, e, root, &x), 0);
	fclose(f);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(text, want[i]))
			fail_msg("metrics lack '%s':\n%s", want[i], text);
	assert_null(strstr(text, "sbco_libvirt_up")); /* not configured */
	/* the textfile: written whole, 0644, no temp file left, errors returned */
	assert_int_equal(sbco_metrics_textfile(root, text, len), 0);
	snprintf(path, sizeof(path), "%s/sbco.prom", root);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644);
	assert_int_equal((size_t)sb.st_size, len);
	snprintf(path, sizeof(path), "%s/.sbco.prom.%d", root, (int)getpid());
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/missing", root);
	assert_int_equal(sbco_metrics_textfile(path, text, len), -ENOENT);
	free(text);
}

/* An engine over the fake host f and a fake /proc in a temp dir: vm (two vCPU threads
 * whose tids are below 8, schedstat "T000000000 T500000000 7" each) on two CPUs, set with
 * pol; eng_done() frees it and removes the dir. */
struct eng {
	char root[32];
	struct sbco_patterns pat;
	struct sbco_topology topo;
	struct sbco_vm_list l;
	struct sbco_engine *e;
};

static const char *eng_kpatch; /* eng_setup: /proc/sbco/version of the fake root, if any */

static void eng_setup(struct eng *x, struct fake *f, const struct sbco_vm *vm,
		      const struct sbco_vm_policy *pol)
{
	char cmd[512];

	memset(x, 0, sizeof(*x));
	snprintf(x->root, sizeof(x->root), "/tmp/sbco-eng.XXXXXX");
	assert_non_null(mkdtemp(x->root));
	if (eng_kpatch) {
		snprintf(cmd, sizeof(cmd),
			 "mkdir -p %s/proc/sbco && echo '%s' > %s/proc/sbco/version", x->root,
			 eng_kpatch, x->root);
		assert_int_equal(system(cmd), 0);
	}
	for (size_t k = 0; k < vm->nr_vcpus; k++) {
		int t = vm->vcpus[k].tid;

		snprintf(cmd, sizeof(cmd),
			 "mkdir -p %s/proc/%d && printf 'Tgid:\t%d\n' > %s/proc/%d/status && "
			 "echo '%d000000000 %d500000000 7' > %s/proc/%d/schedstat",
			 x->root, t, vm->pid, x->root, t, t, t, x->root, t);
		assert_int_equal(system(cmd), 0);
		for (unsigned c = 0; c < 2; c++)
			sbco_cpuset_add(&f->aff[t], c);
	}
	for (unsigned c = 0; c < 2; c++) {
		sbco_cpuset_add(&x->topo.online, c);
		x->topo.order[x->topo.nr_order++] = (int32_t)c;
	}
	x->topo.nr_cpus = 2;
	assert_int_equal(sbco_vm_list_add(&x->l, vm), 0);
	assert_int_equal(sbco_patterns_default(&x->pat), 0);
	assert_int_equal(sbco_engine_new(&fake_ops, f, x->root, &x->pat, NULL, NULL, &x->e), 0);
	assert_int_equal(sbco_engine_set_vms(x->e, &x->l, pol, &x->topo), 0);
}

static void eng_done(struct eng *x)
{
	char cmd[64];

	sbco_engine_free(x->e);
	sbco_patterns_clear(&x->pat);
	sbco_vm_clear(&x->l.vms[0]);
	free(x->l.vms);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", x->root);
	assert_int_equal(system(cmd), 0);
}

static void test_engine(void **state)
{
	char err[128];
	struct fake f = {.weight = 1024};
	struct eng x;
	struct sbco_engine *e;
	struct sbco_engine_stats st;
	struct sbco_restore_stats rs;
	struct sbco_vcpu v[2] = {{.index = 0, .tid = 1}, {.index = 1, .tid = 2}};
	struct sbco_vm vm = {.name = (char *)"vm \"1\"\\", .pid = 500, .vcpus = v, .nr_vcpus = 2};
	struct sbco_vm_policy pol = {SBCO_MODE_SBCO, 2.0 / 3, false, SBCO_SOURCE_RULE, 0};

	(void)state;
	eng_setup(&x, &f, &vm, &pol);
	e = x.e;
	assert_int_equal(sbco_cpuset_count(&f.aff[1]), 1); /* stripes: one CPU each */
	assert_false(sbco_cpuset_equal(&f.aff[1], &f.aff[2]));
	assert_int_equal(
	    sbco_engine_cycle(e, "cpu#0\nrunnable tasks:\nnonsense\n", 31, 0, err, sizeof(err)),
	    -EBADMSG);
	assert_non_null(strstr(err, "line 3"));
	assert_int_equal(
	    sbco_engine_cycle(e, engine_dump, sizeof(engine_dump) - 1, 1000000, err, sizeof(err)),
	    2);
	assert_int_equal(f.slice[2], 100000);  /* laggard boosted */
	assert_int_equal(f.slice[1], 3000000); /* leader held back */
	sbco_engine_get_stats(e, &st);
	assert_int_equal(st.vm_samples, 1);
	assert_int_equal(st.exceeded, 1);
	assert_int_equal(st.actions, 2);
	check_metrics(e, x.root);
	assert_string_equal(sbco_engine_kernel_pick(e), "none"); /* no patch in the fake root */
	sbco_engine_restore(e, &rs);
	assert_int_equal(rs.restored, 4); /* 2 affinities, 2 slices */
	assert_int_equal(f.slice[1], 0);
	assert_int_equal(f.slice[2], 0);
	assert_int_equal(sbco_cpuset_count(&f.aff[1]), 2);
	{ /* set_vms again: placed once, not re-applied; mode off: originals back at once */
		struct sbco_vm_policy off = pol;
		uint64_t placed;

		off.mode = SBCO_MODE_OFF;
		assert_int_equal(sbco_engine_set_vms(e, &x.l, &pol, &x.topo), 0);
		assert_int_equal(sbco_cpuset_count(&f.aff[1]), 1);
		sbco_engine_get_stats(e, &st);
		placed = st.placements;
		assert_int_equal(sbco_engine_set_vms(e, &x.l, &pol, &x.topo), 0);
		sbco_engine_get_stats(e, &st);
		assert_int_equal(st.placements, placed);
		assert_int_equal(sbco_engine_set_vms(e, &x.l, &off, &x.topo), 0);
		assert_int_equal(sbco_cpuset_count(&f.aff[1]), 2);
		assert_int_equal(sbco_cpuset_count(&f.aff[2]), 2);
		sbco_engine_restore(e, &rs);
		assert_int_equal(rs.restored, 0); /* nothing left to put back */
	}
	eng_done(&x);
}

static void count_kpick_off(void *ud, const struct sbco_event *ev)
{
	int *n = ud;

	if (ev->kind == SBCO_EVENT_KPICK_OFF) {
		assert_int_equal(ev->err, -EOPNOTSUPP);
		assert_null(ev->vm);
		(*n)++;
	}
}

/* A patch that says "pick" but whose /proc/sbco/vm refuses sbcod (here: no kernel_vm op):
 * said once, through the observer, and the cycles go on without it. */
static void test_engine_kpick_refused(void **state)
{
	char err[128];
	struct fake f = {.weight = 1024};
	struct eng x;
	struct sbco_vcpu v[2] = {{.index = 0, .tid = 1}, {.index = 1, .tid = 2}};
	struct sbco_vm vm = {.name = (char *)"vm", .pid = 500, .vcpus = v, .nr_vcpus = 2};
	struct sbco_vm_policy pol = {SBCO_MODE_SBCO, 2.0 / 3, false, SBCO_SOURCE_RULE, 0};
	int said = 0;

	(void)state;
	eng_kpatch = "sbco 1 ordinate lend pick";
	eng_setup(&x, &f, &vm, &pol);
	eng_kpatch = NULL;
	sbco_engine_set_observer(x.e, count_kpick_off, &said);
	for (int i = 0; i < 3; i++)
		assert_true(sbco_engine_cycle(x.e, engine_dump, sizeof(engine_dump) - 1,
					      1000000 * (uint64_t)(i + 1), err, sizeof(err)) >= 0);
	assert_int_equal(said, 1);
	assert_string_equal(sbco_engine_kernel_pick(x.e), "refused");
	eng_done(&x);
}

/* A dump of tid 3 running on CPU 0 (sum-exec e3 ms) and tid 4 runnable on CPU 1 (e4 ms). */
/* vCPU 3 running alone on CPU 0 (sum-exec e3 ms); vCPU 4 on CPU 1 (sum-exec e4 ms), alone
 * or, with hogs, last behind three hogs (far enough behind for sbco to lend). */
static int vcpu_cycle(struct sbco_engine *e, uint64_t now, double e3, double e4, bool hogs)
{
	static const char head[] =
	    "runnable tasks:\n S            task   PID       vruntime   eligible    deadline"
	    "             slice          sum-exec      switches  prio\n----\n";
	static const char hog3[] =
	    ">R             hog    20     1.000000   E     2.000000   1.000000   1.000000   1   120"
	    "   0.000000   0.000000   0.000000\n"
	    " R             hog    21     1.100000   E     2.100000   1.000000   1.000000   1   120"
	    "   0.000000   0.000000   0.000000\n"
	    " R             hog    22     1.200000   E     2.200000   1.000000   1.000000   1   120"
	    "   0.000000   0.000000   0.000000\n";
	char text[4096], err[128];
	int n = snprintf(
	    text, sizeof(text),
	    "cpu#0\n%s>R       CPU 0/KVM     3     1.000000   E     2.000000   1.000000 %12.6f   1"
	    "   120   0.000000   0.000000   0.000000\n"
	    "cpu#1\n%s%s R       CPU 1/KVM     4     %s %12.6f   1   120   0.000000   0.000000"
	    "   0.000000\n",
	    head, e3, head, hogs ? hog3 : "",
	    hogs ? "9.000000   N    10.000000   1.000000" : "1.000000   E     2.000000   1.000000",
	    e4);

	return sbco_engine_cycle(e, text, (size_t)n, now, err, sizeof(err));
}

/* The engine's Prometheus text (caller frees). */
static char *metrics_text(const struct sbco_engine *e, const char *root)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mf = open_memstream(&text, &len);

	assert_non_null(mf);
	assert_int_equal(
	    sbco_metrics_write(mf, e, root,
			       &(struct sbco_metrics_extra){.version = "x", .libvirt = -1}),
	    0);
	fclose(mf);
	return text;
}

static int stall_cycle(struct sbco_engine *e, uint64_t now, double e3, double e4)
{
	return vcpu_cycle(e, now, e3, e4, false);
}

/* Guest stalls through the engine: a bal VM whose vCPU 1 starves for 1 s gets its
 * anti-stacking lifted (original CPUs back, counted, in the metrics), placed again after
 * the hold; in mode off it is only counted. */
static void test_engine_stall(void **state)
{
	struct fake f = {.weight = 1024};
	struct eng x;
	struct sbco_engine *e;
	struct sbco_engine_stats st;
	struct sbco_vm_counts cnt;
	struct sbco_vcpu v[2] = {{.index = 0, .tid = 3}, {.index = 1, .tid = 4}};
	struct sbco_vm vm = {.name = (char *)"g", .pid = 600, .vcpus = v, .nr_vcpus = 2};
	struct sbco_vm_policy pol = {SBCO_MODE_BAL, 2.0 / 3, false, SBCO_SOURCE_DEFAULT, -1};
	uint64_t t = 7000 * 1000000ull, ms = 1000000ull;
	char *text;
	int i;

	(void)state;
	eng_setup(&x, &f, &vm, &pol);
	e = x.e;
	{ /* lift at once (test_engine_stall_rotate has the rotations) */
		struct sbco_stall_cfg c;

		sbco_stall_cfg_default(&c);
		c.rotations = 0;
		sbco_engine_set_stall(e, &c, true);
	}
	assert_int_equal(sbco_cpuset_count(&f.aff[4]), 1);
	for (i = 0; i < 4; i++) /* 0 .. 750 ms starving */
		assert_true(stall_cycle(e, t + (uint64_t)i * 250 * ms, 250.0 * i, 9) >= 0);
	assert_int_equal(sbco_cpuset_count(&f.aff[4]), 1);
	assert_true(stall_cycle(e, t + 1000 * ms, 1000, 9) >= 0);
	assert_int_equal(sbco_cpuset_count(&f.aff[3]), 2); /* lifted: originals back */
	assert_int_equal(sbco_cpuset_count(&f.aff[4]), 2);
	assert_int_equal(sbco_engine_vm_counts(e, 600, &cnt), 0);
	assert_int_equal(cnt.stalls, 1);
	assert_int_equal(cnt.lifts, 1);
	assert_true(cnt.stalled && cnt.lifted);
	assert_int_equal(cnt.stall_index, 1);
	assert_int_equal(cnt.stall_tid, 4);
	sbco_engine_get_stats(e, &st);
	assert_int_equal(st.stalls, 1);
	assert_int_equal(st.stalled_vms, 1);
	assert_int_equal(st.lifted_vms, 1);
	/* a VM set change while lifted keeps it lifted */
	assert_int_equal(sbco_engine_set_vms(e, &x.l, &pol, &x.topo), 0);
	assert_int_equal(sbco_cpuset_count(&f.aff[4]), 2);
	text = metrics_text(e, x.root);
	assert_non_null(strstr(text, "sbco_vm_stalls_total{vm=\"g\",uuid=\"\"} 1\n"));
	assert_non_null(strstr(text, "sbco_vm_antistacking_lifted{vm=\"g\",uuid=\"\"} 1\n"));
	assert_non_null(strstr(text, "sbco_stalls_total 1\n"));
	free(text);
	{ /* a reload (sbcod rebuilds the engine): the new engine takes the stall state, so
	   * the VM stays lifted, its hold ends when it would have, its counts go on */
		struct sbco_engine *n = NULL;
		struct sbco_stall_cfg c;

		sbco_engine_restore(e, NULL);
		assert_int_equal(sbco_engine_new(&fake_ops, &f, x.root, &x.pat, NULL, NULL, &n), 0);
		sbco_stall_cfg_default(&c);
		c.rotations = 0;
		sbco_engine_set_stall(n, &c, true);
		assert_int_equal(sbco_engine_take_stalls(n, e), 0);
		assert_int_equal(sbco_engine_set_vms(n, &x.l, &pol, &x.topo), 0);
		assert_int_equal(sbco_cpuset_count(&f.aff[3]), 2);
		assert_int_equal(sbco_cpuset_count(&f.aff[4]), 2);
		assert_int_equal(sbco_engine_vm_counts(n, 600, &cnt), 0);
		assert_int_equal(cnt.stalls, 1);
		assert_int_equal(cnt.lifts, 1);
		assert_true(cnt.lifted);
		sbco_engine_free(e);
		x.e = e = n;
	}
	/* recovered, then the hold (10 s) ends: anti-stacking again */
	assert_true(stall_cycle(e, t + 1250 * ms, 1250, 200) >= 0);
	assert_true(stall_cycle(e, t + 10999 * ms, 3000, 2000) >= 0);
	assert_int_equal(sbco_cpuset_count(&f.aff[4]), 2);
	assert_true(stall_cycle(e, t + 11000 * ms, 3001, 2001) >= 0);
	assert_int_equal(sbco_cpuset_count(&f.aff[3]), 1);
	assert_int_equal(sbco_cpuset_count(&f.aff[4]), 1);
	/* mode off: a stall is counted, nothing is changed */
	pol.mode = SBCO_MODE_OFF;
	assert_int_equal(sbco_engine_set_vms(e, &x.l, &pol, &x.topo), 0);
	for (i = 0; i < 6; i++)
		assert_true(stall_cycle(e, t + (12000 + (uint64_t)i * 250) * ms, 4000.0 + 250 * i,
					2001) >= 0);
	assert_int_equal(sbco_engine_vm_counts(e, 600, &cnt), 0);
	assert_int_equal(cnt.stalls, 2);
	assert_int_equal(cnt.lifts, 1);
	assert_false(cnt.lifted);
	eng_done(&x);
}

/* The default answer: the stalled VM's vCPUs trade stripes (still one CPU each, apart),
 * and the rotation stays in force across a VM set change. */
static void test_engine_stall_rotate(void **state)
{
	struct fake f = {.weight = 1024};
	struct eng x;
	struct sbco_engine *e;
	struct sbco_vm_counts cnt;
	struct sbco_cpuset a3, a4;
	struct sbco_vcpu v[2] = {{.index = 0, .tid = 3}, {.index = 1, .tid = 4}};
	struct sbco_vm vm = {.name = (char *)"g", .pid = 600, .vcpus = v, .nr_vcpus = 2};
	struct sbco_vm_policy pol = {SBCO_MODE_BAL, 2.0 / 3, false, SBCO_SOURCE_DEFAULT, -1};
	uint64_t t = 7000 * 1000000ull, ms = 1000000ull;
	char *text;
	int i;

	(void)state;
	eng_setup(&x, &f, &vm, &pol);
	e = x.e;
	a3 = f.aff[3];
	a4 = f.aff[4];
	assert_int_equal(sbco_cpuset_count(&a3), 1);
	assert_false(sbco_cpuset_equal(&a3, &a4));
	for (i = 0; i <= 4; i++) /* 0 .. 1000 ms starving */
		assert_true(stall_cycle(e, t + (uint64_t)i * 250 * ms, 250.0 * i, 9) >= 0);
	assert_true(sbco_cpuset_equal(&f.aff[3], &a4)); /* traded */
	assert_true(sbco_cpuset_equal(&f.aff[4], &a3));
	assert_int_equal(sbco_engine_vm_counts(e, 600, &cnt), 0);
	assert_int_equal(cnt.stalls, 1);
	assert_int_equal(cnt.rotations, 1);
	assert_int_equal(cnt.lifts, 0);
	assert_false(cnt.lifted);
	/* a VM set change keeps the rotation */
	assert_int_equal(sbco_engine_set_vms(e, &x.l, &pol, &x.topo), 0);
	assert_true(sbco_cpuset_equal(&f.aff[3], &a4));
	/* still stalled a detection time later: traded back */
	assert_true(stall_cycle(e, t + 2000 * ms, 2000, 9.5) >= 0);
	assert_true(sbco_cpuset_equal(&f.aff[3], &a3));
	assert_true(sbco_cpuset_equal(&f.aff[4], &a4));
	text = metrics_text(e, x.root);
	assert_non_null(strstr(text, "sbco_vm_stall_rotations_total{vm=\"g\",uuid=\"\"} 2\n"));
	assert_non_null(strstr(text, "sbco_vm_antistacking_lifted{vm=\"g\",uuid=\"\"} 0\n"));
	free(text);
	eng_done(&x);
}

static int queue_cycle(struct sbco_engine *e, uint64_t now, double e3, double e4)
{
	return vcpu_cycle(e, now, e3, e4, true);
}

/* Mode sbco lends to a VM far apart; once that VM is stalled and the response is on, it
 * lends nothing and its loans are repaid (slices back to the originals). */
static void test_engine_stall_no_lending(void **state)
{
	struct fake f = {.weight = 1024};
	struct eng x;
	struct sbco_engine *e;
	struct sbco_vcpu v[2] = {{.index = 0, .tid = 3}, {.index = 1, .tid = 4}};
	struct sbco_vm vm = {.name = (char *)"g", .pid = 600, .vcpus = v, .nr_vcpus = 2};
	struct sbco_vm_policy pol = {SBCO_MODE_SBCO, 2.0 / 3, false, SBCO_SOURCE_DEFAULT, -1};
	uint64_t t = 7000 * 1000000ull, ms = 1000000ull;
	int i;

	(void)state;
	eng_setup(&x, &f, &vm, &pol);
	e = x.e;
	sbco_engine_set_stall(e, NULL, false); /* detect only: lending goes on */
	for (i = 0; i <= 8; i++)	       /* 0 .. 2 s, vCPU 4 starving */
		assert_true(queue_cycle(e, t + (uint64_t)i * 250 * ms, 250.0 * i, 9) >= 0);
	assert_int_equal(f.slice[4], 100000); /* the laggard boosted */
	sbco_engine_set_stall(e, NULL, true);
	for (; i <= 16; i++)
		assert_true(queue_cycle(e, t + (uint64_t)i * 250 * ms, 250.0 * i, 9) >= 0);
	assert_int_equal(f.slice[3], 0); /* repaid */
	assert_int_equal(f.slice[4], 0);
	eng_done(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_record_and_restore),
	    cmocka_unit_test(test_kernel_loans),
	    cmocka_unit_test(test_fake_cgroup_trees),
	    cmocka_unit_test(test_engine),
	    cmocka_unit_test(test_engine_kpick_refused),
	    cmocka_unit_test(test_state_file),
	    cmocka_unit_test(test_engine_stall),
	    cmocka_unit_test(test_engine_stall_rotate),
	    cmocka_unit_test(test_engine_stall_no_lending),
	    cmocka_unit_test(test_isolate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
