/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the guest-stall detector and its back-off (lib/stall.c) on constructed
 * dumps: a vCPU runnable without CPU for the detection time while its sibling runs is a
 * stall, a sleeping or briefly running one is not, a VM whose vCPUs all starve is not;
 * the back-off lifts anti-stacking once, places it again after the hold, doubles the hold
 * on a quick relapse and counts episodes and stalled time.
 */
#include "testutil.h"

#define MS 1000000ull
#define T0 (5000 * MS)

/* Two CPUs: vCPU 0 (tid 10) in state s0 with sum-exec e0 ms (running when cur0), vCPU 1
 * (tid 11) likewise, each on a CPU of its own behind or ahead of another VM's vCPU. */
static struct sbco_snapshot *dump(char s0, bool cur0, double e0, char s1, bool cur1, double e1)
{
	static const char head[] =
	    "runnable tasks:\n S            task   PID       vruntime   eligible"
	    "    deadline             slice          sum-exec      switches  prio\n"
	    "----\n";
	char text[2048];

	snprintf(
	    text, sizeof(text),
	    "cpu#0\n%s%c%c       CPU 0/KVM    10     1.000000   E     2.000000   1.000000 %12.6f"
	    "   1   120   0.000000   0.000000   0.000000\n"
	    "cpu#1\n%s%c%c       CPU 1/KVM    11     1.000000   E     2.000000   1.000000 %12.6f"
	    "   1   120   0.000000   0.000000   0.000000\n",
	    head, cur0 ? '>' : ' ', s0, e0, head, cur1 ? '>' : ' ', s1, e1);
	return parse_text(text);
}

static struct sbco_vm_set *set_of(const struct sbco_snapshot *s)
{
	struct sbco_vm_set *set = calloc(1, sizeof(*set));
	struct sbco_vm_stat *vm;

	assert_non_null(set);
	set->vms = calloc(1, sizeof(*set->vms));
	set->nr_vms = 1;
	vm = &set->vms[0];
	vm->vcpus = calloc(2, sizeof(*vm->vcpus));
	vm->nr_vcpus = 2;
	for (size_t k = 0; k < 2; k++) {
		const struct sbco_task *t = find_pid(s, 10 + (int)k);

		vm->vcpus[k] = (struct sbco_vm_vcpu){
		    .index = (int32_t)k, .tid = 10 + (int32_t)k, .task = (size_t)(t - s->tasks)};
	}
	return set;
}

/* One sample at time now: returns the verdict on the VM. */
static struct sbco_stall_vm sample(struct sbco_stall_tracker *t, uint64_t now, char s0, bool cur0,
				   double e0, char s1, bool cur1, double e1)
{
	struct sbco_snapshot *s = dump(s0, cur0, e0, s1, cur1, e1);
	struct sbco_vm_set *set = set_of(s);
	struct sbco_stall_cfg c;
	struct sbco_stall_vm r;

	sbco_stall_cfg_default(&c);
	assert_int_equal(sbco_stall_update(t, s, set, &c, now, &r), 0);
	sbco_vm_set_free(set);
	sbco_snapshot_free(s);
	return r;
}

static void test_starved_sibling_is_a_stall(void **state)
{
	struct sbco_stall_tracker t = {0};
	struct sbco_stall_vm r;

	(void)state;
	/* vCPU 0 runs 250 ms every 250 ms, vCPU 1 is runnable and gets nothing */
	for (int i = 0; i < 4; i++) {
		r = sample(&t, T0 + (uint64_t)i * 250 * MS, 'R', true, 250.0 * i, 'R', false, 7);
		assert_false(r.stalled); /* 0 .. 750 ms of starving: not yet */
	}
	r = sample(&t, T0 + 1000 * MS, 'R', true, 1000, 'R', false, 7);
	assert_true(r.stalled);
	assert_int_equal(r.tid, 11);
	assert_int_equal(r.index, 1);
	assert_int_equal(r.starving_ns, 1000 * MS);
	/* it gets 30 % of a CPU: over */
	r = sample(&t, T0 + 1250 * MS, 'R', true, 1250, 'R', false, 7 + 75);
	assert_false(r.stalled);
	assert_int_equal(r.tid, 0);
	assert_int_equal(r.index, -1);
	/* 4 % of a CPU is still starving (below the 5 % share) */
	for (int i = 1; i <= 4; i++)
		r = sample(&t, T0 + (1250 + (uint64_t)i * 250) * MS, 'R', true, 1250.0 + 250 * i,
			   'R', false, 82 + 10.0 * i);
	assert_true(r.stalled);
	sbco_stall_tracker_clear(&t);
}

