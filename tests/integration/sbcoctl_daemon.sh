#!/bin/sh
# SPDX-License-Identifier: MIT
# sbcoctl's daemon verbs against a running sbcod (mode sbco) with synthetic VMs: status
# with kernel capabilities and cycle cost, distance [VM] per vCPU with nudges, runqueue
# [CPU] in the Fig. 3a layout with vCPUs by VM, metrics per VM, colour only when asked or
# on a terminal, errors that say what to do, and `top` driven in tmux (send-keys,
# capture-pane).
set -u
B=${1:-build}
. "$(dirname "$0")/../lib/debugfs.sh"
. "$(dirname "$0")/../lib/sbcod.sh"
TMUX_SOCK="sbcotest$$"
trap 'tmux -L "$TMUX_SOCK" kill-server 2> /dev/null; cleanup' EXIT
echo '{"libvirt_uri": null, "mode": "off", "interval_ms": 100, "vms": [{"name": "dA", "mode": "sbco"}, {"name": "dB", "mode": "sbco"}]}' > "$W/sbco.json"
start_sbcod "$W/sbco.json"
S="$B/sbcoctl --socket $W/sock"
sleep 1.5
$S status > "$W/out" || fail "status"
for k in '^ready *yes' '^kernel .*pick rule' '^dump */' '^levers *kernel no slice (yes|no) weight (yes|no) nice yes; in use: ' \
	'^kernel patch *absent' '^kernel picks *none$' '^cycle *every 100 ms: last [0-9.]+ ms read'; do
	grep -Eq "$k" "$W/out" || { cat "$W/out"; fail "status lacks /$k/"; }
done
echo "ok: status shows kernel capabilities, levers and cycle cost"
$S distance dA > "$W/out" || fail "distance dA"
grep -q '^dA  *sbco ' "$W/out" || { cat "$W/out"; fail "distance dA: no VM line"; }
[ "$(grep -c '^  vCPU [01] ' "$W/out")" = 2 ] || { cat "$W/out"; fail "distance dA: not 2 vCPU lines"; }
grep -q '^dB' "$W/out" && fail "distance dA also shows dB"
$S --json distance | grep -q '"vcpus":\[{"index":' || fail "distance --json lacks vcpus"
# the ledger's entries (nudges in flight, debts) appear once sbco has nudged a vCPU: two
# spin-lock VMs in mode sbco on this host get nudged within seconds
i=0
until $S --json distance | grep -q '"nudge":{"lever":"'; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "no nudge in the distance reply within 10 s"; sleep 0.1
done
$S distance nosuchvm 2> "$W/err" && fail "distance of an unknown VM succeeded"
grep -q "no VM named 'nosuchvm'.*daemon-vms" "$W/err" || fail "unknown VM error: $(cat "$W/err")"
echo "ok: distance [VM] per vCPU (CPU, ORDER, wait, nudge), unknown VM explained"
$S runqueue 0 > "$W/out" || fail "runqueue 0"
head -1 "$W/out" | grep -Eq '^cpu#0 runnable [0-9]+ rt [0-9]+ pick (EEVDF|CFS)' || fail "runqueue 0 header: $(head -1 "$W/out")"
grep -Eq '^  S +PID +key\(ms\) E +deadline COMMAND +ORDER +wait\(ms\)  VM' "$W/out" || fail "runqueue columns"
grep -q '^cpu#1' "$W/out" && fail "runqueue 0 shows cpu#1"
$S runqueue | grep -Eq 'CPU [01]/KVM +[0-9]+ +[0-9.]+  d[AB]$' || fail "runqueue: no vCPU row with its VM"
ESC=$(printf '\033')
grep -q "$ESC" "$W/out" && fail "colour escapes in piped output"
$S --color always runqueue | grep -q "$ESC\[" || fail "--color always gave no colour"
NO_COLOR=1 $S runqueue | grep -q "$ESC" && fail "NO_COLOR ignored"
$S runqueue 1000 2> "$W/err" && fail "runqueue of a missing CPU succeeded"
grep -q 'no such CPU' "$W/err" || fail "missing CPU error: $(cat "$W/err")"
$S runqueue 4096 2> "$W/err" && fail "runqueue of CPU 4096 succeeded"
grep -q '"cpu" must be a CPU number (0 to 1023)' "$W/err" || fail "CPU out of range error: $(cat "$W/err")"
$S runqueue x 2> /dev/null; [ $? = 2 ] || fail "runqueue x: not a usage error"
echo "ok: runqueue [CPU] in the Fig. 3a layout, vCPUs labelled by VM, colour only when asked"
$S metrics > "$W/out" || fail "metrics"
grep -q '^sbco_vm_busy_samples_total{vm="dA",uuid=""} [0-9]' "$W/out" || fail "per-VM metrics"
grep -q '^sbco_vm_distance{vm="dB",uuid=""} [0-9]' "$W/out" || fail "distance metric not by VM name"
grep -q '^sbco_vm_info{vm="dA",uuid="",mode="sbco",source="rule"} 1' "$W/out" || fail "sbco_vm_info"
grep -Eq '^sbco_vm_cpu_seconds_total\{vm="dA",uuid=""\} [1-9]' "$W/out" || fail "no CPU time of dA"
[ "$(grep -c '^# TYPE' "$W/out")" = "$(grep '^# TYPE' "$W/out" | sort -u | wc -l)" ] || fail "duplicate metric family"
PROMTOOL=$(sh scripts/promtool.sh "$B/tools") || fail "could not get promtool (scripts/promtool.sh)"
"$PROMTOOL" check metrics < "$W/out" > "$W/err" 2>&1 || { cat "$W/err"; fail "promtool check metrics"; }
echo "ok: metrics with per-VM counters, one TYPE line per family, promtool check metrics clean"
# the Grafana dashboard: valid JSON, and every series it queries is one sbcod exports
jq -e '.panels | length > 10' conf/grafana-dashboard.json > /dev/null || fail "dashboard JSON"
# (sbco_libvirt_* only exist with libvirt configured: fleet_metadata.sh checks those)
for m in $(jq -r '.. | .expr? // empty' conf/grafana-dashboard.json | grep -o 'sbco_[a-z_]*' |
	grep -v '^sbco_libvirt_' | sort -u); do
	grep -q "^# TYPE $m " "$W/out" || fail "dashboard queries $m, which sbcod does not export"
