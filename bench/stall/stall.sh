#!/bin/sh
# SPDX-License-Identifier: MIT
# Issue 14, reproduction: guest stalls of anti-stacked TCG guests whose vCPU threads sit in
# cpu cgroups of their own. Two 2-vCPU TCG guests run the spin-lock workload (guest
# cmdline "spin", tests/libvirt/spin.c: "spin: ops/s=N" once a second on the serial
# console); for each phase the script records
#   - each guest's per-second ops/s (serial log lines, time-stamped by a sampler),
#   - the host's sched_switch + sched_wakeup events of the whole phase (a tracefs instance
#     of its own with trace_clock mono and a ring buffer big enough for the phase, so
#     nothing reads the trace while it is being taken; overruns are reported),
#   - /proc/TID/schedstat of the vCPU threads every 0.25 s and the scheduler dump
#     (/sys/kernel/debug/sched/debug) every DUMP_S seconds.
# The sampler runs SCHED_FIFO (chrt -f 20) so that it is not starved itself.
# Mode libvirt (A): under an isolated libvirtd (tests/libvirt/env.sh), `lv_define D 2 spin`;
#   phase unpinned, then phase pinned with `virsh vcpupin` (a: vcpu0->CPU0, vcpu1->CPU1;
#   b: vcpu0->CPU1, vcpu1->CPU0) — libvirt's cgroups: machine/qemu-N-D.libvirt-qemu/
#   {vcpu0,vcpu1,emulator}.
# Mode qemu (B): plain qemu-system-x86_64 -accel tcg (never KVM) guests with a hand-made
#   layout under /sys/fs/cgroup/cpu/sbcostall-PID/: phases percpu-unpinned (a/{vcpu0,vcpu1,
#   emulator} as libvirt does), percpu-pinned (taskset, same CPUs as above), flat-pinned
#   (both VMs' threads in one cgroup, flat/), pervm-pinned (one cgroup per VM, a/ and b/).
# Every phase directory is then analysed by bench/stall/analyze.sh (CSVs, summary, plots).
# usage: bench/stall/stall.sh [libvirt|qemu|all] [SECS_PINNED [SECS_UNPINNED]]   (root)
# env: STALL_DATA (raw data, default /tmp/sbco-stall-<date>, kept), STALL_OUT (plots and
#   per-second CSVs, default bench/results), STALL_BUF_KB (trace buffer per CPU, 65536),
#   STALL_DUMP_S (2), STALL_PHASES_B (the mode-B phase list above).
set -u
MODE=${1:-libvirt}
SECS_P=${2:-90}
SECS_U=${3:-40}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
. "$HERE/tests/libvirt/env.sh"
[ -n "${SBCO_IN_NS:-}" ] || LV_PREFIX=sbcostall$$
case $MODE in
libvirt | qemu | all) ;;
*) echo "usage: $0 [libvirt|qemu|all] [SECS_PINNED [SECS_UNPINNED]]" >&2; exit 2 ;;
esac
NB=4
[ "$MODE" = libvirt ] && NB=0
lv_reexec $((SECS_U + SECS_P + NB * SECS_P + 420)) "$0" "$@"

STAMP=$(date -u +%Y%m%dT%H%M%S)
DATA=${STALL_DATA:-/tmp/sbco-stall-$STAMP}
OUT=${STALL_OUT:-$HERE/bench/results}
BUF_KB=${STALL_BUF_KB:-65536}
DUMP_S=${STALL_DUMP_S:-2}
PHASES_B=${STALL_PHASES_B:-percpu-unpinned percpu-pinned flat-pinned pervm-pinned}
LV_SRC=$HERE/tests/libvirt
W=$(mktemp -d /tmp/sbco-stall-w.XXXXXX)
mkdir -p "$DATA" "$OUT"
SAMPLER=""
QPIDS=""
CG=""
TR=""
TR_GLOBAL_SAVED=""
NS_ID=sbcostall$$

