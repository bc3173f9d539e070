#!/bin/sh
# SPDX-License-Identifier: MIT
# The Debian package, end to end (`make deb-check`, and a suite of `make check`): build it
# from a clean copy of the tree, lintian (no errors, no warnings), `apt-get install` it,
# check the binaries, config, conffile, group, unit (installed, not enabled) and man
# pages; then crash the installed sbcod with a synthetic VM pinned, remove the package
# (prerm must put the VM's affinity back from the state file), purge it, and check that
# nothing of it is left: files, /etc/sbco, /run/sbco, the sbco group.
# It installs a package on this host, so it refuses (loud SKIP) where sbco is already
# installed or running: it never replaces an operator's sbco.
set -u
B=${1:-build}
. "$(dirname "$0")/../lib/debugfs.sh"
if dpkg-query -W -f='${Status}' sbco 2> /dev/null | grep -q ' installed'; then
	echo "SKIP: the sbco package is installed on this host; deb-check would replace and purge it"
	exit 77
fi
if pidof sbcod > /dev/null; then
	echo "SKIP: an sbcod runs on this host (pid $(pidof sbcod)); it would share /run/sbco with the test"
	exit 77
fi
for d in /etc/sbco /run/sbco; do
	[ -e "$d" ] && { echo "SKIP: $d exists and is not this test's to purge"; exit 77; }
done
for c in dpkg-buildpackage lintian apt-get; do
	command -v "$c" > /dev/null || { echo "FAIL: $c missing (scripts/deps.sh deb)"; exit 1; }
done
[ -x "$B/tests/fakevm" ] || { echo "FAIL: $B/tests/fakevm not built"; exit 1; }

