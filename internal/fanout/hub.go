// Package fanout is the edge side of the program: one shared ring of Ogg
// pages per space, and the progressive Ogg/Opus listener streams that read it.
package fanout

import (
	"sync"
	"sync/atomic"

	"github.com/onair-live/onair/internal/bus"
	"github.com/onair-live/onair/internal/ogg"
	"github.com/onair-live/onair/internal/program"
	"github.com/onair-live/onair/internal/ring"
)

// Config sets the packaging and the latency/throughput knobs.
type Config struct {
	FramesPerPage int // frames per Ogg page: 5 = 100 ms pages, ~5% framing overhead
	RingPages     int // pages kept per space: how far a slow listener may lag
	BurstPages    int // pages sent at once to a new listener so its player starts fast
}

func (c *Config) defaults() {
	if c.FramesPerPage <= 0 {
		c.FramesPerPage = 5
	}
	if c.RingPages <= 0 {
		c.RingPages = 100
	}
	if c.BurstPages < 0 {
		c.BurstPages = 0
	}
}

// Hub owns the per-space streams of one edge.
type Hub struct {
	bus bus.Bus
	cfg Config

	mu      sync.Mutex
	streams map[string]*Stream
}

// NewHub returns a hub that subscribes to spaces on b as listeners ask for them.
func NewHub(b bus.Bus, cfg Config) *Hub {
	cfg.defaults()
	return &Hub{bus: b, cfg: cfg, streams: make(map[string]*Stream)}
}

// Stream is the shared Ogg packaging of one space's program.
type Stream struct {
	Space     string
	ring      *ring.Ring[ogg.Page]
	cfg       Config
	listeners atomic.Int64
	pager     *ogg.Pager // Push only from the bus callback; HeadersBefore from any goroutine
	cancel    func()
}

// Stream returns the space's stream, subscribing to its program on first use.
func (h *Hub) Stream(space string) *Stream {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.streams[space]; s != nil {
		return s
	}
	s := &Stream{Space: space, cfg: h.cfg, ring: ring.New[ogg.Page](h.cfg.RingPages),
		pager: ogg.NewPager(program.Serial(space), h.cfg.FramesPerPage, 1)}
	h.streams[space] = s
	s.cancel = h.bus.Subscribe(space, func(f program.Frame) { h.onFrame(s, f) })
	return s
}

// Listeners returns how many listeners the space has on this edge.
func (h *Hub) Listeners(space string) int64 {
	h.mu.Lock()
	s := h.streams[space]
	h.mu.Unlock()
	if s == nil {
		return 0
	}
	return s.listeners.Load()
}

// Close ends every stream (listeners get what they have, then the end).
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, s := range h.streams {
		s.cancel()
		s.ring.Close()
		delete(h.streams, id)
	}
}

func (h *Hub) onFrame(s *Stream, f program.Frame) {
	if page, ok := s.pager.Push(f); ok {
		s.ring.Append(page)
	}
	if f.End {
		s.ring.Close()
		// Retire off the bus goroutine: the bus holds its lock while it
		// delivers, and unsubscribing takes it.
		go h.retire(s)
	}
}

// retire drops a finished stream so a later listener cannot attach to a
// program that will never send another page.
func (h *Hub) retire(s *Stream) {
	h.mu.Lock()
	if h.streams[s.Space] == s {
		delete(h.streams, s.Space)
	}
	h.mu.Unlock()
	s.cancel()
}
