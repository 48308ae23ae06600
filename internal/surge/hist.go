package surge

import (
	"math"
	"time"
)

// hist is a histogram of waits (seconds) with fluid weights: 1 ms bins up
// to half a second, then 512 bins per doubling (0.2% apart), so a
// percentile is exact to a millisecond or 0.2%, whichever is more.
type hist struct {
	bins  []float64
	total float64
	sum   float64 // of the waits, for their mean
	max   float64
}

const (
	histLinear = 512 // 1 ms bins below this many ms
	histMS     = 1000.0
)

// index is the bin of a wait of ms milliseconds.
func index(ms float64) int {
	if ms < histLinear {
		return int(max(ms, 0))
	}
	e := math.Floor(math.Log2(ms / histLinear))
	return histLinear*(1+int(e)) + int(ms/math.Exp2(e)) - histLinear
}

// lower is where bin i starts, and its width, in ms.
func lower(i int) (float64, float64) {
	if i < histLinear {
		return float64(i), 1
	}
	e := float64(i/histLinear - 1)
	w := math.Exp2(e)
	return (float64(histLinear) + float64(i%histLinear)) * w, w
}

func (h *hist) addAt(ms, n float64) {
	i := index(ms)
	for len(h.bins) <= i {
		h.bins = append(h.bins, 0)
	}
	h.bins[i] += n
}

// add counts n waits spread evenly over [w0, w1] seconds.
func (h *hist) add(w0, w1, n float64) {
	if n <= 0 {
		return
	}
	w0, w1 = max(min(w0, w1), 0), max(w0, w1, 0)
	h.total += n
	h.sum += n * (w0 + w1) / 2
	h.max = max(h.max, w1)
	a, b := w0*histMS, w1*histMS
	if b-a < 1 {
		h.addAt((a+b)/2, n)
		return
	}
	for i := index(a); ; i++ {
		lo, w := lower(i)
		hi := lo + w
		share := (min(hi, b) - max(lo, a)) / (b - a)
		h.addAt(lo, n*max(share, 0))
		if hi >= b {
			return
		}
	}
}

// quantile is the wait below which a share q of the counted waits are.
func (h *hist) quantile(q float64) time.Duration {
	if h.total <= 0 {
		return 0
	}
	want, sum := q*h.total, 0.0
	for i, n := range h.bins {
		if sum+n >= want && n > 0 {
			lo, w := lower(i)
			ms := lo + w*(want-sum)/n
			return min(dur(ms/histMS), dur(h.max))
		}
		sum += n
	}
	return dur(h.max)
}

// over is how many waits exceed s seconds.
func (h *hist) over(s float64) float64 {
	n := 0.0
	for i, c := range h.bins {
		lo, w := lower(i)
		switch {
		case lo >= s*histMS:
			n += c
		case lo+w > s*histMS:
			n += c * (lo + w - s*histMS) / w
		}
	}
	return n
}

func (h *hist) waits() Waits {
	mean := 0.0
	if h.total > 0 {
		mean = h.sum / h.total
	}
	return Waits{Mean: dur(mean), P50: h.quantile(0.5), P95: h.quantile(0.95), P99: h.quantile(0.99), Max: dur(h.max)}
}
