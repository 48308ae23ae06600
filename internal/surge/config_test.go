package surge

import (
	"strings"
	"testing"
	"time"
)

// Nonsense is refused with an error that names it, and runs nothing.
func TestNonsenseIsRefused(t *testing.T) {
	ok := Config{Edges: 2, Crowd: []Wave{{N: 10}}}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no edges", func(c *Config) { c.Edges = 0 }, "0 edges"},
		{"negative crowd", func(c *Config) { c.Crowd = []Wave{{N: -5}} }, "wave 1"},
		{"negative start", func(c *Config) { c.Crowd = []Wave{{N: 5, Start: -time.Second}} }, "wave 1"},
		{"negative capacity", func(c *Config) { c.CapacityPerEdge = -1 }, "capacity per edge"},
		{"start above max", func(c *Config) { c.StartRate, c.AdmitRateMax = 600, 100 }, "start rate"},
		{"odd step", func(c *Config) { c.Step = 7 * time.Millisecond }, "step"},
		{"long step", func(c *Config) { c.Step = time.Second }, "step"},
		{"bad mode", func(c *Config) { c.Mode = "paranoid" }, "mode"},
		{"negative bots", func(c *Config) { c.Bots = &Bots{N: -1} }, "botnet"},
		{"infinite bot rate", func(c *Config) { c.Bots = &Bots{N: 1, RatePerBot: 1e300} }, "botnet"},
		{"too long", func(c *Config) { c.MaxTime = 48 * time.Hour }, "max time"},
		{"negative patience", func(c *Config) { c.Patience = -time.Second }, "patience"},
	} {
		cfg := ok
		tc.edit(&cfg)
		r, err := Run(cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %q", tc.name, err, tc.want)
		}
		if r.Admitted != 0 || r.Timeline != nil {
			t.Errorf("%s: a refused configuration ran: %+v", tc.name, r)
		}
	}
	if _, err := Run(ok); err != nil {
		t.Errorf("a sound configuration refused: %v", err)
	}
}

// Those who give up before their turn are refused, the rest get in, and
// every arrival is counted once.
func TestPatienceRunsOut(t *testing.T) {
	cfg := fixed(1, 100)
	cfg.Patience = 30 * time.Second
	cfg.Crowd = []Wave{{N: 6000}}
	r := run(t, cfg)
	if r.Admitted+r.Refused+r.StillWaiting != 6000 || r.Refused < 2900 || r.Refused > 3100 {
		t.Errorf("admitted %d, refused %d, still waiting %d of 6000 (patience 30 s at 100/s)", r.Admitted, r.Refused, r.StillWaiting)
	}
	if r.TimeToAdmit.Max > 31*time.Second || r.AllAdmittedAt != -1 {
		t.Errorf("waits %+v, all admitted at %v", r.TimeToAdmit, r.AllAdmittedAt)
	}
}

// FuzzRun: whatever the numbers, Run refuses them or accounts for every
// arrival, with waits that are not negative and the line's own wait no
// more than the listener's.
func FuzzRun(f *testing.F) {
	f.Add(3, 100, 50.0, 200, int64(0), int64(2), 10, 5.0, true, false, int64(1))
	f.Add(1, 0, 0.0, 5000, int64(1), int64(0), 0, 0.0, false, true, int64(2))
	f.Fuzz(func(t *testing.T, edges, capacity int, rate float64, n int, start, over int64, bots int, botRate float64, solves, poisson bool, seed int64) {
		if n > 20000 || bots > 5000 || edges > 50 || over > 60 || start > 60 {
			return // the fuzzer is after the arithmetic, not long runs
		}
		cfg := Config{Edges: edges, CapacityPerEdge: capacity, AdmitRateMax: rate, Poisson: poisson, Seed: seed,
			Crowd: []Wave{{N: n, Start: time.Duration(start) * time.Second, Over: time.Duration(over) * time.Second}}, MaxTime: 3 * time.Minute}
		if bots != 0 {
			cfg.Bots = &Bots{N: bots, RatePerBot: botRate, SolvesPoW: solves}
		}
		r, err := Run(cfg)
		if err != nil {
			return
		}
		if r.Admitted+r.Refused+r.StillWaiting != n || r.Admitted < 0 || r.StillWaiting < 0 {
			t.Fatalf("%d arrivals: admitted %d, refused %d, still waiting %d", n, r.Admitted, r.Refused, r.StillWaiting)
		}
		if r.TimeToAdmit.P50 < 0 || r.LineWait.Max > r.TimeToAdmit.Max+time.Millisecond || r.BotRejectCPUSeconds < 0 {
			t.Fatalf("waits %+v, line waits %+v", r.TimeToAdmit, r.LineWait)
		}
	})
}
