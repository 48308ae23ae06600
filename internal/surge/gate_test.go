package surge

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/control"
	"github.com/onair-live/onair/internal/gate"
)

var t0 = time.Unix(1_700_000_000, 0)

// The constants the model runs on are the gate's: a controller starts at
// 500/s, adds 100 a healthy second up to 5,000, and floors at 20.
func TestConstantsAreTheGates(t *testing.T) {
	a := gate.NewAdmission(gate.AdmitConfig{}, t0)
	if a.Rate() != defaultStartRate {
		t.Errorf("start rate %v, the model's %v", a.Rate(), float64(defaultStartRate))
	}
	a.Feedback(true)
	if a.Rate() != defaultStartRate+rateIncrease {
		t.Errorf("after a healthy second %v, the model's %v", a.Rate(), float64(defaultStartRate+rateIncrease))
	}
	for range 100 {
		a.Feedback(true)
	}
	if a.Rate() != defaultMaxRate {
		t.Errorf("the most %v, the model's %v", a.Rate(), float64(defaultMaxRate))
	}
	for range 100 {
		a.Feedback(false)
	}
	if a.Rate() != minRate {
		t.Errorf("the floor %v, the model's %v", a.Rate(), float64(minRate))
	}
	if control.CPUCeiling != cpuCeiling {
		t.Errorf("CPU ceiling %v, the model's %v", control.CPUCeiling, cpuCeiling)
	}
}

// chooseShares is what control.Choose does on average: drawn 200,000
// times on reports of unequal headroom (ties, a full edge, an unhealthy
// one and an origin among them), each edge's share is within 0.6% of it.
func TestChooseSharesAreChoose(t *testing.T) {
	rep := func(name, role string, held int, cpu float64, healthy bool) control.Report {
		return control.Report{Node: name, Role: role, Healthy: healthy, CPU: cpu, Capacity: 1000, Listeners: map[string]int{"hls": held}}
	}
	reports := []control.Report{rep("a", "edge", 100, 0.1, true), rep("b", "edge", 500, 0.1, true), rep("c", "edge", 500, 0.1, true),
		rep("d", "edge", 1000, 0.1, true), rep("e", "edge", 10, 0.8, true), rep("f", "edge", 0, 0, false),
		rep("g", "origin", 0, 0, true), rep("h", "edge", 900, 0.2, true)}
	share := make([]float64, len(reports))
	chooseShares(reports, share)
	rnd := rand.New(rand.NewPCG(1, 2))
	count := map[string]float64{}
	const draws = 200_000
	for range draws {
		best, _, ok := control.Choose(reports, rnd)
		if !ok {
			t.Fatal("no edge chosen")
		}
		count[best.Node]++
	}
	sum := 0.0
	for i, r := range reports {
		sum += share[i]
		if got := count[r.Node] / draws; math.Abs(got-share[i]) > 0.006 {
			t.Errorf("edge %s: Choose picked it %.4f of the time, the model says %.4f", r.Node, got, share[i])
		}
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("shares sum to %v", sum)
	}
}

// The model's line is the gate's Admission: the same joins (a crowd at
// 1,500/s whose places are claimed, and 200 bots within their budget whose
// places never are) into a real gate.Admission at 1,000/s give the same
// served mark, second by second, within 1%: the bank, the rate, and the
// unclaimed places passed on after the claim window.
func TestLineIsTheGatesAdmission(t *testing.T) {
	const rate, crowd, bots, secs = 1000, 1500, 200, 30
	cfg := fixed(1, rate)
	cfg.Mode = gate.Normal
	cfg.Crowd = []Wave{{N: crowd * secs, Over: secs * time.Second}}
	cfg.Bots = &Bots{N: bots, RatePerBot: 1, Over: secs * time.Second}
	cfg.MaxTime = secs * time.Second
	r := run(t, cfg)

	a := gate.NewAdmission(gate.AdmitConfig{MinRate: minRate, MaxRate: keeperMaxRate}, t0)
	a.SetRate(rate)
	var waiting []uint64 // the crowd's numbers not in yet, in order
	const step = 10 * time.Millisecond
	perStep := func(n float64, k int) int {
		return int(math.Floor(n*float64(k+1)*step.Seconds()) - math.Floor(n*float64(k)*step.Seconds()))
	}
	for k := range int(secs * time.Second / step) {
		now := t0.Add(time.Duration(k) * step)
		for range perStep(crowd, k) {
			if tk := a.Join(now); tk.Position > 0 {
				waiting = append(waiting, tk.Number)
			}
		}
		for range perStep(bots, k) {
			a.Join(now) // a bot's place: never asked about again
		}
		for len(waiting) > 0 && a.Check(waiting[0], now).Position == 0 { // the crowd asks as its turn comes
			waiting = waiting[1:]
		}
		if (k+1)%100 == 0 {
			_, served := a.Mark(now.Add(step))
			model := r.Timeline[(k+1)/100-1].Served
			if math.Abs(model-float64(served)) > 0.01*float64(served)+2 {
				t.Errorf("at %v: the gate served %d, the model %.0f", time.Duration(k+1)*step, served, model)
			}
		}
	}
	if a.Reclaimed() == 0 {
		t.Error("the gate passed no unclaimed place on: the test does not test the claim window")
	}
	t.Logf("the gate passed on %d unclaimed places; the line's longest %d", a.Reclaimed(), r.LongestGateLine)
}

// An edge capped below the gate's start rate (--admit-rate-max 100) is at
// its cap, as gate.NewAdmission starts it there and Feedback keeps it: a
// warm cluster's line moves at the cap, not at the start rate, and 500
// arrivals in a second wait seconds for it.
func TestWarmEdgeCappedBelowTheStartRate(t *testing.T) {
	a := gate.NewAdmission(gate.AdmitConfig{MaxRate: 100}, time.Unix(0, 0))
	a.Feedback(true)
	cfg := Config{Edges: 1, AdmitRateMax: 100, WarmFor: 5 * time.Second,
		Crowd: []Wave{{N: 500, Over: time.Second}}}
	r := run(t, cfg)
	if got := r.Timeline[0].AdmitRate; got != a.Rate() {
		t.Errorf("the line's rate %v, the real controller's after a healthy second %v", got, a.Rate())
	}
	// The line starts with no bank (its first draw makes it): the last,
	// number 499, arrived at 1 s and is served at 4.99 s.
	near(t, "the last one's line wait (s)", r.LineWait.Max.Seconds(), 499/100.0-1, 0.05)
}
