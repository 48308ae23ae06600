package surge

import "math/rand/v2"

// arrivals yields one wave's arrivals step by step: evenly spread (a
// fluid share of the wave per step) or at the times of a Poisson process
// given its count (N uniform times in order, drawn as normalised sums of
// exponential gaps, so no times are kept in memory).
type arrivals struct {
	start, end float64
	n          float64
	given      float64
	// Poisson: the stream of gaps, their total (for N+1 gaps), and the next arrival.
	rng   *rand.Rand
	total float64
	sum   float64
	next  float64
	left  int
}

func newArrivals(w Wave, poisson bool, seed int64, wave int) *arrivals {
	a := &arrivals{start: seconds(w.Start), end: seconds(w.Start + w.Over), n: float64(w.N)}
	if !poisson || w.Over == 0 || w.N == 0 {
		return a
	}
	src := func() *rand.Rand { return rand.New(rand.NewPCG(uint64(seed), uint64(wave)+1)) }
	pass := src()
	for range w.N + 1 {
		a.total += pass.ExpFloat64()
	}
	a.rng, a.left = src(), w.N
	a.advance()
	return a
}

func (a *arrivals) advance() {
	a.sum += a.rng.ExpFloat64()
	a.next = a.start + (a.end-a.start)*a.sum/a.total
}

// take is the arrivals in [t, te): how many, and when the first and the
// last of them came.
func (a *arrivals) take(t, te float64) (m, first, last float64) {
	switch {
	case a.given >= a.n:
		return 0, 0, 0
	case a.rng != nil:
		return a.takePoisson(te)
	case a.end <= a.start: // all at once
		if a.start >= te {
			return 0, 0, 0
		}
		a.given = a.n
		return a.n, a.start, a.start
	}
	lo, hi := max(t, a.start), min(te, a.end)
	if hi <= lo {
		return 0, 0, 0
	}
	m = a.n * (hi - lo) / (a.end - a.start)
	if hi >= a.end {
		m = a.n - a.given
	}
	a.given += m
	return m, lo, hi
}

func (a *arrivals) takePoisson(te float64) (m, first, last float64) {
	for a.left > 0 && a.next < te {
		if m == 0 {
			first = a.next
		}
		last = a.next
		m++
		a.left--
		a.advance()
	}
	a.given += m
	return m, first, last
}
