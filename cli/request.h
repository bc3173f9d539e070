/* SPDX-License-Identifier: MIT */
/*
 * sbcoctl: talk to sbcod's control socket.
 */
#ifndef SBCOCTL_REQUEST_H
#define SBCOCTL_REQUEST_H

/* Send json (one request), read the whole reply into *ret_reply (caller frees).
 * Returns 0 or -errno (-ECONNREFUSED/-ENOENT when sbcod is not running). */
int request_send(const char *path, const char *json, char **ret_reply);

#endif
