/* SPDX-License-Identifier: MIT */
/*
 * vCPU hotplug: domain DOM runs with 1 of 2 vCPUs; after `virsh setvcpus DOM 2 --live`
 * the libvirt backend must list 2 vCPUs with thread ids within 2 s, by a single-domain
 * refresh. libvirt 9 sends no event for it, so, as sbcod does, the process watch's events
 * (the new "CPU 1/TCG" thread being named) mark the domain for a refresh.
 * usage: libvirt_hotplug DOM   (inside the libvirt test's namespace)
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sbco.h"

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static size_t vcpus_with_tid(const struct sbco_libvirt *lv, const char *name)
{
	const struct sbco_vm_list *l = sbco_libvirt_vms(lv);
	size_t n = 0;

	for (size_t i = 0; i < l->nr; i++)
		if (!strcmp(l->vms[i].name, name))
			for (size_t k = 0; k < l->vms[i].nr_vcpus; k++)
				n += l->vms[i].vcpus[k].tid > 0;
	return n;
}

int main(int argc, char **argv)
{
	struct sbco_patterns pat = {0};
	struct sbco_libvirt *lv = NULL;
	struct sbco_libvirt_opts o = {.pat = &pat};
	struct sbco_libvirt_stats s0, s1;
	struct sbco_proc_watch *pw = NULL;
	char cmd[256];
	uint64_t t0;
	int rc = 1;

	if (argc != 2 || sbco_patterns_default(&pat) < 0 || sbco_libvirt_new(&o, &lv) < 0 ||
	    sbco_proc_watch_new("/", &pat, &pw) < 0)
		return 2;
	if (!sbco_proc_watch_has_events(pw)) {
		printf("SKIP: no process events here (proc connector needs CAP_NET_ADMIN)\n");
		rc = 77;
		goto out;
	}
	if (vcpus_with_tid(lv, argv[1]) != 1) {
		fprintf(stderr, "FAIL: %s should start with 1 vCPU, has %zu\n", argv[1],
			vcpus_with_tid(lv, argv[1]));
		goto out;
	}
	sbco_libvirt_get_stats(lv, &s0);
	snprintf(cmd, sizeof(cmd), "timeout 60 virsh -q -c qemu:///system setvcpus %s 2 --live",
		 argv[1]);
	if (system(cmd) != 0) {
		fprintf(stderr, "FAIL: setvcpus\n");
		goto out;
	}
	t0 = now_ns();
	while (vcpus_with_tid(lv, argv[1]) != 2 && now_ns() - t0 < 2000000000ull) {
		struct pollfd p[2] = {{.fd = sbco_libvirt_fd(lv), .events = POLLIN},
				      {.fd = sbco_proc_watch_fd(pw), .events = POLLIN}};
		const int32_t *pids;
		size_t n;

		poll(p, 2, 100);
		sbco_proc_watch_process(pw);
		n = sbco_proc_watch_changed(pw, &pids);
		for (size_t i = 0; i < n; i++)
			sbco_libvirt_mark_pid(lv, pids[i]);
		sbco_libvirt_process(lv, now_ns());
	}
	sbco_libvirt_get_stats(lv, &s1);
	if (vcpus_with_tid(lv, argv[1]) != 2) {
		fprintf(stderr, "FAIL: hotplugged vCPU not listed within 2 s (%lu events)\n",
			(unsigned long)(s1.events - s0.events));
		goto out;
	}
	printf("ok: hotplugged vCPU listed %.1f ms after setvcpus returned (%lu events, %lu "
	       "refreshes, %lu full scans)\n",
	       (now_ns() - t0) / 1e6, (unsigned long)(s1.events - s0.events),
	       (unsigned long)(s1.refreshes - s0.refreshes),
	       (unsigned long)(s1.full_scans - s0.full_scans));
	rc = s1.full_scans == s0.full_scans ? 0 : 1;
out:
	sbco_proc_watch_free(pw);
	sbco_libvirt_free(lv);
	sbco_patterns_clear(&pat);
	return rc;
}
