#!/bin/sh
# SPDX-License-Identifier: MIT
# Issue 14: one table over every phase analysed by bench/stall/analyze.sh under DATA
# (DATA/PHASE/persec.dat + ops-a.txt/ops-b.txt), written to OUT/stall-summary.md.
# Per phase: ops/s lines per guest, median, share of lines below 10 % of the median
# (stall share), and from the trace the co-run fraction (time both vCPUs of a guest ran at
# once / time both were runnable), overall and in stall seconds, and the vCPUs' mean slice.
# usage: bench/stall/summary.sh DATA OUT
set -u
DATA=$1
OUT=$2
mkdir -p "$OUT"
{
	echo "| phase | guest | ops/s lines | median ops/s | stall lines (< 10 % of median) | co-run fraction, all seconds | co-run fraction, stall seconds | co-run fraction, other seconds | mean vCPU slice, ms |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
	for d in "$DATA"/*/; do
		d=${d%/}
		[ -s "$d/persec.dat" ] || continue
		ph=${d##*/}
		for g in a b; do
			sl=$(awk -v g="$g" '$3 ~ "^" g "\\.v" { n++; s += $4 } END { printf "%.2f", n ? s / n : 0 }' "$d/slices.txt")
			sort -n "$d/ops-$g.txt" | awk -v ph="$ph" -v g="$g" -v sl="$sl" -v pd="$d/persec.dat" '
				{ v[++n] = $1 }
				END {
					m = n ? (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2) : 0
					for (i = 1; i <= n; i++) if (v[i] < 0.1 * m) s++
					while ((getline l < pd) > 0) {
						nf = split(l, f, " ")
						if (f[1] == "#") { for (i = 2; i <= nf; i++) col[f[i]] = i - 1; continue }
						st = f[col["stall_" g]]
						co = f[col["corun_" g]]; br = f[col["bothrunnable_" g]]
						C += co; B += br
						if (st == "1") { Cs += co; Bs += br } else if (st == "0") { Co += co; Bo += br }
					}
					printf "| %s | %s | %d | %.0f | %d (%.1f %%) | %s | %s | %s | %s |\n", ph, g, n, m, s, n ? 100 * s / n : 0,
						B ? sprintf("%.3f", C / B) : "-", Bs ? sprintf("%.3f", Cs / Bs) : "-", Bo ? sprintf("%.3f", Co / Bo) : "-", sl
				}'
		done
	done
} > "$OUT/stall-summary.md"
cat "$OUT/stall-summary.md"
