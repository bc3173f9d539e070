# SPDX-License-Identifier: MIT
# Sourceable helpers for tests that need a real libvirtd with TCG guests, isolated from the
# host's own libvirt: everything runs in a private mount namespace (the caller re-executes
# itself under `unshare -m`), with tmpfs over libvirt's config/state/log directories and
# private copies of /etc/passwd and /etc/group that add the `libvirt-qemu` user. Domains are
# type 'qemu' (TCG), never KVM, named with a per-run prefix because cgroups are shared.
# Functions:
#   lv_skip_reason          prints why libvirt tests cannot run here; returns 0 if so
#   lv_reexec SECS SCRIPT [ARG...]  outside the namespace: exit 77 with a SKIP line when
#                           libvirt tests cannot run here, else re-execute SCRIPT in a
#                           private mount namespace (under timeout SECS unless 0), with
#                           SBCO_IN_NS=1 and this LV_PREFIX; inside it: return
#   lv_setup WORKDIR        isolate, build the guest initramfs, start libvirtd
#   lv_build_guest          the guest's initramfs and kernel into LV_IMAGES (default
#                           /var/lib/libvirt/images; kernel LV_GUEST_KERNEL, default the
#                           newest /boot/vmlinuz-*), with LV_WORK and LV_SRC set
#   lv_libvirtd_start | lv_libvirtd_stop | lv_libvirtd_restart  (start waits LV_START_SECS, 10,
#                           asking every LV_POLL5 fifths of a second, 1)
#   lv_define NAME VCPUS [CMDLINE [CURRENT]]  define a persistent TCG domain booting the
#                           test guest (CURRENT < VCPUS: the rest can be hot-plugged);
#                           LV_METADATA, when set, goes into its <metadata> element
#   lv_start NAME           start it and wait LV_BOOT_SECS (60) for BOOT-OK on its serial log
# LV_QEMU_CONF, when set, is added to the qemu.conf lv_isolate writes.
#   lv_cleanup              destroy + undefine our domains, stop libvirtd (idempotent)
LV_PREFIX=${LV_PREFIX:-sbcot$$}
LV_PIDFILE=/run/libvirt/sbco-test.pid
LV_VIRSH="timeout 60 virsh -q -c qemu:///system"
LV_CREATED_DIRS=""

lv_skip_reason() {
	[ "$(id -u)" = 0 ] || { echo "not root"; return 0; }
	for b in unshare libvirtd virsh qemu-system-x86_64 cpio gzip; do
		command -v "$b" > /dev/null 2>&1 || { echo "no '$b' (scripts/deps.sh check)"; return 0; }
	done
	[ -x /bin/busybox ] || { echo "no static /bin/busybox (busybox-static)"; return 0; }
	ls /boot/vmlinuz-* > /dev/null 2>&1 || { echo "no guest kernel /boot/vmlinuz-* (linux-image-amd64)"; return 0; }
	return 1
}

lv_reexec() {
	[ -n "${SBCO_IN_NS:-}" ] && return 0
	if why=$(lv_skip_reason); then echo "SKIP: $why"; exit 77; fi
	t=$1
	shift
	if [ "$t" -gt 0 ]; then
		set -- timeout "$t" unshare -m --propagation private sh "$@"
	else
		set -- unshare -m --propagation private sh "$@"
	fi
	SBCO_IN_NS=1 LV_PREFIX=$LV_PREFIX exec "$@"
}

