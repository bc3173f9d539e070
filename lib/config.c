/* SPDX-License-Identifier: MIT */
/*
 * The JSON config (/etc/sbco/sbco.json): parsed with cJSON, validated into a typed struct
 * sbco_config. Every problem is collected, one line each, naming the field by its JSON
 * path and the reason; unknown and duplicate keys are errors; a "comment" string may be
 * put in any object. A config with errors is rejected whole, so a reload never applies
 * half of one.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbco.h"

struct errs {
	char *buf;
	size_t len, cap;
	bool oom;
	const char *file;
	unsigned n;
};

static void errf(struct errs *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errf(struct errs *e, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	e->n++;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	n += (int)strlen(e->file) + 3;
	if (e->len + (size_t)n + 1 > e->cap) {
		size_t cap = (e->cap + (size_t)n + 1) * 2;
		char *b = realloc(e->buf, cap);

		if (!b) {
			e->oom = true;
			return;
		}
		e->buf = b;
		e->cap = cap;
	}
	e->len += (size_t)snprintf(e->buf + e->len, e->cap - e->len, "%s: %s\n", e->file, line);
}

static const char *const mode_names[] = {"off", "bal", "sbco"};
static const char *const lever_names[] = {"slice", "weight", "nice", "auto", "kernel"};

const char *sbco_mode_name(enum sbco_mode m)
{
	return (unsigned)m < 3 ? mode_names[m] : "?";
}

const char *sbco_lever_name(enum sbco_lever l)
{
	return (unsigned)l < 5 ? lever_names[l] : "?";
}

static bool parse_mode(const cJSON *v, const char *path, struct errs *e, enum sbco_mode *ret)
{
	for (int i = 0; cJSON_IsString(v) && i < 3; i++)
		if (!strcmp(v->valuestring, mode_names[i])) {
			*ret = (enum sbco_mode)i;
			return true;
		}
	if (cJSON_IsString(v))
		errf(e, "%s: expected \"off\"|\"bal\"|\"sbco\", got \"%s\"", path, v->valuestring);
	else
		errf(e, "%s: expected \"off\"|\"bal\"|\"sbco\"", path);
	return false;
}

/* A number in [min, max] (open ends when lo_open/hi_open), integral when integer. */
static bool number(const cJSON *v, const char *path, double min, double max, bool lo_open,
		   bool integer, struct errs *e, double *ret)
{
	double d;

	if (!cJSON_IsNumber(v)) {
		errf(e, "%s: expected a number", path);
		return false;
	}
	d = v->valuedouble;
	if (integer && d != floor(d)) {
		errf(e, "%s: expected an integer, got %g", path, d);
		return false;
	}
	if ((lo_open ? d <= min : d < min) || d > max) {
		errf(e, "%s: must be in %c%g, %g], got %g", path, lo_open ? '(' : '[', min, max, d);
		return false;
	}
	*ret = d;
	return true;
}

static bool boolean(const cJSON *v, const char *path, struct errs *e, bool *ret)
{
	if (!cJSON_IsBool(v)) {
		errf(e, "%s: expected true or false", path);
		return false;
	}
	*ret = cJSON_IsTrue(v);
	return true;
}

static bool duplicate(const cJSON *obj, const cJSON *item)
{
	for (const cJSON *o = obj->child; o && o != item; o = o->next)
		if (o->string && item->string && !strcmp(o->string, item->string))
			return true;
	return false;
}

static void parse_levers(const cJSON *v, struct errs *e, struct sbco_config *c)
{
	const cJSON *it;
	size_t n = 0;

	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0) {
		errf(e, "levers: expected a non-empty array of "
			"\"kernel\"|\"slice\"|\"weight\"|\"nice\"");
		return;
	}
	cJSON_ArrayForEach(it, v)
	{
		int k = -1;

		for (int i = 0; cJSON_IsString(it) && i < 5; i++)
			if (i != SBCO_LEVER_AUTO && !strcmp(it->valuestring, lever_names[i]))
				k = i;
		if (k < 0) {
			errf(e, "levers[%zu]: expected \"kernel\"|\"slice\"|\"weight\"|\"nice\"",
			     n);
		} else {
			for (size_t j = 0; j < c->nr_levers; j++)
				if (c->levers[j] == (enum sbco_lever)k)
					k = -2;
			if (k == -2)
				errf(e, "levers[%zu]: \"%s\" listed twice", n, it->valuestring);
			else if (c->nr_levers < SBCO_LEVERS_MAX)
				c->levers[c->nr_levers++] = (enum sbco_lever)k;
		}
		n++;
	}
}

