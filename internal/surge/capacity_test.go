package surge

import (
	"testing"
	"time"
)

// Past the edges' capacity nobody is refused: they wait in line, which
// stops once every edge reports itself full (Gate.control's full, summed
// by line.EdgeCapacity). Until the keeper hears it, the line goes on at
// its rate, and every place it served by then is let in when its holder
// comes back: the edges overshoot by up to the 1.5 s from a report's
// second to the keeper's period after it, and the places served but not
// yet claimed.
func TestCapacityBindsAndTheRestWait(t *testing.T) {
	const edges, capacity, n, rate = 4, 1000, 12000, 2000
	cfg := fixed(edges, rate)
	cfg.CapacityPerEdge = capacity
	cfg.Crowd = []Wave{{N: n, Over: 6 * time.Second}}
	cfg.MaxTime = 30 * time.Second
	r := run(t, cfg)
	if r.Refused != 0 || r.Admitted+r.StillWaiting != n {
		t.Fatalf("admitted %d, refused %d, still waiting %d of %d", r.Admitted, r.Refused, r.StillWaiting, n)
	}
	if r.Held < edges*capacity || r.Overshoot > 2*rate {
		t.Errorf("held %d (overshoot %d) on %d edges of %d", r.Held, r.Overshoot, edges, capacity)
	}
	if r.StillWaiting != n-r.Held || r.StillWaiting == 0 || r.AllAdmittedAt != -1 {
		t.Errorf("%d still waiting, %d held, all admitted at %v", r.StillWaiting, r.Held, r.AllAdmittedAt)
	}
	// Once full, nobody more gets in, and the full edges' controllers
	// back off to their floor (×0.7 a second) while the line waits.
	for _, s := range r.Timeline[6:] {
		if s.Admitted != 0 {
			t.Errorf("%v: %d admitted past capacity", s.At, s.Admitted)
		}
	}
	if last := r.Timeline[len(r.Timeline)-1]; last.AdmitRate != edges*minRate || abs(last.Line-r.StillWaiting) > 1 || abs(last.Held-r.Held) > 1 {
		t.Errorf("at the end: the line at %v/s, %d in it, %d held; want the edges' floors %v/s, %d and %d",
			last.AdmitRate, last.Line, last.Held, float64(edges*minRate), r.StillWaiting, r.Held)
	}
	if served := int(r.Timeline[len(r.Timeline)-1].Served + 0.5); abs(served-r.Held) > 1 {
		t.Errorf("the line served %d places, %d are in: a served place is let in, and only those", served, r.Held)
	}
	t.Logf("held %d (overshoot %d), %d waiting", r.Held, r.Overshoot, r.StillWaiting)
}

// Without a MaxTime, a run whose cluster is full ends once nobody more
// can get in (a Retry-After after the last one did), not after a day.
func TestFullClusterRunEnds(t *testing.T) {
	cfg := fixed(3, 3000)
	cfg.CapacityPerEdge = 6000
	cfg.Crowd = []Wave{{N: 50000, Over: time.Minute}}
	r := run(t, cfg)
	if r.Ran > 2*time.Minute || r.StillWaiting == 0 || r.Held+r.StillWaiting != 50000 {
		t.Errorf("ran %v: held %d, %d still waiting", r.Ran, r.Held, r.StillWaiting)
	}
}

func abs(n int) int { return max(n, -n) }
