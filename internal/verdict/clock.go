package verdict

import (
	"fmt"
	"math"
	"slices"
)

// How the nodes' clocks are lined up before their seconds are merged.
//
// A signed checkpoint carries no time (C2SP tlog-checkpoint: origin, size,
// root), and a witness's cosignature carries the witness's clock, of the
// one checkpoint the node keeps cosigned: at best a bound of the 10 s
// between checkpoints. What does bound the offset is the load report
// every node of a cluster sends every second, stamped by its own clock
// (control.Report.At): each node logs, per second and per peer, the least
// of (its clock on receipt − the report's stamp), telemetry.PeerClock.
// With d(A←B) that least over A's log,
//
//	d(A←B) = travel(B→A) + (clock A − clock B) ≥ clock A − clock B
//
// so clock B − clock A lies in [−d(A←B), d(B←A)]: the estimate is the
// middle, the bound half the width (half the quickest round trip). One
// offset per node is taken over the whole of the logs (clocks under NTP
// drift milliseconds an hour; a clock stepped during the logs shows as an
// empty interval, and is reported as unknown). Nodes with no direct pair
// to the reference are reached through others, adding the bounds, by the
// path of the least bound.

// MaxSkew is the skew the verdict warns of: a second's records are lined
// up to the second, so a skew under it moves nothing.
const MaxSkew = 1.0 // seconds

// Clock is one node's clock against the reference's, as the logs show it.
type Clock struct {
	Node      string `json:"node"`
	Reference string `json:"reference"`
	Known     bool   `json:"known"`
	// SkewMS is how far the node's clock is ahead of the reference's (ms;
	// negative: behind); the true skew lies within ±BoundMS of it.
	SkewMS  float64 `json:"skew_ms"`
	BoundMS float64 `json:"bound_ms"`
	// ShiftS is how many seconds the node's records were moved back to
	// line up with the reference's (the skew rounded to the second).
	ShiftS int64  `json:"shift_s"`
	How    string `json:"how"`
}

// maxPeerMS bounds the figures taken (about 115 days): a record claiming
// more is not a clock to line up with.
const maxPeerMS = 1e10

// peerMins is, per pair of nodes, the least d(A←B) over A's log, and the
// seconds it came from.
type peerMins map[[2]string]struct {
	min     float64
	seconds int
}

func gatherPeers(logs []*Log) peerMins {
	m := peerMins{}
	for _, l := range logs {
		for _, e := range l.Entries {
			for peer, pc := range e.Record.Peers {
				if pc.Reports <= 0 || !(math.Abs(pc.MinMS) <= maxPeerMS) || peer == l.Node {
					continue
				}
				k := [2]string{l.Node, peer}
				v, ok := m[k]
				if !ok || pc.MinMS < v.min {
					v.min = pc.MinMS
				}
				v.seconds++
				m[k] = v
			}
		}
	}
	return m
}

// pair is the offset of b's clock against a's the two logs give.
type pair struct {
	skew, bound float64
	how         string
}

func (m peerMins) pair(a, b string) (pair, bool) {
	ab, ok1 := m[[2]string{a, b}] // a's receipts of b's reports
	ba, ok2 := m[[2]string{b, a}]
	if !ok1 || !ok2 {
		return pair{}, false
	}
	lo, hi := -ab.min, ba.min
	if lo > hi {
		return pair{}, false
	}
	return pair{skew: (lo + hi) / 2, bound: (hi - lo) / 2,
		how: fmt.Sprintf("%s↔%s load reports (%d and %d s of them; least receipt − stamp %.1f and %.1f ms)",
			a, b, ab.seconds, ba.seconds, ab.min, ba.min)}, true
}

// reference is the node whose clock the others are lined up to: the
// origin (its log has the show events, whose times should not move),
// else the first log given.
func reference(logs []*Log) string {
	for _, l := range logs {
		if len(l.Events) > 0 {
			return l.Node
		}
	}
	return logs[0].Node
}

