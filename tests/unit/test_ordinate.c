/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the ordinate model: the SBCO paper's Fig. 3a queue (CFS, order by
 * vruntime), EEVDF picks (eligible-earliest-deadline beats smallest vruntime), group
 * hierarchies (a group entity's position outranks its tasks' vruntimes), the running task,
 * RT tasks, and the fixtures (distinct ordinates, waits growing with the ordinate).
 */
#include "testutil.h"

#define CFS_HDR                                                                                    \
	"runnable tasks:\n"                                                                        \
	"            task   PID         tree-key  switches  prio     exec-runtime         "        \
	"sum-exec"                                                                                 \
	"        sum-sleep\n"                                                                      \
	"----------------------------------------------------------------------------------------" \
	"------------------\n"

#define WAIT_HDR                                                                                   \
	"runnable tasks:\n"                                                                        \
	" S            task   PID         tree-key  switches  prio     wait-time             sum-" \
	"exec        sum-sleep\n"                                                                  \
	"---------------------------------------------------------------------------------------"  \
	"----------------------\n"

#define EEVDF_HDR                                                                                  \
	"runnable tasks:\n"                                                                        \
	" S            task   PID       vruntime   eligible    deadline             slice        " \
	"  "                                                                                       \
	"sum-exec      switches  prio         wait-time        sum-sleep       sum-block  node   " \
	"group-id  group-path\n"                                                                   \
	"--------------------------------------------------------------------------------------\n"

static size_t cat(char *buf, size_t cap, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static size_t cat(char *buf, size_t cap, size_t at, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + at, cap - at, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < cap - at);
	return at + (size_t)n;
}

static int32_t ord_of(const struct sbco_snapshot *s, const struct sbco_ordinates *o, int pid)
{
	return o->task[find_pid(s, pid) - s->tasks].ordinate;
}

/* Fig. 3a of the paper: eight runnable tasks; ORDER follows the vruntime. */
static void test_fig3a(void **state)
{
	static const char *const key[8] = {"5556.399127", "5556.620530", "5556.792013",
					   "5557.007206", "5557.192115", "5557.198289",
					   "5559.010627", "5560.140783"};
	static const int row_order[8] = {5, 2, 7, 0, 3, 6, 1, 4};
	char buf[8192];
	size_t at = 0;
	struct sbco_snapshot *s;
	struct sbco_ordinates *o;
	int64_t last_wait = -1;

	(void)state;
	at = cat(buf, sizeof(buf), at,
		 "Sched Debug Version: v0.09, 2.6.32-fig3a #1\n"
		 "  .sysctl_sched_latency : 5.000000\n"
		 "  .sysctl_sched_min_granularity : 1.000000\n"
		 "cpu#0, 2000.000 MHz\n  .nr_running : 8\n  .curr->pid : 0\n"
		 "cfs_rq[0]:/\n  .nr_running : 8\n  .load : 8192\n" CFS_HDR);
	for (int i = 0; i < 8; i++) {
		int k = row_order[i];

		at = cat(buf, sizeof(buf), at, " %15s %5d %16s %9d %5d %16s %16s %16s /\n",
			 "qemu-kvm", 1000 + k, key[k], 10, 120, key[k], "1.000000", "0.000000");
	}
	s = parse_text(buf);
	assert_int_equal(sbco_ordinates_compute(s, &o), 0);
	assert_int_equal(o->cpu[0].nr_runnable, 8);
	assert_false(o->cpu[0].eevdf);
	for (int k = 0; k < 8; k++) {
		const struct sbco_ordinate *od = &o->task[find_pid(s, 1000 + k) - s->tasks];

		assert_int_equal(od->ordinate, k);
		assert_true(od->wait_ns > last_wait);
		last_wait = od->wait_ns;
	}
	sbco_ordinates_free(o);
	sbco_snapshot_free(s);
}

static size_t eevdf_row(char *buf, size_t cap, size_t at, bool cur, int pid, const char *v,
			char elig, const char *dl, const char *slice, int prio, const char *path)
{
	return cat(buf, cap, at,
		   "%s %15s %5d %16s   %c   %16s   %16s %16s %9d   %5d %16s %16s %16s   0      0"
		   "        %s\n",
		   cur ? ">R" : " R", "task", pid, v, elig, dl, slice, "1.000000", 5, prio,
		   "0.000000", "0.000000", "0.000000", path);
}

