/* SPDX-License-Identifier: MIT */
/*
 * Clients that hang up before the reply: N times, connect to SOCKET, send a whole metrics
 * request (a long reply), and close at once without reading. The daemon's reply then hits
 * a closed socket (EPIPE): it must drop that connection and go on, not die of SIGPIPE.
 * usage: ctl_hangup SOCKET N
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static const char req[] = "{\"cmd\":\"metrics\"}\n";
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int n;

	if (argc != 3 || strlen(argv[1]) >= sizeof(a.sun_path)) {
		fprintf(stderr, "usage: ctl_hangup SOCKET N\n");
		return 2;
	}
	n = atoi(argv[2]);
	if (n < 1 || n > 10000)
		n = 100;
	strcpy(a.sun_path, argv[1]);
	for (int i = 0; i < n; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), tries = 0;

		/* a full backlog refuses for a moment: retry (bounded), that is not the point */
		while (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 &&
		       (errno == ECONNREFUSED || errno == EAGAIN) && ++tries < 200)
			usleep(5000);
		if (fd < 0 || tries >= 200) {
			perror("ctl_hangup: connect");
			return 1;
		}
		if (write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
			perror("ctl_hangup: write");
			return 1;
		}
		close(fd);
	}
	return 0;
}
