/* SPDX-License-Identifier: MIT */
/*
 * The libvirt backend of VM discovery: one connection, kept alive (virConnectSetKeepAlive),
 * watched by a close callback, re-established with exponential backoff, and domain events
 * (lifecycle, tunable, device added/removed) so that steady state needs no polling.
 *
 * Threads: libvirt's default event loop runs on a thread of its own (one per process);
 * its callbacks only record which domains changed, under a mutex, and wake the owner
 * through an eventfd. All libvirt calls that describe domains and all changes to the VM
 * list happen in sbco_libvirt_process(), on the owner's thread. A reconnection opens the
 * connection on a short-lived thread of its own: a libvirtd that is still starting up
 * accepts the socket but answers only when ready (seconds, with many domains), and the
 * owner's loop (sbcod's cycles and control socket) must not wait for it. The first
 * connection, from sbco_libvirt_new(), is made in place.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <libvirt/virterror.h>

#include "libvirt_internal.h"
#include "sbco.h"

#define BACKOFF_MIN_NS 250000000ull
#define BACKOFF_MAX_NS 30000000000ull
#define MAX_DIRTY      256

struct sbco_libvirt {
	char *uri, *root;
	const struct sbco_patterns *pat;
	bool use_qmp;
	int ka_interval, ka_count;
	virConnectPtr conn;
	int cb_ids[5];
	int efd;
	uint64_t next_ns, backoff_ns;
	pthread_t opener;
	bool opening; /* opener thread started and not joined (owner only) */
	struct sbco_vm_list vms;
	struct sbco_libvirt_stats st;
	char err[256];
	/* written by the event thread, under lock */
	pthread_mutex_t lock;
	bool closed;
	bool rescan;
	char dirty[MAX_DIRTY][VIR_UUID_STRING_BUFLEN];
	size_t nr_dirty;
	uint64_t events;
	bool opened;		 /* the opener thread is done */
	virConnectPtr open_conn; /* and what it got (NULL: failed, open_err says why) */
	char open_err[200];
};

static pthread_once_t loop_once = PTHREAD_ONCE_INIT;
static int loop_ok;

static void *loop_main(void *arg)
{
	(void)arg;
	for (;;)
		if (virEventRunDefaultImpl() < 0)
			usleep(100000); /* never spin on a broken loop */
	return NULL;
}

static void ignore_errors(void *userdata, virErrorPtr e)
{
	(void)userdata;
	(void)e; /* lib never prints; errors are fetched with virGetLastErrorMessage() */
}

static void loop_start(void)
{
	pthread_t t;
	pthread_attr_t a;

	virSetErrorFunc(NULL, ignore_errors);
	if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0)
		return;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	loop_ok = pthread_create(&t, &a, loop_main, NULL) == 0;
	pthread_attr_destroy(&a);
}

static void wake(struct sbco_libvirt *lv)
{
	uint64_t one = 1;

	if (write(lv->efd, &one, sizeof(one)) < 0) {
		/* counter saturated: the owner is already woken */
	}
}

static void mark_dirty(struct sbco_libvirt *lv, virDomainPtr dom)
{
	char uuid[VIR_UUID_STRING_BUFLEN];

	if (virDomainGetUUIDString(dom, uuid) < 0)
		return;
	pthread_mutex_lock(&lv->lock);
	lv->events++;
	if (lv->nr_dirty == MAX_DIRTY)
		lv->rescan = true;
	else
		memcpy(lv->dirty[lv->nr_dirty++], uuid, sizeof(uuid));
	pthread_mutex_unlock(&lv->lock);
	wake(lv);
}

static int on_lifecycle(virConnectPtr c, virDomainPtr dom, int event, int detail, void *opaque)
{
	(void)c;
	(void)event;
	(void)detail;
	mark_dirty(opaque, dom);
	return 0;
}

static void on_tunable(virConnectPtr c, virDomainPtr dom, virTypedParameterPtr p, int n,
		       void *opaque)
{
	(void)c;
	(void)p;
	(void)n;
	mark_dirty(opaque, dom);
}

