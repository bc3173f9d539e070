/* SPDX-License-Identifier: MIT */
/*
 * sbcod's metrics: the engine's exposition plus the daemon's own numbers, answered on the
 * control socket (`sbcoctl metrics`) and written for node_exporter's textfile collector
 * (config "textfile_dir", every "textfile_interval_s").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sbcod.h"

int daemon_metrics_text(struct daemon *d, char **ret, size_t *ret_len)
{
	const struct sbco_vm_list *l = sbco_engine_vms(d->eng, NULL);
	struct sbco_libvirt_stats ls = {0};
	struct sbco_metrics_extra x = {
	    .version = SBCO_VERSION,
	    .cycle_ns = (int64_t)(d->cost.read_ns + d->cost.cycle_ns),
	    .cycle_max_ns = (int64_t)d->cost.max_ns,
	    .cycle_errors = d->cycles_bad,
	    .reloads = d->reloads,
	    .reload_errors = d->reload_errors,
	    .libvirt = d->lv ? sbco_libvirt_connected(d->lv) : -1,
	};
	FILE *f;
	int r;

	if (d->lv) {
		sbco_libvirt_get_stats(d->lv, &ls);
		x.libvirt_events = ls.events;
	}
	for (size_t i = 0; i < l->nr; i++)
		x.metadata_errors += l->vms[i].meta.present && !l->vms[i].meta.valid;
	*ret = NULL;
	*ret_len = 0;
	f = open_memstream(ret, ret_len);
	if (!f)
		return -ENOMEM;
	r = sbco_metrics_write(f, d->eng, d->root, &x);
	if (fclose(f) != 0 && r == 0)
		r = -ENOMEM;
	if (r < 0) {
		free(*ret);
		*ret = NULL;
	}
	return r;
}

void daemon_textfile(struct daemon *d, uint64_t now_ns)
{
	char *text;
	size_t len;
	int r;

	if (!d->cfg->textfile_dir ||
	    (d->textfile_ns &&
	     now_ns - d->textfile_ns < (uint64_t)d->cfg->textfile_interval_s * 1000000000ull))
		return;
	d->textfile_ns = now_ns;
	r = daemon_metrics_text(d, &text, &len);
	if (r == 0) {
		r = sbco_metrics_textfile(d->cfg->textfile_dir, text, len);
		free(text);
	}
	if (r < 0 && !d->textfile_failing) /* once per streak of failures */
		log_warning_errno(r, "Cannot write '%s/sbco.prom'", d->cfg->textfile_dir);
	else if (r == 0 && d->textfile_failing)
		log_info("Writing '%s/sbco.prom' again", d->cfg->textfile_dir);
	d->textfile_failing = r < 0;
}
