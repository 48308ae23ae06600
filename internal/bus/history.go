package bus

import (
	"sync"

	"github.com/onair-live/onair/internal/program"
)

// history holds the last frames published per live space, for consumers
// that join mid-show. A show's End drops its frames: there is nothing left
// to start from, and ended spaces must not pile up.
type history struct {
	keep   int
	mu     sync.Mutex
	spaces map[string]*recent
}

// recent is a ring of a space's last frames.
type recent struct {
	frames []program.Frame
	next   int // where the next frame goes once the ring is full
}

func newHistory(keep int) *history {
	return &history{keep: keep, spaces: make(map[string]*recent)}
}

// add records f and reports whether it was the space's first frame held.
func (h *history) add(space string, f program.Frame) (first bool) {
	if h.keep <= 0 {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if f.End {
		delete(h.spaces, space)
		return false
	}
	r := h.spaces[space]
	if r == nil || (f.Seq == 0 && len(r.frames) > 0) {
		// A new show (seq restarts at 0) must not be joined onto the last.
		r = &recent{frames: make([]program.Frame, 0, min(h.keep, 64))}
		first = h.spaces[space] == nil
		h.spaces[space] = r
	}
	if len(r.frames) < h.keep {
		r.frames = append(r.frames, f)
		return first
	}
	r.frames[r.next] = f
	r.next = (r.next + 1) % h.keep
	return first
}

// snapshot returns the space's held frames, oldest first.
func (h *history) snapshot(space string) []program.Frame {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.spaces[space]
	if r == nil {
		return nil
	}
	out := make([]program.Frame, 0, len(r.frames))
	out = append(out, r.frames[r.next:]...)
	return append(out, r.frames[:r.next]...)
}
