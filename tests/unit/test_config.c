/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the config: the shipped example, every field's validation (the error
 * names the field and the reason), unknown and duplicate keys, syntax errors with
 * line:col, per-VM rules (name, uuid, glob; first match wins), lever choice.
 */
#include "testutil.h"

static struct sbco_config *ok(const char *json)
{
	struct sbco_config *c = NULL;
	char *errs = NULL;
	int r = sbco_config_parse(json, strlen(json), "t.json", &c, &errs);

	if (r != 0)
		fail_msg("config rejected: %s", errs ? errs : "?");
	return c;
}

static void bad(const char *json, const char *want)
{
	struct sbco_config *c = NULL;
	char *errs = NULL;

	assert_int_equal(sbco_config_parse(json, strlen(json), "t.json", &c, &errs), -EINVAL);
	assert_null(c);
	assert_non_null(errs);
	if (!strstr(errs, want))
		fail_msg("for %s: errors '%s' lack '%s'", json, errs, want);
	free(errs);
}

static void test_example_and_defaults(void **state)
{
	struct sbco_config *c = NULL;
	char *errs = NULL;

	(void)state;
	if (sbco_config_load("conf/sbco.json", &c, &errs) != 0)
		fail_msg("conf/sbco.json: %s", errs ? errs : "?");
	assert_int_equal(c->mode, SBCO_MODE_BAL);
	assert_int_equal(c->interval_ms, 250);
	assert_int_equal(c->nr_rules, 2);
	assert_int_equal(c->rules[0].kind, SBCO_MATCH_GLOB);
	assert_int_equal(c->balance.hold_slice_ns, 3000000);
	assert_int_equal(c->patterns.n, 5);
	sbco_config_free(c);
	c = ok("{}");
	assert_int_equal(c->mode, SBCO_MODE_BAL);
	assert_string_equal(c->libvirt_uri, "qemu:///system");
	assert_int_equal(c->nr_levers, 4);
	assert_int_equal(c->levers[0], SBCO_LEVER_KERNEL);
	assert_true(c->alpha > 0.66 && c->alpha < 0.67);
	assert_true(c->stall_respond);
	assert_true(c->stall.isolate);
	assert_int_equal(c->stall.detect_ns, 1000000000ull);
	assert_int_equal(c->stall.hold_ns, 10000000000ull);
	assert_true(c->balance.kernel_pick_lend); /* the kernel lends at its picks by default */
	sbco_config_free(c);
	c = ok("{\"balance\": {\"kernel_pick\": \"lend\"}}");
	assert_true(c->balance.kernel_pick_lend);
	sbco_config_free(c);
	c = ok("{\"balance\": {\"kernel_pick\": \"count\"}}");
	assert_false(c->balance.kernel_pick_lend);
	sbco_config_free(c);
	c = ok("{\"stall\": {\"respond\": false, \"starve_share\": 0.1, \"detect_ms\": 500, "
	       "\"hold_s\": 3, \"hold_max_s\": 30, \"isolate\": false}}");
	assert_false(c->stall_respond);
	assert_false(c->stall.isolate);
	assert_true(c->stall.starve_frac > 0.099 && c->stall.starve_frac < 0.101);
	assert_int_equal(c->stall.detect_ns, 500000000ull);
	assert_int_equal(c->stall.hold_ns, 3000000000ull);
	assert_int_equal(c->stall.hold_max_ns, 30000000000ull);
	sbco_config_free(c);
	assert_int_equal(sbco_config_load("/nonexistent.json", &c, &errs), -ENOENT);
	assert_non_null(strstr(errs, "cannot open"));
	free(errs);
}

