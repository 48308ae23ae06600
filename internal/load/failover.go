package load

import (
	"sync/atomic"
	"time"
)

// Failover: a listener whose stream ends or fails before its stay is over
// (its edge died, or cut it) re-joins with its ticket on the next edge, as
// the listener page does: a renewal (no queue, no proof of work), then it
// streams from the media URL that join answered. It tries its last answer's
// alternates first, then the other --target edges, then the edge it lost
// (which may come back), first at once, then after 100 ms, 200 ms, ... up
// to 1 s between tries, until its stay ends.
//
// The gap of a failover runs from the last audio received before the loss
// to the first new audio after it. The stall tracker runs on through it, as
// a player's buffer does: a gap longer than what the player had in hand
// plus the stall threshold is also a stall, counted with the others and
// charged to the edge that was lost. The new edge's stream begins with a
// start-up burst that repeats audio already heard: it is recognized by its
// mix time (Onair-First-Capture-Ms and granules, or HLS program date-times)
// and not counted twice.

// backoff is the wait before re-join attempt n (0: at once).
func backoff(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	return min(100*time.Millisecond<<(n-1), time.Second)
}

// dedupeSlack absorbs the millisecond rounding of Onair-First-Capture-Ms
// when two streams' mix clocks are compared.
const dedupeSlack = int64(2 * time.Millisecond)

// rejoin takes a listener whose stream was lost to another edge: true once
// a re-join got it a stream to read, false when its stay ended first.
func (ln *listener) rejoin() bool {
	r := ln.r
	cands := ln.candidates()
	for {
		if d := backoff(ln.attempt); d > 0 && !ln.pause(d) {
			return false
		}
		if ln.l.stopped.Load() || time.Now().UnixNano() >= ln.end {
			return false
		}
		t := cands[ln.attempt%len(cands)]
		ln.attempt++
		r.fo.attempts.Add(1)
		ln.lost = false
		if ln.connectTo(t) {
			if r.tgs[0].path != "" { // --url: no join, the same stream again
				ln.setEdge(t)
				return true
			}
			if ln.join(true) {
				return true
			}
		}
		r.fo.failed.Add(1)
	}
}

// loss closes the stream that was lost and starts a failover (unless
// --no-reconnect). A stream lost before any audio while failing over is
// one more failed attempt of the same failover.
func (ln *listener) loss() {
	r := ln.r
	now := time.Now().UnixNano()
	ln.endSegment(now)
	if ln.failing {
		r.fo.failed.Add(1)
		return
	}
	r.fo.lost.Add(1)
	if ln.edge != nil {
		ln.edge.lost.Add(1)
	}
	if r.cfg.NoReconnect {
		return
	}
	ln.failing, ln.dedupe = true, true
	ln.lostEdge = ln.edge
	ln.lossFrom = ln.lastAudio
	if ln.lossFrom == 0 {
		ln.lossFrom = now
	}
	r.fo.failingNow.Add(1)
}

// recovered closes a failover at the first new audio after it.
func (ln *listener) recovered(now int64) {
	r := ln.r
	ln.failing, ln.attempt = false, 0
	r.fo.failingNow.Add(-1)
	r.fo.reconnects.Add(1)
	ln.edge.reconnects.Add(1)
	r.h.gap.Record(ln.k, (now-ln.lossFrom)/1000)
}

// candidates are the edges to re-join on, in order: the alternates of the
// last join answer, then the other targets from the listener's own on (so
// that the listeners of a lost edge spread over the rest), then the edge
// that was lost. Each list is rotated by the listener's index for the same
// reason.
func (ln *listener) candidates() []target {
	lost := ln.at // the stream's server, when it was lost
	out := make([]target, 0, len(ln.alts)+len(ln.r.tgs))
	seen := map[string]bool{lost.addr: true}
	add := func(ts []target, from int) {
		for i := range ts {
			t := ts[(from+i)%len(ts)]
			if !seen[t.addr] {
				seen[t.addr] = true
				out = append(out, t)
			}
		}
	}
	add(ln.alts, ln.g)
	add(ln.r.tgs, ln.g+1)
	return append(out, lost)
}

// failoverCounts are one process's failover counters.
type failoverCounts struct {
	lost, reconnects, attempts, failed, gaveUp, stalls atomic.Int64
	missedNs, repeatedNs                               atomic.Int64
	failingNow                                         atomic.Int64 // listeners between a loss and audio again
}

// report returns the counts for the result.
func (f *failoverCounts) report(reconnect bool) FailoverReport {
	return FailoverReport{Reconnect: reconnect, Lost: f.lost.Load(), Reconnects: f.reconnects.Load(),
		Attempts: f.attempts.Load(), FailedAttempts: f.failed.Load(), GaveUp: f.gaveUp.Load(),
		Stalls: f.stalls.Load(), MissedS: float64(f.missedNs.Load()) / 1e9, RepeatedS: float64(f.repeatedNs.Load()) / 1e9}
}

// FailoverReport sums up the streams lost and how listeners came back.
type FailoverReport struct {
	Reconnect bool `json:"reconnect"` // false with --no-reconnect: a lost stream ends its listener
	// Streams lost before their listener's stay was over (an I/O error or a
	// premature end), each the start of a failover.
	Lost int64 `json:"lost"`
	// Failovers that ended with audio again, on whichever edge answered.
	Reconnects int64 `json:"reconnects"`
	// Re-joins tried, and those that did not bring audio back (the edge
	// refused or failed, or its stream was lost again before any audio).
	Attempts       int64 `json:"attempts"`
	FailedAttempts int64 `json:"failed_attempts"`
	// Listeners whose stay ended before any edge took them back.
	GaveUp int64 `json:"gave_up"`
	// Stall events that a failover caused (they ended with its first new
	// audio, or at the end of a listener that gave up): the player's buffer
	// ran out for more than the stall threshold. Also in stalls.events.
	Stalls int64 `json:"stalls"`
	// Audio that no edge delivered across the failovers: the new stream
	// began after the last audio heard before the loss.
	MissedS float64 `json:"missed_s"`
	// Audio the new edges repeated (their start-up bursts reach back before
	// the last audio heard), not counted again.
	RepeatedS float64 `json:"repeated_s"`
}

func (f *FailoverReport) merge(o FailoverReport) {
	f.Reconnect = f.Reconnect || o.Reconnect
	f.Lost += o.Lost
	f.Reconnects += o.Reconnects
	f.Attempts += o.Attempts
	f.FailedAttempts += o.FailedAttempts
	f.GaveUp += o.GaveUp
	f.Stalls += o.Stalls
	f.MissedS += o.MissedS
	f.RepeatedS += o.RepeatedS
}
