package fanout

import (
	"sync"
	"time"
)

// seenWindow is how long an HLS listener counts after its last playlist
// request: players reload at least every target duration.
const seenWindow = 10 * time.Second

// seen counts HLS listeners, who hold no connection: distinct listener ids
// (from their tickets) that asked for the playlist in the last seenWindow.
type seen struct {
	mu      sync.Mutex
	last    map[uint64]hlsEar
	counted time.Time
	n, ll   int
	stats   *Stats
}

// hlsEar is one HLS listener: when it came, when it last asked, and
// whether it plays low-latency (it made blocking reloads).
type hlsEar struct {
	since, last time.Time
	ll          bool
}

// Touch records a playlist request of listener id (ll: a blocking reload).
func (s *Stream) Touch(id uint64, ll bool, now time.Time) {
	h := &s.hlsSeen
	h.mu.Lock()
	if h.last == nil {
		h.last = make(map[uint64]hlsEar)
	}
	e, ok := h.last[id]
	if !ok {
		e.since = now
		h.stats.HLSArrived.Add(1)
	}
	e.last, e.ll = now, e.ll || ll
	h.last[id] = e
	h.mu.Unlock()
}

// count prunes and counts at most once a second; in between it returns the
// last count, so a busy listing page costs nothing per request.
func (s *seen) count(now time.Time) int {
	n, _ := s.counts(now)
	return n
}

// counts is count, and of those the low-latency players.
func (s *seen) counts(now time.Time) (all, ll int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.counted) < time.Second {
		return s.n, s.ll
	}
	s.ll = 0
	for id, e := range s.last {
		switch {
		case now.Sub(e.last) > seenWindow:
			delete(s.last, id)
			s.stats.HLSDeparted.Add(1)
			s.stats.left(e.last.Sub(e.since))
		case e.ll:
			s.ll++
		}
	}
	s.counted, s.n = now, len(s.last)
	return s.n, s.ll
}
