#!/bin/sh
# SPDX-License-Identifier: MIT
# Put Prometheus's own metrics linter, promtool, at DIR/promtool for the tests, from
# Debian's `prometheus` package without installing it (installing would start a
# Prometheus server listening on every interface): apt-get download + dpkg-deb -x.
# usage: scripts/promtool.sh DIR   (prints the path; idempotent)
set -eu
DIR=${1:?usage: scripts/promtool.sh DIR}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
if [ ! -x "$DIR/promtool" ]; then
	T=$(mktemp -d /tmp/sbco-promtool.XXXXXX)
	trap 'rm -rf "$T"' EXIT
	(cd "$T" && timeout 300 apt-get download -q prometheus > /dev/null 2>&1) ||
		{ echo "promtool.sh: apt-get download prometheus failed" >&2; exit 1; }
	dpkg-deb -x "$T"/prometheus_*.deb "$T/x"
	cp "$T/x/usr/bin/promtool" "$DIR/promtool"
fi
echo "$DIR/promtool"
