/* SPDX-License-Identifier: MIT */
/*
 * CPU topology from sysfs: SMT siblings, last-level cache, package and NUMA node of every
 * online CPU, and a placement order that keeps neighbours in it close in the hardware
 * (same node, then same LLC, then same core), so contiguous stripes of it stay local.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbco.h"
#include "util.h"

static const char *rp(const char *root)
{
	return root && strcmp(root, "/") ? root : "";
}

static int read_list_first(const char *path, int32_t fallback)
{
	char buf[4096];
	struct sbco_cpuset c;
	FILE *f = fopen(path, "re");

	if (!f)
		return fallback;
	if (!fgets(buf, sizeof(buf), f) || sbco_cpuset_parse(buf, &c) < 0) {
		fclose(f);
		return fallback;
	}
	fclose(f);
	for (unsigned i = 0; i < SBCO_MAX_CPUS; i++)
		if (sbco_cpuset_has(&c, i))
			return (int32_t)i;
	return fallback;
}

static int read_int(const char *path, int32_t fallback)
{
	char buf[64];
	uint64_t v;
	FILE *f = fopen(path, "re");

	if (!f)
		return fallback;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return fallback;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return sbco_parse_u64(buf, &v) == 0 && v <= INT32_MAX ? (int32_t)v : fallback;
}

static int cmp_cpu(const void *a, const void *b, void *arg)
{
	const struct sbco_topology *t = arg;
	const struct sbco_cpu_topo *x = &t->cpu[*(const int32_t *)a];
	const struct sbco_cpu_topo *y = &t->cpu[*(const int32_t *)b];
	int32_t k1[4] = {x->node, x->llc, x->core, *(const int32_t *)a};
	int32_t k2[4] = {y->node, y->llc, y->core, *(const int32_t *)b};

	for (int i = 0; i < 4; i++)
		if (k1[i] != k2[i])
			return k1[i] < k2[i] ? -1 : 1;
	return 0;
}

static void read_nodes(const char *root, struct sbco_topology *t)
{
	char path[4096];

	for (int n = 0; n < 1024; n++) {
		struct sbco_cpuset c;
		char buf[4096];
		FILE *f;

		snprintf(path, sizeof(path), "%s/sys/devices/system/node/node%d/cpulist", rp(root),
			 n);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && sbco_cpuset_parse(buf, &c) == 0)
			for (unsigned i = 0; i < SBCO_MAX_CPUS; i++)
				if (sbco_cpuset_has(&c, i))
					t->cpu[i].node = n;
		fclose(f);
	}
}

int sbco_topology_read(const char *root, struct sbco_topology **ret)
{
	struct sbco_topology *t = calloc(1, sizeof(*t));
	char path[4096];
	int r;

	if (!t)
		return -ENOMEM;
	r = sbco_cpus_online(root, &t->online);
	if (r < 0 || sbco_cpuset_count(&t->online) == 0) {
		free(t);
		return -ENOENT;
	}
	for (unsigned i = 0; i < SBCO_MAX_CPUS; i++) {
		struct sbco_cpu_topo *c = &t->cpu[i];
		const char *base = "/sys/devices/system/cpu/cpu";

		if (!sbco_cpuset_has(&t->online, i))
			continue;
		t->nr_cpus = i + 1;
		snprintf(path, sizeof(path), "%s%s%u/topology/thread_siblings_list", rp(root), base,
			 i);
		c->core = read_list_first(path, (int32_t)i);
		snprintf(path, sizeof(path), "%s%s%u/topology/physical_package_id", rp(root), base,
			 i);
		c->package = read_int(path, 0);
		snprintf(path, sizeof(path), "%s%s%u/cache/index3/shared_cpu_list", rp(root), base,
			 i);
		c->llc = read_list_first(path, -1 - c->package);
		t->order[t->nr_order++] = (int32_t)i;
	}
	read_nodes(root, t);
	qsort_r(t->order, t->nr_order, sizeof(t->order[0]), cmp_cpu, t);
	*ret = t;
	return 0;
}

int sbco_topology_refresh(const char *root, struct sbco_topology **topo)
{
	struct sbco_cpuset online;
	struct sbco_topology *t;
	int r = sbco_cpus_online(root, &online);

	if (r < 0)
		return r;
	if (*topo && sbco_cpuset_equal(&online, &(*topo)->online))
		return 0;
	r = sbco_topology_read(root, &t);
	if (r < 0)
		return r;
	sbco_topology_free(*topo);
	*topo = t;
	return 1;
}

struct sbco_topology *sbco_topology_free(struct sbco_topology *t)
{
	free(t);
	return NULL;
}
