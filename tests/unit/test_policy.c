/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the pure policy: topology order from a fake sysfs tree, anti-stacking
 * stripes (disjoint, covering, rotated, pinning respected, housekeeping excluded, the
 * smallest possible largest stack when vCPUs outnumber CPUs).
 */
#include <math.h>

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
	struct sbco_vm_policy pol[2] = {{.mode = SBCO_MODE_BAL, .alpha = 0.67},
					{.mode = SBCO_MODE_SBCO, .alpha = 0.67}};
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

/* The same VMs listed in another order get the same stripes (no needless migrations when a
 * refresh re-appends a domain). */
static void test_stripes_stable_order(void **state)
{
	struct sbco_topology *t = flat_topo(2);
	struct sbco_vm_list *l = make_vms(2, 2), *r = make_vms(2, 2);
	struct sbco_vm_policy pol[2] = {{.mode = SBCO_MODE_BAL, .alpha = 0.67},
					{.mode = SBCO_MODE_BAL, .alpha = 0.67}};
	struct sbco_placement *p, *q;
	size_t n, m;

	(void)state;
	/* r = l reversed: VM pids 101, 100 */
	r->vms[0].pid = 101;
	r->vms[1].pid = 100;
	assert_int_equal(sbco_policy_stripes(l, pol, t, NULL, &p, &n), 0);
	assert_int_equal(sbco_policy_stripes(r, pol, t, NULL, &q, &m), 0);
	assert_int_equal(n, 4);
	assert_int_equal(m, 4);
	/* VM pid 100 is l[0] and r[1]: same stripes per vCPU; the two VMs are rotated */
	for (size_t i = 0; i < 2; i++) {
		assert_true(sbco_cpuset_equal(&p[i].cpus, &q[2 + i].cpus));
		assert_true(sbco_cpuset_equal(&p[2 + i].cpus, &q[i].cpus));
	}
	assert_false(sbco_cpuset_equal(&p[0].cpus, &p[2].cpus));
	free(p);
	free(q);
	sbco_vm_list_free(l);
	sbco_vm_list_free(r);
	sbco_topology_free(t);
}

static void test_pinning_off_housekeeping(void **state)
{
	struct sbco_topology *t = flat_topo(8);
	struct sbco_vm_list *l = make_vms(3, 2);
	struct sbco_vm_policy pol[3] = {
	    {.mode = SBCO_MODE_SBCO, .alpha = 0.67},
	    {.mode = SBCO_MODE_OFF, .alpha = 0.67},
	    {.mode = SBCO_MODE_BAL, .alpha = 0.67, .override_pinning = true}};
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
	struct sbco_vm_policy pol = {.mode = SBCO_MODE_BAL, .alpha = 0.67};
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
	/* hotplug: unchanged, then CPUs 2-3 and 6-7 (package 1) go offline and come back */
	assert_int_equal(sbco_topology_refresh(root, &t), 0);
	put(root, "sys/devices/system/cpu/online", "0-1,4-5\n");
	assert_int_equal(sbco_topology_refresh(root, &t), 1);
	assert_int_equal(t->nr_order, 4);
	assert_int_equal(t->nr_cpus, 6);
	assert_false(sbco_cpuset_has(&t->online, 2));
	{ /* the stripes then cover the online CPUs only */
		struct sbco_vm_list *l = make_vms(2, 2);
		struct sbco_vm_policy pol[2] = {{.mode = SBCO_MODE_BAL, .alpha = 0.67},
						{.mode = SBCO_MODE_SBCO, .alpha = 0.67}};
		struct sbco_placement *p;
		size_t n;

		assert_int_equal(sbco_policy_stripes(l, pol, t, NULL, &p, &n), 0);
		assert_int_equal(n, 4);
		assert_partition(p, n, 0, &t->online);
		assert_partition(p, n, 1, &t->online);
		free(p);
		sbco_vm_list_free(l);
	}
	assert_int_equal(sbco_topology_refresh(root, &t), 0);
	put(root, "sys/devices/system/cpu/online", "0-7\n");
	assert_int_equal(sbco_topology_refresh(root, &t), 1);
	assert_int_equal(t->nr_order, 8);
	assert_int_equal(t->order[7], 7);
	sbco_topology_free(t);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(sbco_topology_read("/nonexistent", &t), -ENOENT);
}