static void on_device(virConnectPtr c, virDomainPtr dom, const char *alias, void *opaque)
{
	(void)c;
	(void)alias;
	mark_dirty(opaque, dom);
}

/* an orchestrator changed a domain's metadata: ours decides its policy */
static void on_metadata(virConnectPtr c, virDomainPtr dom, int type, const char *nsuri,
			void *opaque)
{
	(void)c;
	if (type == VIR_DOMAIN_METADATA_ELEMENT && nsuri && strcmp(nsuri, SBCO_XMLNS))
		return;
	mark_dirty(opaque, dom);
}

static void on_close(virConnectPtr c, int reason, void *opaque)
{
	struct sbco_libvirt *lv = opaque;

	(void)c;
	(void)reason;
	pthread_mutex_lock(&lv->lock);
	lv->closed = true;
	pthread_mutex_unlock(&lv->lock);
	wake(lv);
}

static void set_err(struct sbco_libvirt *lv, const char *what)
{
	const char *m = virGetLastErrorMessage();

	snprintf(lv->err, sizeof(lv->err), "%s: %s", what, m ? m : "unknown error");
}

static void drop_connection(struct sbco_libvirt *lv)
{
	if (!lv->conn)
		return;
	for (size_t i = 0; i < sizeof(lv->cb_ids) / sizeof(lv->cb_ids[0]); i++)
		if (lv->cb_ids[i] >= 0)
			virConnectDomainEventDeregisterAny(lv->conn, lv->cb_ids[i]);
	virConnectUnregisterCloseCallback(lv->conn, on_close);
	virConnectClose(lv->conn);
	lv->conn = NULL;
	for (size_t i = 0; i < sizeof(lv->cb_ids) / sizeof(lv->cb_ids[0]); i++)
		lv->cb_ids[i] = -1;
	lv->st.disconnects++;
}

static void list_clear(struct sbco_vm_list *l)
{
	for (size_t i = 0; i < l->nr; i++)
		sbco_vm_clear(&l->vms[i]);
	l->nr = 0;
}

static void list_remove(struct sbco_vm_list *l, const char *uuid)
{
	for (size_t i = 0; i < l->nr; i++)
		if (!strcmp(l->vms[i].uuid, uuid)) {
			sbco_vm_clear(&l->vms[i]);
			memmove(&l->vms[i], &l->vms[i + 1], (l->nr - i - 1) * sizeof(*l->vms));
			l->nr--;
			return;
		}
}

/* (Re)describe one domain: replace, add, or remove it when it no longer runs. */
static int refresh(struct sbco_libvirt *lv, virDomainPtr dom, const char *uuid)
{
	struct sbco_vm vm;
	int r;

	r = dom ? lv_describe_domain(dom, lv->root, lv->pat, lv->use_qmp, &vm) : -ENOENT;
	list_remove(&lv->vms, uuid);
	if (r == 0)
		r = sbco_vm_list_add(&lv->vms, &vm);
	else if (r == -ENOENT || r == -EIO)
		r = 0; /* gone, or gone while we looked: the next event corrects us */
	sbco_vm_clear(&vm);
	return r;
}

