/* SPDX-License-Identifier: MIT */
/*
 * The scheduler debug dump parser: turns the text of /sys/kernel/debug/sched/debug,
 * /proc/sched_debug or a SysRq console/syslog capture of it (kernels 2.6.23 to 6.18) into a
 * struct sbco_snapshot. One pass over a private copy of the input: lines are cut in place,
 * strings point into the copy, so the snapshot costs memory proportional to the dump and
 * time linear in it. The section structure is keyed on the section-start lines (cpu#,
 * cfs_rq, rt_rq, dl_rq, "runnable tasks:"), never on blank lines; the task rows are read
 * with dump_row.c using the layout the table header announces.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump_internal.h"
#include "sbco.h"
#include "util.h"

enum section {
	SEC_TOP,       /* global header, sysctl block */
	SEC_CPU,       /* rq fields after cpu#N */
	SEC_CFS,       /* fields of a cfs_rq block */
	SEC_OTHER,     /* rt_rq, dl_rq: ignored */
	SEC_TABLE_HDR, /* after "runnable tasks:", before the dashes */
	SEC_TABLE,     /* task rows */
};

struct parser {
	struct sbco_snapshot *s;
	size_t cap_cpus, cap_rqs, cap_tasks;
	enum section sec;
	struct dump_table tab;
	uint32_t lineno;
	bool last_line_open; /* the current line had no terminating newline */
	char *err;
	size_t err_len;
};

static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->err || p->err_len == 0)
		return -EBADMSG;
	n = snprintf(p->err, p->err_len, "line %u: ", p->lineno);
	if (n >= 0 && (size_t)n < p->err_len) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->err_len - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

static struct sbco_cpu *cur_cpu(struct parser *p)
{
	return p->s->nr_cpus ? &p->s->cpus[p->s->nr_cpus - 1] : NULL;
}

static int add_cpu(struct parser *p, int32_t id)
{
	struct sbco_snapshot *s = p->s;
	struct sbco_cpu *c;

	if (sbco_grow((void **)&s->cpus, &p->cap_cpus, s->nr_cpus + 1, sizeof(*c)) < 0)
		return -ENOMEM;
	c = &s->cpus[s->nr_cpus++];
	*c = (struct sbco_cpu){
	    .id = id,
	    .line = p->lineno,
	    .first_rq = (uint32_t)s->nr_rqs,
	    .first_task = (uint32_t)s->nr_tasks,
	};
	return 0;
}

/* Skip what loggers put before the kernel's text: mail quoting "> ", a syslog prefix
 * "Mar 21 09:10:14 host kernel: ", printk's "[   28.307184] " and "[    T0] ". Exactly one
 * blank after the prefix belongs to it; the rest is the dump's own indentation. */
static char *strip_prefix(char *l)
{
	while (l[0] == '>' && (l[1] == ' ' || l[1] == '\0'))
		l += l[1] ? 2 : 1;
	if (l[0] >= 'A' && l[0] <= 'Z' && l[1] && l[2] && l[3] == ' ') {
		char *k = strstr(l, " kernel:");

		if (k && k - l < 80) {
			l = k + 8;
			if (*l == ' ')
				l++;
		}
	}
	while (l[0] == '[') {
		char *q = l + 1;

		while (*q == ' ' || is_digit(*q) || *q == '.' || *q == 'T' || *q == 'C')
			q++;
		if (*q != ']' || q == l + 1)
			break;
		l = q + 1;
		if (*l == ' ')
			l++;
	}
	return l;
}

/* "  .key      : value" or "key    : value" (v0.10+ header). Returns false otherwise.
 * One pass: the key ends at the first blank or ':', only blanks may follow up to ':'. */
static bool split_kv(char *l, char **ret_key, size_t *ret_klen, char **ret_val)
{
	char *k, *q;

	while (*l == ' ')
		l++;
	if (*l == '.')
		l++;
	k = l;
	for (q = k; *q && *q != ':' && *q != ' ' && *q != '\t'; q++)
		;
	if (q == k)
		return false;
	*ret_klen = (size_t)(q - k);
	while (*q == ' ' || *q == '\t')
		q++;
	if (*q != ':')
		return false;
	k[*ret_klen] = '\0';
	q++;
	while (is_blank(*q))
		q++;
	*ret_key = k;
	*ret_val = q;
	return true;
}

static bool num_ns(const char *v, int64_t *ret)
{
	size_t n = 0;

	while (v[n] && !is_blank(v[n]))
		n++;
	return sbco_parse_ms_ns(v, n, ret) == 0;
}

