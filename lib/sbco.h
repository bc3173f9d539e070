/* SPDX-License-Identifier: MIT */
/*
 * libsbco public API: the scheduler-dump parser (snapshot), the run-queue ordinate model,
 * vCPU recognition and per-VM scheduling distance. Everything here is pure C over memory
 * except the sbco_dump_read_*() helpers, which read a file or descriptor. lib never prints
 * and never exits; errors are returned as -errno.
 */
#ifndef SBCO_H
#define SBCO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* ---------------------------------------------------------------- logging */

/* Optional debug callback (libbpf_set_print style); NULL disables. */
typedef void (*sbco_log_fn)(int level, const char *msg);
void sbco_set_log_fn(sbco_log_fn fn);

/* ---------------------------------------------------------------- snapshot */

/* Which columns the task rows carry, decided from the table header and the rows. */
enum sbco_dump_layout {
	SBCO_LAYOUT_UNKNOWN = 0,
	SBCO_LAYOUT_CFS_EXEC,  /* <= ~4.1: tree-key switches prio exec-runtime sum-exec sum-sleep */
	SBCO_LAYOUT_CFS_WAIT,  /* ~4.2-6.5: tree-key switches prio wait-time sum-exec sum-sleep
				  [block] */
	SBCO_LAYOUT_EEVDF_OLD, /* 6.6-6.11: EEVDF columns under the old CFS header */
	SBCO_LAYOUT_EEVDF,     /* 6.12+: vruntime eligible deadline [S] slice ... */
};

/* Bits of sbco_task.have: which optional values a row really printed. */
enum {
	SBCO_HAVE_STATE = 1u << 0,    /* a state letter column exists (4.14+) */
	SBCO_HAVE_ELIGIBLE = 1u << 1, /* EEVDF E/N flag */
	SBCO_HAVE_DEADLINE = 1u << 2,
	SBCO_HAVE_SLICE = 1u << 3,
	SBCO_HAVE_SUM_EXEC = 1u << 4,
	SBCO_HAVE_WAIT = 1u << 5,
	SBCO_HAVE_SLEEP = 1u << 6,
	SBCO_HAVE_BLOCK = 1u << 7,
	SBCO_HAVE_NODE = 1u << 8,
	SBCO_HAVE_NUMA_GROUP = 1u << 9,
	SBCO_HAVE_PATH = 1u << 10,
	SBCO_HAVE_EXACT_ORD = 1u << 11, /* "ord=N" of the sbco kernel patch (kernel/) */
};

/* One row of a "runnable tasks:" table. Times are nanoseconds (the dump prints ms.ns). */
struct sbco_task {
	const char *comm;	/* NUL-terminated, leading blanks stripped; valid while the
				   snapshot lives */
	const char *group_path; /* "" when not printed */
	int32_t pid;
	uint32_t cpu;	   /* index into sbco_snapshot.cpus */
	uint32_t line;	   /* 1-based line number in the input */
	uint32_t have;	   /* SBCO_HAVE_* */
	char state;	   /* 'R', 'S', 'D', 'I', ...; '?' when the kernel prints no state */
	bool current;	   /* '>R' (4.14+) or the leading 'R' marker (older): rq->curr */
	bool eligible;	   /* EEVDF 'E' */
	bool custom_slice; /* EEVDF 'S' flag (6.12+) */
	int32_t prio;
	int32_t node, numa_group;
	uint64_t switches;
	int64_t vruntime_ns; /* tree-key on CFS kernels */
	int64_t deadline_ns;
	int64_t slice_ns;
	int64_t sum_exec_ns;
	int64_t wait_ns, sleep_ns, block_ns;
	int32_t exact_ord; /* the kernel's own ordinate (SBCO_HAVE_EXACT_ORD), -1: not queued */
};

/* Bits of sbco_cfs_rq.have. */
enum {
	SBCO_RQ_MIN_VRUNTIME = 1u << 0,
	SBCO_RQ_AVG_VRUNTIME = 1u << 1,
	SBCO_RQ_ZERO_VRUNTIME = 1u << 2,
	SBCO_RQ_LEFT_VRUNTIME = 1u << 3,
	SBCO_RQ_NR_RUNNING = 1u << 4, /* .nr_running or .nr_queued */
	SBCO_RQ_H_NR_RUNNING = 1u << 5,
	SBCO_RQ_LOAD = 1u << 6,
	SBCO_RQ_SE_VRUNTIME = 1u << 7,
	SBCO_RQ_SE_WEIGHT = 1u << 8,
	SBCO_RQ_SE_SUM_EXEC = 1u << 9,
};

/* One cfs_rq[N]:<path> block. */
struct sbco_cfs_rq {
	const char *path; /* "" when the kernel printed no group path */
	uint32_t cpu;	  /* index into sbco_snapshot.cpus */
	uint32_t line;
	uint32_t have; /* SBCO_RQ_* */
	int64_t min_vruntime_ns, avg_vruntime_ns, zero_vruntime_ns, left_vruntime_ns;
	uint64_t nr_running, h_nr_running;
	uint64_t load;
	int64_t se_vruntime_ns; /* the group's own sched_entity on its parent queue */
	uint64_t se_weight;
	int64_t se_sum_exec_ns;
};

/* Bits of sbco_cpu.have. */
enum {
	SBCO_CPU_NR_RUNNING = 1u << 0,
	SBCO_CPU_CURR_PID = 1u << 1,
	SBCO_CPU_CLOCK = 1u << 2,
};

struct sbco_cpu {
	int32_t id; /* N of cpu#N; -1 when the input had no cpu# line (an excerpt) */
	uint32_t line;
	uint32_t have; /* SBCO_CPU_* */
	uint64_t nr_running;
	int32_t curr_pid;
	int64_t clock_ns;
	uint32_t first_rq, nr_rqs;     /* slice of sbco_snapshot.rqs */
	uint32_t first_task, nr_tasks; /* slice of sbco_snapshot.tasks */
	enum sbco_dump_layout layout;  /* of this CPU's task table */
	bool has_table;
};

struct sbco_snapshot {
	char *version;			/* "v0.11" or NULL */
	char *release;			/* kernel release string or NULL */
	int kernel_major, kernel_minor; /* 0 when unknown */
	int64_t base_slice_ns;		/* .sysctl_sched_base_slice (EEVDF), 0 if absent */
	int64_t latency_ns;		/* .sysctl_sched_latency (CFS), 0 if absent */
	int64_t min_granularity_ns;	/* .sysctl_sched_min_granularity, 0 if absent */
	struct sbco_cpu *cpus;
	size_t nr_cpus;
	struct sbco_cfs_rq *rqs;
	size_t nr_rqs;
	struct sbco_task *tasks;
	size_t nr_tasks;
	uint32_t lines;		/* lines read */
	uint32_t skipped_lines; /* lines not understood and skipped */
	uint32_t first_skipped; /* line number of the first skipped line, 0 if none */
	bool truncated;		/* input ended inside a row or without a final newline */
	char *buf;		/* private: the copied input all strings point into */
};

/* Parse a scheduler debug dump (/sys/kernel/debug/sched/debug, /proc/sched_debug, or the
 * same text printed by SysRq with syslog/dmesg prefixes) held in memory.
 * Returns 0 and sets *ret_snap (caller frees with sbco_snapshot_free()), or
 * -EINVAL for NULL arguments, -ENOMEM, or -EBADMSG when the text is not a dump it can read;
 * then, if err/err_len are given, err holds "line N: reason". */
int sbco_dump_parse(const char *text, size_t len, struct sbco_snapshot **ret_snap, char *err,
		    size_t err_len);

/* Copy in to out (size n, always terminated) with every byte below 0x20 and 0x7f written
 * as \xNN, and a backslash as \\: text from VMs (names from libvirt or a process's
 * command line) cannot forge log lines or send terminal escapes. Returns strlen(out). */
size_t sbco_escape_ctrl(const char *in, char *out, size_t n);
/* Replace path with len bytes of text atomically: a hidden temp file in the same
 * directory (".NAME.PID", mode, fsync'ed when sync), renamed over it; the temp file is
 * removed on failure. Returns 0 or -errno. */
int sbco_write_atomic(const char *path, const char *text, size_t len, mode_t mode, bool sync);

/* Read a whole file descriptor into a malloc'ed NUL-terminated buffer (limit max_len bytes).
 * Returns 0, -EFBIG when longer than max_len, or -errno from read(). */
int sbco_read_fd(int fd, size_t max_len, char **ret_buf, size_t *ret_len);

/* Open the live dump below root ("/" or a fake root dir): sched/debug in debugfs, else
 * /proc/sched_debug. Returns an O_CLOEXEC fd and the path used, or -ENODEV when debugfs is
 * not mounted and there is no /proc/sched_debug, -ENOENT when debugfs is mounted but has no
 * sched/debug, -EACCES/-EPERM when not permitted. */
