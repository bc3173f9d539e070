#!/bin/sh
# SPDX-License-Identifier: MIT
# The unit's SystemCallFilter= against what sbcod really calls: sbcod runs under strace
# -f on synthetic VMs in sbco mode (placements, nudges with every lever that works here,
# state file, metrics textfile, control requests, SIGHUP, SIGTERM and its restore), and
# every system call it made must be in the filter's sets as this host's systemd expands
# them (systemd-analyze syscall-filter). The libvirt client's calls are not covered here
# (libvirt_discovery runs the real thing without a filter).
set -u
B=${1:-build}
for c in strace systemd-analyze; do
	command -v $c > /dev/null || { echo "SKIP: no $c (scripts/deps.sh check)"; exit 77; }
done
. "$(dirname "$0")/../lib/debugfs.sh"
. "$(dirname "$0")/../lib/sbcod.sh"
UNIT=systemd/sbcod.service.in
filter=$(sed -n 's/^SystemCallFilter=//p' "$UNIT")
[ -n "$filter" ] || fail "$UNIT has no SystemCallFilter="
# expand the filter's groups (recursively) into syscall names
expand() {
	for x in "$@"; do
		case $x in
		@*) expand $(systemd-analyze syscall-filter "$x" | sed -n 's/^    \([@a-z0-9_-]*\)$/\1/p') ;;
		*) echo "$x" ;;
		esac
	done
}
expand $filter | sort -u > "$W/allowed"
[ "$(wc -l < "$W/allowed")" -gt 100 ] || fail "filter expanded to $(wc -l < "$W/allowed") calls only"
mkdir "$W/textfile"
cat > "$W/sbco.json" << JSON
{"libvirt_uri": null, "mode": "off", "interval_ms": 50, "textfile_dir": "$W/textfile",
 "textfile_interval_s": 1, "vms": [{"name": "dA", "mode": "sbco", "alpha": 0.34},
 {"name": "dB", "mode": "bal"}]}
JSON
"$B/tests/notify_listen" "$W/notify" 30 > "$W/notify.log" &
NL=$!
for _ in $(seq 1 100); do [ -S "$W/notify" ] && break; sleep 0.1; done # bound before sbcod
NOTIFY_SOCKET="$W/notify" strace -f -qq -o "$W/trace" "$B/sbcod" -c "$W/sbco.json" \
	--state "$W/state.json" --socket "$W/sock" > "$W/log" 2>&1 &
TR=$!
PIDS="$PIDS $TR"
wait "$NL" || fail "no READY=1 under strace"
SBCOD=$(pgrep -P "$TR" -x sbcod) || fail "no sbcod under strace"
for r in status vms distance runqueue metrics; do $CTL "{\"cmd\":\"$r\"}" > /dev/null; done
$CTL '{"cmd":"set-mode","vm":"dB","mode":"sbco"}' > /dev/null
kill -HUP "$SBCOD"
sleep 3
kill -TERM "$SBCOD"
wait "$TR" || fail "sbcod under strace exited non-zero"
grep -q 'Restored' "$W/log" || fail "no restore at exit"
# "PID name(args) = ..." and "PID <... name resumed>"; skip signals and exits
sed -n 's/^[0-9]* *\([a-z_0-9]*\)(.*/\1/p; s/^[0-9]* *<\.\.\. \([a-z_0-9]*\) resumed>.*/\1/p' \
	"$W/trace" | sort -u > "$W/used"
[ "$(wc -l < "$W/used")" -gt 20 ] || fail "only $(wc -l < "$W/used") distinct calls traced"
missing=$(comm -23 "$W/used" "$W/allowed")
[ -z "$missing" ] || fail "sbcod calls outside SystemCallFilter=$filter: $(echo $missing)"
echo "ok: all $(wc -l < "$W/used") distinct system calls sbcod made are in SystemCallFilter=$filter"
echo PASS
