/* SPDX-License-Identifier: MIT */
/*
 * libvirt domain metadata (<sbco:policy>): parsing, rejection with reasons, and its place
 * in the policy precedence (default < config rule < metadata < runtime override).
 */
#include "testutil.h"

#define NS "xmlns=\"" SBCO_XMLNS "\""

static int parse(const char *xml, struct sbco_vm_meta *m)
{
	return sbco_meta_parse(xml, strlen(xml), m);
}

static void test_valid(void **state)
{
	struct sbco_vm_meta m = {0};

	(void)state;
	/* as virDomainGetMetadata returns it, and with a prefix as an orchestrator writes it */
	assert_int_equal(parse("<policy " NS " mode=\"sbco\" alpha=\"0.5\"/>", &m), 0);
	assert_true(m.present && m.valid && m.has_mode && m.has_alpha);
	assert_int_equal(m.mode, SBCO_MODE_SBCO);
	assert_true(m.alpha == 0.5);
	assert_null(m.error);
	assert_int_equal(parse("<sbco:policy xmlns:sbco=\"" SBCO_XMLNS "\" mode='off'>\n  "
			       "</sbco:policy>",
			       &m),
			 0);
	assert_true(m.valid && m.has_mode && !m.has_alpha);
	assert_int_equal(m.mode, SBCO_MODE_OFF);
	assert_int_equal(parse("<policy " NS " alpha=\"1\"/>", &m), 0);
	assert_true(m.valid && !m.has_mode && m.has_alpha);
	/* what libvirt really returns: the namespace dropped */
	assert_int_equal(parse("<policy mode=\"bal\"/>", &m), 0);
	assert_true(m.valid && m.has_mode && m.mode == SBCO_MODE_BAL);
	assert_int_equal(parse("<policy " NS " alpha=\"1\"/>", &m), 0);
	assert_true(m.valid && !m.has_mode && m.has_alpha);
	sbco_vm_meta_clear(&m);
	assert_false(m.present);
}

static void expect_invalid(const char *xml, const char *why)
{
	struct sbco_vm_meta m = {0};

	assert_int_equal(parse(xml, &m), -EINVAL);
	assert_true(m.present);
	assert_false(m.valid || m.has_mode || m.has_alpha);
	assert_non_null(m.error);
	if (!strstr(m.error, why))
		fail_msg("'%s': error '%s' lacks '%s'", xml, m.error, why);
	sbco_vm_meta_clear(&m);
}

static void test_invalid(void **state)
{
	char big[5000];

	(void)state;
	expect_invalid("<policy " NS " mode=\"fast\"/>",
		       "mode: expected off, bal or sbco, got 'fast'");
	expect_invalid("<policy " NS " alpha=\"1.5\"/>", "alpha: must be a number in (0, 1]");
	expect_invalid("<policy " NS " alpha=\"0\"/>", "alpha");
	expect_invalid("<policy " NS " alpha=\"nan\"/>", "alpha");
	expect_invalid("<policy " NS " alpha=\"0.5x\"/>", "alpha");
	expect_invalid("<policy " NS " mode=\"sbco\" colour=\"red\"/>",
		       "unknown attribute 'colour'");
	expect_invalid("<policy xmlns=\"http://other.example/\" mode=\"sbco\"/>",
		       "not in the namespace");
	expect_invalid("<rule " NS " mode=\"sbco\"/>", "expected a <policy> element, got <rule>");
	expect_invalid("<policy " NS "><vm/></policy>", "no child elements");
	expect_invalid("<policy " NS " mode=\"bal\">text</policy>", "no text content");
	expect_invalid("<policy " NS "/>", "sets nothing");
	expect_invalid("<policy " NS " mode=\"bal\"", "not well-formed XML (line 1");
	expect_invalid("", "not well-formed XML");
	expect_invalid("<!DOCTYPE policy [<!ENTITY x \"sbco\">]><policy " NS " mode=\"&x;\"/>",
		       "DOCTYPE");
	/* hostile text is clipped and made printable in the message */
	expect_invalid("<policy " NS " mode=\"r\xc3\xa9"
		       "d\"/>",
		       "got 'r??d'");
	expect_invalid("<policy " NS " mode=\"\x1b[31mred\"/>", "not well-formed"); /* XML 1.0 */
	memset(big, ' ', sizeof(big));
	memcpy(big, "<policy " NS " mode=\"bal\"", strlen("<policy " NS " mode=\"bal\""));
	big[sizeof(big) - 3] = '/';
	big[sizeof(big) - 2] = '>';
	big[sizeof(big) - 1] = '\0';
	expect_invalid(big, "larger than 4096 bytes");
	{
		struct sbco_vm_meta m = {0};
		const char nul[] = "<policy " NS " mode=\"bal\"/>\0<x/>";

		assert_int_equal(sbco_meta_parse(nul, sizeof(nul) - 1, &m), -EINVAL);
		assert_non_null(strstr(m.error, "NUL"));
		sbco_vm_meta_clear(&m);
	}
}