/* EEVDF: B has a larger vruntime than A but is eligible with an earlier deadline. */
static void test_eevdf_pick(void **state)
{
	char buf[8192];
	size_t at;
	struct sbco_snapshot *s;
	struct sbco_ordinates *o;

	(void)state;
	at = cat(buf, sizeof(buf), 0, "cpu#0\n  .nr_running : 3\n" EEVDF_HDR);
	at = eevdf_row(buf, sizeof(buf), at, false, 1, "100.000000", 'E', "110.000000", "10.000000",
		       120, "/");
	at = eevdf_row(buf, sizeof(buf), at, false, 2, "101.000000", 'E', "102.000000", "1.000000",
		       120, "/");
	eevdf_row(buf, sizeof(buf), at, false, 3, "103.000000", 'N', "104.000000", "1.000000", 120,
		  "/");
	s = parse_text(buf);
	assert_int_equal(sbco_ordinates_compute(s, &o), 0);
	assert_true(o->cpu[0].eevdf);
	/* V = 101.33: A and B eligible, B's deadline first; then only A is eligible. */
	assert_int_equal(ord_of(s, o, 2), 0);
	assert_int_equal(ord_of(s, o, 1), 1);
	assert_int_equal(ord_of(s, o, 3), 2);
	assert_int_equal(o->task[find_pid(s, 1) - s->tasks].wait_ns, 1000000); /* B's slice */
	sbco_ordinates_free(o);
	sbco_snapshot_free(s);
}

/* The kernel patch's "ord=" (timeline rank: deadline order, a delayed entity counted)
 * replaces the model on a flat queue, densely renumbered; not on a hierarchical one. */
static void test_exact_ordinates(void **state)
{
	char buf[8192];
	size_t at;
	struct sbco_snapshot *s;
	struct sbco_ordinates *o;

	(void)state;
	for (int flat = 1; flat >= 0; flat--) {
		at = cat(buf, sizeof(buf), 0, "cpu#0\n  .nr_running : 3\n" EEVDF_HDR);
		at = eevdf_row(buf, sizeof(buf), at, false, 1, "100.000000", 'E', "110.000000",
			       "10.000000", 120, "/ ord=3");
		at = eevdf_row(buf, sizeof(buf), at, false, 2, "101.000000", 'E', "102.000000",
			       "1.000000", 120, "/ ord=0");
		eevdf_row(buf, sizeof(buf), at, false, 3, "103.000000", 'N', "104.000000",
			  "1.000000", 120, flat ? "/ ord=1" : "/g ord=0");
		s = parse_text(buf);
		assert_int_equal(sbco_ordinates_compute(s, &o), 0);
		assert_int_equal(o->cpu[0].exact, flat);
		assert_int_equal(ord_of(s, o, 2), 0);
		assert_int_equal(ord_of(s, o, 1), flat ? 2 : 1); /* model: A before C */
		assert_int_equal(ord_of(s, o, 3), flat ? 1 : 2);
		sbco_ordinates_free(o);
		sbco_snapshot_free(s);
	}
}

/* What a position costs: the median run per switch of busy runnable tasks (ticks). */
static void test_slot_estimate(void **state)
{
	static const struct {
		char st;
		const char *exec;
		int sw;
	} rows[] = {{'R', "400.000000", 100},
		    {'R', "800.000000", 200},
		    {'R', "140.000000", 100},
		    {'S', "9000.000000", 100},
		    {'R', "90.000000", 5}};
	char buf[8192];
	size_t at;
	struct sbco_snapshot *s;
	struct sbco_ordinates *o;

	(void)state;
	at = cat(buf, sizeof(buf), 0, "cpu#0\n" EEVDF_HDR);
	for (int i = 0; i < 5; i++)
		at = cat(
		    buf, sizeof(buf), at,
		    " %c %15s %5d %16s   E   %16s   %16s %16s %9d   120 %16s %16s %16s   0      "
		    "0        /\n",
		    rows[i].st, "task", 10 + i, "1.000000", "2.000000", "1.400000", rows[i].exec,
		    rows[i].sw, "0.000000", "0.000000", "0.000000");
	s = parse_text(buf);
	assert_int_equal(sbco_ordinates_compute(s, &o), 0);
	/* 4 ms, 4 ms, 1.4 ms; the sleeper and the rarely switching task do not count */
	assert_int_equal(sbco_slot_estimate(s, o), 4000000);
	sbco_ordinates_free(o);
	sbco_snapshot_free(s);
}

