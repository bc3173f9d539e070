# SPDX-License-Identifier: MIT
# sbco: one GNU Makefile, out-of-tree objects in build/, V=1 for full commands.
#   make            build lib, sbcoctl (and later sbcod) into build/
#   make check      install deps, build, unit tests, ASan+UBSan unit tests, fuzz replay,
#                   short libFuzzer run, valgrind, live tests; ends with "N passed, N failed"
#   make run        (root) install deps, build, run the daemon in the foreground
#   make bench      benchmarks -> bench/RESULTS.md tables on stdout
#   make fuzz       libFuzzer targets (FUZZ_SECONDS=60 each by default)
#   make install    DESTDIR= PREFIX=/usr/local
#   make deb        the Debian package (build/deb/sbco_*.deb); deb-check installs, checks,
#                   purges it (root); unit-check runs the unit tests alone
#   make format / format-check / man / asan / clean

PREFIX ?= /usr/local
# one version, from debian/changelog (the package and the binaries agree)
VERSION := $(shell sed -n "1s/^[^(]*(\([^)]*\)).*/\1/p" debian/changelog 2>/dev/null)
DESTDIR ?=
BUILD ?= build
CC ?= gcc
CLANG ?= clang
FUZZ_SECONDS ?= 60

ifeq ($(V),1)
Q :=
else
Q := @
endif

