package load

// End-to-end tests: real listeners over real sockets against an in-process
// onair server with a synthetic speaker live.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/mix"
	"github.com/onair-live/onair/internal/server"
	"github.com/onair-live/onair/internal/synth"
)

// TestMain lets the test binary stand in for "onair load" children (--procs).
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "load-child" {
		var cfg Config
		if err := json.Unmarshal([]byte(os.Args[2]), &cfg); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := RunChild(context.Background(), cfg, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// liveServer starts a server with a space on air (a synthetic melody) and
// waits until both its Ogg and HLS streams are ready.
func liveServer(t *testing.T) (srv *server.Server, space string) {
	t.Helper()
	srv, err := server.New(server.Config{Listen: "127.0.0.1:0", HostListen: "127.0.0.1:0", DataDir: t.TempDir(),
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		srv.Shutdown(sctx)
	})
	sp, _, err := srv.Store().CreateSpace("load test", time.Now().UTC(), time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	spk, err := srv.Manager().Speaker(sp.ID, "synth")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		if err := synth.Run(ctx, spk, synth.NewMelody()); err != nil && !errors.Is(err, mix.ErrClosed) && ctx.Err() == nil {
			t.Errorf("synthetic speaker: %v", err)
		}
	}()
	if _, err := srv.Manager().Start(sp.ID); err != nil {
		t.Fatal(err)
	}
	// The first HLS playlist needs a whole segment: wait for it, so that the
	// runs below measure streaming, not the start of the show.
	resp, err := http.Post(srv.PublicURL()+"/api/v1/spaces/"+sp.ID+"/join", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var j struct{ HLS string }
	json.NewDecoder(resp.Body).Decode(&j)
	resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(j.HLS)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.Contains(string(b), "#EXT-X-PART:") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the HLS stream did not start: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return srv, sp.ID
}

// runAll runs the configurations at the same time.
func runAll(t *testing.T, cfgs []Config, opts []Options) []*Report {
	t.Helper()
	reps := make([]*Report, len(cfgs))
	errs := make([]error, len(cfgs))
	var wg sync.WaitGroup
	for i := range cfgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[i], errs[i] = Run(context.Background(), cfgs[i], opts[i])
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("run %d (%s): %v", i, cfgs[i].Protocol, err)
		}
		var sb strings.Builder
		reps[i].WriteTable(&sb)
		t.Log(sb.String())
	}
	return reps
}

func TestLoadEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("streams for several seconds")
	}
	t.Parallel()
	srv, space := liveServer(t)
	base := Config{Target: srv.PublicURL(), Space: space, Shape: ShapeRamp, Window: time.Second,
		Duration: 5 * time.Second, Grace: 3 * time.Second, Sources: "127.0.0.0/16"}
	ogg, hls, procs := base, base, base
	ogg.Protocol, ogg.Listeners = ProtoOgg, 50
	hls.Protocol, hls.Listeners = ProtoHLS, 20
	hls.Sources = "127.3.0.0/24" // other addresses, for variety
	procs.Protocol, procs.Listeners, procs.Procs, procs.Sources = ProtoOgg, 10, 2, "127.4.0.0/24"
	childOpt := Options{Exe: os.Args[0], ChildArgs: []string{"load-child"}}
	// The test process is the server: sample it like --server-pid would.
	ogg.ServerPID = os.Getpid()
	reps := runAll(t, []Config{ogg, hls, procs}, []Options{{}, {}, childOpt})

	for i, rep := range reps {
		n := int64(rep.Config.Listeners)
		name := fmt.Sprintf("%s run %d", rep.Config.Protocol, i)
		l := rep.Listeners
		if l.Started != n || l.Joined != n || l.GotAudio != n || l.Completed != n {
			t.Errorf("%s: listeners %+v, want all %d through", name, l, n)
		}
		if len(rep.Errors) != 0 {
			t.Errorf("%s: errors %v %v", name, rep.Errors, rep.ErrorSamples)
		}
		if rep.Stalls.Events != 0 || rep.Stalls.Seconds != 0 {
			t.Errorf("%s: stalls %+v", name, rep.Stalls)
		}
		m := rep.Metrics
		// The server's gate may hold a join in its waiting room for a second or two.
		if j := m["join_ms"]; j.N != uint64(n) || j.P99 > 3000 {
			t.Errorf("%s: join %+v", name, j)
		}
		if f := m["first_audio_ms"]; f.N != uint64(n) || f.Max > 4000 {
			t.Errorf("%s: first audio %+v", name, f)
		}
		// Live delivery on loopback: the newest audio of a page or part
		// arrives within a page or part of being mixed (plus scheduling).
		g := m["glass_to_glass_ms"]
		if g.N < uint64(n)*15 || g.P50 > 400 || g.Max > 1500 {
			t.Errorf("%s: glass-to-glass %+v", name, g)
		}
		if r := m["bytes_per_s"]; r.N != uint64(n) || r.P50 < 2000 || r.P50 > 40000 {
			t.Errorf("%s: bytes/s %+v", name, r)
		}
		if want := float64(n) * 5; rep.ListenerSeconds < want*0.6 || rep.ListenerSeconds > want*1.05 {
			t.Errorf("%s: %.1f listener-seconds, want about %.0f", name, rep.ListenerSeconds, want)
		}
		if rep.Client.CPUSeconds <= 0 || rep.Client.RSSPeakKiB <= 0 {
			t.Errorf("%s: client figures %+v", name, rep.Client)
		}
		if len(rep.Timeline) < 3 {
			t.Errorf("%s: timeline of %d points", name, len(rep.Timeline))
		}
	}
	if s := reps[0].Server; s == nil || s.CPUSeconds <= 0 || s.RSSBeforeKiB <= 0 || s.CPUPerListenerSecondUs <= 0 || s.Error != "" {
		t.Errorf("server figures: %+v", reps[0].Server)
	}
	if reps[2].Client.Procs != 2 {
		t.Errorf("--procs run: %+v", reps[2].Client)
	}
}

