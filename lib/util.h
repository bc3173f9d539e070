/* SPDX-License-Identifier: MIT */
/*
 * Internal helpers shared by lib/ modules: the debug-log hook and small string tools.
 */
#ifndef SBCO_UTIL_H
#define SBCO_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "sbco.h"

void sbco_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Make room for need elements of size elem in *arr (capacity *cap, doubled, at least 16).
 * Returns 0, or -ENOMEM with *arr and *cap unchanged. */
int sbco_grow(void **arr, size_t *cap, size_t need, size_t elem);

static inline bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

#endif
