package surge

import (
	"testing"
	"time"
)

// BenchmarkRun is the planner's surge: 2,000,000 arrivals over 60 s across
// 400 edges of a cluster that has just started (the controllers ramp).
func BenchmarkRun(b *testing.B) {
	cfg := Config{Edges: 400, CapacityPerEdge: 20000, Crowd: []Wave{{N: 2_000_000, Over: 60 * time.Second}}}
	for b.Loop() {
		if _, err := Run(cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunBotnet is the same surge with a botnet of 100,000 at 10/s
// beside it, and CPU modelled.
func BenchmarkRunBotnet(b *testing.B) {
	cfg := Config{Edges: 400, CapacityPerEdge: 20000, CoresPerEdge: 2, ListenerCostUS: 20, JoinCostUS: 300, RejectCostUS: 20,
		Crowd: []Wave{{N: 2_000_000, Over: 60 * time.Second}},
		Bots:  &Bots{N: 100_000, RatePerBot: 10, Start: 10 * time.Second, Over: 60 * time.Second}}
	for b.Loop() {
		if _, err := Run(cfg); err != nil {
			b.Fatal(err)
		}
	}
}
