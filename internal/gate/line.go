package gate

import "time"

// Line is the waiting line the gate draws numbers from. The default is the
// node's own Admission (one line for the node); a cluster plugs in a line
// shared by every edge (internal/line), so that a show's crowd waits in one
// fair order whichever edge each listener reached.
type Line interface {
	// Join draws the next number of space's line for a newcomer.
	Join(space string, now time.Time) Ticket
	// Check says where number n (from a queue token) stands now. A number
	// the line does not know (an earlier line's) comes back Stale, one
	// admitted and used already comes back Claimed.
	Check(space string, n uint64, now time.Time) Ticket
	// Waiting and Rate describe the line for the proof-of-work difficulty,
	// the metrics and /gate: numbers drawn not admitted yet, admissions per
	// second.
	Waiting() uint64
	Rate() float64
	// Follow is told this node's own admit rate (its AIMD controller's) and
	// whether the node is full, once per control period: a shared line
	// moves its local fallback at it.
	Follow(rate float64, full bool)
}

// Spender is a Line that also spends solved proof-of-work challenges for
// every edge sharing it, so one solution lets one join through, not one
// per edge. Spend reports whether challenge id was unspent.
type Spender interface {
	Spend(space string, id uint64, now time.Time) bool
}

// localLine is the node's own Admission as a Line: one line for every
// space, as a lone node has always had.
type localLine struct{ *Admission }

func (l localLine) Join(_ string, now time.Time) Ticket { return l.Admission.Join(now) }

func (l localLine) Check(_ string, n uint64, now time.Time) Ticket { return l.Admission.Check(n, now) }

// Follow has nothing to do: the gate drives this Admission itself.
func (localLine) Follow(float64, bool) {}

// LocalLine is a as a Line: what a gate uses when Config.Line is nil (one
// line for every space, driven by the gate's controller when a is its own).
func LocalLine(a *Admission) Line { return localLine{a} }
