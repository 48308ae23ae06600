package line

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/onair-live/onair/internal/gate"
	"github.com/onair-live/onair/internal/natsnode"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestKeeperGoneEdgesFallBackAndReturn: with the keeper gone, each edge
// admits from its own line (once logged and counted); a waiter of the
// shared line draws again there, once per edge, without a second proof of
// work. When a keeper answers again the edges are back on the shared line,
// and a place in the old keeper's line is stale there too.
func TestKeeperGoneEdgesFallBackAndReturn(t *testing.T) {
	c := newCluster(t)
	a, b := edge(t, c.gates[0]), edge(t, c.gates[1])
	c.pause(true)
	_, _, tokA := join(t, a, "")
	_, _, tokB := join(t, b, "")
	old := c.clients[0].Join(show, time.Now())
	if old.Number&keptBit == 0 || old.Position == 0 {
		t.Fatalf("a place in the shared line: %+v", old)
	}
	fallbacks := counted(metricFallbacks)
	c.keeper.Close()
	for i, e := range []string{a, b} {
		start := time.Now()
		if code, _, _ := join(t, e, ""); code != http.StatusOK {
			t.Fatalf("edge %d without its keeper: %d, want a local admission", i, code)
		}
		if s := c.clients[i].Stats(); s.Fallbacks != 1 || c.clients[i].Shared() {
			t.Fatalf("edge %d: %+v, shared %v", i, s, c.clients[i].Shared())
		}
		t.Logf("edge %d fell back in %v", i, time.Since(start))
	}
	if got := counted(metricFallbacks) - fallbacks; got != 2 {
		t.Fatalf("%v fallbacks counted, want 2", got)
	}
	c.clients[1].Follow(1, true) // edge B is full: its own line stops, as a lone node's
	if code, _, _ := join(t, b, ""); code != http.StatusAccepted {
		t.Fatalf("a full edge, fallen back: %d, want a place in its line", code)
	}
	c.clients[1].Follow(500, false)
	c.gates[0].SetMode(gate.UnderAttack)
	if code, _, _ := join(t, a, tokA); code != http.StatusOK {
		t.Fatalf("a waiter of the lost line, under attack: %d, want drawn again locally and in", code)
	}
	if code, _, _ := join(t, a, tokA); code != http.StatusUnauthorized {
		t.Fatalf("the same stale place again: %d, want a newcomer's proof of work", code)
	}
	c.gates[0].SetMode(gate.Normal)

	c.startKeeper(t)
	deadline := time.Now().Add(5 * time.Second)
	for !c.clients[0].Shared() || !c.clients[1].Shared() {
		if time.Now().After(deadline) {
			t.Fatal("the edges never came back to the shared line")
		}
		time.Sleep(10 * time.Millisecond)
	}
	before := c.clients[1].Stats()
	if tk := c.clients[1].Check(show, old.Number, time.Now()); !tk.Stale {
		t.Fatalf("a place of the old keeper's line at the new one: %+v, want stale", tk)
	}
	code, pos, _ := join(t, a, tokB) // tokB's place was in the old line: drawn again in the new one
	if code != http.StatusAccepted || pos != 1 {
		t.Fatalf("a waiter of the old line at the new keeper: %d at %d, want 202 at 1", code, pos)
	}
	if s := c.clients[1].Stats(); s.Shared != before.Shared+1 || s.Local != before.Local {
		t.Fatalf("after the keeper came back: %+v then %+v, want the check decided by the shared line", before, s)
	}
}