// TestLoadDetectsStalls puts a proxy between the listeners and the server
// that stops forwarding for a while: every listener must see one stall of
// about the pause less the threshold (less what it had buffered).
func TestLoadDetectsStalls(t *testing.T) {
	if testing.Short() {
		t.Skip("streams for several seconds")
	}
	t.Parallel()
	srv, space := liveServer(t)
	var gate pauseGate
	addr := slowProxy(t, strings.TrimPrefix(srv.PublicURL(), "http://"), &gate)
	const (
		pauseAt   = 3 * time.Second
		pause     = 2500 * time.Millisecond
		threshold = 500 * time.Millisecond
	)
	base := Config{Target: "http://" + addr, Space: space, Duration: 8 * time.Second, Grace: 3 * time.Second,
		StallThreshold: threshold}
	ogg, hls := base, base
	ogg.Protocol, ogg.Listeners, ogg.Sources = ProtoOgg, 10, "127.5.0.0/24"
	hls.Protocol, hls.Listeners, hls.Sources = ProtoHLS, 5, "127.6.0.0/24"
	go func() {
		time.Sleep(pauseAt)
		gate.pause(pause)
	}()
	reps := runAll(t, []Config{ogg, hls}, []Options{{}, {}})
	for _, rep := range reps {
		n := int64(rep.Config.Listeners)
		name := rep.Config.Protocol
		if rep.Listeners.GotAudio != n {
			t.Fatalf("%s: %d of %d got audio", name, rep.Listeners.GotAudio, n)
		}
		if rep.Stalls.Listeners != n {
			t.Errorf("%s: %d of %d listeners stalled", name, rep.Stalls.Listeners, n)
		}
		if s := rep.Metrics["stalls_per_listener"]; s.P50 != 1 || s.Max != 1 {
			t.Errorf("%s: stalls per listener %+v, want exactly one each", name, s)
		}
		// At most pause - threshold = 2 s; a listener that had up to about
		// 0.8 s of audio in hand (the Ogg burst, HLS's hold-back parts)
		// stalls that much less.
		st := rep.Metrics["stalled_s_per_listener"]
		if max := (pause - threshold).Seconds(); st.Max > max+0.15 || st.P50 < max-0.9 {
			t.Errorf("%s: stalled per listener %+v s, want between %.1f and %.1f", name, st, max-0.9, max)
		}
		// The pages held back during the pause arrive late: latency shows it.
		if g := rep.Metrics["glass_to_glass_ms"]; g.Max < 1500 {
			t.Errorf("%s: glass-to-glass max %.0f ms during a %v pause", name, g.Max, pause)
		}
	}
}

// pauseGate holds data back until a time.
type pauseGate struct {
	mu    sync.Mutex
	until time.Time
}

func (g *pauseGate) pause(d time.Duration) {
	g.mu.Lock()
	g.until = time.Now().Add(d)
	g.mu.Unlock()
}

func (g *pauseGate) wait() {
	for {
		g.mu.Lock()
		d := time.Until(g.until)
		g.mu.Unlock()
		if d <= 0 {
			return
		}
		time.Sleep(d)
	}
}

// slowProxy forwards TCP to target; the server-to-client direction waits at
// the gate. It connects from the client's own (loopback) address, so the
// server's per-address limits see the listeners, not the proxy. It returns
// its address.
func slowProxy(t *testing.T, target string, g *pauseGate) string {
	return startProxy(t, target, g).addr
}

// tcpProxy is a running slowProxy.
type tcpProxy struct {
	addr  string
	mu    sync.Mutex
	conns []net.Conn
}

// cut closes every connection open through the proxy (it stays up): what
// listeners see when the edge they stream from drops them.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func startProxy(t *testing.T, target string, g *pauseGate) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{addr: ln.Addr().String()}
	t.Cleanup(func() {
		ln.Close()
		p.cut()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: c.RemoteAddr().(*net.TCPAddr).IP}}
			s, err := d.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() {
				io.Copy(s, c)
				s.Close()
			}()
			go func() {
				defer c.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := s.Read(buf)
					if n > 0 {
						g.wait()
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return p
}
