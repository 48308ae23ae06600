package surge

import "sort"

// line is the space's one waiting line as the keeper holds it: a
// gate.Admission (admit.go) driven by Keeper.steer. Its numbers are
// fluid: the draws of one step are one block [lo, hi), and a member at
// x in it holds the number x-0.5 on average, so it is in once the served
// mark passes x-0.5 (Admission.check: n < served).
type line struct {
	served, next float64
	rate         float64
	paused       bool
	burst        float64 // cfg.Burst: 0 one second of rate (the gate's), < 0 none

	// The claim log (claimLog): blocks of draws not settled yet, oldest
	// first, and the served mark every claimWindow/20.
	blocks  []block
	base    int // the id of blocks[0]
	marks   []mark
	audited float64
	reclaim float64 // numbers passed on unclaimed so far

	// The served mark at the end of every step, for when a number was
	// served (the line's own wait, apart from a waiter's polls).
	trail []float64
	dt    float64
}

type block struct{ lo, hi, claimed float64 }

type mark struct{ at, served float64 }

// bank is what the line may run ahead of its draws while nobody waits
// (Admission.advance: Burst, default the rate).
func (l *line) bank() float64 {
	switch {
	case l.burst < 0:
		return 0
	case l.burst == 0:
		return l.rate
	}
	return l.burst
}

// draw gives k numbers (one step's joins) and returns the block's id.
func (l *line) draw(k float64) (lo float64, id int) {
	lo = l.next
	l.next += k
	l.blocks = append(l.blocks, block{lo: lo, hi: l.next})
	return lo, l.base + len(l.blocks) - 1
}

// claim notes n admitted members of block id (claimLog.claim); a block
// settled already takes no claims (a late claimer is still in).
func (l *line) claim(id int, n float64) {
	if i := id - l.base; i >= 0 && i < len(l.blocks) {
		l.blocks[i].claimed += n
	}
}

// advance moves the served mark over one step ending at now: at the rate,
// within the bank, not while paused; then the claim audit passes on the
// numbers served a claim window ago that nobody claimed.
func (l *line) advance(now float64) {
	defer func() { // the mark's highest yet: a pause may withdraw the bank, never a number drawn
		if k := len(l.trail); k > 0 {
			l.trail = append(l.trail, max(l.trail[k-1], l.served))
		} else {
			l.trail = append(l.trail, l.served)
		}
	}()
	if l.paused {
		return
	}
	l.served = min(l.served+l.rate*l.dt, l.next+l.bank())
	if k := len(l.marks); k == 0 || now-l.marks[k-1].at >= claimWindow/20 {
		l.marks = append(l.marks, mark{now, l.served})
	}
	limit, i := l.audited, 0
	for ; i < len(l.marks) && now-l.marks[i].at >= claimWindow-1e-9; i++ {
		limit = max(limit, l.marks[i].served)
	}
	l.marks = l.marks[i:]
	limit = min(limit, l.next)
	unused, j := 0.0, 0
	for ; j < len(l.blocks) && l.blocks[j].hi <= limit; j++ {
		unused += max(l.blocks[j].hi-l.blocks[j].lo-l.blocks[j].claimed, 0)
	}
	l.blocks, l.base = l.blocks[j:], l.base+j
	l.audited = limit
	if unused > 0 {
		l.reclaim += unused
		l.served = max(l.served, min(l.served+unused, l.next))
	}
}

// pause is Admission.Pause: a full line stops and withdraws its bank.
func (l *line) pause(full bool) {
	l.paused = full
	if full {
		l.served = min(l.served, l.next)
	}
}

// setRate is Admission.SetRate on the keeper's line.
func (l *line) setRate(r float64) { l.rate = min(max(r, minRate), keeperMaxRate) }

func (l *line) waiting() float64 { return max(l.next-l.served, 0) }

// servedAt is when the member at x was served: the first step end at
// which the mark had passed x-0.5, interpolated within the step.
func (l *line) servedAt(x float64) float64 {
	k := sort.SearchFloat64s(l.trail, x-0.5)
	if k >= len(l.trail) {
		return float64(len(l.trail)) * l.dt
	}
	prev := 0.0
	if k > 0 {
		prev = l.trail[k-1]
	}
	f := 1.0
	if d := l.trail[k] - prev; d > 0 {
		f = min(max((x-0.5-prev)/d, 0), 1)
	}
	return (float64(k) + f) * l.dt
}