static void parse_patterns(const cJSON *v, struct errs *e, struct sbco_config *c)
{
	const cJSON *it;
	size_t n = 0;

	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0) {
		errf(e, "vcpu_patterns: expected a non-empty array of globs");
		return;
	}
	sbco_patterns_clear(&c->patterns);
	cJSON_ArrayForEach(it, v)
	{
		if (!cJSON_IsString(it) || !*it->valuestring)
			errf(e, "vcpu_patterns[%zu]: expected a non-empty glob string", n);
		else if (sbco_patterns_add(&c->patterns, it->valuestring) == -E2BIG)
			errf(e, "vcpu_patterns: at most %d patterns", SBCO_PATTERNS_MAX);
		n++;
	}
}

static void parse_balance(const cJSON *v, struct errs *e, struct sbco_balance_cfg *b)
{
	const cJSON *it;
	double d;

	if (!cJSON_IsObject(v)) {
		errf(e, "balance: expected an object");
		return;
	}
	cJSON_ArrayForEach(it, v)
	{
		const char *k = it->string;
		char path[128];

		snprintf(path, sizeof(path), "balance.%s", k);
		if (duplicate(v, it))
			errf(e, "%s: duplicate key", path);
		else if (!strcmp(k, "comment"))
			continue;
		else if (!strcmp(k, "boost_slice_us")) {
			if (number(it, path, 100, 100000, false, true, e, &d))
				b->boost_slice_ns = (int64_t)d * 1000;
		} else if (!strcmp(k, "hold_slice_us")) {
			if (number(it, path, 100, 100000, false, true, e, &d))
				b->hold_slice_ns = (int64_t)d * 1000;
		} else if (!strcmp(k, "weight_factor")) {
			if (number(it, path, 0, 0.9, true, false, e, &d))
				b->weight_factor = d;
		} else if (!strcmp(k, "nice_step")) {
			if (number(it, path, 1, 19, false, true, e, &d))
				b->nice_step = (int)d;
		} else if (!strcmp(k, "dirty_timeout_ms")) {
			if (number(it, path, 0, 10000, false, true, e, &d))
				b->dirty_timeout_ns = (uint64_t)d * 1000000;
		} else if (!strcmp(k, "max_loan_ms")) {
			if (number(it, path, 10, 60000, false, true, e, &d))
				b->max_loan_ns = (uint64_t)d * 1000000;
		} else if (!strcmp(k, "kernel_pick")) {
			if (cJSON_IsString(it) && !strcmp(it->valuestring, "lend"))
				b->kernel_pick_lend = true;
			else if (cJSON_IsString(it) && !strcmp(it->valuestring, "count"))
				b->kernel_pick_lend = false;
			else
				errf(e, "%s: expected \"count\" or \"lend\"", path);
		} else
			errf(e, "%s: unknown key", path);
	}
}

static void parse_stall(const cJSON *v, struct errs *e, struct sbco_config *c)
{
	struct sbco_stall_cfg *s = &c->stall;
	const cJSON *it;
	double d;

	if (!cJSON_IsObject(v)) {
		errf(e, "stall: expected an object");
		return;
	}
	cJSON_ArrayForEach(it, v)
	{
		const char *k = it->string;
		char path[128];

		snprintf(path, sizeof(path), "stall.%s", k);
		if (duplicate(v, it))
			errf(e, "%s: duplicate key", path);
		else if (!strcmp(k, "comment"))
			continue;
		else if (!strcmp(k, "respond"))
			boolean(it, path, e, &c->stall_respond);
		else if (!strcmp(k, "isolate"))
			boolean(it, path, e, &s->isolate);
		else if (!strcmp(k, "starve_share")) {
			if (number(it, path, 0, 0.5, true, false, e, &d))
				s->starve_frac = d;
		} else if (!strcmp(k, "sibling_share")) {
			if (number(it, path, 0, 1, true, false, e, &d))
				s->sibling_share = d;
		} else if (!strcmp(k, "detect_ms")) {
			if (number(it, path, 100, 60000, false, true, e, &d))
				s->detect_ns = (uint64_t)d * 1000000;
		} else if (!strcmp(k, "hold_s")) {
			if (number(it, path, 1, 3600, false, true, e, &d))
				s->hold_ns = (uint64_t)d * 1000000000;
		} else if (!strcmp(k, "hold_max_s")) {
			if (number(it, path, 1, 86400, false, true, e, &d))
				s->hold_max_ns = (uint64_t)d * 1000000000;
		} else if (!strcmp(k, "rotations")) {
			if (number(it, path, 0, 100, false, true, e, &d))
				s->rotations = (unsigned)d;
		} else
			errf(e, "%s: unknown key", path);
	}
	if (s->hold_max_ns < s->hold_ns)
		errf(e, "stall.hold_max_s: must not be below stall.hold_s");
}

