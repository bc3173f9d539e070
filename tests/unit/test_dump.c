/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the dump parser: every real fixture (2.6.28 ... 6.18) with asserted counts
 * and values, the row quirks (glued comm, comm with spaces, custom-slice flag, prefixes),
 * and malformed input (errors name the line; truncated input is flagged, not fatal).
 */
#include "testutil.h"

struct fixture_case {
	const char *file;
	size_t cpus, rqs, tasks;
	unsigned current, running_state;
	enum sbco_dump_layout layout;
	const char *release;
};

/* Row counts were cross-checked with an independent line counter over the same files. */
static const struct fixture_case cases[] = {
    {"01-2.6.28.10-sysrq-w-serial-linux-mm.txt", 4, 4, 0, 0, 0, SBCO_LAYOUT_CFS_EXEC,
     "2.6.28.10-v3500-1"},
    {"02-2.6.32-16-generic-pae-sysrq-syslog-ubuntuforums.txt", 1, 1, 1, 1, 1, SBCO_LAYOUT_CFS_EXEC,
     "2.6.32-16-generic-pae"},
    {"03-2.6.32-131.el6-proc-blog.txt", 1, 1, 1, 1, 1, SBCO_LAYOUT_CFS_EXEC,
     "2.6.32-131.0.15.el6.i686"},
    {"05-2.6.39-rc4-noschedstats-proc-linux-mm.txt", 1, 19, 3, 1, 1, SBCO_LAYOUT_CFS_EXEC,
     "2.6.39-rc4-jupiter1-00187-g686c4cb-dirty"},
    {"06-3.2.0-58-generic-proc-twaite-442proj2.txt", 8, 11, 1, 1, 1, SBCO_LAYOUT_CFS_EXEC,
     "3.2.0-58-generic"},
    {"08-3.13.0-77-generic-proc-csm-csci442.txt", 8, 14, 368, 3, 3, SBCO_LAYOUT_CFS_EXEC,
     "3.13.0-77-generic"},
    {"09-4.4.22-android-mtk-runnable-excerpt-blog.txt", 1, 0, 30, 0, 0, SBCO_LAYOUT_CFS_WAIT, NULL},
    {"10-4.18.0-80.11.2.el8-proc-coreos-sosreport.txt", 2, 38, 227, 2, 3, SBCO_LAYOUT_CFS_WAIT,
     "4.18.0-80.11.2.el8_0.x86_64"},
    {"12-5.10.0-10-amd64-proc-vivianchen04.txt", 2, 2, 151, 2, 3, SBCO_LAYOUT_CFS_WAIT,
     "5.10.0-10-amd64"},
    {"14-5.1x-debugfs-cfs_rq-excerpt-martins3.txt", 1, 1, 0, 0, 0, SBCO_LAYOUT_UNKNOWN, NULL},
    {"15-6.9-eevdf-runnable-excerpt-lkml.txt", 1, 0, 7, 0, 0, SBCO_LAYOUT_EEVDF_OLD, NULL},
    {"17-6.12-eevdf-runnable-excerpt-lkml.txt", 1, 0, 5, 0, 0, SBCO_LAYOUT_EEVDF, NULL},
    {"6.1-debian-guest-synthetic-vms.txt", 2, 2, 62, 2, 8, SBCO_LAYOUT_CFS_WAIT, "6.1.0-56-amd64"},
    {"6.18-host-custom-slice.txt", 2, 5, 124, 2, 5, SBCO_LAYOUT_EEVDF, "6.18.44-fc-v782"},
    {"6.18-host-synthetic-vms-hogs.txt", 2, 6, 132, 2, 12, SBCO_LAYOUT_EEVDF, "6.18.44-fc-v782"},
    {"6.18-host-two-tcg-guests-cgroups-pinned-starvation.txt", 2, 15, 93, 2, 5, SBCO_LAYOUT_EEVDF,
     "6.18.44-fc-v782"},
    {"sched-debug-6.12-tinyconfig-guest.txt", 2, 2, 33, 1, 1, SBCO_LAYOUT_EEVDF, "6.12.117"},
    {"sched-debug-6.18-two-vms-tuned.txt", 2, 17, 117, 2, 5, SBCO_LAYOUT_EEVDF, "6.18.44-fc-v782"},
    {"sched-debug-6.18-two-vms.txt", 2, 16, 117, 2, 5, SBCO_LAYOUT_EEVDF, "6.18.44-fc-v782"},
};

