package load

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Edges of a fake cluster: real HTTP servers on loopback that speak the
// join API and stream the same fake show (fakeShow with a shared epoch), so
// that the load generator's spreading, redirects and failover run against
// real sockets, and an edge can be killed mid-stream.

// fakeCluster is what the fake edges share: the show and the tickets
// issued (every edge honours any edge's ticket, as with the cluster keys).
type fakeCluster struct {
	show    *fakeShow
	mu      sync.Mutex
	tickets map[string]bool
}

func newFakeCluster() *fakeCluster {
	return &fakeCluster{show: &fakeShow{lag: 50 * time.Millisecond, burst: 2,
		epoch: time.Now().Add(-10 * time.Second)}, tickets: map[string]bool{}}
}

func (c *fakeCluster) issue() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := fmt.Sprintf("tk%d", len(c.tickets))
	c.tickets[t] = true
	return t
}

func (c *fakeCluster) valid(t string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tickets[t]
}

// fakeEdge is one edge. A fresh join is redirected (307) to redirect's
// join when set, else answered with media URLs on sendTo (nil: itself); a
// renewal (Onair-Ticket) is answered with its own media URLs, or refused
// with 503 until refuseUntil, or sent to staleTo until staleUntil (a stale
// view of the cluster: an edge that died).
type fakeEdge struct {
	c           *fakeCluster
	name        string
	ts          *httptest.Server
	sendTo      *fakeEdge
	redirect    *fakeEdge
	alternates  []*fakeEdge
	refuseUntil atomic.Int64
	staleTo     *fakeEdge
	staleUntil  atomic.Int64

	joins, redirects, renewals, refused, streams atomic.Int32
}

func (c *fakeCluster) edge(t *testing.T, name string) *fakeEdge {
	e := &fakeEdge{c: c, name: name}
	e.ts = httptest.NewServer(e)
	t.Cleanup(e.ts.Close)
	return e
}

// kill takes edges down as kill -9 would: no more connections, and the
// open ones cut (all listening sockets first, so that nobody lost by one
// finds another still open).
func kill(es ...*fakeEdge) {
	for _, e := range es {
		e.ts.Listener.Close()
	}
	for _, e := range es {
		e.ts.CloseClientConnections()
	}
}

func (e *fakeEdge) addr() string { return strings.TrimPrefix(e.ts.URL, "http://") }

