// Package mix is the origin's mixer: per speaker a jitter buffer, concealment
// and a libopus decoder; per space one clock, a sum, a limiter and one encode.
package mix

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onair-live/onair/internal/program"
	"github.com/onair-live/onair/internal/telemetry"
	"gopkg.in/hraban/opus.v2"
)

// Config sets the program's encoding.
type Config struct {
	Bitrate     int    // program bit/s (default 48000)
	MaxSpeakers int    // speakers mixed at once (default 32)
	Stats       *Stats // where the clock's health is counted (nil: nowhere)
}

// Stats is how well the mixers of a node keep time, for its receipts: a
// starved node shows here first (its program late, then ticks skipped),
// whatever its listeners' sockets say.
type Stats struct {
	Late    telemetry.Hist // how late each wake-up ran its first due tick
	Skipped atomic.Int64   // ticks skipped for being over a second behind
}

// ErrFull is returned when a space already has MaxSpeakers speakers.
var ErrFull = errors.New("the space has the most speakers it can mix")

// maxPacketBytes bounds one encoded program frame (the Opus maximum).
const maxPacketBytes = 1275

// Mixer mixes the speakers of one space on a 20 ms clock that runs whether
// or not anyone speaks. Before GoLive it mixes without publishing (the green
// room); from GoLive every tick publishes one program frame.
type Mixer struct {
	cfg     Config
	publish func(program.Frame)

	mu       sync.Mutex
	speakers map[string]*Speaker
	live     bool
	liveAt   time.Time

	enc *opus.Encoder // mixer goroutine only, once live
	seq uint64        // mixer goroutine only, once live (GoLiveAt sets it before)

	stop, stopped chan struct{}
	stopOnce      sync.Once

	// mixer goroutine only
	sum, frame []float32 // frame: scratch for mix-minus
	lim        limiter
	buf        []byte
}

// New returns a mixer that hands every program frame to publish, on the
// mixer's goroutine: publish must not block.
func New(cfg Config, publish func(program.Frame)) (*Mixer, error) {
	if cfg.Bitrate <= 0 {
		cfg.Bitrate = 48000
	}
	if cfg.MaxSpeakers <= 0 {
		cfg.MaxSpeakers = 32
	}
	if cfg.Bitrate < 6000 || cfg.Bitrate > 510000 {
		return nil, fmt.Errorf("bitrate %d out of the Opus range 6000-510000", cfg.Bitrate)
	}
	enc, err := opus.NewEncoder(program.SampleRate, 1, opus.AppAudio)
	if err != nil {
		return nil, err
	}
	if err := enc.SetBitrate(cfg.Bitrate); err != nil {
		return nil, err
	}
	return &Mixer{cfg: cfg, publish: publish, enc: enc, speakers: make(map[string]*Speaker),
		stop: make(chan struct{}), stopped: make(chan struct{}),
		sum: make([]float32, program.FrameSamples), frame: make([]float32, program.FrameSamples),
		lim: limiter{gain: 1}, buf: make([]byte, maxPacketBytes)}, nil
}

// AddSpeaker adds a speaker with default options.
func (m *Mixer) AddSpeaker(name string) (*Speaker, error) {
	return m.AddSpeakerOpts(name, SpeakerOptions{})
}

// AddSpeakerOpts adds a speaker; one with the same name is replaced (an
// encoder that reconnects takes its own place back).
func (m *Mixer) AddSpeakerOpts(name string, o SpeakerOptions) (*Speaker, error) {
	s, err := newSpeaker(m, name, o)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	select {
	case <-m.stop:
		return nil, ErrClosed
	default:
	}
	old := m.speakers[name]
	if old == nil && len(m.speakers) >= m.cfg.MaxSpeakers {
		return nil, ErrFull
	}
	if old != nil {
		old.remove()
	}
	m.speakers[name] = s
	metricSpeakers.Inc()
	return s, nil
}

// GoLive starts publishing: the next tick is frame 0 of the program. The
// encoder has not run before, so the stream's pre-skip is exact.
func (m *Mixer) GoLive(now time.Time) { m.GoLiveAt(now, 0) }

// GoLiveAt is GoLive for a program that goes on from frame seq: a show
// picked up after its server died, whose recording holds frames 0 to
// seq-1. The fresh encoder's lookahead then sits at the join, 6.5 ms
// of delay, not a gap.
func (m *Mixer) GoLiveAt(now time.Time, seq uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.live {
		m.seq = seq
	}
	m.live, m.liveAt = true, now
}