static void test_all_fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct fixture_case *fc = &cases[i];
		struct sbco_snapshot *s = parse_fixture(fc->file);
		unsigned cur = 0, run = 0;
		size_t rows = 0;

		for (size_t t = 0; t < s->nr_tasks; t++) {
			cur += s->tasks[t].current;
			run += s->tasks[t].state == 'R';
			assert_true(s->tasks[t].cpu < s->nr_cpus);
		}
		for (size_t c = 0; c < s->nr_cpus; c++)
			rows += s->cpus[c].nr_tasks;
		if (s->nr_cpus != fc->cpus || s->nr_rqs != fc->rqs || s->nr_tasks != fc->tasks ||
		    cur != fc->current || run != fc->running_state || rows != s->nr_tasks)
			fail_msg("%s: cpus %zu rqs %zu tasks %zu current %u R %u rows %zu",
				 fc->file, s->nr_cpus, s->nr_rqs, s->nr_tasks, cur, run, rows);
		assert_int_equal(s->cpus[0].layout, fc->layout);
		if (fc->release)
			assert_string_equal(s->release, fc->release);
		else
			assert_null(s->release);
		assert_false(s->truncated);
		sbco_snapshot_free(s);
	}
}

static void test_eevdf_row_values(void **state)
{
	struct sbco_snapshot *s = parse_fixture("sched-debug-6.18-two-vms.txt");
	const struct sbco_task *t = find_pid(s, 8601);

	(void)state;
	assert_string_equal(t->comm, "CPU 0/TCG");
	assert_true(t->current);
	assert_int_equal(t->state, 'R');
	assert_int_equal(t->vruntime_ns, 36033800552LL);
	assert_true(t->eligible);
	assert_int_equal(t->deadline_ns, 36034924372LL);
	assert_int_equal(t->slice_ns, 1400000);
	assert_false(t->custom_slice);
	assert_int_equal(t->sum_exec_ns, 44454873637LL);
	assert_int_equal(t->switches, 35327);
	assert_int_equal(t->prio, 120);
	assert_int_equal(t->node, 0);
	assert_string_equal(t->group_path, "/machine/qemu-1-tb1.libvirt-qemu/vcpu0");
	assert_int_equal(s->cpus[t->cpu].id, 0);
	assert_int_equal(s->base_slice_ns, 1400000);
	assert_int_equal(s->cpus[0].curr_pid, 8601);
	assert_int_equal(s->kernel_major, 6);
	assert_int_equal(s->kernel_minor, 18);
	/* the vcpu0 group's entity on its parent queue */
	for (uint32_t i = 0; i < s->cpus[0].nr_rqs; i++) {
		const struct sbco_cfs_rq *r = &s->rqs[s->cpus[0].first_rq + i];

		if (strcmp(r->path, "/machine/qemu-1-tb1.libvirt-qemu/vcpu0") == 0) {
			assert_int_equal(r->se_vruntime_ns, 37928057734LL);
			assert_int_equal(r->se_weight, 1048576);
			assert_int_equal(r->nr_running, 1);
			assert_int_equal(r->avg_vruntime_ns, 36033800552LL);
		}
	}
	sbco_snapshot_free(s);
}

static void test_custom_slice(void **state)
{
	struct sbco_snapshot *s = parse_fixture("sched-debug-6.18-two-vms-tuned.txt");
	const struct sbco_task *t = find_pid(s, 8602);

	(void)state;
	assert_true(t->custom_slice);
	assert_int_equal(t->slice_ns, 300000);
	assert_int_equal(t->sum_exec_ns, 59490376833LL);
	assert_int_equal(t->switches, 57126);
	sbco_snapshot_free(s);
}

