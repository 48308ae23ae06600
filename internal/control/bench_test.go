package control

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/store"
)

// How long a space written on the origin (server 1) takes to reach an
// edge's cache (server 3): reports the p50 and p99 per write.
func BenchmarkSpacePropagation(b *testing.B) {
	nodes := jsCluster(b, 3)
	origin := open(b, conn(b, nodes[0]), Config{})
	edge := open(b, conn(b, nodes[2]), Config{})
	seen := make(chan time.Time, 1)
	edge.OnSpace(func(store.Space) {
		select {
		case seen <- time.Now():
		default:
		}
	})
	sp := store.Space{ID: "bench", Title: "t", State: store.Scheduled}
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		sp.Title = fmt.Sprint(i)
		start := time.Now()
		if err := origin.PutSpace(sp); err != nil {
			b.Fatal(err)
		}
		select {
		case at := <-seen:
			lat = append(lat, at.Sub(start))
		case <-time.After(2 * time.Second):
			b.Fatal("change not seen on the edge")
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// The selector over a hundred edges, as each join calls it.
func BenchmarkChoose(b *testing.B) {
	reports := make([]Report, 100)
	for i := range reports {
		reports[i] = edge(fmt.Sprint("edge-", i), float64(i%80)/100, i*10, 2000, i*10, 20000)
	}
	rnd := rand.New(rand.NewPCG(1, 1))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := Choose(reports, rnd); !ok {
			b.Fatal("no choice")
		}
	}
}