func (e *fakeEdge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/spaces/fake/join":
		e.join(w, r)
	case r.URL.Path == "/live/fake.opus" && e.c.valid(r.URL.Query().Get("t")):
		e.streams.Add(1)
		e.c.show.live(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (e *fakeEdge) join(w http.ResponseWriter, r *http.Request) {
	preflight := r.UserAgent() != "onair-load"
	media := e
	switch held := r.Header.Get("Onair-Ticket"); {
	case held != "" && e.c.valid(held):
		e.renewals.Add(1)
		if time.Now().UnixNano() < e.refuseUntil.Load() {
			e.refused.Add(1)
			http.Error(w, `{"error":"no bus","code":"no_bus"}`, http.StatusServiceUnavailable)
			return
		}
		if time.Now().UnixNano() < e.staleUntil.Load() {
			media = e.staleTo
		}
	case e.redirect != nil:
		if !preflight {
			e.redirects.Add(1)
		}
		http.Redirect(w, r, e.redirect.ts.URL+r.URL.Path, http.StatusTemporaryRedirect)
		return
	default:
		if !preflight {
			e.joins.Add(1)
		}
		if e.sendTo != nil {
			media = e.sendTo
		}
	}
	tk := e.c.issue()
	var alts []string
	for _, a := range e.alternates {
		alts = append(alts, a.ts.URL)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"ticket": tk, "state": "live",
		"ogg": media.ts.URL + "/live/fake.opus?t=" + tk, "hls": media.ts.URL + "/hls/fake/index.m3u8?t=" + tk,
		"edge": media.name, "alternates": alts})
}

// edgeReport returns the report's account of e.
func edgeReport(rep *Report, e *fakeEdge) EdgeReport {
	for _, er := range rep.Edges {
		if er.Edge == e.addr() {
			return er
		}
	}
	return EdgeReport{Edge: e.addr()}
}

// checkEdgesAddUp asserts that the per-edge accounts sum to the run's.
func checkEdgesAddUp(t *testing.T, rep *Report) {
	t.Helper()
	var tot EdgeReport
	for _, e := range rep.Edges {
		tot.Listeners += e.Listeners
		tot.Completed += e.Completed
		tot.Bytes += e.Bytes
		tot.ListenerSeconds += e.ListenerSeconds
		tot.Stalls += e.Stalls
		tot.StalledS += e.StalledS
		tot.Reconnects += e.Reconnects
		tot.Lost += e.Lost
	}
	f := rep.Failover
	if tot.Listeners != rep.Listeners.Streams || tot.Completed != rep.Listeners.Completed ||
		tot.Bytes != rep.Bytes || math.Abs(tot.ListenerSeconds-rep.ListenerSeconds) > 1e-6 ||
		tot.Stalls != rep.Stalls.Events || math.Abs(tot.StalledS-rep.Stalls.Seconds) > 1e-3 ||
		tot.Reconnects != f.Reconnects || tot.Lost != f.Lost {
		t.Errorf("the edges %+v add up to %+v; the run: listeners %+v, %d bytes, %.3f listener-s, stalls %+v, failover %+v",
			rep.Edges, tot, rep.Listeners, rep.Bytes, rep.ListenerSeconds, rep.Stalls, f)
	}
}

func runFake(t *testing.T, cfg Config) *Report {
	t.Helper()
	rep, err := Run(context.Background(), cfg, Options{})
	if rep == nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	rep.WriteTable(&sb)
	t.Log(sb.String())
	return rep
}

// TestLoadFailover spreads listeners over two edges, one of which sends
// its joins to the other's media URL; that edge is killed mid-stream, and
// the survivor refuses renewals for its first second (as an edge busy
// taking over would). Every listener must come back on the survivor with
// its ticket, the gap must be reported and bounded by the backoff, the
// gap's stall charged to the lost edge, and the per-edge accounts add up.
func TestLoadFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("streams for seconds")
	}
	t.Parallel()
	c := newFakeCluster()
	a, b := c.edge(t, "a"), c.edge(t, "b")
	a.sendTo, b.alternates = b, []*fakeEdge{a} // a lists no alternates: b is followed as a --target
	const n = 6
	const refuse = time.Second
	cfg := Config{Target: a.ts.URL + "," + b.ts.URL, Space: "fake", Listeners: n, Duration: 5 * time.Second,
		Grace: 2 * time.Second, StallThreshold: 500 * time.Millisecond}
	killAt := time.Now().Add(2500 * time.Millisecond) // the preflight takes a moment
	time.AfterFunc(time.Until(killAt), func() {
		a.refuseUntil.Store(time.Now().Add(refuse).UnixNano())
		kill(b)
	})
	rep := runFake(t, cfg)
	l, f := rep.Listeners, rep.Failover
	if l.Joined != n || l.GotAudio != n || l.Completed != n || l.Streams != n+f.Reconnects {
		t.Fatalf("listeners %+v: want all %d to stay their time", l, n)
	}
	if a.joins.Load() != n/2 || b.joins.Load() != n/2 || a.renewals.Load() < n || a.streams.Load() != n {
		t.Errorf("joins a %d b %d (want %d each: round-robin), renewals on a %d, streams from a %d (want %d)",
			a.joins.Load(), b.joins.Load(), n/2, a.renewals.Load(), a.streams.Load(), n)
	}
	ea, eb := edgeReport(rep, a), edgeReport(rep, b)
	if eb.Listeners != n || eb.Lost != n || eb.Completed != 0 || ea.Listeners != n || ea.Reconnects != n || ea.Completed != n {
		t.Errorf("edges: a %+v, b %+v: want all %d streaming from b (a sends its joins there), lost there, back on a", ea, eb, n)
	}
	if !f.Reconnect || f.Lost != n || f.Reconnects != n || f.GaveUp != 0 || f.FailedAttempts < n ||
		f.FailedAttempts != f.Attempts-f.Reconnects || int64(a.refused.Load()) > f.FailedAttempts {
		t.Errorf("failover %+v (a refused %d renewals)", f, a.refused.Load())
	}
	// The first re-join is at once, then after 100, 200, 400, 800 ms,
	// alternating between the survivor (refusing for 1 s) and the dead edge:
	// the survivor takes them back at the fifth try, 1.5 s after the loss.
	g := rep.Metrics["failover_gap_ms"]
	if g.N != n || g.P50 < 1400 || g.Max > 2300 {
		t.Errorf("failover gap %+v: want %d, 1.5 s give or take a page", g, n)
	}
	// A 1.5 s gap with 0.2 s in hand and a 0.5 s threshold stalls each
	// listener once, for about 0.8 s; the survivor's burst starts after the
	// audio last heard, so about 1.3 s of it nobody delivered.
	if rep.Stalls.Events != n || f.Stalls != n || eb.Stalls != n || ea.Stalls != 0 {
		t.Errorf("stalls %+v, failover stalls %d, on b %d, on a %d: want one per listener, charged to the lost edge",
			rep.Stalls, f.Stalls, eb.Stalls, ea.Stalls)
	}
	if f.MissedS < n*0.9 || f.MissedS > n*2.3 || f.RepeatedS != 0 {
		t.Errorf("missed %.2f s across the failovers, want about %d × 1.3 s", f.MissedS, n)
	}
	var lossErrs int64
	for k, v := range rep.Errors {
		if strings.HasPrefix(k, "ogg: ") {
			lossErrs += v
		}
	}
	if lossErrs != n || rep.Errors["rejoin join: 503"] != int64(a.refused.Load()) {
		t.Errorf("errors %v: want the %d lost streams and the survivor's %d refusals", rep.Errors, n, a.refused.Load())
	}
	checkEdgesAddUp(t, rep)
	claims := rep.Claims()
	if len(claims) != 2 || claims[0].Edges != 2 || claims[0].Edge == nil || claims[0].Target != "http://"+claims[0].Edge.Edge ||
		claims[0].Listeners.Joined != n {
		t.Errorf("claims %+v: want one per edge, each with its share", claims)
	}
}

