#!/bin/sh
# SPDX-License-Identifier: MIT
# Issue 14: the table and plot of bench/stall/sides.sh from its per-second CSV
# (variant,rep,second,guest,ops) and per-run sbcod counters (variant,rep,stalls,lifts,
# rotations,host_seconds,host_stalled_a,host_stalled_b,host_longest); env SIDES_VARIANTS
# (the order of the rows, default "off bal-only bal-noiso bal sbco").
# Stalled seconds from the host (RUNS: the SCHED_FIFO sampler's count per run) and from
# the guests: a second whose ops/s line is below 10 % of that guest's median over all
# seconds under off, or missing (SECS lines expected per guest and run). Writes OUT/stall-sides.md (also printed) and, with gnuplot,
# OUT/stall-sides.png/svg (the per-second series of each variant's first repetition).
# usage: bench/stall/sides_summary.sh CSV RUNS OUT SECS
set -u
CSV=$1
RUNS=$2
OUT=$3
SECS=$4
VARIANTS=${SIDES_VARIANTS:-off bal-only bal-noiso bal sbco}
{
	echo "| variant | runs | ops/s (2 guests), median of runs | min - max | vs off | stalled VM-seconds, host view | longest, host view | stalled guest-seconds, guest view (low or missing lines) | sbcod: stalls seen | stripes rotated | anti-stacking lifted |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	awk -F, -v runs="$RUNS" -v secs="$SECS" -v variants="$VARIANTS" '
	NR == 1 { next }
	{ v = $1; key = v SUBSEP $2 SUBSEP $4
	  val[key, $3] = $5; if ($3 > len[key]) len[key] = $3
	  keys[key] = 1; reps[v, $2] = 1; vars[v] = 1
	  if (v == "off") offv[$4, ++noff[$4]] = $5 }
	function median(a, n,   i, j, t) {
		for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		return n ? (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2) : 0
	}
	END {
		while ((getline l < runs) > 0) {
			split(l, f, ",")
			if (f[1] == "variant") continue
			reps[f[1], f[2]] = 1; vars[f[1]] = 1 # a run whose guests printed nothing counts too
			st[f[1]] += f[3]; li[f[1]] += f[4]; ro[f[1]] += f[5]
			hs[f[1]] += f[6]; hst[f[1]] += f[7] + f[8]; if (f[9] > hl[f[1]]) hl[f[1]] = f[9]
		}
		for (g in noff) { delete tmp; for (i = 1; i <= noff[g]; i++) tmp[i] = offv[g, i]; ref[g] = median(tmp, noff[g]) }
		no = split(variants, order, " ")
		for (o = 1; o <= no; o++) {
			v = order[o]
			if (!(v in vars)) continue
			nr = 0; gsecs = 0; stalled = 0
			delete tot
			for (k in reps) {
				split(k, p, SUBSEP)
				if (p[1] != v) continue
				r = p[2]; sum = 0
				for (gi = 1; gi <= 2; gi++) {
					g = gi == 1 ? "a" : "b"; key = v SUBSEP r SUBSEP g
					delete tmp
					for (s = 1; s <= len[key]; s++) {
						x = val[key, s]; tmp[s] = x
						if (x < 0.1 * ref[g]) stalled++
					}
					gsecs += secs; stalled += secs - len[key]
					sum += median(tmp, len[key])
				}
				tot[++nr] = sum
			}
			delete tmp
			for (i = 1; i <= nr; i++) tmp[i] = tot[i]
			m = median(tmp, nr)
			if (v == "off") moff = m
			printf "| %s | %d | %.0f | %.0f - %.0f | %s | %.1f %% (%d of %d) | %d s | %.1f %% (%d of %d) | %d | %d | %d |\n", v, nr, m, tmp[1], tmp[nr],
				v == "off" || !moff ? "-" : sprintf("%+.1f %%", 100 * (m / moff - 1)),
				hs[v] ? 100 * hst[v] / (2 * hs[v]) : 0, hst[v], 2 * hs[v], hl[v],
				gsecs ? 100 * stalled / gsecs : 0, stalled, gsecs, st[v], ro[v], li[v]
		}
	}' "$CSV"
} > "$OUT/stall-sides.md"
cat "$OUT/stall-sides.md"
command -v gnuplot > /dev/null || { echo "sides_summary: no gnuplot, no plot" >&2; exit 0; }
D=$(mktemp -d /tmp/sbco-sides-plot.XXXXXX)
for v in $VARIANTS; do
	# the variant's first repetition (pooled runs number theirs on)
	r1=$(awk -F, -v v="$v" 'NR > 1 && $1 == v && (m == "" || $2 + 0 < m) { m = $2 + 0 } END { print m + 0 }' "$RUNS")
	for g in a b; do
		awk -F, -v v="$v" -v g="$g" -v r="$r1" '$1 == v && $2 == r && $4 == g { print $3, $5 }' "$CSV" > "$D/$v-$g.dat"
		# a guest that printed nothing (stalled throughout) is drawn at 0 ops/s
		[ -s "$D/$v-$g.dat" ] || printf '1 0\n%s 0\n' "$SECS" > "$D/$v-$g.dat"
	done
done
for t in png svg; do
	term="pngcairo size 1000,1100"
	[ $t = svg ] && term="svg size 1000,1100"
	gnuplot << EOF
set terminal $term
set output "$OUT/stall-sides.$t"
set multiplot layout $(echo $VARIANTS | wc -w),1 title "Two 2-vCPU TCG guests (spin lock), per-second ops/s, each variant's first repetition"
set ylabel "ops/s"
set yrange [0:*]
set xrange [1:$SECS]
set key top right
do for [v in "$VARIANTS"] {
	set title v
	plot "$D/".v."-a.dat" with lines title "guest a", "$D/".v."-b.dat" with lines title "guest b"
}
unset multiplot
EOF
done
rm -rf "$D"
echo "sides_summary: $OUT/stall-sides.png, .svg"
