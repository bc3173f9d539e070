/* SPDX-License-Identifier: MIT */
/*
 * Boot test of the sbco kernel patch, run inside a TCG guest (kernel/check.sh) as a static
 * program: busy threads on both CPUs, then
 *  - /proc/sbco/version is there;
 *  - /proc/sbco/queue, a snapshot taken under each rq lock, gives every entity the
 *    ordinate that recomputing from the snapshot gives (its position in tree order, +1
 *    behind a running entity), and the tree is in deadline order;
 *  - the debug dump carries "ord=" for every task, every runnable fair task of the busy
 *    CPUs has one >= 0, and libsbco's model is compared with it (agreement printed);
 *  - /proc/PID/sched shows se.sbco_ordinate and se.sbco_dirty;
 *  - a loan "A B NS" moves A later by NS and, at B's next pick, B earlier by NS (both
 *    nice 0, so NS of vruntime), then clears both dirty flags;
 *  - bad loans are refused with the right errno, and with the SBCO_LEND feature off;
 *  - pick-time balancing (/proc/sbco/vm): a VM of two busy threads on different CPUs is
 *    registered to count only, then to lend, in alternating rounds (alpha 2/3; the
 *    kernel argument KTEST_ALPHA=N, which the kernel hands to init's environment, sets
 *    another); both rounds count picks, counting lends nothing, lending lends unless
 *    almost nothing was over the threshold (the shares over it are printed as KTEST
 *    PICK: a measurement, not a check); such a VM never counts a pick as stacked (its
 *    "any" counts are its cross-CPU ones); a VM of two threads on one CPU counts every
 *    pick as stacked, and with 3 per CPU some but not all over the threshold; bad
 *    registrations are refused, del and clear forget, NO_SBCO_PICK stops the counting;
 *  - Algorithm 1 from a held phase (alpha 2/3, KTEST PHASE): a phase of the VM over the
 *    threshold is found, then counted on (the control: the default scheduler from there)
 *    and lent to: lending at the picks must keep the share of picks over the threshold
 *    under 15 % or at least halve the control's.
 * KTEST_THREADS=N (2..8, default 3) sets the busy threads per CPU: the queues' length.
 * Prints "KTEST ok|FAIL: ..." lines and "KTEST RESULT pass N fail M".
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sbco.h"

#define THREADS_MAX 8 /* busy threads per CPU: KTEST_THREADS=N (2..8), default 3 */
#define MAX_ENT		512

static int pass, fail;
static atomic_int stop;
static pid_t tids[2][THREADS_MAX];
static int nthreads = 3;

#define CHECK(cond, ...)                                                                   \
	do {                                                                               \
		if (cond) {                                                                \
			pass++;                                                            \
		} else {                                                                   \
			fail++;                                                            \
			printf("KTEST FAIL: " __VA_ARGS__);                                \
			printf("\n");                                                      \
		}                                                                          \
	} while (0)

struct arg {
	int cpu, k;
};

static void *busy(void *p)
{
	struct arg *a = p;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(a->cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	tids[a->cpu][a->k] = (pid_t)syscall(SYS_gettid);
	while (!atomic_load(&stop))
		;
	return NULL;
}

static char *slurp(const char *path, size_t *len)
{
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return NULL;
	r = sbco_read_fd(fd, 64u << 20, &buf, len);
	close(fd);
	return r < 0 ? NULL : buf;
}

static void msleep(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000};

	nanosleep(&t, NULL);
}

