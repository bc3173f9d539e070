/* SPDX-License-Identifier: MIT */
/*
 * Reading the rows of a "runnable tasks:" table. The header fixes the state-field width
 * and where the 15-character, right-aligned comm ends (comm may contain blanks, so it is
 * taken as a fixed-width slice). Kernels 4.14-5.7 and 6.6-6.11 glue a 15-character comm to
 * the state letter, one column left of where the header puts it; the comm end is the
 * header's column or its neighbour, whichever is followed by a blank and preceded by a
 * non-blank. Everything after the comm is split on blanks and classified: EEVDF rows have a
 * lone E/N after the vruntime, then come integer/decimal runs whose count tells the era
 * (the header under-describes rows in 5.16-6.11), NUMA integers, and the group path, which
 * is the rest of the line.
 */
#include <errno.h>
#include <string.h>

#include "dump_internal.h"
#include "util.h"

#define MAX_TOK 24

enum {
	ROW_E_STATE = -2001,
	ROW_E_PID = -2002,
	ROW_E_NUMBER = -2003,
	ROW_E_SHAPE = -2004,
	ROW_E_SHORT = -2005,
};

const char *dump_row_strerror(int code)
{
	switch (code) {
	case ROW_E_STATE:
		return "unknown task state field";
	case ROW_E_PID:
		return "PID is not a number";
	case ROW_E_NUMBER:
		return "malformed number";
	case ROW_E_SHAPE:
		return "statistics columns do not match the table header";
	case ROW_E_SHORT:
		return "row too short";
	default:
		return "unreadable row";
	}
}

int dump_table_header(struct dump_table *t, const char *l)
{
	const char *task = strstr(l, "task"), *pid = strstr(l, "PID");

	if (!task || !pid || pid < task)
		return -EINVAL;
	t->state_w = (l[0] == ' ' && l[1] == 'S') ? 2 : 1;
	t->task_end = (int)(task - l) + 4;
	if (strstr(l, "eligible") && strstr(l, "deadline"))
		t->hdr_layout = SBCO_LAYOUT_EEVDF;
	else if (strstr(l, "tree-key") && strstr(l, "exec-runtime"))
		t->hdr_layout = SBCO_LAYOUT_CFS_EXEC;
	else if (strstr(l, "tree-key") && strstr(l, "wait-time"))
		t->hdr_layout = SBCO_LAYOUT_CFS_WAIT;
	else
		return -EINVAL; /* e.g. 2.6.23-rc's "delta waiting" table: not supported */
	t->row_layout = t->hdr_layout;
	return 0;
}

struct tok {
	char *s;
	size_t n;
	char kind; /* 'i' integer, 'd' decimal, 'x' other */
};

static char classify(const char *s, size_t n)
{
	size_t i = 0, dots = 0;

	if (s[0] == '-')
		i = 1;
	if (i == n || !is_digit(s[i]))
		return 'x';
	for (; i < n; i++) {
		if (s[i] == '.')
			dots++;
		else if (!is_digit(s[i]))
			return 'x';
	}
	if (dots > 1 || s[n - 1] == '.')
		return 'x';
	return dots ? 'd' : 'i';
}

static int tok_i64(const struct tok *t, int64_t min, int64_t max, int64_t *ret)
{
	int64_t v = 0;
	size_t i = 0;
	bool neg = false;

	if (t->kind != 'i')
		return ROW_E_NUMBER;
	if (t->s[0] == '-') {
		neg = true;
		i = 1;
	}
	for (; i < t->n; i++) {
		if (v > (INT64_MAX - 9) / 10)
			return ROW_E_NUMBER;
		v = v * 10 + (t->s[i] - '0');
	}
	if (neg)
		v = -v;
	if (v < min || v > max)
		return ROW_E_NUMBER;
	*ret = v;
	return 0;
}

static int tok_ns(const struct tok *t, int64_t *ret)
{
	if (t->kind == 'x' || sbco_parse_ms_ns(t->s, t->n, ret) < 0)
		return ROW_E_NUMBER;
	return 0;
}

static int find_comm_end(const struct dump_table *t, const char *l, size_t len)
{
	const int cand[3] = {t->task_end, t->task_end - 1, t->task_end + 1};

	/* A comm may itself end in a blank ("alsa-sink-HDMI "): then the header column wins. */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < (pass ? 1 : 3); i++) {
			int c = cand[i];

			if (c - 15 >= t->state_w && (size_t)c < len && l[c] == ' ' &&
			    (pass || l[c - 1] != ' '))
				return c;
		}
	return -1;
}