/* The running task is 0 whatever its keys; RT tasks are not in the fair order. */
static void test_current_and_rt(void **state)
{
	char buf[8192];
	size_t at;
	struct sbco_snapshot *s;
	struct sbco_ordinates *o;

	(void)state;
	at = cat(buf, sizeof(buf), 0, "cpu#0\n" EEVDF_HDR);
	at = eevdf_row(buf, sizeof(buf), at, false, 1, "100.000000", 'E', "101.000000", "1.000000",
		       120, "/");
	at = eevdf_row(buf, sizeof(buf), at, true, 2, "105.000000", 'N', "106.000000", "1.000000",
		       120, "/");
	eevdf_row(buf, sizeof(buf), at, false, 3, "0.000000", 'E', "0.000000", "1.000000", 49, "/");
	s = parse_text(buf);
	assert_int_equal(sbco_ordinates_compute(s, &o), 0);
	assert_int_equal(ord_of(s, o, 2), 0);
	assert_int_equal(ord_of(s, o, 1), 1);
	assert_int_equal(ord_of(s, o, 3), -1);
	assert_int_equal(o->cpu[0].nr_rt, 1);
	assert_int_equal(o->cpu[0].nr_runnable, 2);
	sbco_ordinates_free(o);
	sbco_snapshot_free(s);
}

/* CFS groups: /g2's entity is ahead of /g1's, so its task runs first although the tasks
 * of /g1 have smaller vruntimes of their own. */
static void test_hierarchy(void **state)
{
	char buf[8192];
	size_t at;
	struct sbco_snapshot *s;
	struct sbco_ordinates *o;
	const char *g2v[2] = {"40.000000", "500.000000"};

	(void)state;
	for (int round = 0; round < 2; round++) {
		at = cat(buf, sizeof(buf), 0,
			 "cpu#0\n  .nr_running : 3\n"
			 "cfs_rq[0]:/g1\n  .nr_running : 2\n  .se->vruntime : 50.000000\n"
			 "  .se->load.weight : 1048576\n"
			 "cfs_rq[0]:/g2\n  .nr_running : 1\n  .se->vruntime : %s\n"
			 "  .se->load.weight : 1048576\n"
			 "cfs_rq[0]:/\n  .nr_running : 2\n  .load : 2097152\n" WAIT_HDR,
			 g2v[round]);
		at = cat(buf, sizeof(buf), at, " R %15s %5d %16s %9d %5d %16s %16s %16s 0 0 /g1\n",
			 "t1", 1, "10.000000", 1, 120, "0.000000", "1.000000", "0.000000");
		at = cat(buf, sizeof(buf), at, " R %15s %5d %16s %9d %5d %16s %16s %16s 0 0 /g1\n",
			 "t2", 2, "20.000000", 1, 120, "0.000000", "1.000000", "0.000000");
		cat(buf, sizeof(buf), at, " R %15s %5d %16s %9d %5d %16s %16s %16s 0 0 /g2\n", "t3",
		    3, "30.000000", 1, 120, "0.000000", "1.000000", "0.000000");
		s = parse_text(buf);
		assert_int_equal(sbco_ordinates_compute(s, &o), 0);
		if (round == 0) {
			assert_int_equal(ord_of(s, o, 3), 0);
			assert_int_equal(ord_of(s, o, 1), 1);
			assert_int_equal(ord_of(s, o, 2), 2);
		} else {
			assert_int_equal(ord_of(s, o, 1), 0);
			assert_int_equal(ord_of(s, o, 2), 1);
			assert_int_equal(ord_of(s, o, 3), 2);
		}
		sbco_ordinates_free(o);
		sbco_snapshot_free(s);
	}
}