/* /proc/sbco/queue: ordinates equal the position in the consistent snapshot. */
static void check_queue(void)
{
	int snaps = 0, ents = 0, bad = 0, unordered = 0;

	for (int round = 0; round < 20; round++) {
		size_t len;
		char *buf = slurp("/proc/sbco/queue", &len), *line, *save = NULL;
		int cpu = -1, curr = 0, n = 0, i = 0;
		long long prev = 0;

		if (!buf) {
			bad++;
			break;
		}
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			int pid, ord;
			unsigned long long dl;

			if (sscanf(line, "cpu %d curr %d n %d", &cpu, &curr, &n) == 3) {
				snaps++;
				i = 0;
				continue;
			}
			if (sscanf(line, "%d %llu %d", &pid, &dl, &ord) != 3) {
				bad++;
				continue;
			}
			ents++;
			if (ord != i + (curr ? 1 : 0))
				bad++;
			if (i > 0 && (long long)(dl - (unsigned long long)prev) < 0)
				unordered++;
			prev = (long long)dl;
			i++;
		}
		free(buf);
		msleep(10);
	}
	CHECK(snaps >= 20 && ents > 0 && bad == 0,
	      "queue: %d snapshots, %d entities, %d ordinates differ from the recomputation",
	      snaps, ents, bad);
	CHECK(unordered == 0, "queue: %d entities out of deadline order", unordered);
	if (!bad)
		printf("KTEST ok: %d consistent snapshots, %d entities: O(log n) ordinate == "
		       "position in tree order\n",
		       snaps, ents);
}

static bool ours(pid_t pid)
{
	for (int c = 0; c < 2; c++)
		for (int k = 0; k < nthreads; k++)
			if (tids[c][k] == pid)
				return true;
	return false;
}

/* The dump: "ord=" on every row; the model against the kernel on the busy CPUs. */
static void check_dump(void)
{
	unsigned total = 0, match = 0, missing = 0, rows = 0, dumps = 0;
	double abs_err = 0;

	for (int round = 0; round < 20; round++) {
		size_t len;
		char *buf = slurp("/sys/kernel/debug/sched/debug", &len), err[128];
		struct sbco_snapshot *s = NULL;
		struct sbco_ordinates *o = NULL;

		if (!buf || sbco_dump_parse(buf, len, &s, err, sizeof(err)) < 0) {
			printf("KTEST FAIL: dump unreadable: %s\n", buf ? err : "no dump");
			fail++;
			free(buf);
			return;
		}
		free(buf);
		dumps++;
		for (size_t i = 0; i < s->nr_tasks; i++) {
			rows++;
			if (!(s->tasks[i].have & SBCO_HAVE_EXACT_ORD))
				missing++;
			s->tasks[i].have &= ~(uint32_t)SBCO_HAVE_EXACT_ORD; /* the model alone */
		}
		if (sbco_ordinates_compute(s, &o) == 0) {
			/* rank our runnable threads by the kernel's ordinate, per CPU */
			for (size_t c = 0; c < s->nr_cpus; c++) {
				const struct sbco_cpu *cpu = &s->cpus[c];
				int32_t km[64], mm[64];
				unsigned n = 0;

				for (uint32_t k = 0; k < cpu->nr_tasks && n < 64; k++) {
					const struct sbco_task *t = &s->tasks[cpu->first_task + k];
					const struct sbco_ordinate *od = &o->task[cpu->first_task + k];

					if (!od->runnable || t->exact_ord < 0)
						continue;
					km[n] = t->exact_ord;
					mm[n++] = od->ordinate;
				}
				/* dense kernel ranks, as sbcod uses them */
				for (unsigned a = 0; a < n; a++) {
					int32_t r = 0;

					for (unsigned b = 0; b < n; b++)
						r += km[b] < km[a];
					total++;
					match += r == mm[a];
					abs_err += abs(r - mm[a]);
				}
			}
		}
		for (size_t i = 0; i < s->nr_tasks; i++)
			if (ours(s->tasks[i].pid) && s->tasks[i].exact_ord < 0 &&
			    (s->tasks[i].have & SBCO_HAVE_STATE) && s->tasks[i].state == 'R')
				missing++;
		sbco_ordinates_free(o);
		sbco_snapshot_free(s);
		msleep(10);
	}
	CHECK(missing == 0 && rows > 0, "dump: %u of %u rows lack a usable ord=", missing, rows);
	CHECK(total > 0, "dump: no runnable task with an exact ordinate");
	printf("KTEST AGREE dumps %u tasks %u exact-match %.1f%% mean-abs-error %.3f\n", dumps,
	       total, total ? 100.0 * match / total : 0, total ? abs_err / total : 0);
}

