package surge

import (
	"math"

	"github.com/onair-live/onair/internal/gate"
)

// detector is one edge's attack detector (gate detect.go, detector.tick):
// a bad second has 200+ rejects making half its decisions, from 32+
// networks; three in a row, or one flood second (4,000+ making 90%),
// turn proof of work on, and a minute without a bad second turns it off.
type detector struct {
	rej, pass float64 // this second's decisions
	nets      float64 // the networks this second's rejects came from
	last      float64 // rejects in the last second (Gate.difficulty's rate)
	bad       int
	calm      float64
	on        bool
	under     bool // the gate's verdict with its mode (Gate.UnderAttack)
}

const (
	attackRejects = 200
	attackShare   = 0.5
	attackSeconds = 3
	floodRejects  = 20 * attackRejects
	floodShare    = 0.9
	attackSpread  = 32
	calmDown      = 60.0
	heavyRejects  = 1000 // Gate.difficulty: +2 bits past this many rejects a second
)

func (d *detector) tick(now float64, mode gate.Mode) {
	rej, all := d.rej, d.rej+d.pass
	spread := d.nets >= attackSpread
	d.rej, d.pass, d.nets, d.last = 0, 0, 0, rej
	if spread && rej >= attackRejects && rej >= attackShare*all {
		d.bad++
		d.calm = now + calmDown
	} else {
		d.bad = 0
	}
	flood := spread && rej >= floodRejects && rej >= floodShare*all
	switch {
	case d.bad >= attackSeconds, flood:
		d.on = true
	case d.on && now > d.calm:
		d.on = false
	}
	d.under = mode == gate.UnderAttack || (mode == gate.Auto && d.on)
}

// difficulty is Gate.difficulty at edge i: the base, 2 bits more while
// the line is over 30 s long, 2 more while the edge rejects 1,000+ a second.
func (s *sim) difficulty(i int) int {
	d := powBase
	if s.ln.waiting() > 30*s.ln.rate {
		d += 2
	}
	if s.ed.det[i].last > heavyRejects {
		d += 2
	}
	return min(d, powMax)
}

// powParts split the crowd's solvers by how long their proof of work
// takes: the hashes tried until one has d zero bits are geometric (each
// try a 2^-d chance), so a solve's time is exponential about its mean
// (Gate's Solve tries nonces in turn; a browser does the same). Each part
// is a share of the solvers and its members' mean time over the mean;
// narrow parts about the 50th, 95th and 99th percentiles put those where
// the exponential has them (a part's members all take its mean).
var powParts = func() []powPart {
	qs := []float64{0, .15, .3, .45, .55, .7, .8, .9, .94, .96, .985, .995, .999, 1}
	// g(q) = -(1-q) ln(1-q): the share of E[X] above the q-quantile less
	// (1-q)·1; E[X | q0 ≤ U < q1] = 1 + (g(q0) - g(q1)) / (q1 - q0).
	g := func(q float64) float64 {
		if q >= 1 {
			return 0
		}
		return -(1 - q) * math.Log1p(-q)
	}
	var ps []powPart
	for i := 1; i < len(qs); i++ {
		d := qs[i] - qs[i-1]
		ps = append(ps, powPart{share: d, x: 1 + (g(qs[i-1])-g(qs[i]))/d})
	}
	return ps
}()

type powPart struct{ share, x float64 }

// work is how many base-difficulty proofs one at d bits is.
func work(d int) float64 { return float64(int(1) << (d - powBase)) }

// botStep is one step of the botnet at every edge (each bot sticks to
// one): Gate.Limit's per-address and per-/24 budgets answer the excess
// 429; under attack a join without a proof of work is answered 401, and
// a bot that solves them joins as often as its hash rate allows (each
// join one challenge asked for, one solution sent). It returns the joins
// that draw a number, per edge.
func (s *sim) botStep(t float64) float64 {
	b := s.cfg.Bots
	if b == nil {
		return 0
	}
	if b.N == 0 || t < seconds(b.Start) || (b.Over > 0 && t >= seconds(b.Start+b.Over)) {
		clear(s.botJoins)
		return 0
	}
	n, e := float64(b.N), float64(s.cfg.Edges)
	bots := n / e
	// The /24s among an edge's bots: each bot's edge is its own draw.
	nets := float64(b.Prefixes) * -math.Expm1(n/float64(b.Prefixes)*math.Log1p(-1/e))
	if s.cfg.Edges == 1 {
		nets = float64(b.Prefixes)
	}
	tries := bots * b.RatePerBot * s.dt
	allowed := min(bots*min(b.RatePerBot, joinRatePerIP), nets*joinRatePrefix) * s.dt
	allowed = min(allowed, tries)
	limited := tries - allowed
	draws := 0.0
	for i := range s.botJoins {
		d := &s.ed.det[i]
		d.rej += limited
		d.pass += allowed
		if limited > 0 {
			d.nets = max(d.nets, nets)
		}
		join, challenged := allowed, 0.0
		if d.under {
			join = 0
			if b.SolvesPoW {
				join = min(allowed/2, bots*s.dt/(seconds(b.SolveTime)*work(s.difficulty(i))))
			}
			challenged = allowed - join
		}
		us := (limited + challenged) * s.cfg.RejectCostUS
		s.ed.spent[i] += us
		s.ed.botCost[i] += us
		s.bot.rejectUS += us
		s.bot.limited += limited
		s.bot.challenged += challenged
		s.botJoins[i] = join
		draws += join
	}
	s.bot.requests += tries * e
	s.sec.bots += tries * e
	return draws
}

// botDrawn charges the edges for the bots' joins once the line has
// answered them: a share in got tickets, the rest a place in line each.
func (s *sim) botDrawn(in float64) {
	if s.cfg.Bots == nil {
		return
	}
	for i, j := range s.botJoins {
		if j == 0 {
			continue
		}
		rej := j * (1 - in) * s.cfg.RejectCostUS
		s.ed.spent[i] += j*in*s.cfg.JoinCostUS + rej
		s.ed.botCost[i] += rej
		s.bot.rejectUS += rej
		s.bot.admitted += j * in
	}
}
