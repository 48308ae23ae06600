package surge

import "math"

// tiny is a share of a listener too small to follow.
const tiny = 1e-9

// joins is a step's draws: k numbers from lo, block id, shared by the
// cohorts that join (newcomers, and those back with a proof of work) and
// the botnet's joins, in arrival order. A member whose number the served
// mark had passed when it drew is in at once (Admission.Join, the bank);
// the rest are answered as any check is.
func (s *sim) joins(draws []*cohort, bots, lo, k float64, id int, t, te float64, markAt func(float64) float64) {
	hi := lo + k
	d0, d1 := t, te // when the block's numbers were drawn
	if len(draws) == 1 && bots == 0 {
		d0 = min(max(draws[0].born0+draws[0].solve, t), te)
		d1 = min(max(draws[0].born1+draws[0].solve, t), te)
	}
	drawnAt := func(x float64) float64 { return d0 + (d1-d0)*(x-lo)/k }
	// In at once where the mark at the draw is past the number: a linear
	// condition in x, so an interval [xa, xb).
	gl, gh := markAt(d0)+0.5-lo, markAt(d1)+0.5-hi
	xa, xb := lo, lo
	switch {
	case gl > 0 && gh > 0:
		xb = hi
	case gl > 0:
		xb = lo + k*gl/(gl-gh)
	case gh > 0:
		xa, xb = lo+k*gl/(gl-gh), hi
	}
	in := (xb - xa) / k
	s.botDrawn(in)
	s.ln.claim(id, bots*in)
	for _, c := range draws {
		c.lo, c.hi, c.drawn, c.block = lo, hi, true, id
		before := c.cut(xa)
		if now := c.cut(xb); now != nil {
			s.admit(now, drawnAt(now.lo), drawnAt(now.hi), true)
		}
		for _, rest := range []*cohort{before, c} {
			if rest != nil && rest.m > tiny {
				s.check(rest, te, markAt(te))
			}
		}
	}
}

// check is a waiter's request at p, the mark at sp (Gate.Admit): in if
// the mark is past its number; held a moment if due within shortWait;
// else 202 with Retry-After ceil(ETA/2) in [1, 30] s, ETA its place over
// the rate, and back then. One who has waited past Patience is gone.
func (s *sim) check(c *cohort, p, sp float64) {
	if s.cfg.Patience > 0 {
		if gone := c.cutBorn(p - seconds(s.cfg.Patience)); gone != nil {
			s.refused += gone.m
			s.waiting -= gone.m
		}
	}
	if in := c.cut(sp + 0.5); in != nil {
		s.admit(in, p, p, false)
	}
	if c.m <= tiny {
		return
	}
	r := s.ln.rate
	if h := c.cut(sp + shortWait*r); h != nil {
		h.heldAt, h.heldS, h.heldRate, h.at = p, sp, r, p+shortWait+holdSlack
		s.held = append(s.held, h)
	}
	for k := min(max(1, int(math.Ceil((c.lo-sp)/(2*r)))), maxRetry); c.m > tiny; k++ {
		bound := sp + 2*float64(k)*r
		if k >= maxRetry {
			bound = math.Inf(1)
		}
		if part := c.cut(bound); part != nil && part.m > tiny {
			part.at = p + float64(k)
			s.request(part.m, s.cfg.RejectCostUS)
			s.q.add(part)
		}
	}
}

// holds lets in the held members the mark passed by te, each once its
// ETA and 5 ms are over (the gate sleeps that long, then checks); those
// still not in when their hold ends are answered as any check.
func (s *sim) holds(te float64, markAt func(float64) float64) {
	old := s.held
	s.held = nil
	for _, h := range old {
		until := min(h.at, te)
		if part := h.cut(markAt(until) + 0.5); part != nil {
			at := func(x float64) float64 {
				return max(part.heldAt+(x-part.heldS)/part.heldRate, s.ln.servedAt(x)) + holdSlack
			}
			s.admit(part, at(part.lo), at(part.hi), false)
		}
		switch {
		case h.m <= tiny:
		case h.at < te:
			s.check(h, h.at, markAt(h.at))
		default:
			s.held = append(s.held, h)
		}
	}
}

// admit lets c's members in, from ta (the one at lo) to tb (at hi):
// their numbers are claimed, their waits counted, and they go to the
// edges Choose picks.
func (s *sim) admit(c *cohort, ta, tb float64, atDraw bool) {
	if atDraw {
		// The step's time can be before a proof of work solved within
		// the step: nobody is in before the join that drew the number
		// (bench/fuzz-long found a time to admit 8 ms short of the solve).
		ta, tb = max(ta, c.born0+c.solve), max(tb, c.born1+c.solve)
	}
	s.ln.claim(c.block, c.m)
	s.wait.add(ta-c.born0, tb-c.born1, c.m)
	if atDraw {
		s.lwait.add(c.solve, c.solve, c.m)
	} else {
		s.lineWait(c)
	}
	s.admitted += c.m
	s.waiting -= c.m
	s.sec.admitted += c.m
	s.stepIn += c.m
	s.lastAdmit = max(s.lastAdmit, ta, tb)
	s.request(c.m, s.cfg.JoinCostUS)
}

// lineWait counts c's members' waits from arrival to when the line served
// their numbers, in pieces (the rate changes between them).
func (s *sim) lineWait(c *cohort) {
	w := func(x float64) float64 {
		born := c.bornAt(x)
		return max(s.ln.servedAt(x), born+c.solve) - born
	}
	span := s.ln.servedAt(c.hi) - s.ln.servedAt(c.lo)
	n := min(max(int(span/0.25)+1, 1), 64)
	step := (c.hi - c.lo) / float64(n)
	prev := w(c.lo)
	for j := 1; j <= n; j++ {
		next := w(c.lo + step*float64(j))
		s.lwait.add(prev, next, c.m/float64(n))
		prev = next
	}
}
