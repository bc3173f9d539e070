#!/bin/sh
# SPDX-License-Identifier: MIT
# Issue 14, analysis of one phase recorded by bench/stall/stall.sh (awk + gnuplot only).
# usage: bench/stall/analyze.sh DIR [OUT [NAME]]
# DIR holds threads.txt ("tid label", label G.v0 / G.v1 / G.emu for guests a and b),
# trace.txt (tracefs text: sched_switch, sched_wakeup and the sampler's markers
# "sbco-sync NA NB" = ops lines of guest a / b so far, "sbco-dump N" = dump N taken),
# ops-a.txt / ops-b.txt (the phase's ops/s lines, one value each) and dumps/NNNN.txt.
# Writes into DIR:
#   persec.dat  one row per whole second of the trace (columns named in its header):
#               ops/s of each guest (the line printed within that second, shifted by half
#               a second: a line covers the second before it), stall flags (ops/s < 10 %
#               of the guest's median in this phase), per CPU the ms each thread class
#               ran (a.v0 a.v1 a.emu b.v0 b.v1 b.emu other idle), per guest the ms both
#               vCPUs ran at once (co-run), the ms both were runnable, the co-run fraction
#               (co-run / both runnable), the overlap ratio co-run/(run0*run1/1000) (1 =
#               independent, >1 in phase, <1 out of phase) and the mean lag of a vCPU 1
#               switch-in behind the latest vCPU 0 switch-in; per vCPU the number of run
#               slices and their mean and longest length; the guest's other threads'
#               wakeups.
#   slices.txt  every vCPU run slice: second cpu label length_ms stall(0/1 of its guest)
#   dumps.txt   from each scheduler dump: per CPU, the VM group entities (weight,
#               vruntime, lag = V - vruntime of their parent cfs_rq in ms of virtual
#               time), and the vCPU tasks' rows (state, vruntime, eligible, deadline, slice)
#   summary.txt the phase in numbers (stall share, co-run fractions, CPU shares and slices
#               in stall vs other seconds, group weights and lags in stall vs other dumps)
# and, when OUT is given, OUT/NAME.csv (persec.dat as CSV) and plots OUT/NAME-*.png/svg.
set -u
D=$1
OUT=${2:-}
NAME=${3:-stall}
[ -s "$D/trace.txt" ] || { echo "analyze: no $D/trace.txt" >&2; exit 1; }

# the lines every multi-panel plot starts with (after its "set multiplot"): margins, the
# phase's seconds on x, the key, and the first panel's log-scale ops/s axis
panels_head() {
	cat << EOF
set lmargin at screen 0.08
set rmargin at screen 0.86
set xrange [-0.5:$nsec - 0.5]
set key outside right top font ",8" spacing 0.75 samplen 1.5
set ylabel "ops/s"
set logscale y
EOF
}
median() { sort -n | awk '{ v[++n] = $1 } END { if (n) print n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2; else print 0 }'; }
MA=$(median < "$D/ops-a.txt")
MB=$(median < "$D/ops-b.txt")

awk -v ma="$MA" -v mb="$MB" -v opsa="$D/ops-a.txt" -v opsb="$D/ops-b.txt" \
	-v slices="$D/slices.txt" -v dumpidx="$D/dumpidx.txt" '
