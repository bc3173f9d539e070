#!/bin/sh
# SPDX-License-Identifier: MIT
# Fleet integration on a real, isolated libvirtd with two 2-vCPU TCG guests (the config
# steers only this test's domains: global mode off, a rule "bal" for their name prefix): a
# domain defined with <sbco:policy mode='sbco' alpha='0.5'/> metadata gets that mode
# (source "metadata") over the rule's "bal"; a domain with invalid metadata is reported and
# keeps the rule's mode; `virsh metadata --live` changes the mode within one cycle (the
# metadata-change event) and the vCPUs follow (off: libvirt's masks back); removing it
# returns the VM to the config's rule. sbcod writes the node_exporter textfile, which promtool
# (Debian's, from the prometheus package, not installed) checks and which carries the
# VMs' series; `sbcoctl vms` shows the same precedence offline. Exit 77 when it cannot run.
set -u
B=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../libvirt/env.sh"
if [ -z "${SBCO_IN_NS:-}" ]; then
	if why=$(lv_skip_reason); then echo "SKIP: $why"; exit 77; fi
	# promtool first, outside the namespace (apt's own files and network as usual)
	PROMTOOL=$(sh "$HERE/../../scripts/promtool.sh" "$B/tools") ||
		{ echo "FAIL: could not get promtool (scripts/promtool.sh)"; exit 1; }
	export PROMTOOL
fi
lv_reexec 900 "$0" "$@"
B=$(cd "$B" && pwd)
W=$(mktemp -d /tmp/sbco-fleet.XXXXXX)
SBCOD=
trap '[ -n "$SBCOD" ] && kill "$SBCOD" 2> /dev/null; lv_cleanup; rm -rf "$W"' EXIT
trap 'exit 1' INT TERM
fail() { echo "FAIL: $*"; [ -f "$W/sbcod.log" ] && tail -15 "$W/sbcod.log"; exit 1; }
NS=http://sbco.dev/xmlns/libvirt/policy/1.0
lv_setup "$W" || fail "isolated libvirtd did not start"
D1=$LV_PREFIX-meta
D2=$LV_PREFIX-bad
LV_METADATA="<sbco:policy xmlns:sbco='$NS' mode='sbco' alpha='0.5'/>" lv_define "$D1" 2 ||
	fail "define $D1 with metadata"
LV_METADATA="<sbco:policy xmlns:sbco='$NS' mode='turbo'/>" lv_define "$D2" 2 || fail "define $D2"
{ lv_start "$D1" && lv_start "$D2"; } || fail "test domains did not boot"
echo "ok: $D1 (metadata mode sbco) and $D2 (invalid metadata) up under TCG"
[ -r /sys/kernel/debug/sched/debug ] || mount -t debugfs none /sys/kernel/debug 2> /dev/null
aff_of() { $LV_VIRSH vcpuinfo "$1" | sed -n 's/^CPU Affinity: *//p' | tr '\n' ' '; }
before1=$(aff_of "$D1")

mkdir "$W/textfile"
# anti-stacking is what this test checks: the stall response (issue 14, tested by
# stall_live) would lift it when these guests stall, as they do on 6.13-7.0 kernels
cat > "$W/sbco.json" << EOF
{"mode": "off", "interval_ms": 200, "stall": {"respond": false}, "textfile_dir": "$W/textfile", "textfile_interval_s": 1,
 "vms": [{"match": "$LV_PREFIX-*", "mode": "bal"}]}
EOF
out=$(timeout 60 "$B/sbcoctl" vms --config "$W/sbco.json") || fail "sbcoctl vms"
echo "$out" | grep -Eq "^$D1 .* sbco +0.50 metadata " || { echo "$out"; fail "sbcoctl vms: $D1 not sbco from metadata"; }
echo "$out" | grep -Eq "^$D2 .* bal +0.67 rule " || { echo "$out"; fail "sbcoctl vms: $D2 not bal by its config rule"; }
echo "$out" | grep -q "domain metadata ignored: mode: expected off, bal or sbco, got 'turbo'" ||
	{ echo "$out"; fail "sbcoctl vms does not say why $D2's metadata is ignored"; }
echo "ok: sbcoctl vms (offline) shows the metadata's mode over the config and the invalid one's reason"

. "$HERE/../lib/sbcod_start.sh"
sbcod_start "$W/sbco.json" "$W/sbcod.log" || fail "sbcod not READY"
vms() { "$B/sbcoctl" --timeout 30 --socket "$W/sock" daemon-vms; }
out=$(vms)
echo "$out" | grep -Eq "^$D1 .* sbco +0.50 metadata " || { echo "$out"; fail "sbcod: $D1 not sbco from metadata"; }
echo "$out" | grep -Eq "^$D2 .* bal +0.67 rule " || { echo "$out"; fail "sbcod: $D2 not bal"; }
grep -q "VM '$D2': sbco domain metadata ignored: mode: expected off, bal or sbco, got 'turbo'" \
	"$W/sbcod.log" || fail "invalid metadata of $D2 not logged"
