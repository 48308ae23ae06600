package mix

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/program"
	"github.com/onair-live/onair/internal/synth"
	"gopkg.in/hraban/opus.v2"
)

// collector gathers published frames.
type collector struct {
	mu     sync.Mutex
	frames []program.Frame
}

func (c *collector) publish(f program.Frame) {
	c.mu.Lock()
	c.frames = append(c.frames, f)
	c.mu.Unlock()
}

func (c *collector) snapshot() []program.Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]program.Frame(nil), c.frames...)
}

// decode turns program frames back into samples with a real libopus decoder.
func decode(t *testing.T, frames []program.Frame) []float64 {
	t.Helper()
	dec, err := opus.NewDecoder(48000, 1)
	if err != nil {
		t.Fatal(err)
	}
	var out []float64
	pcm := make([]float32, 5760)
	for _, f := range frames {
		if f.End {
			continue
		}
		n, err := dec.DecodeFloat32(f.Packet, pcm)
		if err != nil {
			t.Fatalf("frame %d: %v", f.Seq, err)
		}
		for _, v := range pcm[:n] {
			out = append(out, float64(v))
		}
	}
	return out
}

func goertzel(x []float64, freq float64) float64 {
	w := 2 * math.Pi * freq / 48000
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = v+c*s1-s2, s1
	}
	return (s1*s1 + s2*s2 - c*s1*s2) / float64(len(x)*len(x))
}

func startMixer(t *testing.T) (*Mixer, *collector) {
	t.Helper()
	c := &collector{}
	m, err := New(Config{MaxSpeakers: 3}, c.publish)
	if err != nil {
		t.Fatal(err)
	}
	m.Start()
	t.Cleanup(m.Stop)
	return m, c
}

func speak(t *testing.T, ctx context.Context, m *Mixer, name string, freq float64) *Speaker {
	t.Helper()
	s, err := m.AddSpeaker(name)
	if err != nil {
		t.Fatal(err)
	}
	// 200 ms ahead: a busy test machine's scheduling hiccups must not
	// starve the speaker, since these tests judge the mixer.
	go synth.RunAhead(ctx, s, &synth.Tone{Freq: freq, Amp: 0.3}, 10)
	return s
}

// TestMixKeepsTimeWhenASpeakerStalls mixes two synthetic speakers, then
// stalls one: the program stays one frame per 20 ms with contiguous
// sequence numbers, and the other speaker's tone carries on at full level.
func TestMixKeepsTimeWhenASpeakerStalls(t *testing.T) {
	m, c := startMixer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	speak(t, ctx, m, "a", 440)
	bctx, stallB := context.WithCancel(ctx)
	speak(t, bctx, m, "b", 660)
	waitPlaying(t, m, 2)
	m.GoLive(time.Now())
	time.Sleep(time.Second)
	stallB() // b stops sending without closing: a stalled encoder
	time.Sleep(time.Second)
	frames := c.snapshot()

	if len(frames) < 90 || len(frames) > 110 {
		t.Fatalf("%d frames in 2 s, want ~100", len(frames))
	}
	for i, f := range frames {
		if f.Seq != uint64(i) || f.PTS != uint64(i)*program.FrameSamples {
			t.Fatalf("frame %d has seq %d pts %d", i, f.Seq, f.PTS)
		}
	}
	pcm := decode(t, frames)
	both := pcm[20*960 : 45*960] // 0.4–0.9 s: both speaking
	if goertzel(both, 440) < 100*goertzel(both, 1000) || goertzel(both, 660) < 100*goertzel(both, 1000) {
		t.Fatalf("both tones not in the mix while both speak: %v", m.Speakers())
	}
	after := pcm[70*960 : 95*960] // b stalled (and its buffer played out): only a
	if goertzel(after, 660) > goertzel(after, 440)/100 {
		t.Fatal("stalled speaker still in the mix")
	}
	// a's level is steady in every 100 ms window, before and after the stall.
	for w := 20 * 960; w+4800 <= 95*960; w += 4800 {
		const ref = 0.3 * 0.3 // squared amplitude of a's sine
		if p := goertzel(pcm[w:w+4800], 440) * 4; p < ref*0.7 || p > ref*1.4 {
			t.Fatalf("window at %.1f s: 440 Hz power %.4f, want ~%.4f", float64(w)/48000, p, ref)
		}
	}
	for _, st := range m.Speakers() {
		if st.Name == "b" && st.State != "buffering" {
			t.Errorf("stalled speaker state %q", st.State)
		}
	}
}

