package load

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// writeFailover writes how listeners came back from lost streams.
func (rep *Report) writeFailover(w io.Writer) {
	f := rep.Failover
	switch {
	case f.Lost == 0 && f.Attempts == 0:
		return
	case !f.Reconnect:
		fmt.Fprintf(w, "failover    %d streams lost, not re-joined (--no-reconnect)\n", f.Lost)
		return
	}
	g := rep.Metrics["failover_gap_ms"]
	fmt.Fprintf(w, "failover    %d streams lost, %d back on air (gap p50 %s, p99 %s, max %s); %d re-joins tried, %d failed; %d listeners gave up\n",
		f.Lost, f.Reconnects, fmtValue(g.P50, "ms"), fmtValue(g.P99, "ms"), fmtValue(g.Max, "ms"), f.Attempts, f.FailedAttempts, f.GaveUp)
	fmt.Fprintf(w, "            the gap is not a stall by itself: %d of the stalls above were failovers that ran the player's buffer dry for more than %s",
		f.Stalls, rep.Config.StallThreshold)
	if f.MissedS > 0 {
		fmt.Fprintf(w, "; %.1f s of audio no edge delivered", f.MissedS)
	}
	if f.RepeatedS > 0 {
		fmt.Fprintf(w, "; %.1f s repeated by the new edges' bursts (not counted again)", f.RepeatedS)
	}
	fmt.Fprintln(w)
}

// writeEdges writes the per-edge table, when listeners met more than one
// edge or lost a stream.
func (rep *Report) writeEdges(w io.Writer) {
	if len(rep.Edges) < 2 && rep.Failover.Lost == 0 {
		return
	}
	fmt.Fprintln(w, "\nby edge (the host:port listeners streamed from; a listener that failed over counts on each)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "edge\tlisteners\tpeak\tstayed to the end\ttraffic\tlistener-s\tstalls\tstalled\tlost\treconnects in\t")
	for _, e := range rep.Edges {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%.0f\t%d\t%.1fs\t%d\t%d\t\n", e.Edge, e.Listeners, e.PeakConnected, e.Completed,
			fmtBytes(float64(e.Bytes)), e.ListenerSeconds, e.Stalls, e.StalledS, e.Lost, e.Reconnects)
	}
	tw.Flush()
}