static bool num_u64(const char *v, uint64_t *ret)
{
	char tmp[32];
	size_t n = 0;

	while (v[n] && !is_blank(v[n]) && n < sizeof(tmp) - 1) {
		tmp[n] = v[n];
		n++;
	}
	tmp[n] = '\0';
	return sbco_parse_u64(tmp, ret) == 0;
}

static void top_kv(struct parser *p, const char *k, const char *v)
{
	struct sbco_snapshot *s = p->s;

	if (strcmp(k, "sysctl_sched_latency") == 0)
		(void)num_ns(v, &s->latency_ns);
	else if (strcmp(k, "sysctl_sched_min_granularity") == 0)
		(void)num_ns(v, &s->min_granularity_ns);
	else if (strcmp(k, "sysctl_sched_base_slice") == 0)
		(void)num_ns(v, &s->base_slice_ns);
}

#define KEY(k, lit) (klen == sizeof(lit) - 1 && memcmp(k, lit, sizeof(lit) - 1) == 0)

static void cpu_kv(struct parser *p, const char *k, size_t klen, const char *v)
{
	struct sbco_cpu *c = cur_cpu(p);
	uint64_t u;

	if (!c)
		return;
	if (KEY(k, "nr_running") && num_u64(v, &c->nr_running))
		c->have |= SBCO_CPU_NR_RUNNING;
	else if (KEY(k, "curr->pid") && num_u64(v, &u) && u <= INT32_MAX) {
		c->curr_pid = (int32_t)u;
		c->have |= SBCO_CPU_CURR_PID;
	} else if (KEY(k, "clock") && num_ns(v, &c->clock_ns))
		c->have |= SBCO_CPU_CLOCK;
}

/* cfs_rq blocks are most of a dump's bytes: dispatch on the key's length first. */
static void cfs_kv(struct parser *p, const char *k, size_t klen, const char *v)
{
	struct sbco_cfs_rq *r = &p->s->rqs[p->s->nr_rqs - 1];

	switch (klen) {
	case 4:
		if (KEY(k, "load") && num_u64(v, &r->load))
			r->have |= SBCO_RQ_LOAD;
		break;
	case 9:
		if (KEY(k, "nr_queued") && num_u64(v, &r->nr_running))
			r->have |= SBCO_RQ_NR_RUNNING;
		break;
	case 10:
		if (KEY(k, "nr_running") && num_u64(v, &r->nr_running))
			r->have |= SBCO_RQ_NR_RUNNING;
		break;
	case 11:
		if (KEY(k, "h_nr_queued") && num_u64(v, &r->h_nr_running))
			r->have |= SBCO_RQ_H_NR_RUNNING;
		break;
	case 12:
		if (KEY(k, "min_vruntime") && num_ns(v, &r->min_vruntime_ns))
			r->have |= SBCO_RQ_MIN_VRUNTIME;
		else if (KEY(k, "avg_vruntime") && num_ns(v, &r->avg_vruntime_ns))
			r->have |= SBCO_RQ_AVG_VRUNTIME;
		else if (KEY(k, "h_nr_running") && num_u64(v, &r->h_nr_running))
			r->have |= SBCO_RQ_H_NR_RUNNING;
		else if (KEY(k, "se->vruntime") && num_ns(v, &r->se_vruntime_ns))
			r->have |= SBCO_RQ_SE_VRUNTIME;
		break;
	case 13:
		if (KEY(k, "zero_vruntime") && num_ns(v, &r->zero_vruntime_ns))
			r->have |= SBCO_RQ_ZERO_VRUNTIME;
		else if (KEY(k, "left_vruntime") && num_ns(v, &r->left_vruntime_ns))
			r->have |= SBCO_RQ_LEFT_VRUNTIME;
		break;
	case 15:
		if (KEY(k, "se->load.weight") && num_u64(v, &r->se_weight))
			r->have |= SBCO_RQ_SE_WEIGHT;
		break;
	case 20:
		if (KEY(k, "se->sum_exec_runtime") && num_ns(v, &r->se_sum_exec_ns))
			r->have |= SBCO_RQ_SE_SUM_EXEC;
		break;
	default:
		break;
	}
}

/* "cpu#3, 2096.020 MHz", "cpu#3", "cpu#3: Online" */
static int on_cpu_line(struct parser *p, const char *l)
{
	uint64_t id = 0;
	const char *q = l + 4;

	if (!is_digit(*q))
		return fail(p, "cannot read CPU number in '%.40s'", l);
	for (; is_digit(*q); q++) {
		id = id * 10 + (uint64_t)(*q - '0');
		if (id > INT32_MAX)
			return fail(p, "CPU number out of range in '%.40s'", l);
	}
	p->sec = SEC_CPU;
	return add_cpu(p, (int32_t)id);
}

