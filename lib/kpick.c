/* SPDX-License-Identifier: MIT */
/*
 * The kernel patch's pick-time distance balancing (/proc/sbco/vm, "pick" in its version
 * line): the kernel counts each registered VM's distance at every pick of its vCPUs, from
 * exact ordinates, and runs Algorithm 1 itself for the VMs registered to lend. sbcod
 * registers each VM with two or more vCPU threads: to lend when the policy it is given
 * says sbco (the engine does so unless balance.kernel_pick is "count"), else to count (the
 * kernel's exceed rate for every VM). Requests are written
 * only when a VM's registration changes; a VM that went is deleted; everything is cleared
 * at the start (a crashed sbcod's table) and on restore.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbco.h"

#define REQ_MAX 256

struct kreg {
	int32_t id; /* the VM's pid */
	bool lend;
	char req[REQ_MAX]; /* what the kernel was told */
	bool seen;
};

struct sbco_kpick {
	const struct sbco_host_ops *ops;
	void *ud;
	struct kreg *reg;
	size_t nr, cap;
	uint64_t refused;
};

bool sbco_kpatch_has(const char *ver, const char *cap)
{
	size_t n = strlen(cap);

	if (!ver || strncmp(ver, "sbco ", 5) || !n)
		return false;
	for (const char *p = ver + 5; (p = strstr(p, cap)); p += n)
		if (p[-1] == ' ' && (p[n] == ' ' || p[n] == '\0' || p[n] == '\n'))
			return true;
	return false;
}

int sbco_kpick_request(char *buf, size_t len, int32_t id, bool lend, double alpha,
		       const struct sbco_vm *vm)
{
	unsigned permille = alpha <= 0 ? 0 : alpha >= 1 ? 1000 : (unsigned)(alpha * 1000);
	size_t off, tids = 0;
	int n;

	if (id <= 0)
		return -EINVAL;
	n = snprintf(buf, len, "%" PRId32 " %s %u", id, lend ? "lend" : "count", permille);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	off = (size_t)n;
	for (size_t k = 0; k < vm->nr_vcpus && tids < SBCO_KPICK_MAX_VCPUS; k++) {
		if (vm->vcpus[k].tid <= 0)
			continue;
		n = snprintf(buf + off, len - off, " %" PRId32, vm->vcpus[k].tid);
		if (n < 0 || (size_t)n >= len - off)
			return -ENOSPC;
		off += (size_t)n;
		tids++;
	}
	if (tids < 2)
		return -ENOENT; /* nothing to balance */
	if (off + 2 > len)
		return -ENOSPC;
	memcpy(buf + off, "\n", 2);
	return 0;
}

char *sbco_kpick_read(const char *root)
{
	char path[4096], *buf = NULL;
	size_t len;
	int fd;

	snprintf(path, sizeof(path), "%s/proc/sbco/vm", root && strcmp(root, "/") ? root : "");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (sbco_read_fd(fd, 1u << 20, &buf, &len) < 0)
		buf = NULL;
	close(fd);
	return buf;
}

int sbco_kpick_parse(const char *text, int32_t id, struct sbco_kpick_counts *ret)
{
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *p, *a, *nl;
		char kind[6];
		int vid;

		if (sscanf(l, "vm %d %5s", &vid, kind) != 2 || vid != id)
			continue;
		p = strstr(l, " samples ");
		nl = strchr(l, '\n');
		if (!p || (nl && p > nl) ||
		    sscanf(p,
			   " samples %" SCNu64 " exceeded %" SCNu64 " loans %" SCNu64
			   " busy %" SCNu64 " stacked %" SCNu64,
			   &ret->samples, &ret->exceeded, &ret->loans, &ret->busy,
			   &ret->stacked) != 5)
			return -EINVAL;
		ret->any = ret->any_exceeded = 0; /* a patch before these counters */
		a = strstr(p, " any ");
		if (a && (!nl || a < nl) &&
		    sscanf(a, " any %" SCNu64 " any_exceeded %" SCNu64, &ret->any,
			   &ret->any_exceeded) != 2)
			return -EINVAL;
		ret->lend = !strcmp(kind, "lend");
		return 0;
	}
	return -ENOENT;
}

