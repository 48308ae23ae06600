package verdict

import (
	"fmt"
	"slices"
	"strings"
)

// The classes of an incident window.
const (
	Normal          = "normal"
	FlashCrowd      = "flash_crowd"
	DDoS            = "ddos"
	Mixed           = "mixed"
	CapacityFailure = "capacity_failure"
)

// Report is the verdict on a span of seconds.
type Report struct {
	From    int64      `json:"from"`
	To      int64      `json:"to"`
	Seconds int        `json:"seconds"`
	Gaps    [][2]int64 `json:"gaps"` // seconds no node recorded, as [first, last] ranges
	Windows []Window   `json:"windows"`
	Verdict string     `json:"verdict"` // the gravest window's class (normal when none)
}

// Window is one incident: a run of elevated seconds and what it was.
type Window struct {
	Class      string     `json:"class"`
	From       int64      `json:"from"`
	To         int64      `json:"to"`
	Onset      int64      `json:"onset"` // the first second the deciding signals held
	Confidence float64    `json:"confidence"`
	Summary    string     `json:"summary"`
	Evidence   []Evidence `json:"evidence"`
	Gaps       int        `json:"gap_seconds"` // seconds of the window no node recorded
}

// Evidence is one signal over a window: how often and how strongly it held.
type Evidence struct {
	Signal    string  `json:"signal"`
	Says      Says    `json:"says"`
	What      string  `json:"what"`
	Threshold string  `json:"threshold"`
	Held      int     `json:"held_seconds"`
	Judged    int     `json:"judged_seconds"`
	First     int64   `json:"first"`  // first second it held
	Median    float64 `json:"median"` // its median value over the seconds it was judged
	Refs      []Ref   `json:"entries"`

	values []float64
}

// Tuning of the windows.
const (
	// A second is elevated when joins come at this many times the log's
	// usual rate (and at least minElevated), when invalid tickets or
	// refused connections come at minElevated, or when a failure signal
	// holds.
	elevatedFactor = 4
	minElevated    = 20
	mergeGap       = 10 // seconds: elevated seconds this close are one window
	minWindow      = 3  // seconds: shorter windows are noise
	decideSeconds  = 3  // seconds a class's signals must hold in a window
	maxRefs        = 8
)

// Judge finds the incident windows in the merged seconds and classifies
// each.
func Judge(secs []Second) Report { return JudgeIn(secs, secs) }

// JudgeIn judges the seconds secs of a longer log, whose usual join rate is
// taken from all of it: a span cut to one incident would make the incident
// the usual.
func JudgeIn(secs, all []Second) Report {
	var rep Report
	if len(secs) == 0 {
		rep.Verdict = Normal
		return rep
	}
	rep.From, rep.To, rep.Seconds = secs[0].T, secs[len(secs)-1].T, len(secs)
	rep.Gaps = gaps(secs)
	usual := usualJoins(all)
	for _, w := range windows(secs, usual) {
		rep.Windows = append(rep.Windows, classify(secs[w[0]:w[1]+1]))
	}
	rep.Verdict = Normal
	for _, w := range rep.Windows {
		if gravity(w.Class) > gravity(rep.Verdict) {
			rep.Verdict = w.Class
		}
	}
	return rep
}

func gravity(c string) int {
	return slices.Index([]string{Normal, FlashCrowd, CapacityFailure, DDoS, Mixed}, c)
}

func gaps(secs []Second) [][2]int64 {
	var out [][2]int64
	for _, s := range secs {
		if !s.Missing {
			continue
		}
		if n := len(out); n > 0 && out[n-1][1] == s.T-1 {
			out[n-1][1] = s.T
		} else {
			out = append(out, [2]int64{s.T, s.T})
		}
	}
	return out
}

// usualJoins is the join rate of a quiet second of the log (its lower
// quartile): a log may be mostly incident, never mostly quieter than usual.
func usualJoins(secs []Second) float64 {
	var v []int64
	for _, s := range secs {
		if !s.Missing {
			v = append(v, s.JoinReqs)
		}
	}
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return float64(v[len(v)/4])
}

func elevated(s *Second, usual float64) bool {
	if s.Missing {
		return false
	}
	if float64(s.JoinReqs) >= max(minElevated, elevatedFactor*usual) || s.BadTickets >= minElevated || s.ConnRefused >= minElevated {
		return true
	}
	for _, g := range signals {
		if g.says == SaysFailure {
			if v, ok := g.value(s); ok && g.holds(v) {
				return true
			}
		}
	}
	return false
}

// windows returns [first, last] index ranges of the incident windows.
func windows(secs []Second, usual float64) [][2]int {
	var out [][2]int
	for i := range secs {
		if !elevated(&secs[i], usual) {
			continue
		}
		if n := len(out); n > 0 && i-out[n-1][1] <= mergeGap {
			out[n-1][1] = i
		} else {
			out = append(out, [2]int{i, i})
		}
	}
	return slices.DeleteFunc(out, func(w [2]int) bool { return w[1]-w[0]+1 < minWindow })
}