int sbco_dump_open_live(const char *root, const char **ret_path);

struct sbco_snapshot *sbco_snapshot_free(struct sbco_snapshot *snap);

/* Task slice of one CPU, by index. */
static inline const struct sbco_task *sbco_cpu_tasks(const struct sbco_snapshot *s,
						     const struct sbco_cpu *c)
{
	return s->tasks + c->first_task;
}

/* ---------------------------------------------------------------- ordinates */

/* Per task: where the model expects it in its run queue's pick sequence. */
struct sbco_ordinate {
	int32_t ordinate; /* 0 = running now / next; -1 = not a runnable fair task */
	bool runnable;	  /* counted as a runnable fair task of its queue */
	int64_t wait_ns;  /* estimated wall time until its first pick */
};

struct sbco_queue_stats {
	uint32_t nr_runnable; /* runnable fair tasks (Q_size) */
	uint32_t nr_rt;	      /* runnable RT/DL tasks (prio < 100), which run first */
	bool eevdf;	      /* pick rule used */
	bool exact;	      /* ordinates from the kernel patch ("ord="), not the model */
};

struct sbco_ordinates {
	struct sbco_ordinate *task;   /* parallel to snapshot->tasks */
	struct sbco_queue_stats *cpu; /* parallel to snapshot->cpus */
	size_t nr_tasks, nr_cpus;
};

/* Compute the expected pick order of every run queue in snap (see ordinate.c for the
 * model). Returns 0 and *ret (free with sbco_ordinates_free()), -ENOMEM. */
int sbco_ordinates_compute(const struct sbco_snapshot *snap, struct sbco_ordinates **ret);
struct sbco_ordinates *sbco_ordinates_free(struct sbco_ordinates *o);

/* ---------------------------------------------------------------- vCPUs and VMs */

#define SBCO_PATTERNS_MAX 16

/* vCPU thread-name patterns: fnmatch(3) globs on comm. The vCPU index is the first run of
 * digits in the name, or the order of appearance for names without digits ("qemu-kvm"). */
struct sbco_patterns {
	char *glob[SBCO_PATTERNS_MAX];
	size_t n;
};

/* Fill p with the defaults: QEMU "CPU N/KVM" and "CPU N/TCG", old QEMU "qemu-kvm",
 * Firecracker "fc_vcpu N", cloud-hypervisor "vcpuN" (as fnmatch globs, see vcpu.c). */
int sbco_patterns_default(struct sbco_patterns *p);
/* Add one glob (copied). -E2BIG when full, -EINVAL for an empty glob, -ENOMEM. */
int sbco_patterns_add(struct sbco_patterns *p, const char *glob);
void sbco_patterns_clear(struct sbco_patterns *p);
/* True when comm is a vCPU thread name; *ret_index gets the index or -1. */
bool sbco_patterns_match(const struct sbco_patterns *p, const char *comm, int *ret_index);

/* Maps a thread id to its process (tgid); returns tgid > 0, or -ESRCH/-ENOENT when the
 * thread is gone. Used to group vCPUs by process on the live host. */
typedef int (*sbco_tgid_fn)(void *userdata, int32_t tid);
/* The /proc implementation: userdata is the root dir ("/" or a fake root) as const char *. */
int sbco_tgid_from_proc(void *root, int32_t tid);

struct sbco_vm_vcpu {
	int32_t index; /* vCPU number from the thread name, -1 if none */
	int32_t tid;
	size_t task; /* index into snapshot->tasks */
};

struct sbco_vm_stat {
	char name[64];
	int32_t tgid; /* VMM pid, 0 when grouped by cgroup / pid runs */
	char *group;  /* cgroup path the VM's vCPUs share (or ""), owned */
	struct sbco_vm_vcpu *vcpus;
	size_t nr_vcpus;
	/* distance metrics over the VM's runnable vCPUs */
	uint32_t nr_runnable;
	bool stacked;		 /* two runnable siblings on one run queue */
	int32_t distance;	 /* max - min ordinate; 0 with < 2 runnable */
	int64_t distance_ns;	 /* max - min estimated wait */
	uint32_t q_size;	 /* the longest queue holding one of its runnable vCPUs */
	uint32_t nr_queues;	 /* distinct queues holding its runnable vCPUs */
	bool exceeds;		 /* distance >= alpha * q_size, >= 2 runnable on >= 2 queues */
	int32_t leader, laggard; /* index into vcpus[] of smallest/largest ordinate, -1 */
};

struct sbco_vm_set {
	struct sbco_vm_stat *vms;
	size_t nr_vms;
	double alpha;
	/* what one position in a queue costs in practice, for the kernel lever (set by the
	 * engine when that lever is in use, else 0): sbco_slot_estimate(). */
	int64_t slot_ns;
};

/* The median run per switch (sum-exec / switches) of runnable fair tasks with >= 20
 * switches, 0 when there are none. Without HRTICK a task whose slice ends between ticks
 * runs to the next tick, so on busy queues this is about max(slice, tick). */
int64_t sbco_slot_estimate(const struct sbco_snapshot *s, const struct sbco_ordinates *o);

/* Find the vCPU threads of snap by pattern and group them into VMs: by tgid when tgid_fn
 * is given (live host), else by cgroup path (libvirt's .../vcpuN parent) and, for threads in
 * one shared group, by runs of ascending vCPU indices in pid order. Then compute each VM's
 * stacking and scheduling distance with ordinates o and threshold alpha (0 < alpha <= 1).
 * Returns 0 and *ret (free with sbco_vm_set_free()), -EINVAL, -ENOMEM. */
int sbco_vms_analyze(const struct sbco_snapshot *snap, const struct sbco_ordinates *o,
		     const struct sbco_patterns *pat, sbco_tgid_fn tgid_fn, void *tgid_data,
		     double alpha, struct sbco_vm_set **ret);
struct sbco_vm_set *sbco_vm_set_free(struct sbco_vm_set *set);

/* ---------------------------------------------------------------- CPU sets */

#define SBCO_MAX_CPUS	  1024
#define SBCO_CPUSET_WORDS (SBCO_MAX_CPUS / 64)

struct sbco_cpuset {
	uint64_t w[SBCO_CPUSET_WORDS];
};

/* Parse a kernel CPU list ("0-3,8,10-11", as in Cpus_allowed_list or cpuset.cpus; "" is the
 * empty set). Returns 0, -EINVAL for malformed text, -ERANGE for CPUs >= SBCO_MAX_CPUS. */
int sbco_cpuset_parse(const char *s, struct sbco_cpuset *ret);
/* Format as a CPU list into buf; returns the length or -ENOBUFS. */
int sbco_cpuset_format(const struct sbco_cpuset *c, char *buf, size_t len);
int sbco_cpuset_count(const struct sbco_cpuset *c);
bool sbco_cpuset_equal(const struct sbco_cpuset *a, const struct sbco_cpuset *b);
static inline bool sbco_cpuset_has(const struct sbco_cpuset *c, unsigned cpu)
{
	return cpu < SBCO_MAX_CPUS && (c->w[cpu / 64] >> (cpu % 64)) & 1;
}
static inline void sbco_cpuset_add(struct sbco_cpuset *c, unsigned cpu)
{
	if (cpu < SBCO_MAX_CPUS)
		c->w[cpu / 64] |= 1ull << (cpu % 64);
}

/* ---------------------------------------------------------------- VM model */

enum sbco_mode {
	SBCO_MODE_OFF = 0, /* observe only: the default scheduler ("DFT") */
	SBCO_MODE_BAL,	   /* anti-stacking */
	SBCO_MODE_SBCO,	   /* anti-stacking + distance balancing */
};

/* Per-VM policy an orchestrator put in the libvirt domain XML, as
 * <metadata><sbco:policy xmlns:sbco="SBCO_XMLNS" mode="sbco" alpha="0.5"/></metadata>. */
#define SBCO_XMLNS "http://sbco.dev/xmlns/libvirt/policy/1.0"

struct sbco_vm_meta {
	bool present; /* the domain has an element in SBCO_XMLNS */
	bool valid;   /* and it parsed: has_* say what it sets */
	bool has_mode, has_alpha;
	enum sbco_mode mode;
	double alpha;
	char *error; /* owned: why an invalid element is ignored, NULL otherwise */
};

/* Parse the metadata element libvirt returns (virDomainGetMetadata, ELEMENT, which finds
 * it by SBCO_XMLNS and returns it without a namespace): root "policy", in no namespace or
 * SBCO_XMLNS, attributes mode (off|bal|sbco) and alpha ((0, 1]), nothing else;
 * at most 4 KiB. Fills *ret (present = true) and returns 0, or -EINVAL with ret->error
 * saying what is wrong (valid = false), or -ENOMEM. Clear with sbco_vm_meta_clear(). */
int sbco_meta_parse(const char *xml, size_t len, struct sbco_vm_meta *ret);
void sbco_vm_meta_clear(struct sbco_vm_meta *m);

