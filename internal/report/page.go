package report

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"time"

	"github.com/onair-live/onair/internal/telemetry"
	"github.com/onair-live/onair/internal/verdict"
)

//go:embed page.html
var pageHTML string

// DrawJS draws the standard charts from a Data object (onairDraw).
//
//go:embed draw.js
var DrawJS []byte

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"clock": func(t int64) string { return time.Unix(t, 0).UTC().Format("15:04:05") },
	"pct":   func(f float64) float64 { return f * 100 },
	"held":  func(e verdict.Evidence) bool { return e.Judged > 0 && e.Held*2 >= e.Judged },
	"secs":  func(ms float64) string { return fmt.Sprintf("%+.3f s", ms/1000) },
	"bound": func(ms float64) string { return fmt.Sprintf("±%.3f s", ms/1000) },
	"neg":   func(n int64) int64 { return -n },
}).Parse(pageHTML))

// Page is everything the report shows.
type Page struct {
	Title       string
	Nodes       []string
	Verified    bool
	VerifyNotes []string // what the verifier said (gaps, the first bad entry, ...)
	Report      verdict.Report
	Shows       []Show
	Claims      []string // load tests logged by the nodes, one line each
	Clocks      []verdict.Clock
	ClockNotes  []string // warnings about the nodes' clocks, for the top
	Data        Data
}

// Show is one space's events, for the table of starts.
type Show struct {
	Space, Scheduled, Started, Delay, FirstFrame, Ended string
}

// Shows gathers the start, first frame and end of each space from events.
func Shows(events []telemetry.Event) []Show {
	var out []Show
	at := map[string]int{}
	ts := func(ms int64) string { return time.UnixMilli(ms).UTC().Format("15:04:05.000") }
	for _, e := range events {
		i, ok := at[e.Space]
		if !ok {
			i = len(out)
			at[e.Space] = i
			out = append(out, Show{Space: e.Space})
		}
		s := &out[i]
		switch e.Event {
		case "start":
			s.Started = ts(e.TMS)
			if e.ScheduledMS != 0 {
				s.Scheduled = ts(e.ScheduledMS)
			}
			if e.DelayMS != nil {
				s.Delay = (time.Duration(*e.DelayMS) * time.Millisecond).Round(time.Millisecond).String()
			}
		case "first_frame":
			s.FirstFrame = ts(e.TMS)
		case "end":
			s.Ended = ts(e.TMS)
		}
	}
	return out
}

// Write renders the page: one self-contained HTML file, its data and
// scripts inline, nothing fetched when it is opened.
func Write(w io.Writer, p Page) error {
	js, err := json.Marshal(p.Data) // escapes <, > and &: safe inside a script element
	if err != nil {
		return err
	}
	span := "no seconds recorded"
	if p.Report.Seconds > 0 {
		span = fmt.Sprintf("%s to %s UTC (%d s)", time.Unix(p.Report.From, 0).UTC().Format("2006-01-02 15:04:05"),
			time.Unix(p.Report.To, 0).UTC().Format("15:04:05"), p.Report.Seconds)
	}
	return page.Execute(w, struct {
		Page
		Span, Generated string
		DataJSON        template.JS
		Charts, Draw    template.JS
	}{Page: p, Span: span, Generated: time.Now().UTC().Format(time.RFC3339), DataJSON: template.JS(js),
		Charts: template.JS(ChartsJS), Draw: template.JS(DrawJS)})
}

// FromGathered is the page of logs read and judged.
func FromGathered(g *verdict.Gathered, title string) Page {
	p := Page{Title: title, Verified: g.Verified(), Report: g.Report, Shows: Shows(g.Events),
		Data: Build(g.Seconds, g.Events, g.Report), ClockNotes: g.ClockNotes()}
	if len(g.Clocks) > 1 {
		p.Clocks = g.Clocks
	}
	for _, l := range g.Logs {
		p.Nodes = append(p.Nodes, l.Node)
		for _, c := range l.Claims {
			line := c.Text
			if b := c.Beside(g.Seconds); b != "" {
				line += "; " + b
			}
			p.Claims = append(p.Claims, line)
		}
		v := l.Verify
		switch {
		case v.Failure != nil:
			p.VerifyNotes = append(p.VerifyNotes, fmt.Sprintf("%s (%s): %v", l.Node, l.Source, v.Failure))
		case v.Seconds.Missing > 0:
			p.VerifyNotes = append(p.VerifyNotes, fmt.Sprintf("%s: %d seconds missing (the node was down, or its log has gaps).", l.Node, v.Seconds.Missing))
		}
	}
	for _, t := range g.Tainted {
		p.Data.Bands = append(p.Data.Bands, Band{From: t[0], To: t[1], Label: "entries that did not verify", Color: "#fca5a5"})
	}
	return p
}
