#!/bin/sh
# SPDX-License-Identifier: MIT
# lhpbench's report: from OUT/runs.csv and OUT/fair.csv (bench/lhpbench.sh), the median and
# min-max of every scenario and mode, the ratios of the medians (sbco against off and bal),
# the fairness table, into OUT/summary.md (also printed), and plots with gnuplot when it is
# installed: OUT/lhpbench-{spin,dedup,disturb}{,-ratio}.{png,svg}, OUT/lhpbench-fair.*, and
# OUT/lhpbench-guests-WORK.* for bench/lhpguests.sh's OUT/guests-WORK.csv.
# usage: bench/lhpsummary.sh OUT
set -u
OUT=${1:-bench/results}
RUNS=$OUT/runs.csv
FAIR=$OUT/fair.csv
[ -s "$RUNS" ] || { echo "lhpsummary: no $RUNS" >&2; exit 1; }

# stats COLUMN: "scenario,param,mode,median,min,max,n" for one column of runs.csv
stats() {
	tail -n +2 "$RUNS" | awk -F, -v c="$1" '{ print $1 "," $2 "," $3 "," $c }' |
		sort -t, -k1,1 -k2,2n -k3,3 -k4,4g | awk -F, '
		function flush() {
			if (!n) return
			med = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
			printf "%s,%s,%s,%g,%g,%g,%d\n", k1, k2, k3, med, v[1], v[n], n
		}
		{ key = $1 "," $2 "," $3
		  if (key != cur) { flush(); n = 0; cur = key; k1 = $1; k2 = $2; k3 = $3 }
		  v[++n] = $4 }
		END { flush() }'
}

stats 5 > "$OUT/ops.stats"
for c in 6 7 8 9 10; do stats $c | cut -d, -f4 > "$OUT/col$c.stats"; done
paste -d, "$OUT/ops.stats" "$OUT/col6.stats" "$OUT/col7.stats" "$OUT/col8.stats" \
	"$OUT/col9.stats" "$OUT/col10.stats" > "$OUT/all.stats"
rm -f "$OUT"/col*.stats

{
	echo "| scenario | mode | runs | VM ops/s, median | min - max | vs off | vs bal | spinning | invol. switches/s | stacked | over threshold | sbcod CPU |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	awk -F, '
		{ key = $1 "," $2; med[key "," $3] = $4; row[key "," $3] = $0
		  if (!(key in seen)) { seen[key] = 1; keys[++nk] = key } }
		END {
			split("off bal sbco", modes, " ")
			for (j = 1; j <= nk; j++) for (mi = 1; mi <= 3; mi++) {
				if (!((keys[j] "," modes[mi]) in row)) continue
				split(row[keys[j] "," modes[mi]], f, ",")
				key = f[1] "," f[2]
				off = med[key ",off"]; bal = med[key ",bal"]
				vo = off ? sprintf("%+.1f %%", 100 * (f[4] / off - 1)) : "-"
				vb = bal ? sprintf("%+.1f %%", 100 * (f[4] / bal - 1)) : "-"
				if (f[3] == "off") vo = "-"
				if (f[3] != "sbco") vb = "-"
				name = f[1] (f[1] == "disturb" ? "-k" : f[1] == "fair" ? "" : "-q") (f[1] == "fair" ? "" : f[2])
				printf "| %s | %s | %d | %.0f | %.0f - %.0f | %s | %s | %.1f %% | %.0f | %.1f %% | %.1f %% | %.2f %% |\n",
					name, f[3], f[7], f[4], f[5], f[6], vo, vb, 100 * f[8], f[9], f[10], f[11], f[12]
			}
		}' "$OUT/all.stats"
	if [ -s "$FAIR" ] && [ "$(wc -l < "$FAIR")" -gt 1 ]; then
		echo
		echo "| fairness: mode | window | windows | max abs lag between VMs, ms (median of runs) | RSD of that lag |"
		echo "|---|---:|---:|---:|---:|"
		tail -n +2 "$FAIR" | sort -t, -k3,3n -k1,1 -k5,5g | awk -F, '
			function flush() {
				if (!n) return
				printf "| %s | %d s | %d | %.2f | %.0f %% |\n", m, p, w, n % 2 ? l[(n + 1) / 2] : (l[n / 2] + l[n / 2 + 1]) / 2, 100 * r[int((n + 1) / 2)]
			}
			{ key = $1 "," $3
			  if (key != cur) { flush(); n = 0; w = 0; cur = key; m = $1; p = $3 }
			  l[++n] = $5; r[n] = $6; w += $4 }
			END { flush() }'
	fi
} > "$OUT/summary.md"
cat "$OUT/summary.md"