enum sbco_backend {
	SBCO_BACKEND_PROC = 0, /* found by vCPU thread names in /proc */
	SBCO_BACKEND_LIBVIRT,
};

struct sbco_vcpu {
	int32_t index; /* vCPU number */
	int32_t tid;   /* host thread id, 0 when unknown (vCPU offline / not started) */
	int32_t cpu;   /* CPU it last ran on, -1 unknown */
	struct sbco_cpuset affinity;
	char *cgroup; /* cpu controller cgroup path ("/machine/.../vcpu0"), owned, may be "" */
	bool pinned;  /* the operator restricted this vCPU (vcpupin, cpuset, affinity) */
};

struct sbco_vm {
	char *name;    /* owned */
	char uuid[37]; /* "" when unknown */
	enum sbco_backend backend;
	int32_t pid;   /* VMM process id, 0 unknown */
	int32_t domid; /* libvirt domain id, -1 otherwise */
	struct sbco_vcpu *vcpus;
	size_t nr_vcpus;
	bool pinned;	  /* any operator pinning: <vcpupin>, <vcpu cpuset=>, <cputune>, a cpuset
			     or affinity narrower than the online CPUs */
	char *pin_reason; /* what made it pinned, owned, NULL if not */
	struct sbco_vm_meta meta; /* libvirt domain metadata (backend LIBVIRT) */
};

struct sbco_vm_list {
	struct sbco_vm *vms;
	size_t nr;
};

void sbco_vm_clear(struct sbco_vm *vm);
struct sbco_vm_list *sbco_vm_list_free(struct sbco_vm_list *l);
/* Deep copy of vm appended to l. Returns 0 or -ENOMEM. */
int sbco_vm_list_add(struct sbco_vm_list *l, const struct sbco_vm *vm);
/* Find by pid (>0) or uuid; NULL when absent. */
const struct sbco_vm *sbco_vm_list_find_pid(const struct sbco_vm_list *l, int32_t pid);
/* Merge: every VM of libvirt, then those of proc whose pid libvirt does not know (libvirt
 * wins for the domains it manages). Returns a new list in *ret, or -ENOMEM. */
int sbco_vm_list_merge(const struct sbco_vm_list *libvirt, const struct sbco_vm_list *proc,
		       struct sbco_vm_list **ret);

/* ---------------------------------------------------------------- process backend */

struct sbco_proc_scan_stats {
	uint32_t processes, threads, vcpus;
	uint32_t vanished; /* processes or threads that exited during the scan */
};

/* Bits for sbco_proc_scan() flags. */
enum {
	SBCO_SCAN_CPU = 1u << 0, /* read each vCPU's last CPU (/proc/TID/stat, ~7 us a vCPU) */
};

/* Scan root/proc ("/" or a fake root) for threads whose comm matches pat, grouped by
 * process into VMs (backend PROC), with each vCPU's affinity (sched_getaffinity on the real
 * root, Cpus_allowed_list on a fake one), cpu cgroup, and with SBCO_SCAN_CPU its last CPU
 * (else -1); each VMM's name/uuid comes from its command line (QEMU -name/-uuid,
 * Firecracker --id). prev (may be NULL) is the previous scan's result: a vCPU thread it
 * already lists under the same pid keeps its cgroup path instead of re-reading it (threads
 * are placed in their cgroups at start). Threads and processes that exit mid-scan are
 * skipped and counted. A VM is pinned when one of its vCPUs may run on fewer CPUs than
 * root/sys/devices/system/cpu/online lists.
 * Returns 0 and *ret, -ENOENT when root/proc cannot be read, -ENOMEM. */
int sbco_proc_scan(const char *root, const struct sbco_patterns *pat,
		   const struct sbco_vm_list *prev, unsigned flags, struct sbco_vm_list **ret,
		   struct sbco_proc_scan_stats *ret_stats);

/* The same for one process: appends its VM to out when it has vCPU threads. Returns 1 when
 * a VM was appended, 0 when pid is not a VM (or gone), -ENOENT, -ENOMEM. */
int sbco_proc_scan_pid(const char *root, const struct sbco_patterns *pat, int32_t pid,
		       const struct sbco_vm_list *prev, unsigned flags, struct sbco_vm_list *out);

/* ---------------------------------------------------------------- process events */

/* The kernel's process events (proc connector over netlink, libnl): lets the process
 * backend follow vCPU threads being named ("CPU 0/KVM" is set after the thread starts) and
 * exiting, without rescanning /proc. Needs CAP_NET_ADMIN (root). */
struct sbco_proc_events;

enum sbco_proc_event {
	SBCO_PROC_EVENT_COMM, /* thread tid of process tgid was named comm */
	SBCO_PROC_EVENT_EXIT, /* thread tid of process tgid exited (tid == tgid: the process) */
	SBCO_PROC_EVENT_LOST, /* the socket overflowed: events were lost, rescan everything */
};

typedef void (*sbco_proc_event_fn)(void *userdata, enum sbco_proc_event ev, int32_t tgid,
				   int32_t tid, const char *comm);

/* Returns 0 and *ret, -EPERM/-EACCES without the capability, -EPROTONOSUPPORT when the
 * kernel has no proc connector, -ENOMEM. */
int sbco_proc_events_open(struct sbco_proc_events **ret);
struct sbco_proc_events *sbco_proc_events_free(struct sbco_proc_events *pe);
int sbco_proc_events_fd(const struct sbco_proc_events *pe);
/* Read every pending event (non-blocking) and call fn for COMM, EXIT and LOST ones.
 * Returns the number of events read, or -errno. */
int sbco_proc_events_drain(struct sbco_proc_events *pe, sbco_proc_event_fn fn, void *userdata);

/* ---------------------------------------------------------------- process watch */

/* The process backend kept current: one full scan, then process events; only processes
 * an event concerns are rescanned. Without the proc connector (no CAP_NET_ADMIN) it falls
 * back to a full rescan each time sbco_proc_watch_process() is called. */
struct sbco_proc_watch;

struct sbco_proc_watch_stats {
	uint64_t full_scans, pid_scans, events, lost;
};

/* Returns 0 and *ret (events unavailable is not an error: see has_events), or -errno of the
 * first scan. pat must outlive the watch. */
int sbco_proc_watch_new(const char *root, const struct sbco_patterns *pat,
			struct sbco_proc_watch **ret);
struct sbco_proc_watch *sbco_proc_watch_free(struct sbco_proc_watch *w);
bool sbco_proc_watch_has_events(const struct sbco_proc_watch *w);
/* The event descriptor to poll, -1 without events. */
int sbco_proc_watch_fd(const struct sbco_proc_watch *w);
/* Apply pending events (or rescan when there are none to follow). Returns 1 when the VM
 * list changed, 0 when not, -errno. */
int sbco_proc_watch_process(struct sbco_proc_watch *w);
const struct sbco_vm_list *sbco_proc_watch_vms(const struct sbco_proc_watch *w);
/* The processes the last sbco_proc_watch_process() rescanned (a vCPU thread was named,
 * or one exited); valid until the next call. Returns their number. */
size_t sbco_proc_watch_changed(const struct sbco_proc_watch *w, const int32_t **ret);
void sbco_proc_watch_get_stats(const struct sbco_proc_watch *w, struct sbco_proc_watch_stats *r);

/* Online CPUs of root/sys/devices/system/cpu/online. Returns 0 or -errno. */
int sbco_cpus_online(const char *root, struct sbco_cpuset *ret);

/* One thread and its cpu cgroup path (owned; "" when there is none). */
struct sbco_thread_cg {
	int32_t tid;
	char *cgroup;
	bool vcpu;  /* set by the caller: the thread is one of the VM's vCPUs */
	bool moved; /* set by the caller: sbco moved it already (cgroup: where it came from) */
};
/* Every thread of process pid below root with its cpu cgroup (threads that exit meanwhile
 * are left out). Returns 0 and *ret (*ret_n entries; sbco_thread_cgs_free), -ENOENT,
 * -ENOMEM. */
int sbco_proc_thread_cgroups(const char *root, int32_t pid, struct sbco_thread_cg **ret,
			     size_t *ret_n);
void sbco_thread_cgs_free(struct sbco_thread_cg *v, size_t n);

/* Stall prevention (lib/isolate.c): the cpu groups to move a VM's vCPU threads into.
 * shared = the deepest cgroup all vCPU threads (t[i].vcpu) sit in or below. When other
 * threads of the VM sit at or below it too, shared is copied beside itself as
 * "sbco.<shared's name>", with every group between it and a vCPU's own below the copy
 * under the same names, and each vCPU thread goes to the copy of its group. Groups come
 * parents first; tids lists the threads to move into each (not those marked moved). No
 * group when the vCPUs share only the root group (no group entity), one's cgroup is
 * unknown, or the group holds vCPUs only. Returns 0 and *ret (*ret_n groups;
 * sbco_isolate_groups_free), -ENOMEM. */
