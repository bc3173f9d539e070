/* SPDX-License-Identifier: MIT */
/*
 * Cost of a full /proc discovery scan: starts N synthetic VMs (fakevm, M sleeping vCPU
 * threads each), then times sbco_proc_scan() against the floor of merely listing every
 * thread's comm (readdir of /proc/PID/task + read of each comm, what any scan must do).
 * Prints a markdown table row set. Ends only the processes it started, by pid.
 * usage: bench_discovery BUILD_DIR [VMS [VCPUS [REPS]]]
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sbco.h"

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The floor: every thread's comm read once. Returns the thread count. */
static int list_comms(void)
{
	DIR *p = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (p && (de = readdir(p))) {
		char path[300];
		DIR *t;
		struct dirent *te;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task", de->d_name);
		t = opendir(path);
		while (t && (te = readdir(t))) {
			char cp[600], buf[64];
			int fd;

			if (te->d_name[0] < '0' || te->d_name[0] > '9')
				continue;
			snprintf(cp, sizeof(cp), "%s/%s/comm", path, te->d_name);
			fd = open(cp, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				if (read(fd, buf, sizeof(buf)) > 0)
					n++;
				close(fd);
			}
		}
		if (t)
			closedir(t);
	}
	if (p)
		closedir(p);
	return n;
}

int main(int argc, char **argv)
{
	const char *build = argc > 1 ? argv[1] : "build";
	int vms = argc > 2 ? atoi(argv[2]) : 100, vcpus = argc > 3 ? atoi(argv[3]) : 8;
	int reps = argc > 4 ? atoi(argv[4]) : 30, threads = 0;
	char fakevm[4096], smp[16];
	pid_t *pids = calloc((size_t)vms, sizeof(*pids));
	double *ts = calloc((size_t)reps, sizeof(*ts)), *tf = calloc((size_t)reps, sizeof(*tf));
	double *tc = calloc((size_t)reps, sizeof(*tc)), *tp = calloc((size_t)reps, sizeof(*tp));
	struct sbco_patterns pat = {0};
	struct sbco_proc_scan_stats st = {0};
	size_t found = 0;

	if (!pids || !ts || !tf || !tc || !tp || sbco_patterns_default(&pat) < 0)
		return 1;
	snprintf(fakevm, sizeof(fakevm), "%s/tests/fakevm", build);
	snprintf(smp, sizeof(smp), "%d", vcpus);
	for (int i = 0; i < vms; i++) {
		char name[64];

		snprintf(name, sizeof(name), "guest=bvm%d,debug-threads=on", i);
		pids[i] = fork();
		if (pids[i] == 0) {
			int devnull = open("/dev/null", O_WRONLY);

			dup2(devnull, 1);
			execl(fakevm, fakevm, "-name", name, "-smp", smp, "-mode", "sleep", "-time",
			      "300", (char *)NULL);
			_exit(127);
		}
	}
	for (int tries = 0; tries < 100; tries++) { /* wait (bounded) until all are named */
		struct sbco_vm_list *l = NULL;
		size_t v = 0;

		usleep(100000);
		if (sbco_proc_scan("/", &pat, NULL, 0, &l, &st) == 0)
			for (size_t i = 0; i < l->nr; i++)
				v +=
				    strncmp(l->vms[i].name, "bvm", 3) == 0 ? l->vms[i].nr_vcpus : 0;
		sbco_vm_list_free(l);
		if (v == (size_t)(vms * vcpus))
			break;
	}
	for (int r = 0; r < reps; r++) {
		struct sbco_vm_list *l = NULL, *l2 = NULL;
		double t0 = now_ms();

		threads = list_comms();
		tf[r] = now_ms() - t0;
		t0 = now_ms();
		if (sbco_proc_scan("/", &pat, NULL, SBCO_SCAN_CPU, &l, &st) < 0)
			return 1;
		tc[r] = now_ms() - t0;
		sbco_vm_list_free(l);
		t0 = now_ms();
		if (sbco_proc_scan("/", &pat, NULL, 0, &l, &st) < 0)
			return 1;
		ts[r] = now_ms() - t0;
		t0 = now_ms();
		if (sbco_proc_scan("/", &pat, l, 0, &l2, &st) < 0)
			return 1;
		tp[r] = now_ms() - t0;
		found = l2->nr;
		sbco_vm_list_free(l);
		sbco_vm_list_free(l2);
	}
	{
		/* steady state under the event-driven watch: 2 s of nothing happening */
		struct sbco_proc_watch *w = NULL;
		struct sbco_proc_watch_stats ws;

		if (sbco_proc_watch_new("/", &pat, &w) == 0) {
			double t0 = now_ms();

			while (now_ms() - t0 < 2000) {
				usleep(100000);
				sbco_proc_watch_process(w);
			}
			sbco_proc_watch_get_stats(w, &ws);
			fprintf(stderr,
				"watch (%s): 2 s steady state with %d VMs: %lu full scans (1 = the "
				"initial one), %lu process rescans, %lu events\n",
				sbco_proc_watch_has_events(w) ? "proc connector"
							      : "no events: polling",
				vms, (unsigned long)ws.full_scans, (unsigned long)ws.pid_scans,
				(unsigned long)ws.events);
			sbco_proc_watch_free(w);
		}
	}
	for (int i = 0; i < vms; i++) {
		kill(pids[i], SIGTERM);
		waitpid(pids[i], NULL, 0);
	}
	qsort(ts, (size_t)reps, sizeof(*ts), cmp_d);
	qsort(tf, (size_t)reps, sizeof(*tf), cmp_d);
	qsort(tc, (size_t)reps, sizeof(*tc), cmp_d);
	qsort(tp, (size_t)reps, sizeof(*tp), cmp_d);
	/* medians, all measured in the same loop iterations */
	printf("| %d x %d | %d | %zu | %.2f | %.2f (%.1fx) | %.2f (%.1fx) | %.2f (%.1fx) |\n", vms,
	       vcpus, threads, found, tf[reps / 2], tc[reps / 2], tc[reps / 2] / tf[reps / 2],
	       ts[reps / 2], ts[reps / 2] / tf[reps / 2], tp[reps / 2],
	       tp[reps / 2] / tf[reps / 2]);
	sbco_patterns_clear(&pat);
	free(pids);
	free(ts);
	free(tf);
	free(tc);
	free(tp);
	return 0;
}
