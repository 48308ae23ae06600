package surge

import "time"

// Waits are percentiles of the time from arrival to admission.
type Waits struct{ Mean, P50, P95, P99, Max time.Duration }

// Result is what a surge did. Counts of listeners are rounded from the
// model's fluid counts: Admitted + Refused + StillWaiting is every
// legitimate arrival.
type Result struct {
	Admitted, Refused, StillWaiting int
	// TimeToAdmit is arrival → admitted, legitimate listeners only,
	// proof of work and the waiting room's polls included.
	TimeToAdmit Waits
	// LineWait is arrival → the line served their number: what a waiter
	// that asked without pause would have waited (TimeToAdmit less the
	// Retry-After schedule's lag).
	LineWait Waits
	// LongestLine is the most legitimate listeners waiting at once (drawn a
	// number or solving a proof of work, not in yet), at LongestLineAt.
	LongestLine   int
	LongestLineAt time.Duration
	// LongestGateLine is the most numbers drawn and not served at once, as
	// the gate's /gate and Waiting() count them: bots' unclaimed places too.
	LongestGateLine  int
	WaitedOverMinute int // admitted after more than a minute, or still waiting a minute at the end
	// AllAdmittedAt is when the last legitimate arrival got in (the surge's
	// time to admit), or -1 when some never did (refused, or still waiting
	// at the end).
	AllAdmittedAt time.Duration
	// Held is the listeners the edges hold at the end; Overshoot how many
	// more than their capacity (the line pauses only once every edge has
	// reported itself full).
	Held, Overshoot int
	// The botnet: its join attempts, those let in (a ticket each), those
	// answered 429 by the per-source budgets and 401 by proof of work, and
	// what answering all that cost: CPU-seconds per edge over the run, and
	// the most cores per edge it took in one second.
	BotRequests, BotAdmitted      int
	BotRateLimited, BotChallenged int
	BotRejectCPUSeconds           float64
	BotRejectCoresPeak            float64
	// UnderAttackAt is when the first edge turned to proof of work (-1: never).
	UnderAttackAt time.Duration
	Ran           time.Duration // how long the model ran
	Timeline      []Second      // per second, for the planner's chart
}

// Second is one second of the surge, as of its end.
type Second struct {
	At        time.Duration
	Arrivals  int     // legitimate arrivals in the second
	Admitted  int     // legitimate listeners let in in the second
	Line      int     // legitimate listeners waiting at its end
	Gate      int     // numbers drawn and not served (the gate's Waiting)
	Served    float64 // the line's served mark (numbers below it are in)
	AdmitRate float64 // the line's rate (the sum of the edges', as the keeper set it)
	Held      int     // listeners the edges hold
	CPU       float64 // the edges' mean busy share, 0..1 (0 when CPU is not modelled)
	// Bots is the botnet's join attempts in the second; UnderAttack the
	// edges in proof-of-work mode at its end; Difficulty theirs (bits).
	Bots        int
	UnderAttack int
	Difficulty  int
}

// result sums the run up.
func (s *sim) result() Result {
	r := s.res
	total := s.cfg.legit()
	r.Admitted, r.Refused = min(round(s.admitted), total), min(round(s.refused), total)
	r.StillWaiting = max(total-r.Admitted-r.Refused, 0)
	r.Admitted = total - r.Refused - r.StillWaiting
	r.TimeToAdmit, r.LineWait = s.wait.waits(), s.lwait.waits()
	r.LongestLine, r.LongestLineAt, r.LongestGateLine = round(s.longest), dur(s.longestAt), round(s.longestGate)
	if r.LongestLine == 0 { // a share of a listener is no line
		r.LongestLineAt = 0
	}
	end := seconds(r.Ran)
	late := s.wait.over(60)
	for _, c := range s.stillWaiting() {
		cc := *c
		if old := cc.cutBorn(end - 60); old != nil {
			late += old.m
		}
	}
	r.WaitedOverMinute = round(late)
	r.AllAdmittedAt = -1
	if r.StillWaiting == 0 && r.Refused == 0 {
		r.AllAdmittedAt = dur(s.lastAdmit)
	}
	s.place()
	r.Held = round(s.ed.total())
	if cap := float64(s.cfg.CapacityPerEdge); cap > 0 {
		over := 0.0
		for _, h := range s.ed.held {
			over += max(h-cap, 0)
		}
		r.Overshoot = round(over)
	}
	r.BotRequests, r.BotAdmitted = round(s.bot.requests), round(s.bot.admitted)
	r.BotRateLimited, r.BotChallenged = round(s.bot.limited), round(s.bot.challenged)
	r.BotRejectCPUSeconds = s.bot.rejectUS / 1e6 / float64(s.cfg.Edges)
	r.BotRejectCoresPeak = s.bot.peakCores
	r.UnderAttackAt = -1
	if s.attackAt >= 0 {
		r.UnderAttackAt = dur(s.attackAt)
	}
	return r
}

// stillWaiting is every cohort not in yet.
func (s *sim) stillWaiting() []*cohort { return append(append([]*cohort{}, s.q...), s.held...) }