command -v gnuplot > /dev/null || {
	rm -f "$OUT/ops.stats" "$OUT/all.stats"
	echo "lhpsummary: no gnuplot, no plots (apt-get install gnuplot-nox)" >&2
	exit 0
}
# plot NAME: the gnuplot script on stdin (without terminal and output) drawn into
# OUT/lhpbench-NAME.png and .svg
plot() {
	script=$(cat)
	for t in png svg; do
		term="pngcairo size 800,500"
		[ $t = svg ] && term="svg size 800,500"
		printf 'set terminal %s\nset output "%s"\nset grid\n%s\n' "$term" \
			"$OUT/lhpbench-$1.$t" "$script" | gnuplot
	done
}
# one data file per scenario family: x off(med min max) bal(...) sbco(...)
for fam in spin dedup disturb; do
	awk -F, -v f="$fam" '$1 == f { x[$2] = 1; v[$2 "," $3] = $4 " " $5 " " $6 }
		END { for (k in x) print k, v[k ",off"], v[k ",bal"], v[k ",sbco"] }' "$OUT/all.stats" |
		sort -n | awk 'NF == 10' > "$OUT/$fam.dat"
	[ -s "$OUT/$fam.dat" ] || { rm -f "$OUT/$fam.dat"; continue; }
	xl="average run-queue length per CPU"
	[ "$fam" = disturb ] && xl="disturbing VMs"
	plot "$fam" << EOF
set title "lhpbench $fam: synthetic VM throughput, median and min-max of runs"
set xlabel "$xl"
set ylabel "VM lock ops/s"
set offsets 0.3, 0.3, 0, 0
plot "$OUT/$fam.dat" using 1:2:3:4 with yerrorlines title "off (default scheduler)", \
     "" using 1:5:6:7 with yerrorlines title "bal (anti-stacking)", \
     "" using 1:8:9:10 with yerrorlines title "sbco (anti-stacking + balancing)"
EOF
	plot "$fam-ratio" << EOF
set title "lhpbench $fam: median throughput relative to off (1 = the default scheduler)"
set xlabel "$xl"
set ylabel "median ops/s / median ops/s under off"
set offsets 0.3, 0.3, 0, 0
plot "$OUT/$fam.dat" using 1:(\$5 / \$2) with linespoints title "bal / off", \
     "" using 1:(\$8 / \$2) with linespoints title "sbco / off", 1 with lines dt 2 title ""
EOF
	rm -f "$OUT/$fam.dat"
done
if [ -s "$FAIR" ] && [ "$(wc -l < "$FAIR")" -gt 1 ]; then
	for m in off bal sbco; do
		tail -n +2 "$FAIR" | awk -F, -v m="$m" '$1 == m { print $3, $5 }' | sort -n > "$OUT/fair-$m.dat"
	done
	plot fair << EOF
set title "lhpbench fair: 4 saturating VMs, max abs lag between VMs' CPU time"
set xlabel "window, s"
set ylabel "max abs lag, ms"
set logscale x
plot "$OUT/fair-off.dat" with linespoints title "off", "$OUT/fair-bal.dat" with linespoints title "bal", \
     "$OUT/fair-sbco.dat" with linespoints title "sbco"
EOF
	rm -f "$OUT"/fair-*.dat
fi
# lhpguests' runs (OUT/guests-WORK.csv): median ops/s per mode with min-max bars
for g in "$OUT"/guests-*.csv; do
	[ -s "$g" ] || continue
	work=$(basename "$g" .csv)
	work=${work#guests-}
	tail -n +2 "$g" | sort -t, -k2,2 -k4,4g | awk -F, '
		function flush() {
			if (n) printf "%s %g %g %g\n", m, n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2, v[1], v[n]
		}
		{ if ($2 != m) { flush(); n = 0; m = $2 } v[++n] = $4 }
		END { flush() }' | awk '{ o = $1 == "off" ? 0 : $1 == "bal" ? 1 : 2; print o, $0 }' |
		sort -n > "$OUT/g.dat"
	plot "guests-$work" << EOF
set title "lhpguests $work: two 2-vCPU TCG guests, median ops/s and min-max of runs"
set ylabel "ops/s (both guests)"
set style fill solid 0.4
set boxwidth 0.5
set xrange [-0.6:2.6]
set yrange [0:*]
plot "$OUT/g.dat" using 1:3:xtic(2) with boxes title "median", "" using 1:3:4:5 with yerrorbars title "min - max"
EOF
	rm -f "$OUT/g.dat"
done
rm -f "$OUT/ops.stats" "$OUT/all.stats"
ls "$OUT"/lhpbench-*.png > /dev/null 2>&1 && echo "plots: $(ls "$OUT"/lhpbench-*.png | tr '\n' ' ')"
exit 0