static int read_state(const struct dump_table *t, const char *l, int comm_start,
		      struct sbco_task *r)
{
	if (t->state_w == 2) {
		if (l[0] == '>' && l[1] == 'R')
			r->current = true;
		else if (l[0] != ' ' ||
			 !((l[1] >= 'A' && l[1] <= 'Z') || (l[1] >= 'a' && l[1] <= 'z')))
			return -ENOENT;
		r->state = l[1];
		r->have |= SBCO_HAVE_STATE;
	} else {
		if (l[0] == 'R') {
			r->current = true;
			r->state = 'R';
		} else if (l[0] == ' ') {
			r->state = '?';
		} else {
			return -ENOENT;
		}
	}
	for (int i = t->state_w; i < comm_start; i++)
		if (l[i] != ' ')
			return -ENOENT;
	return 0;
}

/* Split s on blanks into at most max tokens; *ret_end is the line's end when it was
 * reached, NULL when tokens ran out first. */
static size_t tokenize(char *s, struct tok *tok, size_t max, char **ret_end)
{
	size_t n = 0;

	*ret_end = NULL;
	for (;;) {
		while (is_blank(*s))
			s++;
		if (!*s)
			*ret_end = s;
		if (!*s || n == max)
			return n;
		tok[n].s = s;
		while (*s && !is_blank(*s))
			s++;
		tok[n].n = (size_t)(s - tok[n].s);
		tok[n].kind = classify(tok[n].s, tok[n].n);
		n++;
	}
}

static bool is_flag(const struct tok *t, char c)
{
	return t->n == 1 && t->s[0] == c;
}

/* Map the statistics block after prio: I* D* I* (old !SCHEDSTATS zeros, values, NUMA). */
static int read_stats(const struct dump_table *t, bool eevdf, struct tok *tok, size_t n, size_t i,
		      struct sbco_task *r, size_t *ret_next)
{
	size_t lead = 0, ndec = 0, trail = 0, d0;
	int64_t v[4] = {0}, x;
	int ret;

	for (; i < n && tok[i].kind == 'i' && lead < 8; i++)
		lead++;
	d0 = i;
	for (; i < n && tok[i].kind == 'd' && ndec < 5; i++)
		ndec++;
	for (; i < n && tok[i].kind == 'i' && trail < 3; i++)
		trail++;
	if (i < n && tok[i].kind != 'x')
		return ROW_E_SHAPE;
	if (trail > 2 || (lead && (lead != 2 || ndec != 3)) || ndec < 3 || ndec > 4)
		return ROW_E_SHAPE;
	for (size_t k = 0; k < ndec; k++)
		if ((ret = tok_ns(&tok[d0 + k], &v[k])) < 0)
			return ret;
	if (lead) {
		/* < 4.6 without CONFIG_SCHEDSTATS: "0 0 0.000000 0.000000 0.000000", no data */
	} else if (eevdf) {
		r->wait_ns = v[0];
		r->sleep_ns = v[ndec - 2];
		r->block_ns = v[ndec - 1];
		r->have |= SBCO_HAVE_WAIT | SBCO_HAVE_SLEEP | SBCO_HAVE_BLOCK;
	} else if (t->hdr_layout == SBCO_LAYOUT_CFS_EXEC) {
		if (ndec != 3)
			return ROW_E_SHAPE;
		r->sum_exec_ns = v[1];
		r->sleep_ns = v[2];
		r->have |= SBCO_HAVE_SUM_EXEC | SBCO_HAVE_SLEEP;
	} else {
		r->wait_ns = v[0];
		r->sum_exec_ns = v[1];
		r->sleep_ns = v[2];
		r->have |= SBCO_HAVE_WAIT | SBCO_HAVE_SUM_EXEC | SBCO_HAVE_SLEEP;
		if (ndec == 4) {
			r->block_ns = v[3];
			r->have |= SBCO_HAVE_BLOCK;
		}
	}
	if (trail >= 1) {
		if ((ret = tok_i64(&tok[d0 + ndec], -1, INT32_MAX, &x)) < 0)
			return ret;
		r->node = (int32_t)x;
		r->have |= SBCO_HAVE_NODE;
	}
	if (trail == 2) {
		if ((ret = tok_i64(&tok[d0 + ndec + 1], -1, INT32_MAX, &x)) < 0)
			return ret;
		r->numa_group = (int32_t)x;
		r->have |= SBCO_HAVE_NUMA_GROUP;
	}
	*ret_next = i;
	return 0;
}

