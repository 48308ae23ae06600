package gate

import (
	"sync"
	"time"
)

// Admission lets joins in at a rate the node can carry and queues the rest
// in a fair FIFO: every join draws the next number; numbers up to the
// "served" mark are in. The mark advances at the admit rate, which a
// controller sets from measured headroom (AIMD). Nobody already in is ever
// dropped; the queue costs no memory per waiter (their number travels in a
// signed queue token).
type Admission struct {
	mu     sync.Mutex
	next   uint64  // the number the next newcomer draws
	served float64 // numbers below this are admitted
	rate   float64 // admissions per second now
	last   time.Time
	cfg    AdmitConfig
	paused bool // the node is full: nobody more gets in until some leave
	claims claimLog
}

// AdmitConfig bounds the controller.
type AdmitConfig struct {
	MinRate, MaxRate float64 // admissions per second (defaults 20, 5000)
	StartRate        float64 // (default 500)
	Burst            float64 // admissions banked while nobody waits (default 1 s of rate)
	Increase         float64 // additive increase per healthy second (default 100)
	Decrease         float64 // multiplicative decrease when overloaded (default 0.7)
	// ClaimWindow is how long after its turn a number may go unclaimed
	// before its admission is given to the next in line (default 10 s).
	ClaimWindow time.Duration
}

func (c *AdmitConfig) defaults() {
	if c.MinRate <= 0 {
		c.MinRate = 20
	}
	if c.MaxRate <= 0 {
		c.MaxRate = 5000
	}
	if c.StartRate <= 0 {
		c.StartRate = 500
	}
	if c.Increase <= 0 {
		c.Increase = 100
	}
	if c.Decrease <= 0 || c.Decrease >= 1 {
		c.Decrease = 0.7
	}
	if c.ClaimWindow <= 0 {
		c.ClaimWindow = 10 * time.Second
	}
	// The maximum is the operator's promise (--admit-rate-max): a node
	// capped below the default start or floor starts and stays under it.
	// Unclamped, an edge capped at 200/s started at 500 and, overloaded
	// from its first second, only decayed from there: three such edges let
	// a surge in at ~1,200/s (bench/plan-check).
	c.MinRate = min(c.MinRate, c.MaxRate)
	c.StartRate = min(max(c.StartRate, c.MinRate), c.MaxRate)
}

// NewAdmission starts at the configured start rate.
func NewAdmission(cfg AdmitConfig, now time.Time) *Admission {
	cfg.defaults()
	return &Admission{cfg: cfg, rate: cfg.StartRate, last: now}
}

// advance moves the served mark by the time passed; banked admissions are
// capped, so an idle node does not let a whole crowd in at once.
func (a *Admission) advance(now time.Time) {
	dt := now.Sub(a.last).Seconds()
	a.last = now
	if dt <= 0 || a.paused {
		return
	}
	burst := a.cfg.Burst
	if burst <= 0 {
		burst = a.rate
	}
	a.served = min(a.served+a.rate*dt, float64(a.next)+burst)
	// Numbers whose turn came a claim window ago and that nobody used
	// (a bot's, or a listener who gave up) pass their admission on: the
	// line moves at the rate of listeners actually let in.
	if n := a.claims.audit(now, a.served, a.next, a.cfg.ClaimWindow); n > 0 {
		a.served = max(a.served, min(a.served+float64(n), float64(a.next)))
	}
}

// Ticket is a place in line.
type Ticket struct {
	Number   uint64
	Position uint64  // how many are ahead (0: admitted)
	ETA      float64 // seconds until admitted, at the current rate
	// Stale: the number is not one of this line's (an earlier keeper's
	// line, or another edge's fallback): its holder draws again, once.
	Stale bool
	// Claimed: the number was admitted and used already (at another edge
	// of a shared line): using it again is a replay.
	Claimed bool
}

// Join draws a number for a newcomer and says whether it is in now.
func (a *Admission) Join(now time.Time) Ticket {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.advance(now)
	n := a.next
	a.next++
	return a.check(n)
}

