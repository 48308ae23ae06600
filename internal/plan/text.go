package plan

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// WriteText prints the report for a reader: tables, then the arithmetic.
func (r *Report) WriteText(w io.Writer) {
	if r.Plan != nil {
		r.Plan.writeText(w)
	}
	if c := r.Capacity; c != nil {
		c.writeText(w)
	}
	if s := r.Surge; s != nil {
		s.writeText(w)
	}
	if c := r.Claims; c != nil {
		c.writeText(w)
	}
	fmt.Fprintln(w, "\nFIGURES (value, unit, where it comes from)")
	for _, n := range r.Figures.Sorted() {
		f := r.Figures[n]
		fmt.Fprintf(w, "  %-20s %10s %-18s %s\n", n, g(f.Value), f.Unit, f.Source)
	}
	if len(r.Read) > 0 {
		fmt.Fprintln(w, "\n--figures read:")
		for _, n := range r.Read {
			fmt.Fprintln(w, "  "+n)
		}
	}
	fmt.Fprintln(w, "\nWHAT THIS PLAN CANNOT KNOW")
	for _, u := range r.Unknowns {
		fmt.Fprintln(w, "  - "+u)
	}
}

func mixString(mix map[string]float64) string {
	var parts []string
	for _, p := range Protocols {
		if mix[p] > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", p, pct(mix[p])))
		}
	}
	return strings.Join(parts, ", ")
}

func nodeString(n Node) string {
	return fmt.Sprintf("nodes of %s cores, %s GiB, %s Gbit/s at %s headroom", g(n.Cores), g(n.MemGiB), g(n.NICGbit), pct(n.Headroom))
}

func (p *Plan) writeText(w io.Writer) {
	in := p.Input
	fmt.Fprintf(w, "onair plan: %s listeners (%s), %s, %d region(s), %d show(s) at once\n\n",
		count(float64(in.Listeners)), mixString(in.Mix), nodeString(in.Node), in.Regions, in.Spaces)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tier\tnodes\tload\tper node\tbinds first\tegress Gbit/s\tmemory GiB\topen files\t")
	for _, t := range p.Tiers {
		nodes := fmt.Sprint(t.Nodes)
		if t.Standby > 0 {
			nodes = fmt.Sprintf("%d + %d standby", t.Nodes, t.Standby)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%s\t%.1f\t%.1f\t%s\t\n", t.Name, nodes, count(t.Load), t.Unit, count(t.PerNode),
			t.Binding, t.EgressGbit, t.MemGiB, count(t.OpenFiles))
	}
	tw.Flush()
	c := p.CDN
	if c.Players > 0 {
		fmt.Fprintf(w, "\nCDN: %s HLS players, egress %.1f Gbit/s, %s requests/s; origin shields get %s requests/s, onair %s requests/s\n",
			count(c.Players), c.EgressGbit, count(c.RequestsPerS), count(c.ShieldRequestsPS), count(c.OnairRequestsPS))
	}
	t := p.Totals
	fmt.Fprintf(w, "TOTAL: %d nodes, %.1f Gbit/s to listeners (CDN included), %.1f GiB of memory, %s open files\n",
		t.Nodes, t.BandwidthGbit, t.MemGiB, count(t.OpenFiles))
	fmt.Fprintf(w, "ADMISSION: %s\n", p.AdmitWhy)
	fmt.Fprintln(w, "\nTHE ARITHMETIC (each limit at the headroom; the smallest binds)")
	for _, t := range p.Tiers {
		fmt.Fprintf(w, "  %s: %s\n", t.Name, t.Why)
		writeLimits(w, t.Limits, t.Binding)
	}
}

func writeLimits(w io.Writer, ls []Limit, bind string) {
	for _, l := range ls {
		mark := ""
		if l.Name == bind {
			mark = "   <- binds first"
		}
		fmt.Fprintf(w, "    %-10s %s%s\n", l.Name, l.Arithmetic, mark)
	}
}

func (c *Capacity) writeText(w io.Writer) {
	where := fmt.Sprintf("%d edge(s)", c.Edges)
	if c.Colocated {
		where += ", the origin, one NATS server and the load generator all on one machine"
	}
	fmt.Fprintf(w, "onair plan, what if: %s\n\n", where)
	fmt.Fprintf(w, "LISTENERS HELD: %s (%s binds first)\n  %s\n", count(c.Listeners), c.Binding, c.Why)
	writeLimits(w, c.Limits, c.Binding)
	fmt.Fprintf(w, "ADMISSION: %s\n", c.AdmitWhy)
	fmt.Fprintf(w, "  the whole audience arriving at once is in after %.0f s at that rate\n", c.FullHouseS)
}

