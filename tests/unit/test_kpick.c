/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of sbcod's side of the kernel patch's pick-time balancing (lib/kpick.c): the
 * capability in the version line, the registration request and the counters' parser, and
 * the sync against a recording /proc/sbco/vm: sbco VMs lend, others count, a request is
 * written only when a registration changes, a VM that went is deleted, a refused request
 * is counted and retried, start and end clear the kernel's table.
 */
#include "testutil.h"

static char written[32][256];
static int nr_written, refuse;

static int rec_kernel_vm(void *ud, const char *req)
{
	(void)ud;
	if (refuse) {
		refuse--;
		return -ESRCH;
	}
	assert_true(nr_written < 32);
	snprintf(written[nr_written++], sizeof(written[0]), "%s", req);
	return 0;
}

static const struct sbco_host_ops rec_ops = {.kernel_vm = rec_kernel_vm};

static struct sbco_vm vm_of(int32_t pid, const int32_t *tids, size_t n)
{
	static char name[] = "vm";
	struct sbco_vm vm = {.name = name, .pid = pid, .domid = -1};

	vm.vcpus = calloc(n + 1, sizeof(*vm.vcpus));
	assert_non_null(vm.vcpus);
	for (size_t k = 0; k < n; k++)
		vm.vcpus[k] = (struct sbco_vcpu){.index = (int32_t)k, .tid = tids[k], .cpu = -1};
	vm.nr_vcpus = n;
	return vm;
}

static void test_has(void **state)
{
	(void)state;
	assert_true(sbco_kpatch_has("sbco 1 ordinate lend pick", "pick"));
	assert_true(sbco_kpatch_has("sbco 1 ordinate lend pick", "lend"));
	assert_false(sbco_kpatch_has("sbco 1 ordinate lend", "pick"));
	assert_false(sbco_kpatch_has("sbco 1 ordinate lendpick", "pick"));
	assert_false(sbco_kpatch_has("sbco 1 ordinate lendx", "lend"));
	assert_false(sbco_kpatch_has("xsbco 1 pick", "pick"));
	assert_false(sbco_kpatch_has(NULL, "pick"));
	assert_false(sbco_kpatch_has("sbco 1 pick", ""));
}

static void test_request(void **state)
{
	const int32_t tids[20] = {10, 0,  11, 12, 13, 14, 15, 16, 17, 18,
				  19, 20, 21, 22, 23, 24, 25, 26, 27, 28};
	struct sbco_vm vm = vm_of(42, tids, 3);
	char buf[256];

	(void)state;
	assert_int_equal(sbco_kpick_request(buf, sizeof(buf), 42, true, 2.0 / 3, &vm), 0);
	assert_string_equal(buf, "42 lend 666 10 11\n"); /* alpha rounded down; tid 0 skipped */
	assert_int_equal(sbco_kpick_request(buf, sizeof(buf), 42, false, 1.5, &vm), 0);
	assert_string_equal(buf, "42 count 1000 10 11\n");
	assert_int_equal(sbco_kpick_request(buf, 12, 42, true, 0.5, &vm), -ENOSPC);
	assert_int_equal(sbco_kpick_request(buf, sizeof(buf), 0, true, 0.5, &vm), -EINVAL);
	vm.nr_vcpus = 2; /* one thread left */
	assert_int_equal(sbco_kpick_request(buf, sizeof(buf), 42, true, 0.5, &vm), -ENOENT);
	free(vm.vcpus);
	vm = vm_of(42, tids, 20); /* at most 16 threads */
	assert_int_equal(sbco_kpick_request(buf, sizeof(buf), 42, true, 0.5, &vm), 0);
	assert_string_equal(buf, "42 lend 500 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25\n");
	free(vm.vcpus);
}

