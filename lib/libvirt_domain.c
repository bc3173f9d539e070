/* SPDX-License-Identifier: MIT */
/*
 * Describing one running libvirt domain as a struct sbco_vm: name, uuid, id, each vCPU's
 * CPU and affinity (virDomainGetVcpus), its host thread id, and operator pinning.
 *
 * Thread ids: no public libvirt API returns them (virDomainGetVcpus gives CPU and time
 * only). Two ways work on libvirt 9: (a) the QEMU process's own thread names, "CPU N/KVM"
 * or "CPU N/TCG" (libvirt always starts QEMU with debug-threads=on), the process found
 * through libvirt's pid file /run/libvirt/qemu/<name>.pid or, failing that, the "-uuid"
 * argument in /proc/PID/cmdline; (b) QMP "query-cpus-fast" through the libvirt-qemu call
 * virDomainQemuMonitorCommand(), exact but it marks the domain tainted ("custom-monitor").
 * (a) is the default, (b) an option; the integration test checks both against /proc.
 *
 * Pinning: the persistent (inactive) XML is what the operator configured, unaffected by the
 * live pins sbco itself may apply later; transient domains only have the live XML.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libvirt_internal.h"
#include "util.h"

static const char *rootp(const char *root)
{
	return root && strcmp(root, "/") ? root : "";
}

static int32_t pid_from_file(const char *root, const char *name)
{
	char path[4096], buf[32];
	uint64_t v;
	FILE *f;

	snprintf(path, sizeof(path), "%s/run/libvirt/qemu/%s.pid", rootp(root), name);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return sbco_parse_u64(buf, &v) == 0 && v > 0 && v <= INT32_MAX ? (int32_t)v : 0;
}

/* Does /proc/PID/cmdline carry "-uuid <uuid>"? */
static bool cmdline_has_uuid(int procfd, const char *pid, const char *uuid)
{
	char path[300], buf[16384];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/cmdline", pid);
	fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (char *a = buf; a < buf + n; a += strlen(a) + 1)
		if (!strcmp(a, "-uuid") && a + 6 < buf + n && !strcmp(a + 6, uuid))
			return true;
	return false;
}

static int32_t pid_from_uuid(const char *root, const char *uuid)
{
	char path[4096];
	struct dirent *de;
	int32_t found = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/proc", rootp(root));
	d = opendir(path);
	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		uint64_t v;

		if (sbco_parse_u64(de->d_name, &v) == 0 && v <= INT32_MAX &&
		    cmdline_has_uuid(dirfd(d), de->d_name, uuid))
			found = (int32_t)v;
	}
	closedir(d);
	return found;
}

/* vCPU index -> tid from the process's thread names. */
static void tids_from_names(const char *root, int32_t pid, const struct sbco_patterns *pat,
			    struct sbco_vm *vm)
{
	char path[4096], comm[64];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/proc/%d/task", rootp(root), pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char p2[300];
		uint64_t tid;
		int idx, fd;
		ssize_t n;

		if (sbco_parse_u64(de->d_name, &tid) < 0 || tid > INT32_MAX)
			continue;
		snprintf(p2, sizeof(p2), "%s/comm", de->d_name);
		fd = openat(dirfd(d), p2, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (n <= 0)
			continue;
		comm[n] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		if (!sbco_patterns_match(pat, comm, &idx) || idx < 0)
			continue;
		for (size_t i = 0; i < vm->nr_vcpus; i++)
			if (vm->vcpus[i].index == idx)
				vm->vcpus[i].tid = (int32_t)tid;
	}
	closedir(d);
}

/* vCPU index -> tid from QMP query-cpus-fast: {"return":[{"cpu-index":0,"thread-id":N},..]} */
static int tids_from_qmp(virDomainPtr dom, struct sbco_vm *vm)
{
	char *out = NULL;
	cJSON *j, *arr, *it;

	if (virDomainQemuMonitorCommand(dom, "{\"execute\":\"query-cpus-fast\"}", &out, 0) < 0)
		return -EIO;
	j = cJSON_Parse(out);
	free(out);
	arr = j ? cJSON_GetObjectItemCaseSensitive(j, "return") : NULL;
	cJSON_ArrayForEach(it, arr)
	{
		cJSON *ci = cJSON_GetObjectItemCaseSensitive(it, "cpu-index");
		cJSON *ti = cJSON_GetObjectItemCaseSensitive(it, "thread-id");

		if (!cJSON_IsNumber(ci) || !cJSON_IsNumber(ti))
			continue;
		for (size_t i = 0; i < vm->nr_vcpus; i++)
			if (vm->vcpus[i].index == ci->valueint)
				vm->vcpus[i].tid = ti->valueint;
	}
	cJSON_Delete(j);
	return arr ? 0 : -EBADMSG;
}

static void mark_vcpu(struct sbco_vm *vm, long idx)
{
	for (size_t i = 0; i < vm->nr_vcpus; i++)
		if (idx < 0 || vm->vcpus[i].index == idx)
			vm->vcpus[i].pinned = true;
}

/* The nodes an XPath expression selects in doc (0 when none or on error). */
static int count(xmlXPathContext *ctx, const char *expr, xmlNodeSet **ret)
{
	xmlXPathObject *o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	int n = o && o->nodesetval ? o->nodesetval->nodeNr : 0;

	if (ret && n) {
		*ret = o->nodesetval;
		o->nodesetval = NULL; /* the caller frees it */
	}
	xmlXPathFreeObject(o);
	return n;
}

