package verdict

import (
	"fmt"
	"slices"
)

// evidence returns the window's evidence for signal g, made on first use.
func evidence(ev map[string]*Evidence, g signal) *Evidence {
	if e := ev[g.name]; e != nil {
		return e
	}
	cmp := "≤"
	if g.above {
		cmp = "≥"
	}
	e := &Evidence{Signal: g.name, Says: g.says, What: g.what, Threshold: fmt.Sprintf("%s %g %s", cmp, g.threshold, g.unit)}
	ev[g.name] = e
	return e
}

// sortedEvidence is the window's evidence in a stable order (the signals
// that held on most of their seconds first, then by what they say and how
// long they held), medians filled in.
func sortedEvidence(ev map[string]*Evidence) []Evidence {
	out := make([]Evidence, 0, len(ev))
	for _, e := range ev {
		if len(e.values) > 0 {
			v := slices.Clone(e.values)
			slices.Sort(v)
			e.Median = float64(int(v[len(v)/2]*1000)) / 1000
		}
		out = append(out, *e)
	}
	order := map[Says]int{SaysAttack: 0, SaysFailure: 1, SaysCrowd: 2}
	mostly := func(e Evidence) int {
		if e.Judged > 0 && e.Held*2 >= e.Judged {
			return 0
		}
		return 1
	}
	slices.SortFunc(out, func(a, b Evidence) int {
		if d := mostly(a) - mostly(b); d != 0 {
			return d
		}
		if d := order[a.Says] - order[b.Says]; d != 0 {
			return d
		}
		if a.Held != b.Held {
			return b.Held - a.Held
		}
		if a.Signal < b.Signal {
			return -1
		}
		return 1
	})
	return out
}