lv_isolate() {
	# libvirt creates machine/ in each cgroup hierarchy; note which already existed
	LV_MACHINE_DIRS=""
	for d in /sys/fs/cgroup/*/machine /sys/fs/cgroup/machine; do
		[ -d "$d" ] || LV_MACHINE_DIRS="$LV_MACHINE_DIRS $d"
	done
	mount --make-rprivate /
	for d in /etc/libvirt /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt; do
		if [ ! -d "$d" ]; then mkdir -p "$d"; LV_CREATED_DIRS="$LV_CREATED_DIRS $d"; fi
		mount -t tmpfs -o mode=0755 tmpfs "$d"
	done
	mkdir -p /var/log/libvirt/qemu /var/lib/libvirt/qemu /var/lib/libvirt/images /var/cache/libvirt/qemu
	cp /etc/passwd "$LV_WORK/passwd"; cp /etc/group "$LV_WORK/group"
	grep -q '^libvirt-qemu:' "$LV_WORK/group" || echo 'libvirt-qemu:x:64055:' >> "$LV_WORK/group"
	grep -q '^libvirt-qemu:' "$LV_WORK/passwd" ||
		echo 'libvirt-qemu:x:64055:64055::/var/lib/libvirt:/usr/sbin/nologin' >> "$LV_WORK/passwd"
	mount --bind "$LV_WORK/passwd" /etc/passwd
	mount --bind "$LV_WORK/group" /etc/group
	cat > /etc/libvirt/qemu.conf <<'CONF'
user = "root"
group = "root"
security_driver = "none"
swtpm_user = "root"
swtpm_group = "root"
stdio_handler = "file"
CONF
	[ -z "${LV_QEMU_CONF:-}" ] || echo "$LV_QEMU_CONF" >> /etc/libvirt/qemu.conf
	cat > /etc/libvirt/libvirtd.conf <<'CONF'
listen_tls = 0
listen_tcp = 0
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
CONF
}

lv_build_guest() {
	root="$LV_WORK/initramfs"
	mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev"
	cp /bin/busybox "$root/bin/busybox"
	gcc -O2 -static -pthread -o "$root/bin/spin" "$LV_SRC/spin.c" || return 1
	cp "$LV_SRC/init" "$root/init"; chmod 755 "$root/init"
	mknod -m 600 "$root/dev/console" c 5 1
	mknod -m 666 "$root/dev/null" c 1 3
	(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) \
		> "${LV_IMAGES:-/var/lib/libvirt/images}/sbco-initramfs.cpio.gz"
	cp "${LV_GUEST_KERNEL:-$(ls /boot/vmlinuz-* | sort -V | tail -1)}" \
		"${LV_IMAGES:-/var/lib/libvirt/images}/sbco-vmlinuz"
}

lv_libvirtd_start() {
	libvirtd -d -p "$LV_PIDFILE" || return 1
	i=0
	nap=$(echo "${LV_POLL5:-1}" | awk '{ print $1 * 0.2 }')
	while [ $i -lt $((${LV_START_SECS:-10} * 5 / ${LV_POLL5:-1})) ]; do
		$LV_VIRSH version > /dev/null 2>&1 && return 0
		if [ $i -ge 2 ] && ! kill -0 "$(cat "$LV_PIDFILE" 2> /dev/null)" 2> /dev/null; then
			echo "libvirtd exited:" >&2
			tail -3 /var/log/libvirt/libvirtd.log >&2
			return 1
		fi
		sleep "$nap"; i=$((i + 1))
	done
	echo "libvirtd did not answer within ${LV_START_SECS:-10} s" >&2
	tail -3 /var/log/libvirt/libvirtd.log >&2
	return 1
}

lv_libvirtd_stop() {
	[ -f "$LV_PIDFILE" ] || return 0
	p=$(cat "$LV_PIDFILE")
	kill "$p" 2> /dev/null
	i=0
	while [ $i -lt 100 ] && kill -0 "$p" 2> /dev/null; do sleep 0.1; i=$((i + 1)); done
	kill -0 "$p" 2> /dev/null && kill -9 "$p"
	rm -f "$LV_PIDFILE"
}

lv_libvirtd_restart() { lv_libvirtd_stop && lv_libvirtd_start; }

lv_setup() {
	LV_WORK=$1
	LV_SRC=${LV_SRC:-$(cd "$(dirname "$0")/../libvirt" && pwd)}
	lv_isolate && lv_build_guest && lv_libvirtd_start
}

lv_define() {
	name=$1; vcpus=$2
	cat > "$LV_WORK/$name.xml" <<XML
<domain type='qemu'>
  <name>$name</name>
  <metadata>${LV_METADATA:-}</metadata>
  <memory unit='MiB'>192</memory>
  <vcpu placement='static' current='${4:-$vcpus}'>$vcpus</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>/var/lib/libvirt/images/sbco-vmlinuz</kernel>
    <initrd>/var/lib/libvirt/images/sbco-initramfs.cpio.gz</initrd>
    <cmdline>console=ttyS0 quiet ${3:-}</cmdline>
  </os>
  <features><acpi/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='file'>
      <source path='/var/log/libvirt/qemu/$name-serial.log'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
XML
	$LV_VIRSH define "$LV_WORK/$name.xml" > /dev/null
}

lv_start() {
	: > "/var/log/libvirt/qemu/$1-serial.log"
	$LV_VIRSH start "$1" > /dev/null || return 1
	i=0
	while [ $i -lt $((${LV_BOOT_SECS:-60} * 4)) ]; do
		grep -q BOOT-OK "/var/log/libvirt/qemu/$1-serial.log" 2> /dev/null && return 0
		sleep 0.25; i=$((i + 1))
	done
	echo "$1: no BOOT-OK within ${LV_BOOT_SECS:-60} s" >&2
	return 1
}

lv_cleanup() {
	# QEMU outlives libvirtd: end our guests by their pid files if libvirtd cannot
	for f in /run/libvirt/qemu/"$LV_PREFIX"*.pid; do
		[ -f "$f" ] || continue
		if ! [ -f "$LV_PIDFILE" ]; then kill "$(cat "$f")" 2> /dev/null; fi
	done
	if [ -f "$LV_PIDFILE" ]; then
		for d in $($LV_VIRSH list --all --name 2> /dev/null | grep "^$LV_PREFIX"); do
			$LV_VIRSH destroy "$d" > /dev/null 2>&1
			$LV_VIRSH undefine "$d" > /dev/null 2>&1
		done
	fi
	lv_libvirtd_stop
	for d in $LV_CREATED_DIRS; do umount "$d" 2> /dev/null; rmdir "$d" 2> /dev/null; done
	LV_CREATED_DIRS=""
	# groups sbcod's stall prevention made for our guests, left by a killed sbcod (empty
	# once the guests are gone)
	for d in /sys/fs/cgroup/*/machine/sbco.*"$LV_PREFIX"* /sys/fs/cgroup/machine/sbco.*"$LV_PREFIX"*; do
		[ -d "$d" ] && rmdir "$d"/*/ "$d" 2> /dev/null
	done
	for d in ${LV_MACHINE_DIRS:-}; do rmdir "$d" 2> /dev/null; done # only if empty
	LV_MACHINE_DIRS=""
}
