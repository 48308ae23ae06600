package line

import (
	"testing"
	"time"

	"github.com/onair-live/onair/internal/control"
)

// The spaces with people waiting share the edges' rate; all edges full
// stops every line; past MaxSpaces a new space is decided at its edge,
// without the edge giving up the shared line for the others.
func TestKeeperSharesTheRateAndBoundsSpaces(t *testing.T) {
	c := newCluster(t)
	cl := c.clients[0]
	c.pause(true)
	for _, sp := range []string{"s1", "s2"} {
		for range 3 {
			if tk := cl.Join(sp, time.Now()); tk.Position == 0 {
				t.Fatalf("%s: admitted while every edge is full", sp)
			}
		}
	}
	c.pause(false)
	c.keeper.mu.Lock()
	for _, sp := range []string{"s1", "s2"} {
		if r := c.keeper.lines[sp].adm.Rate(); r != float64(c.rate.Load())/2 {
			t.Errorf("%s moves at %v/s, want half of %d/s", sp, r, c.rate.Load())
		}
	}
	c.keeper.cfg.MaxSpaces = len(c.keeper.lines)
	c.keeper.mu.Unlock()
	tk := cl.Join("one-too-many", time.Now())
	if tk.Number&keptBit != 0 || !cl.Shared() {
		t.Fatalf("a space past the keeper's bound: %+v, shared %v; want decided locally, still shared", tk, cl.Shared())
	}
	if tk := cl.Join("s1", time.Now()); tk.Number&keptBit == 0 {
		t.Fatalf("a kept space after a refusal: %+v, want the shared line", tk)
	}
}

// The claimed places are one bit each, and forgetting drops them: a place
// forgotten counts as used (no valid token can name it any more).
func TestClaimedSet(t *testing.T) {
	var c claimedSet
	for _, seq := range []uint64{0, 5, 63, 64, 200} {
		if !c.claim(seq) || c.claim(seq) {
			t.Fatalf("place %d: want claimed once", seq)
		}
	}
	if !c.claim(1) {
		t.Fatal("a free place refused")
	}
	c.forget(130)
	if c.base != 128 || len(c.words) != 2 || c.claim(5) || !c.claim(129) || c.claim(200) {
		t.Fatalf("after forgetting below 130: base %d, %d words", c.base, len(c.words))
	}
	c.forget(1 << 30) // past everything: nothing kept, no gap allocated
	if len(c.words) != 0 || !c.claim(1<<30+3) || len(c.words) != 1 {
		t.Fatalf("after forgetting all: base %d, %d words", c.base, len(c.words))
	}
}

func TestEdgeCapacityFromReports(t *testing.T) {
	reports := []control.Report{
		{Node: "o", Role: "origin", AdmitRate: 999},
		{Node: "e1", Role: "edge", Healthy: true, AdmitRate: 100, Capacity: 10, Listeners: map[string]int{"ogg": 10}},
		{Node: "e2", Role: "edge", Healthy: true, AdmitRate: 50, Capacity: 10, Listeners: map[string]int{"ogg": 3}},
		{Node: "e3", Role: "edge", Healthy: false, AdmitRate: 70},
	}
	c := EdgeCapacity(func() []control.Report { return reports })
	if rate, full := c(); rate != 150 || full {
		t.Fatalf("two healthy edges, one full: %v %v, want 150/s, not full", rate, full)
	}
	reports[2].Listeners["ogg"] = 10
	if _, full := c(); !full {
		t.Fatal("every healthy edge full, and the lines still move")
	}
	// An edge admitting from its own line lends the shared ones nothing:
	// its rate would be spent twice.
	reports[1].LineLocal = true
	if rate, _ := c(); rate != 50 {
		t.Fatalf("e1 on its own line: the shared lines move at %v/s, want e2's 50/s", rate)
	}
	reports[2].LineLocal = true
	if rate, _ := c(); rate != 0 {
		t.Fatalf("every edge on its own line: the shared lines move at %v/s, want 0", rate)
	}
	// A cluster just started: no edge has reported yet, and the edge that
	// asks is there; the lines move at a lone node's start rate.
	reports = nil
	if rate, full := c(); full || rate != unknownRate {
		t.Fatalf("no edge report yet: %v/s, full %v; want %v/s, not full", rate, full, unknownRate)
	}
}