static int full_scan(struct sbco_libvirt *lv)
{
	virDomainPtr *doms = NULL;
	int n, r = 0;

	n = virConnectListAllDomains(lv->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (n < 0) {
		set_err(lv, "listing domains");
		return -EIO;
	}
	list_clear(&lv->vms);
	for (int i = 0; i < n; i++) {
		char uuid[VIR_UUID_STRING_BUFLEN];

		if (r == 0 && virDomainGetUUIDString(doms[i], uuid) == 0)
			r = refresh(lv, doms[i], uuid);
		virDomainFree(doms[i]);
	}
	free(doms);
	lv->st.full_scans++;
	return r;
}

static virConnectPtr open_conn(const char *uri)
{
	virConnectPtr c = virConnectOpen(uri);

	return c ? c : virConnectOpenReadOnly(uri);
}

static void *opener_main(void *arg)
{
	struct sbco_libvirt *lv = arg;
	virConnectPtr c = open_conn(lv->uri);
	const char *m = c ? NULL : virGetLastErrorMessage();
	uint64_t one = 1;

	pthread_mutex_lock(&lv->lock);
	lv->open_conn = c;
	lv->opened = true;
	snprintf(lv->open_err, sizeof(lv->open_err), "connecting: %s", m ? m : "unknown error");
	pthread_mutex_unlock(&lv->lock);
	if (write(lv->efd, &one, sizeof(one)) < 0) {
		/* the counter is full: the owner is awake anyway */
	}
	return NULL;
}

/* Start the opener thread; 1 when started, 0 when it could not be (connect in place). */
static int open_async(struct sbco_libvirt *lv)
{
	pthread_mutex_lock(&lv->lock);
	lv->opened = false;
	lv->open_conn = NULL;
	pthread_mutex_unlock(&lv->lock);
	lv->opening = pthread_create(&lv->opener, NULL, opener_main, lv) == 0;
	return lv->opening;
}

/* The opener's result once it is done (joined): 1 and *ret (maybe NULL), or 0 if busy. */
static int open_result(struct sbco_libvirt *lv, virConnectPtr *ret)
{
	bool done;

	pthread_mutex_lock(&lv->lock);
	done = lv->opened;
	*ret = lv->open_conn;
	pthread_mutex_unlock(&lv->lock);
	if (!done)
		return 0;
	pthread_join(lv->opener, NULL);
	lv->opening = false;
	if (!*ret)
		snprintf(lv->err, sizeof(lv->err), "%s", lv->open_err);
	return 1;
}

/* Set up connection c (NULL: the open failed, lv->err says why). */
static int try_connect(struct sbco_libvirt *lv, virConnectPtr c, uint64_t now_ns)
{
	if (!c)
		goto fail;
	lv->conn = c;
	pthread_mutex_lock(&lv->lock);
	lv->closed = false;
	lv->nr_dirty = 0;
	lv->rescan = false;
	pthread_mutex_unlock(&lv->lock);
	if (virConnectSetKeepAlive(c, lv->ka_interval, (unsigned)lv->ka_count) < 0 ||
	    virConnectRegisterCloseCallback(c, on_close, lv, NULL) < 0) {
		set_err(lv, "setting up keepalive");
		goto fail_conn;
	}
	lv->cb_ids[0] =
	    virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
					     VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), lv, NULL);
	lv->cb_ids[1] = virConnectDomainEventRegisterAny(
	    c, NULL, VIR_DOMAIN_EVENT_ID_TUNABLE, VIR_DOMAIN_EVENT_CALLBACK(on_tunable), lv, NULL);
	lv->cb_ids[2] =
	    virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
					     VIR_DOMAIN_EVENT_CALLBACK(on_device), lv, NULL);
	lv->cb_ids[3] =
	    virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
					     VIR_DOMAIN_EVENT_CALLBACK(on_device), lv, NULL);
	lv->cb_ids[4] =
	    virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
					     VIR_DOMAIN_EVENT_CALLBACK(on_metadata), lv, NULL);
	if (lv->cb_ids[0] < 0) {
		set_err(lv, "registering lifecycle events");
		goto fail_conn;
	}
	lv->st.connects++;
	lv->backoff_ns = 0;
	lv->next_ns = UINT64_MAX;
	lv->err[0] = '\0';
	return full_scan(lv) == -ENOMEM ? -ENOMEM : 1;
fail_conn:
	drop_connection(lv);
	lv->st.disconnects--; /* never was connected */
fail:
	lv->st.connect_failures++;
	lv->backoff_ns = lv->backoff_ns ? lv->backoff_ns * 2 : BACKOFF_MIN_NS;
	if (lv->backoff_ns > BACKOFF_MAX_NS)
		lv->backoff_ns = BACKOFF_MAX_NS;
	lv->next_ns = now_ns + lv->backoff_ns;
	return 0;
}

