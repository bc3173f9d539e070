/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of VM discovery pieces that need no running VMs: CPU lists, the /proc scan on
 * a fake root (names, uuid, CPU, affinity, cgroup, pinning, threads that vanished), the
 * libvirt pinning rules on domain XML, and the libvirt-wins merge.
 */
#include <sys/stat.h>

#include "../../lib/libvirt_internal.h"
#include "testutil.h"

static void test_cpuset(void **state)
{
	struct sbco_cpuset c;
	char buf[64];

	(void)state;
	assert_int_equal(sbco_cpuset_parse("0-3,8,10-11\n", &c), 0);
	assert_int_equal(sbco_cpuset_count(&c), 7);
	assert_true(sbco_cpuset_has(&c, 8));
	assert_false(sbco_cpuset_has(&c, 9));
	assert_int_equal(sbco_cpuset_format(&c, buf, sizeof(buf)), 11);
	assert_string_equal(buf, "0-3,8,10-11");
	assert_int_equal(sbco_cpuset_parse("", &c), 0);
	assert_int_equal(sbco_cpuset_count(&c), 0);
	assert_int_equal(sbco_cpuset_parse("3-1", &c), -EINVAL);
	assert_int_equal(sbco_cpuset_parse("1,,x", &c), -EINVAL);
	assert_int_equal(sbco_cpuset_parse("5000", &c), -ERANGE);
	assert_int_equal(sbco_cpuset_parse("0-1023", &c), 0);
	assert_int_equal(sbco_cpuset_count(&c), 1024);
	assert_int_equal(sbco_cpuset_format(&c, buf, 4), -ENOBUFS);
}