W=$(mktemp -d /tmp/sbco-deb.XXXXXX)
PIDS=""
INSTALLED=
cleanup() {
	for p in $PIDS; do kill -9 "$p" 2> /dev/null; done
	wait 2> /dev/null
	if [ -n "$INSTALLED" ]; then
		timeout 300 apt-get purge -y -q sbco > /dev/null 2>&1
	fi
	rm -rf "$W"
	debugfs_cleanup
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
aff() { sed -n 's/^Cpus_allowed_list:\t//p' "/proc/$1/status"; }
export DEBIAN_FRONTEND=noninteractive

V=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
timeout 1200 sh scripts/deb.sh "$W/out" > "$W/build.log" 2>&1 || { tail -30 "$W/build.log"; fail "package build"; }
DEB=$(ls "$W"/out/sbco_"$V"_*.deb) || fail "no sbco_${V}_*.deb"
echo "ok: built $(basename "$DEB") from a clean copy of the tree (unit tests run in the build)"
timeout 600 lintian --fail-on error,warning "$W"/out/sbco_"$V"_*.changes > "$W/lintian.log" 2>&1 ||
	{ cat "$W/lintian.log"; fail "lintian"; }
echo "ok: lintian: no errors, no warnings ($(grep -c '^[IP]:' "$W/lintian.log") infos, overrides in debian/sbco.lintian-overrides)"

timeout 600 apt-get install -y -q --no-install-recommends "$DEB" > "$W/apt.log" 2>&1 ||
	{ tail -20 "$W/apt.log"; fail "apt-get install $DEB"; }
INSTALLED=1
dpkg-query -W -f='${Status}' sbco | grep -q 'install ok installed' || fail "not installed"
dpkg-query -L sbco > "$W/files"
[ "$(sbcod --version)" = "sbcod $V" ] || fail "sbcod --version: $(sbcod --version)"
[ "$(sbcoctl --version)" = "sbcoctl $V" ] || fail "sbcoctl --version: $(sbcoctl --version)"
sbcod --check-config /etc/sbco/sbco.json || fail "sbcod --check-config /etc/sbco/sbco.json"
dpkg-query -W -f='${Conffiles}\n' sbco | grep -q '^ /etc/sbco/sbco.json ' || fail "sbco.json is not a conffile"
getent group sbco > /dev/null || fail "no sbco group (sysusers.d)"
[ -f /usr/lib/sysusers.d/sbco.conf ] || fail "no sysusers.d snippet"
timeout 60 systemd-analyze verify /lib/systemd/system/sbcod.service || fail "systemd-analyze verify"
if command -v systemctl > /dev/null; then
	en=$(systemctl is-enabled sbcod.service 2> /dev/null)
	[ "$en" = disabled ] || fail "the package enabled sbcod ($en): the operator decides"
fi
for m in sbcod sbcoctl sbco.json; do man -w "$m" > /dev/null 2>&1 || fail "man $m"; done
[ -f /usr/share/bash-completion/completions/sbcoctl ] || fail "no bash completion"
echo "ok: installed $V: binaries, conffile, sbco group, unit (verified, not enabled), man pages, completion"

# a crash of the installed sbcod leaves a pinned VM and the state file; removal restores it
"$B/tests/fakevm" -name guest=debvm -smp 2 -mode spin -time 60 > /dev/null 2>&1 &
VM=$!
PIDS="$PIDS $VM"
sleep 0.3
VCPU=$(for t in /proc/$VM/task/*; do grep -q '^CPU 1/' "$t/comm" && echo "${t##*/}"; done)
ALL=$(aff "$VCPU")
echo '{"libvirt_uri": null, "mode": "bal", "interval_ms": 100}' > "$W/sbco.json"
/usr/sbin/sbcod -c "$W/sbco.json" --socket "" > "$W/sbcod.log" 2>&1 &
D=$!
PIDS="$PIDS $D"
i=0
while [ $i -lt 100 ] && { [ ! -s /run/sbco/state.json ] || [ "$(aff "$VCPU")" = "$ALL" ]; }; do
	sleep 0.1; i=$((i + 1))
done
PINNED=$(aff "$VCPU")
[ "$PINNED" != "$ALL" ] && [ -s /run/sbco/state.json ] ||
	{ cat "$W/sbcod.log"; fail "sbcod did not pin the synthetic VM within 10 s (vCPU $VCPU: $PINNED)"; }
kill -9 "$D"
wait "$D" 2> /dev/null
echo "ok: installed sbcod pinned vCPU $VCPU ($ALL -> $PINNED), then SIGKILLed: state file left"

timeout 300 apt-get remove -y -q sbco > "$W/remove.log" 2>&1 || { cat "$W/remove.log"; fail "apt-get remove"; }
[ "$(aff "$VCPU")" = "$ALL" ] || { cat "$W/remove.log"; fail "removal left vCPU $VCPU pinned ($(aff "$VCPU"), was $ALL)"; }
[ ! -e /run/sbco/state.json ] || fail "state file left after removal restored it"
[ ! -e /usr/sbin/sbcod ] || fail "sbcod left after remove"
[ -f /etc/sbco/sbco.json ] || fail "remove (not purge) deleted the operator's config"
echo "ok: remove: prerm restored the crashed run's originals (vCPU $VCPU back to $ALL), config kept"

timeout 300 apt-get purge -y -q sbco > "$W/purge.log" 2>&1 || { cat "$W/purge.log"; fail "apt-get purge"; }
INSTALLED=
if dpkg-query -W -f='${Status}' sbco 2> /dev/null | grep -qv 'not-installed'; then
	fail "package still known to dpkg: $(dpkg-query -W -f='${Status}' sbco)"
fi
left=""
while read -r f; do
	[ -d "$f" ] && continue
	[ -e "$f" ] && left="$left $f"
done < "$W/files"
[ -z "$left" ] || fail "files left after purge:$left"
for d in /etc/sbco /run/sbco; do [ ! -e "$d" ] || fail "$d left after purge"; done
! getent group sbco > /dev/null || fail "sbco group left after purge"
echo "ok: purge: no file of the package, no /etc/sbco, no /run/sbco, no sbco group left"
echo PASS
