package plan

import (
	"errors"
	"fmt"
	"math"
)

// Capacity answers the other way round: what a given number of edges holds.
type Capacity struct {
	Edges int `json:"edges"`
	// Colocated: every process (origin, NATS, the edges and the load
	// generator) shares one machine of Input.Node: this machine's bench.
	Colocated bool    `json:"colocated"`
	Listeners float64 `json:"listeners"` // the whole mix, HLS included
	Limits    []Limit `json:"limits"`    // per edge (or, colocated, for the machine), in listeners of the mix
	Binding   string  `json:"binding"`
	Why       string  `json:"why"`
	AdmitRate float64 `json:"admit_rate"`
	AdmitWhy  string  `json:"admit_why"`
	// FullHouseS is how long the whole audience, arriving at once, takes to
	// be admitted at AdmitRate.
	FullHouseS float64 `json:"full_house_s"`
}

// WhatIf is the listeners that edges hold of in's mix (in.Listeners is
// ignored); HLS players ride the CDN, so only the mix's Ogg and WHEP share
// counts against the edges.
func WhatIf(in Input, edges int, colocated bool, f Figures) (*Capacity, error) {
	in.Listeners = 0
	if err := in.Check(); err != nil {
		return nil, err
	}
	if edges < 1 {
		return nil, fmt.Errorf("edges %d: want 1 or more", edges)
	}
	share, w := directShare(in.Mix, f)
	if share == 0 {
		return nil, errors.New("the mix has no Ogg or WHEP listeners: edges hold none (HLS rides the CDN); give --mix with ogg or whep")
	}
	c := &Capacity{Edges: edges, Colocated: colocated}
	if colocated {
		c.Limits = machineLimits(f, in, edges, w)
	} else {
		c.Limits = mixLimits(f, in.Node, w)
	}
	var perNode float64
	c.Binding, perNode = binding(c.Limits)
	direct := perNode
	if !colocated {
		direct *= float64(edges)
	}
	c.Listeners = math.Floor(direct / share)
	c.Why = fmt.Sprintf("%s direct listeners (%s binds) / %s of the mix on edges = %s listeners", count(direct), c.Binding,
		pct(share), count(c.Listeners))
	p := &Plan{Input: in, Figures: f, JoinEdges: edges}
	p.addOrigin()
	c.AdmitRate, c.AdmitWhy = p.AdmitRate, p.AdmitWhy
	if c.AdmitRate > 0 {
		c.FullHouseS = c.Listeners / c.AdmitRate
	}
	return c, nil
}

// mixFigures are the direct protocols' figures averaged over their share
// of the mix: what one direct listener of the mix costs.
type mixFigures struct{ cpu, rss, files, bytes float64 }

func directShare(mix map[string]float64, f Figures) (float64, mixFigures) {
	var share float64
	var w mixFigures
	for _, p := range Protocols {
		if s := mix[p]; direct(p) && s > 0 {
			share += s
			w.cpu += s * f.Get("cpu."+p)
			w.rss += s * f.Get("rss."+p)
			w.files += s * f.Get("files."+p)
			w.bytes += s * f.Get("bytes."+p)
		}
	}
	if share > 0 {
		w.cpu, w.rss, w.files, w.bytes = w.cpu/share, w.rss/share, w.files/share, w.bytes/share
	}
	return share, w
}

// mixLimits are one edge's limits for a direct listener of the mix.
func mixLimits(f Figures, n Node, w mixFigures) []Limit {
	g := Figures{}.Merge(f)
	g["cpu.mix"], g["rss.mix"] = Figure{Value: w.cpu}, Figure{Value: w.rss}
	g["files.mix"], g["bytes.mix"] = Figure{Value: w.files}, Figure{Value: w.bytes}
	return listenerLimits(g, n, "mix")
}

// machineLimits: one machine runs the origin, one NATS server, the edges
// and the load generator, which shares the CPU with them.
func machineLimits(f Figures, in Input, edges int, w mixFigures) []Limit {
	n, h, e := in.Node, in.Node.Headroom, float64(edges)
	fixed := f.Get("origin_cores")*float64(in.Spaces) + e*f.Get("edge_idle_cores") +
		(framesPerSec*float64(in.Spaces)*e+e*e)*f.Get("nats_msg_us")/1e6
	perListener := w.cpu + f.Get("load_us")
	cpu := (n.Cores*h - fixed) * 1e6 / perListener
	mem := (n.MemGiB*h*1024 - (e+1)*f.Get("edge_base_mib")) * 1024 / w.rss
	fd := e * f.Get("fd_cap") * h / w.files
	nic := n.NICGbit * 1e9 / 8 * h / w.bytes
	return []Limit{
		{"CPU", floor0(cpu), fmt.Sprintf("(%s cores × %s - %s for the origin, NATS and %d idle edges) × 1e6 / "+
			"(%s µs per listener-second at the edge + %s at the load generator) = %s",
			g(n.Cores), pct(h), g(fixed), edges, g(w.cpu), g(f.Get("load_us")), count(cpu))},
		{"memory", floor0(mem), fmt.Sprintf("(%s GiB × %s - %d processes × %s MiB) / %s KiB per listener = %s",
			g(n.MemGiB), pct(h), edges+1, g(f.Get("edge_base_mib")), g(w.rss), count(mem))},
		{"open files", floor0(fd), fmt.Sprintf("%d edges × %s files × %s / %s per listener = %s",
			edges, count(f.Get("fd_cap")), pct(h), g(w.files), count(fd))},
		{"NIC", floor0(nic), fmt.Sprintf("%s Gbit/s × %s / (%s B/s × 8) = %s", g(n.NICGbit), pct(h), count(w.bytes), count(nic))},
	}
}