/* ------------------------------------------------ distance balancing and the ledger */

static const char bal_dump[] =
    "cpu#0\nrunnable tasks:\n"
    " S            task   PID       vruntime   eligible    deadline             slice"
    "          sum-exec      switches  prio\n----\n"
    " R       CPU 0/KVM    10     1.000000   E     2.000000 S   0.100000   1.000000   1   120"
    "   0.000000   0.000000   0.000000\n"
    "cpu#1\nrunnable tasks:\n"
    " S            task   PID       vruntime   eligible    deadline             slice"
    "          sum-exec      switches  prio\n----\n"
    " R       CPU 1/KVM    11     1.000000   E     2.000000 S   3.000000   1.000000   1   120"
    "   0.000000   0.000000   0.000000\n";

static struct sbco_vm_set *one_vm(int32_t distance, uint32_t q, uint32_t queues)
{
	struct sbco_vm_set *set = calloc(1, sizeof(*set));
	struct sbco_vm_stat *vm;

	assert_non_null(set);
	set->vms = calloc(1, sizeof(*set->vms));
	set->nr_vms = 1;
	vm = &set->vms[0];
	vm->vcpus = calloc(2, sizeof(*vm->vcpus));
	vm->vcpus[0] = (struct sbco_vm_vcpu){.index = 0, .tid = 10};
	vm->vcpus[1] = (struct sbco_vm_vcpu){.index = 1, .tid = 11};
	vm->nr_vcpus = 2;
	vm->nr_runnable = 2;
	vm->nr_queues = queues;
	vm->q_size = q;
	vm->distance = distance;
	vm->leader = 1;	 /* tid 11 runs first */
	vm->laggard = 0; /* tid 10 waits */
	return set;
}

static int64_t orig_1024(void *ud, int32_t tid, enum sbco_lever lever)
{
	(void)ud;
	(void)tid;
	return lever == SBCO_LEVER_WEIGHT ? 1024 : 0;
}

static void test_threshold_fires(void **state)
{
	static const enum sbco_mode sbco = SBCO_MODE_SBCO, bal = SBCO_MODE_BAL;
	static const double alpha = 2.0 / 3;
	struct sbco_snapshot *s = parse_text(bal_dump);
	struct sbco_balance_cfg c;
	struct sbco_ledger l = {0};
	struct sbco_action *a = NULL;
	struct sbco_vm_set *set;

	(void)state;
	sbco_balance_cfg_default(&c);
	set = one_vm(2, 4, 2); /* 2 < 2/3 * 4 */
	assert_int_equal(sbco_policy_balance(s, set, &sbco, &alpha, &c, NULL, NULL, &l, 0, &a), 0);
	free(a);
	sbco_vm_set_free(set);
	set = one_vm(3, 4, 1); /* over, but one queue: stacking, not distance */
	assert_int_equal(sbco_policy_balance(s, set, &sbco, &alpha, &c, NULL, NULL, &l, 0, &a), 0);
	free(a);
	assert_int_equal(sbco_policy_balance(s, set, &bal, &alpha, &c, NULL, NULL, &l, 0, &a), 0);
	free(a);
	sbco_vm_set_free(set);
	set = one_vm(3, 4, 2); /* 3 >= 2/3 * 4: Algorithm 1 fires */
	assert_int_equal(sbco_policy_balance(s, set, &sbco, &alpha, &c, NULL, NULL, &l, 0, &a), 2);
	assert_int_equal(a[0].tid, 10);
	assert_int_equal(a[0].value, 100000);
	assert_int_equal(a[0].why, SBCO_WHY_BOOST);
	assert_int_equal(a[1].tid, 11);
	assert_int_equal(a[1].value, 3000000);
	assert_int_equal(a[1].why, SBCO_WHY_HOLD);
	free(a);
	assert_true(sbco_ledger_find(&l, 10)->dirty);
	sbco_vm_set_free(set);
	sbco_ledger_clear(&l);
	sbco_snapshot_free(s);
}