struct sbco_isolate_group {
	char *from, *to;
	int32_t *tids;
	size_t n;
};
int sbco_isolate_plan(const struct sbco_thread_cg *t, size_t n, struct sbco_isolate_group **ret,
		      size_t *ret_n);
void sbco_isolate_groups_free(struct sbco_isolate_group *g, size_t n);

/* Describe one thread of process pid below root: last CPU, affinity and cpu cgroup into v
 * (v->tid must be set; v->cgroup is allocated). Returns 0, -ENOENT if it exited, -ENOMEM. */
int sbco_proc_describe_thread(const char *root, int32_t pid, struct sbco_vcpu *v);

/* ---------------------------------------------------------------- libvirt backend */

struct sbco_libvirt;

struct sbco_libvirt_opts {
	const char *uri;		 /* NULL: "qemu:///system" */
	const char *root;		 /* host root for /proc reads, NULL: "/" */
	const struct sbco_patterns *pat; /* vCPU thread names (QEMU's "CPU N/KVM|TCG") */
	bool use_qmp; /* map vCPU -> tid with QMP query-cpus-fast (taints the domain as
			 custom-monitor) instead of the QEMU process's thread names */
	int keepalive_interval_s, keepalive_count; /* 0: 5 s, 3 */
};

struct sbco_libvirt_stats {
	uint64_t events;     /* domain events received */
	uint64_t full_scans; /* list-all-domains rediscoveries (connects) */
	uint64_t refreshes;  /* single-domain rediscoveries triggered by events */
	uint64_t connects, disconnects, connect_failures;
};

/* Create the backend: registers libvirt's default event loop (once per process) on its own
 * thread, and tries to connect (in place). Not being able to connect is not an error: the
 * backend retries with backoff from sbco_libvirt_process(), opening the connection on a
 * thread of its own so that a slow libvirtd never blocks the caller; the fd wakes when it
 * is done. Returns 0 and *ret, -ENOMEM, -EIO. */
int sbco_libvirt_new(const struct sbco_libvirt_opts *o, struct sbco_libvirt **ret);
struct sbco_libvirt *sbco_libvirt_free(struct sbco_libvirt *lv);
/* A descriptor that becomes readable when events are pending (poll it, then call process). */
int sbco_libvirt_fd(const struct sbco_libvirt *lv);
/* Handle pending events, reconnect when due, refresh what changed. now_ns: CLOCK_MONOTONIC.
 * Returns 1 when the VM list changed, 0 when not, -ENOMEM. */
int sbco_libvirt_process(struct sbco_libvirt *lv, uint64_t now_ns);
/* CLOCK_MONOTONIC ns of the next reconnect attempt, or UINT64_MAX when connected. */
uint64_t sbco_libvirt_next_ns(const struct sbco_libvirt *lv);
bool sbco_libvirt_connected(const struct sbco_libvirt *lv);
/* libvirt sends no event when a vCPU is hot-plugged (virsh setvcpus --live, libvirt 9):
 * the process events see the new "CPU N/..." thread instead; this marks the domain whose
 * QEMU is pid for a refresh at the next sbco_libvirt_process() (and wakes its fd). */
void sbco_libvirt_mark_pid(struct sbco_libvirt *lv, int32_t pid);
/* The current VMs (backend LIBVIRT); valid until the next process()/free(). */
const struct sbco_vm_list *sbco_libvirt_vms(const struct sbco_libvirt *lv);
void sbco_libvirt_get_stats(const struct sbco_libvirt *lv, struct sbco_libvirt_stats *ret);
/* The last connection or libvirt error, for logging ("" when none). */
const char *sbco_libvirt_last_error(const struct sbco_libvirt *lv);
/* Pin vCPU index of the running domain uuid to cpus, live (virDomainPinVcpuFlags: libvirt
 * updates the thread's affinity and the vCPU's cpuset cgroup). Matches sbco_pin_fn with
 * userdata = lv. Returns 0, -ENOENT (no such domain), -ENOTCONN, -EIO. */
int sbco_libvirt_pin_vcpu(void *lv, const char *uuid, int32_t index,
			  const struct sbco_cpuset *cpus);

/* ---------------------------------------------------------------- kernel patch */

#define SBCO_KPATCH_VERSION_PATH "/proc/sbco/version"
/* Is the sbco kernel patch running below root? 0 with its version line in ver, -ENOENT
 * when absent, -errno otherwise. */
int sbco_kpatch_detect(const char *root, char *ver, size_t len);
/* Does the patch's version line ver ("sbco 1 ordinate lend pick") offer capability cap? */
bool sbco_kpatch_has(const char *ver, const char *cap);

/* The patch's pick-time balancing (/proc/sbco/vm, capability "pick"): the kernel runs
 * Algorithm 1 at every pick of a registered vCPU. sbcod registers each VM with two or more
 * vCPU threads, by the VMM's pid: a policy of mode sbco lends, the others only count. */
#define SBCO_KPICK_MAX_VCPUS 16
struct sbco_kpick;
struct sbco_host_ops;
struct sbco_vm_policy;
/* One VM's counters there: picks with a sibling queued on another CPU, those over the
 * threshold, loans made, siblings' rqs found busy, siblings found on the same rq; picks
 * with a sibling queued anywhere and those over the threshold, a stacked sibling's
 * distance being its ordinate (0 from a patch before these two). */
struct sbco_kpick_counts {
	bool lend;
	uint64_t samples, exceeded, loans, busy, stacked, any, any_exceeded;
};
/* The request registering vm as id: "ID lend|count ALPHA TID..." (alpha in thousandths,
 * rounded down; at most SBCO_KPICK_MAX_VCPUS threads). -ENOENT under 2 threads. */
int sbco_kpick_request(char *buf, size_t len, int32_t id, bool lend, double alpha,
		       const struct sbco_vm *vm);
/* The text of /proc/sbco/vm below root (malloc'ed), NULL when absent or unreadable. */
char *sbco_kpick_read(const char *root);
/* VM id's counters in the text of /proc/sbco/vm: 0, -ENOENT, -EINVAL (malformed line). */
int sbco_kpick_parse(const char *text, int32_t id, struct sbco_kpick_counts *ret);
/* Start (ops->kernel_vm required; clears the kernel's table): 0 or -errno. */
int sbco_kpick_new(const struct sbco_host_ops *ops, void *ud, struct sbco_kpick **ret);
/* Register, re-register or delete so that the kernel's table matches vms with pol[i]
 * (alpha: the default threshold). Returns the number of requests written or -ENOMEM. */
int sbco_kpick_sync(struct sbco_kpick *k, const struct sbco_vm_list *vms,
		    const struct sbco_vm_policy *pol, double alpha);
/* Does the kernel lend for the VM of pid (so userspace must not)? */
bool sbco_kpick_lends(const struct sbco_kpick *k, int32_t pid);
/* Requests the kernel refused so far. */
uint64_t sbco_kpick_refused(const struct sbco_kpick *k);
/* Forget every registration (the kernel's table too). */
void sbco_kpick_clear(struct sbco_kpick *k);
struct sbco_kpick *sbco_kpick_free(struct sbco_kpick *k);

/* ---------------------------------------------------------------- topology */

struct sbco_cpu_topo {
	int32_t core; /* first CPU of its SMT sibling set */
	int32_t llc;  /* first CPU sharing its last-level cache, or its package */
	int32_t node; /* NUMA node, 0 when unknown */
	int32_t package;
};

struct sbco_topology {
	struct sbco_cpuset online;
	uint32_t nr_cpus; /* highest online CPU + 1 */
	struct sbco_cpu_topo cpu[SBCO_MAX_CPUS];
	/* online CPUs in placement order: by node, LLC, core, then CPU number */
	int32_t order[SBCO_MAX_CPUS];
	uint32_t nr_order;
};

/* Read root/sys/devices/system/{cpu,node} (root "/" or a fake tree). Missing cache or node
 * files degrade to one LLC per package and node 0. Returns 0, -ENOENT without an online
 * CPU list, -ENOMEM. */
int sbco_topology_read(const char *root, struct sbco_topology **ret);
/* Cheap check for CPU hotplug, meant for every cycle: reads only the online CPU list and,
 * when it differs from (*topo)->online (or *topo is NULL), re-reads the whole topology into
 * *topo. Returns 1 when *topo was replaced, 0 when unchanged, -errno (topo kept). */
int sbco_topology_refresh(const char *root, struct sbco_topology **topo);
struct sbco_topology *sbco_topology_free(struct sbco_topology *t);

/* ---------------------------------------------------------------- policy: anti-stacking */