log() { echo "stall: $*" >&2; }

# ---- tracefs: an instance of our own (global settings untouched), else the global buffer
# with its settings saved and restored
tracefs_dir() {
	for d in /sys/kernel/tracing /sys/kernel/debug/tracing; do
		[ -d "$d/instances" ] && { echo "$d"; return 0; }
	done
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug 2> /dev/null
	[ -d /sys/kernel/debug/tracing/instances ] && { echo /sys/kernel/debug/tracing; return 0; }
	mount -t tracefs nodev /sys/kernel/tracing 2> /dev/null &&
		[ -d /sys/kernel/tracing/instances ] && { echo /sys/kernel/tracing; return 0; }
	return 1
}

trace_setup() {
	T=$(tracefs_dir) || { log "no tracefs"; return 1; }
	if mkdir "$T/instances/$NS_ID" 2> /dev/null; then
		TR=$T/instances/$NS_ID
	else
		TR=$T
		TR_GLOBAL_SAVED="$(cat "$T/tracing_on") $(cat "$T/buffer_size_kb" | sed 's/ .*//')"
		TR_GLOBAL_SAVED="$TR_GLOBAL_SAVED $(sed 's/.*\[\(.*\)\].*/\1/' "$T/trace_clock")"
		TR_GLOBAL_SAVED="$TR_GLOBAL_SAVED $(cat "$T/events/sched/sched_switch/enable")"
		TR_GLOBAL_SAVED="$TR_GLOBAL_SAVED $(cat "$T/events/sched/sched_wakeup/enable")"
		log "no tracefs instance; using the global buffer (restored at exit: $TR_GLOBAL_SAVED)"
	fi
	echo 0 > "$TR/tracing_on"
	echo mono > "$TR/trace_clock" || return 1
	echo "$BUF_KB" > "$TR/buffer_size_kb" || return 1
	echo 1 > "$TR/events/sched/sched_switch/enable" || return 1
	echo 1 > "$TR/events/sched/sched_wakeup/enable" || return 1
	# count reweight_entity() calls (group entity weight changes) with the function tracer,
	# when this kernel allows it (STALL_FTRACE=0 turns it off)
	FT=""
	if [ "${STALL_FTRACE:-1}" = 1 ] && [ -z "$TR_GLOBAL_SAVED" ] &&
		echo reweight_entity > "$TR/set_ftrace_filter" 2> /dev/null &&
		echo function > "$TR/current_tracer" 2> /dev/null; then
		FT=" + function tracer on reweight_entity"
	else
		echo nop > "$TR/current_tracer" 2> /dev/null
		log "no function tracing of reweight_entity here"
	fi
	log "tracing into $TR (clock mono, $BUF_KB KB per CPU)$FT"
}

trace_teardown() {
	[ -n "$TR" ] || return 0
	echo 0 > "$TR/tracing_on"
	echo 0 > "$TR/events/sched/sched_switch/enable"
	echo 0 > "$TR/events/sched/sched_wakeup/enable"
	[ -z "$TR_GLOBAL_SAVED" ] && echo nop > "$TR/current_tracer" 2> /dev/null
	if [ -n "$TR_GLOBAL_SAVED" ]; then
		set -- $TR_GLOBAL_SAVED
		echo "$3" > "$TR/trace_clock"
		echo "$2" > "$TR/buffer_size_kb"
		echo "$4" > "$TR/events/sched/sched_switch/enable"
		echo "$5" > "$TR/events/sched/sched_wakeup/enable"
		echo "$1" > "$TR/tracing_on"
	else
		rmdir "$TR"
	fi
	TR=""
}