static void test_not_stalls(void **state)
{
	struct sbco_stall_tracker t = {0};
	struct sbco_stall_vm r;

	(void)state;
	/* sleeping without progress (an idle vCPU) is not starving */
	for (int i = 0; i < 8; i++)
		r = sample(&t, T0 + (uint64_t)i * 250 * MS, 'R', true, 250.0 * i, 'S', false, 7);
	assert_false(r.stalled);
	/* runnable but asleep at one sample in between: the count starts again */
	for (int i = 8; i < 12; i++)
		r = sample(&t, T0 + (uint64_t)i * 250 * MS, 'R', true, 250.0 * i, 'R', false, 7);
	assert_false(r.stalled);
	r = sample(&t, T0 + 12 * 250 * MS, 'R', true, 3000, 'S', false, 7);
	r = sample(&t, T0 + 13 * 250 * MS, 'R', true, 3250, 'R', false, 7);
	assert_false(r.stalled);
	sbco_stall_tracker_clear(&t);
	/* the sibling gets 30 % of a CPU: an overloaded host, not a stall of the guest */
	for (int i = 0; i < 8; i++)
		r = sample(&t, T0 + (uint64_t)i * 250 * MS, 'R', false, 75.0 * i, 'R', false, 7);
	assert_false(r.stalled);
	sbco_stall_tracker_clear(&t);
	/* both vCPUs starved (an overloaded host, not a stall of the guest) */
	for (int i = 0; i < 8; i++)
		r = sample(&t, T0 + (uint64_t)i * 250 * MS, 'R', false, 3, 'R', false, 7);
	assert_false(r.stalled);
	sbco_stall_tracker_clear(&t);
	/* a new thread with the same index (tid changed) starts afresh: the tracker is by tid */
	r = sample(&t, T0, 'R', true, 0, 'R', false, 7);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.v[0].tid, 10);
	assert_int_equal(t.v[1].tid, 11);
	sbco_stall_tracker_clear(&t);
}

static void test_backoff(void **state)
{
	struct sbco_stall_cfg c;
	struct sbco_stall_hold h = {0};
	uint64_t t = T0;

	(void)state;
	sbco_stall_cfg_default(&c);
	c.rotations = 0; /* lift at once (test_rotate_then_lift has the rotations) */
	/* not placed (mode off): counted, never lifted */
	assert_int_equal(sbco_stall_step(&h, true, false, &c, t), SBCO_STALL_NONE);
	assert_int_equal(sbco_stall_step(&h, true, false, &c, t + 250 * MS), SBCO_STALL_NONE);
	assert_int_equal(h.stalls, 1);
	assert_int_equal(h.stalled_ns, 250 * MS);
	assert_int_equal(sbco_stall_step(&h, false, false, &c, t + 500 * MS), SBCO_STALL_NONE);
	assert_int_equal(h.lifts, 0);
	/* placed: lifted for hold_ns, once */
	t += 1000 * MS;
	assert_int_equal(sbco_stall_step(&h, true, true, &c, t), SBCO_STALL_LIFT);
	assert_int_equal(h.stalls, 2);
	assert_true(h.lifted);
	assert_int_equal(h.hold_ns, c.hold_ns);
	assert_int_equal(sbco_stall_step(&h, true, true, &c, t + 250 * MS), SBCO_STALL_NONE);
	assert_int_equal(sbco_stall_step(&h, false, false, &c, t + c.hold_ns - 1), SBCO_STALL_NONE);
	t += c.hold_ns;
	/* not under anti-stacking when the hold is up (mode off): it stays lifted */
	assert_int_equal(sbco_stall_step(&h, false, false, &c, t), SBCO_STALL_NONE);
	assert_true(h.lifted);
	assert_int_equal(sbco_stall_step(&h, false, true, &c, t), SBCO_STALL_PLACE);
	assert_false(h.lifted);
	/* a relapse soon after: twice the hold, up to the maximum */
	for (uint64_t want = 2 * c.hold_ns; want <= 2 * c.hold_max_ns; want *= 2) {
		t += 3000 * MS;
		assert_int_equal(sbco_stall_step(&h, true, true, &c, t), SBCO_STALL_LIFT);
		assert_int_equal(h.hold_ns, want < c.hold_max_ns ? want : c.hold_max_ns);
		t += h.hold_ns;
		assert_int_equal(sbco_stall_step(&h, false, true, &c, t), SBCO_STALL_PLACE);
	}
	assert_int_equal(h.hold_ns, c.hold_max_ns);
	/* a stall long after placing: back to the first hold */
	t += 3 * c.hold_max_ns;
	assert_int_equal(sbco_stall_step(&h, true, true, &c, t), SBCO_STALL_LIFT);
	assert_int_equal(h.hold_ns, c.hold_ns);
	assert_true(h.lifts >= 6);
}

