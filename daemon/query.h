/* SPDX-License-Identifier: MIT */
/*
 * The read-only control requests (query.c): each builds its JSON reply from the daemon's
 * last good cycle; req is the request object (optional "vm" / "cpu" filters).
 */
#ifndef SBCOD_QUERY_H
#define SBCOD_QUERY_H

#include <cjson/cJSON.h>

#include "sbcod.h"

cJSON *error_reply(const char *msg);
cJSON *query_status(struct daemon *d, const cJSON *req);
cJSON *query_vms(struct daemon *d, const cJSON *req);
cJSON *query_distance(struct daemon *d, const cJSON *req);
cJSON *query_runqueue(struct daemon *d, const cJSON *req);
cJSON *query_metrics(struct daemon *d, const cJSON *req);

#endif
