/* SPDX-License-Identifier: MIT */
/*
 * sbcosim: a discrete-event simulator of a many-core host running VMs, driven by the real
 * libsbco policy. Internal interface between its parts:
 *   rq.c        per-CPU run queues and the CFS / EEVDF pick, tick, wakeup and placement rules
 *   balance.c   wakeup CPU selection, periodic and new-idle load balancing (affinity honoured)
 *   workload.c  the VMs' fluid spin-lock / barrier / hog model and the sleepers (noise)
 *   sim.c       the event loop: events, context switches, sleeps and wakeups
 *   driver.c    snapshots in libsbco's types, the policy calls, applying their plans, metrics
 *   scenario.c  hosts and VM mixes (lhpbench's scenarios, Table I/II setups, large hosts)
 * Times are int64_t ns of simulated time. Everything is deterministic for a seed.
 */
#ifndef SBCO_SIM_H
#define SBCO_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sbco.h"

enum sim_work {
	WORK_LOCK = 0, /* lhpvm -work lock: spin lock, hold_ns in, work_ns out */
	WORK_BARRIER,  /* lhpvm -work barrier: the same plus a barrier every `every` ops */
	WORK_HOG,      /* lhpvm -work hog: computes only (a disturbing VM) */
};

enum task_kind { TASK_VCPU, TASK_HOG, TASK_NOISE };
enum task_state { TS_SLEEPING = 0, TS_QUEUED, TS_RUNNING };

struct sim_params {
	uint32_t nr_cpus, llc_size;
	bool eevdf;
	uint32_t hz;		/* tick; slices end at the first tick after their deadline */
	bool hrtick;		/* slices end exactly at their deadline instead */
	int64_t base_slice_ns;	/* 0: 0.75 ms x (1 + ilog2(min(CPUs, 8))), as the kernel */
	uint32_t busy_factor;	/* periodic balance interval of a busy CPU x this (16) */
	double seconds, warmup; /* measured time, and the unmeasured start before it */
	uint64_t seed;
	/* VMs */
	uint32_t nr_vms, vcpus; /* the measured VMs */
	enum sim_work work;
	int64_t hold_ns, work_ns;
	uint32_t every;	       /* barrier period in ops */
	double vcpu_idle;      /* share of time a measured vCPU sleeps (guest idle), 0..0.9 */
	int64_t idle_burst_ns; /* mean busy burst between guest idles */
	uint32_t nr_dist, dist_vcpus; /* disturbing VMs (WORK_HOG), also managed */
	uint32_t hogs_per_cpu;	      /* CPU hogs pinned on every CPU (not VMs) */
	uint32_t nr_noise;	      /* free sleeper tasks (system noise) */
	int64_t noise_run_ns, noise_sleep_ns;
	/* policy */
	enum sbco_mode mode;
	double alpha;
	enum sbco_lever lever;
	int64_t interval_ns; /* policy cycle (sbcod's interval_ms) */
	int64_t measure_ns;  /* stacking / distance samples */
	bool kernel_ord;     /* the snapshot carries the kernel patch's exact ordinates */
	bool fork_idlest;    /* new threads on the least loaded CPU (default: random) */
	bool lend_lazy;	     /* kernel loans: no resched of the lender's CPU (a variant) */
};

struct task {
	int32_t tid, tgid;
	enum task_kind kind;
	enum task_state state;
	int32_t vm, vcpu; /* VM index and vCPU number, -1 for non-VM tasks */
	int32_t cpu;	  /* run queue it is on, or last ran on */
	int32_t qpos;	  /* index in its CPU's queue while TS_QUEUED */
	int64_t v, deadline, vlag;
	int64_t weight, base_weight;
	int64_t slice; /* custom slice, 0 = default */
	int32_t nice;
	int64_t exec_start; /* when it was last put on a CPU */
	int64_t sum_exec, last_ran;
	uint64_t switches, nivcsw;
	int64_t burst; /* sleepers: busy time left before the next sleep */
	bool sleeper;
	uint32_t gen; /* invalidates its pending wakeup event */
	struct sbco_cpuset aff;
};

struct cpu {
	int32_t curr; /* task index or -1 */
	int32_t *q;   /* queued (runnable, not running) tasks */
	int32_t nq, capq;
	int64_t min_v; /* CFS */
	int64_t tick_phase;
	int64_t pick_ns; /* when curr was picked */
	bool protect;	 /* EEVDF RUN_TO_PARITY: curr keeps the CPU until its deadline */
	int64_t load;	 /* sum of weights of curr + queued */
	uint32_t gen;	 /* invalidates its pending slice-end event */
	uint32_t nr_failed, nr_failed_top;
	int32_t llc;
	int64_t busy_ns;
};

