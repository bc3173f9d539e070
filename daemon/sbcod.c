/* SPDX-License-Identifier: MIT */
/*
 * sbcod: the sbco daemon. An sd-event loop around libsbco: a sampling timer reads the
 * scheduler dump and runs one policy cycle; libvirt events and process events refresh the
 * VM set; SIGTERM/SIGINT restore every change and exit 0; SIGHUP reloads the config (a bad
 * one is logged and the old one stays); sd_notify READY=1 after the first good cycle,
 * STATUS= each cycle, WATCHDOG=1 from the loop. Originals are kept in a state file so a
 * crashed run is undone at the next start.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sbcod.h"

#define DEFAULT_CONFIG "/etc/sbco/sbco.json"
#define DEFAULT_STATE  "/run/sbco/state.json"
#define DEFAULT_SOCKET "/run/sbco/sbcod.sock"

uint64_t daemon_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

void daemon_held(struct daemon *d, const char *what, uint64_t t0)
{
	uint64_t t = daemon_now_ns();

	if (t - t0 > d->cost.held_ns) {
		d->cost.held_ns = t - t0;
		d->cost.held_what = what;
	}
}

int daemon_refresh(struct daemon *d, bool restore_first)
{
	const struct sbco_vm_list *virt = d->lv && sbco_libvirt_connected(d->lv)
					      ? sbco_libvirt_vms(d->lv)
					      : (d->lv ? sbco_libvirt_vms(d->lv) : NULL);
	struct sbco_vm_list *all = NULL;
	struct sbco_vm_policy *pol;
	int r;

	r = sbco_vm_list_merge(virt, d->pw ? sbco_proc_watch_vms(d->pw) : NULL, &all);
	if (r < 0)
		return log_error_errno(r, "Failed to merge the VM lists");
	pol = calloc(all->nr + 1, sizeof(*pol));
	if (!pol) {
		sbco_vm_list_free(all);
		return -ENOMEM;
	}
	for (size_t i = 0; i < all->nr; i++) {
		sbco_config_policy(d->cfg, &all->vms[i], &pol[i]);
		for (size_t k = 0; k < d->nr_ovr; k++)
			if (!strcmp(d->ovr[k].vm, all->vms[i].name)) {
				pol[i].mode = d->ovr[k].mode;
				pol[i].source = SBCO_SOURCE_OVERRIDE;
			}
	}
	vmlog_changes(d, all, pol);
	if (restore_first)
		sbco_engine_restore(d->eng, NULL);
	r = sbco_engine_set_vms(d->eng, all, pol, d->topo);
	if (r < 0)
		log_error_errno(r, "Failed to apply the VM set");
	else
		log_debug("VM set: %zu VMs", all->nr);
	free(pol);
	sbco_vm_list_free(all);
	return r;
}

static int make_engine(struct daemon *d)
{
	struct sbco_engine *e;
	int r;

	r = sbco_engine_new(&sbco_host_ops_real, (void *)d->root, d->root, &d->pat,
			    &d->cfg->balance, &d->cfg->housekeeping, &e);
	if (r < 0)
		return r;
	sbco_engine_set_levers(e, d->cfg->levers, d->cfg->nr_levers);
	sbco_engine_set_stall(e, &d->cfg->stall, d->cfg->stall_respond);
	sbco_engine_set_observer(e, vmlog_event, d);
	if (d->lv)
		sbco_engine_set_pinner(e, sbco_libvirt_pin_vcpu, d->lv);
	r = sbco_engine_set_state_file(e, d->state_path);
	if (r < 0) {
		sbco_engine_free(e);
		return log_error_errno(r, "Failed to write the state file '%s'", d->state_path);
	}
	d->eng = e;
	return 0;
}

/* Refill d->pat from the config in force (in place: its address is held elsewhere). */
static int take_patterns(struct daemon *d)
{
	struct sbco_patterns n = {0};

	for (size_t i = 0; i < d->cfg->patterns.n; i++)
		if (sbco_patterns_add(&n, d->cfg->patterns.glob[i]) < 0) {
			sbco_patterns_clear(&n);
			return -ENOMEM;
		}
	sbco_patterns_clear(&d->pat);
	d->pat = n;
	return 0;
}