PKGS := libcjson libvirt libvirt-qemu libnl-3.0 libcgroup libsystemd libxml-2.0
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wundef -Wpointer-arith -Wwrite-strings -Wcast-align -fno-common
BASE_CFLAGS := $(WARN) -D_GNU_SOURCE -DSBCO_VERSION='"$(or $(VERSION),unknown)"' -Ilib -MMD -MP $(PKG_CFLAGS)
OPT_CFLAGS ?= -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong
CFLAGS_ALL = $(BASE_CFLAGS) $(OPT_CFLAGS) $(EXTRA_CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lm $(EXTRA_LDFLAGS)

LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_SRCS := $(wildcard cli/*.c)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)
DAEMON_SRCS := $(wildcard daemon/*.c)
DAEMON_OBJS := $(DAEMON_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(HELPER_SRCS:tests/helpers/%.c=$(BUILD)/tests/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz-replay/%)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)

.SECONDARY:

.PHONY: demo all progs unit-check deb deb-check deps check check-build asan run bench fuzz fuzz-long fuzz-short soak install uninstall clean \
	format format-check man kernel kernel-check

progs: $(BUILD)/libsbco.a $(BUILD)/sbcoctl $(BUILD)/sbcod
all: progs $(HELPER_BINS) $(BUILD)/bench/lhpvm $(BUILD)/tests/fault_inject.so

# the unit tests alone, no root, no VMs (the package build runs these)
unit-check: $(UNIT_BINS)
	$(Q)for t in $(UNIT_BINS); do SBCO_FIXTURES=tests/fixtures/dumps $$t || exit 1; done

deb:
	$(Q)./scripts/deps.sh deb
	$(Q)sh scripts/deb.sh $(BUILD)/deb

# build, lint, install, verify, remove and purge the package on this host (root)
deb-check: deps
	$(Q)sh tests/integration/deb_check.sh $(BUILD)

# the version is compiled in
$(BUILD)/daemon/sbcod.o $(BUILD)/cli/sbcoctl.o: debian/changelog

deps:
	$(Q)./scripts/deps.sh check

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/libsbco.a: $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/sbcoctl: $(CLI_OBJS) $(BUILD)/libsbco.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $(CLI_OBJS) $(BUILD)/libsbco.a $(LDLIBS_ALL)

$(BUILD)/sbcod: $(DAEMON_OBJS) $(BUILD)/libsbco.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $(DAEMON_OBJS) $(BUILD)/libsbco.a $(LDLIBS_ALL)

$(BUILD)/tests/test_%: $(BUILD)/tests/unit/test_%.o $(BUILD)/libsbco.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libsbco.a $(LDLIBS_ALL) -lcmocka

$(BUILD)/tests/%: $(BUILD)/tests/helpers/%.o $(BUILD)/libsbco.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libsbco.a $(LDLIBS_ALL) -lpthread

# the fault injector of the integration tests (LD_PRELOAD in front of sbcod)
$(BUILD)/tests/fault_inject.so: tests/faults/fault_inject.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS_ALL) -fPIC -shared -o $@ $< -ldl

# lhpbench's synthetic VM (bench/lhpbench.sh)
$(BUILD)/bench/lhpvm: $(BUILD)/bench/lhpvm.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< -lpthread

$(BUILD)/fuzz-replay/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/fuzz-main.o $(BUILD)/libsbco.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

# libFuzzer builds use clang and their own object files.
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRCS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(CLANG) -g -O1 -D_GNU_SOURCE -Ilib $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined \
		-o $@ $^ $(PKG_LIBS) -lm

check-build: all $(UNIT_BINS) $(FUZZ_REPLAY) man

# The whole gate: every suite reports through tests/run.sh, which prints the final tally.
check: deps
	$(Q)$(MAKE) --no-print-directory check-build
	$(Q)$(MAKE) --no-print-directory BUILD=build/asan \
		OPT_CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
		check-build
	$(Q)$(MAKE) --no-print-directory $(FUZZ_BINS)
	$(Q)tests/run.sh $(BUILD)

asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build/asan \
		OPT_CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
		check-build

fuzz: $(FUZZ_BINS)
	$(Q)for f in $(FUZZ_BINS); do n=$$(basename $$f); mkdir -p $(BUILD)/corpus/$$n; \
		$$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 $(BUILD)/corpus/$$n tests/fuzz/corpus/$$n \
		|| exit 1; done

# The long campaign: every target for FUZZ_LONG_SECONDS (600), 2 at a time, then source
# coverage of each parser from its final corpus; report in $(BUILD)/fuzz-long/report.md.
fuzz-long: $(FUZZ_BINS)
	$(Q)CLANG=$(CLANG) PKG_CFLAGS="$(PKG_CFLAGS)" PKG_LIBS="$(PKG_LIBS)" \
		sh scripts/fuzz-long.sh $(BUILD) $(or $(FUZZ_LONG_SECONDS),600) 2

# The churn soak at length (SOAK_SECONDS, 1800): RSS/fd samples to bench/results/soak.csv
# (make check runs it for 60 s).
soak: deps all
	$(Q)sh tests/integration/soak.sh $(BUILD) $(or $(SOAK_SECONDS),1800) bench/results/soak.csv
	$(Q)sh bench/soakplot.sh bench/results/soak.csv

# The sbco kernel patch (kernel/): build the test kernel, or build, boot and test it under
# QEMU TCG (also part of `make check`, as the suite kernel-check).
kernel:
	$(Q)sh kernel/build.sh $(BUILD)/kernel

kernel-check: deps all
	$(Q)sh kernel/check.sh $(BUILD)

# Issue 5 under a real libvirtd on the patched kernel: the test kernel under QEMU TCG with
# the host's root over virtio 9p runs libvirtd, two nested TCG domains and sbcod in phases
# off / bal / sbco (KLV_RUN=SECS,ROUNDS; make check runs 15,2).
kernel-libvirt: deps check-build
	$(Q)sh kernel/libvirt.sh $(BUILD) $(or $(KLV_RUN),20,3)

bench: all
	$(Q)$(MAKE) --no-print-directory -f bench/bench.mk BUILD=$(BUILD) bench

# On this host, in the foreground, with the shipped config (root; mounts debugfs if needed).
run: deps all
	$(Q)mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
	$(Q)echo "sbcod: SCHED_FIFO 1 as the unit runs it (sbcod(8), SYSTEMD)"
	chrt -f 1 $(BUILD)/sbcod --foreground --config conf/sbco.json

# Two TCG guests under a private libvirtd, hogs, sbcod switching off -> bal -> sbco (root).
demo: deps all
	$(Q)sh scripts/demo.sh $(BUILD) $(or $(DEMO_SECS),90)

SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/sbco
UNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,/etc/systemd/system)
SYSCONFDIR ?= /etc

install: progs man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(SYSCONFDIR)/sbco
	install -m 0755 $(BUILD)/sbcoctl $(DESTDIR)$(BINDIR)/sbcoctl
	install -m 0755 $(BUILD)/sbcod $(DESTDIR)$(SBINDIR)/sbcod
	install -m 0644 $(BUILD)/man/sbcoctl.8 $(BUILD)/man/sbcod.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(BUILD)/man/sbco.json.5 $(DESTDIR)$(MANDIR)/man5/
	sed 's|@SBINDIR@|$(SBINDIR)|' systemd/sbcod.service.in > $(DESTDIR)$(UNITDIR)/sbcod.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/sbcod.service
	install -m 0644 conf/sbco.json $(DESTDIR)$(DOCDIR)/sbco.json.example
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0644 cli/sbcoctl.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/sbcoctl
	[ -e $(DESTDIR)$(SYSCONFDIR)/sbco/sbco.json ] || \
		install -m 0644 conf/sbco.json $(DESTDIR)$(SYSCONFDIR)/sbco/sbco.json

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/sbcoctl $(DESTDIR)$(SBINDIR)/sbcod \
		$(DESTDIR)$(MANDIR)/man8/sbcoctl.8 $(DESTDIR)$(MANDIR)/man8/sbcod.8 \
		$(DESTDIR)$(MANDIR)/man5/sbco.json.5 $(DESTDIR)$(UNITDIR)/sbcod.service \
		$(DESTDIR)$(DOCDIR)/sbco.json.example \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/sbcoctl
	@echo "kept $(DESTDIR)$(SYSCONFDIR)/sbco/sbco.json (your config)"

MAN_SRCS := $(wildcard man/*.scd)
MAN_OUT := $(MAN_SRCS:man/%.scd=$(BUILD)/man/%)
man: $(MAN_OUT)
$(BUILD)/man/%: man/%.scd
	@mkdir -p $(dir $@)
	$(Q)scdoc < $< > $@

FORMAT_FILES = $(wildcard lib/*.[ch] cli/*.[ch] daemon/*.[ch] tests/unit/*.[ch] tests/fuzz/*.c tests/faults/*.c \
	tests/helpers/*.[ch] bench/*.c bench/sim/*.[ch])
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf build

-include $(shell find $(BUILD) \( -path $(BUILD)/kernel -o -path $(BUILD)/deb \) -prune -o -name '*.d' -type f -print 2>/dev/null)
