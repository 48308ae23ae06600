// Package bus carries program frames from the origin (mixer) to their
// consumers (recorder, edges): in-process by default, NATS when clustered.
package bus

import (
	"sync"

	"github.com/onair-live/onair/internal/program"
)

// Bus delivers every program frame of a space to its subscribers, in order.
// Subscribers' callbacks run on the publisher's goroutine (in-process) or the
// bus's delivery goroutine (clustered): they must be quick and never block.
type Bus interface {
	Publish(space string, f program.Frame)
	Subscribe(space string, fn func(program.Frame)) (cancel func())
}

// Local is the in-process bus: a publish is a direct call per subscriber.
type Local struct {
	mu   sync.RWMutex
	subs map[string]map[*subscription]struct{}
}

type subscription struct{ fn func(program.Frame) }

// NewLocal returns an empty in-process bus.
func NewLocal() *Local {
	return &Local{subs: make(map[string]map[*subscription]struct{})}
}

// Publish implements Bus.
func (b *Local) Publish(space string, f program.Frame) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for s := range b.subs[space] {
		s.fn(f)
	}
}

// Subscribe implements Bus. cancel is idempotent.
func (b *Local) Subscribe(space string, fn func(program.Frame)) func() {
	s := &subscription{fn: fn}
	b.mu.Lock()
	if b.subs[space] == nil {
		b.subs[space] = make(map[*subscription]struct{})
	}
	b.subs[space][s] = struct{}{}
	b.mu.Unlock()
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
