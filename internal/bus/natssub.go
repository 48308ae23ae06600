package bus

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/onair-live/onair/internal/program"
)

// natsSub is one subscriber of a space. The client runs its message
// callback on one goroutine per subscription, so deliveries are ordered;
// mu makes cancel wait for a delivery in progress, as the in-process bus's
// does.
type natsSub struct {
	b     *NATS
	fn    func(program.Frame)
	watch seqWatch

	mu      sync.Mutex
	sub     *nats.Subscription
	closed  bool
	joining bool            // recent frames not yet delivered: live ones wait in pending
	pending []program.Frame // bounded by the join time-out (25 frames in 500 ms)
	last    uint64          // last seq delivered, for the join's de-duplication
	any     bool
	// repeats: after a join, live copies of frames the reply held may still
	// arrive (the reply and the live frames can take different routes
	// between servers); they are dropped until a newer frame or an End.
	repeats bool
}

// Subscribe implements Bus. A bad space id subscribes to nothing.
func (b *NATS) Subscribe(space string, fn func(program.Frame)) func() {
	s, err := b.subscribe(space, fn, false)
	if err != nil {
		b.log.Warn("bus: subscribe failed", "space", space, "err", err)
		return func() {}
	}
	return s.cancel
}

// Join implements Bus: it subscribes first, then asks the publisher for
// its recent frames, so none falls between the two; live frames that the
// recent ones already hold are skipped.
func (b *NATS) Join(space string, fn func(program.Frame)) ([]byte, func()) {
	s, err := b.subscribe(space, fn, true)
	if err != nil {
		b.log.Warn("bus: join failed", "space", space, "err", err)
		return nil, func() {}
	}
	// Our server has the subscription before the request leaves; the
	// other servers learn it over the same routes as the request.
	err = b.nc.FlushTimeout(b.cfg.JoinTimeout)
	st := State{}
	if err == nil {
		st, err = b.Recent(space)
	}
	b.c.join(len(st.Frames) > 0, err != nil)
	if err != nil {
		b.log.Warn("bus: join without recent frames", "space", space, "err", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range st.Frames {
		s.deliver(f)
	}
	for _, f := range s.pending {
		if !s.any || f.Seq > s.last {
			s.deliver(f)
		}
	}
	s.joining, s.pending, s.repeats = false, nil, s.any
	return st.Head, s.cancel
}

func (b *NATS) subscribe(space string, fn func(program.Frame), joining bool) (*natsSub, error) {
	if err := checkSpace(space); err != nil {
		return nil, err
	}
	s := &natsSub{b: b, fn: fn, joining: joining}
	// Hold mu so no message is handled before s.sub is set.
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, err := b.nc.Subscribe(programSubject+space, s.onMsg)
	if err != nil {
		return nil, err
	}
	s.sub = sub
	return s, nil
}

func (s *natsSub) onMsg(m *nats.Msg) {
	now := time.Now()
	f, sent, err := decodeFrame(m.Data)
	if err != nil {
		s.b.c.drop(dropReason(err))
		return
	}
	if !sent.IsZero() {
		s.b.lat.add(now.Sub(sent))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
	case s.joining:
		s.pending = append(s.pending, f)
	case s.repeats && !f.End && f.Seq <= s.last:
	default:
		s.repeats = false
		s.deliver(f)
	}
}

// deliver runs with mu held.
func (s *natsSub) deliver(f program.Frame) {
	s.b.c.see(&s.watch, f)
	s.last, s.any = f.Seq, !f.End
	s.fn(f)
}

// cancel is idempotent; once it returns no delivery runs or will run.
func (s *natsSub) cancel() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	_ = s.sub.Unsubscribe()
}
