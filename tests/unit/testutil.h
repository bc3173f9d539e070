/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the unit tests: load a fixture dump, parse text or fail the test.
 */
#ifndef SBCO_TESTUTIL_H
#define SBCO_TESTUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sbco.h"

static inline char *load_fixture(const char *name, size_t *len)
{
	const char *dir = getenv("SBCO_FIXTURES");
	char path[4096], *buf = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/fixtures/dumps", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("cannot open fixture %s", path);
	assert_int_equal(sbco_read_fd(fd, 1u << 26, &buf, len), 0);
	close(fd);
	return buf;
}

static inline struct sbco_snapshot *parse_fixture(const char *name)
{
	struct sbco_snapshot *s = NULL;
	char err[256];
	size_t len;
	char *buf = load_fixture(name, &len);
	int r = sbco_dump_parse(buf, len, &s, err, sizeof(err));

	if (r != 0)
		fail_msg("%s: %d %s", name, r, err);
	free(buf);
	return s;
}

static inline struct sbco_snapshot *parse_text(const char *text)
{
	struct sbco_snapshot *s = NULL;
	char err[256];
	int r = sbco_dump_parse(text, strlen(text), &s, err, sizeof(err));

	if (r != 0)
		fail_msg("parse: %d %s", r, err);
	return s;
}

static inline const struct sbco_task *find_pid(const struct sbco_snapshot *s, int pid)
{
	for (size_t i = 0; i < s->nr_tasks; i++)
		if (s->tasks[i].pid == pid)
			return &s->tasks[i];
	fail_msg("pid %d not in snapshot", pid);
	return NULL;
}

#endif
