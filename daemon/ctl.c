/* SPDX-License-Identifier: MIT */
/*
 * sbcod's control socket: one JSON request per connection ({"cmd": "status" | "vms" |
 * "distance" | "runqueue" | "set-mode" | "reload" | "metrics", ...}), one JSON reply
 * ({"ok": true, ...} or {"ok": false, "error": "..."}). Only root or members of the group
 * "sbco" (peer credentials); requests are limited to 64 KiB and 1 s, and served without
 * blocking the loop (up to 32 connections at once); a bad request gets an error reply and
 * changes nothing.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "query.h"
#include "sbcod.h"

#define MAX_REQUEST SBCO_REQUEST_MAX
#define REQUEST_MS  1000
#define MAX_CONNS   32

static bool allowed(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct group *g;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	if (cr.uid == 0)
		return true;
	g = getgrnam("sbco");
	if (!g)
		return false;
	if (cr.gid == g->gr_gid)
		return true;
	{ /* a supplementary member of "sbco" */
		gid_t groups[256];
		int n = 256;
		struct passwd *pw = getpwuid(cr.uid);

		if (pw && getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) >= 0)
			for (int i = 0; i < n; i++)
				if (groups[i] == g->gr_gid)
					return true;
	}
	return false;
}

cJSON *error_reply(const char *msg)
{
	cJSON *r = cJSON_CreateObject();

	cJSON_AddBoolToObject(r, "ok", false);
	cJSON_AddStringToObject(r, "error", msg);
	return r;
}

static cJSON *cmd_set_mode(struct daemon *d, const struct sbco_request *req)
{
	size_t i;

	for (i = 0; i < d->nr_ovr && strcmp(d->ovr[i].vm, req->vm); i++)
		;
	if (i == MAX_OVERRIDES)
		return error_reply("set-mode: too many runtime overrides");
	snprintf(d->ovr[i].vm, sizeof(d->ovr[i].vm), "%s", req->vm);
	d->ovr[i].mode = req->mode;
	if (i == d->nr_ovr)
		d->nr_ovr++;
	log_vm(LOG_INFO, 0, req->vm, NULL, -1, -1, "Runtime override: VM '%s' mode %s", req->vm,
	       sbco_mode_name(req->mode));
	if (daemon_refresh(d, true) < 0)
		return error_reply("set-mode: applying failed");
	return cJSON_CreateObject();
}

static cJSON *cmd_reload(struct daemon *d)
{
	char err[2048];

	if (daemon_reload(d, err, sizeof(err)) < 0)
		return error_reply(err);
	return cJSON_CreateObject();
}

static cJSON *dispatch(struct daemon *d, const char *text, size_t len)
{
	struct sbco_request req;
	char err[256];
	cJSON *reply = NULL;

	if (sbco_request_parse(text, len, &req, err, sizeof(err)) < 0)
		return error_reply(err[0] ? err : "out of memory");
	switch (req.cmd) {
	case SBCO_CMD_STATUS:
		reply = query_status(d, &req);
		break;
	case SBCO_CMD_VMS:
		reply = query_vms(d, &req);
		break;
	case SBCO_CMD_DISTANCE:
		reply = query_distance(d, &req);
		break;
	case SBCO_CMD_RUNQUEUE:
		reply = query_runqueue(d, &req);
		break;
	case SBCO_CMD_SET_MODE:
		reply = cmd_set_mode(d, &req);
		break;
	case SBCO_CMD_RELOAD:
		reply = cmd_reload(d);
		break;
	case SBCO_CMD_METRICS:
		reply = query_metrics(d, &req);
		break;
	case SBCO_CMD_MAX_:
		break;
	}
	if (reply && !cJSON_GetObjectItemCaseSensitive(reply, "ok"))
		cJSON_AddBoolToObject(reply, "ok", true);
	return reply;
}

/* One client connection, served without blocking the loop: read the request (until a
 * newline or EOF), dispatch, write the reply, close; the whole exchange within REQUEST_MS. */
struct conn {
	struct daemon *d;
	int fd;
	sd_event_source *io, *timer;
	char *buf; /* request, then reply */
	size_t len, off;
	bool writing;
};

static void conn_free(struct conn *c)
{
	sd_event_source_disable_unref(c->io);
	sd_event_source_disable_unref(c->timer);
	close(c->fd);
	free(c->buf);
	c->d->nr_conns--;
	free(c);
}

