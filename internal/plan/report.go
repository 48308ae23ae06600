package plan

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Report is everything one onair plan run answers.
type Report struct {
	Plan     *Plan        `json:"plan,omitempty"`
	Capacity *Capacity    `json:"what_if,omitempty"`
	Surge    *SurgeReport `json:"surge,omitempty"`
	Claims   *ClaimCheck  `json:"claims,omitempty"`
	Figures  Figures      `json:"figures"`
	Read     []string     `json:"figures_read,omitempty"` // what --figures read and skipped
	Unknowns []string     `json:"cannot_know"`
}

// MarshalJSON writes a limit that is none here (+Inf) as null.
func (l Limit) MarshalJSON() ([]byte, error) {
	var per any = l.PerNode
	if math.IsInf(l.PerNode, 0) || math.IsNaN(l.PerNode) {
		per = nil
	}
	return json.Marshal(struct {
		Name       string `json:"name"`
		PerNode    any    `json:"per_node"`
		Arithmetic string `json:"arithmetic"`
	}{l.Name, per, l.Arithmetic})
}

// CannotKnow says in plain words what the figures do not cover.
func CannotKnow(f Figures, surgeSimulated bool) []string {
	out := []string{
		"Every measured figure comes from one 2-core machine shared with other work, over loopback, without TLS: " +
			"a real network adds TLS handshakes and per-packet costs loopback does not have, and other machines run faster or slower.",
		"Nothing here was measured past 3 edges or 55,000 listeners at once: a plan for millions multiplies per-node figures, " +
			"assuming edges do not slow each other (they share nothing but NATS, whose own cost is estimated).",
		"A CDN's behaviour (its hit ratio, how it collapses requests, its price) is not onair's to measure.",
		"Listeners' own networks (mobile, lossy, far away) are not modelled: a slow listener costs an edge more than a loopback one.",
	}
	if !surgeSimulated {
		out = append(out, "The surge's figures are the closed form only: the simulator (internal/surge) is not in this build.")
	}
	for _, e := range f.Extrapolated() {
		out = append(out, "Extrapolated, not measured: "+e)
	}
	return out
}

// Build runs a whole plan: the deployment (or the what-if), its surge and
// botnet, and what it cannot know.
func Build(in Input, f Figures, whatIfEdges int, colocated bool, s *Surge, b *Botnet, warm time.Duration) (*Report, error) {
	r := &Report{Figures: f}
	var gt Gate
	if whatIfEdges > 0 {
		c, err := WhatIf(in, whatIfEdges, colocated, f)
		if err != nil {
			return nil, err
		}
		r.Capacity = c
		_, w := directShare(in.Mix, f)
		per := int(math.Ceil(c.Listeners / float64(whatIfEdges)))
		gt = Gate{Edges: whatIfEdges, CapacityPerEdge: per, AdmitRateMax: c.AdmitRate / float64(whatIfEdges),
			Cores: in.Node.Cores, ListenerUS: w.cpu}
		if colocated {
			// bench/cluster's edges have no --capacity, and each gate reads
			// its own process's CPU against the whole machine's cores.
			gt.CapacityPerEdge = 0
		}
	} else {
		if s != nil {
			in.JoinRate = float64(s.N) / math.Max(s.Over.Seconds(), 1)
		}
		p, err := Make(in, f)
		if err != nil {
			return nil, err
		}
		r.Plan = p
		_, w := directShare(in.Mix, f)
		gt = Gate{Edges: p.JoinEdges, AdmitRateMax: p.AdmitRate / math.Max(float64(p.JoinEdges), 1),
			Cores: in.Node.Cores, ListenerUS: w.cpu}
		gt.CapacityPerEdge = int(math.Ceil(float64(in.Listeners) / math.Max(float64(p.JoinEdges), 1) / in.Node.Headroom))
	}
	gt.Warm = warm
	simulated := false
	if s != nil {
		sr, err := RunSurge(gt, f, *s, b)
		if err != nil && err != ErrNoSimulator {
			return nil, err
		}
		r.Surge, simulated = sr, sr.Simulated
	}
	r.Unknowns = CannotKnow(f, simulated || s == nil)
	return r, nil
}

// Check the arithmetic of a figure set: every figure the plan divides by
// must be positive.
func (f Figures) Check() error {
	for _, n := range f.Sorted() {
		v := f[n].Value
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || (v == 0 && n != "bus_edge_cores") {
			return fmt.Errorf("figure %s = %g: want a positive number", n, v)
		}
	}
	if h := f["cdn_hit"].Value; h >= 1 {
		return fmt.Errorf("figure cdn_hit = %g: want a share below 1", h)
	}
	return nil
}