int daemon_reload(struct daemon *d, char *err, size_t err_len)
{
	struct sbco_config *c = NULL;
	char *errs = NULL;
	int r = sbco_config_load(d->config_path, &c, &errs);
	struct sbco_engine *old;

	d->reloads++;
	if (r < 0) {
		d->reload_errors++;
		log_warning("Invalid config, keeping the last good one:\n%s", errs ? errs : "");
		if (err)
			snprintf(err, err_len, "%s", errs ? errs : strerror(-r));
		free(errs);
		return -EINVAL;
	}
	/* patterns, levers and balance settings live in the engine: rebuild it, keeping
	 * what it learnt of stalls (which VMs are lifted, their back-off, the counts) */
	old = d->eng;
	sbco_engine_restore(old, NULL);
	d->eng = NULL;
	sbco_config_free(d->cfg);
	d->cfg = c;
	r = take_patterns(d);
	if (r < 0) {
		sbco_engine_free(old);
		return log_error_errno(r, "Failed to copy the vCPU patterns");
	}
	r = make_engine(d);
	if (r == 0)
		r = sbco_engine_take_stalls(d->eng, old);
	sbco_engine_free(old);
	if (r < 0)
		return r;
	log_info("Reloaded '%s': mode %s, interval %u ms", d->config_path, sbco_mode_name(c->mode),
		 c->interval_ms);
	return daemon_refresh(d, false);
}

static void notify_status(struct daemon *d)
{
	char sum[256];

	sbco_engine_summary(d->eng, sum, sizeof(sum));
	if (!d->ready) {
		sd_notifyf(false, "READY=1\nSTATUS=%s", sum);
		d->ready = true;
		log_info("Ready: %s", sum);
	} else {
		sd_notifyf(false, "STATUS=%s", sum);
	}
}

static int one_cycle(struct daemon *d)
{
	char *buf = NULL, err[256] = "";
	size_t len;
	int fd, r;

	uint64_t t0 = daemon_now_ns(), t1;
	const char *path = NULL;

	fd = sbco_dump_open_live(d->root, &path);
	if (path)
		d->dump_path = path;
	if (fd < 0) {
		snprintf(d->last_error, sizeof(d->last_error),
			 "no scheduler dump (%s): mount -t debugfs none /sys/kernel/debug",
			 strerror(-fd));
		return fd;
	}
	r = sbco_read_fd(fd, 256u << 20, &buf, &len);
	close(fd);
	if (r < 0)
		return r;
	t1 = daemon_now_ns();
	r = sbco_engine_cycle(d->eng, buf, len, t1, err, sizeof(err));
	free(buf);
	if (r >= 0) { /* what a cycle costs: reading the dump, then parsing and policy */
		struct cycle_cost *c = &d->cost;
		uint64_t t2 = daemon_now_ns();

		c->read_ns = t1 - t0;
		c->cycle_ns = t2 - t1;
		c->dump_bytes = len;
		c->max_ns = c->max_ns > t2 - t0 ? c->max_ns : t2 - t0;
		c->sum_ns += t2 - t0;
		c->n++;
	}
	if (r == -EBADMSG)
		snprintf(d->last_error, sizeof(d->last_error), "dump rejected: %s", err);
	return r;
}

/* The loop held for seconds (a starved daemon, a hung libvirtd, a slow disk under the state
 * journal): control requests and signals waited as long. due is when this tick should have
 * run, so a tick that starts late counts what held the loop before it (another handler, or
 * no CPU at all); t0, t_lv split the tick's own time. Counted; logged once a minute at most */
