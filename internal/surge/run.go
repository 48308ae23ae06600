package surge

import (
	"github.com/onair-live/onair/internal/gate"
	"math"
	"time"
)

// sim is one run's state.
type sim struct {
	cfg   Config
	dt    float64
	ln    line
	ed    *edges
	waves []*arrivals
	q     queue     // cohorts until their next request
	held  []*cohort // cohorts held for a moment (shortWait)
	wait  hist      // arrival → admitted
	lwait hist      // arrival → served: the line's own wait, no polls

	arrived, waiting, admitted, refused float64
	lastAdmit                           float64
	longest, longestAt, longestGate     float64
	// this step's: members admitted (placed on the edges at its end), and
	// the legitimate requests' CPU and decisions, which reach every edge
	// evenly (applied at the control period)
	stepIn, evenUS, evenPass float64

	botJoins []float64 // per edge, this step
	attacked int       // edges under attack, as of the last control period
	draws    []*cohort // this step's, reused
	checks   []*cohort
	bot      struct{ requests, admitted, limited, challenged, rejectUS, peakCores float64 }
	sec      struct{ arrivals, admitted, bots float64 }
	attackAt float64
	res      Result
}

// Run simulates cfg's surge; it refuses a configuration that makes no
// sense with an error naming what is wrong.
func Run(cfg Config) (Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Result{}, err
	}
	s := &sim{cfg: cfg, dt: seconds(cfg.Step), ed: newEdges(cfg), botJoins: make([]float64, cfg.Edges), attackAt: -1}
	s.ln = line{burst: cfg.Burst, dt: s.dt}
	for i, w := range cfg.Crowd {
		s.waves = append(s.waves, newArrivals(w, cfg.Poisson, cfg.Seed, i))
	}
	for i := range s.ed.det { // the operator's mode holds from the start
		s.ed.det[i].under = cfg.Mode == gate.UnderAttack
	}
	s.attacked = s.ed.attacked()
	s.steer()
	s.loop()
	return s.result(), nil
}

func (s *sim) loop() {
	perSec := int(time.Second / s.cfg.Step)
	end := s.ends()
	for k := 0; ; k++ {
		t := float64(k) * s.dt
		if k > 0 && k%perSec == 0 {
			s.second(t)
		}
		if k%perSec == perSec/2 {
			s.steer()
		}
		if s.over(t, end) {
			s.res.Ran = dur(t)
			return
		}
		s.step(t, t+s.dt)
	}
}

// ends is when the arrivals are over, and the botnet's attack.
func (s *sim) ends() float64 {
	end := 0.0
	for _, w := range s.cfg.Crowd {
		end = max(end, seconds(w.Start+w.Over))
	}
	if b := s.cfg.Bots; b != nil && b.Over > 0 {
		end = max(end, seconds(b.Start+b.Over))
	}
	return end
}

// over: at MaxTime, or (without one) once the arrivals are over and
// nobody is left waiting, or nobody more can get in: every edge full,
// no place served and unclaimed (none let in for longer than a
// Retry-After), and nobody who would give up.
func (s *sim) over(t, end float64) bool {
	if s.cfg.MaxTime > 0 {
		return t >= seconds(s.cfg.MaxTime)-1e-9
	}
	stuck := s.ln.paused && s.cfg.Patience == 0 && t-s.lastAdmit > maxRetry+1
	return t >= seconds(maxRun) || (t > end && (s.waiting < 0.5 || stuck))
}

// steer is the keeper's period (Keeper.steer): the line moves at the sum
// of the edges' rates, paused while every edge is full.
func (s *sim) steer() {
	rate, full := s.ed.capacity()
	s.ln.setRate(rate)
	s.ln.pause(full)
}

