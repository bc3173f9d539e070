#!/bin/sh
# SPDX-License-Identifier: MIT
# Golden-output test of `sbcoctl analyze` on every fixture dump: the table (and --all on
# the two-VM host dump, --json on the 6.18 custom-slice dump) must match tests/golden/*.out
# byte for byte. After a deliberate output change, regenerate with --update and review the
# diff before committing it.
# usage: tests/golden/check.sh BUILD_DIR [--update]
set -u
B=$(cd "${1:-build}" && pwd)
UPDATE=${2:-}
HERE=$(cd "$(dirname "$0")" && pwd)
FIX=$(cd "$HERE/../fixtures/dumps" && pwd)
T=$(mktemp -d /tmp/sbco-golden.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
n=0
check() { # $1 = golden name, rest = sbcoctl arguments (run inside the fixture directory)
	g=$1; shift
	(cd "$FIX" && NO_COLOR=1 "$B/sbcoctl" "$@") > "$T/out" 2>&1
	echo "exit $?" >> "$T/out"
	n=$((n + 1))
	if [ "$UPDATE" = --update ]; then
		cp "$T/out" "$HERE/$g.out"
	elif ! cmp -s "$T/out" "$HERE/$g.out"; then
		echo "FAIL: sbcoctl $* differs from tests/golden/$g.out:"
		diff -u "$HERE/$g.out" "$T/out" | head -40
		fails=$((fails + 1))
	fi
}
for f in "$FIX"/*.txt; do
	name=$(basename "$f" .txt)
	check "$name" analyze "$name.txt"
done
check all-6.18-two-vms --all analyze sched-debug-6.18-two-vms.txt
check json-6.18-custom-slice --json analyze 6.18-host-custom-slice.txt
echo "$n golden outputs compared, $fails differ"
[ "$fails" = 0 ]
