package line

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/onair-live/onair/internal/gate"
	"github.com/onair-live/onair/internal/natsnode"
)

const show = "show1"

// rig is a waiting room the scenario runs on: edges' join URLs, and a
// switch that stops the line (and slows it: a wait the gate thinks is short
// it holds the join for) and starts it at rate.
type rig struct {
	edges []string
	pause func(full bool)
	rate  float64
}

// edge serves joins of show through g on loopback.
func edge(t *testing.T, g *gate.Gate) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.Admit(w, r, show) {
			io.WriteString(w, "in")
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// join posts a join (with a queue token, if any) and returns the status,
// the place in line and the token to come back with.
func join(t *testing.T, url, tok string) (int, uint64, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, nil)
	if tok != "" {
		req.Header.Set("Onair-Queue", tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Position uint64 `json:"position"`
		Token    string `json:"queue_token"`
	}
	if resp.StatusCode == http.StatusAccepted {
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, body.Position, body.Token
}

// scenario: a crowd arrives while the line is stopped, alternating between
// the edges: each gets the next place in arrival order. The line starts:
// each waiter comes back at another edge than the one it joined (its
// token is valid there) and they are admitted in arrival order, at the
// line's rate. A served token used again is not admitted.
func scenario(t *testing.T, r rig) {
	const n = 16
	r.pause(true)
	toks := make([]string, n)
	for i := range n {
		code, pos, tok := join(t, r.edges[i%len(r.edges)], "")
		if code != http.StatusAccepted || pos != uint64(i+1) {
			t.Fatalf("arrival %d at edge %d: %d, position %d, want 202 at position %d", i, i%len(r.edges), code, pos, i+1)
		}
		toks[i] = tok
	}
	start := time.Now()
	r.pause(false)
	admitInOrder(t, r, toks)
	took := time.Since(start)
	// The first place goes at once, then one every 1/rate s: never faster.
	if least := time.Duration(float64(n-2) / r.rate * float64(time.Second)); took < least {
		t.Fatalf("%d admitted in %v, faster than %v/s allows (%v)", n, took, r.rate, least)
	}
	t.Logf("%d waiters over %d edge(s) admitted in arrival order in %v at %v/s", n, len(r.edges), took, r.rate)
	r.pause(true) // a stopped line admits only places already served
	for i, e := range r.edges {
		if code, _, _ := join(t, e, toks[0]); code == http.StatusOK {
			t.Fatalf("a served queue token admitted again at edge %d", i)
		}
	}
}

// admitInOrder brings the waiters holding toks (in arrival order) back
// until all are in, each at another edge than the one it joined, and
// fails if one gets in while someone ahead of it still waits.
func admitInOrder(t *testing.T, r rig, toks []string) {
	n := len(toks)
	start := time.Now()
	admitted := make([]bool, n)
	for left := n; left > 0; {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("%d of %d still waiting after 20 s at %v/s", left, n, r.rate)
		}
		// Polled from the back of the line: once someone is in, everyone
		// ahead polled after them must be in too (the line only moves on).
		in := -1
		for j := n - 1; j >= 0; j-- {
			if admitted[j] {
				continue
			}
			code, _, _ := join(t, r.edges[(j+1)%len(r.edges)], toks[j])
			switch {
			case code == http.StatusOK:
				admitted[j], in = true, j
				left--
			case code != http.StatusAccepted:
				t.Fatalf("waiter %d came back to %d", j, code)
			case in >= 0:
				t.Fatalf("waiter %d admitted while %d, ahead of it, still waits", in, j)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWaitingRoomLocalDefault: one node and its own line, as before.
func TestWaitingRoomLocalDefault(t *testing.T) {
	const rate = 20
	a := gate.NewAdmission(gate.AdmitConfig{MinRate: 1, MaxRate: rate, StartRate: rate, Burst: 1}, time.Now())
	g := gate.New(gate.Config{Line: gate.LocalLine(a), Mode: gate.Normal}, nil)
	pause := func(full bool) {
		a.Pause(full)
		a.SetRate(map[bool]float64{true: 1, false: rate}[full])
	}
	scenario(t, rig{edges: []string{edge(t, g)}, rate: rate, pause: pause})
}

// cluster is three NATS servers on loopback, a keeper on the first and an
// edge's line client on each of the others.
type cluster struct {
	nodes   []*natsnode.Node
	keeper  *Keeper
	clients []*Client
	gates   []*gate.Gate
	state   jetstream.KeyValue
	rate    atomic.Int64
	full    atomic.Bool
}

// bucket is the lines' KV bucket, as a deployment would make it.
func bucket(t *testing.T, nc *nats.Conn) jetstream.KeyValue {
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A cluster just started may not have every peer's JetStream in yet
	// ("no suitable peers for placement"): ask again until it has.
	for {
		kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "onair-line", History: 1, TTL: 2 * time.Hour,
			Storage: jetstream.MemoryStorage, Replicas: 3})
		var apiErr *jetstream.APIError
		if err == nil || !errors.As(err, &apiErr) || apiErr.ErrorCode != 10005 || ctx.Err() != nil {
			if err != nil {
				t.Fatal(err)
			}
			return kv
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func newCluster(t *testing.T) *cluster { return newClusterWith(t, natsnode.Config{}) }

// newClusterWith starts the cluster's servers with base; with JetStream,
// the keepers save their lines in a bucket.
func newClusterWith(t *testing.T, base natsnode.Config) *cluster {
	nodes, err := natsnode.StartClusterWith(3, base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, nd := range nodes {
			nd.Shutdown()
		}
	})
	c := &cluster{nodes: nodes}
	if base.JetStream {
		c.state = bucket(t, connect(t, nodes[0]))
	}
	c.rate.Store(20)
	c.startKeeper(t)
	for _, nd := range nodes[1:] {
		cl, err := NewClient(connect(t, nd), ClientConfig{Key: testKey, Probe: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		c.clients = append(c.clients, cl)
		c.gates = append(c.gates, gate.New(gate.Config{Line: cl, TokenKey: testKey, Mode: gate.Normal}, nil))
	}
	c.settle(t)
	return c
}

func connect(t *testing.T, nd *natsnode.Node) *nats.Conn {
	nc, err := nats.Connect(nd.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// startKeeper starts a keeper on the first server; its rate is steered by
// hand (pause), not by its period.
func (c *cluster) startKeeper(t *testing.T) {
	k, err := NewKeeper(connect(t, c.nodes[0]), KeeperConfig{Key: testKey, Period: time.Hour,
		Admit:    gate.AdmitConfig{MinRate: 1, Burst: 1},
		Capacity: c.capacity, State: c.state, Log: slog.New(slog.NewTextHandler(testLog{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c.keeper == k {
			k.Close()
		}
	})
	c.keeper = k
}

// settle waits until the keeper's subscriptions have reached every
// edge's server (interest travels the routes), and the edges are shared.
func (c *cluster) settle(t *testing.T) {
	deadline := time.Now().Add(5 * time.Second)
	for _, cl := range c.clients {
		for !cl.Shared() || !c.answers(cl) {
			if time.Now().After(deadline) {
				t.Fatal("the keeper never answered an edge")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func (c *cluster) answers(cl *Client) bool {
	_, err := cl.request(pingSubject, kindPing, 0, time.Now())
	if err != nil {
		return false
	}
	_, err = cl.request(subjectPrefix+"settle", kindCheck, keptBit, time.Now())
	return err == nil
}

// testLog sends a keeper's log to the test's.
type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// capacity is the edges' sum of admit rates: a slow one while they are
// full, so nobody's wait looks short enough to be held for.
func (c *cluster) capacity() (float64, bool) {
	if c.full.Load() {
		return 1, true
	}
	return float64(c.rate.Load()), false
}

func (c *cluster) pause(full bool) {
	c.full.Store(full)
	c.keeper.steer(time.Now())
}

// TestSharedLineAcrossEdges: two edges on different NATS servers of a
// cluster of three share the keeper's line: the scenario above, with
// arrivals alternating between them and each waiter coming back at the
// other edge.
func TestSharedLineAcrossEdges(t *testing.T) {
	c := newCluster(t)
	scenario(t, rig{edges: []string{edge(t, c.gates[0]), edge(t, c.gates[1])}, rate: float64(c.rate.Load()), pause: c.pause})
	for i, cl := range c.clients {
		if s := cl.Stats(); s.Local != 0 || s.Fallbacks != 0 || s.Shared == 0 {
			t.Errorf("edge %d: %+v, want every decision shared", i, s)
		}
	}
}
