/* SPDX-License-Identifier: MIT */
/*
 * sbcod's control requests, validated before anything acts on them: a request comes from a
 * local client (root or the group "sbco"), but a buggy or hostile one must get a clear
 * error and change nothing. The nesting depth is checked on the raw bytes before cJSON
 * sees them (its recursive parser would otherwise go 1000 levels deep on a 64 KiB input);
 * then only the keys a command takes are accepted, each of its type and range.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sbco.h"

static const struct {
	const char *name;
	bool vm, cpu, mode; /* the keys it takes besides "cmd" */
	bool mutates;
} cmds[SBCO_CMD_MAX_] = {
    [SBCO_CMD_STATUS] = {"status", false, false, false, false},
    [SBCO_CMD_VMS] = {"vms", false, false, false, false},
    [SBCO_CMD_DISTANCE] = {"distance", true, false, false, false},
    [SBCO_CMD_RUNQUEUE] = {"runqueue", false, true, false, false},
    [SBCO_CMD_SET_MODE] = {"set-mode", true, false, true, true},
    [SBCO_CMD_RELOAD] = {"reload", false, false, false, true},
    [SBCO_CMD_METRICS] = {"metrics", false, false, false, false},
};

const char *sbco_cmd_name(enum sbco_cmd c)
{
	return (unsigned)c < SBCO_CMD_MAX_ ? cmds[c].name : "?";
}

