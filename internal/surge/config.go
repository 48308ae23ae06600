package surge

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/onair-live/onair/internal/gate"
)

// Wave is N legitimate arrivals spread evenly (or as a Poisson process, see
// Config.Poisson) over [Start, Start+Over); Over 0 puts them all at Start.
type Wave struct {
	N           int
	Start, Over time.Duration
}

// Bots is a botnet: N sources each sending RatePerBot join attempts per
// second from Start for Over (0: until the run ends).
type Bots struct {
	N          int
	RatePerBot float64
	SolvesPoW  bool
	Start      time.Duration
	Over       time.Duration
	// Prefixes is how many /24 networks the bots come from (0: each its
	// own): the per-prefix budget (50/s) binds when they share few.
	Prefixes int
	// SolveTime is what one proof of work at the base difficulty (2^16
	// hashes) costs a bot (default 10 ms: native SHA-256 on one core).
	SolveTime time.Duration
}

// Config is one surge against one deployment. Zero values take the real
// gate's defaults where it has one.
type Config struct {
	Edges           int
	CapacityPerEdge int     // listeners an edge holds (gate --capacity; 0: unbounded)
	AdmitRateMax    float64 // joins/s one edge admits at most (gate --admit-rate-max, default 5000)
	StartRate       float64 // an edge controller's rate at its start (default the gate's 500)
	// WarmFor is how long the edges ran healthy before the surge: each
	// healthy second adds 100/s to an edge's rate, so a cluster up a minute
	// before its show starts at AdmitRateMax; 0 is a cluster that has just
	// started (its keeper has no report yet: the line starts at 500/s).
	WarmFor time.Duration
	// CoresPerEdge is the cores whose busy share the controller and the
	// headroom read (0: CPU is not modelled and never binds).
	CoresPerEdge   float64
	ListenerCostUS float64 // CPU µs per listener-second held (streaming)
	JoinCostUS     float64 // CPU µs an admitted join costs the edge that answers it
	// RejectCostUS is what any answer that admits nobody costs an edge: a
	// 429, a 401 challenge, a 202 place in line (a bot's, or a waiter's poll).
	RejectCostUS float64
	// Burst is the admissions the line banks while nobody waits (0: the
	// gate's, one second of rate; negative: none, the textbook D server).
	Burst float64
	// Mode is the gates' mode (default auto: proof of work when the
	// detector sees an attack).
	Mode gate.Mode
	// PoWSolve is a listener's browser's time for one proof of work at the
	// base difficulty (default 1 s; each 2 bits more is 4 times as long).
	PoWSolve time.Duration
	// Patience is how long a listener waits before giving up (0: forever);
	// those who do are Refused and their places pass on unclaimed.
	Patience time.Duration
	Crowd    []Wave
	Bots     *Bots
	Poisson  bool
	Seed     int64
	Step     time.Duration // the simulation's step (default 10 ms; must divide 500 ms)
	// MaxTime ends the run (0: when every legitimate arrival is in or gone,
	// at most maxRun).
	MaxTime time.Duration
}

// The real gate's and keeper's constants the model runs on (checked
// against gate.Admission in the tests where the gate exposes them).
const (
	defaultStartRate = 500  // gate.AdmitConfig.StartRate; line.unknownRate
	defaultMaxRate   = 5000 // gate.AdmitConfig.MaxRate, --admit-rate-max
	minRate          = 20   // gate.AdmitConfig.MinRate (edges and the keeper's lines)
	keeperMaxRate    = 1_000_000
	rateIncrease     = 100 // per healthy second
	cpuCeiling       = 0.85
	claimWindow      = 10.0 // s, gate.AdmitConfig.ClaimWindow
	shortWait        = 0.5  // s, gate.shortWait
	holdSlack        = 0.005
	maxRetry         = 30 // s, Gate.Admit's Retry-After cap
	joinRatePerIP    = 2  // gate.Config.JoinRate
	joinRatePrefix   = 50 // gate.Config.JoinPrefixRate
	powBase, powMax  = 16, 22
	maxRun           = 24 * time.Hour
	// keeperPhase is where in each second the keeper steers, after the
	// edges' reports of that second.
	keeperPhase = 500 * time.Millisecond
)

