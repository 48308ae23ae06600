package load

import (
	"math"
	"time"
)

// Arrival shapes.
const (
	ShapeBurst = "burst" // everyone at once
	ShapeRamp  = "ramp"  // linear over the window
	ShapeFlash = "flash" // a flash crowd: exponential decay, ~63% in the first fifth
)

// flashTau is the decay constant of the flash curve as a share of the window:
// 1/5 puts 1-1/e = 63% of the arrivals in the first fifth.
const flashTau = 0.2

// Arrival returns when listener i of n arrives, from the start of the run.
func Arrival(shape string, window time.Duration, i, n int) time.Duration {
	if n <= 0 || window <= 0 {
		return 0
	}
	u := (float64(i) + 0.5) / float64(n) // the listener's share of the crowd, in (0, 1)
	w := window.Seconds()
	var t float64
	switch shape {
	case ShapeRamp:
		t = float64(i) / float64(n) * w
	case ShapeFlash:
		// The inverse of the CDF F(t) = (1 - e^(-t/τ)) / (1 - e^(-W/τ)) on [0, W].
		tau := flashTau * w
		t = -tau * math.Log(1-u*(1-math.Exp(-w/tau)))
	default:
		return 0
	}
	return time.Duration(math.Min(math.Max(t, 0), w) * float64(time.Second))
}
