/* SPDX-License-Identifier: MIT */
/*
 * Logging for sbcod (see log.h). Under systemd, sd_journal_send with MESSAGE, PRIORITY,
 * SBCO_VM, SBCO_UUID, SBCO_VCPU, SBCO_TID and ERRNO fields; otherwise one line per event on stderr.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "log.h"
#include "sbco.h"

static bool journal, verbose;

void log_setup(bool debug)
{
	journal = getenv("JOURNAL_STREAM") != NULL;
	verbose = debug;
}

static int log_v(int prio, int err, const char *vm, const char *uuid, int vcpu, int tid,
		 const char *fmt, va_list ap)
{
	char msg[1024], raw[1024];
	int e = err < 0 ? -err : err;

	if (prio == LOG_DEBUG && !verbose)
		return err ? -e : 0;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	/* per-VM messages carry names a VM's owner chose: one line, no terminal escapes */
	if (vm)
		sbco_escape_ctrl(raw, msg, sizeof(msg));
	else
		memcpy(msg, raw, sizeof(msg));
	if (e) {
		size_t n = strlen(msg);

		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(e));
	}
	if (journal)
		sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%i", prio, "SBCO_VM=%s", vm ? vm : "",
				"SBCO_UUID=%s", uuid ? uuid : "", "SBCO_VCPU=%i", vcpu,
				"SBCO_TID=%i", tid, "ERRNO=%i", e, NULL);
	else
		fprintf(stderr, "sbcod: %s\n", msg);
	return err ? -e : 0;
}

int log_full(int prio, int err, const char *vm, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = log_v(prio, err, vm, NULL, -1, -1, fmt, ap);
	va_end(ap);
	return r;
}

int log_vm(int prio, int err, const char *vm, const char *uuid, int vcpu, int tid, const char *fmt,
	   ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = log_v(prio, err, vm, uuid, vcpu, tid, fmt, ap);
	va_end(ap);
	return r;
}
