#!/bin/sh
# SPDX-License-Identifier: MIT
# Issue 5 on two TCG domains under a real libvirtd, on the patched kernel: this host cannot
# run kernel/sbco.patch, so the test kernel boots under QEMU TCG (never KVM) with the
# host's root read-only over virtio 9p, and inside it kernel/test/lvguest.sh starts
# libvirtd, two libvirt domains of 2 vCPUs (type 'qemu': TCG inside TCG, the test kernel
# spinning in its user space), one hog per CPU, and runs sbcod on them in phases off / bal /
# sbco (balance.kernel_pick "lend"). Nothing on the host is touched: libvirtd, its
# domains and sbcod live in the guest, on tmpfs.
# Asserted:
#  - libvirtd, both domains and every sbcod phase ran (no "fail:" line);
#  - the kernel counted both VMs at its picks in every phase, lent only under sbco;
#  - under bal and sbco: libvirt's vcpupin shows each domain's two vCPUs on disjoint CPUs
#    (affinity through virDomainPinVcpuFlags) and the kernel saw no sibling stacked;
#  - after every phase and at the end libvirt's vcpupin is what it was before sbcod;
#  - the kernel's exact threshold-exceed rate over all rounds, at every pick of a vCPU with
#    a runnable sibling, a stacked sibling's distance being its ordinate behind the picked
#    one (DESIGN.md's distance, Table II), drops under sbco against off;
#  - the rate over picks with the sibling on another CPU, printed for off / bal / sbco, is
#    not raised by the kernel's loans against bal (same placement) by more than 5 points;
#  - the kernel log is clean.
# Prints "kernel-libvirt: N passed, M failed"; exit 1 on failure, 77 (SKIP) when it cannot
# run here. usage: kernel/libvirt.sh [BUILD [SECS,ROUNDS]]     (default build 20,2)
set -u
B=${1:-build}
RUN=${2:-20,2}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/testlib.sh" # ROOT, KDIR, ok, bad, known_oops
for t in qemu-system-x86_64 libvirtd virsh cpio gzip gcc taskset; do
	command -v "$t" > /dev/null 2>&1 || { echo "SKIP: $t not installed (scripts/deps.sh check)"; exit 77; }
done
[ -x /bin/busybox ] || { echo "SKIP: no static /bin/busybox (busybox-static)"; exit 77; }
qemu-system-x86_64 -device help 2> /dev/null | grep -q virtio-9p-pci ||
	{ echo "SKIP: this QEMU has no virtio-9p (virtfs)"; exit 77; }
[ -x "$ROOT/$B/sbcod" ] || { echo "FAIL: no $B/sbcod (make first)"; exit 1; }

IMG=$(sh "$HERE/build.sh" "$KDIR") || { echo "FAIL: kernel build"; exit 1; }
T=$(mktemp -d /tmp/sbco-klv.XXXXXX)
trap 'rm -rf "$T"' EXIT
# the domains boot the test kernel too, with the test guests' initramfs (tests/libvirt)
mkdir -p "$ROOT/$B/kernel/lv"
. "$ROOT/tests/libvirt/env.sh"
LV_WORK=$T LV_SRC=$ROOT/tests/libvirt LV_IMAGES=$ROOT/$B/kernel/lv LV_GUEST_KERNEL=$IMG lv_build_guest ||
	{ echo "FAIL: the domains' initramfs"; exit 1; }
sh "$HERE/initramfs.sh" "$B" "$T/initramfs.cpio.gz" || { echo "FAIL: the initramfs"; exit 1; }
boot() {
	t0=$(date +%s)
	timeout 2400 qemu-system-x86_64 -accel tcg,thread=multi -smp 2,sockets=2,cores=1,threads=1 \
		-m 2048 -nographic -no-reboot -nic none -kernel "$IMG" -initrd "$T/initramfs.cpio.gz" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-append "console=ttyS0 quiet oops=panic panic=-1 libvirt=$ROOT lvb=$B lvrun=$RUN ${SBCO_KLV_ARGS:-}" \
		< /dev/null > "$T/boot.log" 2>&1
	echo "boot: $(($(date +%s) - t0)) s"
}
boot
if [ "${SBCO_KCHECK_RETRY:-0}" = 1 ] && known_oops "$T/boot.log"; then
	echo "*** KNOWN PROBLEM: the boot hit the base kernel's pick_task_fair() NULL oops (kernel/README.md):"
	tr -d '\r' < "$T/boot.log" | grep -E 'BUG:|RIP:|KTEST LIBVIRT [a-z]' | head -12
	echo "*** booting once more (SBCO_KCHECK_RETRY=1)"
	boot
fi
tr -d '\r' < "$T/boot.log" | sed -n 's/.*\(KTEST .*\)/\1/p' > "$T/k"
sed -n 's/^KTEST LIBVIRT //p' "$T/k" > "$T/lv"
cat "$T/lv"
grep -q '^KTEST END' "$T/k" || { bad "the guest did not finish"; tail -30 "$T/boot.log"; }
grep -q '^done$' "$T/lv" && ! grep -q '^fail:' "$T/lv" &&
	ok "libvirtd, two TCG domains and sbcod in every phase ran in the patched kernel" ||
	bad "the run inside the guest: $(grep '^fail:' "$T/lv" | head -3)"

