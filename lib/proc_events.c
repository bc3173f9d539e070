/* SPDX-License-Identifier: MIT */
/*
 * Process events from the kernel's proc connector (NETLINK_CONNECTOR, group CN_IDX_PROC),
 * through libnl: subscribe with PROC_CN_MCAST_LISTEN, then report thread renames (QEMU
 * names a vCPU thread "CPU N/KVM" right after creating it) and exits. A receive buffer
 * overflow (ENOBUFS) means events were lost; the caller is told to rescan.
 */
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <stdlib.h>
#include <string.h>

#include "sbco.h"

struct sbco_proc_events {
	struct nl_sock *sk;
	sbco_proc_event_fn fn;
	void *userdata;
	int count;
};

static int subscribe(struct nl_sock *sk, enum proc_cn_mcast_op op)
{
	char buf[sizeof(struct cn_msg) + sizeof(enum proc_cn_mcast_op)];
	struct cn_msg *m = (struct cn_msg *)buf;

	memset(buf, 0, sizeof(buf));
	m->id.idx = CN_IDX_PROC;
	m->id.val = CN_VAL_PROC;
	m->len = sizeof(op);
	memcpy(m->data, &op, sizeof(op));
	return nl_send_simple(sk, NLMSG_DONE, 0, buf, sizeof(buf));
}

static int on_msg(struct nl_msg *msg, void *arg)
{
	struct sbco_proc_events *pe = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct cn_msg *m;
	struct proc_event ev;

	if (nlmsg_datalen(h) < (int)(sizeof(*m) + offsetof(struct proc_event, event_data)))
		return NL_SKIP;
	m = nlmsg_data(h);
	if (m->id.idx != CN_IDX_PROC || m->id.val != CN_VAL_PROC)
		return NL_SKIP;
	memset(&ev, 0, sizeof(ev));
	memcpy(&ev, m->data, m->len < sizeof(ev) ? m->len : sizeof(ev));
	pe->count++;
	if (ev.what == PROC_EVENT_COMM) {
		char comm[17];

		memcpy(comm, ev.event_data.comm.comm, 16);
		comm[16] = '\0';
		pe->fn(pe->userdata, SBCO_PROC_EVENT_COMM, ev.event_data.comm.process_tgid,
		       ev.event_data.comm.process_pid, comm);
	} else if (ev.what == PROC_EVENT_EXIT) {
		pe->fn(pe->userdata, SBCO_PROC_EVENT_EXIT, ev.event_data.exit.process_tgid,
		       ev.event_data.exit.process_pid, NULL);
	}
	return NL_OK;
}

int sbco_proc_events_open(struct sbco_proc_events **ret)
{
	struct sbco_proc_events *pe = calloc(1, sizeof(*pe));
	int r;

	if (!pe)
		return -ENOMEM;
	pe->sk = nl_socket_alloc();
	if (!pe->sk) {
		free(pe);
		return -ENOMEM;
	}
	nl_socket_disable_seq_check(pe->sk);
	nl_socket_disable_auto_ack(pe->sk);
	nl_socket_set_local_port(pe->sk, 0);
	r = nl_connect(pe->sk, NETLINK_CONNECTOR);
	if (r == 0)
		r = nl_socket_add_membership(pe->sk, CN_IDX_PROC);
	if (r == 0)
		r = subscribe(pe->sk, PROC_CN_MCAST_LISTEN) < 0 ? -NLE_PERM : 0;
	if (r < 0) {
		r = r == -NLE_PERM ? -EPERM : (r == -NLE_PROTO_MISMATCH ? -EPROTONOSUPPORT : -EIO);
		sbco_proc_events_free(pe);
		return r;
	}
	nl_socket_set_nonblocking(pe->sk);
	nl_socket_set_buffer_size(pe->sk, 4 << 20, 0);
	/* connector messages are NLMSG_DONE, which libnl hands to the FINISH callback */
	nl_socket_modify_cb(pe->sk, NL_CB_VALID, NL_CB_CUSTOM, on_msg, pe);
	nl_socket_modify_cb(pe->sk, NL_CB_FINISH, NL_CB_CUSTOM, on_msg, pe);
	*ret = pe;
	return 0;
}

struct sbco_proc_events *sbco_proc_events_free(struct sbco_proc_events *pe)
{
	if (!pe)
		return NULL;
	if (pe->sk) {
		(void)subscribe(pe->sk, PROC_CN_MCAST_IGNORE);
		nl_socket_free(pe->sk);
	}
	free(pe);
	return NULL;
}

int sbco_proc_events_fd(const struct sbco_proc_events *pe)
{
	return nl_socket_get_fd(pe->sk);
}

int sbco_proc_events_drain(struct sbco_proc_events *pe, sbco_proc_event_fn fn, void *userdata)
{
	pe->fn = fn;
	pe->userdata = userdata;
	pe->count = 0;
	for (;;) {
		int r = nl_recvmsgs_default(pe->sk);

		if (r == -NLE_AGAIN)
			break;
		if (r == -NLE_NOMEM) { /* ENOBUFS: the kernel dropped events */
			fn(userdata, SBCO_PROC_EVENT_LOST, 0, 0, NULL);
			continue;
		}
		if (r < 0)
			return -EIO;
	}
	return pe->count;
}
