/* SPDX-License-Identifier: MIT */
/*
 * Small helpers of libsbco: strict number parsing (the dump's "ms.nnnnnn" values and plain
 * unsigned integers), reading a whole descriptor, and the optional debug-log callback.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbco.h"
#include "util.h"

static sbco_log_fn log_fn;

void sbco_set_log_fn(sbco_log_fn fn)
{
	log_fn = fn;
}

void sbco_log(int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!log_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_fn(level, msg);
}

int sbco_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *n;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	n = realloc(*arr, ncap * elem);
	if (!n)
		return -ENOMEM;
	*arr = n;
	*cap = ncap;
	return 0;
}

int sbco_parse_u64(const char *s, uint64_t *ret)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		if (!is_digit(*s))
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return 0;
}

/* The kernel prints SPLIT_NS(x) as "%Ld.%06ld": milliseconds and six digits of ns. Values
 * without a fraction (old kernels' integer columns) are read as ms too. Exact: no floats. */
int sbco_parse_ms_ns(const char *s, size_t n, int64_t *ret_ns)
{
	const char *end = s + n;
	bool neg = false;
	int64_t ms = 0, frac = 0;
	int digits = 0;

	if (n == 0)
		return -EINVAL;
	if (*s == '-') {
		neg = true;
		s++;
	}
	if (s == end || !is_digit(*s))
		return -EINVAL;
	for (; s < end && is_digit(*s); s++) {
		if (ms > (INT64_MAX / 1000000 - 9) / 10)
			return -ERANGE;
		ms = ms * 10 + (*s - '0');
	}
	if (s < end) {
		if (*s != '.')
			return -EINVAL;
		s++;
		for (; s < end && is_digit(*s); s++) {
			if (digits < 6) {
				frac = frac * 10 + (*s - '0');
				digits++;
			}
		}
		if (s != end)
			return -EINVAL;
	}
	for (; digits < 6; digits++)
		frac *= 10;
	*ret_ns = (neg ? -1 : 1) * (ms * 1000000 + frac);
	return 0;
}

int sbco_read_fd(int fd, size_t max_len, char **ret_buf, size_t *ret_len)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap + 1);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (len == cap) {
			char *nb;

			if (cap >= max_len) {
				free(buf);
				return -EFBIG;
			}
			cap = cap * 2 > max_len ? max_len : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			free(buf);
			return (int)r;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

size_t sbco_escape_ctrl(const char *in, char *out, size_t n)
{
	size_t k = 0;

	if (!n)
		return 0;
	for (; in && *in; in++) {
		unsigned char c = (unsigned char)*in;
		char esc[5];
		size_t len;

		if (c < 0x20 || c == 0x7f)
			len = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", c);
		else if (c == '\\')
			len = (size_t)snprintf(esc, sizeof(esc), "\\\\");
		else {
			esc[0] = (char)c;
			esc[1] = '\0';
			len = 1;
		}
		if (k + len >= n)
			break;
		memcpy(out + k, esc, len);
		k += len;
	}
	out[k] = '\0';
	return k;
}

int sbco_write_atomic(const char *path, const char *text, size_t len, mode_t mode, bool sync)
{
	char tmp[4096];
	const char *slash = strrchr(path, '/');
	int fd, r = 0;

	/* a hidden temp file beside it (collectors that glob "*.prom" skip it), then rename */
	if (snprintf(tmp, sizeof(tmp), "%.*s.%s.%d", slash ? (int)(slash - path + 1) : 0, path,
		     slash ? slash + 1 : path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len && r == 0;) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0)
			r = -errno;
		else
			off += (size_t)w;
	}
	if (r == 0 && fchmod(fd, mode) < 0) /* whatever the umask */
		r = -errno;
	if (r == 0 && sync && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}