int dump_row_parse(struct dump_table *t, char *l, struct sbco_task *r)
{
	struct tok tok[MAX_TOK];
	size_t len = strnlen(l, (size_t)t->task_end + 2), n, i;
	char *end;
	int e, ret;
	int64_t x;
	bool eevdf;

	*r = (struct sbco_task){.group_path = "", .node = -1, .numa_group = -1, .exact_ord = -1};
	e = find_comm_end(t, l, len);
	if (e < 0)
		return -ENOENT;
	ret = read_state(t, l, e - 15, r);
	if (ret < 0)
		return ret;
	n = tokenize(l + e + 1, tok, MAX_TOK, &end);
	if (n < 2 || tok[0].kind != 'i')
		return -ENOENT; /* no PID after the comm field: not a row */
	/* the sbco kernel patch appends "ord=N", the task's exact ordinate */
	if (end && n > 2 && tok[n - 1].n > 4 && !memcmp(tok[n - 1].s, "ord=", 4)) {
		struct tok o = {tok[n - 1].s + 4, tok[n - 1].n - 4, 0};

		o.kind = classify(o.s, o.n);
		if ((ret = tok_i64(&o, -1, INT32_MAX, &x)) < 0)
			return ret;
		r->exact_ord = (int32_t)x;
		r->have |= SBCO_HAVE_EXACT_ORD;
		end = tok[--n].s;
	}
	l[e] = '\0';
	r->comm = l + e - 15;
	while (*r->comm == ' ')
		r->comm++;
	if ((ret = tok_i64(&tok[0], 0, INT32_MAX, &x)) < 0)
		return ROW_E_PID;
	r->pid = (int32_t)x;
	if ((ret = tok_ns(&tok[1], &r->vruntime_ns)) < 0)
		return ret;
	i = 2;
	eevdf = n > 2 && (is_flag(&tok[2], 'E') || is_flag(&tok[2], 'N'));
	if (eevdf) {
		if (n < 9)
			return ROW_E_SHORT;
		r->eligible = tok[2].s[0] == 'E';
		if ((ret = tok_ns(&tok[3], &r->deadline_ns)) < 0)
			return ret;
		i = 4;
		if (is_flag(&tok[4], 'S')) {
			r->custom_slice = true;
			i = 5;
		}
		if (i + 4 > n)
			return ROW_E_SHORT;
		if ((ret = tok_ns(&tok[i++], &r->slice_ns)) < 0 ||
		    (ret = tok_ns(&tok[i++], &r->sum_exec_ns)) < 0)
			return ret;
		r->have |=
		    SBCO_HAVE_ELIGIBLE | SBCO_HAVE_DEADLINE | SBCO_HAVE_SLICE | SBCO_HAVE_SUM_EXEC;
		t->row_layout =
		    t->hdr_layout == SBCO_LAYOUT_EEVDF ? SBCO_LAYOUT_EEVDF : SBCO_LAYOUT_EEVDF_OLD;
	} else {
		if (t->hdr_layout == SBCO_LAYOUT_EEVDF)
			return ROW_E_SHAPE;
		t->row_layout = t->hdr_layout;
	}
	if (i + 2 > n)
		return ROW_E_SHORT;
	if ((ret = tok_i64(&tok[i++], 0, INT64_MAX, &x)) < 0)
		return ret;
	r->switches = (uint64_t)x;
	if ((ret = tok_i64(&tok[i++], -1, 1000, &x)) < 0)
		return ret;
	r->prio = (int32_t)x;
	ret = read_stats(t, eevdf, tok, n, i, r, &i);
	if (ret < 0)
		return ret;
	if (i < n) {
		if (!end)
			end = tok[i].s + strlen(tok[i].s);
		while (end > tok[i].s && is_blank(end[-1]))
			end--;
		*end = '\0';
		r->group_path = tok[i].s;
		r->have |= SBCO_HAVE_PATH;
	}
	return 0;
}