func waitPlaying(t *testing.T, m *Mixer, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		playing := 0
		for _, s := range m.Speakers() {
			if s.State == "playing" {
				playing++
			}
		}
		if playing == n {
			return
		}
	}
	t.Fatalf("speakers not playing: %+v", m.Speakers())
}

func TestSpeakerReplacedAndFull(t *testing.T) {
	m, _ := startMixer(t)
	a1, _ := m.AddSpeaker("a")
	a2, err := m.AddSpeaker("a")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-a1.Done():
	case <-time.After(time.Second):
		t.Fatal("replaced speaker not closed")
	}
	if err := a1.Push(context.Background(), []byte{0xf8, 0xff, 0xfe}, 960); !errors.Is(err, ErrClosed) {
		t.Fatalf("push to replaced speaker: %v", err)
	}
	if err := a2.Push(context.Background(), []byte{0xf8, 0xff, 0xfe}, 960); err != nil {
		t.Fatal(err)
	}
	m.AddSpeaker("b")
	m.AddSpeaker("c")
	if _, err := m.AddSpeaker("d"); !errors.Is(err, ErrFull) {
		t.Fatalf("fourth speaker of 3: %v", err)
	}
}

// TestClosedSpeakerPlaysOut checks that an encoder that finishes is heard
// to its last packet, then leaves.
func TestClosedSpeakerPlaysOut(t *testing.T) {
	m, c := startMixer(t)
	m.GoLive(time.Now())
	s, _ := m.AddSpeaker("a")
	pkts, err := synth.Packets(&synth.Tone{Freq: 440, Amp: 0.3}, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		s.Push(context.Background(), p, 960)
	}
	s.Close()
	select {
	case <-s.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("finished speaker never left the mix")
	}
	pcm := decode(t, c.snapshot())
	var loud int
	for i := 0; i+960 <= len(pcm); i += 960 {
		if goertzel(pcm[i:i+960], 440) > 1e-3 {
			loud++
		}
	}
	if loud < 9 {
		t.Fatalf("%d loud frames, want the 10 pushed", loud)
	}
}

func TestStopPublishesEnd(t *testing.T) {
	c := &collector{}
	m, _ := New(Config{}, c.publish)
	m.Start()
	m.GoLive(time.Now())
	time.Sleep(100 * time.Millisecond)
	m.Stop()
	fr := c.snapshot()
	if len(fr) == 0 || !fr[len(fr)-1].End || fr[len(fr)-1].Seq != uint64(len(fr)-1) {
		t.Fatalf("last of %d frames is not End", len(fr))
	}
}

func TestJitterTargetFollowsPageBursts(t *testing.T) {
	j := newJitter(false)
	now := time.Now()
	for range 50 { // one 1 s Ogg page arrives at once
		j.arrive(now, packet{samples: 960})
	}
	if tg := j.target(); tg < time.Second || tg > 1100*time.Millisecond {
		t.Fatalf("target after a 1 s burst: %v", tg)
	}
	if j.ready() {
		t.Fatal("played before buffering past one page")
	}
	k := newJitter(false) // 20 ms pages, on time: the floor
	for i := range 500 {
		k.arrive(now.Add(time.Duration(i)*20*time.Millisecond), packet{samples: 960})
	}
	if tg := k.target(); tg != minTarget {
		t.Fatalf("target for steady 20 ms arrivals: %v", tg)
	}
}

func TestLimiterBoundsLoudSums(t *testing.T) {
	l := limiter{gain: 1}
	x := make([]float32, 960)
	for n := range 50 {
		for i := range x {
			x[i] = float32(3 * math.Sin(float64(n*960+i)*0.05)) // 13 loud speakers' worth
		}
		l.process(x)
		for _, v := range x {
			if v > limitCeiling+1e-6 || v < -limitCeiling-1e-6 {
				t.Fatalf("sample %v over the ceiling", v)
			}
		}
	}
	quiet := []float32{0.1, -0.2, 0.3}
	l2 := limiter{gain: 1}
	l2.process(quiet)
	if quiet[0] != 0.1 || quiet[1] != -0.2 || quiet[2] != 0.3 {
		t.Fatalf("limiter changed quiet audio: %v", quiet)
	}
}