// Speaker returns the speaker called name, or nil.
func (m *Mixer) Speaker(name string) *Speaker {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.speakers[name]
}

// Speakers returns the speakers' stats, by name.
func (m *Mixer) Speakers() []SpeakerStats {
	m.mu.Lock()
	list := make([]*Speaker, 0, len(m.speakers))
	for _, s := range m.speakers {
		list = append(list, s)
	}
	m.mu.Unlock()
	out := make([]SpeakerStats, len(list))
	for i, s := range list {
		out[i] = s.stats()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Start runs the clock.
func (m *Mixer) Start() { go m.run() }

// Stop stops the clock; a live mixer publishes the End frame first. Speakers
// are removed. It returns once the mixer goroutine is gone.
func (m *Mixer) Stop() {
	m.stopOnce.Do(func() { close(m.stop) })
	<-m.stopped
}

func (m *Mixer) run() {
	defer close(m.stopped)
	defer m.finish()
	next := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-timer.C:
		}
		// Catch up on ticks missed while the process was starved, so the
		// program keeps real-time pace; past a second behind, skip ahead.
		// next only ever moves by whole frames from the first reading:
		// time.Now's monotonic clock paces it, and frames' capture times
		// (the HLS PROGRAM-DATE-TIME) follow that reading, so a step of the
		// wall clock (NTP) moves neither the cadence nor the timestamps.
		now := time.Now()
		if st := m.cfg.Stats; st != nil {
			st.Late.Observe(max(0, now.Sub(next)))
		}
		if now.Sub(next) > time.Second {
			skipped := int64(now.Sub(next) / program.FrameDuration)
			metricSkippedTicks.Add(float64(skipped))
			if st := m.cfg.Stats; st != nil {
				st.Skipped.Add(skipped)
			}
			next = next.Add(time.Duration(skipped) * program.FrameDuration)
		}
		for !next.After(now) {
			m.tick(next)
			next = next.Add(program.FrameDuration)
		}
		timer.Reset(time.Until(next))
	}
}

// finish publishes the End frame of a live program and releases speakers.
func (m *Mixer) finish() {
	m.mu.Lock()
	live := m.live
	for name, s := range m.speakers {
		s.remove()
		delete(m.speakers, name)
		metricSpeakers.Dec()
	}
	m.mu.Unlock()
	if live {
		m.publish(program.Frame{Seq: m.seq, PTS: m.seq * program.FrameSamples, Capture: time.Now(), End: true})
	}
}

// active lists the speakers to pull this tick, dropping those who left.
func (m *Mixer) active(dst []*Speaker) ([]*Speaker, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.speakers {
		dst = append(dst, s)
	}
	return dst, m.live
}

func (m *Mixer) drop(s *Speaker) {
	m.mu.Lock()
	if m.speakers[s.name] == s {
		delete(m.speakers, s.name)
		metricSpeakers.Dec()
	}
	m.mu.Unlock()
	s.remove()
}

// tick mixes one 20 ms frame scheduled at t.
func (m *Mixer) tick(t time.Time) {
	start := time.Now()
	var arr [8]*Speaker
	speakers, live := m.active(arr[:0])
	clear(m.sum)
	for _, s := range speakers {
		active, gone := s.next(s.frame)
		s.active = active && !gone && !s.muted.Load()
		if gone {
			m.drop(s)
		}
		if s.active {
			for i, v := range s.frame {
				m.sum[i] += v
			}
		}
	}
	// Mix-minus first: it needs the raw sum.
	for _, s := range speakers {
		if s.ret != nil {
			s.ret.send(m.sum, s.frame, s.active, m.frame)
		}
	}
	m.lim.process(m.sum)
	if live {
		m.encode(t)
	}
	metricTick.Observe(time.Since(start).Seconds())
}

func (m *Mixer) encode(t time.Time) {
	n, err := m.enc.EncodeFloat32(m.sum, m.buf)
	if err != nil {
		metricEncodeErrors.Inc()
		return
	}
	f := program.Frame{Seq: m.seq, PTS: m.seq * program.FrameSamples, Capture: t,
		Packet: append([]byte(nil), m.buf[:n]...)}
	m.seq++
	m.publish(f)
}

// rms is the root mean square of a frame.
func rms(x []float32) float32 {
	var e float64
	for _, v := range x {
		e += float64(v) * float64(v)
	}
	return float32(math.Sqrt(e / float64(len(x))))
}
