#!/bin/sh
# SPDX-License-Identifier: MIT
# `make install` into a scratch DESTDIR installs binaries, unit, man pages and the config;
# the unit passes `systemd-analyze verify` (man pages found through MANPATH) and its
# `systemd-analyze security` exposure score is printed; uninstall keeps the config.
set -u
B=${1:-build}
command -v systemd-analyze > /dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
W=$(mktemp -d /tmp/sbco-install.XXXXXX)
trap 'rm -rf "$W"' EXIT
make --no-print-directory -s install BUILD="$B" DESTDIR="$W" PREFIX=/usr > "$W/log" 2>&1 ||
	{ cat "$W/log"; echo "FAIL: make install"; exit 1; }
for f in usr/bin/sbcoctl usr/sbin/sbcod usr/share/man/man8/sbcod.8 usr/share/man/man8/sbcoctl.8 \
	usr/share/man/man5/sbco.json.5 lib/systemd/system/sbcod.service etc/sbco/sbco.json; do
	[ -e "$W/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
"$W/usr/sbin/sbcod" --check-config "$W/etc/sbco/sbco.json" || { echo "FAIL: installed config"; exit 1; }
"$W/usr/bin/sbcoctl" config check "$W/etc/sbco/sbco.json" > /dev/null || { echo "FAIL: config check"; exit 1; }
echo '{"alpha": 1.5}' > "$W/bad.json"
"$W/usr/bin/sbcoctl" config check "$W/bad.json" 2>&1 | grep -q 'alpha: must be in (0, 1], got 1.5' ||
	{ echo "FAIL: config check did not name the field"; exit 1; }
# verify with the installed binary's real path, as systemd would see it on the host
sed "s|@SBINDIR@|$W/usr/sbin|" systemd/sbcod.service.in > "$W/sbcod.service"
MANPATH="$W/usr/share/man" timeout 60 systemd-analyze verify "$W/sbcod.service" ||
	{ echo "FAIL: systemd-analyze verify"; exit 1; }
echo "ok: systemd-analyze verify"
timeout 60 systemd-analyze security --offline=true "$W/sbcod.service" 2>&1 | tail -1
[ -e "$W/usr/share/bash-completion/completions/sbcoctl" ] || { echo "FAIL: completion"; exit 1; }
got=$(bash -c '. cli/sbcoctl.bash; COMP_WORDS=(sbcoctl sta); COMP_CWORD=1; _sbcoctl; echo "${COMPREPLY[*]}"')
[ "$got" = status ] || { echo "FAIL: completion of 'sta' gave '$got'"; exit 1; }
got=$(bash -c '. cli/sbcoctl.bash; COMP_WORDS=(sbcoctl set-mode vm1 s); COMP_CWORD=3; _sbcoctl; echo "${COMPREPLY[*]}"')
[ "$got" = sbco ] || { echo "FAIL: completion of a mode gave '$got'"; exit 1; }
got=$(bash -c '. cli/sbcoctl.bash; COMP_WORDS=(sbcoctl --color al); COMP_CWORD=2; _sbcoctl; echo "${COMPREPLY[*]}"')
[ "$got" = always ] || { echo "FAIL: completion of --color gave '$got'"; exit 1; }
echo "ok: bash completion"
# the installed man pages render without warnings and document every verb
for m in man8/sbcod.8 man8/sbcoctl.8 man5/sbco.json.5; do
	out=$(MANWIDTH=80 man -l "$W/usr/share/man/$m" 2>&1 > /dev/null) || { echo "FAIL: man -l $m"; exit 1; }
	[ -z "$out" ] || { echo "FAIL: man -l $m warned: $out"; exit 1; }
done
for v in analyze snapshot vms status distance runqueue top daemon-vms metrics reload set-mode request; do
	MANWIDTH=80 man -l "$W/usr/share/man/man8/sbcoctl.8" 2> /dev/null | grep -Eq "^       ([a-z-]+, )*$v( |,|$)" ||
		{ echo "FAIL: sbcoctl(8) does not document '$v'"; exit 1; }
done
echo "ok: man pages render (man -l) and sbcoctl(8) documents every verb"
make --no-print-directory -s uninstall BUILD="$B" DESTDIR="$W" PREFIX=/usr > /dev/null 2>&1
[ ! -e "$W/usr/sbin/sbcod" ] && [ -e "$W/etc/sbco/sbco.json" ] ||
	{ echo "FAIL: uninstall"; exit 1; }
echo PASS
