package server_test

import (
	"context"
	"math"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/program"
	"github.com/onair-live/onair/internal/rtc"
	"github.com/onair-live/onair/internal/synth"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"gopkg.in/hraban/opus.v2"
)

// gatedTone is silence until on is set, then a tone.
type gatedTone struct {
	on   atomic.Bool
	tone synth.Tone
}

func (g *gatedTone) Fill(pcm []float32) {
	if g.on.Load() {
		g.tone.Fill(pcm)
		return
	}
	clear(pcm)
}

// onsetDetector decodes every packet a peer receives and reports the first
// one that carries sound after being armed.
type onsetDetector struct {
	dec   *opus.Decoder
	buf   []float32
	armed atomic.Bool
	at    chan time.Time
}

func newOnset() *onsetDetector {
	dec, _ := opus.NewDecoder(48000, 1)
	return &onsetDetector{dec: dec, buf: make([]float32, 5760), at: make(chan time.Time, 1)}
}

func (o *onsetDetector) listen(pc *webrtc.PeerConnection) {
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			now := time.Now()
			n, err := o.dec.DecodeFloat32(pkt.Payload, o.buf)
			if err != nil || !o.armed.Load() {
				continue
			}
			var e float64
			for _, v := range o.buf[:n] {
				e += float64(v) * float64(v)
			}
			if math.Sqrt(e/float64(n)) > 0.02 {
				o.armed.Store(false)
				o.at <- now
			}
		}
	})
}

// BenchmarkWebRTCLatency measures the server-added latency of a tone onset
// from speaker A (WHIP) to speaker B's mix-minus and to a WHEP listener, on
// loopback: the time from A sending the first packet with sound to the
// other side receiving the first packet that decodes to sound. It includes
// the jitter buffer, the 20 ms mixer tick, one encode and packetization.
func BenchmarkWebRTCLatency(b *testing.B) {
	e := startServer(&testing.T{})
	defer e.srv.Shutdown(context.Background())
	id, tok := e.space("latency")
	t := &testing.T{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	src := &gatedTone{tone: synth.Tone{Freq: 440, Amp: 0.3}}
	var sentAt atomic.Int64
	a := newPeer(t)
	track, _ := webrtc.NewTrackLocalStaticSample(rtc.OpusCodec, "audio", "a")
	a.pc.AddTrack(track)
	if code, body := a.exchange(t, e.host+"/whip/"+id+"?speaker=a", tok); code != 201 {
		b.Fatalf("WHIP a: %d %s", code, body)
	}
	enc, _ := synth.NewEncoder(src)
	go func() {
		tick := time.NewTicker(program.FrameDuration)
		defer tick.Stop()
		for ctx.Err() == nil {
			on := src.on.Load()
			pkt, _ := enc.Next()
			if on && sentAt.Load() == 0 {
				sentAt.Store(time.Now().UnixNano())
			}
			_ = track.WriteSample(media.Sample{Data: pkt, Duration: program.FrameDuration})
			<-tick.C
		}
	}()
	bOnset := newOnset()
	bp := newPeer(t)
	bOnset.listen(bp.pc)
	bt, _ := webrtc.NewTrackLocalStaticSample(rtc.OpusCodec, "audio", "b")
	bp.pc.AddTrack(bt)
	if code, body := bp.exchange(t, e.host+"/whip/"+id+"?speaker=b", tok); code != 201 {
		b.Fatalf("WHIP b: %d %s", code, body)
	}
	e.transition(id, tok, "start")
	lOnset := newOnset()
	lp := newPeer(t)
	lOnset.listen(lp.pc)
	lp.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
	if code, body := lp.exchange(t, e.pub+"/whep/"+id+"?t="+e.join(id)["ticket"].(string), ""); code != 201 {
		b.Fatalf("WHEP: %d %s", code, body)
	}
	time.Sleep(time.Second) // ICE, DTLS and the jitter buffers settle
	var toB, toL time.Duration
	b.ResetTimer()
	for range b.N {
		src.on.Store(false)
		time.Sleep(400 * time.Millisecond) // silence reaches everyone
		sentAt.Store(0)
		bOnset.armed.Store(true)
		lOnset.armed.Store(true)
		src.on.Store(true)
		rb, rl := <-bOnset.at, <-lOnset.at
		sent := time.Unix(0, sentAt.Load())
		toB += rb.Sub(sent)
		toL += rl.Sub(sent)
	}
	b.ReportMetric(float64(toB.Microseconds())/1000/float64(b.N), "ms-speaker-to-speaker")
	b.ReportMetric(float64(toL.Microseconds())/1000/float64(b.N), "ms-speaker-to-whep")
}

// BenchmarkWHEPListenerCPU reports the CPU one WHEP listener costs per
// second of audio: the process's CPU with 50 listeners minus without, over
// 5 s. The pion clients run in the same process (they decrypt and parse
// what the server encrypts and sends), so this is an upper bound of the
// server's own share, roughly twice it.
func BenchmarkWHEPListenerCPU(b *testing.B) {
	t := &testing.T{}
	e := startServer(t)
	defer e.srv.Shutdown(context.Background())
	id, tok := e.space("whep cpu")
	spk, err := e.srv.Manager().Speaker(id, "synth")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go synth.Run(ctx, spk, &synth.Tone{Freq: 440, Amp: 0.3})
	e.transition(id, tok, "start")
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	const n, window = 50, 5 * time.Second
	measure := func() time.Duration {
		c0 := cpu()
		time.Sleep(window)
		return cpu() - c0
	}
	b.ResetTimer()
	for range b.N {
		idle := measure()
		var peers []*rtcPeer
		for range n {
			p := newPeer(t)
			p.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
			if code, body := p.exchange(t, e.pub+"/whep/"+id+"?t="+e.join(id)["ticket"].(string), ""); code != 201 {
				b.Fatalf("WHEP: %d %s", code, body)
			}
			peers = append(peers, p)
		}
		time.Sleep(2 * time.Second) // ICE and DTLS done
		busy := measure()
		for _, p := range peers {
			p.pc.Close()
		}
		b.ReportMetric(float64((busy-idle).Microseconds())/n/window.Seconds(), "us-per-listener-second")
	}
}
