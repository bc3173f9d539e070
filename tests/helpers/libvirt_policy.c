/* SPDX-License-Identifier: MIT */
/*
 * The policy engine on real libvirt TCG domains (run inside the libvirt test's namespace):
 * anti-stacking pins each vCPU through libvirt (virDomainPinVcpuFlags), checked in the
 * kernel (/proc/TID/status) and in libvirt's own view (virDomainGetVcpus via a refresh);
 * a few sbco cycles on the real dump nudge QEMU vCPU threads' slices; restore puts every
 * affinity and slice back, again checked in both views.
 * usage: libvirt_policy SECONDS
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sbco.h"
#include "sched_attr.h"

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int kernel_affinity(int32_t tid, struct sbco_cpuset *ret)
{
	char path[64], buf[4096], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strstr(buf, "Cpus_allowed_list:");
	return p && sbco_cpuset_parse(p + strlen("Cpus_allowed_list:"), ret) == 0 ? 0 : -1;
}

/* Both the kernel and libvirt (after processing its events) agree: striped (one CPU per
 * vCPU), or back to orig (the kernel's masks before the engine started, by vCPU)? */
static int check(struct sbco_libvirt *lv, const struct sbco_vm_list *vms, bool striped,
		 const struct sbco_cpuset *orig)
{
	uint64_t end = now_ns() + 3000000000ull;

	for (;;) { /* bounded: libvirt's tunable events arrive within milliseconds */
		const struct sbco_vm_list *cur = sbco_libvirt_vms(lv);
		int bad = 0;

		for (size_t v = 0; v < vms->nr; v++)
			for (size_t k = 0; k < vms->vms[v].nr_vcpus; k++) {
				const struct sbco_vcpu *vc = &vms->vms[v].vcpus[k];
				struct sbco_cpuset kern;
				int n;

				if (kernel_affinity(vc->tid, &kern) < 0) {
					fprintf(stderr, "tid %d: no /proc status\n", vc->tid);
					return -1;
				}
				n = sbco_cpuset_count(&kern);
				if (striped ? n != 1
					    : !sbco_cpuset_equal(&kern, &orig[v * 64 + k])) {
					if (now_ns() > end)
						fprintf(stderr, "tid %d: kernel allows %d CPUs\n",
							vc->tid, n);
					bad = 1;
				}
				for (size_t w = 0; w < cur->nr; w++)
					if (!strcmp(cur->vms[w].uuid, vms->vms[v].uuid) &&
					    !sbco_cpuset_equal(&cur->vms[w].vcpus[k].affinity,
							       &kern)) {
						if (now_ns() > end)
							fprintf(stderr,
								"tid %d: libvirt's view differs\n",
								vc->tid);
						bad = 1;
					}
			}
		if (!bad)
			return 0;
		if (now_ns() > end) /* this last pass printed the differences */
			return -1;
		poll(&(struct pollfd){.fd = sbco_libvirt_fd(lv), .events = POLLIN}, 1, 100);
		sbco_libvirt_process(lv, now_ns());
	}
}

int main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 2, rc = 1;
	struct sbco_patterns pat = {0};
	struct sbco_libvirt *lv = NULL;
	struct sbco_libvirt_opts o = {.pat = &pat};
	struct sbco_vm_list vms = {0};
	struct sbco_vm_policy pol[8];
	struct sbco_topology *topo = NULL;
	struct sbco_engine *e = NULL;
	struct sbco_engine_stats st;
	struct sbco_restore_stats rs;
	struct sbco_cpuset orig[8 * 64];
	uint64_t end;

	if (sbco_patterns_default(&pat) < 0 || sbco_libvirt_new(&o, &lv) < 0 ||
	    !sbco_libvirt_connected(lv) || sbco_topology_read("/", &topo) < 0)
		goto out;
	for (size_t i = 0; i < sbco_libvirt_vms(lv)->nr && i < 8; i++) {
		sbco_vm_list_add(&vms, &sbco_libvirt_vms(lv)->vms[i]);
		pol[i] = (struct sbco_vm_policy){.mode = SBCO_MODE_SBCO, .alpha = 2.0 / 3};
	}
	if (vms.nr != 2) {
		fprintf(stderr, "FAIL: %zu domains\n", vms.nr);
		goto out;
	}
	for (size_t v = 0; v < vms.nr; v++) /* what the kernel has before we start */
		for (size_t k = 0; k < vms.vms[v].nr_vcpus && k < 64; k++)
			if (kernel_affinity(vms.vms[v].vcpus[k].tid, &orig[v * 64 + k]) < 0)
				goto out;
	if (sbco_engine_new(&sbco_host_ops_real, (void *)"/", "/", &pat, NULL, NULL, &e) < 0)
		goto out;
	sbco_engine_set_pinner(e, sbco_libvirt_pin_vcpu, lv);
	/* placement is tested here; the stall response (issue 14, stall_live) would lift it */
	sbco_engine_set_stall(e, NULL, false);
	if (sbco_engine_set_vms(e, &vms, pol, topo) < 0 || check(lv, &vms, true, orig)) {
		fprintf(stderr, "FAIL: vCPUs not striped in the kernel and in libvirt\n");
		goto out;
	}
	printf("ok: anti-stacking pinned 4 vCPUs through libvirt; kernel and libvirt agree\n");
	end = now_ns() + (uint64_t)secs * 1000000000ull;
	while (now_ns() < end) {
		char *buf = NULL, err[256];
		size_t len;
		int fd = sbco_dump_open_live("/", NULL);

		if (fd < 0)
			break; /* no debugfs here: anti-stacking part only */
		if (sbco_read_fd(fd, 64u << 20, &buf, &len) == 0)
			sbco_engine_cycle(e, buf, len, now_ns(), err, sizeof(err));
		close(fd);
		free(buf);
		usleep(20000);
	}
	sbco_engine_get_stats(e, &st);
	printf("ok: %lu sbco cycles on the real dump, %lu VM samples, %lu stacked, %lu over "
	       "threshold, %lu slice actions (%lu errors)\n",
	       (unsigned long)st.cycles, (unsigned long)st.vm_samples, (unsigned long)st.stacked,
	       (unsigned long)st.exceeded, (unsigned long)st.actions,
	       (unsigned long)st.action_errors);
	if (st.stacked || st.action_errors) {
		fprintf(stderr, "FAIL: stacking or action errors under sbco\n");
		goto out;
	}
	sbco_engine_restore(e, &rs);
	if (rs.failed || check(lv, &vms, false, orig)) {
		fprintf(stderr, "FAIL: not restored (%u failed)\n", rs.failed);
		goto out;
	}
	for (size_t v = 0; v < vms.nr; v++)
		for (size_t k = 0; k < vms.vms[v].nr_vcpus; k++) {
			struct test_sched_attr a;

			if (test_sched_getattr(vms.vms[v].vcpus[k].tid, &a) || a.nice != 0) {
				fprintf(stderr, "FAIL: vCPU thread attributes not restored\n");
				goto out;
			}
		}
	printf("ok: %u changes restored; kernel and libvirt show the masks from before again\n"
	       "PASS\n",
	       rs.restored);
	rc = 0;
out:
	if (rc && e)
		sbco_engine_restore(e, NULL);
	sbco_engine_free(e);
	for (size_t i = 0; i < vms.nr; i++)
		sbco_vm_clear(&vms.vms[i]);
	free(vms.vms);
	sbco_topology_free(topo);
	sbco_libvirt_free(lv);
	sbco_patterns_clear(&pat);
	return rc;
}
