package telemetry

import (
	"math"
	"sync/atomic"
	"time"
)

// histEdges are the upper bounds of a Hist's buckets: 25 ms steps to a
// second (fan-out lag lives there), then coarser to a minute.
var histEdges = func() []time.Duration {
	var e []time.Duration
	for ms := 25; ms <= 1000; ms += 25 {
		e = append(e, time.Duration(ms)*time.Millisecond)
	}
	for _, s := range []int{2, 3, 5, 10, 20, 30, 60} {
		e = append(e, time.Duration(s)*time.Second)
	}
	return e
}()

// Hist counts durations in fixed buckets with atomic adds, so any number
// of goroutines may Observe while one Takes. Quantiles are a bucket's upper
// edge: at most 25 ms high below a second.
type Hist struct {
	b [48]atomic.Int64 // len(histEdges)+1: the last holds anything longer
}

func bucketOf(d time.Duration) int {
	lo, hi := 0, len(histEdges)
	for lo < hi { // the first edge >= d
		m := (lo + hi) / 2
		if histEdges[m] < d {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// Observe counts one duration.
func (h *Hist) Observe(d time.Duration) { h.b[bucketOf(d)].Add(1) }

// Merge adds a local histogram's counts (a writer's pass) and clears it.
func (h *Hist) Merge(local *[48]int64) {
	for i, n := range local {
		if n != 0 {
			h.b[i].Add(n)
			local[i] = 0
		}
	}
}

// Quantiles is a period's distribution in milliseconds.
type Quantiles struct {
	N   int64   `json:"n"`
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Take returns the quantiles of what was observed since the last Take and
// restarts the count.
func (h *Hist) Take() Quantiles {
	var c [48]int64
	var n int64
	for i := range h.b {
		c[i] = h.b[i].Swap(0)
		n += c[i]
	}
	return quantilesOf(c[:], n)
}

func quantilesOf(c []int64, n int64) Quantiles {
	q := Quantiles{N: n}
	if n == 0 {
		return q
	}
	at := func(p float64) float64 { // nearest rank: the p99 of a few samples is their worst
		rank := int64(math.Ceil(p * float64(n)))
		var cum int64
		for i, k := range c {
			if cum += k; cum >= rank {
				return edgeMS(i)
			}
		}
		return edgeMS(len(c) - 1)
	}
	q.P50, q.P99 = at(0.50), at(0.99)
	for i := len(c) - 1; i >= 0; i-- {
		if c[i] > 0 {
			q.Max = edgeMS(i)
			break
		}
	}
	return q
}

// edgeMS is bucket i's upper edge in ms (the overflow bucket says 2 min).
func edgeMS(i int) float64 {
	if i >= len(histEdges) {
		return 120_000
	}
	return float64(histEdges[i].Milliseconds())
}

// BucketOf exposes the bucket index for writers that keep a local array
// and Merge it once per pass.
func BucketOf(d time.Duration) int { return bucketOf(d) }
