// Package hls packages a space's program as Low-Latency HLS (RFC 8216bis):
// CMAF parts and segments built once per space, and playlists with blocking reload.
package hls

import (
	"errors"
	"sync"
	"time"

	"github.com/onair-live/onair/internal/fmp4"
	"github.com/onair-live/onair/internal/program"
)

// Config sets the part and segment sizes and how much history is kept.
type Config struct {
	PartFrames     int // 20 ms frames per part (default 10: 200 ms parts)
	SegmentParts   int // parts per segment (default 10: 2 s segments)
	WindowSegments int // complete segments kept and listed (default 6)
}

// WithDefaults fills in the zero fields.
func (c Config) WithDefaults() Config {
	if c.PartFrames <= 0 {
		c.PartFrames = 10
	}
	if c.SegmentParts <= 0 {
		c.SegmentParts = 10
	}
	if c.WindowSegments <= 0 {
		c.WindowSegments = 6
	}
	return c
}

// PartTarget is the duration of a full part.
func (c Config) PartTarget() time.Duration {
	return time.Duration(c.PartFrames) * program.FrameDuration
}

// SegmentTarget is the duration of a full segment.
func (c Config) SegmentTarget() time.Duration {
	return time.Duration(c.SegmentParts) * c.PartTarget()
}

type part struct {
	index  uint64 // global part index: program frame seq / PartFrames
	data   []byte // one moof+mdat, immutable
	frames int
}

type segment struct {
	msn   uint64
	pdt   time.Time // capture time of the first frame
	parts []*part
	data  []byte // the parts joined, once complete
}

func (s *segment) complete() bool { return s.data != nil }

func (s *segment) frames() int {
	n := 0
	for _, p := range s.parts {
		n += p.frames
	}
	return n
}

// Packager turns program frames into parts, segments and playlists. One
// packager serves every HLS listener of a space on an edge: what it builds
// is immutable and shared, and the playlist is rendered once per part.
type Packager struct {
	cfg  Config
	init []byte

	mu       sync.RWMutex
	segs     []*segment // window, oldest first; the last may be incomplete
	pending  [][]byte   // packets of the part being built
	pendFrom program.Frame
	ended    bool
	playlist []byte
	notify   chan struct{} // closed and replaced on every change
}

// New returns a packager for a mono program with the standard pre-skip.
func New(cfg Config) *Packager {
	cfg = cfg.WithDefaults()
	return &Packager{cfg: cfg, init: fmp4.Init(1, program.PreSkip), notify: make(chan struct{})}
}

// Config returns the packager's settings.
func (p *Packager) Config() Config { return p.cfg }

// Init is the init segment (EXT-X-MAP).
func (p *Packager) Init() []byte { return p.init }

// Push adds a program frame; a part is cut every PartFrames frames, aligned
// on the program's sequence numbers so every edge names parts alike. The
// End frame closes the stream (EXT-X-ENDLIST).
func (p *Packager) Push(f program.Frame) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		return
	}
	if f.End {
		p.cutPart() // a short last part
		if seg := p.last(); seg != nil && !seg.complete() {
			seg.finish() // a short last segment
		}
		p.ended = true
		p.changed()
		return
	}
	pf := uint64(p.cfg.PartFrames)
	switch {
	case len(p.pending) == 0 && f.Seq%pf != 0:
		return // joined mid-part: start at the next part boundary
	case len(p.pending) > 0 && f.Seq != p.pendFrom.Seq+uint64(len(p.pending)):
		p.pending = p.pending[:0] // a hole in the program: drop the part
		if f.Seq%pf != 0 {
			return
		}
	}
	if len(p.pending) == 0 {
		p.pendFrom = f
	}
	p.pending = append(p.pending, f.Packet)
	if len(p.pending) == p.cfg.PartFrames {
		p.cutPart()
		p.changed()
	}
}

// cutPart turns the pending frames into a part of the current segment.
func (p *Packager) cutPart() {
	if len(p.pending) == 0 {
		return
	}
	f := p.pendFrom
	idx := f.Seq / uint64(p.cfg.PartFrames)
	pt := &part{index: idx, frames: len(p.pending),
		data: fmp4.Fragment(uint32(idx+1), f.PTS, p.pending)}
	p.pending = p.pending[:0]
	msn := idx / uint64(p.cfg.SegmentParts)
	seg := p.last()
	if seg == nil || seg.msn != msn {
		if seg != nil && !seg.complete() {
			seg.finish() // the rest of it never came (a hole)
		}
		seg = &segment{msn: msn, pdt: f.Capture}
		p.segs = append(p.segs, seg)
	}
	seg.parts = append(seg.parts, pt)
	if (idx+1)%uint64(p.cfg.SegmentParts) == 0 {
		seg.finish()
	}
	p.evict()
}