static void test_every_field(void **state)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
	    {"{\"mode\": \"fast\"}",
	     "t.json: mode: expected \"off\"|\"bal\"|\"sbco\", got \"fast\""},
	    {"{\"mode\": 1}", "mode: expected"},
	    {"{\"interval_ms\": 5}", "interval_ms: must be in [10, 10000], got 5"},
	    {"{\"interval_ms\": 100.5}", "interval_ms: expected an integer"},
	    {"{\"interval_ms\": \"1\"}", "interval_ms: expected a number"},
	    {"{\"alpha\": 0}", "alpha: must be in (0, 1], got 0"},
	    {"{\"alpha\": 1.5}", "alpha: must be in (0, 1], got 1.5"},
	    {"{\"levers\": []}", "levers: expected a non-empty array"},
	    {"{\"levers\": [\"turbo\"]}", "levers[0]: expected"},
	    {"{\"levers\": [\"nice\", \"nice\"]}", "levers[1]: \"nice\" listed twice"},
	    {"{\"libvirt_uri\": 3}", "libvirt_uri: expected a URI string or null"},
	    {"{\"vcpu_patterns\": [\"\"]}", "vcpu_patterns[0]: expected a non-empty glob"},
	    {"{\"vcpu_patterns\": \"x\"}", "vcpu_patterns: expected a non-empty array"},
	    {"{\"housekeeping_cpus\": \"0-\"}", "housekeeping_cpus: expected a CPU list"},
	    {"{\"housekeeping_cpus\": \"9999\"}", "housekeeping_cpus: CPU numbers must be below"},
	    {"{\"override_pinning\": 1}", "override_pinning: expected true or false"},
	    {"{\"balance\": []}", "balance: expected an object"},
	    {"{\"balance\": {\"boost_slice_us\": 50}}", "balance.boost_slice_us: must be in [100"},
	    {"{\"balance\": {\"hold_slice_us\": 200000}}", "balance.hold_slice_us: must be in"},
	    {"{\"balance\": {\"weight_factor\": 0}}", "balance.weight_factor: must be in (0, 0.9]"},
	    {"{\"balance\": {\"nice_step\": 20}}", "balance.nice_step: must be in [1, 19]"},
	    {"{\"balance\": {\"dirty_timeout_ms\": -1}}", "balance.dirty_timeout_ms: must be in"},
	    {"{\"balance\": {\"max_loan_ms\": 5}}", "balance.max_loan_ms: must be in [10"},
	    {"{\"balance\": {\"kernel_pick\": true}}",
	     "balance.kernel_pick: expected \"count\" or \"lend\""},
	    {"{\"balance\": {\"speed\": 1}}", "balance.speed: unknown key"},
	    {"{\"stall\": 1}", "stall: expected an object"},
	    {"{\"stall\": {\"respond\": 1}}", "stall.respond: expected true or false"},
	    {"{\"stall\": {\"isolate\": \"yes\"}}", "stall.isolate: expected true or false"},
	    {"{\"stall\": {\"starve_share\": 0.6}}", "stall.starve_share: must be in (0, 0.5]"},
	    {"{\"stall\": {\"detect_ms\": 50}}", "stall.detect_ms: must be in [100"},
	    {"{\"stall\": {\"hold_s\": 20, \"hold_max_s\": 10}}",
	     "stall.hold_max_s: must not be below"},
	    {"{\"stall\": {\"x\": 1}}", "stall.x: unknown key"},
	    {"{\"vms\": {}}", "vms: expected an array of rules"},
	    {"{\"vms\": [1]}", "vms[0]: expected an object"},
	    {"{\"vms\": [{\"mode\": \"off\"}]}", "vms[0]: needs exactly one of"},
	    {"{\"vms\": [{\"name\": \"a\", \"uuid\": \"b\"}]}", "got 2"},
	    {"{\"vms\": [{\"name\": \"\"}]}", "vms[0].name: expected a non-empty string"},
	    {"{\"vms\": [{\"name\": \"a\"}, {\"name\": \"b\", \"alpha\": 1.5}]}",
	     "vms[1].alpha: must be in (0, 1], got 1.5"},
	    {"{\"vms\": [{\"name\": \"a\", \"mode\": \"x\"}]}", "vms[0].mode: expected"},
	    {"{\"vms\": [{\"name\": \"a\", \"override_pinning\": 0}]}",
	     "vms[0].override_pinning: expected true or false"},
	    {"{\"vms\": [{\"name\": \"a\", \"cpus\": 2}]}", "vms[0].cpus: unknown key"},
	    {"{\"modes\": \"bal\"}", "modes: unknown key"},
	    {"{\"mode\": \"bal\", \"mode\": \"off\"}", "mode: duplicate key"},
	    {"[]", "expected a JSON object at the top level"},
	    {"{\n  \"mode\": \"bal\",\n  \"alpha\": }", "t.json: 3:12: syntax error"},
	    {"{} trailing", "1:4: syntax error"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		bad(cases[i].json, cases[i].want);
	/* every error is reported, not just the first */
	bad("{\"mode\": \"x\", \"alpha\": 2}", "alpha: must be in");
}

