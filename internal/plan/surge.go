package plan

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Surge is a crowd arriving: N joins spread over Over.
type Surge struct {
	N    int           `json:"n"`
	Over time.Duration `json:"over_ns"`
}

// Botnet is N bots each sending Rate joins a second, solving proof of work
// or not.
type Botnet struct {
	N    int     `json:"n"`
	Rate float64 `json:"rate_per_bot"`
	PoW  bool    `json:"solves_pow"`
}

// ParseSurge reads "2000000/60s" (arrivals / the time they arrive over).
func ParseSurge(s string) (Surge, error) {
	n, over, ok := strings.Cut(s, "/")
	if !ok {
		return Surge{}, fmt.Errorf("surge %q: want ARRIVALS/DURATION, e.g. 2000000/60s", s)
	}
	v, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || v < 1 || v > 1e9 {
		return Surge{}, fmt.Errorf("surge %q: arrivals %q: want a whole number from 1 to 1,000,000,000", s, n)
	}
	d, err := time.ParseDuration(strings.TrimSpace(over))
	if err != nil || d < 0 || d > 24*time.Hour {
		return Surge{}, fmt.Errorf("surge %q: duration %q: want e.g. 60s or 5m, at most 24h", s, over)
	}
	return Surge{N: v, Over: d}, nil
}

// ParseBotnet reads "N/RATE" or "N/RATE/pow" (bots, joins a second each,
// and whether they solve proofs of work).
func ParseBotnet(s string) (Botnet, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || (len(parts) == 3 && parts[2] != "pow") {
		return Botnet{}, fmt.Errorf("botnet %q: want BOTS/RATE or BOTS/RATE/pow, e.g. 100000/2/pow", s)
	}
	n, err := strconv.Atoi(parts[0])
	if err != nil || n < 1 || n > 1e9 {
		return Botnet{}, fmt.Errorf("botnet %q: bots %q: want a whole number from 1 to 1,000,000,000", s, parts[0])
	}
	r, err := strconv.ParseFloat(parts[1], 64)
	if err != nil || !(r > 0) || r > 1000 {
		return Botnet{}, fmt.Errorf("botnet %q: rate %q: want joins a second per bot, above 0 and at most 1000", s, parts[1])
	}
	return Botnet{N: n, Rate: r, PoW: len(parts) == 3}, nil
}

// Gate is the edges a surge goes through, as the simulator takes them.
type Gate struct {
	Edges           int           `json:"edges"`
	CapacityPerEdge int           `json:"capacity_per_edge"`
	AdmitRateMax    float64       `json:"admit_rate_max"` // per edge
	Cores           float64       `json:"cores_per_edge"`
	ListenerUS      float64       `json:"listener_us"`
	Warm            time.Duration `json:"warm_ns"` // how long the edges ran before the surge
}

// Waits are times to admit, in seconds.
type Waits struct {
	P50 float64 `json:"p50_s"`
	P95 float64 `json:"p95_s"`
	P99 float64 `json:"p99_s"`
	Max float64 `json:"max_s"`
}

// SurgeReport is what the surge through the plan's edges did.
type SurgeReport struct {
	Surge            Surge        `json:"surge"`
	Botnet           *Botnet      `json:"botnet,omitempty"`
	Gate             Gate         `json:"gate"`
	Simulated        bool         `json:"simulated"` // false: the simulator is not built in, only the closed form
	Admitted         int          `json:"admitted"`
	Refused          int          `json:"refused"`
	StillWaiting     int          `json:"still_waiting"`
	TimeToAdmit      Waits        `json:"time_to_admit"`
	LongestLine      int          `json:"longest_line"`
	LongestLineAtS   float64      `json:"longest_line_at_s"`
	WaitedOverMinute int          `json:"waited_over_minute"`
	AllAdmittedAtS   float64      `json:"all_admitted_at_s"` // -1: some never were
	ClosedForm       string       `json:"closed_form"`
	Bots             *BotReport   `json:"bots,omitempty"`
	Timeline         []SurgePoint `json:"timeline,omitempty"`
}

// BotReport is what a botnet cost the edges and the crowd.
type BotReport struct {
	Requests         int     `json:"requests"`
	Admitted         int     `json:"admitted"`
	RejectCPUSeconds float64 `json:"reject_cpu_seconds_per_edge"`
	RejectCoresPeak  float64 `json:"reject_cores_peak_per_edge"`
	UnderAttackAtS   float64 `json:"under_attack_at_s"` // -1: never
	LegitP99Without  float64 `json:"legit_p99_without_s"`
	// The crowd's lot beside the botnet (the report's own figures are
	// the crowd alone).
	TimeToAdmit      Waits  `json:"time_to_admit"`
	LongestLine      int    `json:"longest_line"`
	WaitedOverMinute int    `json:"waited_over_minute"`
	StillWaiting     int    `json:"still_waiting"`
	Refused          int    `json:"refused"`
	Bounded          bool   `json:"bounded"`
	Why              string `json:"why"`
}

// SurgePoint is one second of the surge.
type SurgePoint struct {
	T         float64 `json:"t"`
	Arrivals  int     `json:"arrivals"`
	Admitted  int     `json:"admitted"`
	Line      int     `json:"line"`
	AdmitRate float64 `json:"admit_rate"`
}

// ErrNoSimulator: the surge simulator is not in this build.
var ErrNoSimulator = errors.New("the surge simulator (internal/surge) is not in this build: only the closed form is given")

