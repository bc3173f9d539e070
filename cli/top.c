/* SPDX-License-Identifier: MIT */
/*
 * sbcoctl top: every refresh asks sbcod for its status and distances, keeps one minute of
 * each VM's cumulative counters and shows the VMs sorted by current distance, with their
 * stacking and threshold-exceed rates and nudges over the last minute. On a terminal it
 * clears the screen and quits on 'q' (the terminal mode is restored on exit, SIGINT and
 * SIGTERM); otherwise it prints one frame per refresh.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "request.h"
#include "top.h"
#include "view.h"

#define HISTORY	  128 /* points kept per VM (one per refresh), trimmed to WINDOW_S */
#define WINDOW_S  60.0
#define MAX_SHOWN 512

struct point {
	double t, samples, stacked, exceeded, nudges;
};

struct hist {
	char name[64];
	struct point p[HISTORY];
	unsigned n; /* points, oldest first */
	bool seen;  /* in the last reply */
};

struct row {
	const cJSON *vm;
	double stack_pct, exceed_pct, nudges;
	bool have_rate;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static struct hist *hist_of(struct hist **h, size_t *n, const char *name)
{
	struct hist *nh;

	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*h)[i].name, name))
			return &(*h)[i];
	nh = realloc(*h, (*n + 1) * sizeof(**h));
	if (!nh)
		return NULL;
	*h = nh;
	memset(&nh[*n], 0, sizeof(nh[*n]));
	snprintf(nh[*n].name, sizeof(nh[*n].name), "%s", name);
	return &nh[(*n)++];
}

/* Add a point and return the rates over the window (first point to the new one). */
static void hist_add(struct hist *h, const struct point *p, struct row *row)
{
	const struct point *o;
	double ds;

	while (h->n > 0 && (h->n == HISTORY || p->t - h->p[0].t > WINDOW_S)) {
		memmove(&h->p[0], &h->p[1], (h->n - 1) * sizeof(h->p[0]));
		h->n--;
	}
	if (h->n > 0 && p->samples < h->p[h->n - 1].samples)
		h->n = 0; /* counters went back: the VM was restarted */
	h->p[h->n++] = *p;
	h->seen = true;
	o = &h->p[0];
	ds = p->samples - o->samples;
	row->have_rate = h->n > 1;
	row->stack_pct = ds > 0 ? 100.0 * (p->stacked - o->stacked) / ds : 0;
	row->exceed_pct = ds > 0 ? 100.0 * (p->exceeded - o->exceeded) / ds : 0;
	row->nudges = p->nudges - o->nudges;
}

static int by_distance(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	double dx = view_num(x->vm, "distance"), dy = view_num(y->vm, "distance");

	if (dx != dy)
		return dx < dy ? 1 : -1;
	return strcmp(view_str(x->vm, "name"), view_str(y->vm, "name"));
}

static cJSON *ask(const char *sock, const char *json, char *err, size_t len)
{
	char *out = NULL;
	cJSON *r;
	int e = request_send(sock, json, &out);

	if (e < 0) {
		snprintf(err, len, "cannot reach sbcod at '%s': %s%s", sock, strerror(-e),
			 e == -ENOENT || e == -ECONNREFUSED
			     ? " (sbcod is not running: start it with systemctl start sbcod)"
			     : "");
		return NULL;
	}
	r = cJSON_Parse(out);
	free(out);
	if (!r || !view_yes(r, "ok")) {
		snprintf(err, len, "sbcod: %s", r ? view_str(r, "error") : "unreadable reply");
		cJSON_Delete(r);
		return NULL;
	}
	return r;
}