/* The sbco kernel patch's "ord=N" after the group path, or after the stats without one. */
static void test_exact_ordinate(void **state)
{
	static const char dump[] =
	    "cpu#0\nrunnable tasks:\n"
	    " S            task   PID       vruntime   eligible    deadline             slice"
	    "          sum-exec      switches  prio         wait-time        sum-sleep       "
	    "sum-block  group-path  ord\n----\n"
	    ">R       CPU 0/KVM    10     1.000000   E     2.000000   1.400000   1.000000   1"
	    "   120   0.000000   0.000000   0.000000        / ord=0\n"
	    " R            hog1    11     1.500000   N     2.900000   1.400000   1.000000   1"
	    "   120   0.000000   0.000000   0.000000        /machine/vcpu1 ord=2\n"
	    " S           sleep    12     1.500000   N     2.900000   1.400000   1.000000   1"
	    "   120   0.000000   0.000000   0.000000        / ord=-1\n"
	    " R            hog2    13     1.500000   E     2.100000   1.400000   1.000000   1"
	    "   120   0.000000   0.000000   0.000000 ord=1\n";
	static const char bad[] =
	    " R            hog3    14     1.500000   E     2.100000   1.400000   1.000000   1"
	    "   120   0.000000   0.000000   0.000000 ord=x\n";
	char both[sizeof(dump) + sizeof(bad)];
	struct sbco_snapshot *s = NULL;
	char err[128];

	(void)state;
	/* a malformed "ord=x" is an error naming its line */
	snprintf(both, sizeof(both), "%s%s", dump, bad);
	assert_int_equal(sbco_dump_parse(both, strlen(both), &s, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "line 9"));
	assert_int_equal(sbco_dump_parse(dump, sizeof(dump) - 1, &s, err, sizeof(err)), 0);
	assert_int_equal(s->nr_tasks, 4);
	assert_int_equal(find_pid(s, 10)->exact_ord, 0);
	assert_string_equal(find_pid(s, 10)->group_path, "/");
	assert_int_equal(find_pid(s, 11)->exact_ord, 2);
	assert_string_equal(find_pid(s, 11)->group_path, "/machine/vcpu1");
	assert_true(find_pid(s, 11)->have & SBCO_HAVE_EXACT_ORD);
	assert_int_equal(find_pid(s, 12)->exact_ord, -1);
	assert_int_equal(find_pid(s, 13)->exact_ord, 1);
	assert_false(find_pid(s, 13)->have & SBCO_HAVE_PATH);
	sbco_snapshot_free(s);
	/* a dump without the patch: no exact ordinate */
	s = parse_fixture("sched-debug-6.18-two-vms.txt");
	assert_false(find_pid(s, 8601)->have & SBCO_HAVE_EXACT_ORD);
	assert_int_equal(find_pid(s, 8601)->exact_ord, -1);
	sbco_snapshot_free(s);
}

static void test_glued_comm_and_negative(void **state)
{
	struct sbco_snapshot *s = parse_fixture("15-6.9-eevdf-runnable-excerpt-lkml.txt");
	const struct sbco_task *t = find_pid(s, 4);

	(void)state;
	assert_string_equal(t->comm, "kworker/R-rcu_g");
	assert_int_equal(t->state, 'I');
	assert_int_equal(t->vruntime_ns, -1048576);
	assert_int_equal(t->slice_ns, 750000);
	assert_int_equal(t->numa_group, 0);
	assert_int_equal(s->cpus[0].id, -1); /* excerpt: no cpu# line */
	t = find_pid(s, 12);
	assert_string_equal(t->comm, "rcu_tasks_kthre");
	sbco_snapshot_free(s);
}

