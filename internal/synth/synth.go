// Package synth makes test speakers without ffmpeg: tones and a gentle
// melody, encoded with libopus and pushed in real time like an encoder.
package synth

import (
	"context"
	"math"
	"time"

	"github.com/onair-live/onair/internal/program"
	"gopkg.in/hraban/opus.v2"
)

// Source fills 48 kHz mono samples, one frame at a time.
type Source interface {
	Fill(pcm []float32)
}

// Tone is a sine at Freq Hz and Amp (0..1).
type Tone struct {
	Freq, Amp float64
	phase     float64
}

// Fill implements Source.
func (t *Tone) Fill(pcm []float32) {
	step := 2 * math.Pi * t.Freq / program.SampleRate
	for i := range pcm {
		pcm[i] = float32(t.Amp * math.Sin(t.phase))
		t.phase = math.Mod(t.phase+step, 2*math.Pi)
	}
}

// Melody plays a slow pentatonic tune with soft attacks, pleasant enough to
// leave running in a demo.
type Melody struct {
	tone  Tone
	n     int // samples into the current note
	note  int
	notes []float64
}

// NewMelody returns the demo tune.
func NewMelody() *Melody {
	return &Melody{notes: []float64{392, 440, 523.25, 587.33, 659.25, 587.33, 523.25, 440}}
}

const noteSamples = program.SampleRate * 6 / 10 // 0.6 s per note

// Fill implements Source.
func (m *Melody) Fill(pcm []float32) {
	for i := range pcm {
		if m.n == noteSamples {
			m.n, m.note = 0, (m.note+1)%len(m.notes)
		}
		m.tone.Freq = m.notes[m.note]
		// A raised-cosine envelope per note: no clicks between notes.
		env := 0.5 - 0.5*math.Cos(2*math.Pi*float64(m.n)/noteSamples)
		m.tone.Amp = 0.3 * env
		m.tone.Fill(pcm[i : i+1])
		m.n++
	}
}

// Encoder turns a Source into 20 ms Opus packets.
type Encoder struct {
	src Source
	enc *opus.Encoder
	pcm []float32
	buf []byte
}

// NewEncoder encodes src at 32 kb/s, as a speaker's encoder would.
func NewEncoder(src Source) (*Encoder, error) {
	enc, err := opus.NewEncoder(program.SampleRate, 1, opus.AppVoIP)
	if err != nil {
		return nil, err
	}
	if err := enc.SetBitrate(32000); err != nil {
		return nil, err
	}
	return &Encoder{src: src, enc: enc, pcm: make([]float32, program.FrameSamples), buf: make([]byte, 1500)}, nil
}

// Next returns the next packet; it is valid until the next call.
func (e *Encoder) Next() ([]byte, error) {
	e.src.Fill(e.pcm)
	n, err := e.enc.EncodeFloat32(e.pcm, e.buf)
	return e.buf[:n], err
}

// Packets encodes n packets, each a copy.
func Packets(src Source, n int) ([][]byte, error) {
	e, err := NewEncoder(src)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, n)
	for i := range out {
		p, err := e.Next()
		if err != nil {
			return nil, err
		}
		out[i] = append([]byte(nil), p...)
	}
	return out, nil
}

// Pusher is where a synthetic speaker sends its packets (a mixer speaker).
type Pusher interface {
	Push(ctx context.Context, pkt []byte, samples int) error
}

// Run pushes src to p in real time, one 20 ms packet per tick, until ctx is
// done or p refuses a packet.
func Run(ctx context.Context, p Pusher, src Source) error {
	return RunAhead(ctx, p, src, 0)
}

// RunAhead is Run with the first ahead packets sent at once: a speaker
// whose buffer rides out scheduling hiccups of that many frames.
func RunAhead(ctx context.Context, p Pusher, src Source, ahead int) error {
	e, err := NewEncoder(src)
	if err != nil {
		return err
	}
	for range ahead {
		pkt, err := e.Next()
		if err != nil {
			return err
		}
		if err := p.Push(ctx, pkt, program.FrameSamples); err != nil {
			return err
		}
	}
	t := time.NewTicker(program.FrameDuration)
	defer t.Stop()
	for {
		pkt, err := e.Next()
		if err != nil {
			return err
		}
		if err := p.Push(ctx, pkt, program.FrameSamples); err != nil {
			return err
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