func (s *SurgeReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "\nSURGE: %s arrivals over %s through %d edges (each admits at most %s/s", count(float64(s.Surge.N)),
		s.Surge.Over, s.Gate.Edges, count(s.Gate.AdmitRateMax))
	if s.Gate.CapacityPerEdge > 0 {
		fmt.Fprintf(w, ", holds %s", count(float64(s.Gate.CapacityPerEdge)))
	}
	fmt.Fprintln(w, ")")
	fmt.Fprintf(w, "  closed form: %s\n", s.ClosedForm)
	if !s.Simulated {
		fmt.Fprintf(w, "  simulated: not in this build (%v)\n", ErrNoSimulator)
		return
	}
	t := s.TimeToAdmit
	fmt.Fprintf(w, "  simulated: time to admit p50 %s, p95 %s, p99 %s, max %s\n", dur(t.P50), dur(t.P95), dur(t.P99), dur(t.Max))
	fmt.Fprintf(w, "  longest line %s at %s; %s waited more than a minute; admitted %s, refused %s, still waiting %s\n",
		count(float64(s.LongestLine)), dur(s.LongestLineAtS), count(float64(s.WaitedOverMinute)),
		count(float64(s.Admitted)), count(float64(s.Refused)), count(float64(s.StillWaiting)))
	if s.AllAdmittedAtS >= 0 {
		fmt.Fprintf(w, "  everyone in at %s\n", dur(s.AllAdmittedAtS))
	} else {
		fmt.Fprintln(w, "  not everyone got in")
	}
	if b := s.Bots; b != nil {
		pow := "not solving"
		if s.Botnet.PoW {
			pow = "solving"
		}
		fmt.Fprintf(w, "  BOTNET: %s bots at %g joins/s each, %s proofs of work: %s requests, %s let in; rejecting them cost each edge %.1f CPU-seconds (%.2f cores at the peak)\n",
			count(float64(s.Botnet.N)), s.Botnet.Rate, pow, count(float64(b.Requests)), count(float64(b.Admitted)), b.RejectCPUSeconds, b.RejectCoresPeak)
		bt := b.TimeToAdmit
		fmt.Fprintf(w, "  the crowd beside it: time to admit p50 %s, p95 %s, p99 %s, max %s; longest line %s; %s waited more than a minute; %s still waiting\n",
			dur(bt.P50), dur(bt.P95), dur(bt.P99), dur(bt.Max), count(float64(b.LongestLine)), count(float64(b.WaitedOverMinute)), count(float64(b.StillWaiting)))
		verdict := "NOT bounded"
		if b.Bounded {
			verdict = "bounded"
		}
		fmt.Fprintf(w, "  legit time to admit %s: %s\n", verdict, b.Why)
	}
}

func dur(s float64) string {
	switch {
	case s < 0:
		return "never"
	case s < 1:
		return fmt.Sprintf("%.0f ms", s*1000)
	case s < 120:
		return fmt.Sprintf("%.1f s", s)
	}
	return fmt.Sprintf("%.0f min %02.0f s", math.Floor(s/60), math.Mod(s, 60))
}

func (c *ClaimCheck) writeText(w io.Writer) {
	fmt.Fprintf(w, "\nCLAIM %q: the measured runs behind each figure\n", c.Claim)
	for _, l := range c.Logs {
		state := "verified"
		if !l.Verified {
			state = "DOES NOT VERIFY: " + l.Failure
		}
		fmt.Fprintf(w, "  log %s: %s, %d claim(s)\n", l.Source, state, l.Claims)
	}
	for _, f := range c.Figures {
		fmt.Fprintf(w, "  %s = %s %s\n", f.Figure, g(f.Value), f.Unit)
		if f.Note != "" {
			fmt.Fprintf(w, "      %s\n", f.Note)
		}
		for _, e := range f.Entries {
			v := "verified"
			if !e.Verified {
				v = "NOT verified: " + e.Why
			}
			fmt.Fprintf(w, "      entry %d of %s, key %s: %s (%s)\n", e.Index, e.Log, e.Key, e.Summary, v)
		}
	}
}
