package server_test

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/program"
	"github.com/onair-live/onair/internal/rtc"
	"github.com/onair-live/onair/internal/server"
	"github.com/onair-live/onair/internal/synth"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"gopkg.in/hraban/opus.v2"
)

// rtcPeer is a real pion client: a WHIP speaker or a WHEP listener.
type rtcPeer struct {
	pc       *webrtc.PeerConnection
	location string
	mu       sync.Mutex
	got      [][]byte // Opus payloads received
	arrivals []time.Time
}

func newPeer(t *testing.T) *rtcPeer {
	t.Helper()
	api, err := rtc.NewAPI(rtc.Config{})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	p := &rtcPeer{pc: pc}
	t.Cleanup(func() { pc.Close() })
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.got = append(p.got, append([]byte(nil), pkt.Payload...))
			p.arrivals = append(p.arrivals, time.Now())
			p.mu.Unlock()
		}
	})
	return p
}

// exchange posts the offer (with all candidates) and applies the answer.
func (p *rtcPeer) exchange(t *testing.T, url, token string) (int, string) {
	t.Helper()
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-done
	req, _ := http.NewRequest("POST", url, strings.NewReader(p.pc.LocalDescription().SDP))
	req.Header.Set("Content-Type", "application/sdp")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return resp.StatusCode, string(body)
	}
	p.location = resp.Header.Get("Location")
	if resp.Header.Get("Content-Type") != "application/sdp" || p.location == "" {
		t.Fatalf("answer without SDP content type or Location: %v", resp.Header)
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// whipSpeaker connects a speaker sending a tone over WHIP; it hears its
// mix-minus on the same connection.
func whipSpeaker(t *testing.T, ctx context.Context, e *env, id, tok, name string, freq float64) *rtcPeer {
	t.Helper()
	p := newPeer(t)
	track, _ := webrtc.NewTrackLocalStaticSample(rtc.OpusCodec, "audio", name)
	if _, err := p.pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	if code, body := p.exchange(t, e.host+"/whip/"+id+"?speaker="+name, tok); code != 201 {
		t.Fatalf("WHIP: %d %s", code, body)
	}
	enc, err := synth.NewEncoder(&synth.Tone{Freq: freq, Amp: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		tick := time.NewTicker(program.FrameDuration)
		defer tick.Stop()
		for {
			pkt, _ := enc.Next()
			_ = track.WriteSample(media.Sample{Data: pkt, Duration: program.FrameDuration})
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return p
}

func whepListener(t *testing.T, e *env, id string) *rtcPeer {
	t.Helper()
	p := newPeer(t)
	if _, err := p.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	tkt := e.join(id)["ticket"].(string)
	if code, body := p.exchange(t, e.pub+"/whep/"+id+"?t="+tkt, ""); code != 201 {
		t.Fatalf("WHEP: %d %s", code, body)
	}
	return p
}

// pcm decodes what the peer received since from.
func (p *rtcPeer) pcm(t *testing.T, from int) []float64 {
	t.Helper()
	p.mu.Lock()
	pkts := append([][]byte(nil), p.got[min(from, len(p.got)):]...)
	p.mu.Unlock()
	dec, _ := opus.NewDecoder(48000, 1)
	buf := make([]float32, 5760)
	var out []float64
	for _, pkt := range pkts {
		n, err := dec.DecodeFloat32(pkt, buf)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		for _, v := range buf[:n] {
			out = append(out, float64(v))
		}
	}
	return out
}

func (p *rtcPeer) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.got)
}

// onlyTones checks that want dominate and not are absent (mix-minus).
func onlyTones(t *testing.T, who string, pcm []float64, want, not []float64) {
	t.Helper()
	if len(pcm) < 48000 {
		t.Fatalf("%s received %.2f s, want ≥ 1 s", who, float64(len(pcm))/48000)
	}
	for _, f := range want {
		if p := goertzel(pcm, f); p < 1e-3 {
			t.Errorf("%s: %v Hz missing (power %.3g)", who, f, p)
		}
	}
	for _, f := range not {
		if p := goertzel(pcm, f); p > 1e-5 {
			t.Errorf("%s: hears %v Hz (power %.3g), which it should not", who, f, p)
		}
	}
}

// TestWebRTCMixMinus: speakers A (440 Hz) and B (660 Hz) over WHIP; A hears
// only B, B only A; a WHEP listener and an Ogg listener hear both.
func TestWebRTCMixMinus(t *testing.T) {
	needFFmpeg(t)
	e := startServer(t)
	id, tok := e.space("webrtc")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := whipSpeaker(t, ctx, e, id, tok, "a", 440)
	b := whipSpeaker(t, ctx, e, id, tok, "b", 660)
	e.waitPlaying(id, tok, 2)
	e.transition(id, tok, "start")
	l := whepListener(t, e, id)
	ogg := e.join(id)["ogg"].(string)
	fromA, fromB, fromL := a.count(), b.count(), l.count()
	pcm := decodeLive(t, ogg, 2)
	assertTones(t, pcm, 440, 660)
	time.Sleep(500 * time.Millisecond)
	onlyTones(t, "speaker A", a.pcm(t, fromA+10), []float64{660}, []float64{440})
	onlyTones(t, "speaker B", b.pcm(t, fromB+10), []float64{440}, []float64{660})
	onlyTones(t, "WHEP listener", l.pcm(t, fromL+10), []float64{440, 660}, nil)

	// DELETE ends a WHIP session: the speaker leaves the mix.
	req, _ := http.NewRequest("DELETE", e.host+a.location, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("DELETE %s: %v %v", a.location, err, resp)
	}
	e.transition(id, tok, "end")
	// The end closes the WHEP listener's connection.
	deadline := time.Now().Add(10 * time.Second)
	for l.pc.ConnectionState() == webrtc.PeerConnectionStateConnected && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if st := l.pc.ConnectionState(); st == webrtc.PeerConnectionStateConnected {
		t.Fatalf("WHEP listener still %v after the end", st)
	}
}

func TestWebRTCBadRequests(t *testing.T) {
	e := startServer(t)
	id, tok := e.space("webrtc codes")
	ended, endedTok := e.space("over")
	e.transition(ended, endedTok, "start")
	e.transition(ended, endedTok, "end")
	tkt := e.join(id)["ticket"].(string)
	noAudio := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n"
	cases := []struct {
		name, url, token, ctype, body string
		want                          int
	}{
		{"WHIP bad SDP", e.host + "/whip/" + id, tok, "application/sdp", "hello", 400},
		{"WHIP no audio", e.host + "/whip/" + id, tok, "application/sdp", noAudio, 400},
		{"WHIP garbage SDP with audio", e.host + "/whip/" + id, tok, "application/sdp", "v=0\r\nm=audio x\r\n", 400},
		{"WHIP wrong token", e.host + "/whip/" + id, "nope", "application/sdp", noAudio, 401},
		{"WHIP no token", e.host + "/whip/" + id, "", "application/sdp", noAudio, 401},
		{"WHIP wrong content type", e.host + "/whip/" + id, tok, "text/plain", noAudio, 415},
		{"WHIP ended", e.host + "/whip/" + ended, endedTok, "application/sdp", noAudio, 409},
		{"WHIP unknown space", e.host + "/whip/nosuch", tok, "application/sdp", noAudio, 404},
		{"WHEP before start", e.pub + "/whep/" + id + "?t=" + tkt, "", "application/sdp", noAudio, 409},
		{"WHEP no ticket", e.pub + "/whep/" + id, "", "application/sdp", noAudio, 401},
		{"WHIP is not public", e.pub + "/whip/" + id, tok, "application/sdp", noAudio, 404},
	}
	for _, c := range cases {
		req, _ := http.NewRequest("POST", c.url, strings.NewReader(c.body))
		req.Header.Set("Content-Type", c.ctype)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, resp.StatusCode, b, c.want)
		}
	}
	e.transition(id, tok, "start")
	req, _ := http.NewRequest("POST", e.pub+"/whep/"+id+"?t="+tkt, strings.NewReader(noAudio))
	req.Header.Set("Content-Type", "application/sdp")
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != 400 {
		t.Errorf("WHEP without audio: %d", resp.StatusCode)
	}
}