function L(p) { return (p in lab) ? lab[p] : (p == 0 ? "idle" : "other") }
# add the span [a, b) (trace seconds) to acc[key, second]
function span(key, a, b,   bi, e) {
	while (a < b) {
		bi = int(a - t0)
		e = t0 + bi + 1
		if (e > b) e = b
		acc[key, bi] += e - a
		a = e
	}
}
function advance(ts,   g) {
	if (last != "" && ts <= last) return
	if (last != "")
		for (g in guest) {
			if (running[v0[g]] && running[v1[g]]) span("co" g, last, ts)
			if (runnable[v0[g]] && runnable[v1[g]]) span("br" g, last, ts)
		}
	last = ts
}
BEGIN {
	while ((getline l < ARGV[1]) > 0) {
		split(l, f, " ")
		lab[f[1]] = f[2]
		g = substr(f[2], 1, 1)
		guest[g] = 1
		if (f[2] ~ /\.v0$/) v0[g] = f[1]
		if (f[2] ~ /\.v1$/) v1[g] = f[1]
	}
	ARGV[1] = ""
	n = 0
	while ((getline l < opsa) > 0) ops["a", ++n] = l + 0
	nops["a"] = n; n = 0
	while ((getline l < opsb) > 0) ops["b", ++n] = l + 0
	nops["b"] = n
	med["a"] = ma; med["b"] = mb
	nc = 0
	last = ""
	printf "" > slices
	printf "" > dumpidx
}
{
	if (!match($0, /\[[0-9][0-9]*\]/)) next
	cpu = substr($0, RSTART + 1, RLENGTH - 2) + 0
	rest = substr($0, RSTART + RLENGTH)
	if (!match(rest, / [0-9][0-9]*\.[0-9][0-9]*: /)) next
	ts = substr(rest, RSTART + 1, RLENGTH - 3) + 0
	ev = substr(rest, RSTART + RLENGTH)
	if (t0 == "") t0 = ts
	if (!(cpu in seen)) { seen[cpu] = 1; ncpu = cpu + 1 > ncpu ? cpu + 1 : ncpu }
	advance(ts)
	bi = int(ts - t0)
	if (bi > maxbin) maxbin = bi
	if (ev ~ /^sched_switch: /) {
		match(ev, /prev_pid=[0-9]+/); pp = substr(ev, RSTART + 9, RLENGTH - 9)
		match(ev, /prev_state=[^ ]+/); ps = substr(ev, RSTART + 11, RLENGTH - 11)
		match(ev, /next_pid=[0-9]+/); np = substr(ev, RSTART + 9, RLENGTH - 9)
		if (cpu in since) {
			span("run" cpu SUBSEP L(pp), since[cpu], ts)
			len = (ts - since[cpu]) * 1000
			sb = int(since[cpu] - t0)
			if (L(pp) ~ /\.v[01]$/) {
				k = L(pp) SUBSEP sb
				scnt[k]++; ssum[k] += len; if (len > smax[k]) smax[k] = len
			}
			if (L(pp) != "idle") printf "%d %d %s %.4f %.6f\n", sb, cpu, L(pp), len, since[cpu] - t0 > slices
		}
		running[pp] = 0
		runnable[pp] = ps ~ /^R/ ? 1 : 0
		running[np] = 1
		runnable[np] = 1
		since[cpu] = ts
		cur[cpu] = np
		if (np in lab && lab[np] ~ /\.v[01]$/) {
			g = substr(lab[np], 1, 1)
			if (np == v1[g] && (v0[g] in lastin)) { lagsum[g, bi] += ts - lastin[v0[g]]; lagn[g, bi]++ }
			lastin[np] = ts
		}
	} else if (ev ~ /^sched_wakeup: /) {
		match(ev, / pid=[0-9]+/); p = substr(ev, RSTART + 5, RLENGTH - 5)
		runnable[p] = 1
		if (L(p) ~ /\.emu$/) wk[substr(L(p), 1, 1), bi]++
	} else if (ev ~ /^reweight_entity/) {
		rw[cpu, bi]++
	} else if (ev ~ /sbco-sync /) {
		match(ev, /sbco-sync [0-9]+ [0-9]+/)
		split(substr(ev, RSTART, RLENGTH), s, " ")
		for (k = done["a"] + 1; k <= s[2]; k++) opsT["a", k] = ts
		if (s[2] > done["a"]) done["a"] = s[2]
		for (k = done["b"] + 1; k <= s[3]; k++) opsT["b", k] = ts
		if (s[3] > done["b"]) done["b"] = s[3]
	} else if (ev ~ /sbco-dump /) {
		match(ev, /sbco-dump [0-9]+/)
		print substr(ev, RSTART + 10, RLENGTH - 10), int(ts - t0) > dumpidx
	}
}
END {
	# close the runs still open at the end of the trace
	for (c in since) {
		span("run" c SUBSEP L(cur[c]), since[c], last)
		len = (last - since[c]) * 1000; sb = int(since[c] - t0); k = L(cur[c]) SUBSEP sb
		if (L(cur[c]) ~ /\.v[01]$/) { scnt[k]++; ssum[k] += len; if (len > smax[k]) smax[k] = len }
		if (L(cur[c]) != "idle") printf "%d %d %s %.4f %.6f\n", sb, c, L(cur[c]), len, since[c] - t0 > slices
	}
	# a line seen at sync time T covers about [T - 1.25, T - 0.25]: its second is int(T - t0 - 0.75)
	for (gi = 1; gi <= 2; gi++) {
		g = gi == 1 ? "a" : "b"
		for (k = 1; k <= nops[g]; k++) {
			if (!((g, k) in opsT)) continue
			b = int(opsT[g, k] - t0 - 0.75)
			if (b < 0) continue
			osum[g, b] += ops[g, k]; on[g, b]++
		}
	}
	nl = split("a.v0 a.v1 a.emu b.v0 b.v1 b.emu other idle", labs, " ")
	hdr = "t ops_a ops_b stall_a stall_b"
	for (c = 0; c < ncpu; c++) for (i = 1; i <= nl; i++) hdr = hdr " c" c "_" labs[i]
	for (gi = 1; gi <= 2; gi++) {
		g = gi == 1 ? "a" : "b"
		hdr = hdr " corun_" g " bothrunnable_" g " corunfrac_" g " overlap_" g " lag_" g
	}
	for (gi = 1; gi <= 4; gi++) {
		v = gi <= 2 ? "a.v" (gi - 1) : "b.v" (gi - 3)
		hdr = hdr " nslice_" v " meanslice_" v " maxslice_" v
	}
	hdr = hdr " wake_a.emu wake_b.emu"
	for (c = 0; c < ncpu; c++) hdr = hdr " reweight_c" c
	print "# " hdr
	for (b = 0; b < maxbin; b++) {   # the last, partial second is left out
		row = b
		for (gi = 1; gi <= 2; gi++) {
			g = gi == 1 ? "a" : "b"
			val[g] = on[g, b] ? osum[g, b] / on[g, b] : "NaN"
			row = row " " val[g]
		}
		for (gi = 1; gi <= 2; gi++) {
			g = gi == 1 ? "a" : "b"
			row = row " " (val[g] == "NaN" ? "NaN" : (val[g] < 0.1 * med[g] ? 1 : 0))
		}
		for (c = 0; c < ncpu; c++) for (i = 1; i <= nl; i++) row = row " " sprintf("%.1f", 1000 * acc["run" c SUBSEP labs[i], b])
		for (gi = 1; gi <= 2; gi++) {
			g = gi == 1 ? "a" : "b"
			co = 1000 * acc["co" g, b]; br = 1000 * acc["br" g, b]
			r0 = 0; r1 = 0
			for (c = 0; c < ncpu; c++) { r0 += 1000 * acc["run" c SUBSEP g ".v0", b]; r1 += 1000 * acc["run" c SUBSEP g ".v1", b] }
			ov = r0 * r1 > 0 ? co / (r0 * r1 / 1000) : "NaN"
			row = row sprintf(" %.1f %.1f %s %s %s", co, br, br > 0 ? sprintf("%.3f", co / br) : "NaN",
				ov == "NaN" ? ov : sprintf("%.3f", ov), lagn[g, b] ? sprintf("%.3f", 1000 * lagsum[g, b] / lagn[g, b]) : "NaN")
		}
		for (gi = 1; gi <= 4; gi++) {
			v = gi <= 2 ? "a.v" (gi - 1) : "b.v" (gi - 3)
			k = v SUBSEP b
			row = row sprintf(" %d %s %s", scnt[k], scnt[k] ? sprintf("%.3f", ssum[k] / scnt[k]) : "NaN", scnt[k] ? sprintf("%.3f", smax[k]) : "NaN")
		}
		row = row sprintf(" %d %d", wk["a", b], wk["b", b])
		for (c = 0; c < ncpu; c++) row = row " " (rw[c, b] + 0)
		print row
	}
}' "$D/threads.txt" "$D/trace.txt" > "$D/persec.dat" || exit 1