# ---- threads of a QEMU process: "tid label" with label G.v0, G.v1 (vCPU k = "CPU k/TCG")
# or G.emu (every other thread)
threads_of() {
	for t in /proc/"$1"/task/*; do
		tid=${t##*/}
		c=$(cat "$t/comm" 2> /dev/null) || continue
		case $c in
		"CPU "*"/TCG") k=${c#CPU }; k=${k%/TCG}; echo "$tid $2.v$k" ;;
		*) echo "$tid $2.emu" ;;
		esac
	done
}

ops_count() {
	c=$(grep -c "ops/s=" "$1" 2> /dev/null)
	echo "${c:-0}"
}

# sampler DIR SECS SERIAL_A SERIAL_B BASE_A BASE_B: every 0.25 s for SECS seconds write a
# sync marker "sbco-sync NA NB" (ops lines since the phase began) into the trace and a line
# "realtime NA NB tid:run_ns:wait_ns..." to DIR/samples.txt; every DUMP_S s the sched dump.
sampler() {
	d=$1 end=$(($(date +%s) + $2)) n=0 dn=$((DUMP_S * 4))
	mkdir -p "$d/dumps"
	while [ "$(date +%s)" -lt "$end" ]; do
		na=$(($(ops_count "$3") - $5))
		nb=$(($(ops_count "$4") - $6))
		echo "sbco-sync $na $nb" > "$TR/trace_marker"
		s=""
		while read -r tid lab; do
			case $lab in *.v*) s="$s $lab:$(cut -d' ' -f1,2 /proc/"$tid"/schedstat 2> /dev/null | tr ' ' :)" ;; esac
		done < "$d/threads.txt"
		echo "$(date +%s.%N) $na $nb$s" >> "$d/samples.txt"
		if [ $((n % dn)) = 0 ]; then
			{ echo "# realtime $(date +%s.%N)"; cat /sys/kernel/debug/sched/debug; } > "$d/dumps/$(printf %04d "$n").txt" 2> /dev/null
			echo "sbco-dump $(printf %04d "$n")" > "$TR/trace_marker"
		fi
		n=$((n + 1))
		sleep 0.25
	done
}

# record PHASE SECS SERIAL_A SERIAL_B PID_A PID_B DESCRIPTION
record() {
	d=$DATA/$1
	mkdir -p "$d"
	{ threads_of "$5" a; threads_of "$6" b; } > "$d/threads.txt"
	echo "$7" > "$d/description.txt"
	{ echo "host: $(uname -r), $(nproc) CPUs"; echo "guest kernel: $(ls /boot/vmlinuz-* | sort -V | tail -1)"; echo "started: $(date -u +%FT%TZ), $2 s"; } > "$d/meta.txt"
	for tid in $(awk '$2 ~ /\.v/ { print $1 }' "$d/threads.txt"); do
		echo "$tid $(awk '$1 == "'"$tid"'" { print $2 }' "$d/threads.txt") cpus=$(taskset -pc "$tid" | sed 's/.*: //') cgroup=$(sed -n 's/^[0-9]*:cpu:\(.*\)/\1/p' /proc/"$tid"/cgroup)"
	done > "$d/placement.txt"
	for tid in $(awk '$2 ~ /\.emu/ { print $1 }' "$d/threads.txt"); do
		echo "$tid $(cat /proc/"$tid"/comm) cgroup=$(sed -n 's/^[0-9]*:cpu:\(.*\)/\1/p' /proc/"$tid"/cgroup)"
	done >> "$d/placement.txt"
	ba=$(ops_count "$3")
	bb=$(ops_count "$4")
	echo > "$TR/trace"
	echo 1 > "$TR/tracing_on"
	log "$1: $7, recording $2 s"
	sampler "$d" "$2" "$3" "$4" "$ba" "$bb" &
	SAMPLER=$!
	chrt -f -p 20 "$SAMPLER" > /dev/null 2>&1 || log "chrt -f failed: the sampler runs SCHED_OTHER"
	wait "$SAMPLER"
	SAMPLER=""
	echo 0 > "$TR/tracing_on"
	grep "ops/s=" "$3" | tail -n +"$((ba + 1))" | sed -n 's/.*ops\/s=\([0-9]*\).*/\1/p' > "$d/ops-a.txt"
	grep "ops/s=" "$4" | tail -n +"$((bb + 1))" | sed -n 's/.*ops\/s=\([0-9]*\).*/\1/p' > "$d/ops-b.txt"
	for c in "$TR"/per_cpu/cpu*; do echo "${c##*/} $(tr '\n' ' ' < "$c/stats")"; done > "$d/trace-stats.txt"
	timeout 300 cat "$TR/trace" > "$d/trace.txt"
	log "$1: trace $(wc -l < "$d/trace.txt") lines, overruns: $(sed -n 's/^\(cpu[0-9]*\) entries: [0-9]* overrun: \([0-9]*\).*/\1=\2/p' "$d/trace-stats.txt" | tr '\n' ' ')"
	sh "$HERE/bench/stall/analyze.sh" "$d" "$OUT" "stall-$RUN-$1" || log "$1: analysis failed"
}

