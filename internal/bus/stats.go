package bus

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onair-live/onair/internal/program"
)

// Stats counts a bus's traffic. Frames, gaps and lost frames are counted
// per subscription and summed: two subscribers of a space that both miss a
// frame count it twice.
type Stats struct {
	Published uint64 // frames published through this bus
	Delivered uint64 // frames handed to subscribers' callbacks
	Gaps      uint64 // holes in a subscription's sequence numbers
	Lost      uint64 // frames missing in those holes
	Dropped   uint64 // messages on onair subjects that were not valid frames: counted, never delivered
	Joins     uint64 // Join calls
	JoinEmpty uint64 // ... that found no recent frames (space not live, or no origin answered)
	JoinFail  uint64 // ... whose request for them failed (time-out, disconnected)
	// LatencyP50 and LatencyP99 are the publish-to-receipt times of the
	// last latencyWindow frames received (clustered buses only; across
	// machines they include the clocks' skew).
	LatencyP50, LatencyP99 time.Duration
	LatencySamples         int
}

// counters are a bus's Stats as they accrue.
type counters struct {
	published, delivered, gaps, lost, dropped atomic.Uint64
	joins, joinEmpty, joinFail                atomic.Uint64
}

// seqWatch follows one subscription's sequence numbers. next is the
// expected next seq plus one, 0 before the first frame and after an End.
type seqWatch struct{ next atomic.Uint64 }

// see counts the delivery of f to a subscription and any hole before it.
func (c *counters) see(w *seqWatch, f program.Frame) {
	c.delivered.Add(1)
	metricDelivered.Inc()
	expect := w.next.Swap(f.Seq + 2)
	if f.End {
		w.next.Store(0)
	}
	if expect != 0 && f.Seq+1 > expect {
		missing := f.Seq + 1 - expect
		c.gaps.Add(1)
		c.lost.Add(missing)
		metricGaps.Inc()
		metricLost.Add(float64(missing))
	}
}

func (c *counters) publish() {
	c.published.Add(1)
	metricPublished.Inc()
}

func (c *counters) drop(reason string) {
	c.dropped.Add(1)
	metricDropped.WithLabelValues(reason).Inc()
}

func (c *counters) join(found, failed bool) {
	c.joins.Add(1)
	result := "state"
	switch {
	case failed:
		c.joinFail.Add(1)
		result = "failed"
	case !found:
		c.joinEmpty.Add(1)
		result = "empty"
	}
	metricJoins.WithLabelValues(result).Inc()
}

func (c *counters) stats(lat *latencies) Stats {
	s := Stats{Published: c.published.Load(), Delivered: c.delivered.Load(), Gaps: c.gaps.Load(),
		Lost: c.lost.Load(), Dropped: c.dropped.Load(), Joins: c.joins.Load(),
		JoinEmpty: c.joinEmpty.Load(), JoinFail: c.joinFail.Load()}
	if lat != nil {
		s.LatencyP50, s.LatencyP99, s.LatencySamples = lat.quantiles()
	}
	return s
}

// latencyWindow is how many recent receipts the quantiles are taken over:
// at 50 frames/s a single space's last 80 s, or 100 spaces' last second.
const latencyWindow = 4096

// latencies keeps the last latencyWindow publish-to-receipt times.
type latencies struct {
	mu   sync.Mutex
	ring [latencyWindow]time.Duration
	n    int // samples recorded, capped at len(ring)
	next int
}

func (l *latencies) add(d time.Duration) {
	metricLatency.Observe(d.Seconds())
	l.mu.Lock()
	l.ring[l.next] = d
	l.next = (l.next + 1) % len(l.ring)
	l.n = min(l.n+1, len(l.ring))
	l.mu.Unlock()
}

func (l *latencies) quantiles() (p50, p99 time.Duration, n int) {
	l.mu.Lock()
	s := slices.Clone(l.ring[:l.n])
	l.mu.Unlock()
	if len(s) == 0 {
		return 0, 0, 0
	}
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return at(0.50), at(0.99), len(s)
}