# slices.txt: add the stall flag of the slice's guest in that second
awk 'NR == FNR { if ($1 !~ /^#/) { sa[$1] = $4; sb[$1] = $5 } next }
	{ g = substr($3, 1, 1); s = g == "a" ? sa[$1] : sb[$1]; print $0, (s == 1 ? 1 : 0) }' \
	"$D/persec.dat" "$D/slices.txt" > "$D/slices.tmp" && mv "$D/slices.tmp" "$D/slices.txt"

# ---- scheduler dumps: VM group entities at the level where the two VMs compete, and the
# vCPU tasks. Paths: libvirt .../qemu-N-PREFIX-a.libvirt-qemu[/vcpuK|/emulator], plain
# QEMU .../sbcostall-PID/a[/vcpuK|/emulator] (flat/: both VMs in one group).
: > "$D/dumps.txt"
if [ -d "$D/dumps" ] && [ -s "$D/dumpidx.txt" ]; then
	while read -r n sec; do
		f=$D/dumps/$n.txt
		[ -s "$f" ] || continue
		awk -v sec="$sec" -v n="$n" '
		NR == FNR { lab[$1] = $2; next }
		function vm(path,   p) {
			p = path
			if (p ~ /-a\.libvirt-qemu$/ || p ~ /sbcostall[0-9]*\/a$/) return "A"
			if (p ~ /-b\.libvirt-qemu$/ || p ~ /sbcostall[0-9]*\/b$/) return "B"
			if (p ~ /-a\.libvirt-qemu\// || p ~ /sbcostall[0-9]*\/a\//) return "A/" substr(p, match(p, /[^\/]*$/))
			if (p ~ /-b\.libvirt-qemu\// || p ~ /sbcostall[0-9]*\/b\//) return "B/" substr(p, match(p, /[^\/]*$/))
			if (p ~ /sbcostall[0-9]*\/flat$/) return "F"
			if (p == "/machine" || p ~ /sbcostall[0-9]*$/) return "P"
			return ""
		}
		/^cpu#/ { cpu = substr($1, 5) + 0; blk = ""; intask = 0; next }
		/^cfs_rq\[/ { p = substr($1, index($1, ":") + 1); blk = vm(p); next }
		/^rt_rq\[/ || /^dl_rq\[/ { blk = ""; next }
		blk != "" && /^  \./ {
			k = $1; v = $NF
			if (k == ".avg_vruntime") av[cpu, blk] = v
			if (k == ".nr_queued") nq[cpu, blk] = v
			if (k == ".se->vruntime") sv[cpu, blk] = v
			if (k == ".se->load.weight") sw[cpu, blk] = v
			if (k == ".tg_load_avg") tgl[cpu, blk] = v
			if (k == ".load_avg") la[cpu, blk] = v
			next
		}
		/^runnable tasks:/ { intask = 1; next }
		intask && length($0) > 24 && substr($0, 19, 1) == " " {
			pid = substr($0, 19) + 0
			if (!(pid in lab) || lab[pid] !~ /\.v[01]$/) next
			split(substr($0, 19), t, " ")
			sl = t[5] == "S" ? t[6] : t[5]
			printf "%s %s %d task %s state=%s vruntime=%s elig=%s deadline=%s slice=%s\n", n, sec, cpu, lab[pid], substr($0, 1, 2) == ">R" ? "run" : substr($0, 2, 1), t[2], t[3], t[4], sl
		}
		END {
			for (c = 0; c < 8; c++) for (i = 1; i <= 3; i++) {
				e = i == 1 ? "A" : i == 2 ? "B" : "F"
				if (!((c, e) in sw)) continue
				V = av[c, "P"]
				printf "%s %s %d group %s weight=%s vruntime=%s lag_ms=%s nr_queued=%s load_avg=%s tg_load_avg=%s parent_nr_queued=%s\n", n, sec, c, e, sw[c, e], sv[c, e], V == "" ? "NaN" : sprintf("%.3f", V - sv[c, e]), nq[c, e], la[c, e], tgl[c, e], nq[c, "P"]
			}
			for (k in sw) {
				split(k, kk, SUBSEP)
				if (kk[2] ~ /\//) printf "%s %s %d group %s weight=%s vruntime=%s lag_ms=%s nr_queued=%s load_avg=%s tg_load_avg=%s\n", n, sec, kk[1], kk[2], sw[k], sv[k], av[kk[1], substr(kk[2], 1, 1)] == "" ? "NaN" : sprintf("%.3f", av[kk[1], substr(kk[2], 1, 1)] - sv[k]), nq[k], la[k], tgl[k]
			}
		}' "$D/threads.txt" "$f" | sort -k3,3n -k4,4 -k5,5 >> "$D/dumps.txt"
	done < "$D/dumpidx.txt"
fi

# ---- summary
{
	echo "phase: $(cat "$D/description.txt" 2> /dev/null)"
	echo "trace: $(wc -l < "$D/trace.txt") lines; $(grep -c . "$D/persec.dat") whole seconds; per-CPU ring buffer stats: $(sed -n 's/^\(cpu[0-9]*\) entries: [0-9]* overrun: \([0-9]*\).*/\1 overrun=\2/p' "$D/trace-stats.txt" 2> /dev/null | tr '\n' ' ')"
	for g in a b; do
		awk -v g="$g" -v m="$( [ $g = a ] && echo "$MA" || echo "$MB")" '
			{ n++; if ($1 < 0.1 * m) s++; if (n == 1 || $1 < lo) lo = $1; if ($1 > hi) hi = $1 }
			END { printf "guest %s: %d ops/s lines, median %s, min %s, max %s, stall lines (< 10 %% of median) %d = %.1f %%\n", g, n, m, lo, hi, s, n ? 100 * s / n : 0 }' "$D/ops-$g.txt"
	done
	awk '
	/^#/ { for (i = 2; i <= NF; i++) col[$i] = i - 1; next }
	{
		for (gi = 1; gi <= 2; gi++) {
			g = gi == 1 ? "a" : "b"
			st = $col["stall_" g]
			if (st == "NaN") continue
			k = g SUBSEP st
			n[k]++; co[k] += $col["corun_" g]; br[k] += $col["bothrunnable_" g]
			for (c = 0; c < 2; c++) for (i = 1; i <= 8; i++) {
				split("a.v0 a.v1 a.emu b.v0 b.v1 b.emu other idle", L, " ")
				cs[k, c, L[i]] += $col["c" c "_" L[i]]
			}
			for (v = 0; v < 2; v++) {
				ns[k, v] += $col["nslice_" g ".v" v]
				if ($col["maxslice_" g ".v" v] != "NaN" && $col["maxslice_" g ".v" v] > mx[k, v]) mx[k, v] = $col["maxslice_" g ".v" v]
			}
			if ($col["overlap_" g] != "NaN") { ov[k] += $col["overlap_" g]; ovn[k]++ }
			wk[k] += $col["wake_" g ".emu"]
			for (c = 0; c < 2; c++) if (("reweight_c" c) in col) rwt[k, c] += $col["reweight_c" c]
		}
	}
	END {
		split("a.v0 a.v1 a.emu b.v0 b.v1 b.emu other idle", L, " ")
		for (gi = 1; gi <= 2; gi++) for (st = 0; st <= 1; st++) {
			g = gi == 1 ? "a" : "b"
			k = g SUBSEP st
			if (!n[k]) continue
			printf "guest %s, %s seconds (%d): co-run %.1f ms/s, both runnable %.1f ms/s, co-run fraction %.3f, mean overlap ratio %.2f, %s-thread wakeups %.0f/s\n",
				g, st ? "stall" : "other", n[k], co[k] / n[k], br[k] / n[k], br[k] ? co[k] / br[k] : 0, ovn[k] ? ov[k] / ovn[k] : 0, g ".emu", wk[k] / n[k]
			for (c = 0; c < 2; c++) {
				line = sprintf("   cpu%d ms/s:", c)
				for (i = 1; i <= 8; i++) line = line sprintf(" %s=%.0f", L[i], cs[k, c, L[i]] / n[k])
				line = line sprintf(" reweight_entity calls/s=%.0f", rwt[k, c] / n[k])
				print line
			}
			printf "   %s.v0: %.0f slices/s, longest %.1f ms; %s.v1: %.0f slices/s, longest %.1f ms\n", g, ns[k, 0] / n[k], mx[k, 0], g, ns[k, 1] / n[k], mx[k, 1]
		}
	}' "$D/persec.dat"
	awk '$3 != "other" { s = $6; n[$3 " " s]++; t[$3 " " s] += $4; v[$3 " " s, n[$3 " " s]] = $4 }
		END { for (k in n) { split(k, kk, " "); printf "slices %s in %s seconds of its guest: %d, mean %.3f ms\n", kk[1], kk[2] ? "stall" : "other", n[k], t[k] / n[k] } }' \
		"$D/slices.txt" | sort
	if [ -s "$D/dumps.txt" ]; then
		# group entities per dump second, with the guest stall flags of that second
		awk 'NR == FNR { if ($1 !~ /^#/) { sa[$1] = $4; sb[$1] = $5 } next }
			$4 == "group" && ($5 == "A" || $5 == "B") {
				split($6, w, "="); split($8, lg, "=")
				st = (sa[$2] == 1 || sb[$2] == 1) ? "stall" : "other"
				k = st " cpu" $3 " " $5
				n[k]++; ws[k] += w[2]; if (lg[2] != "NaN") { ls[k] += lg[2]; if (lg[2] < 0) neg[k]++ }
			}
			END { for (k in n) printf "dump %s: %d dumps, mean weight %.0f, mean lag %.3f ms (virtual), lag < 0 (ineligible) in %d\n", k, n[k], ws[k] / n[k], ls[k] / n[k], neg[k] }' \
			"$D/persec.dat" "$D/dumps.txt" | sort
	fi
} > "$D/summary.txt"
cat "$D/summary.txt"

[ -n "$OUT" ] || exit 0
mkdir -p "$OUT"
sed '1s/^# //' "$D/persec.dat" | tr ' ' , > "$OUT/$NAME.csv"
command -v gnuplot > /dev/null || { echo "analyze: no gnuplot, no plots" >&2; exit 0; }
desc=$(cat "$D/description.txt" 2> /dev/null)
plot() {
	script=$(cat)
	for t in png svg; do
		term="pngcairo size 1000,900"
		[ $t = svg ] && term="svg size 1000,900"
		printf 'set terminal %s\nset output "%s"\nset grid\nset datafile missing "NaN"\n\n%s\n' \
			"$term" "$OUT/$NAME-$1.$t" "$script" | gnuplot
	done
}
# columns: 1 t, 2-3 ops, 4-5 stall, then 8 per CPU (c0: 6-13, c1: 14-21), then guest a
# co-run 22-26, guest b 27-31, slices 32-43, wakeups 44-45
cp "$D/persec.dat" "$D/persec.plot"
nsec=$(grep -vc '^#' "$D/persec.plot")
# cpu_panel FIRST_COLUMN CPU: stacked boxes (cumulative sums, drawn from the top down)
cpu_panel() {
	c=$1
	printf 'set ylabel "CPU %s ms/s"\nplot ' "$2"
	i=7
	for l in idle other b.emu b.v1 b.v0 a.emu a.v1 a.v0; do
		printf '"%s" using 1:(sum [k=%d:%d] column(k)) with boxes fs solid 0.85 noborder lc rgb "%s" title "%s"' \
			"$D/persec.plot" "$c" $((c + i)) "$(case $l in idle) echo '#eeeeee' ;; other) echo '#999999' ;; b.emu) echo '#9ecae1' ;; b.v1) echo '#08519c' ;; b.v0) echo '#4292c6' ;; a.emu) echo '#fdae6b' ;; a.v1) echo '#a63603' ;; a.v0) echo '#f16913' ;; esac)" "$l"
		[ $i -gt 0 ] && printf ', '
		i=$((i - 1))
	done
	echo
}
{
	cat << EOF
set multiplot layout 4,1 title "$desc"
$(panels_head)
set yrange [1:*]
plot "$D/persec.plot" using 1:(\$2 + 1) with linespoints lc rgb "#f16913" title "a (+1)", "" using 1:(\$3 + 1) with linespoints lc rgb "#4292c6" title "b (+1)", "" using 1:(\$4 == 1 ? 1.5 : 1/0) with points pt 7 lc rgb "#f16913" title "a stall", "" using 1:(\$5 == 1 ? 1.2 : 1/0) with points pt 7 lc rgb "#4292c6" title "b stall"
unset logscale y
set yrange [0:1000]
set boxwidth 1
EOF
	cpu_panel 6 0
	cpu_panel 14 1
	cat << EOF
set yrange [0:1.05]
set ylabel "co-run fraction"
set xlabel "second of the trace"
plot "$D/persec.plot" using 1:24 with linespoints lc rgb "#f16913" title "a", "" using 1:29 with linespoints lc rgb "#4292c6" title "b"
unset multiplot
EOF
} | plot timeline
plot slices << EOF
set title "vCPU run-slice lengths: $desc"
set xlabel "slice length, ms"
set ylabel "slices"
set logscale y
set style data histograms
bw = 0.5
bin(x) = bw * floor(x / bw) + bw / 2
set boxwidth bw
set style fill solid 0.3
set key inside top right
set xrange [0:*]
plot "$D/slices.txt" using (strstrt(strcol(3), ".v") > 0 && \$6 == 0 ? bin(\$4) : 1/0):(1) smooth frequency with boxes title "seconds without a stall", \
     "" using (strstrt(strcol(3), ".v") > 0 && \$6 == 1 ? bin(\$4) : 1/0):(1) smooth frequency with boxes title "stall seconds of the slice's guest"
EOF
# zoom: 300 ms around the start of the longest time any vCPU went without running (the
# onset of the deepest stall), one row per thread, coloured by the CPU it ran on
tend=$(awk '{ e = $5 + $4 / 1000; if (e > m) m = e } END { printf "%.6f", m }' "$D/slices.txt")
set -- $(awk '$3 ~ /\.v[01]$/ { printf "%s %.6f %.6f\n", $3, $5, $5 + $4 / 1000 }' "$D/slices.txt" | sort -k1,1 -k2,2g |
	awk -v tend="$tend" 'function gap(l, s, e) { if (e - s > best) { best = e - s; bs = s; bl = l } }
		{ if ($1 == pl) gap($1, pe, $2); else if (pl != "") gap(pl, pe, tend); pl = $1; pe = $3 }
		END { if (pl != "") gap(pl, pe, tend); if (bl != "") printf "%s %.6f %.3f\n", bl, bs, best }')
if [ $# = 3 ]; then
	echo "longest vCPU gap: $1 waited $3 s from trace second $2" >> "$D/summary.txt"
	echo "longest vCPU gap: $1 waited $3 s from trace second $2"
	awk -v w0="$2" '{ s = $5; e = $5 + $4 / 1000; if (e < w0 - 0.15 || s > w0 + 0.15) next
		y = $3 == "a.v0" ? 6 : $3 == "a.v1" ? 5 : $3 == "a.emu" ? 4 : $3 == "b.v0" ? 3 : $3 == "b.v1" ? 2 : $3 == "b.emu" ? 1 : 0
		printf "%.4f %.4f %d %d\n", 1000 * (s - w0), 1000 * (e - w0), y, $2 + 1 }' "$D/slices.txt" > "$D/zoom.dat"
	plot zoom << EOF
set title "$desc: threads around the start of the longest vCPU gap ($1, $3 s)"
set xlabel "ms from the gap's start (trace second $2)"
set xrange [-150:150]
set yrange [-0.6:6.6]
set ytics ("a.v0" 6, "a.v1" 5, "a.emu" 4, "b.v0" 3, "b.v1" 2, "b.emu" 1, "other" 0)
set style fill solid 0.9 noborder
set key outside bottom center horizontal
plot "$D/zoom.dat" using ((\$1 + \$2) / 2):3:((\$2 - \$1) / 2):(0.35):(\$4 == 1 ? 0x2166ac : 0xf4a582) with boxxyerror lc rgb variable notitle, \
     NaN with boxes lc rgb "#2166ac" title "on CPU 0", NaN with boxes lc rgb "#f4a582" title "on CPU 1"
EOF
fi
# VM group entities from the scheduler dumps: weight and lag per CPU over time
if [ -s "$D/dumps.txt" ]; then
	awk '$4 == "group" && ($5 == "A" || $5 == "B") {
			split($6, w, "="); split($8, l, "=")
			k = $2; s[k] = 1
			W[k, $3, $5] = w[2] / 1024; L[k, $3, $5] = l[2]
		}
		END { for (k in s) printf "%s %s %s %s %s %s %s %s %s\n", k, W[k, 0, "A"], W[k, 0, "B"], W[k, 1, "A"], W[k, 1, "B"], L[k, 0, "A"], L[k, 0, "B"], L[k, 1, "A"], L[k, 1, "B"] }' \
		"$D/dumps.txt" | sort -n | awk 'NF == 9' > "$D/groups.dat"
	if [ -s "$D/groups.dat" ]; then
		plot groups << EOF
set multiplot layout 3,1 title "$desc: VM group entities (scheduler dumps)"
$(panels_head)
plot "$D/persec.plot" using 1:(\$2 + 1) with linespoints lc rgb "#f16913" title "a (+1)", "" using 1:(\$3 + 1) with linespoints lc rgb "#4292c6" title "b (+1)"
unset logscale y
set ylabel "group weight (shares)"
plot "$D/groups.dat" using 1:2 with linespoints lc rgb "#f16913" title "A on CPU 0", "" using 1:3 with linespoints lc rgb "#4292c6" title "B on CPU 0", "" using 1:4 with linespoints dt 2 lc rgb "#f16913" title "A on CPU 1", "" using 1:5 with linespoints dt 2 lc rgb "#4292c6" title "B on CPU 1"
set ylabel "lag V - v, virtual ms"
set xlabel "second of the trace"
plot "$D/groups.dat" using 1:6 with linespoints lc rgb "#f16913" title "A on CPU 0", "" using 1:7 with linespoints lc rgb "#4292c6" title "B on CPU 0", "" using 1:8 with linespoints dt 2 lc rgb "#f16913" title "A on CPU 1", "" using 1:9 with linespoints dt 2 lc rgb "#4292c6" title "B on CPU 1", 0 with lines lc rgb "black" notitle
unset multiplot
EOF
	fi
fi
rm -f "$D/persec.plot"
echo "analyze: $OUT/$NAME.csv, $OUT/$NAME-{timeline,slices,zoom,groups}.png/svg"
