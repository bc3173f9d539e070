#!/bin/sh
# SPDX-License-Identifier: MIT
# Regenerate kernel/sbco.patch from a linux-source-6.12 tree being worked on (the one
# kernel/build.sh unpacked, e.g. build/kernel/linux-source-6.12): diff the files the patch
# touches against a pristine copy from /usr/src/linux-source-6.12.tar.xz, without
# timestamps. usage: kernel/mkpatch.sh TREE > kernel/sbco.patch
set -eu
TREE=$(cd "${1:?usage: kernel/mkpatch.sh TREE}" && pwd)
T=$(mktemp -d /tmp/sbco-mkpatch.XXXXXX)
trap 'rm -rf "$T"' EXIT
FILES="include/linux/sched.h kernel/Kconfig.preempt kernel/sched/build_utility.c
kernel/sched/debug.c kernel/sched/fair.c kernel/sched/features.h kernel/sched/sbco.c
kernel/sched/sched.h"
tar -xJf /usr/src/linux-source-6.12.tar.xz -C "$T" \
	$(for f in $FILES; do [ "$f" = kernel/sched/sbco.c ] || echo "linux-source-6.12/$f"; done)
mv "$T/linux-source-6.12" "$T/a"
for f in $FILES; do
	mkdir -p "$T/b/$(dirname "$f")"
	cp "$TREE/$f" "$T/b/$f"
done
cd "$T"
cat << 'MSG'
From: sbco developers <sbco@localhost>
Subject: [PATCH] sched/fair: exact run-queue ordinates and vruntime lending (sbco)

Keep the size of every timeline subtree in the min_vruntime augment
callbacks, so a task's rank in its cfs_rq (its ordinate) is found in
O(log n) by one walk to the root, and let root lend vruntime from one
task to another: the lender moves back at once under its own rq lock,
the borrower's opposite move is queued on its rq and applied at that
rq's next pick, so no two rq locks are ever held together. Both stay
marked dirty until the debt is applied and take no further loan.

And balance the distance at the pick (the paper's Algorithm 1): root
registers the vCPU threads of a VM; when one is picked, its siblings
queued on other CPUs are looked at under their rq locks, waited for
only in the rq lock order, else only tried; when the farthest is
alpha * Q or more behind, the picked vCPU and it move by one amount of
vruntime in opposite directions, chosen from both queues' deadlines so
that their next turns fall on the same tick, once per round. Picks,
picks over the threshold and loans are counted per VM, also for VMs
registered to count only.

Interface (procfs, usable under kernel lockdown): /proc/sbco/version,
/proc/sbco/lend ("A B NS"), /proc/sbco/queue (a consistent snapshot of
each root timeline), /proc/sbco/vm ("ID lend|count ALPHA TID..."),
se.sbco_ordinate and se.sbco_dirty in /proc/PID/sched, "ord=" in the
scheduler debug dump. The SBCO_LEND and SBCO_PICK sched_feats turn
lending and pick-time balancing off. Used by sbcod, which keeps the
vCPUs of each VM close together in time to cut lock-holder preemption.
---
MSG
diff -Naur a b | sed 's/^\(---\|+++\) \([^\t]*\)\t.*$/\1 \2/' || true
