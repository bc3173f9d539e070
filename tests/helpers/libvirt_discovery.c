/* SPDX-License-Identifier: MIT */
/*
 * Integration test of the libvirt backend against a real (test-private) libvirtd with two
 * running TCG domains: both found with the right vCPU thread ids (checked against
 * /proc/TID/comm and against QMP query-cpus-fast), a destroyed domain disappears and a
 * started one appears within 2 s through events, killing and restarting libvirtd leads to
 * a reconnection and the same VM set, and steady state does no rediscovery.
 * usage: libvirt_discovery DOM1 DOM2 RESTART_SCRIPT   (run inside the test's namespace)
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sbco.h"

#define VIRSH "timeout 60 virsh -q -c qemu:///system "

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static const struct sbco_vm *find(const struct sbco_libvirt *lv, const char *name)
{
	const struct sbco_vm_list *l = sbco_libvirt_vms(lv);

	for (size_t i = 0; i < l->nr; i++)
		if (!strcmp(l->vms[i].name, name))
			return &l->vms[i];
	return NULL;
}

/* Wait (bounded) until want(lv) holds, handling events and reconnects as they come. */
static int wait_for(struct sbco_libvirt *lv, bool (*want)(struct sbco_libvirt *, const void *),
		    const void *arg, uint64_t limit_ns, uint64_t *ret_ns)
{
	uint64_t t0 = now_ns();

	while (!want(lv, arg)) {
		uint64_t now = now_ns(), next = sbco_libvirt_next_ns(lv);
		struct pollfd p = {.fd = sbco_libvirt_fd(lv), .events = POLLIN};
		int ms = 100;

		if (now - t0 > limit_ns)
			return -ETIMEDOUT;
		if (next != UINT64_MAX)
			ms = next > now ? (int)((next - now) / 1000000) + 1 : 0;
		if (ms > 100)
			ms = 100;
		poll(&p, 1, ms);
		if (sbco_libvirt_process(lv, now_ns()) < 0)
			return -ENOMEM;
	}
	if (ret_ns)
		*ret_ns = now_ns() - t0;
	return 0;
}

static bool has(struct sbco_libvirt *lv, const void *name)
{
	const struct sbco_vm *vm = find(lv, name);

	return vm && vm->nr_vcpus == 2 && vm->vcpus[0].tid > 0 && vm->vcpus[1].tid > 0;
}

static bool lacks(struct sbco_libvirt *lv, const void *name)
{
	return sbco_libvirt_connected(lv) && !find(lv, name);
}

static bool disconnected(struct sbco_libvirt *lv, const void *arg)
{
	(void)arg;
	return !sbco_libvirt_connected(lv);
}

static uint64_t connects_before;

/* reconnected after the restart, and both domains listed again */
static bool reconnected(struct sbco_libvirt *lv, const void *names)
{
	const char *const *n = names;
	struct sbco_libvirt_stats st;

	sbco_libvirt_get_stats(lv, &st);
	return st.connects > connects_before && sbco_libvirt_connected(lv) && has(lv, n[0]) &&
	       has(lv, n[1]);
}

static int check_vm(const struct sbco_vm *vm, const struct sbco_vm *qmp)
{
	if (!vm || vm->nr_vcpus != 2 || vm->pid <= 0 || vm->backend != SBCO_BACKEND_LIBVIRT ||
	    strlen(vm->uuid) != 36) {
		fprintf(stderr, "FAIL: VM incomplete\n");
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		char path[64], comm[32] = "", want[32];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", vm->pid, vm->vcpus[i].tid);
		f = fopen(path, "re");
		if (f) {
			if (!fgets(comm, sizeof(comm), f))
				comm[0] = '\0';
			fclose(f);
		}
		snprintf(want, sizeof(want), "CPU %d/TCG\n", vm->vcpus[i].index);
		if (vm->vcpus[i].index != i || strcmp(comm, want)) {
			fprintf(stderr, "FAIL: %s vCPU %d tid %d comm '%s'\n", vm->name, i,
				vm->vcpus[i].tid, comm);
			return -1;
		}
		if (!qmp || qmp->vcpus[i].tid != vm->vcpus[i].tid) {
			fprintf(stderr, "FAIL: %s vCPU %d: QMP says tid %d, names say %d\n",
				vm->name, i, qmp ? qmp->vcpus[i].tid : -1, vm->vcpus[i].tid);
			return -1;
		}
		if (!vm->vcpus[i].cgroup || !strstr(vm->vcpus[i].cgroup, "vcpu")) {
			fprintf(stderr, "FAIL: %s vCPU %d cgroup '%s'\n", vm->name, i,
				vm->vcpus[i].cgroup ? vm->vcpus[i].cgroup : "(null)");
			return -1;
		}
	}
	printf("ok: %s pid %d tids %d %d (QMP agrees) cgroup %s\n", vm->name, vm->pid,
	       vm->vcpus[0].tid, vm->vcpus[1].tid, vm->vcpus[0].cgroup);
	return 0;
}

