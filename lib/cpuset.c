/* SPDX-License-Identifier: MIT */
/*
 * CPU sets as the kernel prints them ("0-3,8,10-11"): parsing, formatting, counting. Used
 * for thread affinity (Cpus_allowed_list), cgroup cpusets and the online CPU list.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sbco.h"
#include "util.h"

static int parse_num(const char **s, unsigned *ret)
{
	unsigned long v = 0;
	const char *p = *s;

	if (!is_digit(*p))
		return -EINVAL;
	for (; is_digit(*p); p++) {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v >= SBCO_MAX_CPUS)
			return -ERANGE;
	}
	*s = p;
	*ret = (unsigned)v;
	return 0;
}

int sbco_cpuset_parse(const char *s, struct sbco_cpuset *ret)
{
	struct sbco_cpuset c = {{0}};
	int r;

	while (is_blank(*s))
		s++;
	while (*s && *s != '\n') {
		unsigned a, b;

		if ((r = parse_num(&s, &a)) < 0)
			return r;
		b = a;
		if (*s == '-') {
			s++;
			if ((r = parse_num(&s, &b)) < 0)
				return r;
			if (b < a)
				return -EINVAL;
		}
		for (unsigned i = a; i <= b; i++)
			sbco_cpuset_add(&c, i);
		if (*s == ',')
			s++;
		else if (*s && *s != '\n' && !is_blank(*s))
			return -EINVAL;
		while (is_blank(*s))
			s++;
	}
	*ret = c;
	return 0;
}

int sbco_cpuset_format(const struct sbco_cpuset *c, char *buf, size_t len)
{
	size_t at = 0;

	if (len == 0)
		return -ENOBUFS;
	buf[0] = '\0';
	for (unsigned i = 0; i < SBCO_MAX_CPUS; i++) {
		unsigned j = i;
		int n;

		if (!sbco_cpuset_has(c, i))
			continue;
		while (j + 1 < SBCO_MAX_CPUS && sbco_cpuset_has(c, j + 1))
			j++;
		if (j == i)
			n = snprintf(buf + at, len - at, "%s%u", at ? "," : "", i);
		else
			n = snprintf(buf + at, len - at, "%s%u-%u", at ? "," : "", i, j);
		if (n < 0 || (size_t)n >= len - at)
			return -ENOBUFS;
		at += (size_t)n;
		i = j;
	}
	return (int)at;
}

int sbco_cpuset_count(const struct sbco_cpuset *c)
{
	int n = 0;

	for (int i = 0; i < SBCO_CPUSET_WORDS; i++)
		n += __builtin_popcountll(c->w[i]);
	return n;
}

bool sbco_cpuset_equal(const struct sbco_cpuset *a, const struct sbco_cpuset *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}