static long sched_field(pid_t tid, const char *key)
{
	char path[64], *buf, *p;
	size_t len;
	long v = -9999;

	snprintf(path, sizeof(path), "/proc/%d/sched", tid);
	buf = slurp(path, &len);
	if (buf && (p = strstr(buf, key)) && (p = strchr(p, ':')))
		v = strtol(p + 1, NULL, 10);
	free(buf);
	return v;
}

/* One request to a /proc/sbco file: 0 or -errno. */
static int proc_write(const char *path, const char *req)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, req, strlen(req)) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int lend_raw(const char *req)
{
	return proc_write("/proc/sbco/lend", req);
}

static int lend(pid_t a, pid_t b, unsigned long long ns)
{
	char req[64];

	snprintf(req, sizeof(req), "%d %d %llu\n", a, b, ns);
	return lend_raw(req);
}

struct lend_stats {
	unsigned long long lent, applied, dropped, refused, ns, ab, aa, bb, ba;
	int a, b;
};

static int read_lend(struct lend_stats *st)
{
	size_t len;
	char *buf = slurp("/proc/sbco/lend", &len);
	int n;

	if (!buf)
		return -1;
	n = sscanf(buf, "lent %llu applied %llu dropped %llu refused %llu\nlast %d %d %llu a %llu %llu b %llu %llu",
		   &st->lent, &st->applied, &st->dropped, &st->refused, &st->a, &st->b, &st->ns,
		   &st->ab, &st->aa, &st->bb, &st->ba);
	free(buf);
	return n == 11 ? 0 : -1;
}

static void check_lend(void)
{
	const unsigned long long ns = 20000000; /* 20 ms */
	pid_t a = tids[0][0], b = tids[1][0];
	struct lend_stats s0, s1;
	int r, i;

	CHECK(sched_field(a, "se.sbco_ordinate") >= 0, "/proc/%d/sched: no se.sbco_ordinate", a);
	CHECK(sched_field(a, "se.sbco_dirty") == 0, "/proc/%d/sched: dirty before any loan", a);
	CHECK(read_lend(&s0) == 0, "/proc/sbco/lend unreadable");
	r = lend(a, b, ns);
	CHECK(r == 0, "lend %d -> %d: %s", a, b, strerror(-r));
	for (i = 0; i < 100 && read_lend(&s1) == 0 && s1.applied == s0.applied; i++)
		msleep(10);
	CHECK(s1.applied == s0.applied + 1, "the debt was not applied within 1 s (applied %llu)",
	      s1.applied);
	CHECK(s1.a == a && s1.b == b && s1.ns == ns, "last loan %d -> %d %llu", s1.a, s1.b, s1.ns);
	CHECK(s1.aa - s1.ab == ns, "A moved by %lld ns of vruntime, not %llu",
	      (long long)(s1.aa - s1.ab), ns);
	CHECK(s1.bb - s1.ba == ns, "B moved by %lld ns of vruntime, not -%llu",
	      (long long)(s1.ba - s1.bb), ns);
	msleep(20);
	CHECK(sched_field(a, "se.sbco_dirty") == 0 && sched_field(b, "se.sbco_dirty") == 0,
	      "dirty flags not cleared after the debt (A %ld, B %ld)",
	      sched_field(a, "se.sbco_dirty"), sched_field(b, "se.sbco_dirty"));
	printf("KTEST ok: loan %d -> %d of %llu ns: A +%lld, B -%lld ns of vruntime, dirty "
	       "cleared\n",
	       a, b, ns, (long long)(s1.aa - s1.ab), (long long)(s1.bb - s1.ba));
	/* bad loans */
	CHECK(lend(a, a, 1000) == -EINVAL, "a loan to oneself was accepted");
	CHECK(lend(a, b, 0) == -EINVAL, "a zero loan was accepted");
	CHECK(lend(a, b, 200000000) == -EINVAL, "a 200 ms loan was accepted");
	CHECK(lend(999999, b, 1000) == -ESRCH, "a loan from a missing task was accepted");
	CHECK(lend_raw("garbage\n") == -EINVAL, "garbage was accepted");
	CHECK(lend_raw("1 2 3 4\n") == -EINVAL, "extra fields were accepted");
	{ /* the feature switch (debugfs is writable here: no lockdown in the test guest) */
		int fd = open("/sys/kernel/debug/sched/features", O_WRONLY | O_CLOEXEC);

		if (fd >= 0 && write(fd, "NO_SBCO_LEND", 12) == 12) {
			CHECK(lend(a, b, 1000) == -EOPNOTSUPP, "a loan with NO_SBCO_LEND");
			CHECK(write(fd, "SBCO_LEND", 9) == 9, "SBCO_LEND back on");
			CHECK(lend(a, b, 1000) == 0, "a loan after SBCO_LEND is back");
		} else {
			printf("KTEST FAIL: cannot write sched/features: %s\n", strerror(errno));
			fail++;
		}
		if (fd >= 0)
			close(fd);
	}
}

