package bus

import (
	"sync"

	"github.com/onair-live/onair/internal/program"
)

// Local is the in-process bus: a publish is a direct call per subscriber.
type Local struct {
	mu   sync.RWMutex
	subs map[string]map[*subscription]struct{}
	hist *history
	c    counters
}

type subscription struct {
	fn    func(program.Frame)
	watch seqWatch
}

// NewLocal returns an empty in-process bus.
func NewLocal() *Local {
	return &Local{subs: make(map[string]map[*subscription]struct{}), hist: newHistory(DefaultKeep)}
}

// Publish implements Bus.
func (b *Local) Publish(space string, f program.Frame) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	b.c.publish()
	b.hist.add(space, f)
	for s := range b.subs[space] {
		b.c.see(&s.watch, f)
		s.fn(f)
	}
}

// Subscribe implements Bus. cancel is idempotent.
func (b *Local) Subscribe(space string, fn func(program.Frame)) func() {
	s := &subscription{fn: fn}
	b.mu.Lock()
	b.add(space, s)
	b.mu.Unlock()
	return b.canceller(space, s)
}

// Join implements Bus. The recent frames are delivered under the bus's
// write lock, so no publish can slip between them and the live ones.
func (b *Local) Join(space string, fn func(program.Frame)) ([]byte, func()) {
	s := &subscription{fn: fn}
	b.mu.Lock()
	recent := b.hist.snapshot(space)
	for _, f := range recent {
		b.c.see(&s.watch, f)
		fn(f)
	}
	b.add(space, s)
	b.mu.Unlock()
	b.c.join(len(recent) > 0, false)
	var head []byte
	if len(recent) > 0 {
		head = DefaultHead()
	}
	return head, b.canceller(space, s)
}

// Stats implements Bus. The in-process bus measures no latency: a
// delivery is a function call.
func (b *Local) Stats() Stats { return b.c.stats(nil) }

func (b *Local) add(space string, s *subscription) {
	if b.subs[space] == nil {
		b.subs[space] = make(map[*subscription]struct{})
	}
	b.subs[space][s] = struct{}{}
}

func (b *Local) canceller(space string, s *subscription) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs[space], s)
			if len(b.subs[space]) == 0 {
				delete(b.subs, space)
			}
			b.mu.Unlock()
		})
	}
}