struct vm {
	int32_t pid, first_task, nr_vcpus;
	enum sim_work work;
	bool measured; /* counted in throughput (not a disturbing VM) */
	int64_t last_ns;
	int32_t lock_owner; /* vCPU preempted while holding the lock, -1 free */
	double barrier;	    /* next barrier point in ops per vCPU */
	double *ops;	    /* per vCPU */
	double spin_ns, run_ns, total_ops;
	uint64_t nivcsw, lhp; /* switches out while runnable; preemptions holding the lock */
	/* sampled */
	uint64_t samples, stacked, exceeded, exceeded_any;
	int64_t corun_ns, busy2_ns; /* time all runnable vCPUs ran / >= 2 vCPUs runnable */
	int32_t nr_running, nr_runnable;
	int64_t state_since;
	int64_t cpu_ns_mark, cpu_now; /* fairness: CPU time at the last second, now */
};

struct sim_stats {
	uint64_t events, switches, migrations, lb_moves, wakeups;
	uint64_t cycles, actions, action_errors, placements;
	int64_t policy_ns; /* wall time spent in libsbco calls */
	uint64_t vm_samples, stacked, exceeded, exceeded_any;
	double lag_max_sum; /* fairness: per 1 s window, max |VM CPU - mean| */
	uint64_t lag_windows;
};

struct sim {
	struct sim_params p;
	struct task *t;
	int32_t nr_tasks;
	struct cpu *c;
	struct vm *vm;
	int32_t nr_vms;
	int64_t now;
	int64_t slice_ns, latency_ns, min_gran_ns, wakeup_gran_ns, tick_ns, migration_cost_ns;
	uint64_t rng[4];
	struct event *ev;
	size_t nev, capev;
	uint64_t seq;
	struct sim_stats st;
	bool measuring;
	struct driver *drv;
	double lock_x[257]; /* lock throughput (ops/ns) with m vCPUs competing */
};

/* rng.c-free helpers (xoshiro256**) */
uint64_t sim_rand(struct sim *s);
double sim_uniform(struct sim *s);
double sim_exp(struct sim *s, double mean);

/* rq.c */
int64_t rq_avg_vruntime(const struct sim *s, int cpu);
bool rq_update_curr(struct sim *s, int cpu);
void rq_enqueue(struct sim *s, int ti, int cpu, bool wakeup, bool first);
void rq_dequeue(struct sim *s, int ti);
int rq_choose(struct sim *s, int cpu);
void rq_switch(struct sim *s, int cpu, int next);
bool rq_tick(struct sim *s, int cpu);
int64_t rq_slice_end(const struct sim *s, int cpu);
bool rq_wakeup_preempt(struct sim *s, int cpu, int ti);
int64_t rq_lag(const struct sim *s, int ti);
void rq_reweight(struct sim *s, int ti, int64_t w);
void rq_set_slice(struct sim *s, int ti, int64_t slice);
void rq_shift(struct sim *s, int ti, int64_t ns);
int64_t rq_task_slice(const struct sim *s, int ti);
int rq_nr(const struct sim *s, int cpu);

/* balance.c */
int lb_select_cpu(struct sim *s, int ti);
void lb_periodic(struct sim *s, int cpu, bool top);
bool lb_newidle(struct sim *s, int cpu);
void lb_migrate(struct sim *s, int ti, int dst);
int lb_fallback_cpu(struct sim *s, int ti);

/* workload.c */
void wl_init(struct sim *s);
void wl_advance(struct sim *s, int vm);
void wl_switch_in(struct sim *s, int ti);
void wl_switch_out(struct sim *s, int ti, bool runnable);
void wl_runnable_change(struct sim *s, int ti, int delta);

/* sim.c */
enum ev_kind { EV_CPU, EV_WAKE, EV_LB, EV_LB_TOP, EV_SAMPLE, EV_SECOND, EV_END };
void sim_push(struct sim *s, int64_t t, enum ev_kind k, int32_t id, uint32_t gen);
void sim_resched(struct sim *s, int cpu);
void sim_kick(struct sim *s, int cpu);
int sim_run(struct sim *s);
int sim_new(const struct sim_params *p, struct sim **ret);
struct sim *sim_free(struct sim *s);

/* driver.c */
int drv_new(struct sim *s);
void drv_free(struct sim *s);
int drv_sample(struct sim *s, bool policy, bool measure);
enum sbco_lever drv_lever(const struct sim *s);

/* selftest.c: the pick-rule and balancer checks; returns the number of failures */
int sim_selftest(void);

/* scenario.c */
void scen_defaults(struct sim_params *p);
int scen_apply(struct sim_params *p, const char *name);
int scen_build(struct sim *s);

#endif