static int vm_write(const char *req)
{
	return proc_write("/proc/sbco/vm", req);
}

struct vm_stats {
	unsigned long long samples, exceeded, loans, busy, stacked, any, any_exceeded;
};

/* VM id's line of /proc/sbco/vm: 1 found, 0 not listed, -1 unreadable */
static int vm_read(int id, struct vm_stats *st, char *line, size_t len)
{
	size_t n;
	char *buf = slurp("/proc/sbco/vm", &n), *l, *save = NULL;
	int found = 0;

	if (!buf)
		return -1;
	for (l = strtok_r(buf, "\n", &save); l && !found; l = strtok_r(NULL, "\n", &save)) {
		int vid;

		if (sscanf(l, "vm %d ", &vid) != 1 || vid != id)
			continue;
		found = sscanf(strstr(l, " samples ") ? strstr(l, " samples ") : "",
			       " samples %llu exceeded %llu loans %llu busy %llu stacked %llu any %llu "
			       "any_exceeded %llu",
			       &st->samples, &st->exceeded, &st->loans, &st->busy, &st->stacked,
			       &st->any, &st->any_exceeded) == 7 ? 1 : -1;
		if (line)
			snprintf(line, len, "%s", l);
	}
	free(buf);
	return found;
}

static double rate(unsigned long long ex, unsigned long long n)
{
	return n ? 100.0 * (double)ex / (double)n : 0;
}

/* Trace: /proc/sbco/queue's deadlines, in us after each CPU's first (A, B marked). */
static void print_queues(pid_t a, pid_t b)
{
	for (int i = 0; i < 3; i++) {
		size_t len;
		char *buf = slurp("/proc/sbco/queue", &len), *line, *save = NULL, out[512];
		unsigned long long first = 0;
		int o = 0, idx = 0;

		for (line = buf ? strtok_r(buf, "\n", &save) : NULL; line;
		     line = strtok_r(NULL, "\n", &save)) {
			int pid, ord, cpu, curr, n;
			unsigned long long dl;

			if (sscanf(line, "cpu %d curr %d n %d", &cpu, &curr, &n) == 3) {
				o += snprintf(out + o, sizeof(out) - o, " | cpu%d curr %s:", cpu,
					      curr == a ? "A" : curr == b ? "B" : "x");
				idx = 0;
			} else if (sscanf(line, "%d %llu %d", &pid, &dl, &ord) == 3 && o < 400) {
				if (!idx++)
					first = dl;
				o += snprintf(out + o, sizeof(out) - o, " %s%llu",
					      pid == a ? "A" : pid == b ? "B" : "", (dl - first) / 1000);
			}
		}
		free(buf);
		printf("KTEST QUEUE%s\n", out);
		msleep(7);
	}
}