static void test_fixtures_consistent(void **state)
{
	static const char *const files[] = {
	    "6.18-host-synthetic-vms-hogs.txt",
	    "sched-debug-6.18-two-vms-tuned.txt",
	    "6.1-debian-guest-synthetic-vms.txt",
	    "10-4.18.0-80.11.2.el8-proc-coreos-sosreport.txt",
	    "08-3.13.0-77-generic-proc-csm-csci442.txt",
	    "6.18-host-two-tcg-guests-cgroups-pinned-starvation.txt"};

	(void)state;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		struct sbco_snapshot *s = parse_fixture(files[f]);
		struct sbco_ordinates *o;

		assert_int_equal(sbco_ordinates_compute(s, &o), 0);
		for (size_t c = 0; c < s->nr_cpus; c++) {
			const struct sbco_cpu *cpu = &s->cpus[c];
			uint32_t n = o->cpu[c].nr_runnable;
			char seen[4096] = {0};

			assert_true(n < sizeof(seen));
			for (uint32_t k = 0; k < cpu->nr_tasks; k++) {
				const struct sbco_ordinate *a = &o->task[cpu->first_task + k];

				if (!a->runnable)
					continue;
				assert_in_range(a->ordinate, 0, n - 1);
				assert_false(seen[a->ordinate]);
				seen[a->ordinate] = 1;
				for (uint32_t j = 0; j < cpu->nr_tasks; j++) {
					const struct sbco_ordinate *b =
					    &o->task[cpu->first_task + j];

					if (b->runnable && b->ordinate > a->ordinate)
						assert_true(b->wait_ns >= a->wait_ns);
				}
			}
		}
		sbco_ordinates_free(o);
		sbco_snapshot_free(s);
	}
}

/* Fuzz find: a group path not starting with '/' makes one group more than its slashes. */
static void test_path_without_slash(void **state)
{
	char buf[4096];
	size_t at;
	struct sbco_snapshot *s;
	struct sbco_ordinates *o;

	(void)state;
	at = cat(buf, sizeof(buf), 0, "cpu#0\n" EEVDF_HDR);
	at = eevdf_row(buf, sizeof(buf), at, false, 1, "1.000000", 'E', "2.000000", "1.000000", 120,
		       "x/a b/c");
	eevdf_row(buf, sizeof(buf), at, false, 2, "1.500000", 'E', "2.500000", "1.000000", 120,
		  "y");
	s = parse_text(buf);
	assert_int_equal(sbco_ordinates_compute(s, &o), 0);
	assert_int_equal(o->cpu[0].nr_runnable, 2);
	assert_int_equal(ord_of(s, o, 1) + ord_of(s, o, 2), 1);
	sbco_ordinates_free(o);
	sbco_snapshot_free(s);
}

/* Old kernels without a state column: only the current task is known runnable when the
 * table lists every task (3.13), all rows are when it lists queued tasks only. */
static void test_old_runnable_rules(void **state)
{
	struct sbco_snapshot *s = parse_fixture("08-3.13.0-77-generic-proc-csm-csci442.txt");
	struct sbco_ordinates *o;
	unsigned run = 0;

	(void)state;
	assert_int_equal(sbco_ordinates_compute(s, &o), 0);
	for (size_t i = 0; i < s->nr_tasks; i++)
		run += o->task[i].runnable;
	assert_int_equal(run, 3);
	assert_int_equal(ord_of(s, o, 16235), 0);
	sbco_ordinates_free(o);
	sbco_snapshot_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fig3a),
	    cmocka_unit_test(test_eevdf_pick),
	    cmocka_unit_test(test_exact_ordinates),
	    cmocka_unit_test(test_slot_estimate),
	    cmocka_unit_test(test_current_and_rt),
	    cmocka_unit_test(test_hierarchy),
	    cmocka_unit_test(test_fixtures_consistent),
	    cmocka_unit_test(test_old_runnable_rules),
	    cmocka_unit_test(test_path_without_slash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
