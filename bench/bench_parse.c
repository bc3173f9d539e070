/* SPDX-License-Identifier: MIT */
/*
 * bench_parse: time to read and analyze scheduler debug dumps of growing size. For each
 * file it measures the floor of merely reading the file into memory (open/read loop, page
 * cache warm) and, for reference, running `cat FILE > /dev/null` by fork/exec; then
 * sbco_dump_parse() alone on the in-memory text, parse + sbco_ordinates_compute(), and
 * parse + ordinates + sbco_vms_analyze() (default vCPU patterns, grouping by cgroup, alpha
 * 2/3). Each figure is the best of repeated runs (CLOCK_MONOTONIC), repeated until both a
 * minimum count and a minimum total time are reached; freeing the results is not timed.
 * Before timing, each file is parsed once and checked: a parse error or a skipped line is
 * reported on stderr and makes the exit status 1. Prints one markdown table on stdout.
 * usage: bench_parse [-r MAX_REPS] [-m MIN_MS] [-c CAT_REPS] [NOTE=]FILE...
 *        NOTE is appended to the CPUs cell of that file's row.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sbco.h"

enum stage { ST_READ, ST_PARSE, ST_ORD, ST_FULL };

struct input {
	const char *path;
	char *buf;
	size_t cap, len;
	struct sbco_patterns pat;
};

static int max_reps = 200, min_reps = 5, cat_reps = 10;
static double min_ms = 250;

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* What `cat` has to do at the least: open, read to EOF into memory, close. */
static int read_file(struct input *in)
{
	int fd = open(in->path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (len == in->cap) {
			size_t cap = in->cap ? in->cap * 2 : 1 << 20;
			char *b = realloc(in->buf, cap + 1);

			if (!b) {
				close(fd);
				return -ENOMEM;
			}
			in->buf = b;
			in->cap = cap;
		}
		n = read(fd, in->buf + len, in->cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;

			close(fd);
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	in->buf[len] = '\0';
	in->len = len;
	return 0;
}

/* One timed run of a stage; returns its time in ms, or < 0 on failure. */
static double run_stage(struct input *in, enum stage st)
{
	struct sbco_snapshot *snap = NULL;
	struct sbco_ordinates *ord = NULL;
	struct sbco_vm_set *set = NULL;
	double t0, t;
	int r;

	t0 = now_ms();
	if (st == ST_READ) {
		r = read_file(in);
	} else {
		r = sbco_dump_parse(in->buf, in->len, &snap, NULL, 0);
		if (r == 0 && st >= ST_ORD)
			r = sbco_ordinates_compute(snap, &ord);
		if (r == 0 && st == ST_FULL)
			r = sbco_vms_analyze(snap, ord, &in->pat, NULL, NULL, 2.0 / 3, &set);
	}
	t = now_ms() - t0;
	sbco_vm_set_free(set);
	sbco_ordinates_free(ord);
	sbco_snapshot_free(snap);
	return r < 0 ? -1 : t;
}

static double best_of(struct input *in, enum stage st)
{
	double best = -1, total = 0;

	for (int i = 0; i < max_reps && (i < min_reps || total < min_ms); i++) {
		double t = run_stage(in, st);

		if (t < 0)
			return -1;
		total += t;
		if (best < 0 || t < best)
			best = t;
	}
	return best;
}

/* `cat FILE > /dev/null` as a child process: the floor a shell pipeline would see. */
static double best_cat(const char *path)
{
	double best = -1;

	for (int i = 0; i < cat_reps; i++) {
		double t0 = now_ms(), t;
		int status;
		pid_t pid = fork();

		if (pid < 0)
			return -1;
		if (pid == 0) {
			int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

			if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
				_exit(127);
			execlp("cat", "cat", path, (char *)NULL);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			return -1;
		t = now_ms() - t0;
		if (best < 0 || t < best)
			best = t;
	}
	return best;
}

/* Parse once and check the dump was understood whole. Returns 0, or -1 after a report. */
static int check(struct input *in, size_t *ret_cpus, size_t *ret_tasks, size_t *ret_vms)
{
	struct sbco_snapshot *snap = NULL;
	struct sbco_ordinates *ord = NULL;
	struct sbco_vm_set *set = NULL;
	char err[256] = "";
	int r = sbco_dump_parse(in->buf, in->len, &snap, err, sizeof(err));

	if (r < 0) {
		fprintf(stderr, "bench_parse: %s: parse failed: %s (%s)\n", in->path, strerror(-r),
			err);
		return -1;
	}
	if (sbco_ordinates_compute(snap, &ord) < 0 ||
	    sbco_vms_analyze(snap, ord, &in->pat, NULL, NULL, 2.0 / 3, &set) < 0) {
		fprintf(stderr, "bench_parse: %s: ordinates/VM analysis failed\n", in->path);
		r = -1;
	} else if (snap->skipped_lines || snap->truncated) {
		fprintf(stderr, "bench_parse: %s: %u line(s) skipped, first at line %u%s\n",
			in->path, snap->skipped_lines, snap->first_skipped,
			snap->truncated ? ", input truncated" : "");
		r = -1;
	}
	*ret_cpus = snap->nr_cpus;
	*ret_tasks = snap->nr_tasks;
	*ret_vms = set ? set->nr_vms : 0;
	sbco_vm_set_free(set);
	sbco_ordinates_free(ord);
	sbco_snapshot_free(snap);
	return r;
}

int main(int argc, char **argv)
{
	int opt, rc = 0;

	while ((opt = getopt(argc, argv, "r:m:c:")) != -1) {
		switch (opt) {
		case 'r':
			max_reps = (int)strtol(optarg, NULL, 10);
			break;
		case 'm':
			min_ms = strtod(optarg, NULL);
			break;
		case 'c':
			cat_reps = (int)strtol(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr,
				"usage: bench_parse [-r MAX_REPS] [-m MIN_MS] [-c CAT_REPS] "
				"[NOTE=]FILE...\n");
			return 2;
		}
	}
	if (optind == argc || max_reps < 1 || cat_reps < 1) {
		fprintf(stderr, "bench_parse: no dump files given\n");
		return 2;
	}
	if (min_reps > max_reps)
		min_reps = max_reps;
	printf("| CPUs | tasks | VMs | bytes | read ms | cat ms | parse ms | parse GB/s "
	       "| parse+ord ms | full ms | parse/read |\n");
	printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	fflush(stdout);
	for (int i = optind; i < argc; i++) {
		struct input in = {.path = argv[i]};
		const char *eq = strchr(argv[i], '=');
		char note[64] = "";
		size_t cpus = 0, ntasks = 0, vms = 0;
		double t_read, t_cat, t_parse, t_ord, t_full;

		if (eq) {
			snprintf(note, sizeof(note), " %.*s", (int)(eq - argv[i]), argv[i]);
			in.path = eq + 1;
		}
		if (sbco_patterns_default(&in.pat) < 0 || read_file(&in) < 0) {
			fprintf(stderr, "bench_parse: %s: cannot read\n", in.path);
			rc = 1;
			goto next;
		}
		if (check(&in, &cpus, &ntasks, &vms) < 0)
			rc = 1;
		t_read = best_of(&in, ST_READ);
		t_cat = best_cat(in.path);
		t_parse = best_of(&in, ST_PARSE);
		t_ord = best_of(&in, ST_ORD);
		t_full = best_of(&in, ST_FULL);
		if (t_read < 0 || t_cat < 0 || t_parse < 0 || t_ord < 0 || t_full < 0) {
			fprintf(stderr, "bench_parse: %s: a timed run failed\n", in.path);
			rc = 1;
			goto next;
		}
		printf("| %zu%s | %zu | %zu | %zu | %.3f | %.3f | %.3f | %.2f | %.3f | %.3f | %.1f "
		       "|\n",
		       cpus, note, ntasks, vms, in.len, t_read, t_cat, t_parse,
		       (double)in.len / (t_parse * 1e6), t_ord, t_full, t_parse / t_read);
		fflush(stdout);
	next:
		sbco_patterns_clear(&in.pat);
		free(in.buf);
	}
	return rc;
}
