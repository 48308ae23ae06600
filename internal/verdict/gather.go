package verdict

import (
	"context"
	"fmt"
	"slices"

	"github.com/onair-live/onair/internal/telemetry"
)

// Query says which logs to read and which seconds to judge.
type Query struct {
	Sources []string // log directories or node URLs
	Keys    []string // verifier keys, matched to Sources by position (missing: the key each log serves)
	From    int64    // first second (0: the start)
	To      int64    // last second (0: the end)
	Space   string   // only the span of this show (its start to its end, a minute either side)
}

// Gathered is the logs read, merged and judged.
type Gathered struct {
	Logs    []*Log
	Seconds []Second
	Events  []telemetry.Event
	Report  Report
	Tainted [][2]int64 // seconds from entries that did not verify
	Clocks  []Clock    // each node's clock against the reference's, as lined up
}

// ClockNotes are the warnings about the nodes' clocks (ClockNotes).
func (g *Gathered) ClockNotes() []string { return ClockNotes(g.Clocks) }

// Verified reports whether every log checked out.
func (g *Gathered) Verified() bool {
	for _, l := range g.Logs {
		if !l.Verified() {
			return false
		}
	}
	return true
}

// Gather reads every log of q, merges their records by second and judges
// the span asked for.
func Gather(ctx context.Context, q Query) (*Gathered, error) {
	g := &Gathered{}
	for i, src := range q.Sources {
		key := ""
		if i < len(q.Keys) {
			key = q.Keys[i]
		}
		l, err := ReadLog(ctx, src, key)
		if err != nil {
			return nil, err
		}
		g.Logs = append(g.Logs, l)
	}
	entries := g.align()
	slices.SortFunc(g.Events, func(a, b telemetry.Event) int { return int(a.TMS - b.TMS) })
	from, to, err := q.span(g.Events)
	if err != nil {
		return nil, err
	}
	all := Merge(entries)
	g.Seconds = slices.DeleteFunc(slices.Clone(all), func(s Second) bool { return s.T < from || s.T > to })
	g.Events = slices.DeleteFunc(g.Events, func(e telemetry.Event) bool { return e.T < from || e.T > to })
	g.Report = JudgeIn(g.Seconds, all)
	return g, nil
}

// align lines every log up with the reference clock and returns their
// records, with the events and tainted seconds moved the same.
func (g *Gathered) align() []Entry {
	g.Clocks = EstimateClocks(g.Logs)
	var entries []Entry
	for _, l := range g.Logs {
		for _, c := range g.Clocks {
			if c.Node == l.Node {
				l.align(c)
			}
		}
		entries = append(entries, l.Entries...)
		g.Events = append(g.Events, l.Events...)
		g.Tainted = append(g.Tainted, l.Tainted()...)
	}
	return entries
}

// span is the seconds to judge: From/To, narrowed to the show with Space:
// its start to its end, a minute either side but not into another show.
func (q Query) span(events []telemetry.Event) (int64, int64, error) {
	from, to := q.From, q.To
	if to == 0 {
		to = 1<<63 - 1
	}
	if q.Space == "" {
		return from, to, nil
	}
	var start, end int64
	for _, e := range events {
		if e.Space == q.Space {
			switch e.Event {
			case "start":
				start = e.T
			case "end":
				end = e.T
			}
		}
	}
	if start == 0 {
		return 0, 0, fmt.Errorf("space %s: no start in these logs", q.Space)
	}
	lo, hi := start-showMargin, to
	if end != 0 {
		hi = end + showMargin
	}
	for _, e := range events { // other shows' ends before, and starts after
		if e.Space == q.Space {
			continue
		}
		switch {
		case e.Event == "end" && e.T < start:
			lo = max(lo, e.T+1)
		case e.Event == "start" && e.T > start && (end == 0 || e.T >= end):
			hi = min(hi, e.T-1)
		}
	}
	return max(from, lo), min(to, hi), nil
}

// showMargin is how far around its start and end a show's span reaches:
// a crowd gathers before the start, and leaves after the end.
const showMargin = 60