// EstimateClocks says of each log's node how far its clock is from the
// reference's, by the least-bound path of pairs of nodes that logged each
// other's load reports.
func EstimateClocks(logs []*Log) []Clock {
	if len(logs) == 0 {
		return nil
	}
	ref := reference(logs)
	m := gatherPeers(logs)
	var nodes []string
	for _, l := range logs {
		if !slices.Contains(nodes, l.Node) {
			nodes = append(nodes, l.Node)
		}
	}
	best := map[string]*Clock{ref: {Node: ref, Reference: ref, Known: true, How: "the reference clock"}}
	done := map[string]bool{}
	for { // Dijkstra on the bound: a handful of nodes
		cur := ""
		for n, c := range best {
			if !done[n] && (cur == "" || c.BoundMS < best[cur].BoundMS) {
				cur = n
			}
		}
		if cur == "" {
			break
		}
		done[cur] = true
		for _, n := range nodes {
			p, ok := m.pair(cur, n)
			if done[n] || !ok {
				continue
			}
			c := best[cur]
			if old := best[n]; old == nil || c.BoundMS+p.bound < old.BoundMS {
				how := p.how
				if cur != ref {
					how = c.How + ", then " + how
				}
				best[n] = &Clock{Node: n, Reference: ref, Known: true, SkewMS: c.SkewMS + p.skew, BoundMS: c.BoundMS + p.bound, How: how}
			}
		}
	}
	out := make([]Clock, 0, len(nodes))
	for _, n := range nodes {
		c := best[n]
		if c == nil {
			c = &Clock{Node: n, Reference: ref, How: unknownHow(m, n, ref)}
		}
		c.SkewMS, c.BoundMS = math.Round(c.SkewMS*1000)/1000, math.Round(c.BoundMS*1000)/1000
		c.ShiftS = int64(math.Round(c.SkewMS / 1000))
		out = append(out, *c)
	}
	return out
}

// unknownHow says why a node's skew is unknown.
func unknownHow(m peerMins, n, ref string) string {
	toRef, ok1 := m[[2]string{ref, n}] // the reference's receipts of n's reports
	fromRef, ok2 := m[[2]string{n, ref}]
	switch {
	case ok1 && ok2:
		return fmt.Sprintf("skew unknown: the two ways disagree (%s ahead by at least %.1f ms and at most %.1f ms): its clock changed during the logs", n, -toRef.min, fromRef.min)
	case ok1:
		return fmt.Sprintf("skew unknown: only %s's receipts of %s's load reports are in these logs, not the other way (%s is at least %.1f ms ahead)", ref, n, n, -toRef.min)
	case ok2:
		return fmt.Sprintf("skew unknown: only %s's receipts of %s's load reports are in these logs, not the other way (%s is at most %.1f ms ahead)", n, ref, n, fromRef.min)
	}
	return "skew unknown: no load reports between this node and the others are in these logs (a node of one process, a log from before they were logged, or the other nodes' logs not given)"
}

// ClockNotes are the warnings the nodes' clocks call for, for the top of a
// verdict: skews over MaxSkew, bounds too wide to line up to the second,
// and nodes whose skew is unknown (merged by their own clocks).
func ClockNotes(clocks []Clock) []string {
	if len(clocks) < 2 {
		return nil
	}
	var out []string
	for _, c := range clocks {
		switch {
		case !c.Known:
			out = append(out, fmt.Sprintf("%s: clock %s; its seconds are merged by its own clock", c.Node, c.How))
		case c.BoundMS > MaxSkew*1000:
			out = append(out, fmt.Sprintf("%s: clock %+.3f s against %s, but only within ±%.3f s: its seconds may be misplaced by that much", c.Node, c.SkewMS/1000, c.Reference, c.BoundMS/1000))
		case math.Abs(c.SkewMS) > MaxSkew*1000:
			out = append(out, fmt.Sprintf("%s: clock %+.3f s (±%.3f s) against %s: its seconds were moved by %+d s to line up before merging", c.Node, c.SkewMS/1000, c.BoundMS/1000, c.Reference, -c.ShiftS))
		}
	}
	return out
}

// align moves a log's records and events onto the reference's clock.
func (l *Log) align(c Clock) {
	if !c.Known || c.SkewMS == 0 {
		return
	}
	for i := range l.Entries {
		l.Entries[i].Record.T -= c.ShiftS
	}
	ms := int64(math.Round(c.SkewMS))
	for i := range l.Events {
		e := &l.Events[i]
		e.TMS -= ms
		e.T = floorDiv(e.TMS, 1000)
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