static void put(const char *root, const char *rel, const char *data, size_t len)
{
	char path[4096], dir[4096], cmd[8300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", dir);
	assert_int_equal(system(cmd), 0);
	f = fopen(path, "we");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

#define PUTS(root, rel, s) put(root, rel, s, strlen(s))

static void thread(const char *root, int pid, int tid, const char *comm, int cpu,
		   const char *allowed, const char *cg)
{
	char rel[256], buf[1024];

	snprintf(rel, sizeof(rel), "proc/%d/task/%d/comm", pid, tid);
	snprintf(buf, sizeof(buf), "%s\n", comm);
	PUTS(root, rel, buf);
	snprintf(rel, sizeof(rel), "proc/%d/task/%d/stat", pid, tid);
	snprintf(buf, sizeof(buf),
		 "%d (%s) R 1 1 1 0 -1 4194560 0 0 0 0 5 6 0 0 20 0 3 0 100 0 0 "
		 "18446744073709551615 0 0 0 0 0 0 0 4096 0 0 0 0 -1 %d 0 0 0 0 0\n",
		 tid, comm, cpu);
	PUTS(root, rel, buf);
	snprintf(rel, sizeof(rel), "proc/%d/task/%d/status", pid, tid);
	snprintf(buf, sizeof(buf),
		 "Name:\t%s\nTgid:\t%d\nCpus_allowed:\tf\nCpus_allowed_list:\t%s\n", comm, pid,
		 allowed);
	PUTS(root, rel, buf);
	snprintf(rel, sizeof(rel), "proc/%d/task/%d/cgroup", pid, tid);
	snprintf(buf, sizeof(buf), "9:name=systemd:/\n3:cpuset:%s\n1:cpu,cpuacct:%s\n0::%s\n", cg,
		 cg, cg);
	PUTS(root, rel, buf);
}

static void test_proc_scan_fake_root(void **state)
{
	static const char qcmd[] = "qemu-system-x86_64\0-name\0guest=tb9,debug-threads=on\0-uuid\0"
				   "0f0e0d0c-0b0a-0908-0706-050403020100\0-smp\0002\0";
	static const char fcmd[] = "firecracker\0--id\0fc1\0";
	char root[] = "/tmp/sbco-fakeroot.XXXXXX", cmd[4200];
	struct sbco_patterns pat = {0};
	struct sbco_vm_list *l = NULL;
	struct sbco_proc_scan_stats st;
	const struct sbco_vm *q, *fc;

	(void)state;
	assert_non_null(mkdtemp(root));
	PUTS(root, "sys/devices/system/cpu/online", "0-3\n");
	put(root, "proc/100/cmdline", qcmd, sizeof(qcmd) - 1);
	thread(root, 100, 100, "qemu-system-x86", 0, "0-3",
	       "/machine/qemu-9-tb9.libvirt-qemu/emulator");
	thread(root, 100, 102, "CPU 1/TCG", 3, "1", "/machine/qemu-9-tb9.libvirt-qemu/vcpu1");
	thread(root, 100, 101, "CPU 0/TCG", 2, "0-3", "/machine/qemu-9-tb9.libvirt-qemu/vcpu0");
	put(root, "proc/300/cmdline", fcmd, sizeof(fcmd) - 1);
	thread(root, 300, 301, "fc_vcpu 0", 1, "0-3", "/fc");
	/* 200: a thread that vanished between readdir and reading its files */
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/proc/200/task/201 %s/proc/self", root, root);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(sbco_patterns_default(&pat), 0);
	assert_int_equal(sbco_proc_scan(root, &pat, NULL, SBCO_SCAN_CPU, &l, &st), 0);
	assert_int_equal(l->nr, 2);
	assert_int_equal(st.processes, 3);
	assert_int_equal(st.vcpus, 3);
	assert_int_equal(st.vanished, 1);
	q = sbco_vm_list_find_pid(l, 100);
	fc = sbco_vm_list_find_pid(l, 300);
	assert_non_null(q);
	assert_non_null(fc);
	assert_string_equal(q->name, "tb9");
	assert_string_equal(q->uuid, "0f0e0d0c-0b0a-0908-0706-050403020100");
	assert_int_equal(q->nr_vcpus, 2);
	assert_int_equal(q->vcpus[0].index, 0); /* sorted by index */
	assert_int_equal(q->vcpus[0].tid, 101);
	assert_int_equal(q->vcpus[0].cpu, 2);
	assert_string_equal(q->vcpus[0].cgroup, "/machine/qemu-9-tb9.libvirt-qemu/vcpu0");
	assert_false(q->vcpus[0].pinned);
	assert_true(q->vcpus[1].pinned); /* allowed "1" of online "0-3" */
	assert_true(q->pinned);
	assert_int_equal(sbco_cpuset_count(&q->vcpus[1].affinity), 1);
	assert_string_equal(fc->name, "fc1");
	assert_int_equal(fc->vcpus[0].index, 0);
	assert_false(fc->pinned);
	sbco_vm_list_free(l);
	sbco_patterns_clear(&pat);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(sbco_proc_scan("/nonexistent-root", &pat, NULL, 0, &l, NULL), -ENOENT);
}

static void test_xml_pinning(void **state)
{
	struct sbco_vcpu v[3] = {{.index = 0}, {.index = 1}, {.index = 2}};
	struct sbco_vm vm = {.vcpus = v, .nr_vcpus = 3};

	(void)state;
	assert_int_equal(lv_pinning_from_xml("<domain><vcpu placement='static'>3</vcpu>"
					     "<cputune><shares>2048</shares></cputune></domain>",
					     &vm),
			 0);
	assert_false(vm.pinned);
	assert_int_equal(lv_pinning_from_xml("<domain><vcpu placement='static'>3</vcpu><cputune>"
					     "<vcpupin vcpu='1' cpuset='2'/></cputune></domain>",
					     &vm),
			 0);
	assert_true(vm.pinned);
	assert_false(v[0].pinned);
	assert_true(v[1].pinned);
	assert_string_equal(vm.pin_reason, "<cputune><vcpupin>");
	assert_int_equal(
	    lv_pinning_from_xml("<domain><vcpu placement='static' cpuset='0-1'>3</vcpu></domain>",
				&vm),
	    0);
	assert_true(v[0].pinned && v[2].pinned);
	free(vm.pin_reason);
	vm = (struct sbco_vm){.vcpus = v, .nr_vcpus = 3};
	assert_int_equal(lv_pinning_from_xml(
			     "<domain><cputune><emulatorpin cpuset='3'/></cputune></domain>", &vm),
			 0);
	assert_true(vm.pinned);
	free(vm.pin_reason);
	/* other applications' metadata or text that looks like pinning is not pinning */
	for (int i = 0; i < 3; i++)
		v[i].pinned = false;
	vm = (struct sbco_vm){.vcpus = v, .nr_vcpus = 3};
	assert_int_equal(
	    lv_pinning_from_xml("<domain><description>&lt;vcpupin vcpu='0'/&gt;"
				"</description><metadata><vcpupin xmlns='http://x/' "
				"vcpu='0'/><a:cputune xmlns:a='http://y/'><a:vcpupin "
				"vcpu='1'/></a:cputune></metadata><vcpu>3</vcpu></domain>",
				&vm),
	    0);
	assert_false(vm.pinned || v[0].pinned || v[1].pinned);
	/* a vcpupin with a bad index pins the VM (operator pinning) but no vCPU by mistake */
	assert_int_equal(lv_pinning_from_xml("<domain><cputune><vcpupin vcpu='1x' cpuset='1'/>"
					     "</cputune></domain>",
					     &vm),
			 0);
	assert_true(vm.pinned);
	assert_false(v[0].pinned || v[1].pinned || v[2].pinned);
	free(vm.pin_reason);
	vm = (struct sbco_vm){.vcpus = v, .nr_vcpus = 3};
	assert_int_equal(lv_pinning_from_xml("<domain><vcpu", &vm), -EINVAL);
	assert_false(vm.pinned);
}

static void test_merge(void **state)
{
	struct sbco_vcpu a = {.index = 0, .tid = 11, .cgroup = (char *)"/x"};
	struct sbco_vm lv = {.name = (char *)"tb1",
			     .uuid = "u1",
			     .backend = SBCO_BACKEND_LIBVIRT,
			     .pid = 10,
			     .vcpus = &a,
			     .nr_vcpus = 1};
	struct sbco_vm p1 = {.name = (char *)"tb1-proc", .pid = 10, .vcpus = &a, .nr_vcpus = 1};
	struct sbco_vm p2 = {.name = (char *)"fc", .pid = 20, .vcpus = &a, .nr_vcpus = 1};
	struct sbco_vm p3 = {.name = (char *)"byuuid", .uuid = "u1", .pid = 30};
	struct sbco_vm_list virt = {0}, proc = {0}, *all = NULL;

	(void)state;
	assert_int_equal(sbco_vm_list_add(&virt, &lv), 0);
	assert_int_equal(sbco_vm_list_add(&proc, &p1), 0);
	assert_int_equal(sbco_vm_list_add(&proc, &p2), 0);
	assert_int_equal(sbco_vm_list_add(&proc, &p3), 0);
	assert_int_equal(sbco_vm_list_merge(&virt, &proc, &all), 0);
	assert_int_equal(all->nr, 2);
	assert_string_equal(all->vms[0].name, "tb1");
	assert_int_equal(all->vms[0].backend, SBCO_BACKEND_LIBVIRT);
	assert_string_equal(all->vms[1].name, "fc");
	assert_string_equal(all->vms[1].vcpus[0].cgroup, "/x");
	assert_ptr_not_equal(all->vms[1].vcpus[0].cgroup, a.cgroup); /* deep copy */
	sbco_vm_list_free(all);
	for (size_t i = 0; i < virt.nr; i++)
		sbco_vm_clear(&virt.vms[i]);
	for (size_t i = 0; i < proc.nr; i++)
		sbco_vm_clear(&proc.vms[i]);
	free(virt.vms);
	free(proc.vms);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cpuset),
	    cmocka_unit_test(test_proc_scan_fake_root),
	    cmocka_unit_test(test_xml_pinning),
	    cmocka_unit_test(test_merge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