static int conn_reply(struct conn *c, cJSON *reply)
{
	char *out = reply ? cJSON_PrintUnformatted(reply) : NULL;

	cJSON_Delete(reply);
	free(c->buf);
	c->buf = out;
	c->off = 0;
	if (!out)
		return -ENOMEM;
	c->len = strlen(out);
	out[c->len++] = '\n'; /* the NUL becomes the line end */
	c->writing = true;
	return sd_event_source_set_io_events(c->io, EPOLLOUT);
}

static int conn_write(struct conn *c)
{
	while (c->off < c->len) {
		/* a client that hung up must not take the daemon with it (SIGPIPE) */
		ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0; /* wait for EPOLLOUT */
		if (n < 0) {
			log_debug("control reply not written: %s", strerror(errno));
			break;
		}
		c->off += (size_t)n;
	}
	conn_free(c);
	return 0;
}

static int conn_read(struct conn *c)
{
	for (;;) {
		ssize_t n = read(c->fd, c->buf + c->len, MAX_REQUEST - c->len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return conn_reply(c, error_reply("cannot read request"));
		c->len += (size_t)n;
		if (n == 0 || memchr(c->buf + c->len - (size_t)n, '\n', (size_t)n)) {
			c->buf[c->len] = '\0';
			return conn_reply(c, dispatch(c->d, c->buf, c->len));
		}
		if (c->len == MAX_REQUEST)
			return conn_reply(c, error_reply("request larger than 64 KiB"));
	}
}

static int on_conn_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct conn *c = userdata;
	struct daemon *d = c->d;
	uint64_t t0 = daemon_now_ns();
	int r = 0;

	(void)s;
	(void)fd;
	if (!c->writing && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) && conn_read(c) < 0)
		conn_free(c);
	else if (c->writing)
		r = conn_write(c);
	daemon_held(d, "a control request", t0);
	return r;
}

/* one more second for the client to take its reply (the fired one-shot limit is off) */
static int rearm_write(struct conn *c)
{
	sd_event_source_set_time_relative(c->timer, (uint64_t)REQUEST_MS * 1000);
	sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
	return conn_write(c);
}

static int on_conn_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct conn *c = userdata;

	(void)s;
	(void)usec;
	if (c->writing) { /* a client that does not read its reply */
		conn_free(c);
		return 0;
	}
	/* After the loop was held (a slow cycle, a stopped daemon), this limit and the
	 * client's request fall due in one iteration, in no set order: a request already in
	 * the socket came in time and is served; the limit is for slow clients only. */
	if (conn_read(c) < 0) {
		conn_free(c);
		return 0;
	}
	if (c->writing)
		return rearm_write(c);
	if (conn_reply(c, error_reply("request not complete within 1 s")) < 0) {
		conn_free(c);
		return 0;
	}
	return rearm_write(c);
}

static int on_conn(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct daemon *d = userdata;
	struct conn *c;
	int cfd;

	(void)s;
	(void)revents;
	cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->buf = malloc(MAX_REQUEST + 1))) {
		free(c);
		close(cfd);
		return 0;
	}
	*c = (struct conn){.d = d, .fd = cfd, .buf = c->buf};
	d->nr_conns++;
	if (sd_event_add_io(d->ev, &c->io, cfd, EPOLLIN, on_conn_io, c) < 0 ||
	    sd_event_add_time_relative(d->ev, &c->timer, CLOCK_MONOTONIC,
				       (uint64_t)REQUEST_MS * 1000, 0, on_conn_timeout, c) < 0) {
		conn_free(c);
		return 0;
	}
	if (!allowed(cfd))
		conn_reply(c, error_reply("permission denied: root or group sbco only"));
	else if (d->nr_conns > MAX_CONNS)
		conn_reply(c, error_reply("too many control connections, try again"));
	return 0;
}

int ctl_open(struct daemon *d, const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct group *g;
	int fd, r;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0) {
		r = -errno;
		close(fd);
		return log_error_errno(r, "Failed to listen on '%s'", path);
	}
	g = getgrnam("sbco");
	if (chown(path, 0, g ? g->gr_gid : 0) < 0 || chmod(path, g ? 0660 : 0600) < 0)
		log_warning("Cannot set the permissions of '%s', ignoring", path);
	r = sd_event_add_io(d->ev, NULL, fd, EPOLLIN, on_conn, d);
	if (r < 0) {
		close(fd);
		return r;
	}
	d->ctl_fd = fd;
	return 0;
}

void ctl_close(struct daemon *d)
{
	if (d->ctl_fd >= 0) {
		close(d->ctl_fd);
		if (d->socket_path)
			unlink(d->socket_path);
		d->ctl_fd = -1;
	}
}
