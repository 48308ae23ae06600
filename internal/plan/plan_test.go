package plan

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func node(cores, mem, nic float64) Node {
	return Node{Cores: cores, MemGiB: mem, NICGbit: nic, Headroom: 0.7}
}

// TestEdgeBindingFlips: an Ogg edge's binding limit is the one whose
// capacity is smallest, and moving one resource across its threshold moves
// the binding to it. With the built-in figures the open-file cap (20,000 ×
// 70% = 14,000 listeners) binds a 16-core, 32 GiB, 10 Gbit/s edge; each
// threshold below is where that resource's capacity crosses 14,000.
func TestEdgeBindingFlips(t *testing.T) {
	f := Defaults()
	cpu, rss, bytes := f.Get("cpu.ogg"), f.Get("rss.ogg"), f.Get("bytes.ogg")
	idle, base := f.Get("edge_idle_cores"), f.Get("edge_base_mib")
	// Closed forms of each threshold: capacity == 14,000.
	cpuCores := (14000*cpu/1e6 + idle) / 0.7
	memGiB := (14000*rss/1024 + base) / 1024 / 0.7
	nicGbit := 14000 * bytes * 8 / 1e9 / 0.7
	for _, c := range []struct {
		name      string
		below     Node // just under the threshold: this resource binds
		above     Node // just over: the open files bind again
		wantBelow string
	}{
		{"CPU", node(cpuCores*0.98, 32, 10), node(cpuCores*1.02, 32, 10), "CPU"},
		{"memory", node(16, memGiB*0.98, 10), node(16, memGiB*1.02, 10), "memory"},
		{"NIC", node(16, 32, nicGbit*0.98), node(16, 32, nicGbit*1.02), "NIC"},
	} {
		b, per := binding(listenerLimits(f, c.below, "ogg"))
		if b != c.wantBelow || per >= 14000 || per < 13000 {
			t.Errorf("%s just below its threshold: %s binds at %.0f, want %s just under 14,000", c.name, b, per, c.wantBelow)
		}
		b, per = binding(listenerLimits(f, c.above, "ogg"))
		if b != "open files" || per != 14000 {
			t.Errorf("%s just above its threshold: %s binds at %.0f, want open files at 14,000", c.name, b, per)
		}
	}
	// And the open files bind only while the cap is what is smallest: a
	// larger cap hands the binding to the NIC (134,099 at 10 Gbit/s).
	g := f.Merge(Figures{"fd_cap": {Value: 1e6}})
	if b, per := binding(listenerLimits(g, node(16, 32, 10), "ogg")); b != "NIC" || math.Abs(per-134099) > 1 {
		t.Errorf("fd cap 1e6: %s binds at %.0f, want NIC at 134,099", b, per)
	}
}

// TestShieldAndNATSBindings: the other tiers' limits flip too.
func TestShieldAndNATSBindings(t *testing.T) {
	f := Defaults()
	// A classic HLS request is 6,800 B: at 10 Gbit/s the NIC takes
	// 128,676/s, before 16 cores take 390,243/s; with 4 cores CPU binds.
	if b, _ := binding(shieldLimits(f, node(16, 32, 10), "hls")); b != "NIC" {
		t.Errorf("16-core shield: %s binds, want NIC", b)
	}
	if b, per := binding(shieldLimits(f, node(4, 32, 10), "hls")); b != "CPU" || math.Abs(per-4*0.7e6/28.7) > 1 {
		t.Errorf("4-core shield: %s binds at %.0f, want CPU at %.0f", b, per, 4*0.7e6/28.7)
	}
	// NATS: a small deployment is bound (first) by connections per
	// server; with a tiny CPU budget per message the CPU binds.
	in := Input{Listeners: 100000, Mix: map[string]float64{"ogg": 1}, Node: node(16, 32, 10), Regions: 1, Spaces: 1, AdmitMax: 5000}
	p, err := Make(in, f)
	if err != nil {
		t.Fatal(err)
	}
	nats := p.tier(t, "NATS servers")
	if nats.Binding != "open files" || nats.Nodes != 3 {
		t.Errorf("NATS: %s binds, %d servers; want open files, 3", nats.Binding, nats.Nodes)
	}
	p, _ = Make(in, f.Merge(Figures{"nats_msg_us": {Value: 1e5}}))
	if nats := p.tier(t, "NATS servers"); nats.Binding != "CPU" || nats.Nodes <= 3 {
		t.Errorf("NATS at 100 ms a message: %s binds, %d servers; want CPU and more than 3", nats.Binding, nats.Nodes)
	}
}

func (p *Plan) tier(t *testing.T, name string) Tier {
	t.Helper()
	for _, tr := range p.Tiers {
		if tr.Name == name {
			return tr
		}
	}
	t.Fatalf("no tier %q in %+v", name, p.Tiers)
	return Tier{}
}

