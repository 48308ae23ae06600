package verdict

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/onair-live/onair/internal/receipts"
	"github.com/onair-live/onair/internal/telemetry"
)

// Log is one node's receipts log as read for a verdict: its entries, and
// whether it verified. A log that does not verify is still read; the
// entries from the first bad one on are marked as such.
type Log struct {
	Source   string
	Node     string // the records' node name (else the log's origin)
	Verify   *receipts.VerifyReport
	Entries  []Entry
	Events   []telemetry.Event
	Claims   []Claim // the load tests it logged
	BadFrom  int64   // first entry that did not verify (-1: none)
	Unparsed int     // entries that are not records of a known kind
}

// Verified reports whether the whole log checked out.
func (l *Log) Verified() bool { return l.Verify != nil && l.Verify.Failure == nil }

// ReadLog verifies and reads the log at loc (a directory or a node's URL),
// checking its checkpoints with key (empty: the key the log serves).
func ReadLog(ctx context.Context, loc, key string) (*Log, error) {
	src, err := receipts.NewSource(loc)
	if err != nil {
		return nil, err
	}
	l := &Log{Source: loc, BadFrom: -1}
	l.Verify = receipts.Verify(ctx, src, receipts.VerifyOptions{Key: key})
	if f := l.Verify.Failure; f != nil {
		l.BadFrom = max(f.Index, 0)
	}
	_, c, err := receipts.ReadCheckpoint(ctx, src, key)
	if err != nil && key != "" {
		_, c, err = receipts.ReadCheckpoint(ctx, src, "") // signed by another key: read it anyway, it is marked
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", loc, err)
	}
	l.Node = c.Origin
	named := false
	err = receipts.Entries(ctx, src, c, 0, func(i int64, e []byte) error {
		l.add(i, e, &named)
		return nil
	})
	if err != nil && l.Verified() {
		return nil, fmt.Errorf("%s: %w", loc, err)
	}
	for i := range l.Entries {
		l.Entries[i].Node = l.Node
	}
	return l, nil
}

func (l *Log) add(i int64, e []byte, named *bool) {
	var head struct {
		Kind string `json:"kind"`
	}
	if json.Unmarshal(e, &head) != nil {
		l.Unparsed++
		return
	}
	switch head.Kind {
	case "second":
		var r telemetry.Record
		if json.Unmarshal(e, &r) != nil {
			l.Unparsed++
			return
		}
		if !*named && r.Node.Name != "" {
			l.Node, *named = r.Node.Name, true
		}
		l.Entries = append(l.Entries, Entry{Index: i, Record: r})
	case "event":
		var ev telemetry.Event
		if json.Unmarshal(e, &ev) == nil {
			l.Events = append(l.Events, ev)
		}
	case "claim":
		if r, err := receipts.ParseRecord(e); err == nil {
			row := receipts.Row(i, r)
			c := Claim{Index: i, Text: fmt.Sprintf("entry %d at %s UTC: load test %s", i, row[1], row[len(row)-1])}
			if note, ok := r.Field("note").(string); ok {
				body, _, _ := strings.Cut(note, "\n\n")
				var span struct {
					Start int64 `json:"start_t"`
					End   int64 `json:"end_t"`
				}
				if json.Unmarshal([]byte(body), &span) == nil {
					c.Start, c.End = span.Start, span.End
				}
			}
			l.Claims = append(l.Claims, c)
		}
	default:
		l.Unparsed++
	}
}

// Claim is a load test's signed summary, as the node logged it.
type Claim struct {
	Index      int64
	Text       string // what it claims, in a line
	Start, End int64  // the seconds the run covered (0: not said)
}

// Beside sums up the node's own records over the claim's seconds, to set
// next to it: what the servers saw while the load test says it ran.
func (c Claim) Beside(secs []Second) string {
	if c.Start == 0 || c.End < c.Start {
		return ""
	}
	var peak, stalls int64
	var lag float64
	n := 0
	for _, s := range secs {
		if s.T < c.Start || s.T > c.End || s.Missing {
			continue
		}
		n++
		peak = max(peak, s.Listeners)
		stalls += s.StallsCut + s.Skipped
		lag = max(lag, s.LagP99)
	}
	if n == 0 {
		return "the logs have no records for those seconds"
	}
	return fmt.Sprintf("the nodes' own records for those %d s: at most %d listeners, %d stalls cut or skips, fan-out lag p99 at most %.0f ms", n, peak, stalls, lag)
}

// Tainted is the seconds whose records come from entries that did not
// verify, as [first, last] ranges.
func (l *Log) Tainted() [][2]int64 {
	if l.BadFrom < 0 {
		return nil
	}
	var out [][2]int64
	for _, e := range l.Entries {
		if e.Index < l.BadFrom {
			continue
		}
		t := e.Record.T
		if n := len(out); n > 0 && out[n-1][1] >= t-1 {
			out[n-1][1] = max(out[n-1][1], t)
		} else {
			out = append(out, [2]int64{t, t})
		}
	}
	return out
}