static void test_rotate_then_lift(void **state)
{
	struct sbco_stall_cfg c;
	struct sbco_stall_hold h = {0};
	uint64_t t = T0;

	(void)state;
	sbco_stall_cfg_default(&c);
	assert_int_equal(c.rotations, 3);
	/* not placed: never rotated */
	assert_int_equal(sbco_stall_step(&h, true, false, &c, t), SBCO_STALL_NONE);
	assert_int_equal(sbco_stall_step(&h, false, false, &c, t + 250 * MS), SBCO_STALL_NONE);
	assert_int_equal(h.rotations, 0);
	/* a stall: rotated; the rotation gets detect_ns to end it */
	t += 1000 * MS;
	assert_int_equal(sbco_stall_step(&h, true, true, &c, t), SBCO_STALL_ROTATE);
	assert_int_equal(h.rotations, 1);
	assert_int_equal(h.streak, 1);
	assert_int_equal(sbco_stall_step(&h, true, true, &c, t + 250 * MS), SBCO_STALL_NONE);
	assert_int_equal(sbco_stall_step(&h, true, true, &c, t + c.detect_ns - 1), SBCO_STALL_NONE);
	/* it did not: rotated again (2 in a row) */
	t += c.detect_ns;
	assert_int_equal(sbco_stall_step(&h, true, true, &c, t), SBCO_STALL_ROTATE);
	assert_int_equal(h.streak, 2);
	/* ended; a new stall 3 s later is the third rotation in a row */
	assert_int_equal(sbco_stall_step(&h, false, true, &c, t + 250 * MS), SBCO_STALL_NONE);
	t += 3000 * MS;
	assert_int_equal(sbco_stall_step(&h, true, true, &c, t), SBCO_STALL_ROTATE);
	assert_int_equal(h.streak, 3);
	assert_int_equal(h.rotations, 3);
	assert_int_equal(h.lifts, 0);
	/* the fourth within hold_ns: rotations do not keep it out, lifted */
	assert_int_equal(sbco_stall_step(&h, false, true, &c, t + 250 * MS), SBCO_STALL_NONE);
	t += 2000 * MS;
	assert_int_equal(sbco_stall_step(&h, true, true, &c, t), SBCO_STALL_LIFT);
	assert_int_equal(h.lifts, 1);
	assert_int_equal(h.rotations, 3);
	assert_true(h.lifted);
	/* mode off for a while: the hold outlasts it, placed again when bal is back */
	t += 5 * c.hold_ns;
	assert_int_equal(sbco_stall_step(&h, false, false, &c, t), SBCO_STALL_NONE);
	assert_true(h.lifted);
	assert_int_equal(sbco_stall_step(&h, false, true, &c, t), SBCO_STALL_PLACE);
	/* trapped again 2 s after: the rotations did not keep it out before, so lifted at
	 * once (no rotation) for twice the hold */
	t += 2000 * MS;
	assert_int_equal(sbco_stall_step(&h, true, true, &c, t), SBCO_STALL_LIFT);
	assert_int_equal(h.rotations, 3);
	assert_int_equal(h.lifts, 2);
	assert_int_equal(h.hold_ns, 2 * c.hold_ns);
	t += h.hold_ns;
	assert_int_equal(sbco_stall_step(&h, false, true, &c, t), SBCO_STALL_PLACE);
	/* a stall long after placing starts a new streak: rotated again */
	t += 3 * h.hold_ns;
	assert_int_equal(sbco_stall_step(&h, true, true, &c, t), SBCO_STALL_ROTATE);
	assert_int_equal(h.streak, 1);
	assert_int_equal(h.rotations, 4);
	assert_int_equal(h.stalls, 6);
}

/* the plan does not write them: string literals stand in for owned paths */
#define CG(s) ((char *)(uintptr_t)(s))

/* Stall prevention's plan: which vCPU threads leave the cpu group they share with the VM's
 * other threads, and into which copy of it. */
