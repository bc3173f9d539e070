# SPDX-License-Identifier: MIT
# Benchmarks, run from the top Makefile as `$(MAKE) -f bench/bench.mk BUILD=$(BUILD) bench`
# (after it has built $(BUILD)/libsbco.a). Dump parse time vs size: gen_dump writes synthetic
# 6.18 scheduler dumps into $(BUILD)/bench/, bench_parse times reading, parsing, ordinates and
# VM analysis of each and prints a markdown table, also kept in $(BUILD)/bench/parse.md.
# BENCH_MIN_MS / BENCH_MAX_REPS: per measurement, repeat until MIN_MS of runs (at least 5) or
# MAX_REPS runs, and keep the best.

BUILD ?= build
CC ?= gcc
B := $(BUILD)/bench
BENCH_CFLAGS := -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -Ilib
BENCH_LIBS := $(BUILD)/libsbco.a $(shell pkg-config --libs libcjson libvirt libvirt-qemu libnl-3.0 libcgroup) -lm -lpthread
BENCH_MIN_MS ?= 300
BENCH_MAX_REPS ?= 200
BENCH_SEED ?= 1

# CPUS-TASKS-VMS-VCPUS[-FLAG]: about 1.5 vCPUs per host CPU. By default a cfs_rq block for
# every group with a task on the CPU and one rt_rq per CPU. -R: one rt_rq per task group on
# every CPU (CONFIG_RT_GROUP_SCHED, as the fixture's kernel); -A: cfs_rq blocks only for
# groups with a runnable task there (idle group queues decayed off the leaf list).
PARSE_SIZES := 2-200-2-2 8-800-3-4 32-2000-12-4 64-4000-12-8 128-8000-24-8 256-5000-48-8 \
	256-20000-48-8 512-20000-96-8 256-20000-48-8-A 256-20000-48-8-R
PARSE_DUMPS := $(PARSE_SIZES:%=$(B)/dump-%.txt)
# bench_parse labels a file NOTE=FILE: the flagged dumps' rows say which variant they are.
note = $(if $(filter %-R,$(1)),RT_GROUP_SCHED=)$(if $(filter %-A,$(1)),busy-cfs_rq-only=)
PARSE_ARGS := $(foreach s,$(PARSE_SIZES),$(call note,$(s))$(B)/dump-$(s).txt)

.PHONY: bench bench-parse bench-discovery bench-policy bench-lhp bench-guests
.SECONDARY:

bench: bench-parse bench-discovery bench-policy bench-lhp bench-guests bench-sim

include bench/sim/sim.mk

# lhpbench: off / bal / sbco with sbcod on synthetic VMs (root); LHP=quick|full|SCENARIO...,
# results in bench/results/ (runs.csv, fair.csv, summary.md, plots)
bench-lhp:
	@sh bench/lhpbench.sh $(BUILD) $(or $(LHP),full)

# lhpbench on two TCG guests under the isolated libvirtd: spin lock, then pipe ping-pong
# (5 x 10 s per mode each; results in bench/results/guests-*.{csv,md})
bench-guests:
	@sh bench/lhpguests.sh $(BUILD) 5 10 spin 1
	@sh bench/lhpguests.sh $(BUILD) 5 10 pipe 1

# off / bal / sbco on real threads (needs root; mounts debugfs if needed).
bench-policy:
	@sh bench/policy.sh $(BUILD) $(or $(POLICY_SECS),10) $(or $(POLICY_ROUNDS),3)

# Algorithm 1 in the kernel (issue 5): the patched test kernel under TCG, policy_live
# pinned apart, the kernel's exact exceed rate with sbcod's loans and with pick-time loans
# (after `make all`, which builds policy_live and fakevm into the initramfs).
bench-kpick:
	@sh bench/kpick.sh $(BUILD) $(or $(KPICK_REPS),3)

# Pure spinners in the patched test kernel: ktest's pick-time rounds and held-phase
# experiments, queues of 3 and 4 (bench/ktest.sh; TCG boots, as root).
bench-ktest:
	@sh bench/ktest.sh $(BUILD) $(or $(KTEST_REPS),5) 3 4

# Full /proc discovery scan with synthetic VMs (fakevm processes it starts and ends).
bench-discovery: $(B)/bench_discovery
	@echo "| VMs x vCPUs | threads on host | VMs found | floor: read every comm, ms | full scan + CPU, ms | full scan, ms | steady scan (prev), ms |"
	@echo "|---|---:|---:|---:|---:|---:|---:|"
	@$(B)/bench_discovery $(BUILD) 10 8 30
	@$(B)/bench_discovery $(BUILD) 100 8 30

bench-parse: $(B)/bench_parse $(PARSE_DUMPS)
	@$(B)/bench_parse -m $(BENCH_MIN_MS) -r $(BENCH_MAX_REPS) $(PARSE_ARGS) > $(B)/parse.md.tmp; \
		r=$$?; cat $(B)/parse.md.tmp; mv $(B)/parse.md.tmp $(B)/parse.md; exit $$r

$(B)/%: bench/%.c $(BUILD)/libsbco.a lib/sbco.h
	@mkdir -p $(B)
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(BENCH_LIBS)

$(B)/dump-%.txt: $(B)/gen_dump
	@set -- $(subst -, ,$*); \
		$(B)/gen_dump -c $$1 -t $$2 -m $$3 -v $$4 -s $(BENCH_SEED) $${5:+-$$5} > $@.tmp && \
		mv $@.tmp $@
