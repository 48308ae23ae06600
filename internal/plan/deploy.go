package plan

import (
	"errors"
	"fmt"
	"math"
)

// Input is what the deployment is for, and the machines it is made of.
type Input struct {
	Listeners int                `json:"listeners"`
	Mix       map[string]float64 `json:"mix"` // share of listeners by protocol, summing to 1
	Node      Node               `json:"node"`
	Regions   int                `json:"regions"`
	Spaces    int                `json:"spaces"`         // live shows at once
	AdmitMax  float64            `json:"admit_rate_max"` // the edges' --admit-rate-max
	// JoinRate is the peak joins a second the origin must draw (a surge's
	// arrival rate); 0: the listeners arriving over a minute.
	JoinRate float64 `json:"join_rate"`
}

// Tier is one kind of node: how many, what each carries, and the limit
// each reaches first.
type Tier struct {
	Name    string  `json:"name"`
	Nodes   int     `json:"nodes"`
	Standby int     `json:"standby,omitempty"`
	Load    float64 `json:"load"` // in Unit, over the whole tier
	Unit    string  `json:"unit"`
	PerNode float64 `json:"per_node"` // capacity of one node, in Unit
	Limits  []Limit `json:"limits"`
	Binding string  `json:"binding"` // the limit reached first
	Why     string  `json:"why"`     // the tier's own arithmetic: load / per node
	// Egress, memory and open files of the whole tier at its load.
	EgressGbit float64 `json:"egress_gbit"`
	MemGiB     float64 `json:"mem_gib"`
	OpenFiles  float64 `json:"open_files"`
}

// CDN is what the CDN in front of the HLS shields carries.
type CDN struct {
	Players          float64 `json:"players"`
	EgressGbit       float64 `json:"egress_gbit"`
	RequestsPerS     float64 `json:"requests_per_s"`
	ShieldRequestsPS float64 `json:"origin_shield_requests_per_s"`
	OnairRequestsPS  float64 `json:"onair_requests_per_s"`
}

// Plan is a deployment and its arithmetic.
type Plan struct {
	Input     Input   `json:"input"`
	Tiers     []Tier  `json:"tiers"`
	CDN       CDN     `json:"cdn"`
	JoinEdges int     `json:"join_edges"` // the onair edges that answer joins
	AdmitRate float64 `json:"admit_rate"` // joins a second all of them admit at most
	AdmitWhy  string  `json:"admit_why"`
	Totals    Totals  `json:"totals"`
	Figures   Figures `json:"figures"`
}

// Totals sum the tiers (and the CDN's egress).
type Totals struct {
	Nodes         int     `json:"nodes"`
	BandwidthGbit float64 `json:"bandwidth_gbit"` // everything sent to listeners, CDN included
	MemGiB        float64 `json:"mem_gib"`
	OpenFiles     float64 `json:"open_files"`
}

// Check says what is wrong with an input, if anything.
func (in Input) Check() error {
	var errs []error
	if in.Listeners < 0 {
		errs = append(errs, fmt.Errorf("listeners %d: want 0 or more", in.Listeners))
	}
	if h := in.Node.Headroom; !(h > 0 && h <= 1) {
		errs = append(errs, fmt.Errorf("headroom %g: want a share of each resource above 0 and at most 1 (0.7: 70%%)", h))
	}
	for name, v := range map[string]float64{"cores": in.Node.Cores, "mem": in.Node.MemGiB, "nic": in.Node.NICGbit} {
		if !(v > 0) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Errorf("%s %g: want a positive number", name, v))
		}
	}
	if in.Regions < 1 || in.Spaces < 1 {
		errs = append(errs, fmt.Errorf("regions %d, spaces %d: want 1 or more", in.Regions, in.Spaces))
	}
	if err := checkMix(in.Mix); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Make lays out the deployment for in with figures f.
func Make(in Input, f Figures) (*Plan, error) {
	if err := in.Check(); err != nil {
		return nil, err
	}
	p := &Plan{Input: in, Figures: f}
	n := float64(in.Listeners)
	for _, proto := range Protocols {
		if share := in.Mix[proto]; share > 0 && direct(proto) {
			p.addEdges(proto, n*share)
		}
	}
	p.addHLS(n)
	p.addOrigin()
	p.addNATS()
	p.total()
	return p, nil
}

func (p *Plan) add(t Tier) {
	t.Binding, t.PerNode = binding(t.Limits)
	t.Nodes = max(t.Nodes, ceilDiv(t.Load, t.PerNode))
	p.Tiers = append(p.Tiers, t)
}