static void parse_rule(const cJSON *v, size_t idx, struct errs *e, struct sbco_vm_rule *r)
{
	static const char *const match_keys[3] = {"name", "uuid", "match"};
	const cJSON *it;
	int nmatch = 0;
	double d;

	if (!cJSON_IsObject(v)) {
		errf(e, "vms[%zu]: expected an object", idx);
		return;
	}
	cJSON_ArrayForEach(it, v)
	{
		const char *k = it->string;
		char path[160];
		int m = -1;

		snprintf(path, sizeof(path), "vms[%zu].%s", idx, k);
		for (int i = 0; i < 3; i++)
			if (!strcmp(k, match_keys[i]))
				m = i;
		if (duplicate(v, it)) {
			errf(e, "%s: duplicate key", path);
		} else if (m >= 0) {
			nmatch++;
			if (!cJSON_IsString(it) || !*it->valuestring) {
				errf(e, "%s: expected a non-empty string", path);
			} else if (nmatch == 1) {
				r->kind = (enum sbco_match)m;
				r->pattern = strdup(it->valuestring);
				if (!r->pattern)
					e->oom = true;
			}
		} else if (!strcmp(k, "mode")) {
			r->has_mode = parse_mode(it, path, e, &r->mode);
		} else if (!strcmp(k, "alpha")) {
			if ((r->has_alpha = number(it, path, 0, 1, true, false, e, &d)))
				r->alpha = d;
		} else if (!strcmp(k, "override_pinning")) {
			r->has_override = boolean(it, path, e, &r->override_pinning);
		} else if (strcmp(k, "comment")) {
			errf(e, "%s: unknown key", path);
		}
	}
	if (nmatch != 1)
		errf(e, "vms[%zu]: needs exactly one of \"name\", \"uuid\", \"match\", got %d", idx,
		     nmatch);
}

static void parse_rules(const cJSON *v, struct errs *e, struct sbco_config *c)
{
	size_t n;
	if (!cJSON_IsArray(v)) {
		errf(e, "vms: expected an array of rules");
		return;
	}
	const cJSON *it;

	n = (size_t)cJSON_GetArraySize(v);
	c->rules = calloc(n + 1, sizeof(*c->rules));
	if (!c->rules) {
		e->oom = true;
		return;
	}
	cJSON_ArrayForEach(it, v)
	{
		parse_rule(it, c->nr_rules, e, &c->rules[c->nr_rules]);
		c->nr_rules++;
	}
}

