# SPDX-License-Identifier: MIT
# Sourced by tests and benchmarks of guest stalls (issue 14): a host-side view of two
# 2-vCPU VMs that needs nothing from the guests.
# vcpu_sampler_start OUT TIDS: a SCHED_FIFO sampler (so that a stall cannot starve it)
#   writing one line a second to OUT: seconds since boot, then the exec ns of each tid in
#   TIDS (/proc/TID/schedstat; TIDS = "a.v0 a.v1 b.v0 b.v1"); sets SAMPLER to its pid.
# vcpu_sampler_stop: ends it.
# vcpu_stalls FILE: "seconds stalled_a stalled_b longest" from FILE: a VM's second is
#   stalled when one of its vCPUs got < 100 ms of CPU and its sibling > 400 ms (per
#   second of wall time); longest is the longest run of stalled seconds of one VM.
vcpu_sampler_start() {
	TIDS=$2 chrt -f 20 sh -c '
		while :; do
			l=$(cut -d" " -f1 /proc/uptime)
			for t in $TIDS; do read -r e _ < "/proc/$t/schedstat" || e=0; l="$l $e"; done
			echo "$l"
			sleep 1
		done' > "$1" &
	SAMPLER=$!
}
vcpu_sampler_stop() {
	[ -n "${SAMPLER:-}" ] || return 0
	kill "$SAMPLER" 2> /dev/null
	wait "$SAMPLER" 2> /dev/null
	SAMPLER=""
}
vcpu_stalls() {
	awk 'NR > 1 && $1 > t {
		dt = $1 - t
		for (i = 2; i <= 5; i++) ms[i] = ($i - p[i]) / 1e6 / dt
		n++
		for (g = 0; g < 2; g++) {
			x = ms[2 + 2 * g]; y = ms[3 + 2 * g]
			lo = x < y ? x : y; hi = x < y ? y : x
			if (lo < 100 && hi > 400) { s[g]++; r[g]++; if (r[g] > L) L = r[g] } else r[g] = 0
		}
	}
	{ t = $1; for (i = 2; i <= 5; i++) p[i] = $i }
	END { printf "%d %d %d %d\n", n, s[0] + 0, s[1] + 0, L + 0 }' "$1"
}
