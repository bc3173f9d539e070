/* SPDX-License-Identifier: MIT */
/*
 * The read-only control requests (query.c): each builds its JSON reply from the daemon's
 * last good cycle; req is the validated request (optional "vm" / "cpu" filters).
 */
#ifndef SBCOD_QUERY_H
#define SBCOD_QUERY_H

#include <cjson/cJSON.h>

#include "sbcod.h"

cJSON *error_reply(const char *msg);
cJSON *query_status(struct daemon *d, const struct sbco_request *req);
cJSON *query_vms(struct daemon *d, const struct sbco_request *req);
cJSON *query_distance(struct daemon *d, const struct sbco_request *req);
cJSON *query_runqueue(struct daemon *d, const struct sbco_request *req);
cJSON *query_metrics(struct daemon *d, const struct sbco_request *req);

#endif