static void test_precedence(void **state)
{
	const char *json = "{\"mode\": \"bal\", \"alpha\": 0.6, \"vms\": ["
			   "{\"match\": \"db-*\", \"mode\": \"off\", \"alpha\": 0.4}]}";
	struct sbco_config *c = NULL;
	char *errs = NULL;
	struct sbco_vm vm = {.name = (char *)"web-1"};
	struct sbco_vm_policy p;

	(void)state;
	assert_int_equal(sbco_config_parse(json, strlen(json), "t.json", &c, &errs), 0);
	assert_true(c->domain_metadata); /* the default */
	sbco_config_policy(c, &vm, &p);
	assert_int_equal(p.mode, SBCO_MODE_BAL);
	assert_int_equal(p.source, SBCO_SOURCE_DEFAULT);
	assert_int_equal(p.rule, -1);
	vm.name = (char *)"db-1";
	sbco_config_policy(c, &vm, &p);
	assert_int_equal(p.mode, SBCO_MODE_OFF);
	assert_int_equal(p.source, SBCO_SOURCE_RULE);
	assert_int_equal(p.rule, 0);
	assert_true(p.alpha == 0.4);
	/* metadata beats the rule, field by field */
	assert_int_equal(parse("<policy " NS " mode=\"sbco\"/>", &vm.meta), 0);
	sbco_config_policy(c, &vm, &p);
	assert_int_equal(p.mode, SBCO_MODE_SBCO);
	assert_int_equal(p.source, SBCO_SOURCE_METADATA);
	assert_true(p.alpha == 0.4); /* not set by the metadata: the rule's */
	assert_string_equal(sbco_source_name(p.source), "metadata");
	/* invalid metadata is ignored: back to the rule */
	assert_int_equal(parse("<policy " NS " mode=\"turbo\"/>", &vm.meta), -EINVAL);
	sbco_config_policy(c, &vm, &p);
	assert_int_equal(p.mode, SBCO_MODE_OFF);
	assert_int_equal(p.source, SBCO_SOURCE_RULE);
	/* the operator can turn metadata off */
	assert_int_equal(parse("<policy " NS " mode=\"sbco\"/>", &vm.meta), 0);
	c->domain_metadata = false;
	sbco_config_policy(c, &vm, &p);
	assert_int_equal(p.mode, SBCO_MODE_OFF);
	sbco_vm_meta_clear(&vm.meta);
	sbco_config_free(c);
}

static void test_config_keys(void **state)
{
	const char *ok = "{\"domain_metadata\": false, \"textfile_dir\": \"/var/lib/x\", "
			 "\"textfile_interval_s\": 30}";
	const char *bad = "{\"domain_metadata\": 1, \"textfile_dir\": \"rel/dir\", "
			  "\"textfile_interval_s\": 0}";
	struct sbco_config *c = NULL;
	char *errs = NULL;

	(void)state;
	assert_int_equal(sbco_config_parse(ok, strlen(ok), "t.json", &c, &errs), 0);
	assert_false(c->domain_metadata);
	assert_string_equal(c->textfile_dir, "/var/lib/x");
	assert_int_equal(c->textfile_interval_s, 30);
	sbco_config_free(c);
	c = NULL;
	assert_int_equal(sbco_config_parse(bad, strlen(bad), "t.json", &c, &errs), -EINVAL);
	assert_non_null(strstr(errs, "domain_metadata"));
	assert_non_null(strstr(errs, "textfile_dir: expected an absolute directory path or null"));
	assert_non_null(strstr(errs, "textfile_interval_s"));
	free(errs);
	assert_int_equal(sbco_config_default(&c), 0);
	assert_null(c->textfile_dir);
	assert_int_equal(c->textfile_interval_s, 15);
	sbco_config_free(c);
}

static void test_vm_copy(void **state)
{
	struct sbco_vm vm = {.name = (char *)"x"};
	struct sbco_vm_list l = {0};

	(void)state;
	assert_int_equal(parse("<policy " NS " mode=\"x\"/>", &vm.meta), -EINVAL);
	assert_int_equal(sbco_vm_list_add(&l, &vm), 0);
	assert_ptr_not_equal(l.vms[0].meta.error, vm.meta.error); /* a deep copy */
	assert_string_equal(l.vms[0].meta.error, vm.meta.error);
	sbco_vm_meta_clear(&vm.meta);
	sbco_vm_clear(&l.vms[0]);
	free(l.vms);
}

/* Names VMs chose reach the log escaped: one line, no terminal escapes. */
static void test_escape(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(sbco_escape_ctrl("db-1", out, sizeof(out)), 4);
	assert_string_equal(out, "db-1");
	sbco_escape_ctrl("a\nsbcod: forged\x1b[2J\\", out, sizeof(out));
	assert_string_equal(out, "a\\x0asbcod: forged\\x1b[2J\\\\");
	sbco_escape_ctrl("x\\y\x7f", out, sizeof(out));
	assert_string_equal(out, "x\\\\y\\x7f");
	/* truncation never splits an escape and always terminates */
	assert_int_equal(sbco_escape_ctrl("abc\n", out, 6), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(sbco_escape_ctrl("abc", out, 1), 0);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),      cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_precedence), cmocka_unit_test(test_config_keys),
	    cmocka_unit_test(test_vm_copy),    cmocka_unit_test(test_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