/* "cfs_rq[3]:/machine/x", "cfs_rq[3]:", 2.6.24's bare "cfs_rq", 2.6.23's "cfs_rq <ptr>" */
static int on_cfs_line(struct parser *p, char *l)
{
	struct sbco_snapshot *s = p->s;
	struct sbco_cpu *c = cur_cpu(p);
	struct sbco_cfs_rq *r;
	int64_t id = -1;
	char *path = l + 6;
	int ret;

	if (*path == '[') {
		char *q = path + 1;

		id = 0;
		for (; is_digit(*q); q++)
			if ((id = id * 10 + (*q - '0')) > INT32_MAX)
				return fail(p, "CPU number out of range in '%.40s'", l);
		if (q == path + 1 || q[0] != ']' || q[1] != ':')
			return fail(p, "cannot read cfs_rq header '%.60s'", l);
		path = q + 2;
	} else {
		path = l + 6 + strlen(l + 6); /* no path printed */
	}
	if (!c || (id >= 0 && c->id != id)) {
		ret = add_cpu(p, (int32_t)id);
		if (ret < 0)
			return ret;
		c = cur_cpu(p);
	}
	if (sbco_grow((void **)&s->rqs, &p->cap_rqs, s->nr_rqs + 1, sizeof(*r)) < 0)
		return -ENOMEM;
	r = &s->rqs[s->nr_rqs++];
	*r = (struct sbco_cfs_rq){
	    .path = path,
	    .cpu = (uint32_t)(c - s->cpus),
	    .line = p->lineno,
	};
	for (char *e = path + strlen(path); e > path && is_blank(e[-1]);)
		*--e = '\0';
	c->nr_rqs++;
	p->sec = SEC_CFS;
	return 0;
}

static int on_table_start(struct parser *p)
{
	int ret;

	if (!cur_cpu(p)) {
		ret = add_cpu(p, -1);
		if (ret < 0)
			return ret;
	}
	p->tab = (struct dump_table){0}; /* each table brings its own header */
	p->sec = SEC_TABLE_HDR;
	return 0;
}

static int on_task_row(struct parser *p, char *l, bool *ret_is_row)
{
	struct sbco_snapshot *s = p->s;
	struct sbco_cpu *c = cur_cpu(p);
	struct sbco_task t;
	int ret;

	ret = dump_row_parse(&p->tab, l, &t);
	if (ret == -ENOENT) { /* not a row: a foreign printk line, a separator */
		*ret_is_row = false;
		return 0;
	}
	*ret_is_row = true;
	if (ret < 0) {
		if (p->last_line_open) { /* cut off mid-row */
			s->truncated = true;
			return 0;
		}
		return fail(p, "cannot read task row: %s", dump_row_strerror(ret));
	}
	if (c->nr_tasks == 0)
		c->first_task = (uint32_t)s->nr_tasks;
	if (sbco_grow((void **)&s->tasks, &p->cap_tasks, s->nr_tasks + 1, sizeof(t)) < 0)
		return -ENOMEM;
	t.cpu = (uint32_t)(c - s->cpus);
	t.line = p->lineno;
	s->tasks[s->nr_tasks++] = t;
	c->nr_tasks++;
	if (c->layout == SBCO_LAYOUT_UNKNOWN || c->layout < p->tab.row_layout)
		c->layout = p->tab.row_layout;
	return 0;
}

static void skip_line(struct parser *p)
{
	p->s->skipped_lines++;
	if (!p->s->first_skipped)
		p->s->first_skipped = p->lineno;
}

static void on_version(struct parser *p, char *l)
{
	struct sbco_snapshot *s = p->s;
	char *v = l + strlen("Sched Debug Version: "), *comma = strchr(v, ',');
	char *rel;

	if (comma)
		*comma = '\0';
	free(s->version);
	s->version = strdup(v);
	if (!comma)
		return;
	rel = comma + 1;
	while (*rel == ' ')
		rel++;
	free(s->release);
	s->release = strndup(rel, strcspn(rel, " "));
	if (s->release && sscanf(s->release, "%d.%d", &s->kernel_major, &s->kernel_minor) != 2)
		s->kernel_major = s->kernel_minor = 0;
}