done
echo "ok: conf/grafana-dashboard.json parses and queries only exported metrics"
$S -n 2 -d 0.5 top > "$W/out" || fail "top -n 2"
[ "$(grep -c '^sbcoctl top' "$W/out")" = 2 ] || fail "top -n 2: not 2 frames"
grep -Eq '^d[AB] +sbco +2 ' "$W/out" || { cat "$W/out"; fail "top: no VM rows"; }
"$B/sbcoctl" --socket "$W/nosock" status 2> "$W/err" && fail "status without a daemon succeeded"
grep -q 'sbcod is not running: start it with systemctl start sbcod' "$W/err" || fail "no advice: $(cat "$W/err")"
echo "ok: top in batch mode; 'sbcod is not running' says what to do"
if ! command -v tmux > /dev/null 2>&1; then
	echo "SKIP: tmux not installed (scripts/deps.sh check installs it): top not tested on a terminal"
else
	tmux -L "$TMUX_SOCK" new-session -d -x 120 -y 30 "$S -d 0.5 top; echo TOP-EXIT-\$?; sleep 30"
	i=0
	until tmux -L "$TMUX_SOCK" capture-pane -p | grep -q 'stack%/m'; do
		i=$((i + 1)); [ $i -lt 50 ] || fail "top did not draw in tmux"; sleep 0.1
	done
	sleep 1.5 # three refreshes: the per-minute rates have two points
	tmux -L "$TMUX_SOCK" capture-pane -p > "$W/pane"
	grep -q '(q quits)' "$W/pane" || fail "top on a terminal: no key help"
	grep -Eq '^d[AB] +sbco +2 +[0-9]+ +[0-9]+ +[0-9.]+ +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9]+' "$W/pane" ||
		{ cat "$W/pane"; fail "top: no VM row with rates"; }
	[ "$(grep -c '^sbcoctl top' "$W/pane")" = 1 ] || fail "top did not clear the screen between frames"
	tmux -L "$TMUX_SOCK" send-keys q
	i=0
	until tmux -L "$TMUX_SOCK" capture-pane -p | grep -q 'TOP-EXIT-0'; do
		i=$((i + 1)); [ $i -lt 50 ] || fail "top did not quit on q"; sleep 0.1
	done
	echo "ok: top in tmux: draws VMs with per-minute rates, redraws in place, quits on q"
fi
kill -TERM "$SBCOD"
wait "$SBCOD" || fail "sbcod exit status"
echo PASS
