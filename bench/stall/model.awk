# SPDX-License-Identifier: MIT
# Issue 14: a model (not a measurement) of two group entities A and B on one CPU's cfs_rq
# under EEVDF, where the running one is re-weighted every TAU ms (update_cfs_group() ->
# reweight_entity(), as on every enqueue/dequeue of a thread in its group on that CPU and on
# every tick). It follows reweight_entity() of 6.13+ as long as it calls place_entity()
# (commit 6d71a9c61604, reverted upstream by 101f3498b4bd in 2026): the lag is taken with
# update_entity_lag() (clamped to +-calc_delta_fair(max_slice + TICK)), scaled by w/w', and
# place_entity() inflates it by (W + w')/W with W = the other entity + the current one
# itself (avg_vruntime() includes cfs_rq->curr, which here is the entity being placed).
# With CORRECT=1 the entity keeps its lag instead (v' = V - vl*w/w', no inflation); with
# CORRECT=2 it is placed at the average with no lag (the NO_PLACE_LAG scheduler feature).
# Picks follow pick_eevdf(): at each deadline expiry of the current entity, the eligible
# entity (V - v >= 0) with the earliest deadline runs.
# A starts LAG0 ms of virtual time behind B (a wakeup or migration places entities with lag).
# usage: awk -f model.awk -v TAU=1 [-v CORRECT=0] [-v LAG0=0] [-v WA=638.8 -v WB=382.6] [-v SECS=20]
# prints: share of time A ran, longest uninterrupted run of A and of B (ms), switches/s.
function V() { return (wa * va + wb * vb) / (wa + wb) }
function reweight(e,   w0, w1, l, lim, W, vstar, vnew, rel) {
	if (e == "A") { w0 = wa; v0 = va; d0 = da; wo = wb; vo = vb } else { w0 = wb; v0 = vb; d0 = db; wo = wa; vo = va }
	w1 = w0 * (flip ? 1.01 : 1 / 1.01)
	l = V() - v0
	lim = (SLICE + TICK) * 1024 / w0
	if (l > lim) l = lim
	if (l < -lim) l = -lim
	rel = (d0 - v0) * w0 / w1
	l = l * w0 / w1
	if (CORRECT == 2) {
		# NO_PLACE_LAG: place_entity() puts the entity at the average, lag 0
		vnew = (wo * vo + w1 * v0) / (wo + w1)
	} else if (CORRECT) {
		vnew = V() - l
	} else {
		# avg_vruntime() with the current entity at its old vruntime and new weight
		vstar = (wo * vo + w1 * v0) / (wo + w1)
		W = wo + w1
		vnew = vstar - l * (W + w1) / W
	}
	if (e == "A") { wa = w1; va = vnew; da = vnew + rel } else { wb = w1; vb = vnew; db = vnew + rel }
}
function pick() {
	Vn = V()
	ea = Vn - va >= 0; eb = Vn - vb >= 0
	if (ea && (!eb || da <= db)) return "A"
	return "B"
}
BEGIN {
	TAU = TAU ? TAU : 1; SECS = SECS ? SECS : 20
	wa = WA ? WA : 638.8; wb = WB ? WB : 382.6
	SLICE = 1.4; TICK = 4; dt = 0.01
	va = -(LAG0 + 0); vb = 0; da = SLICE * 1024 / wa; db = SLICE * 1024 / wb
	cur = "A"; runstart = 0; next_rw = TAU
	for (t = 0; t < SECS * 1000; t += dt) {
		if (cur == "A") { va += dt * 1024 / wa; ranA += dt } else vb += dt * 1024 / wb
		if (t >= next_rw) { flip = !flip; reweight(cur); next_rw += TAU }
		expired = (cur == "A" && va >= da) || (cur == "B" && vb >= db)
		if (expired) {
			if (cur == "A") da = va + SLICE * 1024 / wa; else db = vb + SLICE * 1024 / wb
			n = pick()
			if (n != cur) {
				len = t - runstart
				if (cur == "A" && len > maxA) maxA = len
				if (cur == "B" && len > maxB) maxB = len
				runstart = t; cur = n; sw++
			}
		}
	}
	len = t - runstart
	if (cur == "A" && len > maxA) maxA = len
	if (cur == "B" && len > maxB) maxB = len
	printf "TAU=%g ms CORRECT=%d wa=%g wb=%g: A ran %.1f %% (weight share %.1f %%), longest run A %.1f ms, B %.1f ms, %.0f switches/s\n",
		TAU, CORRECT, WA ? WA : 638.8, WB ? WB : 382.6, 100 * ranA / (SECS * 1000), 100 * (WA ? WA : 638.8) / ((WA ? WA : 638.8) + (WB ? WB : 382.6)), maxA, maxB, sw / SECS
}