static int run(const char *d1, const char *d2, const char *restart)
{
	struct sbco_patterns pat = {0};
	struct sbco_libvirt *lv = NULL, *lq = NULL;
	struct sbco_libvirt_opts o = {.pat = &pat}, oq = {.pat = &pat, .use_qmp = true};
	struct sbco_libvirt_stats s0, s1;
	char cmd[512];
	uint64_t t;
	int tid_before[2], rc = -1;

	if (sbco_patterns_default(&pat) < 0 || sbco_libvirt_new(&o, &lv) < 0 ||
	    sbco_libvirt_new(&oq, &lq) < 0)
		goto out;
	if (!sbco_libvirt_connected(lv)) {
		fprintf(stderr, "FAIL: not connected: %s\n", sbco_libvirt_last_error(lv));
		goto out;
	}
	if (check_vm(find(lv, d1), find(lq, d1)) < 0 || check_vm(find(lv, d2), find(lq, d2)) < 0)
		goto out;
	lq = sbco_libvirt_free(lq);

	/* destroy -> gone within 2 s, by events (no full rescan) */
	sbco_libvirt_get_stats(lv, &s0);
	snprintf(cmd, sizeof(cmd), VIRSH "destroy %s >/dev/null", d2);
	if (system(cmd) != 0 || wait_for(lv, lacks, d2, 2000000000ull, &t) < 0) {
		fprintf(stderr, "FAIL: destroyed %s still listed after 2 s\n", d2);
		goto out;
	}
	printf("ok: destroyed %s gone after %.1f ms\n", d2, t / 1e6);
	snprintf(cmd, sizeof(cmd), VIRSH "start %s >/dev/null", d2);
	if (system(cmd) != 0 || wait_for(lv, has, d2, 2000000000ull, &t) < 0) {
		fprintf(stderr, "FAIL: started %s not listed within 2 s\n", d2);
		goto out;
	}
	printf("ok: started %s listed %.1f ms after virsh start returned\n", d2, t / 1e6);
	sbco_libvirt_get_stats(lv, &s1);
	if (s1.full_scans != s0.full_scans || s1.refreshes == s0.refreshes) {
		fprintf(stderr, "FAIL: expected event-driven refreshes only (scans %lu -> %lu)\n",
			(unsigned long)s0.full_scans, (unsigned long)s1.full_scans);
		goto out;
	}

	/* steady state: nothing happens, nothing is rediscovered */
	sbco_libvirt_get_stats(lv, &s0);
	wait_for(lv, disconnected, NULL, 3000000000ull, NULL);
	sbco_libvirt_get_stats(lv, &s1);
	if (s1.full_scans != s0.full_scans || s1.refreshes != s0.refreshes) {
		fprintf(stderr, "FAIL: rediscovery in steady state\n");
		goto out;
	}
	printf("ok: steady state 3 s: 0 scans, 0 refreshes\n");

	/* libvirtd killed and restarted: reconnect, same VMs */
	tid_before[0] = find(lv, d1)->vcpus[0].tid;
	tid_before[1] = find(lv, d2)->vcpus[1].tid;
	sbco_libvirt_get_stats(lv, &s0);
	connects_before = s0.connects;
	snprintf(cmd, sizeof(cmd), "timeout 120 sh %s stop", restart);
	if (system(cmd) != 0) {
		fprintf(stderr, "FAIL: stopping libvirtd\n");
		goto out;
	}
	/* 2 s without libvirtd: the backend notices, keeps the VMs, retries with backoff */
	wait_for(lv, reconnected, (const char *const[]){d1, d2}, 2000000000ull, NULL);
	sbco_libvirt_get_stats(lv, &s1);
	if (sbco_libvirt_connected(lv) || s1.disconnects < 1 || s1.connect_failures < 2 ||
	    sbco_libvirt_vms(lv)->nr != 2) {
		fprintf(stderr, "FAIL: libvirtd down: connected=%d disconnects %lu failures %lu\n",
			sbco_libvirt_connected(lv), (unsigned long)s1.disconnects,
			(unsigned long)s1.connect_failures);
		goto out;
	}
	printf("ok: libvirtd down 2 s: disconnected, %lu backoff attempts, last VMs kept (%s)\n",
	       (unsigned long)s1.connect_failures, sbco_libvirt_last_error(lv));
	snprintf(cmd, sizeof(cmd), "timeout 120 sh %s start", restart);
	if (system(cmd) != 0) {
		fprintf(stderr, "FAIL: starting libvirtd\n");
		goto out;
	}
	if (wait_for(lv, reconnected, (const char *const[]){d1, d2}, 30000000000ull, &t) < 0) {
		fprintf(stderr, "FAIL: no reconnection: %s\n", sbco_libvirt_last_error(lv));
		goto out;
	}
	sbco_libvirt_get_stats(lv, &s1);
	if (s1.disconnects < 1 || s1.connects < 2 || find(lv, d1)->vcpus[0].tid != tid_before[0] ||
	    find(lv, d2)->vcpus[1].tid != tid_before[1] || sbco_libvirt_vms(lv)->nr != 2) {
		fprintf(stderr, "FAIL: after reconnect: connects %lu disconnects %lu vms %zu\n",
			(unsigned long)s1.connects, (unsigned long)s1.disconnects,
			sbco_libvirt_vms(lv)->nr);
		goto out;
	}
	printf("ok: reconnected %.0f ms after libvirtd was back (%lu connects, %lu failed "
	       "attempts), same 2 VMs and tids\n",
	       t / 1e6, (unsigned long)s1.connects, (unsigned long)s1.connect_failures);
	rc = 0;
out:
	sbco_libvirt_free(lq);
	sbco_libvirt_free(lv);
	sbco_patterns_clear(&pat);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: libvirt_discovery DOM1 DOM2 RESTART_SCRIPT\n");
		return 2;
	}
	if (run(argv[1], argv[2], argv[3]) < 0) {
		printf("FAIL\n");
		return 1;
	}
	printf("PASS\n");
	return 0;
}