/* Where a VM's mode came from, weakest first; each one overrides the ones before it. */
enum sbco_policy_source {
	SBCO_SOURCE_DEFAULT = 0, /* the config's global "mode" */
	SBCO_SOURCE_RULE,	 /* a "vms" rule of the config */
	SBCO_SOURCE_METADATA,	 /* the libvirt domain's <sbco:policy> metadata */
	SBCO_SOURCE_OVERRIDE,	 /* a runtime set-mode request */
};

/* Per-VM policy input, parallel to a struct sbco_vm_list. */
struct sbco_vm_policy {
	enum sbco_mode mode;
	double alpha;			/* distance threshold factor, (0, 1] */
	bool override_pinning;		/* the config allows overriding operator pinning */
	enum sbco_policy_source source; /* of the mode */
	int rule;			/* index of the matching config rule, -1 none */
};

/* One vCPU's allowed CPUs under anti-stacking. */
struct sbco_placement {
	size_t vm;   /* index into the VM list */
	size_t vcpu; /* index into that VM's vcpus */
	int32_t tid;
	struct sbco_cpuset cpus;
};

/* Anti-stacking stripes (pure): for every VM in mode bal or sbco that the operator did not
 * pin (unless override_pinning), split its usable CPUs -- online, not housekeeping, inside
 * the union of its vCPUs' base affinities -- taken in topology order, into one contiguous
 * stripe per vCPU, so siblings never share a run queue while the load balancer keeps
 * freedom inside each stripe. Stripes of successive managed VMs start at rotated offsets
 * so load spreads. With more vCPUs than usable CPUs each vCPU gets one CPU, round robin,
 * which minimises the largest stack (ceil(vCPUs / CPUs)).
 * Returns 0 with *ret and *ret_n (caller frees *ret), -EINVAL, -ENOMEM. */
int sbco_policy_stripes(const struct sbco_vm_list *vms, const struct sbco_vm_policy *pol,
			const struct sbco_topology *topo, const struct sbco_cpuset *housekeeping,
			struct sbco_placement **ret, size_t *ret_n);

/* ---------------------------------------------------------------- policy: distance balancing */

enum sbco_lever {
	SBCO_LEVER_SLICE = 0, /* sched_setattr custom slice (EEVDF, Linux >= 6.12) */
	SBCO_LEVER_WEIGHT,    /* the vCPU's own cgroup weight (cpu.weight / cpu.shares) */
	SBCO_LEVER_NICE,      /* the vCPU thread's nice value */
	SBCO_LEVER_AUTO,      /* the best available: the kernel patch when it runs, else slice
				 on Linux >= 6.12, else the vCPU's own cgroup weight when every
				 managed vCPU has one, else nice */
	SBCO_LEVER_KERNEL,    /* the sbco kernel patch: leader lends vruntime to laggard
				 (/proc/sbco/lend), applied at the laggard's next pick */
};

struct sbco_balance_cfg {
	enum sbco_lever lever;
	int64_t boost_slice_ns;	    /* laggard's slice: shorter, earlier deadline (100 us) */
	int64_t hold_slice_ns;	    /* leader's slice: longer, later deadline (3 ms) */
	double weight_factor;	    /* weight lever: laggard x (1 + f), leader x (1 - f) (0.5) */
	int nice_step;		    /* nice lever: laggard -step, leader +step (2) */
	uint64_t dirty_timeout_ns;  /* a nudge not seen taking effect stops blocking (200 ms) */
	uint64_t max_loan_ns;	    /* a nudge is taken back at the latest after this (1 s) */
	int64_t max_kernel_loan_ns; /* kernel lever: one loan is half the distance in ns, at
				       most this (20 ms; the kernel takes up to 100 ms) */
	bool kernel_pick_lend;	    /* kernel lever on a patch with "pick": the kernel lends
				       at its picks for mode sbco (false: it only counts, and
				       sbcod lends through /proc/sbco/lend) (true) */
};

/* Fill cfg with the defaults in parentheses above. */
void sbco_balance_cfg_default(struct sbco_balance_cfg *cfg);
/* Resolve SBCO_LEVER_AUTO for a kernel (major, minor; 0 = unknown: assume current), whether
 * every managed vCPU sits in a cgroup of its own, and whether the sbco kernel patch runs.
 * Other levers pass through. */
enum sbco_lever sbco_lever_resolve(enum sbco_lever want, int major, int minor, bool own_cgroups,
				   bool kpatch);

/* What the ledger knows of one vCPU thread sbco has nudged. Values are in lever units:
 * slice ns (0: the default slice), weight (cpu.weight or cpu.shares), nice. */
struct sbco_ledger_entry {
	int32_t tid;
	enum sbco_lever lever;
	int64_t original; /* before sbco's first change: what restore puts back */
	int64_t current;  /* in force now (as planned) */
	uint64_t since_ns, updated_ns;
	bool dirty;	/* nudged, not yet seen taking effect */
	bool repaying;	/* the current value is a repayment (inverse of the loan) */
	double balance; /* weight/nice levers: integral of (current - original) over time,
			   in value x seconds; repayment drives it back to 0 */
	int32_t peer;	/* kernel lever: the sibling of the last loan (current: ns borrowed,
			   negative when lent) */
};

struct sbco_ledger {
	struct sbco_ledger_entry *e;
	size_t n, cap;
};

void sbco_ledger_clear(struct sbco_ledger *l);
struct sbco_ledger_entry *sbco_ledger_find(struct sbco_ledger *l, int32_t tid);

/* One change to apply: set lever of tid to value (restore: value == original). */
struct sbco_action {
	int32_t tid;
	enum sbco_lever lever;
	int64_t value;
	enum { SBCO_WHY_BOOST, SBCO_WHY_HOLD, SBCO_WHY_REPAY, SBCO_WHY_RESTORE } why;
	int32_t peer; /* kernel lever: tid lends value ns of service to peer */
};

/* What the actuator reads for a vCPU before its first change (its original value). */
typedef int64_t (*sbco_original_fn)(void *userdata, int32_t tid, enum sbco_lever lever);

/* Distance balancing, the paper's Algorithm 1 in userspace (deterministic, no I/O; the
 * ledger is updated as if every action succeeds). For each VM of dist in mode sbco
 * (mode[i], alpha[i] parallel to dist->vms) with >= 2 runnable vCPUs on >= 2 queues:
 * leader = smallest ordinate, laggard = largest; when distance >= alpha * Q_size and
 * neither is dirty, boost the laggard and hold the leader back. Dirty clears when the
 * snapshot shows the nudge in force (slice flag and value, prio) or after the timeout.
 * Loans: a nudged vCPU whose VM's distance is below the threshold, or whose nudge is older
 * than max_loan_ns, is repaid: weight and nice nudges are inverted until the balance is
 * back to zero, then everything returns to its original value.
 * Returns the number of actions in *ret (caller frees), or -ENOMEM. */
int sbco_policy_balance(const struct sbco_snapshot *snap, const struct sbco_vm_set *dist,
			const enum sbco_mode *mode, const double *alpha,
			const struct sbco_balance_cfg *cfg, sbco_original_fn original, void *ud,
			struct sbco_ledger *ledger, uint64_t now_ns, struct sbco_action **ret);

/* ---------------------------------------------------------------- guest stalls */

/* A guest stall (issue 14, bench/STALLS.md): one of a VM's vCPUs stays runnable but gets
 * (almost) no CPU while a sibling runs, as anti-stacked VMs whose threads share a cpu
 * cgroup do on EEVDF hosts. Told from the dump alone: state R at successive samples,
 * sum-exec not moving. The response rotates the VM's stripes, then lifts its anti-stacking
 * for a while (back-off). */
struct sbco_stall_cfg {
	double starve_frac;   /* runnable with less CPU than this share of the time (0.05) */
	uint64_t detect_ns;   /* ... for this long is a stall (1 s) */
	double sibling_share; /* ... while a sibling gets at least this share of a CPU,
				 averaged over ~1 s (0.5) */
	uint64_t hold_ns;     /* anti-stacking lifted this long after a stall (10 s) */
	uint64_t hold_max_ns; /* the hold doubles on a stall soon after placing, to this (160 s) */
	unsigned rotations;   /* first answer a stall by rotating the VM's stripes, up to this
				 many times within hold_ns of each other (3); 0: lift at once */
	bool isolate;	      /* prevent: while a VM is anti-stacked, keep its vCPU threads
				 apart from its other threads' cpu cgroup (true; lib/isolate.c) */
};
void sbco_stall_cfg_default(struct sbco_stall_cfg *c);

/* One vCPU thread as of the last sample. */
struct sbco_stall_vcpu {
	int32_t tid;
	bool runnable;		  /* state R in the dump */
	int64_t exec_ns;	  /* sum-exec */
	uint64_t at_ns;		  /* when sampled */
	uint64_t starve_since_ns; /* runnable without CPU since, 0: not starving */
	double share;		  /* CPU share, averaged over about a second (-1: unknown) */
};