// RunSurge puts s (and a botnet b, if any) through the edges of gt.
func RunSurge(gt Gate, f Figures, s Surge, b *Botnet) (*SurgeReport, error) {
	r := &SurgeReport{Surge: s, Botnet: b, Gate: gt, ClosedForm: closedForm(s, float64(gt.Edges)*gt.AdmitRateMax)}
	if simulate == nil {
		return r, ErrNoSimulator
	}
	cfg := surgeConfig{Edges: gt.Edges, CapacityPerEdge: gt.CapacityPerEdge, AdmitRateMax: gt.AdmitRateMax,
		WarmFor: gt.Warm, CoresPerEdge: gt.Cores, ListenerCostUS: gt.ListenerUS, JoinCostUS: f.Get("join_us"),
		RejectCostUS: f.Get("reject_us"), Crowd: []surgeWave{{N: s.N, Over: s.Over}}, Poisson: true, Seed: 1}
	res, err := simulate(cfg)
	if err != nil {
		return nil, fmt.Errorf("surge simulator: %w", err)
	}
	r.fill(res)
	if b == nil {
		return r, nil
	}
	cfg.Bots = &surgeBots{N: b.N, RatePerBot: b.Rate, SolvesPoW: b.PoW}
	with, err := simulate(cfg)
	if err != nil {
		return nil, fmt.Errorf("surge simulator, with the botnet: %w", err)
	}
	t := with.TimeToAdmit
	r.Bots = &BotReport{Requests: with.BotRequests, Admitted: with.BotAdmitted,
		RejectCPUSeconds: with.BotRejectCPUSeconds, RejectCoresPeak: with.BotRejectCoresPeak,
		UnderAttackAtS: secs(with.UnderAttackAt), LegitP99Without: r.TimeToAdmit.P99,
		TimeToAdmit: Waits{secs(t.P50), secs(t.P95), secs(t.P99), secs(t.Max)}, LongestLine: with.LongestLine,
		WaitedOverMinute: with.WaitedOverMinute, StillWaiting: with.StillWaiting, Refused: with.Refused}
	r.Bots.judge()
	return r, nil
}

// powP99 is the 99th percentile of a browser's proof of work at the
// difficulty a gate asks while it rejects 1,000+ a second (18 bits, 4 s on
// average: internal/surge's default): the solve is exponential, ln 100 ×
// its mean.
var powP99 = math.Log(100) * 4

// judge: proof of work keeps the crowd's time bounded when every
// listener still gets in, at most twice as late as without plus the proof
// of work's own p99 and 2 s (a Retry-After's round, the model's parts).
func (b *BotReport) judge() {
	without := b.LegitP99Without
	bound := 2*without + powP99 + 2
	b.Bounded = b.StillWaiting == 0 && b.Refused == 0 && b.TimeToAdmit.P99 <= bound
	b.Why = fmt.Sprintf("legit p99 %.1f s with the botnet against %.1f s without (bounded: every listener in, p99 at most 2 × %.1f + %.1f s (a proof of work's p99) + 2 s = %.1f s)",
		b.TimeToAdmit.P99, without, without, powP99, bound)
}

func (r *SurgeReport) fill(res surgeResult) {
	r.Simulated = true
	r.Admitted, r.Refused, r.StillWaiting = res.Admitted, res.Refused, res.StillWaiting
	t := res.TimeToAdmit
	r.TimeToAdmit = Waits{secs(t.P50), secs(t.P95), secs(t.P99), secs(t.Max)}
	r.LongestLine, r.LongestLineAtS, r.WaitedOverMinute = res.LongestLine, secs(res.LongestLineAt), res.WaitedOverMinute
	r.AllAdmittedAtS = secs(res.AllAdmittedAt)
	r.Timeline = r.Timeline[:0]
	for _, s := range res.Timeline {
		r.Timeline = append(r.Timeline, SurgePoint{T: secs(s.At), Arrivals: s.Arrivals, Admitted: s.Admitted, Line: s.Line, AdmitRate: s.AdmitRate})
	}
}

func secs(d time.Duration) float64 {
	if d < 0 {
		return -1
	}
	return math.Round(d.Seconds()*1000) / 1000
}

// closedForm is the fluid answer for arrivals at a constant rate against a
// constant admit rate mu (a D/D/1 queue): the line grows at lambda - mu
// while they arrive, the last is in at N / mu, and the arrival at share q
// of the crowd waits q × (N / mu - over).
func closedForm(s Surge, mu float64) string {
	n, over := float64(s.N), s.Over.Seconds()
	if mu <= 0 {
		return "no admit rate: nobody gets in"
	}
	done := n / mu
	if done <= over {
		return fmt.Sprintf("%s arrivals over %s at %s/s, admitted at up to %s/s: no line forms (fluid model, steady edges)",
			count(n), s.Over, count(n/math.Max(over, 1e-9)), count(mu))
	}
	wait := done - over
	return fmt.Sprintf("%s arrivals over %s against %s admitted/s: the line peaks at %s when the arrivals stop, the last is in at %.0f s; "+
		"time to admit p50 %.1f s, p95 %.1f s, p99 %.1f s (fluid model at the full rate, no controller ramp)",
		count(n), s.Over, count(mu), count(n-mu*over), done, 0.5*wait, 0.95*wait, 0.99*wait)
}