func (s *segment) finish() {
	n := 0
	for _, pt := range s.parts {
		n += len(pt.data)
	}
	s.data = make([]byte, 0, n)
	for _, pt := range s.parts {
		s.data = append(s.data, pt.data...)
	}
}

func (p *Packager) last() *segment {
	if len(p.segs) == 0 {
		return nil
	}
	return p.segs[len(p.segs)-1]
}

// evict keeps WindowSegments complete segments plus the one being built.
func (p *Packager) evict() {
	keep := p.cfg.WindowSegments
	if seg := p.last(); seg != nil && !seg.complete() {
		keep++
	}
	if extra := len(p.segs) - keep; extra > 0 {
		clear(p.segs[:extra])
		p.segs = p.segs[extra:]
	}
}

// changed re-renders the playlist and wakes every waiting request.
func (p *Packager) changed() {
	p.playlist = p.render()
	close(p.notify)
	p.notify = make(chan struct{})
}

// Errors of part and segment look-ups.
var (
	ErrGone    = errors.New("no longer available: it fell out of the live window")
	ErrFuture  = errors.New("too far in the future")
	ErrNoMedia = errors.New("does not exist")
)

// State is a consistent view of the packager for one request.
type State struct {
	Playlist []byte
	Ended    bool
	HasMedia bool            // at least one part
	Playable bool            // at least one complete segment: what players without LL-HLS need
	Next     uint64          // global index of the next part to be cut
	Wait     <-chan struct{} // closed on the next change
}

// State returns the current playlist and the wait channel.
func (p *Packager) State() State {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.stateLocked()
}

func (p *Packager) stateLocked() State {
	st := State{Playlist: p.playlist, Ended: p.ended, Wait: p.notify}
	if seg := p.last(); seg != nil {
		st.HasMedia = true
		st.Next = seg.parts[len(seg.parts)-1].index + 1
		st.Playable = p.segs[0].complete()
	}
	return st
}

// Part returns the bytes of part k of segment msn, or the state to wait
// on when it is the next part or close to it (a preload hint).
func (p *Packager) Part(msn uint64, k int) ([]byte, State, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	st := p.stateLocked()
	idx := msn*uint64(p.cfg.SegmentParts) + uint64(k)
	if k < 0 || k >= p.cfg.SegmentParts {
		return nil, st, ErrNoMedia
	}
	for _, seg := range p.segs {
		if seg.msn != msn {
			continue
		}
		for _, pt := range seg.parts {
			if pt.index == idx {
				return pt.data, st, nil
			}
		}
	}
	return nil, st, p.missing(idx, st)
}

// missing says why part idx is not there: gone, not yet, or never.
func (p *Packager) missing(idx uint64, st State) error {
	switch {
	case !st.HasMedia || idx >= st.Next:
		if st.Ended {
			return ErrNoMedia
		}
		if st.HasMedia && idx > st.Next+uint64(p.advanceLimit()) {
			return ErrFuture
		}
		return nil // not yet: wait on st.Wait
	case idx < p.segs[0].parts[0].index:
		return ErrGone
	}
	return ErrNoMedia
}

// advanceLimit is how many parts ahead of the live edge a request may wait
// for: three seconds' worth, as RFC 8216bis suggests.
func (p *Packager) advanceLimit() int {
	return int(3*time.Second/p.cfg.PartTarget()) + 1
}

// Segment returns a complete segment's bytes.
func (p *Packager) Segment(msn uint64) ([]byte, State, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	st := p.stateLocked()
	for _, seg := range p.segs {
		if seg.msn == msn && seg.complete() {
			return seg.data, st, nil
		}
	}
	return nil, st, p.missing((msn+1)*uint64(p.cfg.SegmentParts)-1, st)
}

// Satisfied reports whether the playlist holds part k of segment msn (k < 0:
// the whole segment), as a blocking reload asks; ErrFuture when it asks too
// far ahead to wait for.
func (p *Packager) Satisfied(msn uint64, k int) (State, bool, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	st := p.stateLocked()
	if st.Ended {
		return st, true, nil
	}
	if !st.HasMedia {
		return st, false, nil
	}
	last := (msn+1)*uint64(p.cfg.SegmentParts) - 1
	if k >= 0 {
		if k >= p.cfg.SegmentParts {
			return st, false, ErrNoMedia
		}
		last = msn*uint64(p.cfg.SegmentParts) + uint64(k)
	}
	if last < st.Next {
		return st, true, nil
	}
	if last > st.Next+uint64(p.advanceLimit()) {
		return st, false, ErrFuture
	}
	return st, false, nil
}
