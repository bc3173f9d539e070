/* SPDX-License-Identifier: MIT */
/*
 * sbcoctl's client side of sbcod's control socket: send one JSON request, print the reply.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "request.h"

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
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    write(fd, json, strlen(json)) != (ssize_t)strlen(json) || write(fd, "\n", 1) != 1) {
		int r = -errno;

		close(fd);
		return r;
	}
	buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) { /* bounded: the daemon answers within its 1 s request limit */
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 5000) <= 0) {
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
