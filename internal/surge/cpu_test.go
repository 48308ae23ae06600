package surge

import (
	"testing"
)

// The controller is CPU-driven (Gate.control: healthy below 85% busy):
// an edge of one core whose joins cost 1 ms each is at its ceiling at
// 850 joins/s. From its start rate it climbs 100/s a second, passes the
// ceiling, is cut to 70%, and climbs again: a sawtooth under about 950/s
// whose mean is over 70% of the ceiling, so a crowd of 30,000 at once is
// in after N over that mean. (A warm edge would start at 5,000/s and
// take five cuts to come down: its CPU is pinned meanwhile.)
func TestCPUBoundsTheControllersRate(t *testing.T) {
	cfg := Config{Edges: 1, CoresPerEdge: 1, JoinCostUS: 1000, StartRate: 500, AdmitRateMax: 5000,
		Crowd: []Wave{{N: 30000}}}
	r := run(t, cfg)
	ceiling := cpuCeiling / (cfg.JoinCostUS / 1e6)
	cut := false
	for i, s := range r.Timeline {
		if s.AdmitRate > ceiling+2*rateIncrease || s.CPU > 1 {
			t.Errorf("%v: rate %v, CPU %.2f: past the ceiling (%v/s)", s.At, s.AdmitRate, s.CPU, ceiling)
		}
		if i > 0 && s.AdmitRate < r.Timeline[i-1].AdmitRate {
			cut = true
		}
	}
	if !cut {
		t.Error("the rate was never cut")
	}
	mean := 30000 / r.AllAdmittedAt.Seconds()
	if mean < 0.7*ceiling || mean > ceiling {
		t.Errorf("admitted at %.0f/s on average, want between 70%% and 100%% of the ceiling %.0f/s", mean, ceiling)
	}
	t.Logf("mean admit rate %.0f/s against a CPU ceiling of %.0f/s; p99 %v", mean, ceiling, r.TimeToAdmit.P99)
}