static void slow_tick(struct daemon *d, uint64_t due, uint64_t t0, uint64_t t_lv, int r)
{
	struct cycle_cost *c = &d->cost;
	uint64_t t = daemon_now_ns(), late = t0 > due ? t0 - due : 0, held = c->held_ns;
	const char *what = c->held_what ? c->held_what : "none";

	c->held_ns = 0;
	c->held_what = NULL;
	if (t - t0 + late < SLOW_TICK_NS)
		return;
	c->slow++;
	if (c->slow_warn_ns && t - c->slow_warn_ns < 60 * SLOW_TICK_NS)
		return;
	c->slow_warn_ns = t;
	log_warning("Slow cycle: the loop was held %.2f s: the tick ran %.2f s late (the longest "
		    "handler before it: %s, %.2f s) and took %.2f s (discovery %.2f s, dump read "
		    "%.2f s, policy %.2f s%s); control requests waited as long (%lu slow so far)",
		    (double)(t - t0 + late) / 1e9, (double)late / 1e9, what, (double)held / 1e9,
		    (double)(t - t0) / 1e9, (double)(t_lv - t0) / 1e9,
		    r >= 0 ? (double)c->read_ns / 1e9 : 0.0,
		    r >= 0 ? (double)c->cycle_ns / 1e9 : 0.0, r >= 0 ? "" : ", cycle failed",
		    (unsigned long)c->slow);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;
	uint64_t t0 = daemon_now_ns(), due = usec * 1000, t_lv;
	int r;

	r = sbco_topology_refresh(d->root, &d->topo);
	if (r > 0) {
		char on[256];

		sbco_cpuset_format(&d->topo->online, on, sizeof(on));
		log_info("CPU topology changed (online now %s): recomputing the stripes", on);
		daemon_refresh(d, false);
	} else if (r < 0 && !d->topo_warned) {
		log_warning_errno(r, "Cannot re-read the online CPUs, keeping the last topology");
	}
	d->topo_warned = r < 0;
	if (d->lv && sbco_libvirt_process(d->lv, daemon_now_ns()) > 0)
		daemon_refresh(d, false);
	if (d->pw && !sbco_proc_watch_has_events(d->pw) && sbco_proc_watch_process(d->pw) > 0)
		daemon_refresh(d, false);
	t_lv = daemon_now_ns();
	r = one_cycle(d);
	if (r < 0) {
		d->cycles_bad++;
		/* keep running on the last good state; say so once per streak */
		if (d->fail_streak++ == 0)
			log_warning("Cycle failed: %s, keeping the last good state",
				    d->last_error[0] ? d->last_error : strerror(-r));
		d->cycles_ok = 0;
	} else {
		d->cycles_ok++;
		if (d->fail_streak)
			log_info("Cycles work again after %lu failed",
				 (unsigned long)d->fail_streak);
		d->fail_streak = 0;
		notify_status(d);
		daemon_textfile(d, daemon_now_ns());
	}
	slow_tick(d, due, t0, t_lv, r);
	if (d->once && d->ready)
		return sd_event_exit(sd_event_source_get_event(s), 0);
	sd_event_now(sd_event_source_get_event(s), CLOCK_MONOTONIC, &usec);
	sd_event_source_set_time(s, usec + (uint64_t)d->cfg->interval_ms * 1000);
	return 0;
}

static int on_libvirt(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct daemon *d = userdata;

	(void)s;
	(void)fd;
	(void)revents;
	uint64_t t0 = daemon_now_ns();

	if (sbco_libvirt_process(d->lv, t0) > 0)
		daemon_refresh(d, false);
	daemon_held(d, "libvirt events", t0);
	return 0;
}

static int on_proc(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct daemon *d = userdata;

	const int32_t *pids;
	size_t n;
	int r;

	(void)s;
	(void)fd;
	(void)revents;
	uint64_t t0 = daemon_now_ns();

	r = sbco_proc_watch_process(d->pw);
	n = sbco_proc_watch_changed(d->pw, &pids);
	for (size_t i = 0; d->lv && i < n; i++) /* a libvirt domain's vCPU came or went */
		sbco_libvirt_mark_pid(d->lv, pids[i]);
	if (r > 0)
		daemon_refresh(d, false);
	daemon_held(d, "process events", t0);
	return 0;
}

static int on_term(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	(void)userdata;
	log_info("Signal %u: restoring and exiting", si->ssi_signo);
	sd_notify(false, "STOPPING=1");
	return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int on_hup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	uint64_t t0 = daemon_now_ns();

	(void)s;
	(void)si;
	sd_notify(false, "RELOADING=1");
	daemon_reload(userdata, NULL, 0);
	sd_notify(false, "READY=1");
	daemon_held(userdata, "reload (SIGHUP)", t0);
	return 0;
}

static int usage(FILE *f)
{
	fprintf(f, "Usage: sbcod [OPTIONS]\n\n"
		   "  -c, --config FILE        config (default " DEFAULT_CONFIG ")\n"
		   "      --check-config FILE  validate FILE, print its errors, exit\n"
		   "  -f, --foreground         log to stderr (default unless under systemd)\n"
		   "  -d, --debug              debug logging\n"
		   "      --state FILE         originals for crash restore (" DEFAULT_STATE ")\n"
		   "      --socket PATH        control socket (" DEFAULT_SOCKET ")\n"
		   "      --root DIR           host root for /proc and /sys (tests)\n"
		   "      --once               exit after the first good cycle (restoring)\n"
		   "      --restore-state      put back the originals a crashed run left in the\n"
		   "                           state file, then exit (sbcod must not be running)\n"
		   "  -h, --help\n"
		   "      --version\n");
	return f == stderr ? 2 : 0;
}

static int check_config(const char *path)
{
	struct sbco_config *c = NULL;
	char *errs = NULL;
	int r = sbco_config_load(path, &c, &errs);

	if (r < 0) {
		fputs(errs ? errs : "invalid config\n", stderr);
		free(errs);
		return 1;
	}
	printf("%s: ok (mode %s, interval %u ms, %zu VM rules)\n", path, sbco_mode_name(c->mode),
	       c->interval_ms, c->nr_rules);
	sbco_config_free(c);
	return 0;
}