// TestForeignAndMalformedRequestsDropped: garbage, another cluster's
// requests and replayed old ones get no answer and are counted; an edge
// with the wrong key gets nothing from the keeper and admits on its own.
func TestForeignAndMalformedRequestsDropped(t *testing.T) {
	c := newCluster(t)
	nc := connect(t, c.nodes[1])
	foreign := testMacer(t, []byte("another cluster's secret, 32B..."))
	own := testMacer(t, testKey)
	subj := subjectPrefix + show
	for reason, msg := range map[string][]byte{
		"malformed": []byte("GET / HTTP/1.1"),
		"foreign":   appendRequest(nil, foreign, subj, kindDraw, 0, time.Now()),
		"stale":     appendRequest(nil, own, subj, kindDraw, 0, time.Now().Add(-time.Minute)),
	} {
		before := counted(metricDropped.WithLabelValues(reason))
		if _, err := nc.Request(subj, msg, 100*time.Millisecond); err != nats.ErrTimeout {
			t.Errorf("%s request: %v, want no answer", reason, err)
		}
		deadline := time.Now().Add(2 * time.Second)
		for counted(metricDropped.WithLabelValues(reason)) == before {
			if time.Now().After(deadline) {
				t.Fatalf("a %s request was not counted", reason)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	wrong, err := NewClient(connect(t, c.nodes[2]), ClientConfig{Key: []byte("another cluster's secret, 32B...")})
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	if tk := wrong.Join(show, time.Now()); tk.Number&keptBit != 0 || wrong.Shared() {
		t.Fatalf("an edge with the wrong key drew %+v from the keeper", tk)
	}
	if _, err := NewClient(nc, ClientConfig{Key: []byte("short")}); err == nil {
		t.Error("a client with a short key")
	}
	if _, err := NewKeeper(nc, KeeperConfig{Key: testKey}); err == nil {
		t.Error("a keeper without a capacity callback")
	}
}

// counted reads a counter of this package's metrics.
func counted(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

// TestKeeperTakeoverResumesTheLine: keepers that save their lines in a KV
// bucket hand them over: after the keeper is replaced, every waiter still
// has its place (the same position, at either edge), a newcomer is behind
// them all, and they are admitted in their order. A saved line forged
// without the cluster's key is dropped.
func TestKeeperTakeoverResumesTheLine(t *testing.T) {
	c := newClusterWith(t, natsnode.Config{JetStream: true, StoreDir: t.TempDir()})
	r := rig{edges: []string{edge(t, c.gates[0]), edge(t, c.gates[1])}, rate: float64(c.rate.Load()), pause: c.pause}
	c.pause(true)
	const n = 6
	toks := make([]string, n)
	for i := range n {
		var code int
		var pos uint64
		if code, pos, toks[i] = join(t, r.edges[i%2], ""); code != http.StatusAccepted || pos != uint64(i+1) {
			t.Fatalf("arrival %d: %d at %d", i, code, pos)
		}
	}
	c.keeper.steer(time.Now()) // a period: the lines are saved
	forged := appendState(nil, testMacer(t, []byte("another cluster's secret, 32B...")), stateKey("evil"), lineState{tag: newTag(true), next: 9})
	if _, err := c.state.Put(context.Background(), stateKey("evil"), forged); err != nil {
		t.Fatal(err)
	}
	bad := counted(metricDropped.WithLabelValues("bad_state"))
	c.keeper.Close()
	c.startKeeper(t)
	if got := counted(metricDropped.WithLabelValues("bad_state")) - bad; got != 1 || c.keeper.lines["evil"] != nil {
		t.Fatalf("a forged saved line: %v dropped, kept %v", got, c.keeper.lines["evil"] != nil)
	}
	c.settle(t)
	for i, tok := range toks {
		if code, pos, _ := join(t, r.edges[(i+1)%2], tok); code != http.StatusAccepted || pos != uint64(i+1) {
			t.Fatalf("waiter %d at the new keeper: %d at %d, want still 202 at %d", i, code, pos, i+1)
		}
	}
	code, pos, late := join(t, r.edges[0], "")
	if code != http.StatusAccepted || pos <= n {
		t.Fatalf("a newcomer at the new keeper: %d at %d, want behind the %d waiting", code, pos, n)
	}
	t.Logf("a newcomer after the takeover is at %d behind %d waiters (the rest are places skipped for draws not saved)", pos, n)
	c.pause(false)
	admitInOrder(t, r, append(toks, late))
	for i, cl := range c.clients {
		if s := cl.Stats(); s.Fallbacks != 0 {
			t.Errorf("edge %d fell back: %+v", i, s)
		}
	}
}

// TestChallengeSpentOnceAcrossEdges: under attack, a solved challenge lets
// one join through at one edge; the same solution at another edge is
// refused (the keeper spent it), and a lone edge's spent set still holds.
func TestChallengeSpentOnceAcrossEdges(t *testing.T) {
	c := newCluster(t)
	a, b := edge(t, c.gates[0]), edge(t, c.gates[1])
	for _, g := range c.gates {
		g.SetMode(gate.UnderAttack)
	}
	powJoin := func(url, pow string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, url, nil)
		if pow != "" {
			req.Header.Set("Onair-PoW", pow)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var ch gate.Challenge
		_ = json.NewDecoder(resp.Body).Decode(&ch)
		if ch.Token == "" {
			return resp.StatusCode, ""
		}
		return resp.StatusCode, ch.Token + ":" + gate.Solve(ch.Token, ch.Difficulty)
	}
	code, solved := powJoin(a, "")
	if code != http.StatusUnauthorized || solved == "" {
		t.Fatalf("under attack without a proof: %d", code)
	}
	if code, _ := powJoin(a, solved); code == http.StatusUnauthorized {
		t.Fatal("a solved challenge refused at the edge that gave it")
	}
	if code, _ := powJoin(b, solved); code != http.StatusUnauthorized {
		t.Fatalf("the same solution at the other edge: %d, want refused", code)
	}
	c.keeper.Close()
	_, solved = powJoin(b, "")
	if code, _ := powJoin(b, solved); code == http.StatusUnauthorized {
		t.Fatal("a fresh solution refused with the keeper gone")
	}
	if code, _ := powJoin(b, solved); code != http.StatusUnauthorized {
		t.Fatalf("a solution used twice at one edge with the keeper gone: %d", code)
	}
}

// TestSlowKeeperKeepsTheLine: a keeper that is there but slow (its requests
// time out, as on a machine a surge saturates) does not turn the edges to
// their own lines at once: for cfg.Patience a waiter keeps its place (same
// number, about the same position) and a newcomer's draw is asked again;
// only a keeper silent for longer is given up on.
func TestSlowKeeperKeepsTheLine(t *testing.T) {
	c := newCluster(t)
	a := edge(t, c.gates[0])
	c.pause(true)
	for range 3 {
		join(t, a, "")
	}
	code, pos, tok := join(t, a, "")
	if code != http.StatusAccepted || pos != 4 {
		t.Fatalf("the fourth in a paused line: %d at %d", code, pos)
	}
	c.keeper.Close()
	// Subscribed but silent: requests time out rather than find no responder.
	silent := connect(t, c.nodes[0])
	for _, subj := range []string{subjectPrefix + "*", pingSubject} {
		if _, err := silent.Subscribe(subj, func(*nats.Msg) {}); err != nil {
			t.Fatal(err)
		}
	}
	if err := silent.Flush(); err != nil {
		t.Fatal(err)
	}
	cl := c.clients[0]
	timeouts := counted(metricRetries)
	start := time.Now()
	code, again, tok2 := join(t, a, tok)
	if code != http.StatusAccepted || again != 4 || tok2 == "" {
		t.Fatalf("a waiter while the keeper is slow: %d at %d, want its place (4) kept", code, again)
	}
	if s := cl.Stats(); s.Fallbacks != 0 || s.Local != 0 || !cl.Shared() || cl.Local() {
		t.Fatalf("fell back at the first timeout: %+v (local %v)", s, cl.Local())
	}
	if counted(metricRetries) == timeouts {
		t.Fatal("the timeout not counted")
	}
	// A newcomer's draw is asked again until the keeper has been silent for
	// the patience (3 s) in all, then decided by the edge's own line.
	if code, _, _ := join(t, a, ""); code != http.StatusOK {
		t.Fatalf("a newcomer once the keeper is given up on: %d, want a local admission", code)
	}
	waited := time.Since(start)
	if s := cl.Stats(); s.Fallbacks != 1 || cl.Shared() || !cl.Local() {
		t.Fatalf("after the patience: %+v, shared %v, local %v", s, cl.Shared(), cl.Local())
	}
	if waited < 3*time.Second || waited > 5*time.Second {
		t.Fatalf("gave up on the keeper after %v, want its 3 s patience and a timeout or two", waited)
	}
	t.Logf("the keeper given up on after %v", waited)
}
