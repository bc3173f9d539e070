/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of vCPU recognition, VM grouping (libvirt cgroups, shared groups, by process)
 * and per-VM distance: stacking, leader/laggard, the alpha * Q_size threshold.
 */
#include "testutil.h"

static void test_patterns(void **state)
{
	static const struct {
		const char *comm;
		bool match;
		int index;
	} cases[] = {
	    {"CPU 0/KVM", true, 0},    {"CPU 12/TCG", true, 12}, {"qemu-kvm", true, -1},
	    {"fc_vcpu 3", true, 3},    {"vcpu7", true, 7},	 {"CPU 0/KVMx", false, 0},
	    {"kworker/0:1", false, 0}, {"CPU /KVM", false, 0},	 {"", false, 0},
	};
	struct sbco_patterns p = {0};
	int idx;

	(void)state;
	assert_int_equal(sbco_patterns_default(&p), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		idx = -99;
		if (sbco_patterns_match(&p, cases[i].comm, &idx) != cases[i].match)
			fail_msg("'%s': expected match=%d", cases[i].comm, cases[i].match);
		if (cases[i].match)
			assert_int_equal(idx, cases[i].index);
	}
	sbco_patterns_clear(&p);
	assert_false(sbco_patterns_match(&p, "CPU 0/KVM", &idx));
	assert_int_equal(sbco_patterns_add(&p, "myvmm-vcpu-*"), 0);
	assert_true(sbco_patterns_match(&p, "myvmm-vcpu-5", &idx));
	assert_int_equal(idx, 5);
	assert_int_equal(sbco_patterns_add(&p, ""), -EINVAL);
	for (int i = 1; i < SBCO_PATTERNS_MAX; i++)
		assert_int_equal(sbco_patterns_add(&p, "x*"), 0);
	assert_int_equal(sbco_patterns_add(&p, "y*"), -E2BIG);
	sbco_patterns_clear(&p);
}

static struct sbco_vm_set *analyze(const char *file, sbco_tgid_fn fn, void *data, double alpha,
				   struct sbco_snapshot **ret_s, struct sbco_ordinates **ret_o)
{
	struct sbco_patterns p = {0};
	struct sbco_vm_set *set = NULL;

	*ret_s = parse_fixture(file);
	assert_int_equal(sbco_ordinates_compute(*ret_s, ret_o), 0);
	assert_int_equal(sbco_patterns_default(&p), 0);
	assert_int_equal(sbco_vms_analyze(*ret_s, *ret_o, &p, fn, data, alpha, &set), 0);
	sbco_patterns_clear(&p);
	return set;
}

static const struct sbco_vm_stat *vm_named(const struct sbco_vm_set *set, const char *name)
{
	for (size_t i = 0; i < set->nr_vms; i++)
		if (strcmp(set->vms[i].name, name) == 0)
			return &set->vms[i];
	fail_msg("no VM '%s'", name);
	return NULL;
}

static void test_libvirt_grouping(void **state)
{
	struct sbco_snapshot *s;
	struct sbco_ordinates *o;
	struct sbco_vm_set *set =
	    analyze("sched-debug-6.18-two-vms.txt", NULL, NULL, 2.0 / 3, &s, &o);
	const struct sbco_vm_stat *tb1, *tb2;

	(void)state;
	assert_int_equal(set->nr_vms, 2);
	tb1 = vm_named(set, "tb1");
	tb2 = vm_named(set, "tb2");
	assert_string_equal(tb1->group, "/machine/qemu-1-tb1.libvirt-qemu");
	assert_int_equal(tb1->nr_vcpus, 2);
	assert_int_equal(tb1->vcpus[0].tid, 8601);
	assert_int_equal(tb1->vcpus[0].index, 0);
	assert_int_equal(tb1->vcpus[1].tid, 8602);
	assert_int_equal(tb2->vcpus[0].tid, 8986);
	assert_int_equal(tb2->vcpus[1].tid, 8987);
	/* tb2: both vCPUs queued on cpu#1 behind 'cat': stacked, 3 runnable there */
	assert_true(tb2->stacked);
	assert_int_equal(tb2->nr_runnable, 2);
	assert_int_equal(tb2->q_size, 3);
	assert_int_equal(tb2->distance, 1);
	assert_true(tb2->distance_ns > 0);
	assert_false(tb2->exceeds); /* stacked on one queue: not a cross-queue distance */
	assert_int_equal(tb2->vcpus[tb2->laggard].tid, 8986);
	sbco_vm_set_free(set);
	sbco_ordinates_free(o);
	sbco_snapshot_free(s);
}

