package load

import (
	"sort"
	"sync"
	"sync/atomic"
)

// Per-edge accounts: each listener's stream is charged to the edge it came
// from, named by the host:port of its media URL (the --target itself when
// the join answer names no edge: one process, whose public URL may be a
// name in front of it).

// edgeStats are one edge's counters in one process.
type edgeStats struct {
	name string
	idx  int32 // 1-based, as lstate.edge holds it

	listeners, completed, bytes, listenerNs, stalls, stalledNs atomic.Int64
	reconnects, lost, peak                                     atomic.Int64
}

// edgeSet is a process's edges, in the order listeners first met them.
type edgeSet struct {
	mu     sync.Mutex
	byName map[string]*edgeStats
	list   []*edgeStats
}

// get returns the edge named name, adding it on first use.
func (s *edgeSet) get(name string) *edgeStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.byName[name]; e != nil {
		return e
	}
	if s.byName == nil {
		s.byName = map[string]*edgeStats{}
	}
	e := &edgeStats{name: name, idx: int32(len(s.list) + 1)}
	s.byName[name] = e
	s.list = append(s.list, e)
	return e
}

// all returns the edges so far.
func (s *edgeSet) all() []*edgeStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*edgeStats(nil), s.list...)
}

// sweepPeaks takes the per-edge connected counts of one sweep (index
// idx-1) into the peaks.
func (s *edgeSet) sweepPeaks(counts []int64) {
	for i, e := range s.all() {
		if i < len(counts) {
			for {
				p := e.peak.Load()
				if counts[i] <= p || e.peak.CompareAndSwap(p, counts[i]) {
					break
				}
			}
		}
	}
}

// reports returns the edges' accounts, sorted by name.
func (s *edgeSet) reports() []EdgeReport {
	var out []EdgeReport
	for _, e := range s.all() {
		out = append(out, EdgeReport{Edge: e.name, Listeners: e.listeners.Load(), PeakConnected: e.peak.Load(),
			Completed: e.completed.Load(), Bytes: e.bytes.Load(), ListenerSeconds: float64(e.listenerNs.Load()) / 1e9,
			Stalls: e.stalls.Load(), StalledS: float64(e.stalledNs.Load()) / 1e9, Reconnects: e.reconnects.Load(),
			Lost: e.lost.Load()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Edge < out[j].Edge })
	return out
}

// EdgeReport is what listeners met on one edge.
type EdgeReport struct {
	Edge string `json:"edge"` // host:port of the media URLs
	// Streams opened here: a listener that failed over counts on each edge
	// it streamed from.
	Listeners int64 `json:"listeners"`
	// The most connected here at once (with --procs, the sum of each
	// process's peak).
	PeakConnected   int64   `json:"peak_connected"`
	Completed       int64   `json:"completed"` // listeners whose stay ended here, on air
	Bytes           int64   `json:"bytes"`
	ListenerSeconds float64 `json:"listener_seconds"`
	// Stall events and time stalled; a stall a failover caused is charged
	// to the edge that was lost.
	Stalls     int64   `json:"stalls"`
	StalledS   float64 `json:"stalled_s"`
	Reconnects int64   `json:"reconnects"` // failovers that ended here (audio again)
	Lost       int64   `json:"lost"`       // streams lost from here
}

// mergeEdges adds o's edges into m (by name).
func mergeEdges(m []EdgeReport, o []EdgeReport) []EdgeReport {
	for _, e := range o {
		i := sort.Search(len(m), func(i int) bool { return m[i].Edge >= e.Edge })
		if i == len(m) || m[i].Edge != e.Edge {
			m = append(m, EdgeReport{})
			copy(m[i+1:], m[i:])
			m[i] = EdgeReport{Edge: e.Edge}
		}
		a := &m[i]
		a.Listeners += e.Listeners
		a.PeakConnected += e.PeakConnected
		a.Completed += e.Completed
		a.Bytes += e.Bytes
		a.ListenerSeconds += e.ListenerSeconds
		a.Stalls += e.Stalls
		a.StalledS += e.StalledS
		a.Reconnects += e.Reconnects
		a.Lost += e.Lost
	}
	return m
}