int sbco_kpick_new(const struct sbco_host_ops *ops, void *ud, struct sbco_kpick **ret)
{
	struct sbco_kpick *k;
	int r;

	if (!ops->kernel_vm)
		return -EOPNOTSUPP;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->ops = ops;
	k->ud = ud;
	r = ops->kernel_vm(ud, "clear\n"); /* a crashed sbcod's registrations */
	if (r < 0) {
		free(k);
		return r;
	}
	*ret = k;
	return 0;
}

static struct kreg *find(struct sbco_kpick *k, int32_t id)
{
	for (size_t i = 0; i < k->nr; i++)
		if (k->reg[i].id == id)
			return &k->reg[i];
	return NULL;
}

static void drop(struct sbco_kpick *k, size_t i)
{
	char req[32];

	snprintf(req, sizeof(req), "%" PRId32 " del\n", k->reg[i].id);
	if (k->ops->kernel_vm(k->ud, req) < 0 && k->ops->kernel_vm(k->ud, req) != -ENOENT)
		k->refused++;
	k->reg[i] = k->reg[--k->nr];
}

int sbco_kpick_sync(struct sbco_kpick *k, const struct sbco_vm_list *vms,
		    const struct sbco_vm_policy *pol, double alpha)
{
	int changed = 0;

	for (size_t i = 0; i < k->nr; i++)
		k->reg[i].seen = false;
	for (size_t v = 0; vms && v < vms->nr; v++) {
		const struct sbco_vm *vm = &vms->vms[v];
		bool lend = pol[v].mode == SBCO_MODE_SBCO;
		struct kreg *g = find(k, vm->pid);
		char req[REQ_MAX];

		if (sbco_kpick_request(req, sizeof(req), vm->pid, lend,
				       pol[v].alpha > 0 ? pol[v].alpha : alpha, vm) < 0)
			continue; /* fewer than 2 vCPU threads: deleted below if it was there */
		if (g && !strcmp(g->req, req)) {
			g->seen = true;
			continue;
		}
		if (k->ops->kernel_vm(k->ud, req) < 0) {
			k->refused++; /* tried again at the next sync; the kernel keeps the old */
			if (g)
				g->seen = true;
			continue;
		}
		changed++;
		if (!g) {
			if (k->nr == k->cap) {
				size_t cap = k->cap ? 2 * k->cap : 8;
				struct kreg *n = realloc(k->reg, cap * sizeof(*n));

				if (!n)
					return -ENOMEM;
				k->reg = n;
				k->cap = cap;
			}
			g = &k->reg[k->nr++];
		}
		*g = (struct kreg){.id = vm->pid, .lend = lend, .seen = true};
		snprintf(g->req, sizeof(g->req), "%s", req);
	}
	for (size_t i = k->nr; i-- > 0;)
		if (!k->reg[i].seen) {
			drop(k, i);
			changed++;
		}
	return changed;
}

bool sbco_kpick_lends(const struct sbco_kpick *k, int32_t pid)
{
	for (size_t i = 0; k && i < k->nr; i++)
		if (k->reg[i].id == pid)
			return k->reg[i].lend;
	return false;
}

uint64_t sbco_kpick_refused(const struct sbco_kpick *k)
{
	return k ? k->refused : 0;
}

void sbco_kpick_clear(struct sbco_kpick *k)
{
	if (!k)
		return;
	if (k->ops->kernel_vm(k->ud, "clear\n") < 0)
		k->refused++;
	k->nr = 0;
}

struct sbco_kpick *sbco_kpick_free(struct sbco_kpick *k)
{
	if (!k)
		return NULL;
	sbco_kpick_clear(k);
	free(k->reg);
	free(k);
	return NULL;
}