/* Each busy thread's se.sum_exec_runtime (ms, from /proc/TID/sched). */
static void runtimes(double rt[2][THREADS_MAX])
{
	for (int c = 0; c < 2; c++)
		for (int k = 0; k < nthreads; k++) {
			char path[64], *buf, *p;
			size_t len;

			snprintf(path, sizeof(path), "/proc/%d/sched", tids[c][k]);
			buf = slurp(path, &len);
			rt[c][k] = buf && (p = strstr(buf, "se.sum_exec_runtime")) &&
						   (p = strchr(p, ':'))
					   ? strtod(p + 1, NULL)
					   : 0;
			free(buf);
		}
}

/*
 * The VM's CPU share between two runtimes() readings, 1.0 being its fair share: A's
 * part of CPU 0's busy time plus B's of CPU 1's, times the threads per CPU, halved.
 */
static double vm_share(double r0[2][THREADS_MAX], double r1[2][THREADS_MAX])
{
	double share = 0;

	for (int c = 0; c < 2; c++) {
		double all = 0;

		for (int k = 0; k < nthreads; k++)
			all += r1[c][k] - r0[c][k];
		share += all > 0 ? (r1[c][0] - r0[c][0]) / all : 0;
	}
	return share * nthreads / 2;
}

/* VM 7 (re)registered as kind, then what the next ms of picks counted. */
static void vm_measure(const char *kind, pid_t a, pid_t b, long ms, struct vm_stats *d)
{
	struct vm_stats s0, s1;
	char req[96];

	snprintf(req, sizeof(req), "7 %s 666 %d %d\n", kind, a, b);
	if (vm_write(req) || vm_read(7, &s0, NULL, 0) != 1) {
		memset(d, 0, sizeof(*d));
		return;
	}
	msleep(ms);
	if (vm_read(7, &s1, NULL, 0) != 1) {
		memset(d, 0, sizeof(*d));
		return;
	}
	d->samples = s1.samples - s0.samples;
	d->exceeded = s1.exceeded - s0.exceeded;
	d->loans = s1.loans - s0.loans;
}

/*
 * Algorithm 1 from a phase the scheduler holds (alpha 2/3). With equal busy threads the
 * queues come round in a fixed order, so a VM's relative phase persists: find one over the
 * threshold (count 200 ms at a time; between tries a /proc/sbco/lend loan of one turn
 * shifts it), count on from there (the default scheduler: the phase is held), then let the
 * kernel lend, then count again (the phase the loans left is held too). Each of `reps`
 * experiments adds to held[] / lent[] / after[] and the VM's CPU share while lending
 * (vm_share()) to *share; returns how many found a bad phase.
 */
static int phase_experiments(int reps, struct vm_stats *held, struct vm_stats *lent,
			     struct vm_stats *after, double *share)
{
	pid_t a = tids[0][0], b = tids[1][0];
	struct vm_stats d, h, l, f;
	double r0[2][THREADS_MAX], r1[2][THREADS_MAX], r2[2][THREADS_MAX];
	struct sched_param fifo = {.sched_priority = 1}, other = {0};
	int found = 0;

	/* out of the fair queues (as sbcod runs), so its wakeups do not shift the phase */
	if (sched_setscheduler(0, SCHED_FIFO, &fifo))
		printf("KTEST PHASE: no SCHED_FIFO (%s): the measurements run in the queues\n",
		       strerror(errno));

