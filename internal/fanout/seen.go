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
	last    map[uint64]time.Time
	counted time.Time
	n       int
}

// Touch records a request of listener id.
func (s *Stream) Touch(id uint64, now time.Time) {
	s.hlsSeen.mu.Lock()
	if s.hlsSeen.last == nil {
		s.hlsSeen.last = make(map[uint64]time.Time)
	}
	s.hlsSeen.last[id] = now
	s.hlsSeen.mu.Unlock()
}

// count prunes and counts at most once a second; in between it returns the
// last count, so a busy listing page costs nothing per request.
func (s *seen) count(now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.counted) < time.Second {
		return s.n
	}
	for id, t := range s.last {
		if now.Sub(t) > seenWindow {
			delete(s.last, id)
		}
	}
	s.counted, s.n = now, len(s.last)
	return s.n
}