struct sbco_stall_tracker {
	struct sbco_stall_vcpu *v; /* sorted by tid */
	size_t n;
};
void sbco_stall_tracker_clear(struct sbco_stall_tracker *t);

/* The detector's verdict on one VM of a sbco_vm_set. */
struct sbco_stall_vm {
	bool stalled;	      /* a vCPU starving >= detect_ns while a sibling is not */
	int32_t tid, index;   /* the longest-starving vCPU (0, -1: none) */
	uint64_t starving_ns; /* for how long */
};

/* Follow every vCPU of set (from snapshot s, sampled at now_ns) and fill ret[i] for
 * set->vms[i]. Replaces t's tracks (vCPUs not in set are forgotten). Returns 0, -ENOMEM. */
int sbco_stall_update(struct sbco_stall_tracker *t, const struct sbco_snapshot *s,
		      const struct sbco_vm_set *set, const struct sbco_stall_cfg *cfg,
		      uint64_t now_ns, struct sbco_stall_vm *ret);

/* The back-off of one VM. */
struct sbco_stall_hold {
	bool stalled; /* at the last step */
	bool lifted;  /* anti-stacking lifted until until_ns */
	uint64_t until_ns, hold_ns, placed_ns, last_ns;
	uint64_t stalls;     /* stall episodes seen */
	uint64_t stalled_ns; /* time spent stalled */
	uint64_t lifts;	     /* times anti-stacking was lifted */
	uint64_t rotations;  /* times the VM's stripes were rotated: the rotation in force,
				vCPU j takes the stripe of vCPU j + rotations */
	uint64_t rotated_ns; /* when they were last rotated */
	unsigned streak;     /* rotations within hold_ns of each other, in a row */
};
enum sbco_stall_step {
	SBCO_STALL_NONE = 0,
	SBCO_STALL_LIFT,   /* give the VM's vCPUs their original CPUs */
	SBCO_STALL_PLACE,  /* the hold is over: anti-stacking again */
	SBCO_STALL_ROTATE, /* each vCPU moves to its next sibling's stripe (h->rotations) */
};
/* Advance h by one sample: stalled from the detector, placed = the VM is under
 * anti-stacking now (striped, the response on), lifted or not. A stalled, placed VM is
 * first rotated: its vCPUs trade stripes, still apart, and the migration re-enqueues the
 * trapped entities. A stall within hold_ns of the last rotation counts toward
 * cfg->rotations in a row, and one rotation has detect_ns to end the stall. Past that the
 * VM is lifted for cfg->hold_ns. A stall within two holds of being placed again lifts it
 * at once, for twice its last hold (at most hold_max_ns). A hold ends only while placed
 * is true: a VM in mode off stays lifted, so its back-off is kept for when it is not. */
enum sbco_stall_step sbco_stall_step(struct sbco_stall_hold *h, bool stalled, bool placed,
				     const struct sbco_stall_cfg *cfg, uint64_t now_ns);

/* ---------------------------------------------------------------- host access and actuators */

/* Every change sbco makes to the host goes through these operations, so tests can record
 * them and a fake root can stand in for sysfs/cgroupfs. Each returns 0 or -errno. */
struct sbco_host_ops {
	int (*get_affinity)(void *ud, int32_t tid, struct sbco_cpuset *ret);
	int (*set_affinity)(void *ud, int32_t tid, const struct sbco_cpuset *cpus);
	/* slice: the custom EEVDF slice in ns, 0 = the kernel default */
	int (*set_slice)(void *ud, int32_t tid, int64_t slice_ns);
	int (*get_nice)(void *ud, int32_t tid, int64_t *ret);
	int (*set_nice)(void *ud, int32_t tid, int64_t nice);
	/* weight of the cpu cgroup at path: cpu.shares (v1) or cpu.weight (v2) */
	int (*get_weight)(void *ud, const char *cgroup, int64_t *ret);
	int (*set_weight)(void *ud, const char *cgroup, int64_t weight);
	/* the kernel patch: a lends ns of service to b (/proc/sbco/lend) */
	int (*lend)(void *ud, int32_t a, int32_t b, int64_t ns);
	/* cpu cgroups (v1 hierarchy only: -EOPNOTSUPP on v2, where a thread cannot leave its
	 * process's threaded subtree): create path with the cpu weight (and CFS quota) of
	 * like (-EEXIST when it exists); remove an empty one; move one thread into a group;
	 * list a group's threads (at most cap, *ret_n the number written) */
	int (*make_group)(void *ud, const char *path, const char *like);
	int (*remove_group)(void *ud, const char *path);
	int (*move_thread)(void *ud, int32_t tid, const char *path);
	int (*group_threads)(void *ud, const char *path, int32_t *tids, size_t cap, size_t *ret_n);
	/* the kernel patch: one request line to /proc/sbco/vm (sbco_kpick_request) */
	int (*kernel_vm)(void *ud, const char *req);
};

/* The real host below root: sched_{get,set}affinity, sched_setattr (SCHED_OTHER custom
 * slice; nice and policy kept), setpriority, and cgroup weights through libcgroup on the
 * real root, or as files under root/sys/fs/cgroup on a fake one. ud is the root string. */
extern const struct sbco_host_ops sbco_host_ops_real;

/* Pins a libvirt vCPU through libvirt instead of sched_setaffinity (libvirt also keeps the
 * vCPU's cpuset cgroup, which would otherwise refuse affinities outside it). */
typedef int (*sbco_pin_fn)(void *userdata, const char *uuid, int32_t index,
			   const struct sbco_cpuset *cpus);

struct sbco_actuator;

struct sbco_restore_stats {
	uint32_t restored, vanished, failed;
};

/* Returns 0 and *ret, -ENOMEM. ops/ud must outlive the actuator. */
int sbco_actuator_new(const struct sbco_host_ops *ops, void *ud, struct sbco_actuator **ret);
struct sbco_actuator *sbco_actuator_free(struct sbco_actuator *a);
/* Set a vCPU's affinity; the value before sbco's first change is recorded for restore.
 * Returns 0, -ESRCH when the thread is gone (its records are dropped), -errno otherwise. */
int sbco_actuator_set_affinity(struct sbco_actuator *a, int32_t tid, const struct sbco_cpuset *c);
/* The same for a vCPU of a libvirt domain, through pin (when set with
 * sbco_actuator_set_pinner()); restore goes the same way. */
int sbco_actuator_set_vcpu_affinity(struct sbco_actuator *a, int32_t tid, const char *uuid,
				    int32_t index, const struct sbco_cpuset *c);
void sbco_actuator_set_pinner(struct sbco_actuator *a, sbco_pin_fn pin, void *userdata);
/* Put back the original affinity of tid (the way it was set) and forget it: 0 (and
 * *ret_cpus), -ESRCH when the thread is gone (forgotten too), -ENOENT when sbco never
 * changed it, -errno when refused (kept for restore_all). */
int sbco_actuator_restore_affinity(struct sbco_actuator *a, int32_t tid,
				   struct sbco_cpuset *ret_cpus);
/* Apply one balancing action (cgroup: the vCPU's own cpu cgroup, for the weight lever);
 * original_slice_ns: the slice in force before sbco (0 = default; the dump's S flag tells).
 * Records the original first. Returns 0, -ESRCH, -errno. */
int sbco_actuator_apply(struct sbco_actuator *a, const struct sbco_action *act, const char *cgroup,
			int64_t original_slice_ns);
/* Crash safety: keep every recorded original also in path (written atomically: temp file,
 * fsync, rename) before the change it guards is made; removed after restore_all. Returns 0
 * or -errno of the first write. */
int sbco_actuator_set_state_file(struct sbco_actuator *a, const char *path);
/* At start: put back the originals a crashed run left in path, then remove it. Threads
 * are matched by tid and start time, so a recycled tid is not touched. A missing file is
 * not an error (0). Returns 0, or -EBADMSG for a file that is not sbco state (kept for
 * inspection, nothing applied), -ENOMEM. */
int sbco_state_restore(const char *path, const struct sbco_host_ops *ops, void *ud, sbco_pin_fn pin,
		       void *pin_ud, struct sbco_restore_stats *ret);
/* Put back every recorded original, newest change last undone first. */
void sbco_actuator_restore_all(struct sbco_actuator *a, struct sbco_restore_stats *ret);
/* The affinity tid had before sbco's first change: 0 and *ret, or -ENOENT (not changed). */
int sbco_actuator_original_affinity(const struct sbco_actuator *a, int32_t tid,
				    struct sbco_cpuset *ret);
/* Number of recorded originals (things that will be restored). */
size_t sbco_actuator_pending(const struct sbco_actuator *a);
/* Stall prevention (issue 14): move the threads tids (n) out of their cpu cgroup from into
 * group to (its parent must exist), which is created first (with from's weight) and recorded (from
 * -> to) before any thread moves. Returns the number of threads moved, or -errno (nothing recorded
 * when the group cannot be made). */
