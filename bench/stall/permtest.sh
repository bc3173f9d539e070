#!/bin/sh
# SPDX-License-Identifier: MIT
# Issue 14: is variant B's stalling different from variant A's? Reads the per-run CSVs of
# bench/stall/sides.sh (variant,rep,...,host_stalled_a,host_stalled_b,...), one or more
# invocations pooled; a run's stalled VM-seconds are host_stalled_a + host_stalled_b.
# Paired: the runs of A and B with the same repetition of the same invocation ran next
# to each other; a sign-flip permutation test on their differences. Unpaired: a
# permutation test on the difference of the means over all runs. Two-sided, 100,000
# random permutations (fixed seed, so reruns print the same p).
# usage: bench/stall/permtest.sh A B RUNS.csv [RUNS.csv ...]
set -eu
A=$1
B=$2
shift 2
awk -F, -v A="$A" -v B="$B" '
	FNR == 1 { f++; next }
	$1 == A || $1 == B { s = $7 + $8; k = f SUBSEP $2
		if ($1 == A) { a[k] = s; all[++n] = s; isa[n] = 1; na++; sa += s }
		else { b[k] = s; all[++n] = s; isa[n] = 0; nb++; sb += s } }
	END {
		srand(14)
		for (k in a) if (k in b) { d[++np] = b[k] - a[k]; sd += d[np] }
		obs = sd < 0 ? -sd : sd; hit = 0
		for (r = 0; r < 100000; r++) {
			t = 0; for (i = 1; i <= np; i++) t += (rand() < 0.5 ? -d[i] : d[i])
			if ((t < 0 ? -t : t) >= obs - 1e-9) hit++
		}
		printf "paired: %d pairs, mean %s %.2f, %s %.2f, %s - %s = %+.2f VM-s per run, p = %.3f\n",
			np, A, np ? sa_p() : 0, B, np ? sb_p() : 0, B, A, np ? sd / np : 0, (hit + 1) / 100001
		ma = na ? sa / na : 0; mb = nb ? sb / nb : 0; obs = mb - ma; obs = obs < 0 ? -obs : obs; hit = 0
		for (r = 0; r < 100000; r++) {
			for (i = n; i > 1; i--) { j = int(rand() * i) + 1; t = all[i]; all[i] = all[j]; all[j] = t }
			x = 0; for (i = 1; i <= na; i++) x += all[i]
			y = 0; for (i = na + 1; i <= n; i++) y += all[i]
			t = y / nb - x / na; if ((t < 0 ? -t : t) >= obs - 1e-9) hit++
		}
		printf "unpaired: %s %d runs, mean %.2f; %s %d runs, mean %.2f; p = %.3f\n",
			A, na, ma, B, nb, mb, (hit + 1) / 100001
	}
	function sa_p(   k, t) { t = 0; for (k in a) if (k in b) t += a[k]; return t / np }
	function sb_p(   k, t) { t = 0; for (k in b) if (k in a) t += b[k]; return t / np }
' "$@"
