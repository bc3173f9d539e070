/* SPDX-License-Identifier: MIT */
/*
 * sbcoctl: the operator's view of VM scheduling distance. Offline it reads scheduler dumps
 * ("analyze" a saved file or stdin, "snapshot" the live host's), lists VMs ("vms") and
 * checks configs; online it asks the running sbcod (status, distance, runqueue, top,
 * daemon-vms, set-mode, reload, metrics). Tables, or JSON with --json.
 * Exit status: 0 success, 1 failure, 2 usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"
#include "request.h"
#include "sbco.h"
#include "top.h"
#include "view.h"
#include "vms.h"

#define MAX_DUMP (256u << 20)

static int usage(FILE *f)
{
	fprintf(f, "Usage: sbcoctl [OPTIONS] VERB [ARGS]\n\n"
		   "Verbs (offline, no daemon needed):\n"
		   "  analyze [FILE|-]    analyze a saved scheduler dump (default: stdin)\n"
		   "  snapshot            analyze the live host's dump (root, debugfs mounted)\n"
		   "  vms                 list VMs and vCPUs (libvirt and /proc) with the policy\n"
		   "                      the config and domain metadata give each\n"
		   "  config check FILE   validate a config file as sbcod would\n"
		   "Verbs (ask the running sbcod):\n"
		   "  status              daemon, kernel capabilities, levers, cycle cost\n"
		   "  distance [VM]       per VM and vCPU: CPU, ordinate, distance, nudges, debt\n"
		   "  runqueue [CPU]      run queues in pick order (Fig. 3a), vCPUs by VM\n"
		   "  top                 live view of VMs by distance (q quits)\n"
		   "  daemon-vms          the VMs sbcod manages and their modes\n"
		   "  set-mode VM MODE    runtime mode override: off, bal or sbco\n"
		   "  reload              re-read the config\n"
		   "  metrics             Prometheus text\n"
		   "  request JSON        send one raw request\n\n"
		   "Options:\n"
		   "  -j, --json          JSON output\n"
		   "  -a, --all           list every task, not only runnable fair tasks\n"
		   "  -A, --alpha A       distance threshold factor, 0 < A <= 1 (default 0.667)\n"
		   "  -p, --pattern GLOB  vCPU thread-name glob (repeatable; replaces defaults)\n"
		   "  -r, --root DIR      host root for snapshot and vms (default /)\n"
		   "  -u, --uri URI       libvirt URI for vms (default qemu:///system)\n"
		   "      --no-libvirt    vms: /proc scan only\n"
		   "      --qmp           vms: vCPU thread ids from QMP (taints the domain)\n"
		   "  -c, --config FILE   vms: the config (default /etc/sbco/sbco.json)\n"
		   "  -S, --socket PATH   sbcod's socket (default /run/sbco/sbcod.sock)\n"
		   "  -t, --timeout SECS  wait this long for sbcod's answer (default 5)\n"
		   "  -d, --delay SECS    top: refresh interval (default 1)\n"
		   "  -n, --iterations N  top: stop after N refreshes\n"
		   "      --color WHEN    auto (default), always or never; NO_COLOR is honoured\n"
		   "  -h, --help          this help\n");
	return f == stderr ? 2 : 0;
}

static int read_input(const char *file, char **buf, size_t *len, const char **what)
{
	int fd, r;

	if (!file || !strcmp(file, "-")) {
		*what = "stdin";
		return sbco_read_fd(STDIN_FILENO, MAX_DUMP, buf, len);
	}
	*what = file;
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = sbco_read_fd(fd, MAX_DUMP, buf, len);
	close(fd);
	return r;
}

static int open_live(const char *root, char **buf, size_t *len, const char **what)
{
	int fd = sbco_dump_open_live(root, what), r;

	if (fd == -ENODEV) {
		fprintf(stderr, "sbcoctl: no scheduler dump: debugfs is not mounted at "
				"/sys/kernel/debug and there is no /proc/sched_debug "
				"(mount -t debugfs none /sys/kernel/debug)\n");
		return -1;
	}
	if (fd == -EACCES || fd == -EPERM) {
		fprintf(stderr,
			"sbcoctl: reading the scheduler dump is not permitted: %s "
			"(run as root)\n",
			strerror(-fd));
		return -1;
	}
	if (fd < 0) {
		fprintf(stderr, "sbcoctl: cannot open the scheduler dump: %s\n", strerror(-fd));
		return -1;
	}
	r = sbco_read_fd(fd, MAX_DUMP, buf, len);
	close(fd);
	if (r < 0) {
		fprintf(stderr, "sbcoctl: reading %s failed: %s\n", *what, strerror(-r));
		return -1;
	}
	return 0;
}

/* SECS (0.1 to 3600) of an option into *ms; -1 with the reason on stderr */
static int parse_secs(const char *arg, const char *opt, unsigned *ms)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(arg, &end);
	if (errno || end == arg || *end || !(d >= 0.1 && d <= 3600)) {
		fprintf(stderr, "sbcoctl: %s: seconds in [0.1, 3600], got '%s'\n", opt, arg);
		return -1;
	}
	*ms = (unsigned)(d * 1000);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"all", no_argument, NULL, 'a'},
	    {"alpha", required_argument, NULL, 'A'},
	    {"pattern", required_argument, NULL, 'p'},
	    {"root", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"uri", required_argument, NULL, 'u'},
	    {"no-libvirt", no_argument, NULL, 'L'},
	    {"qmp", no_argument, NULL, 'Q'},
	    {"config", required_argument, NULL, 'c'},
	    {"socket", required_argument, NULL, 'S'},
	    {"timeout", required_argument, NULL, 't'},
	    {"delay", required_argument, NULL, 'd'},
	    {"iterations", required_argument, NULL, 'n'},
	    {"color", required_argument, NULL, 'C'},
	    {"colour", required_argument, NULL, 'C'},
	    {NULL, 0, NULL, 0},
	};
	struct out_opts oo = {.alpha = 2.0 / 3.0};
	struct vms_opts vo = {0};
	struct sbco_patterns pat = {0};
	const char *root = "/", *what = NULL, *verb, *sock = "/run/sbco/sbcod.sock";
	char *buf = NULL, *end, err[256];
	size_t len = 0;
	bool live;
	int c, r, ret = 1;
	unsigned delay_ms = 1000, iterations = 0, timeout_ms;

	while ((c = getopt_long(argc, argv, "jaA:p:r:u:S:t:d:n:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			oo.json = true;
			break;
		case 'a':
			oo.all = true;
			break;
		case 'A':
			errno = 0;
			oo.alpha = strtod(optarg, &end);
			if (errno || *end || !(oo.alpha > 0 && oo.alpha <= 1)) {
				fprintf(stderr, "sbcoctl: --alpha: must be in (0, 1], got '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'p':
			if (sbco_patterns_add(&pat, optarg) < 0) {
				fprintf(stderr, "sbcoctl: --pattern '%s': empty or too many\n",
					optarg);
				return 2;
			}
			break;
		case 'r':
			root = optarg;
			break;
		case 'u':
			vo.uri = optarg;
			break;
		case 'L':
			vo.no_libvirt = true;
			break;
		case 'Q':
			vo.qmp = true;
			break;
		case 'S':
			sock = optarg;
			break;
		case 't':
			if (parse_secs(optarg, "--timeout", &timeout_ms) < 0)
				return 2;
			request_timeout_ms = (int)timeout_ms;
			break;
		case 'd':
			if (parse_secs(optarg, "--delay", &delay_ms) < 0)
				return 2;
			break;
		case 'n': {
			unsigned long n;

			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno || *end || n == 0 || n > 1000000) {
				fprintf(stderr, "sbcoctl: --iterations: a count >= 1, got '%s'\n",
					optarg);
				return 2;
			}
			iterations = (unsigned)n;
			break;
		}
		case 'C':
			if (view_set_colour(optarg) < 0) {
				fprintf(stderr,
					"sbcoctl: --color: auto, always or never, got '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'c':
			vo.config = optarg;
			break;
		case 'h':
			return usage(stdout);
		case 'V':
			puts("sbcoctl " SBCO_VERSION);
			return 0;
		default:
			return usage(stderr);
		}
	}
	if (optind >= argc)
		return usage(stderr);
	verb = argv[optind++];
	if (!strcmp(verb, "analyze")) {
		if (argc - optind > 1)
			return usage(stderr);
		live = false;
		r = read_input(optind < argc ? argv[optind] : NULL, &buf, &len, &what);
		if (r < 0) {
			fprintf(stderr, "sbcoctl: cannot read '%s': %s\n", what, strerror(-r));
			goto out;
		}
	} else if (!strcmp(verb, "snapshot")) {
		if (optind != argc)
			return usage(stderr);
		live = true;
		if (open_live(root, &buf, &len, &what) < 0)
			goto out;
	} else if (!strcmp(verb, "request")) {
		char *reply = NULL;

		if (argc - optind != 1)
			return usage(stderr);
		r = request_send(sock, argv[optind], &reply);
		if (r < 0) {
			fprintf(stderr, "sbcoctl: cannot reach sbcod at '%s': %s\n", sock,
				strerror(-r));
			goto out;
		}
		fputs(reply, stdout);
		ret = strstr(reply, "\"ok\":true") ? 0 : 1;
		free(reply);
		goto out;
	} else if (!strcmp(verb, "status") || !strcmp(verb, "distance") ||
		   !strcmp(verb, "runqueue") || !strcmp(verb, "metrics") ||
		   !strcmp(verb, "reload") || !strcmp(verb, "daemon-vms") ||
		   !strcmp(verb, "set-mode")) {
		r = request_verb(sock, verb, argc - optind, argv + optind, oo.json);
		if (r == -EINVAL)
			return usage(stderr);
		ret = r < 0 ? 1 : 0;
		goto out;
	} else if (!strcmp(verb, "top")) {
		if (optind != argc)
			return usage(stderr);
		ret = top_run(sock, delay_ms, iterations) < 0 ? 1 : 0;
		goto out;
	} else if (!strcmp(verb, "config")) {
		struct sbco_config *cfg = NULL;
		char *errs = NULL;

		if (argc - optind != 2 || strcmp(argv[optind], "check"))
			return usage(stderr);
		r = sbco_config_load(argv[optind + 1], &cfg, &errs);
		if (r < 0) {
			fputs(errs ? errs : "invalid config\n", stderr);
			free(errs);
			goto out;
		}
		printf("%s: ok (mode %s, interval %u ms, %zu VM rules)\n", argv[optind + 1],
		       sbco_mode_name(cfg->mode), cfg->interval_ms, cfg->nr_rules);
		sbco_config_free(cfg);
		ret = 0;
		goto out;
	} else if (!strcmp(verb, "vms")) {
		if (optind != argc)
			return usage(stderr);
		if (pat.n == 0 && sbco_patterns_default(&pat) < 0)
			goto out;
		vo.json = oo.json;
		vo.root = root;
		ret = vms_list(&pat, &vo) < 0 ? 1 : 0;
		goto out;
	} else {
		fprintf(stderr, "sbcoctl: unknown verb '%s' (see sbcoctl --help)\n", verb);
		return 2;
	}
	if (pat.n == 0 && sbco_patterns_default(&pat) < 0)
		goto out;
	oo.source = what;
	oo.live = live;
	oo.root = root;
	r = out_analyze(buf, len, &pat, &oo, err, sizeof(err));
	if (r == -EBADMSG)
		fprintf(stderr, "sbcoctl: %s: %s\n", what, err);
	else if (r < 0)
		fprintf(stderr, "sbcoctl: %s: %s\n", what, strerror(-r));
	else
		ret = 0;
out:
	free(buf);
	sbco_patterns_clear(&pat);
	return ret;
}
