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

static void print_status(const cJSON *r)
{
	static const char *const keys[] = {
	    "ready",  "summary",	   "mode",    "interval_ms",   "cycles",
	    "config", "libvirt_connected", "reloads", "reload_errors", "last_error"};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, keys[i]);

		if (cJSON_IsString(v))
			printf("%-18s %s\n", keys[i], v->valuestring);
		else if (cJSON_IsNumber(v))
			printf("%-18s %.0f\n", keys[i], v->valuedouble);
		else if (cJSON_IsBool(v))
			printf("%-18s %s\n", keys[i], cJSON_IsTrue(v) ? "yes" : "no");
	}
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static bool yes(const cJSON *o, const char *k)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static void print_distance(const cJSON *r)
{
	const cJSON *vm;

	printf("%-24s %8s %7s %8s %10s %4s %7s\n", "VM", "runnable", "stacked", "distance",
	       "dist(ms)", "Q", "exceeds");
	cJSON_ArrayForEach(vm, cJSON_GetObjectItemCaseSensitive(r, "vms")) printf(
	    "%-24s %8.0f %7s %8.0f %10.3f %4.0f %7s\n", str(vm, "name"), num(vm, "nr_runnable"),
	    yes(vm, "stacked") ? "yes" : "no", num(vm, "distance"), num(vm, "distance_ns") / 1e6,
	    num(vm, "q_size"), yes(vm, "exceeds") ? "YES" : "no");
}

static void print_runqueue(const cJSON *r)
{
	const cJSON *cpu, *t;

	cJSON_ArrayForEach(cpu, cJSON_GetObjectItemCaseSensitive(r, "cpus"))
	{
		printf("cpu#%.0f  runnable %.0f\n", num(cpu, "cpu"), num(cpu, "nr_runnable"));
		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(cpu, "tasks"))
		    printf("  %7.0f %-16s ORDER %3.0f  wait %8.3f ms\n", num(t, "pid"),
			   str(t, "comm"), num(t, "ordinate"), num(t, "wait_ns") / 1e6);
	}
}

static void print_vms(const cJSON *r)
{
	const cJSON *vm, *v;

	printf("%-24s %-8s %8s %-5s %s\n", "VM", "BACKEND", "PID", "MODE", "vCPU:tid:CPUs");
	cJSON_ArrayForEach(vm, cJSON_GetObjectItemCaseSensitive(r, "vms"))
	{
		printf("%-24s %-8s %8.0f %-5s", str(vm, "name"), str(vm, "backend"), num(vm, "pid"),
		       str(vm, "mode"));
		cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(vm, "vcpus"))
		    printf(" %.0f:%.0f:%s", num(v, "index"), num(v, "tid"), str(v, "affinity"));
		printf("\n");
	}
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
	if (!reply || !yes(reply, "ok")) {
		fprintf(stderr, "sbcoctl: sbcod: %s\n",
			reply ? str(reply, "error") : "unreadable reply");
		cJSON_Delete(reply);
		free(out);
		return -EIO;
	}
	if (json)
		fputs(out, stdout);
	else if (!strcmp(verb, "status"))
		print_status(reply);
	else if (!strcmp(verb, "distance"))
		print_distance(reply);
	else if (!strcmp(verb, "runqueue"))
		print_runqueue(reply);
	else if (!strcmp(verb, "daemon-vms"))
		print_vms(reply);
	else if (!strcmp(verb, "metrics"))
		fputs(str(reply, "text"), stdout);
	else
		printf("ok\n");
	cJSON_Delete(reply);
	free(out);
	return 0;
}
