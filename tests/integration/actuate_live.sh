#!/bin/sh
# SPDX-License-Identifier: MIT
# Actuators on real threads and a real cpu cgroup, restored exactly.
exec timeout 60 "${1:-build}/tests/actuate_live"