// BenchmarkTick measures one 20 ms mixer tick with n speakers: a packet
// arrives per speaker, each is decoded, summed, limited and encoded once.
// Below 20 ms / spaces-per-core, a core keeps up.
func BenchmarkTick(b *testing.B) {
	for _, n := range []int{1, 4, 13} {
		b.Run(map[int]string{1: "speakers=1", 4: "speakers=4", 13: "speakers=13"}[n], func(b *testing.B) {
			m, err := New(Config{}, func(program.Frame) {})
			if err != nil {
				b.Fatal(err)
			}
			m.GoLive(time.Now())
			var spk []*Speaker
			var pkts [][][]byte
			for i := range n {
				s, _ := m.AddSpeaker(string(rune('a' + i)))
				p, err := synth.Packets(&synth.Tone{Freq: 200 + 50*float64(i), Amp: 0.2}, 250)
				if err != nil {
					b.Fatal(err)
				}
				spk, pkts = append(spk, s), append(pkts, p)
			}
			now := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			for it := 0; it < b.N; it++ {
				for i, s := range spk {
					s.mu.Lock()
					s.jb.arrive(now, packet{data: pkts[i][it%250], samples: 960})
					s.mu.Unlock()
				}
				m.tick(now)
			}
		})
	}
}

// TestMixMinus gives two speakers a return path: each hears only the other,
// in the green room already (before the show is live).
func TestMixMinus(t *testing.T) {
	m, _ := startMixer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	got := map[string][]program.Frame{}
	add := func(name string, freq float64) {
		s, err := m.AddSpeakerOpts(name, SpeakerOptions{LowLatency: true, Return: func(pkt []byte) {
			mu.Lock()
			got[name] = append(got[name], program.Frame{Packet: append([]byte(nil), pkt...)})
			mu.Unlock()
		}})
		if err != nil {
			t.Fatal(err)
		}
		go synth.Run(ctx, s, &synth.Tone{Freq: freq, Amp: 0.3})
	}
	add("a", 440)
	add("b", 660)
	waitPlaying(t, m, 2)
	mu.Lock()
	got = map[string][]program.Frame{}
	mu.Unlock()
	time.Sleep(time.Second)
	mu.Lock()
	defer mu.Unlock()
	for name, want := range map[string][2]float64{"a": {660, 440}, "b": {440, 660}} {
		pcm := decode(t, got[name])
		if len(pcm) < 40*960 {
			t.Fatalf("%s got %d samples of mix-minus in 1 s", name, len(pcm))
		}
		pcm = pcm[5*960:]
		hear, own := goertzel(pcm, want[0]), goertzel(pcm, want[1])
		if hear < 1e-3 || own > hear/1000 {
			t.Fatalf("%s's mix-minus: other %.3g, own %.3g", name, hear, own)
		}
	}
}

// TestDecodedSpeakerMixesWithOpus: a speaker whose audio arrives decoded
// (PushPCM: Vorbis, MP3) is mixed beside an Opus one, at its level.
func TestDecodedSpeakerMixesWithOpus(t *testing.T) {
	m, c := startMixer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	speak(t, ctx, m, "opus", 440)
	pcmSpeaker, err := m.AddSpeaker("pcm")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		tick := time.NewTicker(program.FrameDuration)
		defer tick.Stop()
		chunk := make([]float32, program.FrameSamples)
		for n := 0; ; n++ {
			for i := range chunk {
				chunk[i] = float32(0.3 * math.Sin(2*math.Pi*660*float64(n*len(chunk)+i)/48000))
			}
			if pcmSpeaker.PushPCM(ctx, chunk) != nil {
				return
			}
			if n >= 10 { // 200 ms ahead, then in real time
				select {
				case <-tick.C:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	waitPlaying(t, m, 2)
	m.GoLive(time.Now())
	time.Sleep(time.Second)
	pcm := decode(t, c.snapshot())
	mid := pcm[10*960 : 45*960]
	for _, f := range []float64{440, 660} {
		const ref = 0.3 * 0.3
		if p := goertzel(mid, f) * 4; p < ref*0.7 || p > ref*1.4 {
			t.Errorf("%v Hz power %.4f, want ~%.4f: %v", f, p, ref, m.Speakers())
		}
	}
}
