package mix

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onair-live/onair/internal/program"
	"gopkg.in/hraban/opus.v2"
)

// ErrClosed is returned by Push once the speaker has been closed: replaced by
// a newer connection under the same name, or the mixer stopped.
var ErrClosed = errors.New("speaker closed (replaced by a new connection, or the show ended)")

// Speaker is one input of the mix: a jitter buffer that an ingest fills and
// the mixer drains, and the speaker's own decoder.
type Speaker struct {
	name string
	m    *Mixer
	// mixer goroutine only
	dec    *opus.Decoder
	pcm    []float32 // decoded samples not yet mixed
	frame  []float32 // this tick's audio
	active bool      // frame holds audio this tick
	ret    *returnPath

	mu       sync.Mutex
	jb       jitter
	finished bool          // the input ended: play out what is queued, then leave
	space    chan struct{} // signalled when the mixer drains the queue
	done     chan struct{} // closed when the speaker is removed
	doneOnce sync.Once
	joined   time.Time
	lastRMS  float32
	lastLoud time.Time // last frame above talkLevel

	muted atomic.Bool // a host muted the speaker: decoded, not mixed
}

// talkLevel is the frame RMS above which a speaker counts as talking, and
// talkHold how long that lasts after the last such frame, so the stage does
// not flicker between words.
const (
	talkLevel = 0.01
	talkHold  = 500 * time.Millisecond
)

// SpeakerStats is the mixer's view of one speaker.
type SpeakerStats struct {
	Name      string  `json:"name"`
	State     string  `json:"state"` // buffering, playing, finished
	BufferMS  float64 `json:"buffer_ms"`
	TargetMS  float64 `json:"target_ms"`
	Packets   int     `json:"packets"`
	Underruns int     `json:"underruns"`
	Concealed int     `json:"concealed_frames"`
	Dropped   int     `json:"dropped_packets"`
	Level     float32 `json:"level"` // RMS of the last mixed frame, 0..1
	Talking   bool    `json:"talking"`
	Muted     bool    `json:"muted,omitempty"`
}

// SpeakerOptions tune one speaker.
type SpeakerOptions struct {
	// LowLatency keeps a shallow jitter buffer, for inputs that send one
	// packet every 20 ms (WebRTC) rather than pages of several.
	LowLatency bool
	// Return, when set, gets the speaker's mix-minus every 20 ms: everyone
	// but the speaker, encoded for this speaker alone, so a conversation
	// feels live. It runs on the mixer goroutine and must not block.
	Return func(pkt []byte)
}