// classify decides one window: attack signals held together on enough
// seconds make an attack; a crowd that listened besides makes it mixed;
// listeners failing without an attack is a capacity failure; a crowd that
// came and listened is a flash crowd.
func classify(w []Second) Window {
	out := Window{From: w[0].T, To: w[len(w)-1].T, Onset: -1}
	ev := map[string]*Evidence{}
	var attackSecs, failureSecs []int64
	var arrived, started int64
	for i := range w {
		s := &w[i]
		if s.Missing {
			out.Gaps++
			continue
		}
		arrived += s.Arrived
		started += s.Started
		attacks, failures := 0, 0
		for _, g := range signals {
			v, ok := g.value(s)
			if !ok {
				continue
			}
			e := evidence(ev, g)
			e.Judged++
			e.values = append(e.values, v)
			if !g.holds(v) {
				continue
			}
			e.Held++
			if e.First == 0 {
				e.First = s.T
			}
			if len(e.Refs) < maxRefs {
				e.Refs = append(e.Refs, s.Refs...)
			}
			switch g.says {
			case SaysAttack:
				attacks++
			case SaysFailure:
				failures++
			}
		}
		if attacks >= 2 {
			attackSecs = append(attackSecs, s.T)
		}
		if failures >= 1 {
			failureSecs = append(failureSecs, s.T)
		}
	}
	attack := len(attackSecs) >= decideSeconds
	failure := len(failureSecs) >= decideSeconds
	// Under an attack the sources and rates are the bots' as much as the
	// crowd's: the crowd shows as listeners who kept starting to listen
	// (bots' tickets are refused or never used), second after second.
	listening := started >= 50 && heldFor(ev["arrivals"]) >= decideSeconds
	crowd := started >= 50 && crowdSays(ev)
	switch {
	case attack && listening:
		out.Class, out.Onset = Mixed, attackSecs[0]
	case attack:
		out.Class, out.Onset = DDoS, attackSecs[0]
	case failure:
		out.Class, out.Onset = CapacityFailure, failureSecs[0]
	case crowd:
		out.Class, out.Onset = FlashCrowd, firstArrivals(w)
	default:
		out.Class, out.Onset = Normal, w[0].T
	}
	recorded := len(w) - out.Gaps
	out.Confidence = confidence(out.Class, len(attackSecs), len(failureSecs), recorded, ev)
	out.Evidence = sortedEvidence(ev)
	out.Summary = summary(out, arrived, started)
	return out
}

// crowdSays is whether the crowd's own signals held on most seconds they
// were judged: networks seen before, or flows that completed, at normal
// per-client rates.
func crowdSays(ev map[string]*Evidence) bool {
	mostly := func(name string) bool {
		e := ev[name]
		return e != nil && e.Judged > 0 && e.Held*2 >= e.Judged
	}
	return (mostly("seen_before") || mostly("flows_complete")) && !mostlyNot(ev["normal_rate"])
}

func heldFor(e *Evidence) int {
	if e == nil {
		return 0
	}
	return e.Held
}

func mostlyNot(e *Evidence) bool { return e != nil && e.Judged > 0 && e.Held*2 < e.Judged }

func firstArrivals(w []Second) int64 {
	for _, s := range w {
		if s.Started >= 10 {
			return s.T
		}
	}
	return w[0].T
}

// confidence is how much of the window the deciding signals covered, and
// how many independent signals agreed.
func confidence(class string, attack, failure, recorded int, ev map[string]*Evidence) float64 {
	if recorded == 0 {
		return 0
	}
	agree := func(says Says) int {
		n := 0
		for _, e := range ev {
			if e.Says == says && e.Held*2 >= e.Judged && e.Judged > 0 {
				n++
			}
		}
		return n
	}
	var cover float64
	var n int
	switch class {
	case DDoS, Mixed:
		cover, n = float64(attack)/float64(recorded), agree(SaysAttack)
	case CapacityFailure:
		cover, n = float64(failure)/float64(recorded), agree(SaysFailure)
	case FlashCrowd:
		cover, n = 1-float64(attack)/float64(recorded), agree(SaysCrowd)
	default:
		return 0.5
	}
	c := 0.4 + 0.4*min(1, cover*1.5) + 0.05*float64(min(n, 4))
	return float64(int(min(c, 0.99)*100)) / 100
}

func summary(w Window, arrived, started int64) string {
	var b strings.Builder
	span := fmt.Sprintf("%d s", w.To-w.From+1)
	switch w.Class {
	case DDoS:
		fmt.Fprintf(&b, "an attack over %s: ", span)
	case Mixed:
		fmt.Fprintf(&b, "an attack and a real crowd at once over %s (%d started listening): ", span, started)
	case CapacityFailure:
		fmt.Fprintf(&b, "listeners failing with no attack signature over %s: the systems were overwhelmed: ", span)
	case FlashCrowd:
		fmt.Fprintf(&b, "a flash crowd over %s: %d arrived, %d started listening: ", span, arrived, started)
	default:
		fmt.Fprintf(&b, "more traffic than usual over %s, nothing conclusive: ", span)
	}
	var held []string
	for _, e := range w.Evidence {
		if e.Held > 0 && e.Held*2 >= e.Judged {
			held = append(held, fmt.Sprintf("%s (%d of %d s)", e.Signal, e.Held, e.Judged))
		}
	}
	if len(held) == 0 {
		held = []string{"no signal held on most seconds"}
	}
	b.WriteString(strings.Join(held, ", "))
	if w.Gaps > 0 {
		fmt.Fprintf(&b, "; %d seconds of the window are missing from the log", w.Gaps)
	}
	return b.String()
}
