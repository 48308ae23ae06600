package mix

import (
	"time"
)

// Jitter-buffer bounds. The target depth adapts to how bursty a speaker's
// arrivals are: 20 ms pages from a tuned encoder settle near minTarget, an
// encoder that sends one page a second settles near a second.
const (
	minTarget = 60 * time.Millisecond
	maxTarget = 3 * time.Second
	margin    = 40 * time.Millisecond
	// A low-latency speaker (WebRTC: one packet per datagram, paced by the
	// sender) keeps a shallower buffer: speakers hear each other through it.
	lowLatencyMinTarget = 30 * time.Millisecond
	lowLatencyMargin    = 20 * time.Millisecond // until the jitter is measured
	minMargin           = 10 * time.Millisecond
	gapDecay            = 10 * time.Second // how fast the target shrinks once arrivals calm down
	plcFrames           = 3                // frames concealed before a starved speaker drops out
	maxBacklog          = 4 * time.Second  // Push blocks beyond this: paces encoders that send faster than real time
	// burstWindow groups packets that arrive together into one burst.
	burstWindow = 5 * time.Millisecond
)

type packet struct {
	data    []byte    // an Opus packet, or
	pcm     []float32 // audio decoded by the ingest (48 kHz mono)
	samples int
}

// jitter is a speaker's packet queue and its adaptive target depth. It is
// guarded by the speaker's mutex.
type jitter struct {
	minTarget, margin time.Duration
	adaptive          bool          // margin follows the measured arrival jitter
	dev               time.Duration // mean deviation of arrival gaps from packet durations (RFC 3550 style)
	queue             []packet
	queued            int // samples queued
	lastPush          time.Time
	peakGap           time.Duration // decaying maximum of inter-arrival gaps and bursts
	burst             int           // samples in the current burst
	playing           bool          // false while (re)buffering up to the target
	starved           int           // consecutive frames concealed
	// stats
	packets, underruns, concealed, dropped int
}

func newJitter(lowLatency bool) jitter {
	if lowLatency {
		return jitter{minTarget: lowLatencyMinTarget, margin: lowLatencyMargin, adaptive: true}
	}
	return jitter{minTarget: minTarget, margin: margin}
}

func samplesDur(n int) time.Duration {
	return time.Duration(n) * time.Second / 48000
}

// arrive records a packet's arrival and adapts the target. Packets that
// arrive together (one Ogg page) form a burst: an encoder that sends a page
// of a second will not send again for about a second, so the target grows
// from the first page on, before the first gap is ever seen.
func (j *jitter) arrive(now time.Time, p packet) {
	gap := now.Sub(j.lastPush)
	if j.lastPush.IsZero() || gap >= burstWindow {
		j.burst = 0
	}
	j.burst += p.samples
	obs := samplesDur(j.burst)
	if !j.lastPush.IsZero() {
		obs = max(obs, gap)
	}
	if obs > j.peakGap {
		j.peakGap = obs
	} else {
		// Exponential decay toward recent observations, scaled by the time
		// that passed, so how fast it shrinks does not depend on packet rate.
		j.peakGap -= time.Duration(float64(j.peakGap-obs) * min(1, float64(gap)/float64(gapDecay)))
	}
	if j.adaptive && !j.lastPush.IsZero() {
		d := gap - samplesDur(p.samples)
		if d < 0 {
			d = -d
		}
		j.dev += (d - j.dev) / 16
		j.margin = min(max(4*j.dev, minMargin), maxTarget)
	}
	j.lastPush = now
	j.queue = append(j.queue, p)
	j.queued += p.samples
	j.packets++
}

func (j *jitter) target() time.Duration {
	return min(max(j.peakGap+j.margin, j.minTarget), maxTarget)
}

// ready reports whether the speaker should be mixed this tick: playing, or
// buffered up to its target.
func (j *jitter) ready() bool {
	if !j.playing && samplesDur(j.queued) >= j.target() {
		j.playing = true
	}
	return j.playing
}

// pop takes the next packet, or reports a starved queue.
func (j *jitter) pop() (packet, bool) {
	if len(j.queue) == 0 {
		return packet{}, false
	}
	p := j.queue[0]
	j.queue[0] = packet{}
	j.queue = j.queue[1:]
	j.queued -= p.samples
	return p, true
}

// trim drops the oldest packets when the backlog is far above the target
// (after a stall, an encoder bursts): latency comes back down at the cost of
// one skip, instead of staying high for the rest of the show.
func (j *jitter) trim() {
	limit := 2*j.target() + 200*time.Millisecond
	for samplesDur(j.queued) > limit && len(j.queue) > 0 {
		j.pop()
		j.dropped++
	}
}
