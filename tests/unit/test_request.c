/* SPDX-License-Identifier: MIT */
/*
 * Control requests (lib/request.c): what sbcoctl sends is accepted with its fields; every
 * malformed, oversized, too deep or unexpected request is refused with a reason that says
 * where, and leaves the result zeroed.
 */
#include "testutil.h"

static int parse(const char *text, struct sbco_request *r, char *err)
{
	return sbco_request_parse(text, strlen(text), r, err, 256);
}

static void test_valid(void **state)
{
	struct sbco_request r;
	char err[256];

	(void)state;
	assert_int_equal(parse("{\"cmd\":\"status\"}\n", &r, err), 0);
	assert_int_equal(r.cmd, SBCO_CMD_STATUS);
	assert_false(sbco_cmd_mutates(r.cmd));
	assert_string_equal(r.vm, "");
	assert_int_equal(parse("{\"cmd\":\"set-mode\",\"vm\":\"db-1\",\"mode\":\"bal\"}", &r, err),
			 0);
	assert_int_equal(r.cmd, SBCO_CMD_SET_MODE);
	assert_true(sbco_cmd_mutates(r.cmd));
	assert_string_equal(r.vm, "db-1");
	assert_int_equal(r.mode, SBCO_MODE_BAL);
	assert_int_equal(parse(" {\"cmd\":\"runqueue\",\"cpu\":7} \r\n", &r, err), 0);
	assert_true(r.has_cpu);
	assert_int_equal(r.cpu, 7);
	assert_int_equal(parse("{\"cmd\":\"distance\",\"vm\":\"a[{b\"}", &r, err), 0);
	assert_string_equal(r.vm, "a[{b");
	assert_int_equal(parse("{\"cmd\":\"distance\"}", &r, err), 0);
	assert_string_equal(r.vm, "");
	for (int c = 0; c < SBCO_CMD_MAX_; c++) {
		char text[64];

		if (c == SBCO_CMD_SET_MODE)
			continue;
		snprintf(text, sizeof(text), "{\"cmd\":\"%s\"}", sbco_cmd_name((enum sbco_cmd)c));
		assert_int_equal(parse(text, &r, err), 0);
		assert_int_equal(r.cmd, c);
	}
}

static void expect_bad(const char *text, size_t len, const char *why)
{
	struct sbco_request r;
	char err[256];

	memset(&r, 0x5a, sizeof(r));
	assert_int_equal(sbco_request_parse(text, len, &r, err, sizeof(err)), -EINVAL);
	if (!strstr(err, why))
		fail_msg("'%.60s': error '%s' lacks '%s'", text, err, why);
	assert_int_equal(r.cmd, 0);
	assert_string_equal(r.vm, "");
	assert_false(r.has_cpu);
}

static void test_invalid(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
	    {"", "not JSON (error at offset 0)"},
	    {"{\"cmd\":\"status\"", "not JSON"},
	    {"[\"status\"]", "not a JSON object"},
	    {"\"status\"", "not a JSON object"},
	    {"{}", "lacks \"cmd\""},
	    {"{\"cmd\":1}", "lacks \"cmd\""},
	    {"{\"cmd\":\"shutdown\"}", "unknown cmd"},
	    {"{\"cmd\":\"status\"} {\"cmd\":\"reload\"}", "trailing data at offset 17"},
	    {"{\"cmd\":\"status\",\"vm\":\"x\"}", "status: unexpected key \"vm\""},
	    {"{\"cmd\":\"reload\",\"path\":\"/etc/shadow\"}", "unexpected key \"path\""},
	    {"{\"cmd\":\"status\",\"cmd\":\"reload\"}", "key \"cmd\" given twice"},
	    {"{\"cmd\":\"set-mode\",\"mode\":\"bal\"}", "\"vm\" is required"},
	    {"{\"cmd\":\"set-mode\",\"vm\":\"a\",\"mode\":\"turbo\"}", "\"mode\" must be"},
	    {"{\"cmd\":\"set-mode\",\"vm\":\"a\"}", "\"mode\" must be"},
	    {"{\"cmd\":\"set-mode\",\"vm\":\"\",\"mode\":\"off\"}", "\"vm\" must be a VM name"},
	    {"{\"cmd\":\"set-mode\",\"vm\":\"a\\nb\",\"mode\":\"off\"}", "\"vm\" must be"},
	    {"{\"cmd\":\"distance\",\"vm\":[\"a\"]}", "\"vm\" must be"},
	    {"{\"cmd\":\"distance\",\"vm\":\"a\\u00e9\"}", "printable ASCII"},
	    {"{\"cmd\":\"runqueue\",\"cpu\":-1}", "\"cpu\" must be a CPU number (0 to 1023)"},
	    {"{\"cmd\":\"runqueue\",\"cpu\":1.5}", "\"cpu\" must be"},
	    {"{\"cmd\":\"runqueue\",\"cpu\":1e300}", "\"cpu\" must be"},
	    {"{\"cmd\":\"runqueue\",\"cpu\":\"3\"}", "\"cpu\" must be"},
	    {"{\"cmd\":\"runqueue\",\"cpu\":{\"x\":[1]}}",
	     "nested deeper than 2 levels at offset 29"},
	};
	char name[128], big[SBCO_REQUEST_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad(bad[i].text, strlen(bad[i].text), bad[i].why);
	expect_bad("{\"cmd\":\"status\"}\0x", 18, "NUL byte at offset 16");
	memset(name, 'v', sizeof(name));
	memcpy(name, "{\"cmd\":\"distance\",\"vm\":\"", 24);
	memcpy(name + 24 + SBCO_VM_NAME_MAX, "\"}", 3);
	expect_bad(name, strlen(name), "1 to 63 printable");
	/* 64 KiB of nesting is refused before the recursive parser sees it */
	memset(big, '[', sizeof(big));
	expect_bad(big, SBCO_REQUEST_MAX, "nested deeper than 2 levels at offset 2");
	expect_bad(big, SBCO_REQUEST_MAX + 1, "larger than 65536 bytes");
	/* the longest name allowed passes */
	memcpy(name + 24 + SBCO_VM_NAME_MAX - 1, "\"}", 3);
	{
		struct sbco_request r;
		char err[256];

		assert_int_equal(parse(name, &r, err), 0);
		assert_int_equal(strlen(r.vm), SBCO_VM_NAME_MAX - 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