// withDefaults validates cfg and fills in the defaults.
func (cfg Config) withDefaults() (Config, error) {
	if err := cfg.check(); err != nil {
		return cfg, err
	}
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&cfg.AdmitRateMax, defaultMaxRate)
	def(&cfg.StartRate, defaultStartRate)
	if cfg.Mode == "" {
		cfg.Mode = gate.Auto
	}
	if cfg.PoWSolve == 0 {
		cfg.PoWSolve = time.Second
	}
	if cfg.Step == 0 {
		cfg.Step = 10 * time.Millisecond
	}
	if cfg.Bots != nil {
		b := *cfg.Bots
		if b.SolveTime == 0 {
			b.SolveTime = 10 * time.Millisecond
		}
		if b.Prefixes == 0 || b.Prefixes > b.N {
			b.Prefixes = max(b.N, 1)
		}
		cfg.Bots = &b
	}
	return cfg, nil
}

// check says what is wrong with cfg, if anything.
func (cfg Config) check() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("surge: "+format, a...)) }
	if cfg.Edges <= 0 {
		bad("%d edges: a surge needs at least one", cfg.Edges)
	}
	nonNeg := map[string]float64{"capacity per edge": float64(cfg.CapacityPerEdge), "admit rate max": cfg.AdmitRateMax,
		"start rate": cfg.StartRate, "cores per edge": cfg.CoresPerEdge, "listener cost": cfg.ListenerCostUS,
		"join cost": cfg.JoinCostUS, "reject cost": cfg.RejectCostUS}
	for name, v := range nonNeg {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			bad("%s %v: want a finite number, 0 or more", name, v)
		}
	}
	if math.IsNaN(cfg.Burst) || math.IsInf(cfg.Burst, 0) {
		bad("burst %v: want a finite number", cfg.Burst)
	}
	if cfg.StartRate > 0 && cfg.AdmitRateMax > 0 && cfg.StartRate > cfg.AdmitRateMax {
		bad("start rate %v above the admit rate max %v", cfg.StartRate, cfg.AdmitRateMax)
	}
	switch cfg.Mode {
	case "", gate.Auto, gate.Normal, gate.UnderAttack:
	default:
		bad("mode %q: want auto, normal or under_attack", cfg.Mode)
	}
	for name, d := range map[string]time.Duration{"warm-up": cfg.WarmFor, "PoW solve time": cfg.PoWSolve,
		"patience": cfg.Patience, "max time": cfg.MaxTime} {
		if d < 0 {
			bad("%s %v is negative", name, d)
		}
	}
	if cfg.Step < 0 || cfg.Step > keeperPhase || (cfg.Step > 0 && keeperPhase%cfg.Step != 0) {
		bad("step %v: want a step that divides 500 ms (the control periods fall on steps)", cfg.Step)
	}
	if cfg.MaxTime > maxRun {
		bad("max time %v: at most %v", cfg.MaxTime, maxRun)
	}
	n := 0
	for i, w := range cfg.Crowd {
		if w.N < 0 || w.Start < 0 || w.Over < 0 {
			bad("wave %d (%d over %v from %v): counts and times must not be negative", i+1, w.N, w.Over, w.Start)
		}
		if w.Start+w.Over > maxRun {
			bad("wave %d ends past %v", i+1, maxRun)
		}
		n += max(w.N, 0)
	}
	if n > 1<<40 {
		bad("%d arrivals: too many to count", n)
	}
	if b := cfg.Bots; b != nil {
		if b.N < 0 || b.RatePerBot < 0 || math.IsNaN(b.RatePerBot) || math.IsInf(b.RatePerBot, 0) ||
			b.Start < 0 || b.Over < 0 || b.Prefixes < 0 || b.SolveTime < 0 {
			bad("botnet %+v: counts, rates and times must be finite and not negative", *b)
		}
		if float64(b.N)*b.RatePerBot > 1e12 {
			bad("botnet of %d at %v/s: too many requests to count", b.N, b.RatePerBot)
		}
	}
	return errors.Join(errs...)
}

// legit is the number of legitimate arrivals.
func (cfg Config) legit() int {
	n := 0
	for _, w := range cfg.Crowd {
		n += w.N
	}
	return n
}

// seconds is d in seconds.
func seconds(d time.Duration) float64 { return d.Seconds() }

// dur is s seconds as a Duration.
func dur(s float64) time.Duration { return time.Duration(math.Round(s * float64(time.Second))) }