static void test_isolate_plan(void **state)
{
	struct sbco_thread_cg lv[] = {
	    {1, CG("/machine/vm1.libvirt-qemu/emulator"), false, false},
	    {2, CG("/machine/vm1.libvirt-qemu/vcpu0"), true, false},
	    {3, CG("/machine/vm1.libvirt-qemu/vcpu1"), true, false},
	    {4, CG("/machine/vm1.libvirt-qemu/emulator"), false, false},
	    {6, CG("/elsewhere"), false, false},
	};
	struct sbco_thread_cg one[] = {{10, CG("/stall/a"), false, false},
				       {11, CG("/stall/a"), true, false},
				       {12, CG("/stall/a"), true, false}};
	struct sbco_thread_cg moved[] = {{10, CG("/stall/a"), false, false},
					 {11, CG("/stall/a"), true, true},
					 {12, CG("/stall/a"), true, false}};
	struct sbco_thread_cg alone[] = {{20, CG("/other"), false, false},
					 {21, CG("/v/vcpu0"), true, false},
					 {22, CG("/v/vcpu1"), true, false}};
	struct sbco_thread_cg root[] = {
	    {20, CG("/"), false, false}, {21, CG("/"), true, false}, {22, CG("/"), true, false}};
	struct sbco_thread_cg apart[] = {{30, CG("/a/x"), false, false},
					 {31, CG("/a/vcpu0"), true, false},
					 {32, CG("/b/vcpu1"), true, false}};
	struct sbco_thread_cg prefix[] = {{40, CG("/m/xz"), false, false},
					  {41, CG("/m/x"), true, false},
					  {42, CG("/m/xy"), true, false},
					  {43, CG("/mm"), false, false}};
	struct sbco_thread_cg unknown[] = {
	    {50, CG("/v"), false, false}, {51, CG(""), true, false}, {52, CG("/v"), true, false}};
	struct sbco_isolate_group *g;
	size_t n;

	(void)state;
	/* libvirt: the domain's group copied beside it, its vcpuN groups below the copy */
	assert_int_equal(sbco_isolate_plan(lv, 5, &g, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(g[0].from, "/machine/vm1.libvirt-qemu");
	assert_string_equal(g[0].to, "/machine/sbco.vm1.libvirt-qemu");
	assert_int_equal(g[0].n, 0);
	assert_string_equal(g[1].from, "/machine/vm1.libvirt-qemu/vcpu0");
	assert_string_equal(g[1].to, "/machine/sbco.vm1.libvirt-qemu/vcpu0");
	assert_int_equal(g[1].n, 1);
	assert_int_equal(g[1].tids[0], 2);
	assert_string_equal(g[2].to, "/machine/sbco.vm1.libvirt-qemu/vcpu1");
	assert_int_equal(g[2].n, 1);
	assert_int_equal(g[2].tids[0], 3);
	sbco_isolate_groups_free(g, n);
	/* one group per VM: the vCPUs go to its copy, the other thread stays */
	assert_int_equal(sbco_isolate_plan(one, 3, &g, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(g[0].from, "/stall/a");
	assert_string_equal(g[0].to, "/stall/sbco.a");
	assert_int_equal(g[0].n, 2);
	assert_int_equal(g[0].tids[0], 11);
	assert_int_equal(g[0].tids[1], 12);
	sbco_isolate_groups_free(g, n);
	/* a vCPU moved already is not moved again; one started since is */
	assert_int_equal(sbco_isolate_plan(moved, 3, &g, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(g[0].n, 1);
	assert_int_equal(g[0].tids[0], 12);
	sbco_isolate_groups_free(g, n);
	/* nothing to separate: vCPUs alone in their group, only in the root group, in two
	 * VMs' groups, a vCPU whose group is unknown */
	assert_int_equal(sbco_isolate_plan(alone, 3, &g, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(sbco_isolate_plan(root, 3, &g, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(sbco_isolate_plan(apart, 3, &g, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(sbco_isolate_plan(unknown, 3, &g, &n), 0);
	assert_int_equal(n, 0);
	/* components, not bytes: /m/x and /m/xy share /m; /mm is not below /m */
	assert_int_equal(sbco_isolate_plan(prefix, 4, &g, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(g[0].to, "/sbco.m");
	assert_string_equal(g[1].from, "/m/x");
	assert_string_equal(g[1].to, "/sbco.m/x");
	assert_int_equal(g[1].tids[0], 41);
	assert_string_equal(g[2].to, "/sbco.m/xy");
	assert_int_equal(g[2].tids[0], 42);
	sbco_isolate_groups_free(g, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_starved_sibling_is_a_stall),
	    cmocka_unit_test(test_rotate_then_lift),
	    cmocka_unit_test(test_not_stalls),
	    cmocka_unit_test(test_backoff),
	    cmocka_unit_test(test_isolate_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