// TestEightMillion: the deployment's counts are its arithmetic.
func TestEightMillion(t *testing.T) {
	mix, err := ParseMix("hls=0.85,ll-hls=0.1,ogg=0.04,whep=0.01")
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Listeners: 8000000, Mix: mix, Node: node(16, 32, 10), Regions: 3, Spaces: 1, AdmitMax: 5000}
	p, err := Make(in, Defaults())
	if err != nil {
		t.Fatal(err)
	}
	ogg := p.tier(t, "edges (ogg)")
	if ogg.Load != 320000 || ogg.Nodes != int(math.Ceil(320000/ogg.PerNode)) {
		t.Errorf("ogg edges: %v listeners on %d edges of %.0f", ogg.Load, ogg.Nodes, ogg.PerNode)
	}
	if p.CDN.Players != 7600000 || math.Abs(p.CDN.RequestsPerS-(6800000*1+800000*10)) > 1 {
		t.Errorf("CDN: %+v", p.CDN)
	}
	if nats := p.tier(t, "NATS servers"); nats.Nodes != 9 || !strings.Contains(nats.Why, "supercluster") {
		t.Errorf("3 regions: %d NATS servers (%s), want 3 per region in a supercluster", nats.Nodes, nats.Why)
	}
	o := p.tier(t, "origins")
	if o.Nodes != 1 || o.Standby != 1 || p.AdmitRate != 18000 {
		t.Errorf("origins %d + %d, admit rate %.0f: want 1 + 1 standby, the keeper's 18,000/s", o.Nodes, o.Standby, p.AdmitRate)
	}
	if _, err := json.Marshal(p); err != nil {
		t.Errorf("the plan does not marshal: %v", err)
	}
}

// TestWhatIfThisMachine: 3 edges, the origin, NATS and the load
// generator on 2 cores hold what the CPU left over pays for.
func TestWhatIfThisMachine(t *testing.T) {
	f := Defaults()
	in := Input{Mix: map[string]float64{"ogg": 1}, Node: Node{Cores: 2, MemGiB: 8, NICGbit: 100, Headroom: 1}, Regions: 1, Spaces: 1, AdmitMax: 100000}
	c, err := WhatIf(in, 3, true, f)
	if err != nil {
		t.Fatal(err)
	}
	fixed := 0.07 + 3*0.01 + (150+9)*2/1e6
	want := math.Floor((2 - fixed) * 1e6 / (f.Get("cpu.ogg") + f.Get("load_us")))
	if c.Binding != "CPU" || c.Listeners != want {
		t.Errorf("this machine: %s binds, %.0f listeners; want CPU, %.0f", c.Binding, c.Listeners, want)
	}
	// Spread over edges of their own, the same edges hold more, bound by the fd cap.
	c, _ = WhatIf(in, 3, false, f)
	if c.Binding != "open files" || c.Listeners != 60000 {
		t.Errorf("3 edges of 2 cores each: %s binds, %.0f; want open files, 60,000", c.Binding, c.Listeners)
	}
	if _, err := WhatIf(Input{Mix: map[string]float64{"hls": 1}, Node: in.Node, Regions: 1, Spaces: 1, AdmitMax: 1}, 3, false, f); err == nil {
		t.Error("an all-HLS mix on edges: no error")
	}
}

// TestClosedForm: a D/D/1 queue. 10,000 arrivals over 10 s (1,000/s)
// against 500 admitted/s: the last is in at 20 s, the line peaks at 5,000
// when the arrivals stop, and the arrival at share q waits q × 10 s.
func TestClosedForm(t *testing.T) {
	s := closedForm(Surge{N: 10000, Over: 10 * time.Second}, 500)
	for _, want := range []string{"peaks at 5,000", "last is in at 20 s", "p50 5.0 s", "p95 9.5 s", "p99 9.9 s"} {
		if !strings.Contains(s, want) {
			t.Errorf("closed form %q lacks %q", s, want)
		}
	}
	if s := closedForm(Surge{N: 1000, Over: 10 * time.Second}, 500); !strings.Contains(s, "no line forms") {
		t.Errorf("arrivals under the admit rate: %q", s)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		in, want string
		parse    func(string) error
	}{
		{"hls=0.5", "sum to 0.5", func(s string) error { _, err := ParseMix(s); return err }},
		{"hls=0.5,dash=0.5", `unknown protocol "dash"`, func(s string) error { _, err := ParseMix(s); return err }},
		{"hls", "protocol=share", func(s string) error { _, err := ParseMix(s); return err }},
		{"ogg=1,ogg=0", "given twice", func(s string) error { _, err := ParseMix(s); return err }},
		{"ogg=-1,hls=2", "share from 0 to 1", func(s string) error { _, err := ParseMix(s); return err }},
		{"2000000", "ARRIVALS/DURATION", func(s string) error { _, err := ParseSurge(s); return err }},
		{"x/60s", "whole number", func(s string) error { _, err := ParseSurge(s); return err }},
		{"10/soon", "duration", func(s string) error { _, err := ParseSurge(s); return err }},
		{"100/2/solve", "BOTS/RATE or BOTS/RATE/pow", func(s string) error { _, err := ParseBotnet(s); return err }},
		{"100/0", "rate", func(s string) error { _, err := ParseBotnet(s); return err }},
	} {
		if err := c.parse(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error saying %q", c.in, err, c.want)
		}
	}
	if b, err := ParseBotnet("100000/2/pow"); err != nil || b != (Botnet{100000, 2, true}) {
		t.Errorf("ParseBotnet = %+v, %v", b, err)
	}
	bad := Input{Listeners: 1, Mix: map[string]float64{"ogg": 1}, Node: Node{Cores: 0, MemGiB: 1, NICGbit: 1, Headroom: 1.5}, Regions: 1, Spaces: 1}
	if err := bad.Check(); err == nil || !strings.Contains(err.Error(), "headroom 1.5") || !strings.Contains(err.Error(), "cores 0") {
		t.Errorf("bad input: %v", err)
	}
}
