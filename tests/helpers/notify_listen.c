/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for systemd's notification socket: binds a datagram socket at PATH, prints
 * every sd_notify message, and exits 0 as soon as one carries READY=1, 1 after SECONDS.
 * usage: notify_listen PATH SECONDS
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	time_t end;
	int fd;

	if (argc != 3 || strlen(argv[1]) >= sizeof(a.sun_path)) {
		fprintf(stderr, "usage: notify_listen PATH SECONDS\n");
		return 2;
	}
	strcpy(a.sun_path, argv[1]);
	unlink(argv[1]);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("notify_listen");
		return 2;
	}
	end = time(NULL) + strtol(argv[2], NULL, 10);
	while (time(NULL) < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char buf[4096];
		ssize_t n;

		if (poll(&p, 1, 200) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		printf("%s\n", buf);
		fflush(stdout);
		if (strstr(buf, "READY=1")) {
			unlink(argv[1]);
			return 0;
		}
	}
	unlink(argv[1]);
	return 1;
}