	for (int r = 0; r < reps; r++) {
		int tries;

		for (tries = 0; tries < 30; tries++) {
			vm_measure("count", a, b, 200, &d);
			if (d.samples >= 10 && rate(d.exceeded, d.samples) >= 35)
				break;
			if (getenv("KTEST_TRACE"))
				printf("KTEST TRY %d: %.1f %% of %llu\n", tries,
				       rate(d.exceeded, d.samples), d.samples);
			lend(a, b, 4000000ULL * (1 + tries % 4));
			msleep(20);
		}
		if (tries == 30)
			continue;
		found++;
		if (getenv("KTEST_TRACE"))
			print_queues(a, b);
		runtimes(r0);
		vm_measure("count", a, b, 500, &h);
		runtimes(r1);
		vm_measure("lend", a, b, 500, &l);
		runtimes(r2);
		vm_measure("count", a, b, 500, &f);
		printf("KTEST PHASE %d: bad phase after %d tries; held %.1f %% of %llu, lending "
		       "%.1f %% of %llu (%llu loans), after %.1f %% of %llu; VM's share of its "
		       "CPUs (1 = fair): held %.3f, lending %.3f\n",
		       r, tries, rate(h.exceeded, h.samples), h.samples, rate(l.exceeded, l.samples),
		       l.samples, l.loans, rate(f.exceeded, f.samples), f.samples, vm_share(r0, r1),
		       vm_share(r1, r2));
		*share += vm_share(r1, r2);
		held->samples += h.samples, held->exceeded += h.exceeded;
		lent->samples += l.samples, lent->exceeded += l.exceeded, lent->loans += l.loans;
		after->samples += f.samples, after->exceeded += f.exceeded;
	}
	sched_setscheduler(0, SCHED_OTHER, &other);
	return found;
}