# phase MODE ROUND: samples S exceeded E loans L stacked K any A any_exceeded X
sum() { # $1 = mode: "SAMPLES EXCEEDED LOANS STACKED PHASES ANY ANY_EXCEEDED" over the rounds
	awk -v m="$1" '$1 == "phase" && $2 == m { s += $5; e += $7; l += $9; k += $11; a += $13; x += $15; n++ }
		END { printf "%d %d %d %d %d %d %d\n", s, e, l, k, n, a, x }' "$T/lv"
}
rate() { awk -v s="$1" -v e="$2" 'BEGIN { if (s > 0) printf "%.1f", 100 * e / s; else print "-" }'; }
R=${RUN#*,}
for m in off bal sbco; do
	set -- $(sum $m)
	eval "S_$m=$1 E_$m=$2 A_$m=$6 X_$m=$7"
	if [ "$5" = "$R" ] && [ "$1" -gt 0 ]; then
		ok "$m: the kernel counted $6 picks of both VMs with a sibling runnable in $5 phases, $7 over the threshold ($(rate "$6" "$7") %); $1 with it on another CPU, $2 over ($(rate "$1" "$2") %); $3 loans, $4 stacked"
	else
		bad "$m: $5 of $R phases measured, $1 picks"
	fi
	case $m in
	sbco) [ "$3" -gt 0 ] || bad "sbco: the kernel did not lend at its picks" ;;
	*) [ "$3" = 0 ] || bad "$m: the kernel lent $3 times" ;;
	esac
	[ $m = off ] || [ "$4" = 0 ] || bad "$m: the kernel saw siblings stacked $4 times"
done
# pin MODE ROUND: DOM VCPU CPUS DOM VCPU CPUS ...: both vCPUs of a domain on disjoint CPUs
awk '$1 == "pin" && $2 != "off" {
	for (i = 4; i + 2 <= NF; i += 3) c[$i "," $(i + 1)] = $(i + 2)
	for (d in c) { split(d, k, ","); if (k[2] != "0") continue
		o = c[k[1] ",1"]; if (o == "" || c[d] == o || index(c[d], "-") || index(o, "-")) bad = bad " " $2 ":" k[1] ":" c[d] "/" o }
	delete c; n++ }
	END { if (n == 0) bad = " none"; if (bad != "") { print bad; exit 1 } }' "$T/lv" > "$T/pins" &&
	ok "bal and sbco: each domain's vCPUs pinned apart through libvirt ($(grep -c '^pin [bs]' "$T/lv") phases)" ||
	bad "siblings not pinned apart under bal/sbco:$(cat "$T/pins")"
o=$(sed -n 's/^original pinning://p' "$T/lv")
if [ -n "$o" ] && [ "$(sed -n 's/^restored://p' "$T/lv")" = "$o" ]; then
	ok "libvirt's vcpupin back to the original after sbcod:$o"
else
	bad "pinning after sbcod: $(sed -n 's/^restored://p' "$T/lv") (was $o)"
fi
# the kernel's exact exceed rate (DESIGN.md's distance: stacked siblings count) drops under
# sbco against off: anti-stacking and the loans together, what mode sbco is
A3="off $(rate "${A_off:-0}" "${X_off:-0}") %, bal $(rate "${A_bal:-0}" "${X_bal:-0}") %, sbco $(rate "${A_sbco:-0}" "${X_sbco:-0}") %"
echo "exceed rate at the kernel's picks (stacked siblings counted): $A3"
if [ "${A_off:-0}" -gt 0 ] && [ "${A_sbco:-0}" -gt 0 ] &&
	[ $((X_sbco * A_off)) -lt $((X_off * A_sbco)) ]; then
	ok "the threshold-exceed rate drops under sbco against off: $A3"
else
	bad "the threshold-exceed rate did not drop under sbco against off (or nothing measured): $A3"
fi
# the rate across CPUs only: printed for the three modes side by side. Lending at the
# picks must not raise it against bal (same placement, no loans) by more than 5 points;
# whether it lowers it here is measured, not asserted: in this setup it has not
# (bench/RESULTS.md, "Session 12": QEMU's main loops and sbcod reshuffle the queues)
R3="off $(rate "${S_off:-0}" "${E_off:-0}") %, bal $(rate "${S_bal:-0}" "${E_bal:-0}") %, sbco $(rate "${S_sbco:-0}" "${E_sbco:-0}") %"
echo "exceed rate at the kernel's picks, the sibling on another CPU: $R3"
if [ "${S_bal:-0}" -gt 0 ] && [ "${S_sbco:-0}" -gt 0 ] &&
	[ $((1000 * E_sbco / S_sbco)) -le $((1000 * E_bal / S_bal + 50)) ]; then
	ok "kernel_pick lend did not raise the exceed rate against bal: $R3"
else
	bad "kernel_pick lend raised the exceed rate against bal (or nothing measured): $R3"
fi
grep -q '^KTEST ok: kernel log clean' "$T/k" && ok "kernel log clean" || { bad "kernel log"; grep DMESG "$T/k" | head; }
echo "kernel-libvirt: $P passed, $F failed"
[ "$F" = 0 ]
