/* SPDX-License-Identifier: MIT */
/*
 * Control-socket clients that test sbcod's 1 s request limit.
 * usage: ctl_stall SOCKET SECS
 *   a slow client: connects, sends the first half of a status request, stalls SECS seconds
 *   (bounded), then prints whatever reply came (the daemon must have given up on it with an
 *   error after 1 s, while serving others meanwhile);
 * usage: ctl_stall SOCKET SECS PID
 *   a held daemon: opens NCONN connections, waits until the daemon (PID) has accepted them,
 *   stops it (SIGSTOP), sends a whole status request on each, keeps the daemon stopped SECS
 *   seconds, resumes it and prints each reply on a line: a request that arrived in time is
 *   answered, however long the daemon itself was held (after the hold each connection's
 *   request and its 1 s limit are due in the same loop iteration, in no set order).
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#define NCONN 8

static int conn(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd;

	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("ctl_stall: connect");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *s)
{
	size_t len = strlen(s);

	if (write(fd, s, len) != (ssize_t)len) {
		perror("ctl_stall: write");
		return -1;
	}
	return 0;
}

/* the reply, up to EOF, on one line; bounded by 5 s of silence */
static void print_reply(int fd)
{
	char buf[4096];
	size_t len = 0;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (len == sizeof(buf) - 1 || poll(&p, 1, 5000) <= 0)
			break;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (!len || buf[len - 1] != '\n')
		strcat(buf, "\n");
	fputs(buf, stdout);
}

static int held(const char *path, int secs, pid_t pid)
{
	int fd[NCONN];

	for (int i = 0; i < NCONN; i++)
		if ((fd[i] = conn(path)) < 0)
			return 1;
	usleep(300000); /* the daemon accepts: each 1 s limit runs from here */
	if (kill(pid, SIGSTOP) < 0) {
		perror("ctl_stall: SIGSTOP");
		return 1;
	}
	for (int i = 0; i < NCONN; i++)
		if (send_all(fd[i], "{\"cmd\":\"status\"}\n") < 0) {
			kill(pid, SIGCONT);
			return 1;
		}
	sleep((unsigned)secs);
	if (kill(pid, SIGCONT) < 0) {
		perror("ctl_stall: SIGCONT");
		return 1;
	}
	for (int i = 0; i < NCONN; i++) {
		print_reply(fd[i]);
		close(fd[i]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	pid_t pid = 0;
	int fd, secs;

	if ((argc != 3 && argc != 4) ||
	    strlen(argv[1]) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		fprintf(stderr, "usage: ctl_stall SOCKET SECS [PID]\n");
		return 2;
	}
	secs = atoi(argv[2]);
	if (secs < 0 || secs > 60)
		secs = 5;
	if (argc == 4) {
		if ((pid = (pid_t)atoi(argv[3])) <= 1) {
			fprintf(stderr, "ctl_stall: bad PID '%s'\n", argv[3]);
			return 2;
		}
		return held(argv[1], secs, pid);
	}
	if ((fd = conn(argv[1])) < 0 || send_all(fd, "{\"cmd\":") < 0)
		return 1;
	sleep((unsigned)secs);
	print_reply(fd);
	close(fd);
	return 0;
}