static void test_shared_group_split(void **state)
{
	struct sbco_snapshot *s;
	struct sbco_ordinates *o;
	struct sbco_vm_set *set;

	(void)state;
	set = analyze("6.18-host-synthetic-vms-hogs.txt", NULL, NULL, 2.0 / 3, &s, &o);
	assert_int_equal(set->nr_vms, 2);
	assert_int_equal(vm_named(set, "vm22173")->nr_vcpus, 2);
	assert_int_equal(vm_named(set, "vm22175")->nr_vcpus, 4);
	assert_int_equal(vm_named(set, "vm22175")->distance, 7);
	sbco_vm_set_free(set);
	sbco_ordinates_free(o);
	sbco_snapshot_free(s);

	/* vCPU threads of two VMs interleaved in pid order: 97 | 98 99 100 | 101 */
	set = analyze("6.1-debian-guest-synthetic-vms.txt", NULL, NULL, 2.0 / 3, &s, &o);
	assert_int_equal(set->nr_vms, 2);
	assert_int_equal(vm_named(set, "vm97")->nr_vcpus, 2);
	assert_int_equal(vm_named(set, "vm97")->vcpus[1].tid, 101);
	assert_int_equal(vm_named(set, "vm98")->nr_vcpus, 3);
	sbco_vm_set_free(set);
	sbco_ordinates_free(o);
	sbco_snapshot_free(s);
}

static int fake_tgid(void *data, int32_t tid)
{
	(void)data;
	if (tid == 22176)
		return -ESRCH; /* exited after the dump */
	return tid < 22175 ? 500 : 600;
}

static void test_by_process(void **state)
{
	struct sbco_snapshot *s;
	struct sbco_ordinates *o;
	struct sbco_vm_set *set;

	(void)state;
	set = analyze("6.18-host-synthetic-vms-hogs.txt", fake_tgid, NULL, 2.0 / 3, &s, &o);
	assert_int_equal(set->nr_vms, 2);
	assert_int_equal(vm_named(set, "pid500")->nr_vcpus, 2);
	assert_int_equal(vm_named(set, "pid600")->nr_vcpus, 3);
	assert_int_equal(vm_named(set, "pid600")->tgid, 600);
	sbco_vm_set_free(set);
	sbco_ordinates_free(o);
	sbco_snapshot_free(s);
}

