#!/bin/sh
# SPDX-License-Identifier: MIT
# /proc backend on real processes: synthetic VMs, one churning vCPU-named threads.
exec timeout 60 "${1:-build}/tests/proc_discovery" "${1:-build}"
