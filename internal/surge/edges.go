package surge

import (
	"math"
	"slices"
	"time"

	"github.com/onair-live/onair/internal/control"
	"github.com/onair-live/onair/internal/gate"
	lines "github.com/onair-live/onair/internal/line"
)

// edges are the cluster's edges: each with the real gate.Admission as its
// admission controller (Gate.control drives it once a second), the
// listeners it holds, the CPU it spent, its attack detector, and the load
// report it last sent (server.noteSecond).
type edges struct {
	cfg     Config
	adm     []*gate.Admission
	held    []float64
	spent   []float64 // CPU µs this second
	botCost []float64 // of which answering the botnet
	cpu     []float64 // last second's busy share
	det     []detector
	reports []control.Report
	share   []float64 // where control.Choose sends the next admitted listener
	clock   time.Time
}

func newEdges(cfg Config) *edges {
	n := cfg.Edges
	e := &edges{cfg: cfg, adm: make([]*gate.Admission, n), held: make([]float64, n), spent: make([]float64, n),
		botCost: make([]float64, n), cpu: make([]float64, n), det: make([]detector, n), share: make([]float64, n),
		clock: time.Unix(0, 0)}
	ac := gate.AdmitConfig{MinRate: minRate, MaxRate: cfg.AdmitRateMax, StartRate: cfg.StartRate}
	for i := range e.adm {
		e.adm[i] = gate.NewAdmission(ac, e.clock)
		// Healthy seconds before the surge, until the rate reaches its cap
		// (a cap below the start rate is where NewAdmission starts).
		for k := 0; k < int(cfg.WarmFor/time.Second) && e.adm[i].Rate() < cfg.AdmitRateMax; k++ {
			e.adm[i].Feedback(true)
		}
	}
	for i := range e.share {
		e.share[i] = 1 / float64(n)
	}
	if cfg.WarmFor >= time.Second {
		e.report()
	}
	return e
}

// control is one control period at every edge (Gate.control): full when
// its listeners reach its capacity, healthy when its CPU is under the
// ceiling and it is not full; AIMD on that; the detector's second; then
// its report, and the shares Choose gives the edges from the reports.
func (e *edges) control(now float64, mode gate.Mode) {
	for i := range e.adm {
		e.cpu[i] = 0
		if e.cfg.CoresPerEdge > 0 {
			// The busy share cannot pass 1: work past the cores is taken
			// as done anyway (the model has no queue in front of the CPU).
			e.cpu[i] = min((e.spent[i]+e.held[i]*e.cfg.ListenerCostUS)/(e.cfg.CoresPerEdge*1e6), 1)
		}
		e.spent[i], e.botCost[i] = 0, 0
		full := e.cfg.CapacityPerEdge > 0 && e.held[i] >= float64(e.cfg.CapacityPerEdge)
		e.adm[i].Feedback(e.cpu[i] < cpuCeiling && !full)
		e.det[i].tick(now, mode)
	}
	e.report()
}

// report makes each edge's load report and, from them, Choose's shares.
func (e *edges) report() {
	e.reports = e.reports[:0]
	for i, a := range e.adm {
		e.reports = append(e.reports, control.Report{Node: "edge", Role: "edge", Healthy: true,
			Listeners: map[string]int{"hls": int(math.Round(e.held[i]))}, CPU: e.cpu[i],
			AdmitRate: a.Rate(), Capacity: e.cfg.CapacityPerEdge})
	}
	chooseShares(e.reports, e.share)
}

// capacity is what the keeper reads from the reports each period
// (line.EdgeCapacity): the sum of the edges' rates, and whether all are full.
func (e *edges) capacity() (float64, bool) {
	return lines.EdgeCapacity(func() []control.Report { return e.reports })()
}

// chooseShares sets share[i] to the chance control.Choose picks report i:
// two candidates (healthy, not origins, with headroom) at random, the one
// with more headroom of the two (the first drawn on a tie). With none,
// Choose fails and the join's own edge keeps the listener: joins reach
// the edges evenly.
func chooseShares(reports []control.Report, share []float64) {
	type cand struct {
		i int
		h float64
	}
	var cs []cand
	for i, r := range reports {
		share[i] = 0
		if h := control.Headroom(r); r.Healthy && r.Role != "origin" && h > 0 {
			cs = append(cs, cand{i, h})
		}
	}
	m := len(cs)
	switch m {
	case 0:
		for i := range share {
			share[i] = 1 / float64(len(share))
		}
		return
	case 1:
		share[cs[0].i] = 1
		return
	}
	slices.SortFunc(cs, func(a, b cand) int { return cmpFloat(a.h, b.h) })
	// For a candidate e: it is drawn first (1/m) and the second is no
	// better (L of m-1), or it is drawn second (1/m per first) after a
	// worse first (S of them).
	for j := 0; j < m; {
		k := j
		for k < m && cs[k].h == cs[j].h {
			k++
		}
		below, notAbove := j, k-1 // S, and L (the others at or below)
		p := float64(below+notAbove) / float64(m*(m-1))
		for ; j < k; j++ {
			share[cs[j].i] = p
		}
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// place puts n admitted listeners on the edges by Choose's shares.
func (e *edges) place(n float64) {
	for i, s := range e.share {
		e.held[i] += n * s
	}
}

func (e *edges) total() float64 {
	n := 0.0
	for _, h := range e.held {
		n += h
	}
	return n
}

func (e *edges) meanCPU() float64 {
	s := 0.0
	for _, c := range e.cpu {
		s += c
	}
	return s / float64(len(e.cpu))
}

// attacked is how many edges ask newcomers for a proof of work.
func (e *edges) attacked() int {
	n := 0
	for i := range e.det {
		if e.det[i].under {
			n++
		}
	}
	return n
}
