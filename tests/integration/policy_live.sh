#!/bin/sh
# SPDX-License-Identifier: MIT
# The policy engine on real threads in modes off, bal and sbco (4 s each): no stacking
# under bal/sbco, everything restored; stacking and threshold-exceed rates are printed.
set -u
B=${1:-build}
. "$(dirname "$0")/../lib/debugfs.sh"
timeout 120 "$B/tests/policy_live" "$B" 4
