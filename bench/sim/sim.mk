# SPDX-License-Identifier: MIT
# sbcosim, the discrete-event host simulator driving the real libsbco policy (bench/sim/).
# Included by bench/bench.mk: `make bench-sim` builds it and runs the sweeps into
# bench/results/sim-*; $(BUILD)/bench/sbcosim alone is what tests/integration/sim_quick.sh
# builds. SIM_SECS, SIM_SEEDS, SIM_HOST_SECS size the sweeps (bench/sim/sweep.sh).

SIM_SRCS := $(wildcard bench/sim/*.c)
SIM_OBJS := $(SIM_SRCS:%.c=$(BUILD)/%.o)
SIM_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wundef -Wpointer-arith -Wwrite-strings -Wcast-align -fno-common \
	-D_GNU_SOURCE -Ilib -Ibench/sim -MMD -MP
SIM_LIBS := $(BUILD)/libsbco.a $(shell pkg-config --libs libcjson libvirt libvirt-qemu libnl-3.0 \
	libcgroup libsystemd libxml-2.0 2>/dev/null) -lm

.PHONY: bench-sim

$(BUILD)/bench/sim/%.o: bench/sim/%.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $<")
	$(if $(V),,@)$(CC) $(SIM_CFLAGS) -c -o $@ $<

$(BUILD)/bench/sbcosim: $(SIM_OBJS) $(BUILD)/libsbco.a
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LD      $@")
	$(if $(V),,@)$(CC) $(SIM_CFLAGS) -o $@ $(SIM_OBJS) $(SIM_LIBS)

bench-sim: $(BUILD)/bench/sbcosim
	@sh bench/sim/sweep.sh $(BUILD)/bench/sbcosim bench/results

-include $(wildcard $(BUILD)/bench/sim/*.d)
