package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/onair-live/onair/internal/receipts"
	"github.com/onair-live/onair/internal/report"
	"github.com/onair-live/onair/internal/verdict"
)

const verdictAbout = "Read the receipts logs of one or more nodes (directories or node URLs), merge their\n" +
	"per-second records and say, per incident window, whether it was a flash_crowd, a ddos,\n" +
	"both (mixed), a capacity_failure (listeners failing with no attack: the systems were\n" +
	"overwhelmed) or nothing conclusive (normal), with its onset, a confidence, and the\n" +
	"figures behind it, each with the log entries it comes from. The rules are in\n" +
	"docs/receipts.md. Logs that do not verify are still read, and the verdict says so;\n" +
	"seconds missing from the logs are named. --key is matched to the logs in order.\n" +
	"Nodes' clocks are lined up before merging: each node of a cluster logs, per second, when\n" +
	"the others' load reports (stamped by their clocks) reached it, and two nodes' logs of each\n" +
	"other bound their clocks' offset (half the quickest round trip). Each node's skew against\n" +
	"the origin's clock is stated with its bound; a skew over 1 s, or one the logs cannot tell\n" +
	"(then that node's seconds are merged by its own clock), is warned of at the top."

const reportAbout = "Write one self-contained HTML page (no network needed to open it) of the receipts\n" +
	"logs of one or more nodes: the verdict with its evidence, whether the logs verified,\n" +
	"the shows' start delays, the load tests logged, and per-second charts (joins by\n" +
	"outcome, listeners by protocol, new vs seen-before networks, refusals, flows, CPU\n" +
	"and lag) and the top networks by requests."

// verdictFlags are the flags verdict and report share.
func verdictFlags(fs *flag.FlagSet, q *verdict.Query, keys *listFlag, from, to *string) {
	fs.Var(keys, "key", "a log's verifier key, in the order of the logs (repeat; default: the key each log serves)")
	fs.StringVar(&q.Space, "space", "", "only the span of this show: its start to its end, a minute either side")
	fs.StringVar(from, "from", "", "first second, RFC 3339 or unix seconds (default: the start)")
	fs.StringVar(to, "to", "", "last second, RFC 3339 or unix seconds (default: the end)")
}

func gatherFromFlags(fs *flag.FlagSet, args []string, q *verdict.Query, keys listFlag, from, to *string) (*verdict.Gathered, error) {
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() == 0 {
		return nil, usagef("want one or more log directories or node URLs")
	}
	q.Sources, q.Keys = fs.Args(), keys
	var err error
	if *from != "" {
		if q.From, err = receipts.ParseTime(*from); err != nil {
			return nil, usagef("--from: %v", err)
		}
	}
	if *to != "" {
		if q.To, err = receipts.ParseTime(*to); err != nil {
			return nil, usagef("--to: %v", err)
		}
	}
	ctx, stop := signalContext()
	defer stop()
	return verdict.Gather(ctx, *q)
}

func runReceiptsVerdict(fs *flag.FlagSet, args []string) error {
	var q verdict.Query
	var keys listFlag
	var from, to string
	var asJSON bool
	verdictFlags(fs, &q, &keys, &from, &to)
	fs.BoolVar(&asJSON, "json", false, "print the verdict as JSON")
	g, err := gatherFromFlags(fs, args, &q, keys, &from, &to)
	if err != nil {
		return err
	}
	if asJSON {
		out := struct {
			Verified bool            `json:"verified"`
			Logs     []any           `json:"logs"`
			Tainted  [][2]int64      `json:"unverified_seconds"`
			Clocks   []verdict.Clock `json:"clocks"`
			Warnings []string        `json:"clock_warnings"`
			Report   verdict.Report  `json:"report"`
		}{Verified: g.Verified(), Tainted: g.Tainted, Clocks: g.Clocks, Warnings: g.ClockNotes(), Report: g.Report}
		for _, l := range g.Logs {
			out.Logs = append(out.Logs, map[string]any{"source": l.Source, "node": l.Node, "verified": l.Verified(),
				"failure": l.Verify.Failure, "missing_seconds": l.Verify.Seconds.Missing, "claims": l.Claims})
		}
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Println(string(b))
		return nil
	}
	printVerdict(g)
	return nil
}

