# SPDX-License-Identifier: MIT
# Sourced by tests of the stall prevention (issue 14), which moves threads between cpu
# cgroups. thread_cpu_group DIR: the cpu cgroup path of the thread whose /proc directory
# is DIR (/proc/PID/task/TID), as the kernel prints it (v1 line naming cpu).
thread_cpu_group() { sed -n 's/^[0-9]*:[^:]*\<cpu\>[^:]*://p' "$1/cgroup"; }
