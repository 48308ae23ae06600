package control

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func edge(node string, cpu float64, listeners, capacity, files, maxFiles int) Report {
	return Report{Node: node, Role: "edge", At: time.Now(), Healthy: true, CPU: cpu,
		Listeners: map[string]int{"ogg": listeners}, Capacity: capacity, OpenFiles: files, MaxFiles: maxFiles}
}

func TestHeadroomIsTheScarcest(t *testing.T) {
	for _, c := range []struct {
		r    Report
		want float64
	}{
		{edge("cpu", 0.425, 0, 0, 0, 0), 0.5},                // half the CPU ceiling left
		{edge("cap", 0.0, 900, 1000, 0, 0), 0.1},             // 100 of 1000 places left
		{edge("files", 0.1, 10, 0, 19000, 20000), 0.05},      // 1000 of 20000 files left
		{edge("full", 0.9, 0, 0, 0, 0), (0.85 - 0.9) / 0.85}, // over the ceiling
		{edge("over", 0.1, 1200, 1000, 0, 0), -0.2},          // more than its capacity
		{edge("unbounded", 0, 1e6, 0, 0, 0), 1},              // no capacity, no file limit
		{edge("all", 0.425, 400, 1000, 14000, 20000), 0.3},   // files are the least
	} {
		if got := Headroom(c.r); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: headroom %v, want %v", c.r.Node, got, c.want)
		}
	}
}

func TestChooseSkipsNodesWithoutHeadroom(t *testing.T) {
	sick := edge("sick", 0, 0, 100, 0, 0)
	sick.Healthy = false
	origin := edge("origin", 0, 0, 100, 0, 0)
	origin.Role = "origin"
	reports := []Report{sick, origin, edge("full", 0.1, 100, 100, 0, 0), edge("hot", 0.86, 0, 0, 0, 0)}
	if _, _, ok := Choose(reports, rand.New(rand.NewPCG(1, 2))); ok {
		t.Fatal("chose a node with no headroom")
	}
	if _, _, ok := Choose(nil, nil); ok {
		t.Fatal("chose among no nodes")
	}
	reports = append(reports, edge("ok", 0.5, 10, 100, 0, 0))
	best, alts, ok := Choose(reports, nil)
	if !ok || best.Node != "ok" || len(alts) != 0 {
		t.Fatalf("best %s, alternates %v, ok %t", best.Node, alts, ok)
	}
}

// With three nodes, two random choices never send a join to the one with
// the least headroom, send most to the one with the most, and list the
// other two as alternates, most headroom first.
func TestChooseTwoChoices(t *testing.T) {
	reports := []Report{edge("a", 0.1, 10, 100, 0, 0), edge("b", 0.1, 50, 100, 0, 0), edge("c", 0.1, 80, 100, 0, 0)}
	rnd := rand.New(rand.NewPCG(7, 7))
	count := map[string]int{}
	for range 3000 {
		best, alts, ok := Choose(reports, rnd)
		if !ok || len(alts) != 2 || slices.ContainsFunc(alts, func(r Report) bool { return r.Node == best.Node }) ||
			Headroom(alts[0]) < Headroom(alts[1]) {
			t.Fatalf("best %s, alternates %v", best.Node, alts)
		}
		count[best.Node]++
	}
	// a wins whenever drawn (2 pairs of 3), b only against c (1 of 3).
	if count["c"] != 0 || count["a"] < 1800 || count["b"] < 800 {
		t.Fatalf("choices %v", count)
	}
}

// Property: for any reports, the choice is a node with headroom that is
// healthy and takes listeners, not below every other candidate unless
// alone, and best plus alternates are exactly the candidates.
func FuzzChoose(f *testing.F) {
	f.Add([]byte{10, 200, 3, 40, 90, 7, 255, 0, 1}, uint64(1))
	f.Add([]byte{}, uint64(2))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		var reports []Report
		for i := 0; i+3 <= len(data) && len(reports) < 32; i += 3 {
			r := edge(string(rune('a'+len(reports))), float64(data[i])/200, int(data[i+1]), int(data[i+2]&0x7f), 0, 0)
			r.Healthy = data[i+2]&0x80 == 0
			reports = append(reports, r)
		}
		var cands []Report
		for _, r := range reports {
			if r.Healthy && Headroom(r) > 0 {
				cands = append(cands, r)
			}
		}
		best, alts, ok := Choose(reports, rand.New(rand.NewPCG(seed, seed)))
		if ok != (len(cands) > 0) {
			t.Fatalf("ok %t with %d candidates", ok, len(cands))
		}
		if !ok {
			return
		}
		if !best.Healthy || Headroom(best) <= 0 || len(alts) != len(cands)-1 {
			t.Fatalf("best %+v (headroom %v), %d alternates of %d candidates", best, Headroom(best), len(alts), len(cands))
		}
		if len(alts) > 0 && Headroom(best) < Headroom(alts[len(alts)-1]) {
			t.Fatalf("best has less headroom (%v) than every other candidate", Headroom(best))
		}
		for i, a := range alts {
			if a.Node == best.Node || i > 0 && Headroom(a) > Headroom(alts[i-1]) {
				t.Fatalf("alternates %v (best %s)", alts, best.Node)
			}
		}
	})
}
