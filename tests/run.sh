#!/bin/sh
# SPDX-License-Identifier: MIT
# The test driver of `make check`: runs every suite, counts cmocka results per test case
# (other suites count as one test each), prints loud SKIP lines for what cannot run here,
# and ends with exactly one line "N passed, N failed". Exit status 1 if anything failed.
# usage: tests/run.sh BUILD_DIR
set -u
B=${1:-build}
A=build/asan
PASS=0
FAIL=0
SKIPS=""
LOG=$(mktemp -d /tmp/sbco-check.XXXXXX)
FUZZ_SECONDS=${FUZZ_SECONDS:-30}

count_cmocka() { # $1 = log file, $2 = exit status
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
	p=${p:-0}; f=${f:-0}
	if [ "$2" != 0 ] && [ "$f" = 0 ]; then f=1; fi # crashed before its summary
	PASS=$((PASS + p)); FAIL=$((FAIL + f))
	[ "$f" = 0 ] || { echo "---- $1"; cat "$1"; }
}

suite() { # $1 = name, rest = command; one test; exit 77 = skip
	name=$1; shift
	"$@" > "$LOG/$name.log" 2>&1
	rc=$?
	if [ $rc = 0 ]; then
		PASS=$((PASS + 1)); echo "PASS: $name"
	elif [ $rc = 77 ]; then
		why=$(grep -m1 '^SKIP' "$LOG/$name.log" || echo "SKIP: (no reason given)")
		SKIPS="$SKIPS
$name: $why"
		echo "*** SKIP: $name: $why"
	else
		FAIL=$((FAIL + 1)); echo "FAIL: $name (exit $rc)"; tail -40 "$LOG/$name.log"
	fi
}

export SBCO_FIXTURES=${SBCO_FIXTURES:-tests/fixtures/dumps}

for t in "$B"/tests/test_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	"$t" > "$LOG/$n.log" 2>&1; count_cmocka "$LOG/$n.log" $?
	echo "unit: $n"
done
for t in "$A"/tests/test_*; do
	[ -x "$t" ] || continue
	n=asan-$(basename "$t")
	"$t" > "$LOG/$n.log" 2>&1; count_cmocka "$LOG/$n.log" $?
	echo "unit (ASan+UBSan): $n"
done
for f in "$B"/fuzz-replay/fuzz_* "$A"/fuzz-replay/fuzz_*; do
	[ -x "$f" ] || continue
	n=$(basename "$f")
	suite "replay-$n-$(basename "$(dirname "$(dirname "$f")")")" "$f" "tests/fuzz/corpus/$n"
done
for f in "$B"/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	n=$(basename "$f")
	mkdir -p "$LOG/corpus-$n"
	suite "libfuzzer-$n-${FUZZ_SECONDS}s" "$f" -max_total_time="$FUZZ_SECONDS" \
		-max_len=65536 -timeout=10 "$LOG/corpus-$n" "tests/fuzz/corpus/$n"
done
if command -v valgrind > /dev/null; then
	for t in "$B"/tests/test_*; do
		[ -x "$t" ] || continue
		suite "valgrind-$(basename "$t")" valgrind -q --error-exitcode=9 \
			--leak-check=full --errors-for-leak-kinds=definite "$t"
	done
	suite valgrind-sbcoctl-analyze valgrind -q --error-exitcode=9 --leak-check=full \
		--errors-for-leak-kinds=definite "$B/sbcoctl" analyze \
		"$SBCO_FIXTURES/sched-debug-6.18-two-vms-tuned.txt"
else
	SKIPS="$SKIPS
valgrind: SKIP: valgrind not installed"
fi
suite format-check make --no-print-directory format-check
suite golden-analyze sh tests/golden/check.sh "$B"
# the kernel patch: applies, checkpatch, builds (~6 min from scratch), boots and passes
suite kernel-check env SBCO_KCHECK_RETRY=1 sh kernel/check.sh "$B"
# issue 5 under a real libvirtd in the patched kernel: nested TCG domains, sbcod off/bal/sbco
suite kernel-libvirt env SBCO_KCHECK_RETRY=1 sh kernel/libvirt.sh "$B" 15,2
for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	suite "$(basename "$t" .sh)" sh "$t" "$B"
done
# the quick live tests once more on the ASan+UBSan build
for t in live_dump proc_discovery sbcod_daemon; do
	suite "asan-$t" sh "tests/integration/$t.sh" "$A"
done

rm -rf "$LOG"
if [ -n "$SKIPS" ]; then
	echo "================ SKIPPED ================$SKIPS"
	echo "========================================="
fi
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
