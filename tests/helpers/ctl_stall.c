/* SPDX-License-Identifier: MIT */
/*
 * A slow control-socket client: connects to SOCKET, sends the first half of a status
 * request, stalls SECS seconds (bounded), then prints whatever reply came (the daemon must
 * have given up on it with an error after 1 s, while serving others meanwhile).
 * usage: ctl_stall SOCKET SECS
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char buf[4096];
	ssize_t n;
	int fd, secs;

	if (argc != 3 || strlen(argv[1]) >= sizeof(a.sun_path)) {
		fprintf(stderr, "usage: ctl_stall SOCKET SECS\n");
		return 2;
	}
	secs = atoi(argv[2]);
	if (secs < 0 || secs > 60)
		secs = 5;
	strcpy(a.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("ctl_stall: connect");
		return 1;
	}
	if (write(fd, "{\"cmd\":", 7) != 7) {
		perror("ctl_stall: write");
		return 1;
	}
	sleep((unsigned)secs);
	n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		fputs(buf, stdout);
	}
	close(fd);
	return 0;
}