// TestLoadJoinRedirect: a join answered 307 is posted again where the
// Location says, and the listener streams from that edge.
func TestLoadJoinRedirect(t *testing.T) {
	if testing.Short() {
		t.Skip("streams for seconds")
	}
	t.Parallel()
	c := newFakeCluster()
	a, b := c.edge(t, "a"), c.edge(t, "b")
	a.redirect = b
	const n = 4
	rep := runFake(t, Config{Target: a.ts.URL, Space: "fake", Listeners: n, Duration: 2 * time.Second, Grace: 2 * time.Second})
	if l := rep.Listeners; l.Joined != n || l.Completed != n || len(rep.Errors) != 0 {
		t.Fatalf("listeners %+v, errors %v", l, rep.Errors)
	}
	if a.redirects.Load() != n || b.joins.Load() != n || b.streams.Load() != n || a.streams.Load() != 0 {
		t.Errorf("a redirected %d, b joined %d and streamed %d, a streamed %d: want %d, %d, %d, 0",
			a.redirects.Load(), b.joins.Load(), b.streams.Load(), a.streams.Load(), n, n, n)
	}
	if len(rep.Edges) != 1 || rep.Edges[0].Edge != b.addr() || rep.Edges[0].Listeners != n || rep.Edges[0].Completed != n {
		t.Errorf("edges %+v: want all on %s", rep.Edges, b.addr())
	}
	checkEdgesAddUp(t, rep)
	if cl := rep.Claims(); len(cl) != 1 || cl[0].Target != b.ts.URL || cl[0].Edge == nil {
		t.Errorf("claims %+v: want one, to the edge that served the listeners", cl)
	}

	// A cluster's answer (it lists alternates) sends listeners to another
	// edge than the --target: they stream from it. Without alternates, and
	// not on a --target (one process's public URL, a proxy bypassed), they
	// stay on the server they joined.
	for _, alts := range [][]*fakeEdge{{a}, nil} {
		d := c.edge(t, "d")
		d.sendTo, d.alternates = b, alts
		streams := b.streams.Load()
		rep := runFake(t, Config{Target: d.ts.URL, Space: "fake", Listeners: 2, Duration: time.Second, Grace: 2 * time.Second})
		want := d
		if alts != nil {
			want = b
		}
		if rep.Listeners.Completed != 2 || len(rep.Edges) != 1 || rep.Edges[0].Edge != want.addr() ||
			b.streams.Load()-streams+d.streams.Load() != 2 {
			t.Errorf("alternates %d: listeners %+v, edges %+v: want both on %s", len(alts), rep.Listeners, rep.Edges, want.name)
		}
	}
}