int lv_pinning_from_xml(const char *xml, struct sbco_vm *vm)
{
	const char *reason = NULL;
	xmlDoc *doc = xmlReadMemory(xml, (int)strnlen(xml, INT_MAX), "domain.xml", NULL,
				    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlXPathContext *ctx = doc ? xmlXPathNewContext(doc) : NULL;
	xmlNodeSet *pins = NULL;

	if (!ctx) {
		xmlFreeDoc(doc);
		return doc ? -ENOMEM : -EINVAL; /* not XML: nothing known about pinning */
	}
	/* only libvirt's own elements (no namespace): <metadata> of others cannot pin */
	if (count(ctx, "/domain/vcpu[@cpuset]", NULL)) {
		reason = "<vcpu cpuset=...>";
		mark_vcpu(vm, -1);
	}
	if (count(ctx, "/domain/cputune/vcpupin", &pins)) {
		reason = "<cputune><vcpupin>";
		for (int i = 0; i < pins->nodeNr; i++) {
			xmlChar *v = xmlGetNoNsProp(pins->nodeTab[i], (const xmlChar *)"vcpu");
			char *end;
			long idx = v ? strtol((const char *)v, &end, 10) : -1;

			if (v && *end == '\0' && idx >= 0 && idx <= INT32_MAX)
				mark_vcpu(vm, (int32_t)idx);
			xmlFree(v);
		}
	}
	xmlXPathFreeNodeSet(pins);
	if (!reason && count(ctx,
			     "/domain/cputune/emulatorpin | /domain/cputune/vcpusched | "
			     "/domain/cputune/iothreadpin",
			     NULL))
		reason = "<cputune> pinning of emulator, iothreads or vCPU scheduling";
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	if (!reason)
		return 0;
	vm->pinned = true;
	free(vm->pin_reason);
	vm->pin_reason = strdup(reason);
	return vm->pin_reason ? 0 : -ENOMEM;
}

static int fill_vcpus(virDomainPtr dom, struct sbco_vm *vm)
{
	virNodeInfo node;
	virVcpuInfoPtr info;
	unsigned char *maps;
	int n, maxcpus, maplen;

	n = virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_LIVE);
	if (n <= 0 || virNodeGetInfo(virDomainGetConnect(dom), &node) < 0)
		return -EIO;
	maxcpus = (int)VIR_NODEINFO_MAXCPUS(node);
	maplen = VIR_CPU_MAPLEN(maxcpus);
	info = calloc((size_t)n, sizeof(*info));
	maps = calloc((size_t)n, (size_t)maplen);
	vm->vcpus = calloc((size_t)n, sizeof(*vm->vcpus));
	if (!info || !maps || !vm->vcpus) {
		free(info);
		free(maps);
		return -ENOMEM;
	}
	n = virDomainGetVcpus(dom, info, n, maps, maplen);
	for (int i = 0; i < n; i++) {
		struct sbco_vcpu *v = &vm->vcpus[vm->nr_vcpus++];

		*v = (struct sbco_vcpu){.index = (int32_t)info[i].number, .cpu = info[i].cpu};
		for (int c = 0; c < maxcpus && c < SBCO_MAX_CPUS; c++)
			if (VIR_CPU_USABLE(maps, maplen, i, c))
				sbco_cpuset_add(&v->affinity, (unsigned)c);
	}
	free(info);
	free(maps);
	return n < 0 ? -EIO : 0;
}

int lv_describe_domain(virDomainPtr dom, const char *root, const struct sbco_patterns *pat,
		       bool use_qmp, struct sbco_vm *vm)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	const char *name = virDomainGetName(dom);
	char *xml;
	int r;

	memset(vm, 0, sizeof(*vm));
	if (virDomainIsActive(dom) != 1)
		return -ENOENT;
	if (!name || virDomainGetUUIDString(dom, uuid) < 0)
		return -EIO;
	vm->backend = SBCO_BACKEND_LIBVIRT;
	vm->domid = (int32_t)virDomainGetID(dom);
	snprintf(vm->uuid, sizeof(vm->uuid), "%s", uuid);
	vm->name = strdup(name);
	if (!vm->name)
		return -ENOMEM;
	r = fill_vcpus(dom, vm);
	if (r < 0)
		return virDomainIsActive(dom) == 1 ? r : -ENOENT;
	vm->pid = pid_from_file(root, name);
	if (vm->pid <= 0 || (kill(vm->pid, 0) < 0 && errno == ESRCH))
		vm->pid = pid_from_uuid(root, uuid);
	if (use_qmp)
		(void)tids_from_qmp(dom, vm);
	else if (vm->pid > 0)
		tids_from_names(root, vm->pid, pat, vm);
	for (size_t i = 0; i < vm->nr_vcpus; i++) {
		struct sbco_vcpu t = {.tid = vm->vcpus[i].tid};

		if (t.tid <= 0 || vm->pid <= 0)
			continue;
		r = sbco_proc_describe_thread(root, vm->pid, &t);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			vm->vcpus[i].tid = 0; /* not (any more) a thread of that process */
		else
			vm->vcpus[i].cgroup = t.cgroup;
	}
	xml =
	    virDomainGetXMLDesc(dom, virDomainIsPersistent(dom) == 1 ? VIR_DOMAIN_XML_INACTIVE : 0);
	if (xml) {
		r = lv_pinning_from_xml(xml, vm);
		free(xml);
		if (r == -ENOMEM)
			return r;
	}
	/* the live definition's policy: `virsh metadata --live` and --config both reach it
	 * (VIR_ERR_NO_DOMAIN_METADATA when there is none) */
	xml = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, SBCO_XMLNS,
				   VIR_DOMAIN_AFFECT_LIVE);
	if (xml) {
		r = sbco_meta_parse(xml, strlen(xml), &vm->meta);
		free(xml);
		if (r == -ENOMEM)
			return r;
	}
	return 0;
}