/* A VM with one vCPU first on cpu#0 and its sibling last of 4 on cpu#1. */
static void test_threshold(void **state)
{
	static const char dump[] =
	    "cpu#0\nrunnable tasks:\n"
	    " S            task   PID       vruntime   eligible    deadline             slice"
	    "          sum-exec      switches  prio         wait-time        sum-sleep       sum-"
	    "block  node   group-id  group-path\n-----------------------------\n"
	    ">R       CPU 0/KVM    10     1.000000   E     2.000000   1.000000   1.000000   1   120"
	    "   0.000000   0.000000   0.000000   0      0        /vm\n"
	    "cpu#1\nrunnable tasks:\n"
	    " S            task   PID       vruntime   eligible    deadline             slice"
	    "          sum-exec      switches  prio         wait-time        sum-sleep       sum-"
	    "block  node   group-id  group-path\n-----------------------------\n"
	    ">R             hog    20     1.000000   E     2.000000   1.000000   1.000000   1   120"
	    "   0.000000   0.000000   0.000000   0      0        /\n"
	    " R             hog    21     1.100000   E     2.100000   1.000000   1.000000   1   120"
	    "   0.000000   0.000000   0.000000   0      0        /\n"
	    " R             hog    22     1.200000   E     2.200000   1.000000   1.000000   1   120"
	    "   0.000000   0.000000   0.000000   0      0        /\n"
	    " R       CPU 1/KVM    11     9.000000   N    10.000000   1.000000   1.000000   1   120"
	    "   0.000000   0.000000   0.000000   0      0        /vm\n";
	struct sbco_snapshot *s = parse_text(dump);
	struct sbco_ordinates *o;
	struct sbco_patterns p = {0};
	struct sbco_vm_set *set;

	(void)state;
	assert_int_equal(sbco_ordinates_compute(s, &o), 0);
	assert_int_equal(sbco_patterns_default(&p), 0);
	assert_int_equal(sbco_vms_analyze(s, o, &p, NULL, NULL, 2.0 / 3, &set), 0);
	assert_int_equal(set->nr_vms, 1);
	assert_false(set->vms[0].stacked);
	assert_int_equal(set->vms[0].q_size, 4);
	assert_int_equal(set->vms[0].distance, 3);
	assert_true(set->vms[0].exceeds); /* 3 >= 2/3 * 4 */
	assert_int_equal(set->vms[0].vcpus[set->vms[0].leader].tid, 10);
	assert_int_equal(set->vms[0].vcpus[set->vms[0].laggard].tid, 11);
	set = sbco_vm_set_free(set);
	assert_int_equal(sbco_vms_analyze(s, o, &p, NULL, NULL, 1.0, &set), 0);
	assert_false(set->vms[0].exceeds); /* 3 < 1.0 * 4 */
	sbco_vm_set_free(set);
	assert_int_equal(sbco_vms_analyze(s, o, &p, NULL, NULL, 1.5, &set), -EINVAL);
	assert_int_equal(sbco_vms_analyze(s, o, &p, NULL, NULL, 0, &set), -EINVAL);
	sbco_patterns_clear(&p);
	sbco_ordinates_free(o);
	sbco_snapshot_free(s);
}

static void test_dump_open_live(void **state)
{
	char root[] = "/tmp/sbco-root.XXXXXX", p[512];
	const char *used = NULL;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(root));
	assert_int_equal(sbco_dump_open_live(root, &used), -ENODEV);
	snprintf(p, sizeof(p), "mkdir -p %s/sys/kernel/debug/sched %s/proc", root, root);
	assert_int_equal(system(p), 0);
	assert_int_equal(sbco_dump_open_live(root, &used), -ENOENT);
	snprintf(p, sizeof(p), "echo cpu#0 > %s/proc/sched_debug", root);
	assert_int_equal(system(p), 0);
	fd = sbco_dump_open_live(root, &used);
	assert_true(fd >= 0);
	assert_string_equal(used, "/proc/sched_debug");
	close(fd);
	snprintf(p, sizeof(p), "echo cpu#0 > %s/sys/kernel/debug/sched/debug", root);
	assert_int_equal(system(p), 0);
	fd = sbco_dump_open_live(root, &used);
	assert_true(fd >= 0);
	assert_string_equal(used, "/sys/kernel/debug/sched/debug");
	close(fd);
	snprintf(p, sizeof(p), "rm -rf %s", root);
	assert_int_equal(system(p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_patterns),	       cmocka_unit_test(test_libvirt_grouping),
	    cmocka_unit_test(test_shared_group_split), cmocka_unit_test(test_by_process),
	    cmocka_unit_test(test_threshold),	       cmocka_unit_test(test_dump_open_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