kill -0 "$SBCOD" || fail "sbcod died"
echo "ok: sbcod: $D1 in mode sbco (alpha 0.5) from its metadata, $D2's invalid metadata logged and ignored"

# the node_exporter textfile: appears, passes promtool, carries the VMs' series
i=0
while [ $i -lt 50 ] && ! grep -q "sbco_vm_busy_samples_total{vm=\"$D1\"" "$W/textfile/sbco.prom" 2> /dev/null; do
	sleep 0.1; i=$((i + 1))
done
[ -f "$W/textfile/sbco.prom" ] || fail "no $W/textfile/sbco.prom"
"$PROMTOOL" check metrics < "$W/textfile/sbco.prom" > "$W/promtool.log" 2>&1 ||
	{ cat "$W/promtool.log"; fail "promtool check metrics"; }
[ "$(stat -c %a "$W/textfile/sbco.prom")" = 644 ] || fail "textfile not 0644"
for s in "sbco_vm_info{vm=\"$D1\",uuid=\"[0-9a-f-]*\",mode=\"sbco\",source=\"metadata\"} 1" \
	"sbco_vm_busy_samples_total{vm=\"$D1\",uuid=\"[0-9a-f-]*\"} [0-9]" \
	"sbco_vm_run_delay_seconds_total{vm=\"$D2\",uuid=\"[0-9a-f-]*\"} [0-9]" \
	"sbco_metadata_errors 1" "sbco_libvirt_up 1"; do
	grep -q "^$s" "$W/textfile/sbco.prom" || { cat "$W/textfile/sbco.prom"; fail "textfile lacks $s"; }
done
ls -A "$W/textfile" | grep -qv '^sbco.prom$' && fail "temp files left in the textfile dir"
echo "ok: textfile $W/textfile/sbco.prom written, promtool check metrics clean, VM series present"

# a live metadata change: the mode follows within one cycle, and the vCPUs with it
pinned1=$(aff_of "$D1")
case "$pinned1" in *yy*) fail "$D1 not anti-stacked in mode sbco: $pinned1" ;; esac
$LV_VIRSH metadata "$D1" --uri "$NS" --key sbco --set "<policy mode='off'/>" --live > /dev/null ||
	fail "virsh metadata --set"
t0=$(date +%s%N) # from the moment libvirt has it
c0=$("$B/sbcoctl" --timeout 30 --socket "$W/sock" request '{"cmd":"status"}' | jq .cycles)
i=0
while [ $i -lt 250 ] && ! vms | grep -Eq "^$D1 .* off +0.67 metadata "; do sleep 0.02; i=$((i + 1)); done
t1=$(date +%s%N)
vms | grep -Eq "^$D1 .* off +0.67 metadata " || { vms; fail "$D1 did not follow the metadata change to off"; }
ms=$(((t1 - t0) / 1000000))
# "within one cycle", independent of how loaded the host is: the change was in force from
# the cycle that was current when libvirt took it, or the next
c1=$("$B/sbcoctl" --timeout 30 --socket "$W/sock" request '{"cmd":"vms"}' |
	jq ".vms[] | select(.name == \"$D1\") | .policy_since_cycle")
[ -n "$c0" ] && [ -n "$c1" ] && [ "$c1" -le $((c0 + 1)) ] ||
	fail "mode in force from cycle $c1, libvirt had it at cycle $c0: more than one cycle"
[ "$(aff_of "$D1")" = "$before1" ] || fail "$D1 in mode off kept sbco's pinning: $(aff_of "$D1"), was $before1"
grep -q "VM '$D1': mode off alpha 0.667 (metadata), was sbco alpha 0.5 (metadata)" "$W/sbcod.log" ||
	fail "mode change not logged"
echo "ok: virsh metadata --live mode=off: in force from cycle $c1 (libvirt had it at cycle $c0), seen after $ms ms; libvirt's masks back"
$LV_VIRSH metadata "$D1" --uri "$NS" --remove --live > /dev/null || fail "virsh metadata --remove"
i=0
while [ $i -lt 100 ] && ! vms | grep -Eq "^$D1 .* bal +0.67 rule "; do sleep 0.02; i=$((i + 1)); done
vms | grep -Eq "^$D1 .* bal +0.67 rule " || { vms; fail "$D1 not back to the config's bal"; }
i=0
while [ $i -lt 50 ] && ! grep -q "^sbco_vm_info{vm=\"$D1\",uuid=\"[0-9a-f-]*\",mode=\"bal\",source=\"rule\"} 1" "$W/textfile/sbco.prom"; do
	sleep 0.1; i=$((i + 1))
done
grep -q "^sbco_vm_info{vm=\"$D1\",uuid=\"[0-9a-f-]*\",mode=\"bal\",source=\"rule\"} 1" "$W/textfile/sbco.prom" ||
	fail "textfile did not follow the mode change"
echo "ok: metadata removed: $D1 back to the config's bal (source rule), textfile updated"
kill -TERM "$SBCOD"
wait "$SBCOD" || fail "sbcod exit status"
SBCOD=
[ "$(aff_of "$D1")" = "$before1" ] || fail "masks not restored: $(aff_of "$D1")"
echo "ok: SIGTERM restored"
echo PASS
