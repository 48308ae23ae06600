package mix

import "math"

// limiter keeps the sum of several speakers inside full scale without hard
// clipping: a peak limiter with instant attack and a slow release, then a
// soft knee for whatever gets past the gain within a frame.
type limiter struct {
	gain float32
}

const (
	limitCeiling = 0.89    // about -1 dBFS
	limitRelease = 0.99985 // per-sample recovery toward unity: 6 dB back in about 100 ms
	knee         = float32(0.8 * limitCeiling)
)

func (l *limiter) process(x []float32) {
	var peak float32
	for _, v := range x {
		peak = max(peak, abs32(v))
	}
	if want := limitCeiling / peak; peak > limitCeiling && want < l.gain {
		l.gain = want // attack at once: this frame's peak fits
	}
	for i, v := range x {
		x[i] = softClip(v * l.gain)
		if l.gain < 1 {
			l.gain = min(1, l.gain/limitRelease)
		}
	}
}

// softClip is linear below the knee and bends smoothly toward the ceiling.
func softClip(v float32) float32 {
	a := abs32(v)
	if a <= knee {
		return v
	}
	over := (a - knee) / (limitCeiling - knee)
	y := knee + (limitCeiling-knee)*float32(math.Tanh(float64(over)))
	if v < 0 {
		return -y
	}
	return y
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}