func newSpeaker(m *Mixer, name string, o SpeakerOptions) (*Speaker, error) {
	dec, err := opus.NewDecoder(48000, 1) // libopus downmixes stereo input
	if err != nil {
		return nil, err
	}
	s := &Speaker{name: name, m: m, dec: dec, frame: make([]float32, program.FrameSamples),
		space: make(chan struct{}, 1), done: make(chan struct{}), joined: time.Now()}
	s.jb = newJitter(o.LowLatency)
	if o.Return != nil {
		if s.ret, err = newReturnPath(o.Return); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Name is the speaker's name in the space.
func (s *Speaker) Name() string { return s.name }

// Done is closed when the speaker has left the mix for good.
func (s *Speaker) Done() <-chan struct{} { return s.done }

// SetMuted mutes or unmutes the speaker in the program and in everyone's
// mix-minus; its input keeps flowing so unmuting is instant.
func (s *Speaker) SetMuted(m bool) { s.muted.Store(m) }

// Remove takes the speaker off the stage now: Done closes, so its ingest or
// WHIP session ends (a host removed it, or its token was revoked).
func (s *Speaker) Remove() { s.m.drop(s) }

// Push queues one Opus packet of the given duration (48 kHz samples). It
// copies pkt. It blocks while the backlog exceeds a few seconds, which paces
// an encoder that sends faster than real time.
func (s *Speaker) Push(ctx context.Context, pkt []byte, samples int) error {
	return s.queue(ctx, packet{data: append([]byte(nil), pkt...), samples: samples})
}

// PushPCM queues decoded audio (48 kHz mono), for inputs in a codec other
// than Opus: they are decoded on the ingest's goroutine, so the mixer's
// tick costs the same whatever the codec. It copies pcm and paces as Push.
func (s *Speaker) PushPCM(ctx context.Context, pcm []float32) error {
	return s.queue(ctx, packet{pcm: append([]float32(nil), pcm...), samples: len(pcm)})
}

func (s *Speaker) queue(ctx context.Context, p packet) error {
	for {
		s.mu.Lock()
		if s.finished {
			s.mu.Unlock()
			return ErrClosed
		}
		if samplesDur(s.jb.queued) < maxBacklog {
			s.jb.arrive(time.Now(), p)
			s.mu.Unlock()
			return nil
		}
		s.mu.Unlock()
		select {
		case <-s.space:
		case <-s.done:
			return ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close ends the speaker's input: what is queued still plays out, then the
// speaker leaves the mix. It is safe to call more than once.
func (s *Speaker) Close() {
	s.mu.Lock()
	s.finished = true
	s.mu.Unlock()
}

// remove takes the speaker out for good (replaced, or the mixer stopped).
func (s *Speaker) remove() {
	s.Close()
	s.doneOnce.Do(func() { close(s.done) })
}

// next fills out with the speaker's next 20 ms and reports whether it has
// anything to mix, and whether it is gone for good.
func (s *Speaker) next(out []float32) (active, gone bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished {
		s.jb.playing = true // play out the rest, however little
	}
	for len(s.pcm) < len(out) && s.jb.ready() {
		p, ok := s.jb.pop()
		if !ok {
			break
		}
		s.decode(p)
	}
	select {
	case s.space <- struct{}{}:
	default:
	}
	if len(s.pcm) >= len(out) {
		s.jb.starved = 0
		copy(out, s.pcm)
		s.pcm = s.pcm[:copy(s.pcm, s.pcm[len(out):])]
		s.jb.trim()
		s.lastRMS = rms(out)
		if s.lastRMS > talkLevel {
			s.lastLoud = time.Now()
		}
		return true, false
	}
	return s.starve(out)
}

// decode appends one packet's samples; a packet libopus rejects is concealed.
// Decoded audio (PushPCM) is appended as it is.
func (s *Speaker) decode(p packet) {
	if p.pcm != nil {
		s.pcm = append(s.pcm, p.pcm...)
		return
	}
	n := len(s.pcm)
	s.pcm = slices.Grow(s.pcm, p.samples)[:n+p.samples]
	got, err := s.dec.DecodeFloat32(p.data, s.pcm[n:])
	if err != nil {
		s.jb.concealed++
		if s.dec.DecodePLCFloat32(s.pcm[n:]) != nil {
			clear(s.pcm[n:])
		}
		return
	}
	s.pcm = s.pcm[:n+got]
}

// starve handles a tick with too little audio: conceal a few frames (a
// late packet should not click), then drop out and rebuffer.
func (s *Speaker) starve(out []float32) (active, gone bool) {
	if s.finished && len(s.jb.queue) == 0 {
		return false, true
	}
	if !s.jb.playing {
		return false, false
	}
	if s.jb.starved == 0 {
		s.jb.underruns++
	}
	s.jb.starved++
	if s.jb.starved > plcFrames {
		s.jb.playing = false
		s.pcm = s.pcm[:0]
		return false, false
	}
	s.jb.concealed++
	s.lastRMS = 0
	n := copy(out, s.pcm)
	s.pcm = s.pcm[:0]
	if err := s.dec.DecodePLCFloat32(out[n:]); err != nil {
		clear(out[n:])
	}
	return true, false
}

func (s *Speaker) stats() SpeakerStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := SpeakerStats{Name: s.name, State: "buffering", BufferMS: ms(samplesDur(s.jb.queued)),
		TargetMS: ms(s.jb.target()), Packets: s.jb.packets, Underruns: s.jb.underruns,
		Concealed: s.jb.concealed, Dropped: s.jb.dropped, Level: s.lastRMS, Muted: s.muted.Load()}
	st.Talking = !st.Muted && time.Since(s.lastLoud) < talkHold
	switch {
	case s.finished:
		st.State = "finished"
	case s.jb.playing:
		st.State = "playing"
	}
	return st
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