static int load_first_config(struct daemon *d, bool explicit)
{
	char *errs = NULL;
	int r = sbco_config_load(d->config_path, &d->cfg, &errs);

	if (r == -ENOENT && !explicit) {
		log_warning("No config at '%s', using the defaults", d->config_path);
		r = sbco_config_default(&d->cfg);
	} else if (r < 0) {
		log_full(LOG_ERR, 0, NULL, "Invalid config:\n%s", errs ? errs : "");
	}
	free(errs);
	return r < 0 ? r : take_patterns(d);
}

static int setup(struct daemon *d)
{
	struct sbco_restore_stats rs;
	int r;

	/* RuntimeDirectory= under systemd; by hand otherwise, and only when it is used */
	if (!strncmp(d->state_path, "/run/sbco/", 10) ||
	    (d->socket_path && !strncmp(d->socket_path, "/run/sbco/", 10)))
		mkdir("/run/sbco", 0755);
	r = sbco_topology_read(d->root, &d->topo);
	if (r < 0)
		return log_error_errno(r, "Failed to read the CPU topology");
	if (d->cfg->libvirt_uri) {
		struct sbco_libvirt_opts o = {
		    .uri = d->cfg->libvirt_uri, .root = d->root, .pat = &d->pat};

		r = sbco_libvirt_new(&o, &d->lv);
		if (r < 0)
			log_warning_errno(r, "libvirt backend unavailable");
		else if (!sbco_libvirt_connected(d->lv))
			log_warning("libvirt: %s; will retry", sbco_libvirt_last_error(d->lv));
	}
	/* after libvirt is up: a crashed run's libvirt pins are undone through libvirt too,
	 * whose vCPU cpuset cgroups would refuse a wider mask set directly */
	r = sbco_state_restore(d->state_path, &sbco_host_ops_real, (void *)d->root,
			       d->lv ? sbco_libvirt_pin_vcpu : NULL, d->lv, &rs);
	if (r < 0)
		log_error_errno(r, "State file '%s' unreadable, left in place", d->state_path);
	else if (rs.restored + rs.vanished + rs.failed)
		log_info("Restored %u originals left by an earlier run (%u gone, %u failed)",
			 rs.restored, rs.vanished, rs.failed);
	r = sbco_proc_watch_new(d->root, &d->pat, &d->pw);
	if (r < 0)
		return log_error_errno(r, "Failed to scan /proc");
	if (!sbco_proc_watch_has_events(d->pw))
		log_warning("No process events (proc connector): rescanning /proc every cycle");
	r = make_engine(d);
	if (r < 0)
		return r;
	r = daemon_refresh(d, false);
	if (r < 0)
		return r;
	if ((r = sd_event_default(&d->ev)) < 0 ||
	    (r = sd_event_add_signal(d->ev, NULL, SIGTERM, on_term, d)) < 0 ||
	    (r = sd_event_add_signal(d->ev, NULL, SIGINT, on_term, d)) < 0 ||
	    (r = sd_event_add_signal(d->ev, NULL, SIGHUP, on_hup, d)) < 0 ||
	    (r = sd_event_add_time_relative(d->ev, &d->timer, CLOCK_MONOTONIC, 0, 1000, on_timer,
					    d)) < 0 ||
	    (r = sd_event_source_set_enabled(d->timer, SD_EVENT_ON)) < 0 ||
	    (r = sd_event_set_watchdog(d->ev, true)) < 0)
		return log_error_errno(r, "Failed to set up the event loop");
	if (d->socket_path && ctl_open(d, d->socket_path) < 0)
		log_warning("Control socket '%s' unavailable, ignoring", d->socket_path);
	if (d->lv &&
	    (r = sd_event_add_io(d->ev, NULL, sbco_libvirt_fd(d->lv), EPOLLIN, on_libvirt, d)) < 0)
		return log_error_errno(r, "Failed to watch libvirt");
	if (sbco_proc_watch_fd(d->pw) >= 0 &&
	    (r = sd_event_add_io(d->ev, NULL, sbco_proc_watch_fd(d->pw), EPOLLIN, on_proc, d)) < 0)
		return log_error_errno(r, "Failed to watch process events");
	return 0;
}

/* --restore-state: what setup() does first, alone (package removal, after a crash).
 * libvirt pins go back through libvirt when the config names a reachable URI. */