static void frame(FILE *f, const cJSON *st, const cJSON *dist, struct hist **h, size_t *nh,
		  unsigned delay_ms, bool tty)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(st, "cycle"), *vm;
	struct row rows[MAX_SHOWN];
	size_t n = 0;
	double t = now_s();

	for (size_t i = 0; i < *nh; i++)
		(*h)[i].seen = false;
	cJSON_ArrayForEach(vm, cJSON_GetObjectItemCaseSensitive(dist, "vms"))
	{
		const cJSON *cnt = cJSON_GetObjectItemCaseSensitive(vm, "counts");
		struct point p = {t, view_num(cnt, "samples"), view_num(cnt, "stacked"),
				  view_num(cnt, "exceeded"), view_num(cnt, "nudges")};
		struct hist *hv = hist_of(h, nh, view_str(vm, "name"));

		if (n == MAX_SHOWN)
			break;
		rows[n] = (struct row){.vm = vm};
		if (hv)
			hist_add(hv, &p, &rows[n]);
		n++;
	}
	for (size_t i = 0; i < *nh;) /* forget VMs that are gone */
		if (!(*h)[i].seen)
			(*h)[i] = (*h)[--(*nh)];
		else
			i++;
	qsort(rows, n, sizeof(rows[0]), by_distance);
	if (tty)
		fputs("\033[H\033[2J", f);
	fprintf(f, "%ssbcoctl top%s  every %.1f s%s  %s\n", view_bold(), view_reset(),
		delay_ms / 1000.0, tty ? " (q quits)" : "", view_str(st, "summary"));
	fprintf(
	    f,
	    "cycle every %.0f ms, last %.2f ms (avg %.2f, max %.2f); %.0f cycles, %.0f nudges\n\n",
	    view_num(c, "interval_ms"), view_num(c, "last_read_ms") + view_num(c, "last_policy_ms"),
	    view_num(c, "avg_ms"), view_num(c, "max_ms"), view_num(st, "cycles"),
	    view_num(st, "actions"));
	fprintf(f, "%-24s %-5s %5s %4s %4s %8s %3s %5s %8s %9s %8s\n", "VM", "MODE", "vCPUs", "RUN",
		"DIST", "dist(ms)", "Q", "THR", "stack%/m", "exceed%/m", "nudges/m");
	for (size_t i = 0; i < n; i++) {
		const cJSON *v = rows[i].vm;
		const char *name = view_str(v, "name");
		bool over = view_yes(v, "exceeds");
		char s1[16] = "-", s2[16] = "-", s3[16] = "-";

		if (rows[i].have_rate) {
			snprintf(s1, sizeof(s1), "%.1f", rows[i].stack_pct);
			snprintf(s2, sizeof(s2), "%.1f", rows[i].exceed_pct);
			snprintf(s3, sizeof(s3), "%.0f", rows[i].nudges);
		}
		fprintf(f, "%s%-24.24s%s %-5s %5d %4.0f %s%4.0f%s %8.3f %3.0f %5.2f %8s %9s %8s\n",
			view_vm_colour(name), name, view_reset(), view_str(v, "mode"),
			cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(v, "vcpus")),
			view_num(v, "nr_runnable"), over ? view_red() : "", view_num(v, "distance"),
			over ? view_reset() : "", view_num(v, "distance_ns") / 1e6,
			view_num(v, "q_size"), view_num(v, "threshold"), s1, s2, s3);
	}
	if (n == 0)
		fprintf(f, "(no VMs in the last sample)\n");
	fflush(f);
}

int top_run(const char *sock, unsigned delay_ms, unsigned iterations)
{
	struct sigaction sa = {.sa_handler = on_signal};
	struct termios old, raw;
	bool tty = isatty(STDOUT_FILENO), keys = isatty(STDIN_FILENO), answered = false;
	struct hist *h = NULL;
	size_t nh = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (keys && tcgetattr(STDIN_FILENO, &old) == 0) {
		raw = old;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	} else {
		keys = false;
	}
	for (unsigned it = 0; !stop && (iterations == 0 || it < iterations); it++) {
		char err[512] = "";
		cJSON *st = ask(sock, "{\"cmd\":\"status\"}", err, sizeof(err));
		cJSON *dist = st ? ask(sock, "{\"cmd\":\"distance\"}", err, sizeof(err)) : NULL;
		struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
		double until;

		if (st && dist) {
			answered = true;
			frame(stdout, st, dist, &h, &nh, delay_ms, tty);
		} else {
			if (tty)
				fputs("\033[H\033[2J", stdout);
			printf("sbcoctl top: %s; retrying every %.1f s\n", err, delay_ms / 1000.0);
			fflush(stdout);
		}
		cJSON_Delete(st);
		cJSON_Delete(dist);
		if (iterations && it + 1 == iterations)
			break;
		/* wait for the next refresh, or a key */
		until = now_s() + delay_ms / 1000.0;
		while (!stop && now_s() < until) {
			int ms = (int)((until - now_s()) * 1000) + 1;

			if (!keys) {
				poll(NULL, 0, ms);
				continue;
			}
			if (poll(&p, 1, ms) > 0) {
				char k = 0;

				if (read(STDIN_FILENO, &k, 1) == 1 && (k == 'q' || k == 'Q'))
					stop = 1;
				else if (k == ' ')
					break; /* refresh now */
			}
		}
	}
	if (keys)
		tcsetattr(STDIN_FILENO, TCSANOW, &old);
	free(h);
	return answered ? 0 : -EIO;
}
