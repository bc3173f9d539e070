/* SPDX-License-Identifier: MIT */
/*
 * sbcoctl: talk to sbcod's control socket.
 */
#ifndef SBCOCTL_REQUEST_H
#define SBCOCTL_REQUEST_H

/* Send json (one request), read the whole reply into *ret_reply (caller frees).
 * Returns 0 or -errno (-ECONNREFUSED/-ENOENT when sbcod is not running). */
/* how long to wait for each part of sbcod's answer (--timeout; default 5000) */
extern int request_timeout_ms;

int request_send(const char *path, const char *json, char **ret_reply);

#include <stdbool.h>

/* A daemon verb (status, distance [VM], runqueue [CPU], daemon-vms, metrics, reload,
 * set-mode VM MODE):
 * send it, print the reply as a table (or raw JSON). Returns 0, -EINVAL (usage), -EIO
 * (unreachable, or an error reply, reported on stderr), -ENOMEM. */
int request_verb(const char *sock, const char *verb, int argc, char **argv, bool json);

#endif