// TestLoadAllEdgesGone kills every edge mid-stream: each listener tries
// until its stay ends, gives up (counted, with the refused re-joins), and
// the run still ends on time. With --no-reconnect it stops at the loss.
func TestLoadAllEdgesGone(t *testing.T) {
	if testing.Short() {
		t.Skip("streams for seconds")
	}
	t.Parallel()
	for _, noReconnect := range []bool{false, true} {
		t.Run(fmt.Sprintf("no-reconnect=%v", noReconnect), func(t *testing.T) {
			t.Parallel()
			c := newFakeCluster()
			a, b := c.edge(t, "a"), c.edge(t, "b")
			a.alternates, b.alternates = []*fakeEdge{b}, []*fakeEdge{a}
			const n = 4
			cfg := Config{Target: a.ts.URL + "," + b.ts.URL, Space: "fake", Listeners: n, Duration: 3 * time.Second,
				Grace: 2 * time.Second, StallThreshold: 500 * time.Millisecond, NoReconnect: noReconnect}
			time.AfterFunc(1500*time.Millisecond, func() { kill(a, b) })
			rep := runFake(t, cfg)
			f := rep.Failover
			if rep.ElapsedS > cfg.Duration.Seconds()+1.5 {
				t.Errorf("the run took %.1f s: listeners staying %s must end with their stay", rep.ElapsedS, cfg.Duration)
			}
			if rep.Listeners.GotAudio != n || rep.Listeners.Completed != 0 || f.Lost != n || f.Reconnects != 0 {
				t.Fatalf("listeners %+v, failover %+v: want all %d lost, none back", rep.Listeners, f, n)
			}
			checkEdgesAddUp(t, rep)
			if noReconnect {
				if f.Reconnect || f.Attempts != 0 || f.GaveUp != 0 || rep.Stalls.Events != 0 {
					t.Errorf("--no-reconnect: failover %+v, stalls %+v: want no re-join and no stall counted", f, rep.Stalls)
				}
				return
			}
			// Tries at 0, 0.1, 0.3, 0.7 and 1.5 s after the loss, about 1.5 s
			// before the stay ends.
			// A loaded machine may let a connect to the dead port time out
			// rather than be refused: either is a failed re-join.
			refused := rep.Errors["rejoin connect: refused"] + rep.Errors["rejoin connect: timeout"]
			if f.GaveUp != n || rep.Errors["rejoin: gave up (no edge took the listener back before its stay ended)"] != n ||
				f.Attempts < 3*n || f.FailedAttempts != f.Attempts || refused != f.FailedAttempts {
				t.Errorf("failover %+v, errors %v: want all %d to give up after their refused re-joins", f, rep.Errors, n)
			}
			if rep.Stalls.Events != n || f.Stalls != n {
				t.Errorf("stalls %+v, failover stalls %d: a listener that gave up was stalled until its stay ended", rep.Stalls, f.Stalls)
			}
		})
	}
}

