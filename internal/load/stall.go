package load

// StallTracker models a player that starts playing the moment the first
// audio arrives and then plays in real time, tolerating up to Threshold of
// lateness: a stall is when the audio delivered falls behind the wall time
// since the first audio by more than Threshold. While stalled the player's
// clock stops (it rebuffers); the stall ends when audio arrives again.
//
// It needs no timer: the moment a stall began is known exactly from what was
// delivered (first audio + paused time + audio delivered + threshold), so
// each arrival settles the stall that ended with it. Times are Unix ns.
type StallTracker struct {
	Threshold int64

	started   bool
	t0        int64 // wall time of the first audio, plus the time spent stalled
	delivered int64 // audio delivered since t0, ns

	Stalls  int   // stall events
	Stalled int64 // total time stalled, ns
}

// Audio records dur ns of audio arriving at now. It returns true when a
// stall ended with this arrival.
func (s *StallTracker) Audio(now, dur int64) bool {
	if !s.started {
		s.started, s.t0, s.delivered = true, now, dur
		return false
	}
	ended := s.settle(now)
	s.delivered += dur
	return ended
}

// settle counts a stall in progress at now (if any) as ended at now.
func (s *StallTracker) settle(now int64) bool {
	began := s.Deadline()
	if now <= began {
		return false
	}
	s.Stalls++
	s.Stalled += now - began
	s.t0 += now - began
	return true
}

// Finish closes the account at now (the listener leaves): a stall in
// progress ends there.
func (s *StallTracker) Finish(now int64) {
	if s.started {
		s.settle(now)
	}
}

// Deadline is the wall time at which the player stalls if no more audio
// arrives (0 before the first audio).
func (s *StallTracker) Deadline() int64 {
	if !s.started {
		return 0
	}
	return s.t0 + s.delivered + s.Threshold
}

// Started reports whether any audio arrived.
func (s *StallTracker) Started() bool { return s.started }

// Delivered is the audio received so far, ns.
func (s *StallTracker) Delivered() int64 { return s.delivered }