static void test_parse(void **state)
{
	const char text[] =
	    "vm 7 count 666 tids 10,11 samples 100 exceeded 40 loans 0 busy 2 "
	    "stacked 1\n"
	    "vm 8 lend 500 tids 12,13,14 samples 9 exceeded 3 loans 2 busy 0 "
	    "stacked 0 any 12 any_exceeded 5\n"
	    "vm 9 lend 500 tids 15,16 samples x\n"
	    "vm 10 lend 500 tids 17,18 samples 1 exceeded 1 loans 1 busy 1 stacked 1 "
	    "any x\n";
	struct sbco_kpick_counts c;

	(void)state;
	assert_int_equal(sbco_kpick_parse(text, 7, &c), 0);
	assert_false(c.lend);
	assert_true(c.samples == 100 && c.exceeded == 40 && c.loans == 0 && c.busy == 2 &&
		    c.stacked == 1);
	assert_true(c.any == 0 && c.any_exceeded == 0); /* an older patch: none */
	assert_int_equal(sbco_kpick_parse(text, 8, &c), 0);
	assert_true(c.lend && c.samples == 9 && c.exceeded == 3 && c.loans == 2);
	assert_true(c.any == 12 && c.any_exceeded == 5);
	assert_int_equal(sbco_kpick_parse(text, 9, &c), -EINVAL);
	assert_int_equal(sbco_kpick_parse(text, 10, &c), -EINVAL);
	assert_int_equal(sbco_kpick_parse(text, 70, &c), -ENOENT);
	assert_int_equal(sbco_kpick_parse("", 7, &c), -ENOENT);
	/* a line's counters are its own, never the next line's */
	assert_int_equal(sbco_kpick_parse("vm 7 count 1 tids 1,2\nvm 8 lend 1 tids 3,4 samples 1 "
					  "exceeded 1 loans 1 busy 1 stacked 1\n",
					  7, &c),
			 -EINVAL);
}

static void test_sync(void **state)
{
	const int32_t ta[] = {10, 11}, tb[] = {20, 21, 22}, tc[] = {30};
	struct sbco_vm_list l = {0};
	struct sbco_vm_policy pol[3] = {{.mode = SBCO_MODE_SBCO},
					{.mode = SBCO_MODE_OFF, .alpha = 0.5},
					{.mode = SBCO_MODE_SBCO}};
	struct sbco_vm v[3] = {vm_of(100, ta, 2), vm_of(200, tb, 3), vm_of(300, tc, 1)};
	struct sbco_kpick *k = NULL;

	(void)state;
	nr_written = 0;
	assert_int_equal(sbco_kpick_new(&(struct sbco_host_ops){0}, NULL, &k), -EOPNOTSUPP);
	assert_int_equal(sbco_kpick_new(&rec_ops, NULL, &k), 0);
	assert_int_equal(nr_written, 1);
	assert_string_equal(written[0], "clear\n"); /* a crashed sbcod's registrations */
	l.vms = v;
	l.nr = 3;
	assert_int_equal(sbco_kpick_sync(k, &l, pol, 2.0 / 3), 2);
	assert_int_equal(nr_written, 3);
	assert_string_equal(written[1], "100 lend 666 10 11\n");
	assert_string_equal(written[2], "200 count 500 20 21 22\n"); /* its own alpha */
	assert_true(sbco_kpick_lends(k, 100));
	assert_false(sbco_kpick_lends(k, 200));
	assert_false(sbco_kpick_lends(k, 300)); /* one vCPU: nothing to balance */
	/* nothing changed: nothing written */
	assert_int_equal(sbco_kpick_sync(k, &l, pol, 2.0 / 3), 0);
	assert_int_equal(nr_written, 3);
	/* a mode change re-registers that VM only */
	pol[1].mode = SBCO_MODE_SBCO;
	assert_int_equal(sbco_kpick_sync(k, &l, pol, 2.0 / 3), 1);
	assert_string_equal(written[3], "200 lend 500 20 21 22\n");
	assert_true(sbco_kpick_lends(k, 200));
	/* a refused request is counted and tried again at the next sync */
	pol[0].mode = SBCO_MODE_BAL;
	refuse = 1;
	assert_int_equal(sbco_kpick_sync(k, &l, pol, 2.0 / 3), 0);
	assert_int_equal(sbco_kpick_refused(k), 1);
	assert_true(sbco_kpick_lends(k, 100)); /* the kernel still has it lending */
	assert_int_equal(sbco_kpick_sync(k, &l, pol, 2.0 / 3), 1);
	assert_string_equal(written[4], "100 count 666 10 11\n");
	/* the first VM went: deleted */
	l.vms = &v[1];
	l.nr = 1;
	assert_int_equal(sbco_kpick_sync(k, &l, &pol[1], 2.0 / 3), 1);
	assert_string_equal(written[5], "100 del\n");
	assert_false(sbco_kpick_lends(k, 100));
	/* the end clears the kernel's table */
	k = sbco_kpick_free(k);
	assert_null(k);
	assert_int_equal(nr_written, 7);
	assert_string_equal(written[6], "clear\n");
	for (int i = 0; i < 3; i++)
		free(v[i].vcpus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_has),
	    cmocka_unit_test(test_request),
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_sync),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