bool sbco_cmd_mutates(enum sbco_cmd c)
{
	return (unsigned)c < SBCO_CMD_MAX_ && cmds[c].mutates;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen < 201 ? errlen : 201, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* The offset of the first byte that opens level SBCO_REQUEST_DEPTH + 1, or -1. Strings
 * (with their escapes) are skipped, so brackets inside VM names do not count. */
static long too_deep(const char *t, size_t len)
{
	unsigned depth = 0;
	bool str = false, esc = false;

	for (size_t i = 0; i < len; i++) {
		char ch = t[i];

		if (str) {
			if (esc)
				esc = false;
			else if (ch == '\\')
				esc = true;
			else if (ch == '"')
				str = false;
		} else if (ch == '"') {
			str = true;
		} else if (ch == '{' || ch == '[') {
			if (++depth > SBCO_REQUEST_DEPTH)
				return (long)i;
		} else if ((ch == '}' || ch == ']') && depth) {
			depth--;
		}
	}
	return -1;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static int check_keys(const cJSON *req, enum sbco_cmd c, char *err, size_t errlen)
{
	static const char *const keys[] = {"cmd", "vm", "cpu", "mode"};
	unsigned seen = 0;
	const cJSON *k;

	cJSON_ArrayForEach(k, req)
	{
		const char *n = k->string;
		unsigned i = 0;

		while (i < 4 && strcmp(n, keys[i]))
			i++;
		if (i == 4 || (i == 1 && !cmds[c].vm) || (i == 2 && !cmds[c].cpu) ||
		    (i == 3 && !cmds[c].mode))
			return fail(err, errlen, "%s: unexpected key \"%.40s\"%s", cmds[c].name,
				    printable(n) ? n : "(unprintable)",
				    strlen(n) > 40 ? "..." : "");
		if (seen & (1u << i))
			return fail(err, errlen, "%s: key \"%s\" given twice", cmds[c].name,
				    keys[i]);
		seen |= 1u << i;
	}
	return 0;
}

static int parse_fields(const cJSON *req, struct sbco_request *r, char *err, size_t errlen)
{
	const cJSON *vm = cJSON_GetObjectItemCaseSensitive(req, "vm");
	const cJSON *cpu = cJSON_GetObjectItemCaseSensitive(req, "cpu");
	const cJSON *mode = cJSON_GetObjectItemCaseSensitive(req, "mode");
	const char *name = sbco_cmd_name(r->cmd);

	if (vm) {
		size_t n = cJSON_IsString(vm) ? strlen(vm->valuestring) : 0;

		if (!n || n >= SBCO_VM_NAME_MAX || !printable(vm->valuestring))
			return fail(err, errlen,
				    "%s: \"vm\" must be a VM name (1 to %d printable ASCII bytes)",
				    name, SBCO_VM_NAME_MAX - 1);
		memcpy(r->vm, vm->valuestring, n + 1);
	} else if (r->cmd == SBCO_CMD_SET_MODE) {
		return fail(err, errlen, "%s: \"vm\" is required", name);
	}
	if (cpu) {
		double v = cJSON_IsNumber(cpu) ? cpu->valuedouble : -1;

		if (!(v >= 0 && v < SBCO_MAX_CPUS) || v != floor(v))
			return fail(err, errlen, "%s: \"cpu\" must be a CPU number (0 to %d)", name,
				    SBCO_MAX_CPUS - 1);
		r->has_cpu = true;
		r->cpu = (int32_t)v;
	}
	if (r->cmd == SBCO_CMD_SET_MODE) {
		int k = -1;

		for (int j = 0; cJSON_IsString(mode) && j <= SBCO_MODE_SBCO; j++)
			if (!strcmp(mode->valuestring, sbco_mode_name((enum sbco_mode)j)))
				k = j;
		if (k < 0)
			return fail(err, errlen,
				    "%s: \"mode\" must be \"off\", \"bal\" or \"sbco\"", name);
		r->mode = (enum sbco_mode)k;
	}
	return 0;
}

int sbco_request_parse(const char *text, size_t len, struct sbco_request *r, char *err,
		       size_t errlen)
{
	const char *end = NULL;
	const cJSON *cmd;
	cJSON *req;
	long deep;
	int ret;

	memset(r, 0, sizeof(*r));
	if (errlen)
		err[0] = '\0';
	if (len > SBCO_REQUEST_MAX)
		return fail(err, errlen, "request larger than %d bytes", SBCO_REQUEST_MAX);
	if (memchr(text, '\0', len))
		return fail(err, errlen, "request contains a NUL byte at offset %zu",
			    (size_t)((const char *)memchr(text, '\0', len) - text));
	deep = too_deep(text, len);
	if (deep >= 0)
		return fail(err, errlen, "request nested deeper than %d levels at offset %ld",
			    SBCO_REQUEST_DEPTH, deep);
	req = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!req) {
		const char *at = cJSON_GetErrorPtr();

		if (!at || at < text || at > text + len)
			at = text + len;
		return fail(err, errlen, "request is not JSON (error at offset %zu)",
			    (size_t)(at - text));
	}
	for (; end && end < text + len; end++)
		if (!strchr(" \t\r\n", *end)) {
			cJSON_Delete(req);
			return fail(err, errlen, "request has trailing data at offset %zu",
				    (size_t)(end - text));
		}
	if (!cJSON_IsObject(req)) {
		ret = fail(err, errlen, "request is not a JSON object");
		goto out;
	}
	cmd = cJSON_GetObjectItemCaseSensitive(req, "cmd");
	if (!cJSON_IsString(cmd)) {
		ret = fail(err, errlen, "request lacks \"cmd\"");
		goto out;
	}
	for (r->cmd = 0; r->cmd < SBCO_CMD_MAX_ && strcmp(cmd->valuestring, cmds[r->cmd].name);
	     r->cmd++)
		;
	if (r->cmd == SBCO_CMD_MAX_) {
		ret = fail(err, errlen,
			   "unknown cmd (status, vms, distance, runqueue, set-mode, "
			   "reload, metrics)");
		goto out;
	}
	ret = check_keys(req, r->cmd, err, errlen);
	if (!ret)
		ret = parse_fields(req, r, err, errlen);
out:
	cJSON_Delete(req);
	if (ret)
		memset(r, 0, sizeof(*r));
	return ret;
}