# ---- mode A: isolated libvirtd
mode_libvirt() {
	RUN=libvirt
	lv_setup "$W" || { log "libvirtd did not start"; return 1; }
	A=$LV_PREFIX-a
	B=$LV_PREFIX-b
	for d in "$A" "$B"; do
		{ lv_define "$d" 2 spin && lv_start "$d"; } || { log "$d did not boot"; return 1; }
	done
	PA=$(cat "/run/libvirt/qemu/$A.pid")
	PB=$(cat "/run/libvirt/qemu/$B.pid")
	SA=/var/log/libvirt/qemu/$A-serial.log
	SB=/var/log/libvirt/qemu/$B-serial.log
	sleep 5
	record unpinned "$SECS_U" "$SA" "$SB" "$PA" "$PB" "libvirt, per-vCPU cgroups, unpinned"
	$LV_VIRSH vcpupin "$A" 0 0 > /dev/null && $LV_VIRSH vcpupin "$A" 1 1 > /dev/null &&
		$LV_VIRSH vcpupin "$B" 0 1 > /dev/null && $LV_VIRSH vcpupin "$B" 1 0 > /dev/null ||
		{ log "vcpupin failed"; return 1; }
	sleep 2
	record pinned "$SECS_P" "$SA" "$SB" "$PA" "$PB" "libvirt, per-vCPU cgroups, virsh vcpupin a:0,1 b:1,0"
	lv_cleanup
}

# ---- mode B: plain QEMU (TCG), hand-made cgroups
build_initramfs() {
	r=$W/initramfs
	mkdir -p "$r/bin" "$r/proc" "$r/sys" "$r/dev"
	cp /bin/busybox "$r/bin/busybox"
	gcc -O2 -static -pthread -o "$r/bin/spin" "$LV_SRC/spin.c" || return 1
	cp "$LV_SRC/init" "$r/init"
	chmod 755 "$r/init"
	mknod -m 600 "$r/dev/console" c 5 1
	mknod -m 666 "$r/dev/null" c 1 3
	(cd "$r" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) > "$W/initramfs.cpio.gz"
}

qemu_start() {
	: > "$W/$1-serial.log"
	timeout 60 qemu-system-x86_64 -name "$NS_ID-$1,debug-threads=on" -accel tcg,thread=multi \
		-machine pc -cpu qemu64 -smp 2,sockets=2,cores=1,threads=1 -m 192 -display none \
		-no-reboot -nic none -serial "file:$W/$1-serial.log" -pidfile "$W/$1.pid" -daemonize \
		-kernel "$(ls /boot/vmlinuz-* | sort -V | tail -1)" -initrd "$W/initramfs.cpio.gz" \
		-append 'console=ttyS0 quiet spin' || return 1
	QPIDS="$QPIDS $(cat "$W/$1.pid")"
	i=0
	while [ $i -lt 240 ]; do
		grep -q BOOT-OK "$W/$1-serial.log" && return 0
		sleep 0.25
		i=$((i + 1))
	done
	return 1
}