// addEdges: onair edges holding listeners of a direct protocol.
func (p *Plan) addEdges(proto string, listeners float64) {
	f, node := p.Figures, p.Input.Node
	t := Tier{Name: "edges (" + proto + ")", Load: listeners, Unit: "listeners", Limits: listenerLimits(f, node, proto)}
	p.add(t)
	t = p.Tiers[len(p.Tiers)-1]
	t.Why = fmt.Sprintf("%s listeners / %s per edge (%s binds) = %d edges", count(listeners), count(t.PerNode), t.Binding, t.Nodes)
	if t.Binding == "open files" {
		name, next := nextLimit(t.Limits, t.Binding)
		t.Why += fmt.Sprintf("; the cap is a setting: raised (--fd-cap, ulimit -n), %s binds next at %s per edge", name, count(next))
	}
	t.EgressGbit = listeners * f.Get("bytes."+proto) * 8 / 1e9
	t.MemGiB = (float64(t.Nodes)*f.Get("edge_base_mib")*1024 + listeners*f.Get("rss."+proto)) / (1024 * 1024)
	t.OpenFiles = listeners * f.Get("files."+proto)
	p.Tiers[len(p.Tiers)-1] = t
	p.JoinEdges += t.Nodes
}

// addHLS: HLS players on a CDN, the origin shields (nginx) behind it, and
// the onair edges behind those, which see a few requests per part.
func (p *Plan) addHLS(n float64) {
	f, node := p.Figures, p.Input.Node
	hit := f.Get("cdn_hit")
	shieldNodes, onairReq := 0, 0.0
	for _, proto := range []string{"hls", "ll-hls"} {
		players := n * p.Input.Mix[proto]
		if players <= 0 {
			continue
		}
		req := players * f.Get("requests."+proto)
		p.CDN.Players += players
		p.CDN.EgressGbit += players * f.Get("bytes."+proto) * 8 / 1e9
		p.CDN.RequestsPerS += req
		shieldReq := req * (1 - hit)
		p.CDN.ShieldRequestsPS += shieldReq
		t := Tier{Name: "origin shields (" + proto + ")", Load: shieldReq, Unit: "requests/s", Nodes: 2,
			Limits: shieldLimits(f, node, proto)}
		p.add(t)
		t = p.Tiers[len(p.Tiers)-1]
		t.Why = fmt.Sprintf("%s players × %s requests/s × (1 - %s CDN hit) = %s requests/s; / %s per shield = %d (2 at least, for failover)",
			count(players), g(f.Get("requests."+proto)), g(hit), count(shieldReq), count(t.PerNode), t.Nodes)
		t.EgressGbit = shieldReq * f.Get("bytes."+proto) / f.Get("requests."+proto) * 8 / 1e9
		p.Tiers[len(p.Tiers)-1] = t
		shieldNodes += t.Nodes
		onairReq += float64(t.Nodes) * 5 * f.Get("shield_reach."+proto) // 5 parts a second
	}
	if shieldNodes == 0 {
		return
	}
	p.CDN.OnairRequestsPS = onairReq
	per := (node.Cores*node.Headroom - f.Get("edge_idle_cores")) * 1e6 / f.Get("onair_request_us")
	notHere := "the shields hold the connections; onair sees a few requests per part"
	t := Tier{Name: "edges (hls, behind the shields)", Load: onairReq, Unit: "requests/s", Nodes: 2, Limits: []Limit{
		{"CPU", floor0(per), fmt.Sprintf("(%s cores × %s - %s idle) × 1e6 / %s µs per request = %s requests/s",
			g(node.Cores), pct(node.Headroom), g(f.Get("edge_idle_cores")), g(f.Get("onair_request_us")), count(per))},
		{"memory", math.Inf(1), notHere}, {"open files", math.Inf(1), notHere}, {"NIC", math.Inf(1), notHere}}}
	p.add(t)
	t = p.Tiers[len(p.Tiers)-1]
	t.Why = fmt.Sprintf("%d shields × 5 parts/s × the requests reaching onair per part = %s requests/s: 2 edges (failover), %s each at most",
		shieldNodes, count(onairReq), count(t.PerNode))
	t.MemGiB = float64(t.Nodes) * f.Get("edge_base_mib") / 1024
	p.Tiers[len(p.Tiers)-1] = t
	p.JoinEdges += t.Nodes
}

// nextLimit is the smallest limit other than the binding one.
func nextLimit(ls []Limit, bind string) (string, float64) {
	var rest []Limit
	for _, l := range ls {
		if l.Name != bind {
			rest = append(rest, l)
		}
	}
	return binding(rest)
}