static int on_line(struct parser *p, char *l)
{
	char *k, *v;
	size_t klen;
	bool is_row;
	int ret;

	l = strip_prefix(l);
	if (p->sec == SEC_TABLE && (l[0] == ' ' || l[0] == '>' || l[0] == 'R')) {
		ret = on_task_row(p, l, &is_row);
		if (ret < 0 || is_row)
			return ret;
	}
	switch (l[0]) {
	case '\0':
		return 0;
	case 'c':
		if (strncmp(l, "cpu#", 4) == 0)
			return on_cpu_line(p, l);
		if (strncmp(l, "cfs_rq", 6) == 0 && (l[6] == '[' || l[6] == '\0' || l[6] == ' '))
			return on_cfs_line(p, l);
		break;
	case 'r':
		if (strncmp(l, "rt_rq", 5) == 0) {
			p->sec = SEC_OTHER;
			return 0;
		}
		if (strncmp(l, "runnable tasks:", 15) == 0)
			return on_table_start(p);
		break;
	case 'd':
		if (strncmp(l, "dl_rq", 5) == 0) {
			p->sec = SEC_OTHER;
			return 0;
		}
		break;
	case 'S':
		if (strncmp(l, "Sched Debug Version: ", 21) == 0) {
			on_version(p, l);
			p->sec = SEC_TOP;
			return 0;
		}
		break;
	default:
		break;
	}
	if (p->sec == SEC_TABLE_HDR) {
		if (strstr(l, "task") && strstr(l, "PID")) {
			ret = dump_table_header(&p->tab, l);
			if (ret < 0)
				return fail(p, "unknown runnable-tasks header '%.80s'", l);
			cur_cpu(p)->has_table = true;
			cur_cpu(p)->layout = p->tab.hdr_layout;
			return 0;
		}
		if (l[0] == '-' && l[1] == '-' && p->tab.task_end) {
			p->sec = SEC_TABLE;
			return 0;
		}
		if (p->last_line_open) {
			p->s->truncated = true;
			return 0;
		}
		return fail(p, "expected the runnable-tasks header, got '%.80s'", l);
	}
	if (p->sec == SEC_OTHER && (l[0] == ' ' || l[0] == '\0'))
		return 0; /* rt_rq/dl_rq fields: nothing sbco reads */
	if (p->sec != SEC_TABLE && split_kv(l, &k, &klen, &v)) {
		if (p->sec == SEC_TOP)
			top_kv(p, k, v);
		else if (p->sec == SEC_CPU)
			cpu_kv(p, k, klen, v);
		else if (p->sec == SEC_CFS)
			cfs_kv(p, k, klen, v);
		return 0;
	}
	if (p->sec == SEC_TOP && (strncmp(l, "now at", 6) == 0 || strcmp(l, "sysctl_sched") == 0))
		return 0;
	skip_line(p);
	return 0;
}

struct sbco_snapshot *sbco_snapshot_free(struct sbco_snapshot *s)
{
	if (!s)
		return NULL;
	free(s->version);
	free(s->release);
	free(s->cpus);
	free(s->rqs);
	free(s->tasks);
	free(s->buf);
	free(s);
	return NULL;
}

int sbco_dump_parse(const char *text, size_t len, struct sbco_snapshot **ret_snap, char *err,
		    size_t err_len)
{
	struct parser p = {.err = err, .err_len = err_len};
	char *line, *end, *nul;
	int ret = 0;

	if (!text || !ret_snap)
		return -EINVAL;
	if (err && err_len)
		err[0] = '\0';
	p.s = calloc(1, sizeof(*p.s));
	if (!p.s)
		return -ENOMEM;
	p.s->buf = malloc(len + 1);
	if (!p.s->buf) {
		free(p.s);
		return -ENOMEM;
	}
	memcpy(p.s->buf, text, len);
	p.s->buf[len] = '\0';
	end = p.s->buf + len;
	nul = memchr(p.s->buf, '\0', len); /* one pass here instead of one per line */
	for (line = p.s->buf; line < end;) {
		char *nl = memchr(line, '\n', (size_t)(end - line));

		p.last_line_open = !nl;
		if (!nl)
			nl = end;
		*nl = '\0';
		p.lineno++;
		if (nul && nul < nl) {
			ret = fail(&p, "NUL byte in text");
			break;
		}
		if (nl > line && nl[-1] == '\r')
			nl[-1] = '\0';
		ret = on_line(&p, line);
		if (ret < 0)
			break;
		line = nl + 1;
	}
	p.s->lines = p.lineno;
	if (ret == 0 && p.last_line_open && len > 0)
		p.s->truncated = true;
	if (ret == 0 && p.s->nr_cpus == 0) {
		p.lineno = 1;
		ret = fail(&p, "not a scheduler debug dump (no cpu#, cfs_rq or runnable tasks "
			       "section)");
	}
	if (ret < 0) {
		sbco_snapshot_free(p.s);
		return ret;
	}
	*ret_snap = p.s;
	return 0;
}
