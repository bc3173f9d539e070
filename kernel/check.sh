#!/bin/sh
# SPDX-License-Identifier: MIT
# `make kernel-check`: the sbco kernel patch end to end.
#  1. kernel/sbco.patch applies cleanly to Debian's linux-source-6.12 and passes
#     scripts/checkpatch.pl --strict (no error, warning or check);
#  2. kernel/build.sh builds the test kernel (tinyconfig + kernel/config.list, lockdep on);
#  3. it boots under QEMU TCG (never KVM) with a busybox initramfs holding the static
#     kernel/test/ktest, whose checks and the kernel log scan are counted here (once
#     with 3 busy threads per CPU, once with 4: queues of 3 and of 4);
#  4. it boots again and runs sbcod's engine (tests/policy_live with synthetic VMs, off /
#     bal / sbco) on the patched kernel: the kernel lever is picked, every loan is
#     applied and none refused, the kernel counts every VM at its picks, everything is
#     restored, the kernel log stays clean; and once more with balance.kernel_pick
#     "lend": the kernel lends for the sbco VMs at its picks, sbcod lends nothing, and
#     the kernel's exact exceed rate under sbco is not above bal's (within 5 points).
# Prints "kernel-check: N passed, M failed"; exit 1 on any failure, 77 (SKIP) when the
# tools are missing. usage: kernel/check.sh BUILD_DIR
set -u
B=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/testlib.sh" # ROOT, KDIR, ok, bad, known_oops
for t in qemu-system-x86_64 cpio gzip patch gcc make; do
	command -v "$t" > /dev/null 2>&1 || { echo "SKIP: $t not installed (scripts/deps.sh check)"; exit 77; }
done
[ -r /usr/src/linux-source-6.12.tar.xz ] ||
	{ echo "SKIP: linux-source-6.12 not installed (scripts/deps.sh check)"; exit 77; }
[ -x /bin/busybox ] || { echo "SKIP: no static /bin/busybox (busybox-static)"; exit 77; }

