// Package telemetry counts what a node decides and sees, and closes each
// second into one record: the entries of the node's receipts log.
package telemetry

import (
	"sync"
	"sync/atomic"
)

// Decision names one kind of decision: a gate stage, its outcome and why.
type Decision struct{ Stage, Outcome, Reason string }

// String is "stage/outcome/reason", the key decisions have in a record.
func (d Decision) String() string { return d.Stage + "/" + d.Outcome + "/" + d.Reason }

// Tally counts decisions. Counting one that was seen before is a map read
// and an atomic add, with no lock: the set of decisions is small and fixed
// after the first seconds, so a new one copies the map (copy on write).
type Tally struct {
	mu sync.Mutex // serialises writers of m
	m  atomic.Pointer[map[Decision]*atomic.Int64]
}

// Add counts n decisions d.
func (t *Tally) Add(d Decision, n int64) {
	if m := t.m.Load(); m != nil {
		if c := (*m)[d]; c != nil {
			c.Add(n)
			return
		}
	}
	t.counter(d).Add(n)
}

// Counter is d's counter, resolved once for a decision counted on a hot
// path (Take resets the values, never the counters).
func (t *Tally) Counter(d Decision) *atomic.Int64 { return t.counter(d) }

func (t *Tally) counter(d Decision) *atomic.Int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.m.Load()
	if old != nil {
		if c := (*old)[d]; c != nil {
			return c
		}
	}
	m := make(map[Decision]*atomic.Int64, 1+lenOf(old))
	if old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	c := new(atomic.Int64)
	m[d] = c
	t.m.Store(&m)
	return c
}

func lenOf(m *map[Decision]*atomic.Int64) int {
	if m == nil {
		return 0
	}
	return len(*m)
}

// Counts is one period's decisions.
type Counts map[Decision]int64

// Take returns the decisions counted since the last Take and restarts the
// count; decisions with none are left out.
func (t *Tally) Take() Counts {
	out := Counts{}
	m := t.m.Load()
	if m == nil {
		return out
	}
	for d, c := range *m {
		if n := c.Swap(0); n != 0 {
			out[d] = n
		}
	}
	return out
}

// Sum adds the counts whose decision matches: an empty field matches any.
func (c Counts) Sum(stage, outcome, reason string) int64 {
	var n int64
	for d, v := range c {
		if (stage == "" || d.Stage == stage) && (outcome == "" || d.Outcome == outcome) && (reason == "" || d.Reason == reason) {
			n += v
		}
	}
	return n
}

// ByReason maps the reasons of the matching decisions to their counts.
func (c Counts) ByReason(stage, outcome string) map[string]int64 {
	out := map[string]int64{}
	for d, v := range c {
		if d.Stage == stage && d.Outcome == outcome {
			out[d.Reason] += v
		}
	}
	return out
}

// Flat is the counts keyed "stage/outcome/reason" (sorted when marshalled).
func (c Counts) Flat() map[string]int64 {
	out := make(map[string]int64, len(c))
	for d, v := range c {
		out[d.String()] += v
	}
	return out
}
