/* SPDX-License-Identifier: MIT */
/*
 * sbcod logging: to the journal with structured fields when started by systemd
 * (JOURNAL_STREAM set), else to stderr; debug lines only with --debug.
 */
#ifndef SBCOD_LOG_H
#define SBCOD_LOG_H

#include <stdbool.h>
#include <syslog.h>

void log_setup(bool debug);
/* vm may be NULL; returns -abs(err) when err != 0, else 0, so callers can return it. */
int log_full(int prio, int err, const char *vm, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same with the journal fields SBCO_VM, SBCO_UUID, SBCO_VCPU and SBCO_TID (uuid may be
 * NULL or "", vcpu and tid -1 when not about one vCPU). */
int log_vm(int prio, int err, const char *vm, const char *uuid, int vcpu, int tid, const char *fmt,
	   ...) __attribute__((format(printf, 7, 8)));

#define log_info(...)		  log_full(LOG_INFO, 0, NULL, __VA_ARGS__)
#define log_warning(...)	  log_full(LOG_WARNING, 0, NULL, __VA_ARGS__)
#define log_error(...)		  log_full(LOG_ERR, 0, NULL, __VA_ARGS__)
#define log_debug(...)		  log_full(LOG_DEBUG, 0, NULL, __VA_ARGS__)
#define log_error_errno(r, ...)	  log_full(LOG_ERR, (r), NULL, __VA_ARGS__)
#define log_warning_errno(r, ...) log_full(LOG_WARNING, (r), NULL, __VA_ARGS__)

#endif