int sbco_libvirt_process(struct sbco_libvirt *lv, uint64_t now_ns)
{
	char(*dirty)[VIR_UUID_STRING_BUFLEN] = NULL;
	size_t nr_dirty;
	bool closed, rescan;
	uint64_t cnt;
	int r = 0, changed = 0;

	if (read(lv->efd, &cnt, sizeof(cnt)) < 0) {
		/* EAGAIN: nothing pending; process anyway (reconnect timer) */
	}
	pthread_mutex_lock(&lv->lock);
	closed = lv->closed;
	rescan = lv->rescan;
	nr_dirty = lv->nr_dirty;
	if (nr_dirty) {
		dirty = malloc(nr_dirty * sizeof(*dirty));
		if (dirty)
			memcpy(dirty, lv->dirty, nr_dirty * sizeof(*dirty));
		else
			rescan = true;
	}
	lv->st.events = lv->events;
	lv->closed = lv->rescan = false;
	lv->nr_dirty = 0;
	pthread_mutex_unlock(&lv->lock);

	if (closed && lv->conn) {
		/* libvirtd went away; its QEMUs keep running, so keep the last known VMs
		 * until a new connection says otherwise */
		snprintf(lv->err, sizeof(lv->err), "connection to '%s' closed", lv->uri);
		drop_connection(lv);
		lv->backoff_ns = 0;
		lv->next_ns = now_ns;
	}
	if (!lv->conn && !lv->opening && now_ns >= lv->next_ns) {
		virConnectPtr c = NULL;

		/* on the opener thread; in place only if it cannot be started */
		if (!open_async(lv)) {
			c = open_conn(lv->uri);
			if (!c)
				set_err(lv, "connecting");
			r = try_connect(lv, c, now_ns);
			changed = r > 0;
			rescan = false; /* a connect did a full scan */
			nr_dirty = 0;
		}
	} else if (!lv->conn && lv->opening) {
		virConnectPtr c;

		if (open_result(lv, &c)) {
			r = try_connect(lv, c, now_ns);
			changed = r > 0;
			rescan = false;
			nr_dirty = 0;
		}
	}
	if (lv->conn && r >= 0 && rescan) {
		r = full_scan(lv);
		changed = 1;
	} else if (lv->conn && r >= 0) {
		for (size_t i = 0; i < nr_dirty && r >= 0; i++) {
			virDomainPtr dom = virDomainLookupByUUIDString(lv->conn, dirty[i]);

			r = refresh(lv, dom, dirty[i]);
			if (dom)
				virDomainFree(dom);
			lv->st.refreshes++;
			changed = 1;
		}
	}
	free(dirty);
	if (r == -EIO)
		r = 0; /* reported through sbco_libvirt_last_error(); retried on the next event */
	return r < 0 ? r : changed;
}

int sbco_libvirt_new(const struct sbco_libvirt_opts *o, struct sbco_libvirt **ret)
{
	struct sbco_libvirt *lv;
	virConnectPtr c;

	if (!o || !o->pat || !ret)
		return -EINVAL;
	pthread_once(&loop_once, loop_start);
	if (!loop_ok)
		return -EIO;
	lv = calloc(1, sizeof(*lv));
	if (!lv)
		return -ENOMEM;
	lv->uri = strdup(o->uri ? o->uri : "qemu:///system");
	lv->root = strdup(o->root ? o->root : "/");
	lv->pat = o->pat;
	lv->use_qmp = o->use_qmp;
	lv->ka_interval = o->keepalive_interval_s > 0 ? o->keepalive_interval_s : 5;
	lv->ka_count = o->keepalive_count > 0 ? o->keepalive_count : 3;
	for (size_t i = 0; i < sizeof(lv->cb_ids) / sizeof(lv->cb_ids[0]); i++)
		lv->cb_ids[i] = -1;
	lv->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&lv->lock, NULL);
	if (!lv->uri || !lv->root || lv->efd < 0) {
		sbco_libvirt_free(lv);
		return -ENOMEM;
	}
	lv->next_ns = 0;
	c = open_conn(lv->uri); /* the first time in place: callers expect the VMs now */
	if (!c)
		set_err(lv, "connecting");
	if (try_connect(lv, c, 0) < 0) {
		sbco_libvirt_free(lv);
		return -ENOMEM;
	}
	*ret = lv;
	return 0;
}

