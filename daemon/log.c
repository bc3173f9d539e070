/* SPDX-License-Identifier: MIT */
/*
 * Logging for sbcod (see log.h). Under systemd, sd_journal_send with MESSAGE, PRIORITY,
 * SBCO_VM and ERRNO fields; otherwise one line per event on stderr.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "log.h"

static bool journal, verbose;

void log_setup(bool debug)
{
	journal = getenv("JOURNAL_STREAM") != NULL;
	verbose = debug;
}

int log_full(int prio, int err, const char *vm, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int e = err < 0 ? -err : err;

	if (prio == LOG_DEBUG && !verbose)
		return err ? -e : 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (e) {
		size_t n = strlen(msg);

		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(e));
	}
	if (journal)
		sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%i", prio, "SBCO_VM=%s", vm ? vm : "",
				"ERRNO=%i", e, NULL);
	else
		fprintf(stderr, "sbcod: %s\n", msg);
	return err ? -e : 0;
}