# 1. a pristine tree: does the patch apply as it is, and does checkpatch accept it?
T=$(mktemp -d /tmp/sbco-kcheck.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/pristine"
timeout 900 tar -xJf /usr/src/linux-source-6.12.tar.xz -C "$T/pristine" \
	--wildcards 'linux-source-6.12/kernel/sched/*' 'linux-source-6.12/include/linux/sched.h' \
	'linux-source-6.12/kernel/Kconfig.preempt' 'linux-source-6.12/scripts/checkpatch.pl' \
	'linux-source-6.12/scripts/spelling.txt' 'linux-source-6.12/scripts/const_structs.checkpatch'
if patch -d "$T/pristine/linux-source-6.12" -p1 --dry-run -s < "$HERE/sbco.patch" > "$T/apply" 2>&1 &&
	! grep -qi 'fuzz\|offset' "$T/apply"; then
	ok "kernel/sbco.patch applies cleanly (no fuzz, no offset) to linux-source-6.12"
else
	bad "kernel/sbco.patch does not apply cleanly: $(cat "$T/apply")"
fi
(cd "$T/pristine/linux-source-6.12" && perl scripts/checkpatch.pl --no-tree --no-signoff --strict \
	--ignore FILE_PATH_CHANGES "$HERE/sbco.patch") > "$T/cp" 2>&1
if grep -Eq 'total: 0 errors, 0 warnings, 0 checks' "$T/cp"; then
	ok "checkpatch.pl --strict: $(grep total "$T/cp")"
else
	bad "checkpatch.pl:"; cat "$T/cp"
fi

# 2. build
t0=$(date +%s)
IMG=$(sh "$HERE/build.sh" "$KDIR") || { bad "kernel build failed"; echo "kernel-check: $P passed, $F failed"; exit 1; }
ok "kernel built in $(($(date +%s) - t0)) s: $IMG"

# 3. boot with the test initramfs
sh "$HERE/initramfs.sh" "$B" "$T/initramfs.cpio.gz" || { bad "ktest does not build"; exit 1; }
# The known intermittent oops (kernel/README.md, "Known problem"): NULL from pick_eevdf()
# dereferenced in pick_task_fair(). Strict by default; with SBCO_KCHECK_RETRY=1 (the short
# form in `make check`) a boot that hits exactly it is reported loudly and run once more.
KNOWN=0
boot_once() { # $1 = log, $2 = extra kernel arguments
	t0=$(date +%s)
	timeout 600 qemu-system-x86_64 -accel tcg,thread=multi -smp 2,sockets=2,cores=1,threads=1 \
		-m 512 -nographic -no-reboot -kernel "$IMG" -initrd "$T/initramfs.cpio.gz" \
		-append "console=ttyS0 quiet oops=panic panic=-1 $2" < /dev/null > "$T/$1.log" 2>&1
	echo "boot ($1): $(($(date +%s) - t0)) s"
	tr -d '\r' < "$T/$1.log" | sed -n 's/.*\(KTEST .*\)/\1/p' > "$T/$1"
}
boot() {
	boot_once "$@"
	if [ "${SBCO_KCHECK_RETRY:-0}" = 1 ] && known_oops "$T/$1.log"; then
		KNOWN=$((KNOWN + 1))
		echo "*** KNOWN PROBLEM: boot ($1) hit the pick_task_fair() NULL oops; kernel log:"
		tr -d '\r' < "$T/$1.log" | grep -E 'BUG:|RIP:|KTEST' | head -8
		echo "*** booting once more (SBCO_KCHECK_RETRY=1)"
		boot_once "$@"
	elif [ "${SBCO_KCHECK_RETRY:-0}" = 1 ] && grep -q '^KTEST FAIL: lending did not lower' "$T/$1" &&
		[ "$(sed -n 's/^KTEST PICK .*rq busy at \([0-9]*\) picks$/\1/p' "$T/$1")" -ge 30 ] 2> /dev/null; then
		# the other known limit (kernel/README.md): both CPUs pick at the same moment on
		# every tick, the later one in the lock order only tries the other's rq lock,
		# and lending corrects one direction of misalignment only
		KNOWN=$((KNOWN + 1))
		echo "*** KNOWN PROBLEM: boot ($1): held-phase lending failed with the sibling's rq busy:"
		grep -E '^KTEST (PICK|PHASE total|FAIL)' "$T/$1"
		echo "*** booting once more (SBCO_KCHECK_RETRY=1)"
		boot_once "$@"
	fi
}
boot policy policy=3
cat "$T/policy"
grep -q '^KTEST POLICY PASS' "$T/policy" && ok "sbcod's engine on the patched kernel: off/bal/sbco, all restored" ||
	bad "policy_live on the patched kernel"
# the kernel lever: sbcod lends through /proc/sbco/lend (every loan settled, none refused)
# and, on a patch with "pick", registers every VM for the kernel to count at its picks
kpick() { # $1 = log, $2 = mode: "PICKS LOANS" of the kernel's count in that mode
	sed -n "s/^KTEST POLICY mode $2 *: .*kernel picks \([0-9]*\) over threshold [0-9.]* % loans \([0-9]*\).*/\1 \2/p" "$T/$1"
}
set -- $(sed -n 's/^KTEST POLICY lend: lent \([0-9]*\) applied \([0-9]*\) dropped \([0-9]*\) refused \([0-9]*\)/\1 \2 \3 \4/p' "$T/policy")
if [ $# = 4 ] && [ "$1" -gt 0 ] && [ "$1" = "$(($2 + $3))" ] && [ "$4" = 0 ]; then
	ok "the kernel lever was used: $1 loans lent, $2 applied at the next pick, $3 dropped, 0 refused"
else
	bad "kernel lever: lent/applied/dropped/refused = ${*:-none}"
fi
set -- $(kpick policy off) $(kpick policy bal) $(kpick policy sbco)
if [ $# = 6 ] && [ "$1" -gt 0 ] && [ "$3" -gt 0 ] && [ "$5" -gt 0 ] && [ "$(($2 + $4 + $6))" = 0 ] &&
	grep -q '^KTEST POLICY mode sbco.* (count)$' "$T/policy"; then
	ok "the kernel counted every VM at its picks (off $1, bal $3, sbco $5 picks) and lent nothing"
else
	bad "kernel pick counts: off/bal/sbco picks and loans = ${*:-none} (sbco must say \"(count)\")"
fi
grep -q '^KTEST ok: kernel log clean' "$T/policy" && ok "kernel log clean after the policy run" ||
	bad "kernel log after the policy run"
# balance.kernel_pick "lend": the kernel balances the sbco VMs at its picks, sbcod lends
# nothing itself; off and bal are counted only
boot policylend "policy=3 kpick=lend"
grep -q '^KTEST POLICY PASS' "$T/policylend" || { bad "policy_live (kpick=lend)"; cat "$T/policylend"; }
grep '^KTEST POLICY mode' "$T/policylend"
set -- $(kpick policylend off) $(kpick policylend sbco) $(sed -n 's/^KTEST POLICY lend: lent \([0-9]*\) .*/\1/p' "$T/policylend")
if [ $# = 5 ] && [ "$1" -gt 0 ] && [ "$2" = 0 ] && [ "$3" -gt 0 ] && [ "$4" -gt 0 ] && [ "$5" = 0 ] &&
	grep -q '^KTEST POLICY mode sbco.* (lend)$' "$T/policylend"; then
	ok "kernel_pick lend: the kernel lent $4 times in $3 picks of the sbco VMs, none in off; sbcod lent nothing"
else
	bad "kernel_pick lend: off picks/loans, sbco picks/loans, /proc/sbco/lend lent = ${*:-none} (sbco must say \"(lend)\")"
fi
# the kernel's exact exceed rate, in tenths of a percent: lending at the picks must not
# raise it against bal (same placement, no loans) by more than one run's noise (5 points,
# about 2.5 standard errors with ~700 picks a side); the drop itself is asserted by
# ktest's held-phase experiments and measured by bench/kpick.sh
krate() { # $1 = log, $2 = mode
	sed -n "s/^KTEST POLICY mode $2 *: .*kernel picks [0-9]* over threshold \([0-9]*\)\.\([0-9]\) %.*/\1\2/p" "$T/$1"
}
set -- $(krate policylend bal) $(krate policylend sbco)
if [ $# = 2 ] && [ "$2" -le $(($1 + 50)) ]; then
	ok "kernel_pick lend: over the threshold at the kernel's picks bal $(($1 / 10)).$(($1 % 10)) %, sbco $(($2 / 10)).$(($2 % 10)) %"
else
	bad "kernel_pick lend raised the kernel's exceed rate against bal (tenths of %: ${*:-none})"
fi
grep -q '^KTEST ok: kernel log clean' "$T/policylend" && ok "kernel log clean after kernel_pick lend" ||
	bad "kernel log after kernel_pick lend"
ktest() { # $1 = log, $2 = extra kernel arguments: ktest's own checks are counted here
	boot "$1" "$2"
	cat "$T/$1"
	grep -q '^KTEST END' "$T/$1" || { bad "the guest did not finish (see below)"; tail -30 "$T/$1.log"; }
	grep -q '^KTEST BOOT .*cpus=2' "$T/$1" || bad "the guest did not see 2 CPUs"
	set -- $(sed -n 's/^KTEST RESULT pass \([0-9]*\) fail \([0-9]*\)/\1 \2/p' "$T/$1")
	if [ $# = 2 ]; then
		P=$((P + $1)); F=$((F + $2))
	else
		bad "no KTEST RESULT line"
	fi
}
ktest ktest ""
if grep -q '^KTEST ok: kernel log clean' "$T/ktest"; then ok "kernel log clean"; else bad "kernel log"; fi
grep '^KTEST AGREE' "$T/ktest" > "$B/kernel-agree.txt" 2> /dev/null || true
# queues of 4 (KTEST_THREADS=4): pick-time loans must fix a held phase there too
ktest ktest4 KTEST_THREADS=4
if grep -q '^KTEST ok: kernel log clean' "$T/ktest4"; then ok "kernel log clean (queues of 4)"; else bad "kernel log (queues of 4)"; fi
[ "$KNOWN" = 0 ] || echo "*** KNOWN PROBLEM hit $KNOWN time(s) and retried: see kernel/README.md"
echo "kernel-check: $P passed, $F failed"
[ "$F" = 0 ]