/* Pick-time balancing of one VM (A on CPU 0, B on CPU 1, each behind 2 busy threads). */
static void check_pick(void)
{
	pid_t a = tids[0][0], b = tids[1][0];
	unsigned long long n[2] = {0, 0}, ex[2] = {0, 0}, loans[2] = {0, 0}, busy = 0;
	unsigned long long any = 0, any_ex = 0;
	struct vm_stats s0, s1;
	char req[128], line[256];
	int rounds = 6;
	const char *alpha = getenv("KTEST_ALPHA") ? getenv("KTEST_ALPHA") : "666";

	for (int r = 0; r < rounds; r++) {
		int lend = r % 2; /* count first, then lend, alternating */

		snprintf(req, sizeof(req), "7 %s %s %d %d\n", lend ? "lend" : "count", alpha, a, b);
		CHECK(vm_write(req) == 0, "/proc/sbco/vm: %s refused", req);
		CHECK(vm_read(7, &s0, line, sizeof(line)) == 1, "/proc/sbco/vm: VM 7 not listed");
		msleep(500);
		CHECK(vm_read(7, &s1, NULL, 0) == 1, "/proc/sbco/vm: VM 7 gone");
		n[lend] += s1.samples - s0.samples;
		ex[lend] += s1.exceeded - s0.exceeded;
		loans[lend] += s1.loans - s0.loans;
		busy += s1.busy - s0.busy;
		any += s1.any - s0.any;
		any_ex += s1.any_exceeded - s0.any_exceeded;
	}
	/* A and B never share a CPU: every pick with a sibling runnable is one across CPUs */
	CHECK(any == n[0] + n[1] && any_ex == ex[0] + ex[1],
	      "never stacked, yet %llu picks with a sibling (%llu over) against %llu (%llu over)",
	      any, any_ex, n[0] + n[1], ex[0] + ex[1]);
	snprintf(req, sizeof(req), "vm 7 lend %s tids %d,%d samples ", alpha, a, b);
	CHECK(!strncmp(line, req, strlen(req)), "/proc/sbco/vm line: %s", line);
	printf("KTEST PICK count: %llu samples, over threshold %.1f %%, %llu loans; lend: %llu "
	       "samples, over threshold %.1f %%, %llu loans; sibling's rq busy at %llu picks\n",
	       n[0], rate(ex[0], n[0]), loans[0], n[1], rate(ex[1], n[1]), loans[1], busy);
	CHECK(n[0] > 50 && n[1] > 50, "too few pick samples (%llu, %llu)", n[0], n[1]);
	CHECK(loans[0] == 0, "count-only rounds lent %llu times", loans[0]);
	/*
	 * (a phase lending has put together can stay together, and a loan needs the
	 * laggard's rq lock, only ever tried: then a few picks over the threshold lend nothing)
	 */
	CHECK(loans[1] > 0 || rate(ex[1], n[1]) < 5, "lending rounds lent nothing, %llu of %llu picks over",
	      ex[1], n[1]);
	{
		struct vm_stats held = {0}, lent = {0}, after = {0};
		double share = 0;
		int found = phase_experiments(5, &held, &lent, &after, &share);

		printf("KTEST PHASE total: %d of 5 found; held %.1f %% of %llu, lending %.1f %% of "
		       "%llu (%llu loans), after %.1f %% of %llu; VM's share while lending %.3f\n",
		       found, rate(held.exceeded, held.samples), held.samples,
		       rate(lent.exceeded, lent.samples), lent.samples, lent.loans,
		       rate(after.exceeded, after.samples), after.samples,
		       found ? share / found : 0);
		CHECK(found >= 3, "a phase over the threshold was found in %d of 5 tries", found);
		/*
		 * held is the control: same start, no loans. Any stop of a CPU across a
		 * tick (this thread's own reads included) moves that CPU's round by one
		 * place, so the control drifts from the bad phase to any other, and all
		 * may land on a good one: lending must stay under 15 % of the picks over
		 * (the default scheduler gives 16-50 % from a random phase here; boots
		 * whose CPUs pick at the same moment lend less, up to 10 % seen), or at
		 * least halve the control.
		 */
		CHECK(held.samples > 50 && lent.samples > 50 &&
			      (rate(lent.exceeded, lent.samples) < 15 ||
			       rate(lent.exceeded, lent.samples) <
				       rate(held.exceeded, held.samples) / 2),
		      "lending did not lower the exceed rate: %.1f %% held, %.1f %% lending "
		      "(%llu loans)",
		      rate(held.exceeded, held.samples), rate(lent.exceeded, lent.samples),
		      lent.loans);
	}
	/* bad registrations, del, clear */
	snprintf(req, sizeof(req), "8 lend 666 %d\n", a);
	CHECK(vm_write(req) == -EINVAL, "a VM of one thread was accepted");
	snprintf(req, sizeof(req), "8 lend 1001 %d %d\n", a, b);
	CHECK(vm_write(req) == -EINVAL, "alpha 1001 was accepted");
	snprintf(req, sizeof(req), "8 lend 666 %d %d\n", a, a);
	CHECK(vm_write(req) == -EINVAL, "a thread twice was accepted");
	snprintf(req, sizeof(req), "8 lend 666 %d 999999\n", a);
	CHECK(vm_write(req) == -ESRCH, "a missing thread was accepted");
	snprintf(req, sizeof(req), "8 lend 666 %d %d\n", a, tids[1][1]);
	CHECK(vm_write(req) == -EBUSY, "a thread of VM 7 was registered in VM 8");
	CHECK(vm_write("8 fly 1 2 3\n") == -EINVAL, "an unknown verb was accepted");
	CHECK(vm_write("7 del\n") == 0 && vm_read(7, &s1, NULL, 0) == 0, "del did not forget VM 7");
	CHECK(vm_write("7 del\n") == -ENOENT, "del of a missing VM");
	snprintf(req, sizeof(req), "8 count 500 %d %d\n", tids[0][1], tids[1][1]);
	CHECK(vm_write(req) == 0 && vm_read(8, &s0, NULL, 0) == 1, "VM 8 not registered");
	{ /* the feature switch: NO_SBCO_PICK stops the counting */
		int fd = open("/sys/kernel/debug/sched/features", O_WRONLY | O_CLOEXEC);

		if (fd >= 0 && write(fd, "NO_SBCO_PICK", 12) == 12) {
			vm_read(8, &s0, NULL, 0);
			msleep(200);
			vm_read(8, &s1, NULL, 0);
			CHECK(s1.samples == s0.samples, "NO_SBCO_PICK: %llu samples counted",
			      s1.samples - s0.samples);
			CHECK(write(fd, "SBCO_PICK", 9) == 9, "SBCO_PICK back on");
			msleep(200);
			vm_read(8, &s0, NULL, 0);
			CHECK(s0.samples > s1.samples, "SBCO_PICK back: nothing counted");
		} else {
			printf("KTEST FAIL: cannot write sched/features: %s\n", strerror(errno));
			fail++;
		}
		if (fd >= 0)
			close(fd);
	}
	/*
	 * a stacked VM: two of CPU 0's busy threads. Every pick of one finds the other queued
	 * behind it on the same CPU; with 3 threads (the default) at ordinate 1 or 2 in turn,
	 * only 2 over the threshold (2/3 x 3)
	 */
	snprintf(req, sizeof(req), "9 count 666 %d %d\n", tids[0][nthreads - 2],
		 tids[0][nthreads - 1]);
	CHECK(vm_write("8 del\n") == 0 && vm_write(req) == 0 && vm_read(9, &s0, NULL, 0) == 1,
	      "VM 9 not registered");
	msleep(500);
	CHECK(vm_read(9, &s1, NULL, 0) == 1, "VM 9 gone");
	printf("KTEST PICK stacked: %llu picks with the sibling behind on the same CPU, %llu over "
	       "the threshold, %llu across CPUs\n", s1.stacked - s0.stacked,
	       s1.any_exceeded - s0.any_exceeded, s1.samples - s0.samples);
	CHECK(s1.samples == s0.samples && s1.any - s0.any > 20 &&
	      s1.stacked - s0.stacked == s1.any - s0.any,
	      "stacked VM: %llu across, %llu stacked, %llu any", s1.samples - s0.samples,
	      s1.stacked - s0.stacked, s1.any - s0.any);
	CHECK((nthreads != 3 || s1.any_exceeded > s0.any_exceeded) &&
	      s1.any_exceeded - s0.any_exceeded < s1.any - s0.any,
	      "stacked VM: %llu of %llu picks over the threshold", s1.any_exceeded - s0.any_exceeded,
	      s1.any - s0.any);
	CHECK(vm_write("clear\n") == 0 && vm_read(9, &s1, NULL, 0) == 0, "clear kept VM 9");
}

int main(int argc, char **argv)
{
	bool nolend = argc > 1 && !strcmp(argv[1], "nolend");

	pthread_t th[2 * THREADS_MAX];
	struct arg args[2 * THREADS_MAX];
	size_t len;
	char *v = slurp("/proc/sbco/version", &len);
	const char *nt = getenv("KTEST_THREADS");

	if (nt && atoi(nt) >= 2 && atoi(nt) <= THREADS_MAX)
		nthreads = atoi(nt);

	setvbuf(stdout, NULL, _IOLBF, 0);
	CHECK(v && !strncmp(v, "sbco 1", 6), "/proc/sbco/version: %s", v ? v : "missing");
	free(v);
	for (int i = 0; i < 2 * nthreads; i++) {
		args[i] = (struct arg){i % 2, i / 2};
		pthread_create(&th[i], NULL, busy, &args[i]);
	}
	msleep(300);
	check_queue();
	check_dump();
	if (!nolend) {
		check_lend();
		check_pick();
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 2 * nthreads; i++)
		pthread_join(th[i], NULL);
	printf("KTEST RESULT pass %d fail %d\n", pass, fail);
	return fail ? 1 : 0;
}