struct sbco_libvirt *sbco_libvirt_free(struct sbco_libvirt *lv)
{
	if (!lv)
		return NULL;
	if (lv->opening) { /* wait for the opener; its connection is not ours to keep */
		pthread_join(lv->opener, NULL);
		if (lv->open_conn)
			virConnectClose(lv->open_conn);
	}
	drop_connection(lv);
	list_clear(&lv->vms);
	free(lv->vms.vms);
	if (lv->efd >= 0)
		close(lv->efd);
	pthread_mutex_destroy(&lv->lock);
	free(lv->uri);
	free(lv->root);
	free(lv);
	return NULL;
}

int sbco_libvirt_fd(const struct sbco_libvirt *lv)
{
	return lv->efd;
}

uint64_t sbco_libvirt_next_ns(const struct sbco_libvirt *lv)
{
	return lv->conn || lv->opening ? UINT64_MAX : lv->next_ns; /* the opener wakes the fd */
}

bool sbco_libvirt_connected(const struct sbco_libvirt *lv)
{
	return lv && lv->conn != NULL;
}

const struct sbco_vm_list *sbco_libvirt_vms(const struct sbco_libvirt *lv)
{
	return &lv->vms;
}

void sbco_libvirt_get_stats(const struct sbco_libvirt *lv, struct sbco_libvirt_stats *ret)
{
	*ret = lv->st;
}

const char *sbco_libvirt_last_error(const struct sbco_libvirt *lv)
{
	return lv->err;
}

int sbco_libvirt_pin_vcpu(void *opaque, const char *uuid, int32_t index,
			  const struct sbco_cpuset *cpus)
{
	struct sbco_libvirt *lv = opaque;
	virDomainPtr dom;
	virNodeInfo node;
	unsigned char *map;
	int maxcpus, maplen, r;

	if (!lv->conn)
		return -ENOTCONN;
	dom = virDomainLookupByUUIDString(lv->conn, uuid);
	if (!dom)
		return -ENOENT;
	if (virNodeGetInfo(lv->conn, &node) < 0) {
		virDomainFree(dom);
		return -EIO;
	}
	maxcpus = (int)VIR_NODEINFO_MAXCPUS(node);
	maplen = VIR_CPU_MAPLEN(maxcpus);
	map = calloc(1, (size_t)maplen);
	if (!map) {
		virDomainFree(dom);
		return -ENOMEM;
	}
	for (int c = 0; c < maxcpus && c < SBCO_MAX_CPUS; c++)
		if (sbco_cpuset_has(cpus, (unsigned)c))
			VIR_USE_CPU(map, c);
	r = virDomainPinVcpuFlags(dom, (unsigned)index, map, maplen, VIR_DOMAIN_AFFECT_LIVE);
	if (r < 0)
		set_err(lv, "pinning a vCPU");
	free(map);
	virDomainFree(dom);
	return r < 0 ? -EIO : 0;
}

void sbco_libvirt_mark_pid(struct sbco_libvirt *lv, int32_t pid)
{
	const struct sbco_vm *vm = sbco_vm_list_find_pid(&lv->vms, pid);

	if (!vm || !vm->uuid[0])
		return;
	pthread_mutex_lock(&lv->lock);
	if (lv->nr_dirty == MAX_DIRTY)
		lv->rescan = true;
	else
		memcpy(lv->dirty[lv->nr_dirty++], vm->uuid, sizeof(lv->dirty[0]));
	pthread_mutex_unlock(&lv->lock);
	wake(lv);
}