func printVerdict(g *verdict.Gathered) {
	clock := func(t int64) string { return time.Unix(t, 0).UTC().Format("15:04:05") }
	for _, n := range g.ClockNotes() {
		fmt.Printf("WARNING: %s\n", n)
	}
	for _, l := range g.Logs {
		state := "verified"
		if !l.Verified() {
			state = fmt.Sprintf("DOES NOT VERIFY (%v): the entries from %d on are marked", l.Verify.Failure, l.BadFrom)
		}
		fmt.Printf("log %s (%s): %d seconds, %d missing; %s\n", l.Node, l.Source, len(l.Entries), l.Verify.Seconds.Missing, state)
	}
	if len(g.Clocks) > 1 {
		for _, c := range g.Clocks {
			fmt.Printf("clock %s: %s\n", c.Node, clockLine(c))
		}
	}
	r := g.Report
	if r.Seconds == 0 {
		fmt.Println("\nno per-second records in that span")
		return
	}
	fmt.Printf("\nverdict: %s (%s to %s UTC, %d s)\n", r.Verdict, time.Unix(r.From, 0).UTC().Format("2006-01-02 15:04:05"), clock(r.To), r.Seconds)
	for _, gp := range r.Gaps {
		fmt.Printf("  missing from every log: %s to %s\n", clock(gp[0]), clock(gp[1]))
	}
	for _, w := range r.Windows {
		fmt.Printf("\n%s %s–%s, onset %s, confidence %.0f%%\n  %s\n", w.Class, clock(w.From), clock(w.To), clock(w.Onset), w.Confidence*100, w.Summary)
		for _, e := range w.Evidence {
			if e.Held == 0 {
				continue
			}
			refs := make([]string, 0, 3)
			for _, ref := range e.Refs[:min(3, len(e.Refs))] {
				refs = append(refs, fmt.Sprintf("%s#%d", ref.Node, ref.Index))
			}
			fmt.Printf("  %-20s %-8s held %3d of %3d s (%s; median %g) from %s; entries %s\n", e.Signal, e.Says, e.Held, e.Judged,
				e.Threshold, e.Median, clock(e.First), strings.Join(refs, " "))
		}
	}
	for _, l := range g.Logs {
		for _, c := range l.Claims {
			fmt.Printf("\nclaim in %s: %s", l.Node, c.Text)
			if b := c.Beside(g.Seconds); b != "" {
				fmt.Printf("\n  beside it, %s", b)
			}
		}
	}
	fmt.Println()
}

// clockLine says a node's skew and how it was found, in a line.
func clockLine(c verdict.Clock) string {
	switch {
	case !c.Known:
		return c.How + "; merged by its own clock"
	case c.Node == c.Reference:
		return "the reference clock"
	}
	return fmt.Sprintf("%+.3f s ± %.3f s against %s (moved %+d s), from %s", c.SkewMS/1000, c.BoundMS/1000, c.Reference, -c.ShiftS, c.How)
}

func runReceiptsReport(fs *flag.FlagSet, args []string) error {
	var q verdict.Query
	var keys listFlag
	var from, to, out, title string
	verdictFlags(fs, &q, &keys, &from, &to)
	fs.StringVar(&out, "out", "", "the HTML file to write (required)")
	fs.StringVar(&title, "title", "onair receipts report", "the page's title")
	g, err := gatherFromFlags(fs, args, &q, keys, &from, &to)
	if err != nil {
		return err
	}
	if out == "" {
		return usagef("--out FILE is required")
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := report.Write(f, report.FromGathered(g, title)); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("wrote %s: verdict %s over %d s, %d incident window(s); logs verified: %v\n", out, g.Report.Verdict, g.Report.Seconds, len(g.Report.Windows), g.Verified())
	return nil
}
