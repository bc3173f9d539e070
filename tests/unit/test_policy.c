/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the pure policy: topology order from a fake sysfs tree, anti-stacking
 * stripes (disjoint, covering, rotated, pinning respected, housekeeping excluded, the
 * smallest possible largest stack when vCPUs outnumber CPUs).
 */
#include "testutil.h"

static struct sbco_topology *flat_topo(unsigned n)
{
	struct sbco_topology *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	for (unsigned i = 0; i < n; i++) {
		sbco_cpuset_add(&t->online, i);
		t->cpu[i] = (struct sbco_cpu_topo){.core = (int32_t)i, .llc = 0};
		t->order[t->nr_order++] = (int32_t)i;
	}
	t->nr_cpus = n;
	return t;
}

static struct sbco_vm_list *make_vms(size_t nvm, size_t nvcpu)
{
	struct sbco_vm_list *l = calloc(1, sizeof(*l));
	struct sbco_vcpu v[64] = {0};

	assert_non_null(l);
	for (size_t i = 0; i < nvcpu; i++)
		v[i] = (struct sbco_vcpu){.index = (int32_t)i, .tid = 1000 + (int32_t)i};
	for (size_t k = 0; k < nvm; k++) {
		struct sbco_vm vm = {
		    .name = (char *)"vm", .pid = 100 + (int32_t)k, .vcpus = v, .nr_vcpus = nvcpu};

		assert_int_equal(sbco_vm_list_add(l, &vm), 0);
	}
	return l;
}

/* Stripes of one VM: pairwise disjoint, union == want. */
static void assert_partition(const struct sbco_placement *p, size_t n, size_t vm,
			     const struct sbco_cpuset *want)
{
	struct sbco_cpuset all = {{0}};

	for (size_t i = 0; i < n; i++) {
		if (p[i].vm != vm)
			continue;
		assert_true(sbco_cpuset_count(&p[i].cpus) > 0);
		for (int w = 0; w < SBCO_CPUSET_WORDS; w++) {
			assert_int_equal(all.w[w] & p[i].cpus.w[w], 0);
			all.w[w] |= p[i].cpus.w[w];
		}
	}
	assert_true(sbco_cpuset_equal(&all, want));
}

static void test_two_vms_eight_cpus(void **state)
{
	struct sbco_topology *t = flat_topo(8);
	struct sbco_vm_list *l = make_vms(2, 4);
	struct sbco_vm_policy pol[2] = {{SBCO_MODE_BAL, 0.67, false},
					{SBCO_MODE_SBCO, 0.67, false}};
	struct sbco_placement *p;
	size_t n;

	(void)state;
	assert_int_equal(sbco_policy_stripes(l, pol, t, NULL, &p, &n), 0);
	assert_int_equal(n, 8);
	assert_partition(p, n, 0, &t->online);
	assert_partition(p, n, 1, &t->online);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sbco_cpuset_count(&p[i].cpus), 2);
	/* rotated: the second VM's vCPU 0 does not start where the first VM's does */
	assert_false(sbco_cpuset_equal(&p[0].cpus, &p[4].cpus));
	assert_int_equal(p[4].tid, 1000);
	free(p);
	sbco_vm_list_free(l);
	sbco_topology_free(t);
}

static void test_pinning_off_housekeeping(void **state)
{
	struct sbco_topology *t = flat_topo(8);
	struct sbco_vm_list *l = make_vms(3, 2);
	struct sbco_vm_policy pol[3] = {{SBCO_MODE_SBCO, 0.67, false},
					{SBCO_MODE_OFF, 0.67, false},
					{SBCO_MODE_BAL, 0.67, true}};
	struct sbco_cpuset hk, want;
	struct sbco_placement *p;
	size_t n;

	(void)state;
	l->vms[0].pinned = true; /* operator pinned, no override: left alone */
	l->vms[2].pinned = true; /* pinned but override allowed */
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(sbco_cpuset_parse("2-7", &l->vms[2].vcpus[i].affinity), 0);
	assert_int_equal(sbco_cpuset_parse("7", &hk), 0);
	assert_int_equal(sbco_policy_stripes(l, pol, t, &hk, &p, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].vm, 2);
	assert_int_equal(sbco_cpuset_parse("2-6", &want), 0); /* own cpuset minus housekeeping */
	assert_partition(p, n, 2, &want);
	free(p);
	sbco_vm_list_free(l);
	sbco_topology_free(t);
}

static void test_more_vcpus_than_cpus(void **state)
{
	struct sbco_topology *t = flat_topo(2);
	struct sbco_vm_list *l = make_vms(1, 5);
	struct sbco_vm_policy pol = {SBCO_MODE_BAL, 0.67, false};
	struct sbco_placement *p;
	size_t n, per_cpu[2] = {0};

	(void)state;
	assert_int_equal(sbco_policy_stripes(l, &pol, t, NULL, &p, &n), 0);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(sbco_cpuset_count(&p[i].cpus), 1);
		per_cpu[sbco_cpuset_has(&p[i].cpus, 1)]++;
	}
	assert_true(per_cpu[0] <= 3 && per_cpu[1] <= 3); /* largest stack = ceil(5/2) */
	free(p);
	sbco_vm_list_free(l);
	sbco_topology_free(t);
}

static void put(const char *root, const char *rel, const char *data)
{
	char path[4096], cmd[8300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	assert_int_equal(system(cmd), 0);
	f = fopen(path, "we");
	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

/* 2 packages x 2 cores x 2 threads, CPU numbers interleaved as on many x86 boxes:
 * SMT siblings are (n, n+4); package 0 = CPUs 0,1,4,5. Order must keep them together. */
static void test_topology_order(void **state)
{
	char root[] = "/tmp/sbco-topo.XXXXXX", rel[256], val[64], cmd[300];
	struct sbco_topology *t;

	(void)state;
	assert_non_null(mkdtemp(root));
	put(root, "sys/devices/system/cpu/online", "0-7\n");
	for (int c = 0; c < 8; c++) {
		int core = c % 4, pkg = core / 2;

		snprintf(rel, sizeof(rel),
			 "sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", c);
		snprintf(val, sizeof(val), "%d,%d\n", core, core + 4);
		put(root, rel, val);
		snprintf(rel, sizeof(rel),
			 "sys/devices/system/cpu/cpu%d/topology/physical_package_id", c);
		snprintf(val, sizeof(val), "%d\n", pkg);
		put(root, rel, val);
		snprintf(rel, sizeof(rel),
			 "sys/devices/system/cpu/cpu%d/cache/index3/shared_cpu_list", c);
		put(root, rel, pkg ? "2-3,6-7\n" : "0-1,4-5\n");
	}
	put(root, "sys/devices/system/node/node0/cpulist", "0-1,4-5\n");
	put(root, "sys/devices/system/node/node1/cpulist", "2-3,6-7\n");
	assert_int_equal(sbco_topology_read(root, &t), 0);
	assert_int_equal(t->nr_order, 8);
	{
		static const int32_t want[8] = {0, 4, 1, 5, 2, 6, 3, 7};

		for (int i = 0; i < 8; i++)
			assert_int_equal(t->order[i], want[i]);
	}
	assert_int_equal(t->cpu[6].node, 1);
	assert_int_equal(t->cpu[6].core, 2);
	assert_int_equal(t->cpu[6].llc, 2);
	sbco_topology_free(t);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(sbco_topology_read("/nonexistent", &t), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_two_vms_eight_cpus),
	    cmocka_unit_test(test_pinning_off_housekeeping),
	    cmocka_unit_test(test_more_vcpus_than_cpus),
	    cmocka_unit_test(test_topology_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