// Check says whether number n (from a queue token) is in now.
func (a *Admission) Check(n uint64, now time.Time) Ticket {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.advance(now)
	return a.check(n)
}

func (a *Admission) check(n uint64) Ticket {
	if float64(n) < a.served {
		a.claims.claim(n)
		return Ticket{Number: n}
	}
	ahead := uint64(float64(n)-a.served) + 1
	return Ticket{Number: n, Position: ahead, ETA: float64(ahead) / a.rate}
}

// Waiting is how many numbers drawn are not admitted yet.
func (a *Admission) Waiting() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if float64(a.next) <= a.served {
		return 0
	}
	return uint64(float64(a.next) - a.served)
}

// Rate is the current admit rate.
func (a *Admission) Rate() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rate
}

// Feedback adjusts the rate once per control period: additive increase
// while the node has headroom, multiplicative decrease when it does not.
func (a *Admission) Feedback(healthy bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if healthy {
		a.rate = min(a.rate+a.cfg.Increase, a.cfg.MaxRate)
	} else {
		a.rate = max(a.rate*a.cfg.Decrease, a.cfg.MinRate)
	}
}

// Pause stops admissions while the node is full (listeners at capacity);
// the line keeps its order. Admissions banked while nobody waited are
// withdrawn, or a full node would still let a burst in.
func (a *Admission) Pause(full bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.paused = full
	if full {
		a.served = min(a.served, float64(a.next))
	}
}

// SetRate pins the rate (an operator's override, or a test).
func (a *Admission) SetRate(r float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rate = min(max(r, a.cfg.MinRate), a.cfg.MaxRate)
}

// Mark is the line's counters: the next number to draw, and how many are
// served (for a keeper to save).
func (a *Admission) Mark(now time.Time) (next, served uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.advance(now)
	return a.next, uint64(min(a.served, float64(a.next)))
}

// Resume continues a line another process kept, from its counters (a
// keeper taking over): numbers below served are in, the next drawn is next.
func (a *Admission) Resume(next, served uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	served = min(served, next)
	a.next, a.served = next, float64(served)
	a.claims = claimLog{audited: served}
}

// Reclaimed is how many admissions went unclaimed and were passed on.
func (a *Admission) Reclaimed() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.claims.reclaimed
}

// claimLog remembers which admitted numbers were used, until their claim
// window is over: then the unused ones are counted once and forgotten.
// Its memory is bounded by the numbers served within one claim window.
type claimLog struct {
	audited   uint64              // numbers below this are settled
	used      map[uint64]struct{} // claimed numbers at or above audited
	marks     []servedAt          // the served mark over the last claim window, oldest first
	reclaimed uint64
}

type servedAt struct {
	at     time.Time
	served uint64
}

func (c *claimLog) claim(n uint64) {
	if n < c.audited {
		return // settled already: a late claimer is still in
	}
	if c.used == nil {
		c.used = make(map[uint64]struct{})
	}
	c.used[n] = struct{}{}
}

// audit notes the served mark at now and settles the numbers drawn (below
// next) and served more than window ago; it returns how many of them were
// never claimed.
func (c *claimLog) audit(now time.Time, served float64, next uint64, window time.Duration) uint64 {
	if k := len(c.marks); k == 0 || now.Sub(c.marks[k-1].at) >= window/20 {
		c.marks = append(c.marks, servedAt{at: now, served: uint64(served)})
	}
	limit := c.audited
	i := 0
	for ; i < len(c.marks) && now.Sub(c.marks[i].at) >= window; i++ {
		limit = max(limit, c.marks[i].served)
	}
	c.marks = c.marks[i:]
	limit = min(limit, next) // a banked burst runs ahead of the numbers drawn
	var unused uint64
	for n := c.audited; n < limit; n++ {
		if _, ok := c.used[n]; ok {
			delete(c.used, n)
		} else {
			unused++
		}
	}
	c.audited = limit
	c.reclaimed += unused
	if unused > 0 {
		metricDecisions.WithLabelValues("join", "reclaimed", "unclaimed").Add(float64(unused))
	}
	return unused
}
