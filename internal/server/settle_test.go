package server

import (
	"sync/atomic"
	"testing"
	"time"
)

// A surge of arrivals is followed, once it has settled, by one return of
// memory; a steady trickle or a small heap never triggers one.
func TestSettlerFreesAfterASurge(t *testing.T) {
	var freed atomic.Int32
	idle := uint64(100 << 20)
	s := &settler{free: func() { freed.Add(1) }, idle: func() uint64 { return idle }}
	now := time.Unix(1e9, 0)
	step := func(listeners int) bool {
		now = now.Add(time.Second)
		ok := s.sample(now, listeners)
		time.Sleep(time.Millisecond) // the free runs on its own goroutine
		return ok
	}
	for n := 0; n <= 20000; n += 50 { // a trickle of 50/s: no surge
		if step(n) {
			t.Fatal("freed during a trickle")
		}
	}
	n := 20000
	for range 5 { // 3,800 a second
		n += 3800
		if step(n) {
			t.Fatal("freed while the crowd was arriving")
		}
	}
	got := 0
	for range 10 {
		if step(n + 10) { // settled: a few stragglers
			got++
		}
	}
	if got != 1 || freed.Load() != 1 {
		t.Fatalf("after the surge: %d frees reported, %d done; want 1", got, freed.Load())
	}
	idle = 1 << 20
	for range 5 {
		n += 3800
		step(n)
	}
	for range 60 {
		if step(n) {
			t.Fatal("freed with little free heap")
		}
	}
}
