package plan

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Sizes of what the bus carries, from the code: a program frame is a
// 34-byte header and a 20 ms Opus packet (about 80 bytes at 32 kb/s); a
// node's load report is a signed JSON object of about 400 bytes.
const (
	frameBytes   = 114
	reportBytes  = 400
	framesPerSec = 50
)

// addOrigin: one active origin and a standby; the active one keeps every
// space's waiting line, so a surge's joins are drawn there.
func (p *Plan) addOrigin() {
	f, node, in := p.Figures, p.Input.Node, p.Input
	rate, arriving := in.JoinRate, "the surge's arrivals"
	if rate <= 0 {
		rate, arriving = float64(in.Listeners)/60, "no --surge: the listeners arriving over a minute"
	}
	base := f.Get("origin_cores")*float64(in.Spaces) + float64(p.JoinEdges)*f.Get("bus_edge_cores")
	cpu := (node.Cores*node.Headroom - base) * 1e6 / f.Get("draw_us")
	flat := "flat: the origin holds no listener and sends each frame once, to NATS"
	t := Tier{Name: "origins", Nodes: 1, Standby: 1, Load: rate, Unit: "joins/s", Limits: []Limit{
		{"CPU", floor0(math.Min(cpu, f.Get("draws_max"))), fmt.Sprintf(
			"(%s cores × %s - %s for %d show(s) - %d edges × %s) × 1e6 / %s µs per draw = %s draws/s; the keeper measured %s/s: %s",
			g(node.Cores), pct(node.Headroom), g(f.Get("origin_cores")), in.Spaces, p.JoinEdges, g(f.Get("bus_edge_cores")),
			g(f.Get("draw_us")), count(cpu), count(f.Get("draws_max")), count(math.Min(cpu, f.Get("draws_max"))))},
		{"memory", math.Inf(1), flat}, {"open files", math.Inf(1), flat}, {"NIC", math.Inf(1), flat}}}
	t.Binding, t.PerNode = binding(t.Limits)
	t.Why = fmt.Sprintf("1 active (it keeps the waiting lines) and 1 standby; the joins to draw (%s): %s/s against %s/s it draws",
		arriving, count(rate), count(t.PerNode))
	if rate > t.PerNode {
		t.Why += ": more than one origin draws, so joins wait (an edge that cannot reach the keeper in 200 ms admits from a line of its own)"
	}
	if in.Regions > 1 {
		t.Why += "; run the standby in another region"
	}
	t.MemGiB = 2 * f.Get("edge_base_mib") / 1024
	p.Tiers = append(p.Tiers, t)
	per := math.Min(float64(p.JoinEdges)*p.edgeAdmit(), t.PerNode)
	p.AdmitRate = per
	p.AdmitWhy = fmt.Sprintf("%d edges × %s joins/s each (the least of --admit-rate-max %s and %s cores × %s × 1e6 / %s µs per join), "+
		"at most the origin's %s draws/s = %s joins/s", p.JoinEdges, count(p.edgeAdmit()), count(in.AdmitMax), g(node.Cores),
		pct(node.Headroom), g(f.Get("join_us")), count(t.PerNode), count(per))
}

// edgeAdmit is the joins a second one edge admits at most.
func (p *Plan) edgeAdmit() float64 {
	node := p.Input.Node
	return math.Floor(math.Min(p.Input.AdmitMax, node.Cores*node.Headroom*1e6/p.Figures.Get("join_us")))
}