static void test_rules(void **state)
{
	struct sbco_config *c =
	    ok("{\"mode\": \"bal\", \"alpha\": 0.6, \"vms\": ["
	       "{\"uuid\": \"0F0E0D0C-0B0A-0908-0706-050403020100\", \"mode\": \"off\"},"
	       "{\"match\": \"db-*\", \"mode\": \"sbco\", \"alpha\": 0.5},"
	       "{\"name\": \"db-1\", \"mode\": \"off\"},"
	       "{\"name\": \"pinned\", \"override_pinning\": true}]}");
	struct sbco_vm vm = {.name = (char *)"db-1"};
	struct sbco_vm_policy p;

	(void)state;
	sbco_config_policy(c, &vm, &p); /* the glob comes first and wins */
	assert_int_equal(p.mode, SBCO_MODE_SBCO);
	assert_true(p.alpha == 0.5);
	vm.name = (char *)"web";
	sbco_config_policy(c, &vm, &p);
	assert_int_equal(p.mode, SBCO_MODE_BAL);
	assert_true(p.alpha == 0.6);
	snprintf(vm.uuid, sizeof(vm.uuid), "0f0e0d0c-0b0a-0908-0706-050403020100");
	sbco_config_policy(c, &vm, &p);
	assert_int_equal(p.mode, SBCO_MODE_OFF);
	vm.uuid[0] = '\0';
	vm.name = (char *)"pinned";
	sbco_config_policy(c, &vm, &p);
	assert_true(p.override_pinning);
	assert_int_equal(p.mode, SBCO_MODE_BAL);
	sbco_config_free(c);
}

static void test_lever_pick(void **state)
{
	static const enum sbco_lever all[4] = {SBCO_LEVER_KERNEL, SBCO_LEVER_SLICE,
					       SBCO_LEVER_WEIGHT, SBCO_LEVER_NICE};
	static const enum sbco_lever slice_only[1] = {SBCO_LEVER_SLICE};

	(void)state;
	assert_int_equal(sbco_lever_pick(all + 1, 3, 6, 18, false, false), SBCO_LEVER_SLICE);
	assert_int_equal(sbco_lever_pick(all + 1, 3, 6, 6, true, false), SBCO_LEVER_WEIGHT);
	assert_int_equal(sbco_lever_pick(all + 1, 3, 5, 10, false, false), SBCO_LEVER_NICE);
	assert_int_equal(sbco_lever_pick(slice_only, 1, 6, 1, true, false), -ENOENT);
	assert_int_equal(sbco_lever_pick(all + 3, 1, 6, 18, true, false), SBCO_LEVER_NICE);
	/* the kernel patch: first when it runs, skipped when it does not */
	assert_int_equal(sbco_lever_pick(all, 4, 6, 18, false, true), SBCO_LEVER_KERNEL);
	assert_int_equal(sbco_lever_pick(all, 4, 6, 18, false, false), SBCO_LEVER_SLICE);
	assert_int_equal(sbco_lever_pick(all, 1, 6, 18, true, false), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_example_and_defaults),
	    cmocka_unit_test(test_every_field),
	    cmocka_unit_test(test_rules),
	    cmocka_unit_test(test_lever_pick),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