int sbco_actuator_isolate(struct sbco_actuator *a, const char *from, const char *to,
			  const int32_t *tids, size_t n);
/* Undo one isolation: every thread now in to (those moved and any they started) goes back
 * to from, to is removed and forgotten. Returns 0, -ENOENT when sbco made no such group,
 * -errno (kept for restore_all). */
int sbco_actuator_unisolate(struct sbco_actuator *a, const char *to);
/* Is group to one sbco made (and not yet undone)? */
bool sbco_actuator_isolated(const struct sbco_actuator *a, const char *to);

/* ---------------------------------------------------------------- engine: one policy cycle */

/* The loop body a daemon (or a test) runs: given the VM set and a fresh dump, measure,
 * decide, act. Owns the ledger and the actuator, so it can restore everything. */
struct sbco_engine;

struct sbco_engine_stats {
	uint64_t cycles;
	uint64_t vm_samples;   /* (cycle, managed-or-observed VM with >= 2 runnable vCPUs) */
	uint64_t stacked;      /* of those: two runnable siblings on one queue */
	uint64_t exceeded;     /* of those: distance >= alpha x Q on >= 2 queues */
	uint64_t exceeded_any; /* of those: distance >= alpha x Q, stacked ones included */
	uint64_t actions, action_errors, vanished;
	uint64_t placements;		  /* affinities set by anti-stacking */
	uint64_t stalls;		  /* guest stall episodes seen (sbco_stall_update) */
	uint32_t stalled_vms, lifted_vms; /* now: stalled; anti-stacking lifted after a stall */
};

/* root: host root for /proc reads; ops/ud: host operations (sbco_host_ops_real, "/").
 * Returns 0 and *ret, -ENOMEM. pat must outlive the engine. */
int sbco_engine_new(const struct sbco_host_ops *ops, void *ud, const char *root,
		    const struct sbco_patterns *pat, const struct sbco_balance_cfg *bal,
		    const struct sbco_cpuset *housekeeping, struct sbco_engine **ret);
struct sbco_engine *sbco_engine_free(struct sbco_engine *e);
/* Install the VM set and per-VM policy (parallel arrays; copied). Recomputes the
 * anti-stacking stripes with topo and applies the affinities that changed; VMs now in mode
 * off get their original affinities back. Returns 0 or -errno (-ENOMEM). */
int sbco_engine_set_vms(struct sbco_engine *e, const struct sbco_vm_list *vms,
			const struct sbco_vm_policy *pol, const struct sbco_topology *topo);
/* One cycle over a dump's text. Returns the number of actions applied, or -EBADMSG with err
 * filled (the engine keeps its last good state), or -ENOMEM. */
int sbco_engine_cycle(struct sbco_engine *e, const char *dump, size_t len, uint64_t now_ns,
		      char *err, size_t err_len);
void sbco_engine_get_stats(const struct sbco_engine *e, struct sbco_engine_stats *ret);
/* Keep originals in a state file for crash restore (see sbco_actuator_set_state_file). */
int sbco_engine_set_state_file(struct sbco_engine *e, const char *path);
/* A one-line summary: VMs per mode and the worst current distance (for STATUS=). */
void sbco_engine_summary(const struct sbco_engine *e, char *buf, size_t len);
/* Restrict distance balancing to these levers, in preference order (default: AUTO). */
void sbco_engine_set_levers(struct sbco_engine *e, const enum sbco_lever *levers, size_t n);
/* Route affinity changes of libvirt VMs through pin (e.g. sbco_libvirt_pin_vcpu). */
void sbco_engine_set_pinner(struct sbco_engine *e, sbco_pin_fn pin, void *userdata);
/* The last good cycle's snapshot, ordinates and VM distances (NULL before the first);
 * valid until the next cycle. */
void sbco_engine_last(const struct sbco_engine *e, const struct sbco_snapshot **ret_snap,
		      const struct sbco_ordinates **ret_ord, const struct sbco_vm_set **ret_set);
/* The VM list and policies in force (parallel), valid until the next set_vms. */
const struct sbco_vm_list *sbco_engine_vms(const struct sbco_engine *e,
					   const struct sbco_vm_policy **ret_pol);
/* What the engine did, for the caller's log (placements at set_vms, nudges per cycle). */
enum sbco_event_kind {
	SBCO_EVENT_PLACE,      /* anti-stacking: a vCPU's allowed CPUs set to cpus */
	SBCO_EVENT_NUDGE,      /* distance balancing: action applied */
	SBCO_EVENT_UNPLACE,    /* anti-stacking ended for a vCPU: its original cpus back */
	SBCO_EVENT_STALL,      /* a VM stalled (vcpu/tid: the starving vCPU, starving_ns), once
				  per episode; hold_ns > 0: its anti-stacking is lifted for that
				  long (UNPLACE events follow) */
	SBCO_EVENT_STALL_OVER, /* the hold is over: anti-stacking again (PLACE events follow) */
	SBCO_EVENT_ISOLATE,    /* stall prevention: moved vCPU threads of the VM from into group */
	SBCO_EVENT_UNISOLATE,  /* ... their way back: group emptied into from, removed */
	SBCO_EVENT_KPICK_OFF,  /* the patch offers pick-time balancing but /proc/sbco/vm
				  refused sbcod (err): the kernel neither counts nor lends at
				  its picks from now on; userspace loans only (vm NULL) */
};

/* What sbco did about a stall (SBCO_EVENT_STALL). */
enum sbco_stall_answer {
	SBCO_ANSWER_NOT_PLACED = 0, /* the VM is not anti-stacked by sbco (mode off, pinned) */
	SBCO_ANSWER_DETECT_ONLY,    /* it is, and stall.respond is false */
	SBCO_ANSWER_ROTATED,	    /* its vCPUs traded stripes */
	SBCO_ANSWER_LIFTED,	    /* anti-stacking lifted for hold_ns */
	SBCO_ANSWER_WAITING,	    /* already answered: lifted, or a rotation taking effect */
};

struct sbco_event {
	enum sbco_event_kind kind;
	const struct sbco_vm *vm; /* NULL when the thread is no longer known */
	int32_t vcpu;		  /* vCPU index, -1 unknown */
	int32_t tid;
	const struct sbco_cpuset *cpus;	  /* PLACE, UNPLACE */
	const struct sbco_action *action; /* NUDGE */
	int err;			  /* 0, or -errno when refused or gone (-ESRCH) */
	uint64_t starving_ns, hold_ns;	  /* STALL */
	enum sbco_stall_answer answer;	  /* STALL */
	const char *group, *from;	  /* ISOLATE, UNISOLATE */
	int32_t moved;			  /* ISOLATE: threads moved now */
};

typedef void (*sbco_event_fn)(void *userdata, const struct sbco_event *ev);
/* Call fn for every placement and nudge (pointers valid during the call only). */
void sbco_engine_set_observer(struct sbco_engine *e, sbco_event_fn fn, void *userdata);
/* The lending ledger: nudges in force, their originals and debts (valid until the next
 * cycle or restore). */
const struct sbco_ledger *sbco_engine_ledger(const struct sbco_engine *e);
/* Per-VM counts since the VM appeared (cumulative; rates come from differences). */
struct sbco_vm_counts {
	uint64_t samples;    /* cycles with >= 2 runnable vCPUs */
	uint64_t stacked;    /* of those: two runnable siblings on one queue */
	uint64_t exceeded;   /* of those: distance >= alpha x Q across queues */
	uint64_t nudges;     /* balancing actions applied to its vCPUs */
	uint64_t corun;	     /* of samples: every runnable vCPU on a CPU at once */
	uint64_t stalls;     /* guest stall episodes (see sbco_stall_update) */
	uint64_t stalled_ns; /* time spent stalled */
	uint64_t lifts;	     /* times its anti-stacking was lifted after a stall */
	uint64_t rotations;  /* times its stripes were rotated after a stall */
	bool stalled;	     /* stalled at the last cycle */
	bool lifted;	     /* anti-stacking lifted now */
	bool prevented;	     /* its vCPUs are apart from its other threads' cpu group now */
	int32_t stall_index, stall_tid; /* the starving vCPU of the last stall (-1 / 0: none) */
	uint64_t starving_ns;		/* how long it had been starving when last seen */
};
/* The counts of the VM whose VMM has this pid: 0, or -ENOENT (zeros) when unknown. */
int sbco_engine_vm_counts(const struct sbco_engine *e, int32_t pid, struct sbco_vm_counts *ret);
/* Can this lever work with the last cycle's kernel and the VMs in force? (slice: Linux >=
 * 6.12; weight: every sbco vCPU in a cgroup of its own; nice: always.) */
