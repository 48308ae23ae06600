package telemetry

import (
	"testing"
)

// BenchmarkRequest is what every gated request pays for the receipts: a
// tally add and the per-source counters.
func BenchmarkRequest(b *testing.B) {
	c := New("n", nil, nil, nil)
	d := Decision{"media", "passed", "budget"}
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			a, p := src(i % 19_000)
			c.Sources.Request(a, p)
			c.Tally.Add(d, 1)
			i++
		}
	})
}

// BenchmarkSecond is the once-a-second close with 19,000 sources active.
func BenchmarkSecond(b *testing.B) {
	c := New("n", nil, nil, nil)
	for b.Loop() {
		b.StopTimer()
		for i := range 19_000 {
			a, p := src(i)
			c.Sources.Request(a, p)
		}
		for i := range 1000 {
			a, p := src(i)
			c.Sources.JoinAttempt(a, p)
			c.Tally.Add(Decision{"join", "admitted", "direct"}, 1)
		}
		b.StartTimer()
		c.Second(1_800_000_000)
	}
}