static void test_old_kernels(void **state)
{
	struct sbco_snapshot *s =
	    parse_fixture("02-2.6.32-16-generic-pae-sysrq-syslog-ubuntuforums.txt");
	const struct sbco_task *t = find_pid(s, 316);

	(void)state;
	assert_string_equal(t->comm, "resume");
	assert_true(t->current);
	assert_int_equal(t->vruntime_ns, 20921417011LL);
	assert_int_equal(t->sum_exec_ns, 20178366419LL);
	assert_string_equal(t->group_path, "/");
	assert_int_equal(s->latency_ns, 5000000);
	assert_int_equal(s->skipped_lines, 1); /* the interleaved " khubd" record */
	sbco_snapshot_free(s);

	s = parse_fixture("05-2.6.39-rc4-noschedstats-proc-linux-mm.txt");
	t = find_pid(s, 6);
	assert_string_equal(t->comm, "rcu_kthread");
	assert_int_equal(t->prio, 98);
	assert_false(t->have & SBCO_HAVE_SUM_EXEC); /* !SCHEDSTATS zeros carry no data */
	sbco_snapshot_free(s);

	s = parse_fixture("08-3.13.0-77-generic-proc-csm-csci442.txt");
	t = find_pid(s, 4420);
	assert_string_equal(t->comm, "alsa-sink-HDMI "); /* comm ending in a blank */
	assert_int_equal(t->node, 0);
	assert_string_equal(t->group_path, "/autogroup-4930");
	t = find_pid(s, 4389);
	assert_string_equal(t->comm, "dconf worker");
	sbco_snapshot_free(s);
}

static void expect_error(const char *text, const char *needle)
{
	struct sbco_snapshot *s = NULL;
	char err[256];
	int r = sbco_dump_parse(text, strlen(text), &s, err, sizeof(err));

	assert_int_equal(r, -EBADMSG);
	assert_null(s);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not contain '%s'", err, needle);
}

static void test_malformed(void **state)
{
	(void)state;
	expect_error("", "line 1: not a scheduler debug dump");
	expect_error("hello world\nfoo bar\n", "line 1: not a scheduler debug dump");
	expect_error("cpu#0\nrunnable tasks:\nwhat is this\n", "line 3: expected the runnable");
	expect_error("cpu#0\nrunnable tasks:\n task PID delta waiting\n", "line 3: unknown");
	expect_error("cpu#x\n", "line 1: cannot read CPU number");
	/* fuzz find: a second table whose header is missing must not reuse the first's */
	expect_error("cpu#0\nrunnable tasks:\n"
		     " S            task   PID         tree-key  switches  prio     wait-time"
		     "             sum-exec        sum-sleep\n----\n"
		     "cpu#1\nrunnable tasks:\n----\n"
		     " R             cat  1279     10714.1         1   120 0.0 1.0 2.0 /\n",
		     "line 7: expected the runnable-tasks header");
	expect_error("cfs_rq[12:/\n", "line 1: cannot read cfs_rq header");
	expect_error("cpu#0\nrunnable tasks:\n"
		     " S            task   PID         tree-key  switches  prio     wait-time"
		     "             sum-exec        sum-sleep\n"
		     "------------------------------------------\n"
		     " R             cat  1279     10714.8x4637         1   120 0.0 1.0 2.0 /\n",
		     "line 5: cannot read task row: malformed number");
	expect_error("cpu#0\nrunnable tasks:\n"
		     " S            task   PID         tree-key  switches  prio     wait-time"
		     "             sum-exec        sum-sleep\n"
		     "------------------------------------------\n"
		     " R             cat  1279     10714.1         1   120 0.0 1.0 7 /\n",
		     "line 5: cannot read task row: statistics columns");
}