/* The kernel lever: one loan leader -> laggard of half the distance (bounded), dirty until
 * a later cycle, no second loan meanwhile, paid back by the borrower once calm. */
static void test_kernel_lever(void **state)
{
	static const enum sbco_mode m = SBCO_MODE_SBCO;
	static const double alpha = 2.0 / 3;
	struct sbco_snapshot *none = parse_text("cpu#0\n");
	struct sbco_balance_cfg c;
	struct sbco_ledger l = {0};
	struct sbco_action *a = NULL;
	struct sbco_vm_set *hot = one_vm(3, 4, 2), *calm = one_vm(0, 4, 2);

	(void)state;
	sbco_balance_cfg_default(&c);
	c.lever = SBCO_LEVER_KERNEL;
	hot->vms[0].distance_ns = 6000000;
	assert_int_equal(sbco_policy_balance(none, hot, &m, &alpha, &c, NULL, NULL, &l, 1, &a), 1);
	assert_int_equal(a[0].lever, SBCO_LEVER_KERNEL);
	assert_int_equal(a[0].tid, 11); /* the leader lends */
	assert_int_equal(a[0].peer, 10);
	assert_int_equal(a[0].value, 3000000);
	free(a);
	assert_int_equal(sbco_ledger_find(&l, 10)->current, 3000000);
	assert_int_equal(sbco_ledger_find(&l, 11)->current, -3000000);
	assert_true(sbco_ledger_find(&l, 10)->dirty);
	/* same instant: still dirty, no second loan */
	assert_int_equal(sbco_policy_balance(none, hot, &m, &alpha, &c, NULL, NULL, &l, 1, &a), 0);
	free(a);
	/* a later cycle clears dirty; a huge distance is capped at max_kernel_loan_ns */
	hot->vms[0].distance_ns = 900000000;
	assert_int_equal(sbco_policy_balance(none, hot, &m, &alpha, &c, NULL, NULL, &l, 2, &a), 1);
	assert_int_equal(a[0].value, 20000000);
	free(a);
	assert_int_equal(sbco_ledger_find(&l, 10)->current, 23000000);
	/* calm: the borrower pays the whole debt back to its lender, then nothing is owed */
	assert_int_equal(sbco_policy_balance(none, calm, &m, &alpha, &c, NULL, NULL, &l, 3, &a), 1);
	assert_int_equal(a[0].tid, 10);
	assert_int_equal(a[0].peer, 11);
	assert_int_equal(a[0].value, 23000000);
	assert_int_equal(a[0].why, SBCO_WHY_REPAY);
	free(a);
	assert_int_equal(sbco_ledger_find(&l, 10)->current, 0);
	assert_int_equal(sbco_ledger_find(&l, 11)->current, 0);
	assert_int_equal(sbco_policy_balance(none, calm, &m, &alpha, &c, NULL, NULL, &l, 4, &a), 0);
	free(a);
	/* with a measured cost per position (ticks), the loan is positions x slot / 2 */
	hot->slot_ns = 4000000;
	assert_int_equal(sbco_policy_balance(none, hot, &m, &alpha, &c, NULL, NULL, &l, 5, &a), 1);
	assert_int_equal(a[0].value, 6000000);
	free(a);
	sbco_vm_set_free(hot);
	sbco_vm_set_free(calm);
	sbco_ledger_clear(&l);
	sbco_snapshot_free(none);
}

