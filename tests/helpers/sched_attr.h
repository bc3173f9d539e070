/* SPDX-License-Identifier: MIT */
/*
 * For live tests: read a thread's sched_attr (glibc 2.36 has no wrapper) to check the
 * custom slice (sched_runtime) and nice sbco set or restored.
 */
#ifndef SBCO_TEST_SCHED_ATTR_H
#define SBCO_TEST_SCHED_ATTR_H

#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

struct test_sched_attr {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t prio;
	uint64_t runtime, deadline, period;
	uint32_t umin, umax;
};

static inline int test_sched_getattr(int32_t tid, struct test_sched_attr *a)
{
	*a = (struct test_sched_attr){0};
	return (int)syscall(SYS_sched_getattr, tid, a, sizeof(*a), 0);
}

/* The slice in force (sched_runtime), 0 when it cannot be read. */
static inline uint64_t test_runtime_of(int32_t tid)
{
	struct test_sched_attr a;

	return test_sched_getattr(tid, &a) == 0 ? a.runtime : 0;
}

#endif