// addNATS: a 3-server cluster per region (JetStream KV needs 3 for R3),
// more servers when the messages, connections or bytes need them.
func (p *Plan) addNATS() {
	f, node, in := p.Figures, p.Input.Node, p.Input
	edges := float64(p.JoinEdges)
	perRegion := math.Ceil(edges / float64(in.Regions))
	program := float64(in.Spaces) * framesPerSec * (perRegion + float64(in.Regions-1))
	reports := edges * perRegion // every edge follows every edge's load report
	msgs := program + reports
	h := node.Headroom
	cpu := node.Cores * h * 1e6 / f.Get("nats_msg_us")
	conns := f.Get("fd_cap") * h
	avgBytes := (program*frameBytes + reports*reportBytes) / math.Max(msgs, 1)
	nic := node.NICGbit * 1e9 / 8 * h / avgBytes
	t := Tier{Name: "NATS servers", Load: msgs, Unit: "messages/s per region", Limits: []Limit{
		{"CPU", floor0(cpu), fmt.Sprintf("%s cores × %s × 1e6 / %s µs per message delivered = %s messages/s",
			g(node.Cores), pct(h), g(f.Get("nats_msg_us")), count(cpu))},
		{"memory", math.Inf(1), "core NATS keeps no backlog per subscriber here; the KV buckets are small"},
		{"open files", floor0(conns / math.Max(perRegion+2, 1) * msgs), fmt.Sprintf(
			"%s files × %s = %s connections per server, for %s edges and 2 origins in a region",
			count(f.Get("fd_cap")), pct(h), count(conns), count(perRegion))},
		{"NIC", floor0(nic), fmt.Sprintf("%s Gbit/s × %s / (%s B per message × 8) = %s messages/s",
			g(node.NICGbit), pct(h), count(avgBytes), count(nic))}}}
	t.Binding, t.PerNode = binding(t.Limits)
	per := max(3, ceilDiv(msgs, t.PerNode))
	t.Nodes = per * in.Regions
	t.Why = fmt.Sprintf("%s program frames/s (%d show(s) × 50 × %s edges) + %s load reports/s (%s edges × %s each follows) = %s messages/s per region: %d servers per region",
		count(program), in.Spaces, count(perRegion), count(reports), count(edges), count(perRegion), count(msgs), per)
	switch {
	case in.Regions > 1:
		t.Why += fmt.Sprintf("; %d regions: a supercluster, one cluster per region joined by gateways (the program crosses once per region), "+
			"JetStream KV in the origin's region; or each region's edges on leaf nodes of the origin's cluster", in.Regions)
	case per > 3:
		t.Why += "; or keep 3 and put the edges on leaf nodes"
	}
	t.EgressGbit = msgs * avgBytes * 8 / 1e9 * float64(in.Regions)
	p.Tiers = append(p.Tiers, t)
}

func (p *Plan) total() {
	for _, t := range p.Tiers {
		p.Totals.Nodes += t.Nodes + t.Standby
		p.Totals.MemGiB += t.MemGiB
		p.Totals.OpenFiles += t.OpenFiles
		if strings.HasPrefix(t.Name, "edges") {
			p.Totals.BandwidthGbit += t.EgressGbit
		}
	}
	p.Totals.BandwidthGbit += p.CDN.EgressGbit
}

// ParseMix reads "hls=0.85,ll-hls=0.1,ogg=0.04,whep=0.01".
func ParseMix(s string) (map[string]float64, error) {
	mix := map[string]float64{}
	for _, part := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("mix %q: want protocol=share pairs, comma-separated (e.g. hls=0.85,ogg=0.15)", part)
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("mix %s=%s: want a share from 0 to 1", name, val)
		}
		if _, dup := mix[name]; dup {
			return nil, fmt.Errorf("mix: %s given twice", name)
		}
		mix[name] = v
	}
	return mix, checkMix(mix)
}

func checkMix(mix map[string]float64) error {
	sum := 0.0
	names := make([]string, 0, len(mix))
	for name, v := range mix {
		names = append(names, name)
		sum += v
	}
	sort.Strings(names)
	for _, name := range names {
		if !known(name) {
			return fmt.Errorf("mix: unknown protocol %q (want %s)", name, strings.Join(Protocols, ", "))
		}
	}
	if math.Abs(sum-1) > 0.001 {
		return fmt.Errorf("mix: the shares sum to %g, want 1", sum)
	}
	return nil
}

func known(p string) bool {
	for _, q := range Protocols {
		if p == q {
			return true
		}
	}
	return false
}
