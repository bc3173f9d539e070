/* SPDX-License-Identifier: MIT */
/*
 * Integration test of the /proc backend on real processes: starts two synthetic VMs
 * (fakevm), one of them churning short-lived vCPU-named threads, scans /proc repeatedly
 * while threads come and go, and checks every scan finds both VMs with the right thread
 * ids (cross-checked against /proc/TID/comm); then ends one VM and checks it disappears.
 * Ends only the processes it started, by pid; every wait is bounded.
 * usage: proc_discovery BUILD_DIR
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sbco.h"

struct child {
	pid_t pid;
	int tids[8], n;
};

static int start(const char *fakevm, const char *name, const char *smp, bool churn, struct child *c)
{
	int fds[2];
	char line[512], *tok, *save;
	FILE *f;

	if (pipe(fds) < 0)
		return -1;
	c->pid = fork();
	if (c->pid == 0) {
		char nm[64];

		dup2(fds[1], 1);
		close(fds[0]);
		snprintf(nm, sizeof(nm), "guest=%s,debug-threads=on", name);
		execl(fakevm, fakevm, "-name", nm, "-smp", smp, "-mode", "sleep", "-time", "30",
		      churn ? "-churn" : NULL, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (!f || !fgets(line, sizeof(line), f) || strncmp(line, "ready ", 6)) {
		fprintf(stderr, "FAIL: fakevm %s did not start\n", name);
		return -1;
	}
	fclose(f);
	strtok_r(line + 6, " \n", &save); /* pid */
	c->n = 0;
	while ((tok = strtok_r(NULL, " \n", &save)) && c->n < 8)
		c->tids[c->n++] = (int)strtol(tok, NULL, 10);
	return 0;
}

static void stop(struct child *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGTERM);
		waitpid(c->pid, NULL, 0);
		c->pid = 0;
	}
}

static int check_vm(const struct sbco_vm_list *l, const struct child *c, const char *name)
{
	const struct sbco_vm *vm = sbco_vm_list_find_pid(l, c->pid);
	int found = 0;

	if (!vm || strcmp(vm->name, name)) {
		fprintf(stderr, "FAIL: %s (pid %d) not found\n", name, c->pid);
		return -1;
	}
	for (size_t i = 0; i < vm->nr_vcpus; i++) {
		const struct sbco_vcpu *v = &vm->vcpus[i];
		char path[64], comm[32] = "", want[32];
		FILE *f;

		if (v->index >= 90)
			continue; /* a churn thread */
		if (v->index >= c->n || v->tid != c->tids[v->index]) {
			fprintf(stderr, "FAIL: %s vCPU %d tid %d\n", name, v->index, v->tid);
			return -1;
		}
		snprintf(path, sizeof(path), "/proc/%d/comm", v->tid);
		f = fopen(path, "re");
		if (f) {
			if (!fgets(comm, sizeof(comm), f))
				comm[0] = '\0';
			fclose(f);
		}
		snprintf(want, sizeof(want), "CPU %d/KVM\n", v->index);
		if (strcmp(comm, want)) {
			fprintf(stderr, "FAIL: /proc/%d/comm is '%s'\n", v->tid, comm);
			return -1;
		}
		found++;
	}
	if (found != c->n) {
		fprintf(stderr, "FAIL: %s: %d of %d vCPUs\n", name, found, c->n);
		return -1;
	}
	return 0;
}

/* Poll the watch (bounded) until the VM of pid is present (want) or absent (!want). */
static int watch_until(struct sbco_proc_watch *w, pid_t pid, bool want, double *ret_ms)
{
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = {.fd = sbco_proc_watch_fd(w), .events = POLLIN};
		double ms;

		if (sbco_proc_watch_process(w) < 0)
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
		if ((sbco_proc_watch_vms(w) && sbco_vm_list_find_pid(sbco_proc_watch_vms(w), pid) &&
		     sbco_vm_list_find_pid(sbco_proc_watch_vms(w), pid)->nr_vcpus >= 2) == want) {
			*ret_ms = ms;
			return 0;
		}
		if (ms > 2000)
			return -1;
		poll(&p, 1, 50);
	}
}