static void parse_top(const cJSON *root, struct errs *e, struct sbco_config *c)
{
	const cJSON *it;
	double d;

	cJSON_ArrayForEach(it, root)
	{
		const char *k = it->string;

		if (duplicate(root, it))
			errf(e, "%s: duplicate key", k);
		else if (!strcmp(k, "comment"))
			continue;
		else if (!strcmp(k, "mode"))
			parse_mode(it, "mode", e, &c->mode);
		else if (!strcmp(k, "interval_ms")) {
			if (number(it, "interval_ms", 10, 10000, false, true, e, &d))
				c->interval_ms = (uint32_t)d;
		} else if (!strcmp(k, "alpha")) {
			if (number(it, "alpha", 0, 1, true, false, e, &d))
				c->alpha = d;
		} else if (!strcmp(k, "levers")) {
			c->nr_levers = 0;
			parse_levers(it, e, c);
		} else if (!strcmp(k, "libvirt_uri")) {
			free(c->libvirt_uri);
			c->libvirt_uri = NULL;
			if (cJSON_IsString(it) && *it->valuestring) {
				if (!(c->libvirt_uri = strdup(it->valuestring)))
					e->oom = true;
			} else if (!cJSON_IsNull(it)) {
				errf(e, "libvirt_uri: expected a URI string or null");
			}
		} else if (!strcmp(k, "vcpu_patterns")) {
			parse_patterns(it, e, c);
		} else if (!strcmp(k, "housekeeping_cpus")) {
			int r = cJSON_IsString(it)
				    ? sbco_cpuset_parse(it->valuestring, &c->housekeeping)
				    : -EINVAL;

			if (r == -ERANGE)
				errf(e, "housekeeping_cpus: CPU numbers must be below %d",
				     SBCO_MAX_CPUS);
			else if (r < 0)
				errf(e, "housekeeping_cpus: expected a CPU list like \"0-1,8\"");
		} else if (!strcmp(k, "override_pinning")) {
			boolean(it, "override_pinning", e, &c->override_pinning);
		} else if (!strcmp(k, "balance")) {
			parse_balance(it, e, &c->balance);
		} else if (!strcmp(k, "stall")) {
			parse_stall(it, e, c);
		} else if (!strcmp(k, "vms")) {
			parse_rules(it, e, c);
		} else if (!strcmp(k, "domain_metadata")) {
			boolean(it, "domain_metadata", e, &c->domain_metadata);
		} else if (!strcmp(k, "textfile_dir")) {
			free(c->textfile_dir);
			c->textfile_dir = NULL;
			if (cJSON_IsString(it) && it->valuestring[0] == '/') {
				if (!(c->textfile_dir = strdup(it->valuestring)))
					e->oom = true;
			} else if (!cJSON_IsNull(it)) {
				errf(e,
				     "textfile_dir: expected an absolute directory path or null");
			}
		} else if (!strcmp(k, "textfile_interval_s")) {
			if (number(it, "textfile_interval_s", 1, 3600, false, true, e, &d))
				c->textfile_interval_s = (uint32_t)d;
		} else {
			errf(e, "%s: unknown key", k);
		}
	}
}

struct sbco_config *sbco_config_free(struct sbco_config *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->nr_rules; i++)
		free(c->rules[i].pattern);
	free(c->rules);
	free(c->libvirt_uri);
	free(c->textfile_dir);
	sbco_patterns_clear(&c->patterns);
	free(c);
	return NULL;
}

static struct sbco_config *defaults(void)
{
	struct sbco_config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->mode = SBCO_MODE_BAL;
	/* 250 ms: reading the dump costs the kernel ~18 ms with two VMs here (TESTBED), so
	 * this spends ~7 % of one CPU, and siblings drift in and out of phase over about a
	 * second (DESIGN.md): four looks per drift period. */
	c->interval_ms = 250;
	c->alpha = 2.0 / 3;
	c->levers[0] = SBCO_LEVER_KERNEL;
	c->levers[1] = SBCO_LEVER_SLICE;
	c->levers[2] = SBCO_LEVER_WEIGHT;
	c->levers[3] = SBCO_LEVER_NICE;
	c->nr_levers = 4;
	c->libvirt_uri = strdup("qemu:///system");
	c->domain_metadata = true;
	c->textfile_interval_s = 15;
	sbco_balance_cfg_default(&c->balance);
	sbco_stall_cfg_default(&c->stall);
	c->stall_respond = true;
	if (!c->libvirt_uri || sbco_patterns_default(&c->patterns) < 0)
		return sbco_config_free(c);
	return c;
}

int sbco_config_default(struct sbco_config **ret)
{
	*ret = defaults();
	return *ret ? 0 : -ENOMEM;
}

