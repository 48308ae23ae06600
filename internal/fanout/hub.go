// Package fanout is the edge side of the program: one shared ring of Ogg
// pages per space, and the progressive Ogg/Opus listener streams that read it.
package fanout

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onair-live/onair/internal/bus"
	"github.com/onair-live/onair/internal/hls"
	"github.com/onair-live/onair/internal/ogg"
	"github.com/onair-live/onair/internal/program"
	"github.com/onair-live/onair/internal/ring"
)

// Config sets the packaging and the latency/throughput knobs.
type Config struct {
	FramesPerPage int // frames per Ogg page: 5 = 100 ms pages, ~5% framing overhead
	RingPages     int // pages kept per space: how far a slow listener may lag
	BurstPages    int // pages sent at once to a new listener so its player starts fast
	HLS           hls.Config
	Linger        time.Duration // how long an ended stream stays for HLS players to finish
	// WriteBatch, when set, makes the Ogg writers send every WriteBatch
	// instead of at every page: fewer, larger writes (throughput) for a
	// little more delay (latency).
	WriteBatch time.Duration
	// StallCut cuts a listener whose connection took nothing for this long.
	StallCut time.Duration
	// Writers is the number of writer goroutines per space (default: one
	// per CPU).
	Writers int
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
	c.HLS = c.HLS.WithDefaults()
	if c.StallCut <= 0 {
		c.StallCut = writeTimeout
	}
	if c.Writers <= 0 {
		c.Writers = runtime.GOMAXPROCS(0)
	}
	if c.Linger <= 0 {
		c.Linger = time.Minute
	}
}

// Hub owns the per-space streams of one edge.
type Hub struct {
	bus bus.Bus
	cfg Config

	stats *Stats

	mu      sync.Mutex
	streams map[string]*Stream
}

// NewHub returns a hub that subscribes to spaces on b as listeners ask for them.
func NewHub(b bus.Bus, cfg Config) *Hub {
	cfg.defaults()
	return &Hub{bus: b, cfg: cfg, stats: &Stats{}, streams: make(map[string]*Stream)}
}

// Stream is the shared Ogg packaging of one space's program.
type Stream struct {
	Space     string
	ring      *ring.Ring[ogg.Page]
	cfg       Config
	listeners atomic.Int64
	pager     *ogg.Pager // the bus callback's only
	headers   []byte     // OpusHead and OpusTags, pages 0 and 1 of every listener's stream
	// HLS is the LL-HLS packaging of the same program.
	HLS     *hls.Packager
	hlsSeen seen
	stats   *Stats
	// Attached Ogg listeners are spread over shards, each a writer goroutine.
	shards   []*shard
	attached atomic.Uint64
	stop     chan struct{}
	stopOnce sync.Once
	cancel   func()
}

// Stream returns the space's stream, subscribing to its program on first use.
func (h *Hub) Stream(space string) *Stream {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.streams[space]; s != nil {
		return s
	}
	s := &Stream{Space: space, cfg: h.cfg, ring: ring.New[ogg.Page](h.cfg.RingPages),
		pager: ogg.NewPager(program.Serial(space), h.cfg.FramesPerPage, 1), HLS: hls.New(h.cfg.HLS), stats: h.stats}
	s.hlsSeen.stats = h.stats
	s.headers = s.pager.Headers()
	s.stop = make(chan struct{})
	for range h.cfg.Writers {
		sh := &shard{s: s, wake: make(chan struct{}, 1), done: make(chan struct{})}
		s.shards = append(s.shards, sh)
		go sh.run()
	}
	h.streams[space] = s
	s.cancel = h.bus.Subscribe(space, func(f program.Frame) { h.onFrame(s, f) })
	return s
}

// halt stops the stream's writers; they close the connections left.
func (s *Stream) halt() { s.stopOnce.Do(func() { close(s.stop) }) }

// Config returns the hub's settings, defaults filled in.
func (h *Hub) Config() Config { return h.cfg }

// Lookup returns the space's stream if this edge has one, without
// subscribing: for requests that must not start a stream.
func (h *Hub) Lookup(space string) *Stream {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.streams[space]
}

// Listeners returns how many listeners the space has on this edge: open
// Ogg streams plus HLS listeners seen in the last few seconds.
func (h *Hub) Listeners(space string) int64 {
	s := h.Lookup(space)
	if s == nil {
		return 0
	}
	return s.listeners.Load() + int64(s.hlsSeen.count(time.Now()))
}

// Spaces lists the spaces this edge packages now.
func (h *Hub) Spaces() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.streams))
	for id := range h.streams {
		out = append(out, id)
	}
	return out
}

// Total counts the listeners of every space on this edge.
func (h *Hub) Total() int64 {
	oggs, hls, llhls := h.Counts()
	return oggs + hls + llhls
}

// Counts is the edge's listeners by protocol: progressive Ogg, classic
// HLS and low-latency HLS players (seen in the last few seconds).
func (h *Hub) Counts() (oggs, hls, llhls int64) {
	h.mu.Lock()
	streams := make([]*Stream, 0, len(h.streams))
	for _, s := range h.streams {
		streams = append(streams, s)
	}
	h.mu.Unlock()
	now := time.Now()
	for _, s := range streams {
		all, ll := s.hlsSeen.counts(now)
		oggs += s.listeners.Load()
		hls += int64(all - ll)
		llhls += int64(ll)
	}
	return oggs, hls, llhls
}

// Close ends every stream (listeners get what they have, then the end).
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	var halted []*Stream
	for id, s := range h.streams {
		s.cancel()
		s.ring.Close()
		s.HLS.Push(program.Frame{End: true})
		s.halt()
		delete(h.streams, id)
		halted = append(halted, s)
	}
	// The writers send what they can (the end of stream) and close their
	// connections; the process may exit right after Close returns.
	deadline := time.After(2 * time.Second)
	for _, s := range halted {
		for _, sh := range s.shards {
			select {
			case <-sh.done:
			case <-deadline:
				return
			}
		}
	}
}

func (h *Hub) onFrame(s *Stream, f program.Frame) {
	if page, ok := s.pager.Push(f); ok {
		s.ring.Append(page)
	}
	s.HLS.Push(f)
	if f.End {
		s.ring.Close()
		// HLS players fetch the last parts and the ENDLIST playlist after
		// the end: keep the stream a while. Retire off the bus goroutine:
		// the bus holds its lock while it delivers, and unsubscribing takes it.
		time.AfterFunc(h.cfg.Linger, func() { h.retire(s) })
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
	s.halt()
}