// TestWebRTCSessionsDoNotLeak opens and closes 100 WHIP and 100 WHEP
// sessions; goroutines return to where they were.
func TestWebRTCSessionsDoNotLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 200 WebRTC sessions")
	}
	e := startServer(t)
	id, tok := e.space("leaks")
	e.transition(id, tok, "start")
	settle := func() int {
		var n int
		for range 50 {
			runtime.GC()
			time.Sleep(100 * time.Millisecond)
			n = runtime.NumGoroutine()
		}
		return n
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapAlloc
	before := runtime.NumGoroutine()
	open := func(whip bool, i int) {
		p := newPeer(t)
		var url, token string
		if whip {
			p.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
			url, token = e.host+"/whip/"+id+"?speaker=s"+string(rune('a'+i%20)), tok
		} else {
			p.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
			url = e.pub + "/whep/" + id + "?t=" + e.join(id)["ticket"].(string)
		}
		if code, body := p.exchange(t, url, token); code != 201 {
			t.Errorf("session %d: %d %s", i, code, body)
			return
		}
		base := e.pub
		if whip {
			base = e.host
		}
		req, _ := http.NewRequest("DELETE", base+p.location, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
			t.Errorf("DELETE %d: %v %v", i, err, resp)
		}
		p.pc.Close()
	}
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() { defer wg.Done(); open(i%2 == 0, i) }()
		if i%10 == 9 {
			wg.Wait()
		}
	}
	wg.Wait()
	if n := e.srv.RTCSessions(); n != 0 {
		t.Fatalf("%d sessions still open", n)
	}
	http.DefaultClient.CloseIdleConnections() // keep-alive conns are not sessions
	after := settle()
	if after > before+3 {
		t.Fatalf("goroutines: %d before, %d after 200 sessions", before, after)
	}
	runtime.ReadMemStats(&ms)
	t.Logf("goroutines: %d before, %d after 200 sessions; heap %d → %d KiB", before, after, heapBefore>>10, ms.HeapAlloc>>10)
	if ms.HeapAlloc > heapBefore+16<<20 {
		t.Fatalf("heap grew by %d MiB over 200 closed sessions", (ms.HeapAlloc-heapBefore)>>20)
	}
}

// TestDegradeLadderSteersToHLS: once WebRTC listening is nearly full, joins
// stop offering WHEP and point to LL-HLS, before anyone has to wait.
func TestDegradeLadderSteersToHLS(t *testing.T) {
	e := startServerWith(t, func(c *server.Config) { c.Gate = roomyGate; c.WHEPMax = 2 })
	id, tok := e.space("ladder")
	e.transition(id, tok, "start")
	// An idle node offers WebRTC first (the CPU reading may be high for a
	// moment while the test binary warms up).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		j := e.join(id)
		if j["prefer"] == "whep" && j["whep"] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("an idle node does not offer WHEP first: %v", j)
		}
	}
	whepListener(t, e, id)
	if j := e.join(id); j["prefer"] != "hls" || j["whep"] != nil || j["hls"] == nil {
		t.Fatalf("a nearly full WHEP is still offered: %v", j)
	}
}