/* "line:col" of a position in text */
static void line_col(const char *text, const char *at, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (const char *p = text; p < at; p++) {
		if (*p == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

int sbco_config_parse(const char *text, size_t len, const char *filename, struct sbco_config **ret,
		      char **ret_errors)
{
	struct errs e = {.file = filename ? filename : "config"};
	struct sbco_config *c = defaults();
	const char *end = NULL;
	char *copy = malloc(len + 1);
	cJSON *root;

	*ret_errors = NULL;
	if (!c || !copy) {
		free(copy);
		sbco_config_free(c);
		return -ENOMEM;
	}
	/* cJSON wants the terminating NUL inside the length to accept "nothing follows" */
	memcpy(copy, text, len);
	copy[len] = '\0';
	text = copy;
	if (memchr(copy, '\0', len)) {
		unsigned line, col;

		line_col(text, copy + strlen(copy), &line, &col);
		errf(&e, "%u:%u: NUL byte in text", line, col);
		root = NULL;
	} else if (!(root = cJSON_ParseWithLengthOpts(copy, len + 1, &end, true))) {
		unsigned line, col;

		line_col(text, end && end >= text && end <= text + len ? end : text + len, &line,
			 &col);
		errf(&e, "%u:%u: syntax error", line, col);
	} else if (!cJSON_IsObject(root)) {
		errf(&e, "expected a JSON object at the top level");
	} else {
		parse_top(root, &e, c);
	}
	cJSON_Delete(root);
	free(copy);
	if (e.oom) {
		free(e.buf);
		sbco_config_free(c);
		return -ENOMEM;
	}
	if (e.n) {
		*ret_errors = e.buf;
		sbco_config_free(c);
		return -EINVAL;
	}
	free(e.buf);
	*ret = c;
	return 0;
}

int sbco_config_load(const char *path, struct sbco_config **ret, char **ret_errors)
{
	char *buf = NULL;
	size_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	*ret_errors = NULL;
	if (fd < 0) {
		r = -errno;
		if (asprintf(ret_errors, "%s: cannot open: %s\n", path, strerror(-r)) < 0)
			*ret_errors = NULL;
		return r;
	}
	r = sbco_read_fd(fd, 1u << 20, &buf, &len);
	close(fd);
	if (r < 0) {
		if (asprintf(ret_errors, "%s: cannot read: %s\n", path, strerror(-r)) < 0)
			*ret_errors = NULL;
		return r;
	}
	r = sbco_config_parse(buf, len, path, ret, ret_errors);
	free(buf);
	return r;
}

static bool rule_matches(const struct sbco_vm_rule *r, const struct sbco_vm *vm)
{
	switch (r->kind) {
	case SBCO_MATCH_NAME:
		return vm->name && !strcmp(vm->name, r->pattern);
	case SBCO_MATCH_UUID:
		return vm->uuid[0] && !strcasecmp(vm->uuid, r->pattern);
	case SBCO_MATCH_GLOB:
		return vm->name && fnmatch(r->pattern, vm->name, 0) == 0;
	}
	return false;
}

void sbco_config_policy(const struct sbco_config *c, const struct sbco_vm *vm,
			struct sbco_vm_policy *ret)
{
	*ret = (struct sbco_vm_policy){.mode = c->mode,
				       .alpha = c->alpha,
				       .override_pinning = c->override_pinning,
				       .source = SBCO_SOURCE_DEFAULT,
				       .rule = -1};
	for (size_t i = 0; i < c->nr_rules; i++) {
		const struct sbco_vm_rule *r = &c->rules[i];

		if (!rule_matches(r, vm))
			continue;
		ret->rule = (int)i;
		if (r->has_mode) {
			ret->mode = r->mode;
			ret->source = SBCO_SOURCE_RULE;
		}
		if (r->has_alpha)
			ret->alpha = r->alpha;
		if (r->has_override)
			ret->override_pinning = r->override_pinning;
		break;
	}
	if (!c->domain_metadata || !vm->meta.valid)
		return;
	if (vm->meta.has_mode) {
		ret->mode = vm->meta.mode;
		ret->source = SBCO_SOURCE_METADATA;
	}
	if (vm->meta.has_alpha)
		ret->alpha = vm->meta.alpha;
}

const char *sbco_source_name(enum sbco_policy_source s)
{
	static const char *const n[] = {"default", "rule", "metadata", "override"};

	return (unsigned)s < 4 ? n[s] : "?";
}

int sbco_lever_pick(const enum sbco_lever *allowed, size_t n, int major, int minor,
		    bool own_cgroups, bool kpatch)
{
	for (size_t i = 0; i < n; i++) {
		enum sbco_lever l = allowed[i];

		if (l == SBCO_LEVER_KERNEL && !kpatch)
			continue;
		if (l == SBCO_LEVER_SLICE &&
		    sbco_lever_resolve(SBCO_LEVER_AUTO, major, minor, own_cgroups, false) !=
			SBCO_LEVER_SLICE)
			continue;
		if (l == SBCO_LEVER_WEIGHT && !own_cgroups)
			continue;
		return (int)(l == SBCO_LEVER_AUTO
				 ? sbco_lever_resolve(l, major, minor, own_cgroups, kpatch)
				 : l);
	}
	return -ENOENT;
}