static void test_dirty_not_twice(void **state)
{
	static const enum sbco_mode m = SBCO_MODE_SBCO;
	static const double alpha = 2.0 / 3;
	struct sbco_snapshot *none = parse_text("cpu#0\n");
	struct sbco_balance_cfg c;
	struct sbco_ledger l = {0};
	struct sbco_action *a = NULL;
	struct sbco_vm_set *set = one_vm(3, 4, 2), *swapped = one_vm(3, 4, 2);

	(void)state;
	sbco_balance_cfg_default(&c);
	swapped->vms[0].leader = 0;
	swapped->vms[0].laggard = 1;
	assert_int_equal(sbco_policy_balance(none, set, &m, &alpha, &c, NULL, NULL, &l, 0, &a), 2);
	free(a);
	/* 50 ms later the roles swapped, but both are dirty: nothing */
	assert_int_equal(
	    sbco_policy_balance(none, swapped, &m, &alpha, &c, NULL, NULL, &l, 50000000, &a), 0);
	free(a);
	/* after the dirty timeout they may be adjusted again */
	assert_int_equal(
	    sbco_policy_balance(none, swapped, &m, &alpha, &c, NULL, NULL, &l, 250000000, &a), 2);
	assert_int_equal(a[0].tid, 11);
	assert_int_equal(a[0].value, 100000);
	free(a);
	sbco_vm_set_free(set);
	sbco_vm_set_free(swapped);
	sbco_ledger_clear(&l);
	sbco_snapshot_free(none);
}

static void test_dirty_clears_when_seen(void **state)
{
	static const enum sbco_mode m = SBCO_MODE_SBCO;
	static const double alpha = 2.0 / 3;
	struct sbco_snapshot *seen = parse_text(bal_dump);
	struct sbco_balance_cfg c;
	struct sbco_ledger l = {0};
	struct sbco_action *a = NULL;
	struct sbco_vm_set *set = one_vm(3, 4, 2);

	(void)state;
	sbco_balance_cfg_default(&c);
	assert_int_equal(sbco_policy_balance(seen, set, &m, &alpha, &c, NULL, NULL, &l, 0, &a), 2);
	free(a);
	/* the dump shows both slices in force: clean again 10 ms later, already at target */
	assert_int_equal(
	    sbco_policy_balance(seen, set, &m, &alpha, &c, NULL, NULL, &l, 10000000, &a), 0);
	free(a);
	assert_false(sbco_ledger_find(&l, 10)->dirty);
	assert_false(sbco_ledger_find(&l, 11)->dirty);
	sbco_vm_set_free(set);
	sbco_ledger_clear(&l);
	sbco_snapshot_free(seen);
}

/* Weight loans are paid back: the integral of (weight - original) returns to ~0 and both
 * weights end at their originals; slices are simply restored. */
