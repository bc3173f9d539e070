#!/bin/sh
# SPDX-License-Identifier: MIT
# Plot sbcod's RSS and open fds over a soak run (tests/integration/soak.sh CSV) with gnuplot.
# usage: bench/soakplot.sh CSV  -> CSV's directory/soak.{png,svg}
set -u
CSV=$1
D=$(dirname "$CSV")
command -v gnuplot > /dev/null || { echo "soakplot: no gnuplot (gnuplot-nox)" >&2; exit 1; }
for t in png svg; do
	case $t in png) term="pngcairo size 900,420" ;; svg) term="svg size 900,420" ;; esac
	gnuplot << GP || exit 1
set terminal $term
set output "$D/soak.$t"
set datafile separator ","
set key bottom right
set xlabel "seconds"
set ylabel "RSS (kB)"
set y2label "open fds"
set y2tics
set ytics nomirror
stats "$CSV" every ::1 using 2 nooutput name "R"
stats "$CSV" every ::1 using 3 nooutput name "F"
set yrange [0:R_max * 1.5]
set y2range [0:F_max * 1.5]
set title "sbcod under churn: RSS and open fds"
plot "$CSV" every ::1 using 1:2 with linespoints title "RSS kB" axes x1y1, \
     "$CSV" every ::1 using 1:3 with linespoints title "open fds" axes x1y2
GP
done
echo "soakplot: $D/soak.png, $D/soak.svg"
