// Package report turns receipts into something a person would rather look
// at than read: the series behind the charts of the report and dashboard.
package report

import (
	_ "embed"
	"slices"

	"github.com/onair-live/onair/internal/telemetry"
	"github.com/onair-live/onair/internal/verdict"
)

// ChartsJS draws the charts, in the report page and on the dashboard.
//
//go:embed charts.js
var ChartsJS []byte

// Data is what the charts draw: one value per second per series, the
// seconds no node recorded as null.
type Data struct {
	T      []int64               `json:"t"`
	Series map[string][]*float64 `json:"series"`
	Marks  []Mark                `json:"marks"`
	Bands  []Band                `json:"bands"`
	Top    []telemetry.Top       `json:"top"` // the networks with the most requests over the span
}

// Mark is a moment worth a line across the charts (a show event, an onset).
type Mark struct {
	T     int64  `json:"t"`
	Label string `json:"label"`
}

// Band is a span worth shading (an incident window, a gap).
type Band struct {
	From  int64  `json:"from"`
	To    int64  `json:"to"`
	Label string `json:"label"`
	Color string `json:"color"`
}

var bandColor = map[string]string{
	verdict.FlashCrowd: "#dbeafe", verdict.DDoS: "#fee2e2", verdict.Mixed: "#fde68a",
	verdict.CapacityFailure: "#fed7aa", verdict.Normal: "#f3f4f6",
}

// series are the figures charted, by name.
var series = map[string]func(s *verdict.Second) float64{
	"joins.admitted":     func(s *verdict.Second) float64 { return float64(s.Admitted) },
	"joins.queued":       func(s *verdict.Second) float64 { return float64(s.Queued) },
	"joins.challenged":   func(s *verdict.Second) float64 { return float64(s.Challenged) },
	"joins.rejected":     func(s *verdict.Second) float64 { return float64(s.JoinRejected) },
	"tickets.invalid":    func(s *verdict.Second) float64 { return float64(s.BadTickets) },
	"conns.refused":      func(s *verdict.Second) float64 { return float64(s.ConnRefused) },
	"listeners.total":    func(s *verdict.Second) float64 { return float64(s.Listeners) },
	"listeners.ogg":      func(s *verdict.Second) float64 { return float64(s.Ogg) },
	"listeners.llhls":    func(s *verdict.Second) float64 { return float64(s.LLHLS) },
	"listeners.hls":      func(s *verdict.Second) float64 { return float64(s.HLS) },
	"listeners.whep":     func(s *verdict.Second) float64 { return float64(s.WHEP) },
	"sources.seen":       func(s *verdict.Second) float64 { return float64(s.SeenPrefixes) },
	"sources.new":        func(s *verdict.Second) float64 { return float64(s.JoinPrefixes - s.SeenPrefixes) },
	"cpu":                func(s *verdict.Second) float64 { return s.CPU * 100 },
	"lag.p50":            func(s *verdict.Second) float64 { return s.LagP50 },
	"lag.p99":            func(s *verdict.Second) float64 { return s.LagP99 },
	"stalls":             func(s *verdict.Second) float64 { return float64(s.StallsCut + s.Skipped) },
	"mixer.late_p99":     func(s *verdict.Second) float64 { return s.MixLateP99 },
	"flows.started":      func(s *verdict.Second) float64 { return float64(s.Started) },
	"flows.issued":       func(s *verdict.Second) float64 { return float64(s.Issued) },
	"gate.under_attack":  func(s *verdict.Second) float64 { return b2f(s.UnderAttack) },
	"requests.join":      func(s *verdict.Second) float64 { return float64(s.JoinReqs) },
	"requests.media":     func(s *verdict.Second) float64 { return float64(s.MediaReqs) },
	"sources.join_addrs": func(s *verdict.Second) float64 { return float64(s.JoinAddrs) },
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Build makes the chart data of merged seconds, their events and verdict.
func Build(secs []verdict.Second, events []telemetry.Event, rep verdict.Report) Data {
	d := Data{Series: map[string][]*float64{}}
	top := map[string]int64{}
	for i := range secs {
		s := &secs[i]
		d.T = append(d.T, s.T)
		for name, f := range series {
			var v *float64
			if !s.Missing {
				x := f(s)
				v = &x
			}
			d.Series[name] = append(d.Series[name], v)
		}
		for _, t := range s.Top {
			top[t.Prefix] += t.Requests
		}
	}
	for p, n := range top {
		d.Top = append(d.Top, telemetry.Top{Prefix: p, Requests: n})
	}
	slices.SortFunc(d.Top, func(a, b telemetry.Top) int { return int(b.Requests - a.Requests) })
	d.Top = d.Top[:min(len(d.Top), 10)]
	for _, e := range events {
		switch e.Event {
		case "start", "end", "first_frame":
			d.Marks = append(d.Marks, Mark{T: e.T, Label: e.Event})
		}
	}
	for _, w := range rep.Windows {
		d.Bands = append(d.Bands, Band{From: w.From, To: w.To, Label: w.Class, Color: bandColor[w.Class]})
		d.Marks = append(d.Marks, Mark{T: w.Onset, Label: "onset: " + w.Class})
	}
	for _, g := range rep.Gaps {
		d.Bands = append(d.Bands, Band{From: g[0], To: g[1], Label: "missing from the log", Color: "#e5e7eb"})
	}
	return d
}
