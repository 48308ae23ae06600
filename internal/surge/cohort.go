package surge

import "container/heap"

// cohort is legitimate listeners who share a fate: one step's arrivals,
// or the part of them the line split off at a check. Its m members are
// spread evenly over the numbers [lo, hi) and arrived in number order,
// the one at lo at born0, the one at hi at born1; each drew its number
// solve seconds after it arrived (a proof of work first, under attack).
type cohort struct {
	lo, hi       float64
	m            float64
	born0, born1 float64
	solve        float64
	at           float64 // its next request: a poll, its join after a proof of work, a hold's end
	drawn        bool
	block        int
	// A hold (Gate.Admit's shortWait): held at heldAt, when the mark was
	// heldS and the rate heldRate, so each member's ETA is known.
	heldAt, heldS, heldRate float64
	i                       int // in the heap
}

func (c *cohort) bornAt(x float64) float64 {
	if c.hi <= c.lo {
		return c.born0
	}
	return c.born0 + (c.born1-c.born0)*(x-c.lo)/(c.hi-c.lo)
}

// cut splits off and returns the members below x (nil if none); c keeps
// the rest.
func (c *cohort) cut(x float64) *cohort {
	if x <= c.lo || c.m <= 0 {
		return nil
	}
	if x >= c.hi {
		left := *c
		c.m, c.lo = 0, c.hi
		return &left
	}
	f := (x - c.lo) / (c.hi - c.lo)
	left := *c
	left.hi, left.m, left.born1 = x, c.m*f, c.bornAt(x)
	c.born0, c.lo, c.m = left.born1, x, c.m*(1-f)
	return &left
}

// cutBorn splits off the members who arrived before t.
func (c *cohort) cutBorn(t float64) *cohort {
	switch {
	case c.born0 >= t:
		return nil
	case c.born1 < t || c.born1 <= c.born0:
		return c.cut(c.hi)
	}
	return c.cut(c.lo + (c.hi-c.lo)*(t-c.born0)/(c.born1-c.born0))
}

// queue is the cohorts waiting for their next request, soonest first.
type queue []*cohort

func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return q[i].at < q[j].at }
func (q queue) Swap(i, j int)      { q[i], q[j] = q[j], q[i]; q[i].i, q[j].i = i, j }
func (q *queue) Push(x any)        { c := x.(*cohort); c.i = len(*q); *q = append(*q, c) }
func (q *queue) Pop() any {
	old := *q
	c := old[len(old)-1]
	*q = old[:len(old)-1]
	return c
}

func (q *queue) add(c *cohort) { heap.Push(q, c) }

// due pops the next cohort whose request comes before t, if any.
func (q *queue) due(t float64) *cohort {
	if len(*q) == 0 || (*q)[0].at >= t {
		return nil
	}
	return heap.Pop(q).(*cohort)
}
