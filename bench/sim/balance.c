/* SPDX-License-Identifier: MIT */
/*
 * Where tasks run: the kernel's wakeup placement and load balancing, reduced to two
 * domains, the last-level cache (llc_size CPUs) and the whole host, and always within each
 * task's allowed CPUs.
 *   wakeup   the previous CPU when idle, else an idle allowed CPU of its LLC, else the
 *            previous CPU (select_idle_sibling without wake_affine);
 *   periodic every sd_weight ms (x busy_factor when busy): the busiest CPU of the LLC (by
 *            queue weight) gives this CPU up to half the difference when it exceeds
 *            imbalance_pct (117 %); a task is skipped when not allowed here, cache-hot
 *            (ran < 0.5 ms ago) or heavier than the imbalance, each of which relaxes with
 *            the count of failed attempts (nr_balance_failed, as detach_tasks); after 3
 *            failures the running task is pushed (active balance). The top level does
 *            the same between LLCs by average load (imbalance_pct 125 %), from each
 *            LLC's first CPU;
 *   newidle  a CPU going idle pulls one queued task from the busiest CPU of its LLC, else
 *            of the host.
 */
#include <stdlib.h>

#include "sim.h"

static bool allowed(const struct sim *s, int ti, int cpu)
{
	return sbco_cpuset_has(&s->t[ti].aff, (unsigned)cpu);
}

int lb_fallback_cpu(struct sim *s, int ti)
{
	int best = -1;

	for (int c = 0; c < (int)s->p.nr_cpus; c++)
		if (allowed(s, ti, c) && (best < 0 || s->c[c].load < s->c[best].load))
			best = c;
	return best < 0 ? 0 : best;
}

int lb_select_cpu(struct sim *s, int ti)
{
	int prev = s->t[ti].cpu, l0 = s->c[prev].llc, n = (int)s->p.llc_size;

	if (allowed(s, ti, prev) && rq_nr(s, prev) == 0)
		return prev;
	for (int k = 1; k < n; k++) {
		int c = l0 + (prev - l0 + k) % n;

		if (c < (int)s->p.nr_cpus && allowed(s, ti, c) && rq_nr(s, c) == 0)
			return c;
	}
	return allowed(s, ti, prev) ? prev : lb_fallback_cpu(s, ti);
}

/* Can task ti move from its queue to dst in this attempt? */
static bool can_move(const struct sim *s, int ti, int dst, uint32_t failed, int64_t imbalance)
{
	const struct task *t = &s->t[ti];

	if (!allowed(s, ti, dst))
		return false;
	if (failed <= 1 && s->now - t->last_ran < s->migration_cost_ns)
		return false; /* cache hot (cache_nice_tries = 1) */
	return imbalance < 0 || (t->weight >> (failed < 8 ? failed : 8)) <= imbalance;
}

/* Pull up to imbalance of queue weight from src to dst (imbalance < 0: one task), least
 * recently run first. Returns the number of tasks moved. */
static int pull(struct sim *s, int src, int dst, int64_t imbalance, uint32_t failed)
{
	int moved = 0;

	for (int guard = 0; guard < 32; guard++) {
		const struct cpu *c = &s->c[src];
		int pick = -1;

		for (int i = 0; i < c->nq; i++) {
			int ti = c->q[i];

			if (can_move(s, ti, dst, failed, imbalance) &&
			    (pick < 0 || s->t[ti].last_ran < s->t[pick].last_ran))
				pick = ti;
		}
		if (pick < 0)
			break;
		lb_migrate(s, pick, dst);
		s->st.lb_moves++;
		moved++;
		if (imbalance < 0)
			break;
		imbalance -= s->t[pick].weight;
		if (imbalance <= 0)
			break;
	}
	return moved;
}

/* The running task of src goes to dst, when it may (active balance). */
static bool push_running(struct sim *s, int src, int dst)
{
	int ti = s->c[src].curr;

	if (ti < 0 || s->c[src].nq == 0 || !allowed(s, ti, dst))
		return false;
	lb_migrate(s, ti, dst);
	s->st.lb_moves++;
	return true;
}

/* Balance src -> dst when the loads compared (busy against here) exceed pct. */
static void balance_pair(struct sim *s, int src, int dst, int64_t busy, int64_t here, int pct,
			 uint32_t *failed)
{
	int64_t imbalance = (s->c[src].load - s->c[dst].load) / 2;

	if (rq_nr(s, src) < 2 || busy * 100 <= here * pct || imbalance <= 0) {
		*failed = 0;
		return;
	}
	if (pull(s, src, dst, imbalance, *failed) > 0) {
		*failed = 0;
		return;
	}
	if (++*failed > 3 && push_running(s, src, dst))
		*failed = 0;
}

void lb_periodic(struct sim *s, int cpu, bool top)
{
	int n = (int)s->p.llc_size, l0 = s->c[cpu].llc, nc = (int)s->p.nr_cpus;

	if (!top) {
		int busiest = -1;

		for (int c = l0; c < l0 + n && c < nc; c++)
			if (c != cpu && rq_nr(s, c) >= 2 &&
			    (busiest < 0 || s->c[c].load > s->c[busiest].load))
				busiest = c;
		if (busiest >= 0)
			balance_pair(s, busiest, cpu, s->c[busiest].load, s->c[cpu].load, 117,
				     &s->c[cpu].nr_failed);
		return;
	}
	{
		/* between LLCs, by their summed load: the least loaded CPU here pulls from
		 * the busiest CPU of the busiest LLC (groups of equal size) */
		int64_t here = 0, best = -1;
		int bl = -1, dst = l0, src = -1;

		for (int c = l0; c < l0 + n && c < nc; c++) {
			here += s->c[c].load;
			if (s->c[c].load < s->c[dst].load)
				dst = c;
		}
		for (int g = 0; g < nc; g += n) {
			int64_t sum = 0;

			if (g == l0)
				continue;
			for (int c = g; c < g + n && c < nc; c++)
				sum += s->c[c].load;
			if (sum > best) {
				best = sum;
				bl = g;
			}
		}
		for (int c = bl; bl >= 0 && c < bl + n && c < nc; c++)
			if (rq_nr(s, c) >= 2 && (src < 0 || s->c[c].load > s->c[src].load))
				src = c;
		if (src >= 0)
			balance_pair(s, src, dst, best, here, 125, &s->c[l0].nr_failed_top);
	}
}

bool lb_newidle(struct sim *s, int cpu)
{
	int n = (int)s->p.llc_size, l0 = s->c[cpu].llc;

	for (int pass = 0; pass < 2; pass++) {
		int lo = pass ? 0 : l0, hi = pass ? (int)s->p.nr_cpus : l0 + n, busiest = -1;

		for (int c = lo; c < hi && c < (int)s->p.nr_cpus; c++)
			if (c != cpu && s->c[c].nq > 0 &&
			    (busiest < 0 || s->c[c].load > s->c[busiest].load)) {
				bool any = false;

				for (int i = 0; i < s->c[c].nq && !any; i++)
					any = allowed(s, s->c[c].q[i], cpu);
				if (any)
					busiest = c;
			}
		if (busiest >= 0 && pull(s, busiest, cpu, -1, 0) > 0)
			return true;
	}
	return false;
}