static int restore_state(struct daemon *d, bool explicit_config)
{
	struct sbco_restore_stats rs = {0};
	int r;

	if (load_first_config(d, explicit_config) == 0 && d->cfg->libvirt_uri) {
		struct sbco_libvirt_opts o = {
		    .uri = d->cfg->libvirt_uri, .root = d->root, .pat = &d->pat};

		if (sbco_libvirt_new(&o, &d->lv) < 0 || !sbco_libvirt_connected(d->lv))
			log_warning("libvirt unavailable: restoring affinities directly");
	}
	r = sbco_state_restore(d->state_path, &sbco_host_ops_real, (void *)d->root,
			       sbco_libvirt_connected(d->lv) ? sbco_libvirt_pin_vcpu : NULL, d->lv,
			       &rs);
	sbco_libvirt_free(d->lv);
	sbco_config_free(d->cfg);
	sbco_patterns_clear(&d->pat);
	if (r < 0) {
		log_error_errno(r, "State file '%s' unreadable, left in place", d->state_path);
		return 1;
	}
	log_info("Restored %u originals from '%s' (%u gone, %u failed)", rs.restored, d->state_path,
		 rs.vanished, rs.failed);
	return rs.failed ? 1 : 0;
}

static void teardown(struct daemon *d)
{
	struct sbco_restore_stats rs = {0};

	if (d->eng) {
		sbco_engine_restore(d->eng, &rs);
		log_info("Restored %u changes (%u threads gone, %u failed)", rs.restored,
			 rs.vanished, rs.failed);
	}
	ctl_close(d);
	free(d->pol_since);
	sbco_engine_free(d->eng);
	sbco_proc_watch_free(d->pw);
	sbco_libvirt_free(d->lv);
	sbco_topology_free(d->topo);
	sbco_config_free(d->cfg);
	sbco_patterns_clear(&d->pat);
	sd_event_source_unref(d->timer);
	sd_event_unref(d->ev);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check-config", required_argument, NULL, 'C'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"debug", no_argument, NULL, 'd'},
	    {"state", required_argument, NULL, 'S'},
	    {"socket", required_argument, NULL, 's'},
	    {"root", required_argument, NULL, 'r'},
	    {"once", no_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"restore-state", no_argument, NULL, 'R'},
	    {NULL, 0, NULL, 0},
	};
	struct daemon d = {.config_path = DEFAULT_CONFIG,
			   .state_path = DEFAULT_STATE,
			   .socket_path = DEFAULT_SOCKET,
			   .root = "/",
			   .ctl_fd = -1};
	bool explicit_config = false, debug = false, restore_only = false;
	sigset_t ss;
	int c, r;

	while ((c = getopt_long(argc, argv, "c:fdh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d.config_path = optarg;
			explicit_config = true;
			break;
		case 'C':
			return check_config(optarg);
		case 'f':
			break; /* stderr is the default outside systemd */
		case 'd':
			debug = true;
			break;
		case 'S':
			d.state_path = optarg;
			break;
		case 's':
			d.socket_path = *optarg ? optarg : NULL;
			break;
		case 'r':
			d.root = optarg;
			break;
		case 'o':
			d.once = true;
			break;
		case 'h':
			return usage(stdout);
		case 'V':
			puts("sbcod " SBCO_VERSION);
			return 0;
		case 'R':
			restore_only = true;
			break;
		default:
			return usage(stderr);
		}
	}
	if (optind != argc)
		return usage(stderr);
	log_setup(debug);
	/* Block the signals sd-event handles before any thread exists (libvirt's event loop
	 * thread inherits the mask): otherwise SIGTERM can land there and kill us unrestored. */
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	/* as systemd does for services (IgnoreSIGPIPE=yes): a peer that hangs up (control
	 * client, libvirt) is an error return, never the end of the daemon */
	signal(SIGPIPE, SIG_IGN);
	if (geteuid() != 0 && !strcmp(d.root, "/")) {
		log_error(
		    "sbcod must run as root: it reads the scheduler dump (debugfs, root only) "
		    "and changes other processes' CPU affinity and scheduling; started as uid "
		    "%u (as a service: systemctl start sbcod)",
		    (unsigned)geteuid());
		return 1;
	}
	if (restore_only)
		return restore_state(&d, explicit_config);
	if (load_first_config(&d, explicit_config) < 0)
		return 1;
	r = setup(&d);
	if (r == 0) {
		log_info("Started: config '%s', mode %s, interval %u ms", d.config_path,
			 sbco_mode_name(d.cfg->mode), d.cfg->interval_ms);
		r = sd_event_loop(d.ev);
		if (r < 0)
			log_error_errno(r, "Event loop failed");
	}
	teardown(&d);
	return r < 0 ? 1 : 0;
}