bool sbco_engine_lever_works(const struct sbco_engine *e, enum sbco_lever lever);
/* The lever the last cycle used (SBCO_LEVER_AUTO: none works, measuring only). */
enum sbco_lever sbco_engine_lever(const struct sbco_engine *e);
/* The kernel's pick-time balancing as of the last cycle: "none" (no patch with "pick"),
 * "count" (the kernel counts every VM at its picks), "lend" (and runs Algorithm 1 for the
 * mode-sbco VMs there), "refused" (/proc/sbco/vm refused sbcod). */
const char *sbco_engine_kernel_pick(const struct sbco_engine *e);
/* Guest-stall detection settings, and whether to respond (lift anti-stacking of stalled
 * VMs in modes bal and sbco; default on) or only detect. */
void sbco_engine_set_stall(struct sbco_engine *e, const struct sbco_stall_cfg *cfg, bool respond);
/* Carry the per-VM stall state of from (holds, back-offs, lifted VMs, stall, rotation and
 * lift counts) into to, by VMM pid, before to's first sbco_engine_set_vms(): a config
 * reload rebuilds the engine and must not forget which VMs trap when they are placed
 * (a lifted VM stays lifted; the metrics' stall totals go on counting). */
int sbco_engine_take_stalls(struct sbco_engine *to, const struct sbco_engine *from);
/* Undo every change (affinity, slice, nice, weight). */
void sbco_engine_restore(struct sbco_engine *e, struct sbco_restore_stats *ret);

/* ---------------------------------------------------------------- metrics */

/* What a daemon adds to the engine's numbers (see sbco_metrics_write). */
struct sbco_metrics_extra {
	const char *version;
	int64_t cycle_ns, cycle_max_ns; /* last and longest good cycle */
	uint64_t cycle_errors;		/* failed cycles */
	uint64_t reloads, reload_errors;
	int libvirt;		  /* -1 not configured, 0 disconnected, 1 connected */
	uint64_t libvirt_events;  /* domain events received */
	unsigned metadata_errors; /* VMs whose domain metadata is invalid now */
};

/* The Prometheus text exposition of e (and x) on f: global counters, VMs by mode, and per
 * VM (labels vm, uuid) info with mode and policy source, vCPUs, distance, busy / stacked /
 * exceeded / co-run samples, nudges, kernel debt, run delay and CPU time from
 * root/proc/TID/schedstat. Returns 0 or -EIO / -ENOMEM. */
struct sbco_engine;
int sbco_metrics_write(FILE *f, const struct sbco_engine *e, const char *root,
		       const struct sbco_metrics_extra *x);
/* node_exporter's textfile collector: write text to dir/sbco.prom atomically (a hidden
 * temp file in dir, mode 0644, renamed over it). Returns 0 or -errno. */
int sbco_metrics_textfile(const char *dir, const char *text, size_t len);

/* ---------------------------------------------------------------- configuration */

enum sbco_match { SBCO_MATCH_NAME, SBCO_MATCH_UUID, SBCO_MATCH_GLOB };

/* One per-VM rule of the config: the first rule that matches a VM sets what it sets. */
struct sbco_vm_rule {
	enum sbco_match kind;
	char *pattern;
	bool has_mode, has_alpha, has_override;
	enum sbco_mode mode;
	double alpha;
	bool override_pinning;
};

#define SBCO_LEVERS_MAX 4

struct sbco_config {
	enum sbco_mode mode;			 /* "mode": "off" | "bal" | "sbco" (bal) */
	uint32_t interval_ms;			 /* "interval_ms": 10..10000 (250) */
	double alpha;				 /* "alpha": (0, 1] (2/3) */
	enum sbco_lever levers[SBCO_LEVERS_MAX]; /* "levers": allowed, in preference order */
	size_t nr_levers;			 /* (kernel, slice, weight, nice) */
	char *libvirt_uri;			 /* "libvirt_uri": string, or null = no libvirt */
	struct sbco_patterns patterns;		 /* "vcpu_patterns": [glob, ...] (the defaults) */
	struct sbco_cpuset housekeeping;	 /* "housekeeping_cpus": CPU list ("") */
	bool override_pinning;			 /* "override_pinning" (false) */
	struct sbco_balance_cfg balance;	 /* "balance": {boost_slice_us, hold_slice_us,
						    weight_factor, nice_step, dirty_timeout_ms,
						    max_loan_ms} */
	struct sbco_stall_cfg stall;		 /* "stall": {starve_share, detect_ms, hold_s,
						    hold_max_s} (guest stalls, issue 14) */
	bool stall_respond;			 /* "stall": {"respond": true}: lift anti-stacking
						    of stalled VMs (false: detect only) */
	struct sbco_vm_rule *rules;		 /* "vms": [{"name"|"uuid"|"match": ..., "mode",
						    "alpha", "override_pinning"}, ...] */
	size_t nr_rules;
	bool domain_metadata;	      /* "domain_metadata": honour <sbco:policy> (true) */
	char *textfile_dir;	      /* "textfile_dir": node_exporter dir, or null */
	uint32_t textfile_interval_s; /* "textfile_interval_s": 1..3600 (15) */
};

/* Parse and validate a config. Every problem is collected as one line of *ret_errors
 * (malloc'ed, caller frees; NULL when none): "FILE:LINE:COL: syntax error" for JSON that
 * does not parse, "FILE: vms[2].alpha: must be in (0, 1], got 1.5" for values; unknown keys
 * are errors. Returns 0 and *ret, -EINVAL when there were errors, -ENOMEM. */
int sbco_config_parse(const char *text, size_t len, const char *filename, struct sbco_config **ret,
		      char **ret_errors);
/* Read and parse a file (max 1 MiB); -errno when it cannot be read (reported too). */
int sbco_config_load(const char *path, struct sbco_config **ret, char **ret_errors);
/* The defaults, as if from "{}". */
int sbco_config_default(struct sbco_config **ret);
struct sbco_config *sbco_config_free(struct sbco_config *c);
/* The policy for vm: the global values, overridden by the first matching rule, overridden
 * by the domain's valid metadata (when domain_metadata); ret->source says which won. */
void sbco_config_policy(const struct sbco_config *c, const struct sbco_vm *vm,
			struct sbco_vm_policy *ret);
/* The first allowed lever that works here (see SBCO_LEVER_AUTO): returns it, or -ENOENT
 * when none does (then there is no distance balancing). */
int sbco_lever_pick(const enum sbco_lever *allowed, size_t n, int major, int minor,
		    bool own_cgroups, bool kpatch);
const char *sbco_mode_name(enum sbco_mode m);
/* "default", "rule", "metadata", "override" */
const char *sbco_source_name(enum sbco_policy_source s);
const char *sbco_lever_name(enum sbco_lever l);

/* ---------------------------------------------------------------- control requests */

/* sbcod's control socket takes one JSON object per connection, from root or the group
 * "sbco": {"cmd": NAME} plus, per command, "vm" (status: no; distance: optional filter;
 * set-mode: required), "cpu" (runqueue: optional) and "mode" (set-mode: required). */
enum sbco_cmd {
	SBCO_CMD_STATUS = 0,
	SBCO_CMD_VMS,
	SBCO_CMD_DISTANCE,
	SBCO_CMD_RUNQUEUE,
	SBCO_CMD_SET_MODE, /* mutates */
	SBCO_CMD_RELOAD,   /* mutates */
	SBCO_CMD_METRICS,
	SBCO_CMD_MAX_,
};
#define SBCO_REQUEST_MAX   65536 /* bytes */
#define SBCO_REQUEST_DEPTH 2	 /* nesting of objects/arrays: the request object, one more */
#define SBCO_VM_NAME_MAX   64	 /* bytes with the NUL; libvirt allows longer, sbcod not */

struct sbco_request {
	enum sbco_cmd cmd;
	char vm[SBCO_VM_NAME_MAX]; /* "" when absent */
	bool has_cpu;
	int32_t cpu;
	enum sbco_mode mode; /* set-mode */
};

/* Validate one request of len bytes (no NUL needed; trailing whitespace allowed): size,
 * nesting depth (checked before parsing), JSON syntax, known command, only the keys that
 * command takes, each of its type and range; a VM name must be printable ASCII.
 * Returns 0 and fills *r, or -EINVAL with a printable reason of at most 200 bytes in err
 * (which names the key or the byte offset), -ENOMEM. */
int sbco_request_parse(const char *text, size_t len, struct sbco_request *r, char *err,
		       size_t errlen);
const char *sbco_cmd_name(enum sbco_cmd c);
bool sbco_cmd_mutates(enum sbco_cmd c);

/* ---------------------------------------------------------------- helpers */

/* Strict unsigned parse of a decimal string: the whole string, no sign, no overflow.
 * Returns 0 or -EINVAL/-ERANGE. */
int sbco_parse_u64(const char *s, uint64_t *ret);
/* Parse "[-]ms[.ffffff]" (the dump's SPLIT_NS format) to ns, exactly. n = length.
 * Returns 0 or -EINVAL/-ERANGE. */
int sbco_parse_ms_ns(const char *s, size_t n, int64_t *ret_ns);

#endif