// TestFailoverOrder: re-joins go to the answer's alternates, then the other
// targets, then the edge lost, rotated by the listener's index; the
// backoff doubles from 100 ms to 1 s.
func TestFailoverOrder(t *testing.T) {
	tg := func(a string) target { return target{addr: a, host: a} }
	r := &run{tgs: []target{tg("t0:1"), tg("t1:1"), tg("t2:1")}}
	ln := &listener{r: r, g: 1, at: tg("t1:1"), alts: []target{tg("x:1"), tg("t2:1"), tg("y:1")}}
	var got []string
	for _, c := range ln.candidates() {
		got = append(got, c.addr)
	}
	if want := "t2:1 y:1 x:1 t0:1 t1:1"; strings.Join(got, " ") != want {
		t.Errorf("candidates %v, want %s", got, want)
	}
	var waits []time.Duration
	for i := range 7 {
		waits = append(waits, backoff(i))
	}
	if fmt.Sprint(waits) != "[0s 100ms 200ms 400ms 800ms 1s 1s]" {
		t.Errorf("backoff %v", waits)
	}
}

// FuzzAnswerTarget: whatever URL a join answer holds, resolving it is a
// target with a port or an error, never a panic.
func FuzzAnswerTarget(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:8081/live/x.opus?t=1", "/api/v1/spaces/x/join", "https://e:1/x",
		"http://[::1]/x", "http://h", "", "::", "http://%zz"} {
		f.Add(s)
	}
	h := &hostChecks{allowRemote: true}
	from := target{addr: "127.0.0.1:8080", host: "127.0.0.1:8080"}
	f.Fuzz(func(t *testing.T, s string) {
		tg, u, err := h.answerTarget(from, s)
		if err != nil {
			return
		}
		if u == nil || tg.addr == "" || !strings.Contains(tg.addr, ":") || u.Scheme != "http" {
			t.Fatalf("%q: target %+v, url %v", s, tg, u)
		}
	})
}

// TestLoadArrivalSkipsDeadEdge: listeners arriving after their target
// edge died join on the next target instead, and those on it fail over,
// though the survivor first sends their renewals back to the dead edge.
func TestLoadArrivalSkipsDeadEdge(t *testing.T) {
	if testing.Short() {
		t.Skip("streams for seconds")
	}
	t.Parallel()
	c := newFakeCluster()
	a, b := c.edge(t, "a"), c.edge(t, "b")
	a.alternates, b.alternates = []*fakeEdge{b}, []*fakeEdge{a}
	const n = 6 // arriving every 1/3 s; a dies after the fourth
	cfg := Config{Target: a.ts.URL + "," + b.ts.URL, Space: "fake", Listeners: n, Shape: ShapeRamp, Window: 2 * time.Second,
		Duration: 3 * time.Second, Grace: 2 * time.Second}
	b.staleTo = a // for half a second, b sends renewals to the dead edge
	time.AfterFunc(1150*time.Millisecond, func() {
		b.staleUntil.Store(time.Now().Add(500 * time.Millisecond).UnixNano())
		kill(a)
	})
	rep := runFake(t, cfg)
	if l := rep.Listeners; l.Joined != n || l.Completed != n || rep.Failover.GaveUp != 0 {
		t.Fatalf("listeners %+v, failover %+v: want all %d through", l, rep.Failover, n)
	}
	if refused := rep.Errors["connect: refused"]; refused < 1 || a.joins.Load()+b.joins.Load() != n || a.joins.Load() > 2 {
		t.Errorf("%d arrivals refused, joins a %d b %d: want the late ones for a on b", refused, a.joins.Load(), b.joins.Load())
	}
	if stale := rep.Errors["rejoin media connect: refused"]; stale < rep.Failover.Lost || rep.Failover.Lost == 0 {
		t.Errorf("%d renewals sent to the dead edge for %d lost streams: want at least one each", stale, rep.Failover.Lost)
	}
	if eb := edgeReport(rep, b); eb.Completed != n {
		t.Errorf("b %+v: want everyone to end there", eb)
	}
	checkEdgesAddUp(t, rep)
}