// second closes a second: the timeline, then every edge's control period.
func (s *sim) second(t float64) {
	perEdgeUS, perEdgePass := s.evenUS/float64(s.cfg.Edges), s.evenPass/float64(s.cfg.Edges)
	for i := range s.ed.spent {
		s.ed.spent[i] += perEdgeUS
		s.ed.det[i].pass += perEdgePass
		s.bot.peakCores = max(s.bot.peakCores, s.ed.botCost[i]/1e6)
	}
	s.evenUS, s.evenPass = 0, 0
	s.place()
	s.ed.control(t, s.cfg.Mode)
	s.attacked = s.ed.attacked()
	if s.attackAt < 0 && s.attacked > 0 {
		s.attackAt = t
	}
	diff := 0
	if s.attacked > 0 {
		diff = s.difficulty(0)
	}
	s.res.Timeline = append(s.res.Timeline, Second{At: dur(t), Arrivals: round(s.sec.arrivals), Admitted: round(s.sec.admitted),
		Line: round(s.waiting), Gate: round(s.ln.waiting()), Served: min(s.ln.served, s.ln.next), AdmitRate: s.ln.rate, Held: round(s.ed.total()),
		CPU: s.ed.meanCPU(), Bots: round(s.sec.bots), UnderAttack: s.attacked, Difficulty: diff})
	s.sec.arrivals, s.sec.admitted, s.sec.bots = 0, 0, 0
}

// step is one step [t, te): arrivals and joins after a proof of work draw
// numbers with the botnet's, the line moves, and the waiters whose turn
// to ask comes ask.
func (s *sim) step(t, te float64) {
	draws, checks := s.draws[:0], s.checks[:0]
	defer func() { s.draws, s.checks = draws[:0], checks[:0] }()
	for c := s.q.due(te); c != nil; c = s.q.due(te) {
		if c.drawn {
			checks = append(checks, c)
		} else {
			draws = append(draws, c)
		}
	}
	draws = s.arrive(draws, t, te)
	bots := s.botStep(t)
	k := bots
	for _, c := range draws {
		k += c.m
	}
	s0 := s.ln.served
	lo, id := 0.0, -1
	if k > 0 {
		lo, id = s.ln.draw(k)
	}
	s.ln.advance(te)
	s1 := s.ln.served
	markAt := func(at float64) float64 { return s0 + (s1-s0)*min(max((at-t)/s.dt, 0), 1) }
	if k > 0 {
		s.joins(draws, bots, lo, k, id, t, te, markAt)
	}
	for _, c := range checks {
		s.check(c, c.at, markAt(c.at))
	}
	s.holds(te, markAt)
	if s.waiting > s.longest {
		s.longest, s.longestAt = s.waiting, te
	}
	s.longestGate = max(s.longestGate, s.ln.waiting())
}

// arrive is the step's newcomers; under attack (at the share of edges
// that are), they are first answered 401 and join once their proof of
// work is done.
func (s *sim) arrive(out []*cohort, t, te float64) []*cohort {
	under := float64(s.attacked) / float64(s.cfg.Edges)
	for _, w := range s.waves {
		m, first, last := w.take(t, te)
		if m <= 0 {
			continue
		}
		s.arrived += m
		s.waiting += m
		s.sec.arrivals += m
		c := &cohort{m: m, born0: first, born1: last}
		if under > 0 {
			mean := seconds(s.cfg.PoWSolve) * s.legitWork()
			s.request(m*under, s.cfg.RejectCostUS)
			for _, part := range powParts {
				pow := *c
				pow.m, pow.solve = m*under*part.share, mean*part.x
				pow.at = first + pow.solve
				s.q.add(&pow)
			}
			c.m = m * (1 - under)
		}
		if c.m > 0 {
			out = append(out, c)
		}
	}
	return out
}

// legitWork is the mean work of a proof of work at the edges under attack.
func (s *sim) legitWork() float64 {
	sum, n := 0.0, 0
	for i := range s.ed.det {
		if s.ed.det[i].under {
			sum += work(s.difficulty(i))
			n++
		}
	}
	return sum / float64(max(n, 1))
}

// place puts the second's admitted on the edges: Choose's shares hold
// from one report to the next.
func (s *sim) place() {
	if s.stepIn > 0 {
		s.ed.place(s.stepIn)
		s.stepIn = 0
	}
}

// request counts n legitimate requests costing us each (to every edge evenly).
func (s *sim) request(n, us float64) {
	s.evenUS += n * us
	s.evenPass += n
}

func round(f float64) int { return int(math.Round(f)) }
