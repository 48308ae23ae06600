package control

import (
	"testing"
	"time"
)

// Two nodes on one NATS server, b's clock 4 s ahead: each tallies the
// other's live reports (a's figure for b about −4 s plus the travel, b's
// for a about +4 s), not its own echoed back, and a's tally holds b's
// reports although they are stale to it (from its future).
func TestClocksTalliedFromLiveReports(t *testing.T) {
	nodes := jsCluster(t, 1)
	ahead := 4 * time.Second
	a := open(t, conn(t, nodes[0]), Config{})
	b := open(t, conn(t, nodes[0]), Config{Now: func() time.Time { return time.Now().Add(ahead) }})
	rep := func(p *Plane, name string) {
		if err := p.Report(Report{Node: name, Role: "edge", Healthy: true}); err != nil {
			t.Fatal(err)
		}
	}
	a.TakeClocks()
	b.TakeClocks()
	var ca, cb map[string]PeerClock
	within(t, 3*time.Second, "each other's reports", func() bool {
		rep(a, "a")
		rep(b, "b")
		time.Sleep(50 * time.Millisecond)
		if ca == nil {
			ca = a.TakeClocks()
		}
		if cb == nil {
			cb = b.TakeClocks()
		}
		return ca != nil && cb != nil
	})
	if _, self := ca["a"]; self || len(ca) != 1 || ca["b"].Reports < 1 {
		t.Fatalf("a's tally %+v: want b's reports only", ca)
	}
	if _, self := cb["b"]; self || len(cb) != 1 {
		t.Fatalf("b's tally %+v", cb)
	}
	if d := ca["b"].Min + ahead; d < 0 || d > 500*time.Millisecond {
		t.Fatalf("a's receipt − b's stamp %v: want −4 s plus the travel", ca["b"].Min)
	}
	if d := cb["a"].Min - ahead; d < 0 || d > 500*time.Millisecond {
		t.Fatalf("b's receipt − a's stamp %v: want +4 s plus the travel", cb["a"].Min)
	}
	for _, r := range a.Reports() {
		if r.Node == "b" {
			t.Fatalf("a took b's report from 4 s ahead as fresh: %+v", r)
		}
	}
	time.Sleep(100 * time.Millisecond) // reports in flight land
	a.TakeClocks()
	if got := a.TakeClocks(); got != nil {
		t.Fatalf("a second take %+v, want nothing new", got)
	}
}
