package control

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strings"
)

// CPUCeiling is the CPU load a node is full at: above it a node's own
// audio would start to stall, so a join goes elsewhere first.
const CPUCeiling = 0.85

// Headroom is the share of a node still free, 0..1 (0 or less: full): the
// least of its spare CPU (against CPUCeiling), its spare capacity and its
// spare open files, each as a fraction, so the scarcest one decides.
func Headroom(r Report) float64 {
	h := (CPUCeiling - r.CPU) / CPUCeiling
	if r.Capacity > 0 {
		h = min(h, float64(r.Capacity-r.Total())/float64(r.Capacity))
	}
	if r.MaxFiles > 0 {
		h = min(h, float64(r.MaxFiles-r.OpenFiles)/float64(r.MaxFiles))
	}
	return h
}

// Choose picks the node a join goes to: among the healthy nodes that take
// listeners (not origins) and have headroom, two at random, and the one
// with more headroom of the two ("power of two choices": near the best
// spread without every edge sending the same burst to the same node).
// Alternates are the other nodes with headroom, most first. ok is false
// when no node has any. Reports are taken as fresh: pass Plane.Reports().
// rnd nil uses the global source.
func Choose(reports []Report, rnd *rand.Rand) (best Report, alternates []Report, ok bool) {
	type cand struct { // an index, not a copy: sorting stays cheap
		i int
		h float64
	}
	var cs []cand
	for i, r := range reports {
		if h := Headroom(r); r.Healthy && r.Role != "origin" && h > 0 {
			cs = append(cs, cand{i, h})
		}
	}
	if len(cs) == 0 {
		return Report{}, nil, false
	}
	intN := rand.IntN
	if rnd != nil {
		intN = rnd.IntN
	}
	pick := intN(len(cs))
	if len(cs) > 1 {
		other := intN(len(cs) - 1)
		if other >= pick {
			other++
		}
		if cs[other].h > cs[pick].h {
			pick = other
		}
	}
	best = reports[cs[pick].i]
	cs = slices.Delete(cs, pick, pick+1)
	slices.SortFunc(cs, func(a, b cand) int {
		return cmp.Or(cmp.Compare(b.h, a.h), strings.Compare(reports[a.i].Node, reports[b.i].Node))
	})
	alternates = make([]Report, 0, len(cs))
	for _, c := range cs {
		alternates = append(alternates, reports[c.i])
	}
	return best, alternates, true
}
