// Package ring is a single-writer, many-reader broadcast ring: one shared copy
// of a stream that any number of readers follow with their own cursor.
package ring

import "sync"

// Ring holds the last Cap items appended, each with a sequence number. Readers
// never copy items out of the ring beyond the slice header: items are shared
// and must be treated as immutable.
type Ring[T any] struct {
	mu     sync.RWMutex
	buf    []T
	next   uint64 // sequence number the next Append gets
	closed bool
	notify chan struct{} // closed (and replaced) on every Append and on Close
}

// New returns a ring that keeps the last capacity items.
func New[T any](capacity int) *Ring[T] {
	if capacity < 1 {
		capacity = 1
	}
	return &Ring[T]{buf: make([]T, capacity), notify: make(chan struct{})}
}

// Append adds v and wakes every waiting reader. Appending to a closed ring is
// a no-op.
func (r *Ring[T]) Append(v T) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.buf[r.next%uint64(len(r.buf))] = v
	r.next++
	ch := r.notify
	r.notify = make(chan struct{})
	r.mu.Unlock()
	close(ch)
}

// Close marks the end of the stream: readers drain what is left, then see
// closed. It is safe to call more than once.
func (r *Ring[T]) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	ch := r.notify
	r.mu.Unlock()
	close(ch)
}

// Head returns the sequence number the next item will get (the live edge).
func (r *Ring[T]) Head() uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.next
}

// Oldest returns the sequence number of the oldest item still held.
func (r *Ring[T]) Oldest() uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.oldestLocked()
}

func (r *Ring[T]) oldestLocked() uint64 {
	if n := uint64(len(r.buf)); r.next > n {
		return r.next - n
	}
	return 0
}

// Read is the result of one ReadFrom call.
type Read[T any] struct {
	Items   []T             // items from the cursor on, appended to the caller's dst
	Next    uint64          // cursor for the next call
	Skipped uint64          // items lost because the reader fell behind the ring
	Closed  bool            // the ring is closed and the reader has everything
	Wait    <-chan struct{} // closed when more items (or Close) arrive
}

// ReadFrom appends to dst up to max items starting at cursor. A cursor older
// than the oldest item held is moved forward and the gap reported as Skipped,
// so a slow reader never holds the writer back.
func (r *Ring[T]) ReadFrom(cursor uint64, dst []T, max int) Read[T] {
	r.mu.RLock()
	defer r.mu.RUnlock()
	res := Read[T]{Items: dst, Wait: r.notify}
	if oldest := r.oldestLocked(); cursor < oldest {
		res.Skipped = oldest - cursor
		cursor = oldest
	}
	if cursor > r.next {
		cursor = r.next
	}
	n := uint64(len(r.buf))
	for ; cursor < r.next && len(res.Items)-len(dst) < max; cursor++ {
		res.Items = append(res.Items, r.buf[cursor%n])
	}
	res.Next = cursor
	res.Closed = r.closed && cursor == r.next
	return res
}
