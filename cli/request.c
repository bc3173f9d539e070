/* SPDX-License-Identifier: MIT */
/*
 * sbcoctl's client side of sbcod's control socket: send one JSON request, print the reply.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "request.h"
#include "view.h"

int request_timeout_ms = 5000;

int request_send(const char *path, const char *json, char **ret_reply)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	size_t cap = 65536, len = 0;
	char *buf;
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	/* the daemon may answer and close before reading (e.g. "permission denied"): a send
	 * that hits the closed socket is not fatal (no SIGPIPE), the answer is still read */
	if (send(fd, json, strlen(json), MSG_NOSIGNAL) != (ssize_t)strlen(json) ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		int r = -errno;

		if (r != -EPIPE && r != -ECONNRESET) {
			close(fd);
			return r;
		}
	}
	buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) { /* bounded: sbcod answers within its 1 s request limit once it runs */
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, request_timeout_ms) <= 0) {
			free(buf);
			close(fd);
			return -ETIMEDOUT;
		}
		if (len == cap) {
			char *nb = realloc(buf, (cap *= 2) + 1);

			if (!nb) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*ret_reply = buf;
	return 0;
}

int request_verb(const char *sock, const char *verb, int argc, char **argv, bool json)
{
	cJSON *req = cJSON_CreateObject(), *reply;
	char *text, *out = NULL;
	int r;

	if (!req)
		return -ENOMEM;
	cJSON_AddStringToObject(req, "cmd", strcmp(verb, "daemon-vms") ? verb : "vms");
	if (!strcmp(verb, "set-mode")) {
		if (argc != 2) {
			cJSON_Delete(req);
			return -EINVAL;
		}
		cJSON_AddStringToObject(req, "vm", argv[0]);
		cJSON_AddStringToObject(req, "mode", argv[1]);
	} else if (!strcmp(verb, "distance") && argc == 1) {
		cJSON_AddStringToObject(req, "vm", argv[0]);
	} else if (!strcmp(verb, "runqueue") && argc == 1) {
		char *end;
		long cpu = strtol(argv[0], &end, 10);

		if (!*argv[0] || *end || cpu < 0 || cpu > 1000000) {
			fprintf(stderr, "sbcoctl: runqueue: '%s' is not a CPU number\n", argv[0]);
			cJSON_Delete(req);
			return -EINVAL;
		}
		cJSON_AddNumberToObject(req, "cpu", (double)cpu);
	} else if (argc != 0) {
		cJSON_Delete(req);
		return -EINVAL;
	}
	text = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (!text)
		return -ENOMEM;
	r = request_send(sock, text, &out);
	free(text);
	if (r < 0) {
		fprintf(stderr, "sbcoctl: cannot reach sbcod at '%s': %s%s\n", sock, strerror(-r),
			r == -ENOENT || r == -ECONNREFUSED
			    ? " (sbcod is not running: start it with systemctl start sbcod)"
			    : "");
		return -EIO;
	}
	reply = cJSON_Parse(out);
	if (!reply || !view_yes(reply, "ok")) {
		fprintf(stderr, "sbcoctl: sbcod: %s\n",
			reply ? view_str(reply, "error") : "unreadable reply");
		cJSON_Delete(reply);
		free(out);
		return -EIO;
	}
	if (json)
		fputs(out, stdout);
	else if (!strcmp(verb, "status"))
		view_status(stdout, reply);
	else if (!strcmp(verb, "distance"))
		view_distance(stdout, reply);
	else if (!strcmp(verb, "runqueue"))
		view_runqueue(stdout, reply);
	else if (!strcmp(verb, "daemon-vms"))
		view_vms(stdout, reply);
	else if (!strcmp(verb, "metrics"))
		fputs(view_str(reply, "text"), stdout);
	else
		printf("ok\n");
	cJSON_Delete(reply);
	free(out);
	return 0;
}