# cg_place LAYOUT G PID: move every thread of PID into the cgroup LAYOUT wants
cg_place() {
	threads_of "$3" "$2" | while read -r tid lab; do
		case $1 in
		percpu) case $lab in *.v0) g=$2/vcpu0 ;; *.v1) g=$2/vcpu1 ;; *) g=$2/emulator ;; esac ;;
		pervm) g=$2 ;;
		flat) g=flat ;;
		esac
		echo "$tid" > "$CG/$g/tasks" || log "cannot move $tid to $CG/$g"
	done
}

pin() { # pin PID_A PID_B pinned|unpinned
	for x in "a $1" "b $2"; do
		set -- $x "$3"
		threads_of "$2" "$1" | while read -r tid lab; do
			case "$3:$1:$lab" in
			unpinned:*:*.v*) taskset -pc 0-1 "$tid" > /dev/null ;;
			pinned:a:*.v0 | pinned:b:*.v1) taskset -pc 0 "$tid" > /dev/null ;;
			pinned:a:*.v1 | pinned:b:*.v0) taskset -pc 1 "$tid" > /dev/null ;;
			esac
		done
	done
}

mode_qemu() {
	RUN=qemu
	build_initramfs || { log "initramfs build failed"; return 1; }
	CG=/sys/fs/cgroup/cpu/$NS_ID
	for g in a b; do
		for s in vcpu0 vcpu1 emulator; do mkdir -p "$CG/$g/$s" || return 1; done
	done
	mkdir -p "$CG/flat"
	qemu_start a || { log "qemu a did not boot"; return 1; }
	qemu_start b || { log "qemu b did not boot"; return 1; }
	PA=$(cat "$W/a.pid")
	PB=$(cat "$W/b.pid")
	for ph in $PHASES_B; do
		lay=${ph%-*}
		pn=${ph#*-}
		cg_place "$lay" a "$PA"
		cg_place "$lay" b "$PB"
		pin "$PA" "$PB" "$pn"
		sleep 3
		secs=$SECS_P
		[ "$pn" = unpinned ] && secs=$SECS_U
		record "$ph" "$secs" "$W/a-serial.log" "$W/b-serial.log" "$PA" "$PB" \
			"plain QEMU TCG, cgroups $lay ($CG), $pn (taskset a:0,1 b:1,0)"
	done
}

qemu_cleanup() {
	for p in $QPIDS; do kill "$p" 2> /dev/null; done
	i=0
	for p in $QPIDS; do
		while [ $i -lt 100 ] && kill -0 "$p" 2> /dev/null; do sleep 0.1; i=$((i + 1)); done
		kill -0 "$p" 2> /dev/null && kill -9 "$p"
	done
	QPIDS=""
	[ -n "$CG" ] && [ -d "$CG" ] || return 0
	sleep 0.5
	for g in a/vcpu0 a/vcpu1 a/emulator b/vcpu0 b/vcpu1 b/emulator a b flat; do
		[ -d "$CG/$g" ] && rmdir "$CG/$g"
	done
	rmdir "$CG" || log "could not remove $CG"
	CG=""
}

finish() {
	[ -n "$SAMPLER" ] && kill "$SAMPLER" 2> /dev/null
	trace_teardown
	qemu_cleanup
	lv_cleanup
	rm -rf "$W"
}
trap finish EXIT
trap 'exit 1' INT TERM

trace_setup || exit 1
rc=0
case $MODE in
libvirt) mode_libvirt || rc=1 ;;
qemu) mode_qemu || rc=1 ;;
all)
	mode_libvirt || rc=1
	mode_qemu || rc=1
	;;
esac
qemu_cleanup
sh "$HERE/bench/stall/summary.sh" "$DATA" "$OUT" || rc=1
log "raw data in $DATA"
exit $rc