/* The event-driven watch: a new VM appears and an ended one disappears within 2 s with
 * per-process rescans only, while pvB keeps churning threads. */
static int test_watch(const char *fakevm, const struct sbco_patterns *pat)
{
	struct sbco_proc_watch *w = NULL;
	struct sbco_proc_watch_stats st;
	struct child c = {0};
	double ms;
	pid_t pid;
	int rc = -1;

	if (sbco_proc_watch_new("/", pat, &w) < 0)
		return -1;
	if (!sbco_proc_watch_has_events(w)) {
		printf("SKIP-PART: no proc connector (needs CAP_NET_ADMIN): watch not tested\n");
		sbco_proc_watch_free(w);
		return 0;
	}
	if (start(fakevm, "pvC", "2", false, &c) < 0)
		goto out;
	pid = c.pid;
	if (watch_until(w, pid, true, &ms) < 0) {
		fprintf(stderr, "FAIL: watch did not see pvC start\n");
		goto out;
	}
	printf("ok: watch saw pvC after %.1f ms\n", ms);
	stop(&c);
	if (watch_until(w, pid, false, &ms) < 0) {
		fprintf(stderr, "FAIL: watch still lists ended pvC\n");
		goto out;
	}
	sbco_proc_watch_get_stats(w, &st);
	printf("ok: watch dropped pvC after %.1f ms; %lu full scans, %lu process scans, %lu "
	       "events, %lu lost\n",
	       ms, (unsigned long)st.full_scans, (unsigned long)st.pid_scans,
	       (unsigned long)st.events, (unsigned long)st.lost);
	if (st.full_scans != 1 + st.lost) {
		fprintf(stderr, "FAIL: the watch rescanned /proc without lost events\n");
		goto out;
	}
	rc = 0;
out:
	stop(&c);
	sbco_proc_watch_free(w);
	return rc;
}

int main(int argc, char **argv)
{
	struct child a = {0}, b = {0};
	struct sbco_patterns pat = {0};
	struct sbco_proc_scan_stats st, total = {0};
	char fakevm[4096];
	int rc = 1, scans = 0;
	struct timespec t0, t1;

	snprintf(fakevm, sizeof(fakevm), "%s/tests/fakevm", argc > 1 ? argv[1] : "build");
	if (sbco_patterns_default(&pat) < 0 || start(fakevm, "pvA", "2", false, &a) < 0 ||
	    start(fakevm, "pvB", "3", true, &b) < 0)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do { /* bounded: 3 s of back-to-back scans against the churn */
		struct sbco_vm_list *l = NULL;
		int r = sbco_proc_scan("/", &pat, NULL, 0, &l, &st);

		if (r < 0) {
			fprintf(stderr, "FAIL: scan: %s\n", strerror(-r));
			goto out;
		}
		r = check_vm(l, &a, "pvA") < 0 || check_vm(l, &b, "pvB") < 0;
		sbco_vm_list_free(l);
		if (r)
			goto out;
		total.vanished += st.vanished;
		scans++;
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while (t1.tv_sec - t0.tv_sec < 3);
	printf("ok: %d scans under churn, %u vanished threads tolerated\n", scans, total.vanished);
	{
		struct sbco_vm_list *l = NULL;
		pid_t gone = a.pid;

		stop(&a);
		if (sbco_proc_scan("/", &pat, NULL, 0, &l, NULL) < 0 ||
		    sbco_vm_list_find_pid(l, gone) || !sbco_vm_list_find_pid(l, b.pid)) {
			fprintf(stderr, "FAIL: ended VM still listed\n");
			sbco_vm_list_free(l);
			goto out;
		}
		sbco_vm_list_free(l);
	}
	if (test_watch(fakevm, &pat) < 0)
		goto out;
	rc = 0;
	printf("PASS\n");
out:
	stop(&a);
	stop(&b);
	sbco_patterns_clear(&pat);
	return rc;
}
