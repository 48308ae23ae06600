// Package verdict reads the per-second records of one or more nodes and
// says, per incident, whether it was a flash crowd, an attack, both, or the
// servers failing on their own, with the figures behind it.
package verdict

import (
	"slices"

	"github.com/onair-live/onair/internal/telemetry"
)

// Entry is one record with where it came from, so that every figure of a
// verdict can be traced to the log entries behind it.
type Entry struct {
	Node   string
	Index  int64 // the entry's index in its node's log
	Record telemetry.Record
}

// Ref names one log entry.
type Ref struct {
	Node  string `json:"node"`
	Index int64  `json:"index"`
}

// Second is one second of the whole deployment: the records of every node
// for that second, summed (CPU and lag: the worst node).
type Second struct {
	T       int64
	Refs    []Ref
	Nodes   int
	Missing bool // no node has a record for this second (a gap)

	JoinReqs, JoinRejected, MediaReqs     int64
	Admitted, Queued, Challenged, Solved  int64
	BadTickets, ConnRefused               int64
	JoinAddrs, JoinPrefixes, SeenPrefixes int64
	SeenFilter                            bool // some node had an earlier show to compare with
	Listeners, Arrived, Departed          int64
	Ogg, HLS, LLHLS, WHEP                 int64
	StallsCut, Skipped                    int64
	LagP50, LagP99, CPU                   float64
	MixLateP99                            float64
	MixSkipped                            int64
	Issued, Started, CohortN              int64
	CohortStarted                         float64
	UnderAttack                           bool
	Top                                   []telemetry.Top
}

// Merge lines the nodes' records up by second, from the first to the last,
// with the seconds no node recorded marked Missing.
func Merge(entries []Entry) []Second {
	by := map[int64]*Second{}
	for _, e := range entries {
		r := e.Record
		if r.Kind != "second" {
			continue
		}
		s := by[r.T]
		if s == nil {
			s = &Second{T: r.T}
			by[r.T] = s
		}
		s.add(e)
	}
	if len(by) == 0 {
		return nil
	}
	ts := make([]int64, 0, len(by))
	for t := range by {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	out := make([]Second, 0, ts[len(ts)-1]-ts[0]+1)
	for t := ts[0]; t <= ts[len(ts)-1]; t++ {
		if s := by[t]; s != nil {
			out = append(out, *s)
		} else {
			out = append(out, Second{T: t, Missing: true})
		}
	}
	return out
}

func (s *Second) add(e Entry) {
	r := e.Record
	s.Refs = append(s.Refs, Ref{Node: e.Node, Index: e.Index})
	s.Nodes++
	s.JoinReqs += r.Requests["join"].Passed + r.Requests["join"].Rejected
	s.JoinRejected += r.Requests["join"].Rejected
	s.MediaReqs += r.Requests["media"].Passed + r.Requests["media"].Rejected
	s.Admitted += r.Joins.Admitted
	s.Queued += r.Joins.Queued
	s.Challenged += r.Joins.Challenged
	s.Solved += r.Joins.Solved
	for _, n := range r.Tickets {
		s.BadTickets += n
	}
	for _, n := range r.Conns.Refused {
		s.ConnRefused += n
	}
	s.JoinAddrs += r.Sources.JoinAddrs
	s.JoinPrefixes += r.Sources.JoinPrefixes
	s.SeenPrefixes += r.Sources.SeenBefore
	s.SeenFilter = s.SeenFilter || r.Sources.SeenFilter > 0
	s.Listeners += r.Listeners.Total
	s.Arrived += r.Listeners.Arrived
	s.Departed += r.Listeners.Departed
	s.Ogg += r.Listeners.Ogg
	s.HLS += r.Listeners.HLS
	s.LLHLS += r.Listeners.LLHLS
	s.WHEP += r.Listeners.WHEP
	s.StallsCut += r.Fanout.StallsCut
	s.Skipped += r.Fanout.SkippedPages
	s.LagP50 = max(s.LagP50, r.Fanout.Lag.P50)
	s.LagP99 = max(s.LagP99, r.Fanout.Lag.P99)
	s.CPU = max(s.CPU, r.Node.CPU)
	s.MixLateP99 = max(s.MixLateP99, r.Mixer.Late.P99)
	s.MixSkipped += r.Mixer.Skipped
	s.Issued += r.Flows.Issued
	s.Started += r.Flows.Started
	s.CohortN += r.Flows.CohortN
	s.CohortStarted += r.Flows.Completion * float64(r.Flows.CohortN)
	s.UnderAttack = s.UnderAttack || r.Gate.UnderAttack
	s.Top = append(s.Top, r.Sources.Top...)
}
