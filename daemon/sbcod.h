/* SPDX-License-Identifier: MIT */
/*
 * sbcod's state shared by the loop (sbcod.c) and the control socket (ctl.c).
 */
#ifndef SBCOD_H
#define SBCOD_H

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "sbco.h"

#define MAX_OVERRIDES 64

struct override {
	char vm[64];
	enum sbco_mode mode;
};

struct cycle_cost {
	uint64_t read_ns, cycle_ns; /* the last good cycle: reading the dump, the rest */
	uint64_t max_ns, sum_ns, n; /* whole cycles since start */
	size_t dump_bytes;
	uint64_t slow;	       /* ticks that held the loop over SLOW_TICK_NS */
	uint64_t slow_warn_ns; /* when the last slow-tick warning was logged */
	uint64_t held_ns;      /* the longest other handler since the last tick, */
	const char *held_what; /* and what it was (static string) */
};

/* a timer tick that holds the loop this long delays control requests and signals: say so */
#define SLOW_TICK_NS (1000ull * 1000 * 1000)

struct daemon {
	sd_event *ev;
	sd_event_source *timer;
	const char *config_path, *state_path, *socket_path, *root;
	struct sbco_config *cfg;
	/* the vCPU thread patterns the libvirt backend and the process watcher hold a pointer
	 * to: the daemon's own copy, refilled in place on reload (the config's is freed) */
	struct sbco_patterns pat;
	struct sbco_libvirt *lv;
	struct sbco_proc_watch *pw;
	struct sbco_topology *topo;
	struct sbco_engine *eng;
	struct override ovr[MAX_OVERRIDES];
	size_t nr_ovr;
	bool ready, once, topo_warned;
	uint64_t cycles_ok, cycles_bad, reloads, reload_errors;
	uint64_t fail_streak; /* failed cycles since the last good one */
	char last_error[512];
	int ctl_fd;
	unsigned nr_conns;	 /* control connections being served */
	uint64_t warn_window_ns; /* rate limit of refused-change warnings (vmlog.c) */
	unsigned warns;
	struct cycle_cost cost;
	const char *dump_path; /* where the last dump came from (static string) */
	uint64_t textfile_ns;  /* when the metrics textfile was last written */
	/* per VM of the engine's list (parallel): the cycle count when its policy last
	 * changed (query_vms reports it: a mode change is in force from that cycle on) */
	uint64_t *pol_since;
	size_t nr_pol_since;
	bool textfile_failing;
};

/* CLOCK_MONOTONIC in ns */
uint64_t daemon_now_ns(void);
/* A handler other than the timer tick ran since t0 (what: a static string): the longest
 * one since the last tick is named by a "Slow cycle" warning */
void daemon_held(struct daemon *d, const char *what, uint64_t t0);

/* Re-read the config; on errors log them and keep the running one. Returns 0 or -EINVAL,
 * with the error text in err (may be NULL). */
int daemon_reload(struct daemon *d, char *err, size_t err_len);
/* Recompute the VM set and policies and apply them (after discovery, reload, set-mode). */
int daemon_refresh(struct daemon *d, bool restore_first);

/* Per-VM log (vmlog.c): VMs that appear or go, and the engine's placements and nudges. */
void vmlog_changes(struct daemon *d, const struct sbco_vm_list *now,
		   const struct sbco_vm_policy *pol);
void vmlog_event(void *userdata, const struct sbco_event *ev);

/* Metrics (metrics.c): the Prometheus text (malloc'ed), and the textfile when due. */
int daemon_metrics_text(struct daemon *d, char **ret, size_t *ret_len);
void daemon_textfile(struct daemon *d, uint64_t now_ns);

/* Control socket: listen on path (mode 0660, group "sbco" when it exists). */
int ctl_open(struct daemon *d, const char *path);
void ctl_close(struct daemon *d);

#endif
