package load

// End-to-end tests of the classic HLS player against an in-process onair
// server.

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/server"
)

// waitSegments waits until the space's playlist lists n complete segments,
// so that a classic player starts with its whole buffer.
func waitSegments(t *testing.T, srv *server.Server, space string, n int) {
	t.Helper()
	resp, err := http.Post(srv.PublicURL()+"/api/v1/spaces/"+space+"/join", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var j struct{ HLS string }
	json.NewDecoder(resp.Body).Decode(&j)
	resp.Body.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(j.HLS)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Count(string(b), "#EXTINF:") >= n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the playlist did not reach %d segments: %v", n, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestLoadClassicHLS runs classic HLS players: they all play without a
// stall, each new segment arrives within about a target duration of its
// end (the reload period), and they ask about once a second, not ten times.
func TestLoadClassicHLS(t *testing.T) {
	if testing.Short() {
		t.Skip("streams for several seconds")
	}
	t.Parallel()
	srv, space := liveServer(t)
	waitSegments(t, srv, space, classicStartBuffer)
	cfg := Config{Target: srv.PublicURL(), Space: space, Protocol: ProtoHLS, HLSPlayer: HLSPlayerClassic,
		Listeners: 20, Shape: ShapeRamp, Window: time.Second, Duration: 12 * time.Second, Grace: 3 * time.Second,
		Sources: "127.7.0.0/24"}
	rep := runAll(t, []Config{cfg}, []Options{{}})[0]

	n := int64(cfg.Listeners)
	l := rep.Listeners
	if l.Started != n || l.Joined != n || l.GotAudio != n || l.Completed != n {
		t.Errorf("listeners %+v, want all %d through", l, n)
	}
	if len(rep.Errors) != 0 {
		t.Errorf("errors %v %v", rep.Errors, rep.ErrorSamples)
	}
	// A classic player starts with three segments (6 s) in hand: neither
	// that burst nor the 2 s between segments is a stall.
	if rep.Stalls.Events != 0 || rep.Stalls.Seconds != 0 {
		t.Errorf("stalls %+v", rep.Stalls)
	}
	if rep.Config.HLSPlayer != HLSPlayerClassic {
		t.Errorf("the report says player %q", rep.Config.HLSPlayer)
	}
	var sb strings.Builder
	rep.WriteTable(&sb)
	if !strings.Contains(sb.String(), "HLS (classic player) listeners") {
		t.Errorf("the summary does not name the player:\n%s", sb.String())
	}
	m := rep.Metrics
	if f := m["first_audio_ms"]; f.N != uint64(n) || f.Max > 4000 {
		t.Errorf("first audio %+v", f)
	}
	// The start-up segments (mixed before the first request) are not
	// counted; each later one is new when the player's reload, every
	// target duration (2 s), finds it: it arrives 0 to 2 s after its end,
	// plus scheduling.
	g := m["glass_to_glass_ms"]
	if g.N < uint64(n)*4 || g.P50 < 20 || g.P50 > 2500 || g.Max > 4000 {
		t.Errorf("glass-to-glass %+v, want p50 within a target duration", g)
	}
	// One playlist and one segment per 2 s segment, plus the start (init
	// and three segments): about 1.3 requests per listener-second in 12 s.
	if r := rep.Client.RequestsPerListenerSecond; r < 0.7 || r >= 2 {
		t.Errorf("%.2f requests per listener-second, want about 1", r)
	}
	if r := m["bytes_per_s"]; r.N != uint64(n) || r.P50 < 2000 || r.P50 > 40000 {
		t.Errorf("bytes/s %+v", r)
	}
	t.Logf("classic HLS: %.2f requests per listener-second, glass-to-glass p50 %.0f ms (max %.0f ms, %d segments)",
		rep.Client.RequestsPerListenerSecond, g.P50, g.Max, g.N)
}

// TestLoadClassicHLSStalls puts the slow proxy between classic players and
// the server and stops it for longer than their buffer: each must stall
// once, for the pause less its buffer (4 to 6 s) and the threshold.
func TestLoadClassicHLSStalls(t *testing.T) {
	if testing.Short() {
		t.Skip("streams for several seconds")
	}
	t.Parallel()
	srv, space := liveServer(t)
	waitSegments(t, srv, space, classicStartBuffer)
	var gate pauseGate
	addr := slowProxy(t, strings.TrimPrefix(srv.PublicURL(), "http://"), &gate)
	const (
		pauseAt   = 5 * time.Second
		pause     = 8 * time.Second
		threshold = 500 * time.Millisecond
	)
	cfg := Config{Target: "http://" + addr, Space: space, Protocol: ProtoHLS, HLSPlayer: HLSPlayerClassic,
		Listeners: 5, Duration: 16 * time.Second, Grace: 3 * time.Second, StallThreshold: threshold,
		Sources: "127.8.0.0/24"}
	go func() {
		time.Sleep(pauseAt)
		gate.pause(pause)
	}()
	rep := runAll(t, []Config{cfg}, []Options{{}})[0]
	n := int64(cfg.Listeners)
	if rep.Listeners.GotAudio != n || rep.Listeners.Completed != n {
		t.Fatalf("listeners %+v", rep.Listeners)
	}
	if len(rep.Errors) != 0 {
		t.Errorf("errors %v %v", rep.Errors, rep.ErrorSamples)
	}
	if rep.Stalls.Listeners != n {
		t.Errorf("%d of %d listeners stalled", rep.Stalls.Listeners, n)
	}
	if s := rep.Metrics["stalls_per_listener"]; s.P50 != 1 || s.Max != 1 {
		t.Errorf("stalls per listener %+v, want exactly one each", s)
	}
	// pause - threshold = 7.5 s, less the 4 to 6 s the player had in hand.
	st := rep.Metrics["stalled_s_per_listener"]
	if st.P50 < 1 || st.Max > 4.5 {
		t.Errorf("stalled per listener %+v s, want about 1.5 to 3.5 s", st)
	}
	// The segments held back during the pause arrive late: latency shows it.
	if g := rep.Metrics["glass_to_glass_ms"]; g.Max < 5000 {
		t.Errorf("glass-to-glass max %.0f ms during a %v pause", g.Max, pause)
	}
}

// TestClassicNoAllocs: a classic player's steady state (reload the
// playlist, parse it, fetch segments, account for them) allocates nothing,
// against a canned server that allocates nothing either.
func TestClassicNoAllocs(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	answer := func(body string) []byte {
		return []byte("HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	}
	pl, seg := answer(onairPlaylist), answer(strings.Repeat("x", 5000))
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 4096)
		n := 0
		for {
			k, err := c.Read(buf[n:])
			if err != nil {
				return
			}
			n += k
			for {
				i := bytes.Index(buf[:n], []byte("\r\n\r\n"))
				if i < 0 {
					break
				}
				resp := seg
				if bytes.Contains(buf[:i], []byte(".m3u8")) {
					resp = pl
				}
				if _, err := c.Write(resp); err != nil {
					return
				}
				n = copy(buf, buf[i+4:n])
			}
		}
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := &run{cfg: Config{StallThreshold: time.Second}, errs: map[string]int64{}, waits: map[string]int64{}, samples: map[string]string{}}
	ln := &listener{r: r, l: &lstate{}, hc: newHconn(c, "x", hlsBufSize), end: time.Now().Add(time.Hour).UnixNano(),
		hlsPath: "/hls/x/index.m3u8?t=tk"}
	hs := ln.newHLSState()
	step := func() {
		if st, ok := ln.playlist(hs, false, plPart{}); !ok || st != 200 {
			t.Fatalf("playlist: %d %v %v", st, ok, r.errs)
		}
		if !ln.fetchSegs(hs, classicStart(&hs.pl)) || len(r.errs) != 0 {
			t.Fatalf("segments: %v", r.errs)
		}
	}
	step()
	if allocs := testing.AllocsPerRun(20, step); allocs != 0 {
		t.Fatalf("%.1f allocations per reload and three segments", allocs)
	}
	if ln.hc.reqs != 4*22 || hs.seg != 6 {
		t.Fatalf("%d requests (want 4 a step, AllocsPerRun making one more), newest segment %d", ln.hc.reqs, hs.seg)
	}
}
