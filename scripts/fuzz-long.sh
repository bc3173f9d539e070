#!/bin/sh
# SPDX-License-Identifier: MIT
# The long fuzz campaign (`make fuzz-long`): every libFuzzer target for SECONDS (default
# 600), JOBS at a time, each corpus seeded from tests/fuzz/corpus/NAME and kept in
# BUILD/fuzz-long/corpus-NAME. Then a clang source-coverage build of each target replays
# its final corpus, and llvm-cov reports the line and branch coverage of the parser's own
# files. Writes BUILD/fuzz-long/report.md (executions, speed, new inputs, peak RSS,
# libFuzzer edges and features, coverage); a crash keeps its input there and fails the run.
# usage: scripts/fuzz-long.sh BUILD [SECONDS] [JOBS]   (CLANG, PKG_CFLAGS, PKG_LIBS from make)
set -u
B=$1
SECS=${2:-600}
JOBS=${3:-2}
OUT=$B/fuzz-long
CLANG=${CLANG:-clang}
mkdir -p "$OUT"

# the files each parser lives in (what its coverage is measured on)
files_of() {
	case $1 in
	fuzz_dump) echo lib/dump.c lib/dump_row.c lib/ordinate.c lib/vm_distance.c ;;
	fuzz_config) echo lib/config.c ;;
	fuzz_domain_xml) echo lib/libvirt_domain.c ;;
	fuzz_meta) echo lib/vm_meta.c ;;
	fuzz_request) echo lib/request.c ;;
	fuzz_kpick) echo lib/kpick.c ;;
	*) echo lib/*.c ;;
	esac
}

run_one() { # $1 = fuzzer binary
	local n
	n=$(basename "$1")
	mkdir -p "$OUT/corpus-$n"
	"$1" -max_total_time="$SECS" -max_len=65536 -timeout=30 -print_final_stats=1 \
		-artifact_prefix="$OUT/crash-$n-" "$OUT/corpus-$n" "tests/fuzz/corpus/$n" \
		> "$OUT/$n.log" 2>&1
	echo $? > "$OUT/$n.rc"
}

stat_of() { # $1 = log, $2 = stat name
	sed -n "s/^stat::$2: *//p" "$1" | tail -1
}

# the campaign, JOBS at a time
set -- "$B"/fuzz/fuzz_*
[ -x "$1" ] || { echo "fuzz-long: no fuzzers in $B/fuzz (make $B/fuzz/...)" >&2; exit 1; }
echo "fuzz-long: $# targets x ${SECS}s, $JOBS at a time (started $(date -u +%FT%TZ))"
while [ $# -gt 0 ]; do
	pids=""
	for j in $(seq 1 "$JOBS"); do
		[ $# -gt 0 ] || break
		run_one "$1" &
		pids="$pids $!"
		shift
	done
	for p in $pids; do wait "$p"; done
done

# coverage: replay each final corpus through a source-coverage build
fail=0
{
	echo "| target | seconds | executions | exec/s | new inputs | corpus | peak RSS MB | edges (cov) | features (ft) | lines covered | branches covered | crashes | files |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
} > "$OUT/report.md"
for f in "$B"/fuzz/fuzz_*; do
	n=$(basename "$f")
	log=$OUT/$n.log
	rc=$(cat "$OUT/$n.rc" 2>/dev/null || echo 1)
	crashes=$(ls "$OUT" | grep -c "^crash-$n-" || true)
	[ "$rc" = 0 ] && [ "$crashes" = 0 ] || { fail=1; echo "fuzz-long: $n FAILED (exit $rc), see $log" >&2; tail -30 "$log" >&2; }
	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
	cov=$(echo "$done_line" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$done_line" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	src=$(files_of "$n")
	bin=$OUT/cov-$n
	# shellcheck disable=SC2086
	$CLANG -O0 -g -D_GNU_SOURCE -Ilib $PKG_CFLAGS -fprofile-instr-generate -fcoverage-mapping \
		-o "$bin" "tests/fuzz/$n.c" tests/fuzz/fuzz-main.c lib/*.c $PKG_LIBS -lm \
		|| { echo "fuzz-long: coverage build of $n failed" >&2; fail=1; continue; }
	LLVM_PROFILE_FILE=$OUT/$n.profraw "$bin" "$OUT/corpus-$n" > /dev/null 2>&1 \
		|| { echo "fuzz-long: coverage replay of $n failed" >&2; fail=1; }
	llvm-profdata-14 merge -sparse -o "$OUT/$n.profdata" "$OUT/$n.profraw"
	# shellcheck disable=SC2086
	llvm-cov-14 report "$bin" -instr-profile="$OUT/$n.profdata" $src > "$OUT/$n.cov.txt"
	# TOTAL row: regions missed cover% functions missed exec% lines missed cover% branches missed cover%
	tot=$(grep '^TOTAL' "$OUT/$n.cov.txt")
	lines=$(echo "$tot" | awk '{print $10 " of " $8}')
	branches=$(echo "$tot" | awk '{print $13 " of " $11}')
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$n" "$SECS" \
		"$(stat_of "$log" number_of_executed_units)" "$(stat_of "$log" average_exec_per_sec)" \
		"$(stat_of "$log" new_units_added)" "$(ls "$OUT/corpus-$n" | wc -l)" \
		"$(stat_of "$log" peak_rss_mb)" "${cov:-?}" "${ft:-?}" "$lines" "$branches" \
		"$crashes" "$(echo $src | sed 's/ /, /g')" >> "$OUT/report.md"
done
cat "$OUT/report.md"
[ "$fail" = 0 ] && echo "fuzz-long: no crash, no broken invariant" || echo "fuzz-long: FAILED"
exit "$fail"