static void test_truncated_and_nul(void **state)
{
	const char *hdr = "cpu#0\n  .nr_running : 1\nrunnable tasks:\n"
			  " S            task   PID         tree-key  switches  prio     wait-time"
			  "             sum-exec        sum-sleep\n"
			  "------------------------------------------\n"
			  ">R             cat  1279     10714.854637         1   120   0.000000"
			  "   2.175898   0.000000 0 0 /\n";
	char buf[1024], err[128];
	struct sbco_snapshot *s;

	(void)state;
	snprintf(buf, sizeof(buf), "%s R             cat  1280     10714.85", hdr);
	s = parse_text(buf);
	assert_true(s->truncated);
	assert_int_equal(s->nr_tasks, 1);
	assert_int_equal(s->cpus[0].nr_running, 1);
	sbco_snapshot_free(s);

	memcpy(buf, "cpu#0\n\0x\n", 9);
	assert_int_equal(sbco_dump_parse(buf, 9, &s, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "line 2: NUL byte"));
	assert_int_equal(sbco_dump_parse(NULL, 0, &s, NULL, 0), -EINVAL);
}

static void test_prefixes_and_crlf(void **state)
{
	const char *txt =
	    "> [  401.429454][    T0] cpu#3, 999.999 MHz\r\n"
	    "> [  401.429454][    T0]   .curr->pid : 42\r\n"
	    "> [  401.429455][    T0] runnable tasks:\r\n"
	    "> [  401.429455][    T0]  S            task   PID       vruntime   eligible"
	    "    deadline             slice          sum-exec      switches  prio\r\n"
	    "> [  401.429456][    T0] --------------------------------------------\r\n"
	    "> [  401.429456][    T0] >R       CPU 0/KVM    42      5.000000   N"
	    "       6.000000 S         0.300000      1.000000         3     125"
	    "         0.000000         0.000000         0.000000        /a b/c\r\n";
	struct sbco_snapshot *s = parse_text(txt);
	const struct sbco_task *t = find_pid(s, 42);

	(void)state;
	assert_int_equal(s->cpus[0].id, 3);
	assert_int_equal(s->cpus[0].curr_pid, 42);
	assert_string_equal(t->comm, "CPU 0/KVM");
	assert_false(t->eligible);
	assert_true(t->custom_slice);
	assert_int_equal(t->slice_ns, 300000);
	assert_int_equal(t->prio, 125);
	assert_string_equal(t->group_path, "/a b/c");
	assert_false(t->have & SBCO_HAVE_NODE);
	sbco_snapshot_free(s);
}

static void test_numbers(void **state)
{
	int64_t ns;
	uint64_t u;

	(void)state;
	assert_int_equal(sbco_parse_ms_ns("1.5", 3, &ns), 0);
	assert_int_equal(ns, 1500000);
	assert_int_equal(sbco_parse_ms_ns("-4.853692", 9, &ns), 0);
	assert_int_equal(ns, -4853692);
	assert_int_equal(sbco_parse_ms_ns("0.000001", 8, &ns), 0);
	assert_int_equal(ns, 1);
	assert_int_equal(sbco_parse_ms_ns("12", 2, &ns), 0);
	assert_int_equal(ns, 12000000);
	assert_int_equal(sbco_parse_ms_ns("99999999999999999999.0", 22, &ns), -ERANGE);
	assert_int_equal(sbco_parse_ms_ns("1.2.3", 5, &ns), -EINVAL);
	assert_int_equal(sbco_parse_ms_ns("-", 1, &ns), -EINVAL);
	assert_int_equal(sbco_parse_ms_ns(".5", 2, &ns), -EINVAL);
	assert_int_equal(sbco_parse_u64("18446744073709551615", &u), 0);
	assert_true(u == UINT64_MAX);
	assert_int_equal(sbco_parse_u64("18446744073709551616", &u), -ERANGE);
	assert_int_equal(sbco_parse_u64("-1", &u), -EINVAL);
	assert_int_equal(sbco_parse_u64("", &u), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_all_fixtures),
	    cmocka_unit_test(test_eevdf_row_values),
	    cmocka_unit_test(test_custom_slice),
	    cmocka_unit_test(test_exact_ordinate),
	    cmocka_unit_test(test_glued_comm_and_negative),
	    cmocka_unit_test(test_old_kernels),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_truncated_and_nul),
	    cmocka_unit_test(test_prefixes_and_crlf),
	    cmocka_unit_test(test_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