static void test_repayment(void **state)
{
	static const enum sbco_mode m = SBCO_MODE_SBCO;
	static const double alpha = 2.0 / 3;
	struct sbco_snapshot *none = parse_text("cpu#0\n");
	struct sbco_balance_cfg c;
	struct sbco_ledger l = {0};
	struct sbco_action *a = NULL;
	struct sbco_vm_set *hot = one_vm(3, 4, 2), *calm = one_vm(0, 4, 2);
	int64_t w[2] = {1024, 1024};
	double integral[2] = {0, 0};
	uint64_t t = 0, step = 100000000;
	int n;

	(void)state;
	sbco_balance_cfg_default(&c);
	c.lever = SBCO_LEVER_WEIGHT;
	c.dirty_timeout_ns = 0;
	for (int cycle = 0; cycle < 60; cycle++, t += step) {
		n = sbco_policy_balance(none, cycle < 5 ? hot : calm, &m, &alpha, &c, orig_1024,
					NULL, &l, t, &a);
		assert_true(n >= 0);
		for (int k = 0; k < 2; k++)
			integral[k] += (double)(w[k] - 1024) * (double)step / 1e9;
		for (int i = 0; i < n; i++)
			w[a[i].tid - 10] = a[i].value;
		free(a);
		if (cycle == 0) {
			assert_int_equal(w[0], 1536);
			assert_int_equal(w[1], 512);
		}
	}
	assert_int_equal(w[0], 1024);
	assert_int_equal(w[1], 1024);
	for (int k = 0; k < 2; k++) /* even within one cycle of one nudge: 512 x 0.1 s */
		assert_true(fabs(integral[k]) <= 51.2 + 1e-9);
	sbco_ledger_clear(&l);

	/* slice lever: calm -> both back to the default slice (0) at once */
	c.lever = SBCO_LEVER_SLICE;
	assert_int_equal(sbco_policy_balance(none, hot, &m, &alpha, &c, NULL, NULL, &l, 0, &a), 2);
	free(a);
	n = sbco_policy_balance(none, calm, &m, &alpha, &c, NULL, NULL, &l, step, &a);
	assert_int_equal(n, 2);
	assert_int_equal(a[0].value, 0);
	assert_int_equal(a[0].why, SBCO_WHY_RESTORE);
	assert_int_equal(a[1].value, 0);
	free(a);
	/* and a loan never outlives max_loan even while the distance stays high */
	sbco_ledger_clear(&l);
	assert_int_equal(sbco_policy_balance(none, hot, &m, &alpha, &c, NULL, NULL, &l, 0, &a), 2);
	free(a);
	n = sbco_policy_balance(none, hot, &m, &alpha, &c, NULL, NULL, &l, c.max_loan_ns, &a);
	assert_int_equal(n, 2);
	assert_int_equal(a[0].why, SBCO_WHY_RESTORE);
	free(a);
	sbco_vm_set_free(hot);
	sbco_vm_set_free(calm);
	sbco_ledger_clear(&l);
	sbco_snapshot_free(none);
}

static void test_lever_resolve(void **state)
{
	(void)state;
	assert_int_equal(sbco_lever_resolve(SBCO_LEVER_AUTO, 6, 18, false, false),
			 SBCO_LEVER_SLICE);
	assert_int_equal(sbco_lever_resolve(SBCO_LEVER_AUTO, 6, 12, true, false), SBCO_LEVER_SLICE);
	assert_int_equal(sbco_lever_resolve(SBCO_LEVER_AUTO, 6, 11, true, false),
			 SBCO_LEVER_WEIGHT);
	assert_int_equal(sbco_lever_resolve(SBCO_LEVER_AUTO, 5, 10, false, false), SBCO_LEVER_NICE);
	assert_int_equal(sbco_lever_resolve(SBCO_LEVER_AUTO, 0, 0, false, false), SBCO_LEVER_SLICE);
	assert_int_equal(sbco_lever_resolve(SBCO_LEVER_NICE, 6, 18, true, true), SBCO_LEVER_NICE);
	/* the kernel patch comes first when it runs */
	assert_int_equal(sbco_lever_resolve(SBCO_LEVER_AUTO, 6, 12, true, true), SBCO_LEVER_KERNEL);
	assert_int_equal(sbco_lever_resolve(SBCO_LEVER_AUTO, 5, 10, false, true),
			 SBCO_LEVER_KERNEL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_two_vms_eight_cpus),
	    cmocka_unit_test(test_stripes_stable_order),
	    cmocka_unit_test(test_pinning_off_housekeeping),
	    cmocka_unit_test(test_more_vcpus_than_cpus),
	    cmocka_unit_test(test_topology_order),
	    cmocka_unit_test(test_threshold_fires),
	    cmocka_unit_test(test_kernel_lever),
	    cmocka_unit_test(test_dirty_not_twice),
	    cmocka_unit_test(test_dirty_clears_when_seen),
	    cmocka_unit_test(test_repayment),
	    cmocka_unit_test(test_lever_resolve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
