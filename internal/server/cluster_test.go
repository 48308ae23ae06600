package server_test

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"context"

	"github.com/onair-live/onair/internal/bus"
	"github.com/onair-live/onair/internal/gate"
	"github.com/onair-live/onair/internal/natsnode"
	"github.com/onair-live/onair/internal/server"
)

// testCluster is an origin and edges on a real 3-server NATS cluster
// (embedded servers routed on loopback, JetStream for the control plane).
type testCluster struct {
	nats   []*natsnode.Node
	origin *env
	edges  []*env
	buses  []*bus.NATS // edges' buses, by edge
}

const testClusterKey = "test-cluster-key-0123456789"

func startCluster(t *testing.T, edges int) *testCluster {
	t.Helper()
	return startClusterWith(t, edges, func(*server.Config) {})
}

// startClusterWith is startCluster with the edges' config tuned.
func startClusterWith(t *testing.T, edges int, tuneEdge func(*server.Config)) *testCluster {
	t.Helper()
	nodes, err := natsnode.StartClusterWith(3, natsnode.Config{JetStream: true, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, n := range nodes {
			n.Shutdown()
		}
	})
	c := &testCluster{nats: nodes}
	node := func(role server.Role, name string, n int, tune func(*server.Config)) (*env, *bus.NATS) {
		b, err := bus.DialNATS(bus.NATSConfig{URLs: []string{nodes[n].ClientURL()}, Name: name})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Close) // after the server's shutdown (cleanups run last first)
		return startServerWith(t, func(cfg *server.Config) {
			cfg.Gate, cfg.Role, cfg.NodeName, cfg.Bus, cfg.ClusterKey = roomyGate, role, name, b, []byte(testClusterKey)
			tune(cfg)
		}), b
	}
	c.origin, _ = node(server.RoleOrigin, "origin", 0, tuneEdge) // the line's floor is the origin's
	for i := range edges {
		e, b := node(server.RoleEdge, fmt.Sprintf("edge-%d", i+1), (i+1)%3, tuneEdge)
		// An edge's tests drive the origin's host port.
		e.host, e.admin = c.origin.host, c.origin.admin
		c.edges = append(c.edges, e)
		c.buses = append(c.buses, b)
	}
	return c
}

// waitFor polls fn every 20 ms until it is true or limit passes.
func waitFor(t *testing.T, limit time.Duration, what string, fn func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !fn() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func TestClusterOriginFeedsEdges(t *testing.T) {
	needFFmpeg(t)
	c := startCluster(t, 2)
	o, e1, e2 := c.origin, c.edges[0], c.edges[1]
	id, tok := o.space("over the bus")
	// A space made on the origin is on every edge within a second.
	took := waitFor(t, time.Second, "new space visible on edge-2", func() bool {
		code, _ := e2.call("GET", e2.pub+"/api/v1/spaces/"+id, "", nil)
		return code == http.StatusOK
	})
	t.Logf("space visible on edge-2 after %v", took)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := pushTone(ctx, t, o.host+"/ingest/"+id+"?speaker=a", 440, "Authorization: Bearer "+tok, 20000)
	b := pushTone(ctx, t, o.host+"/ingest/"+id+"?speaker=b", 660, "Authorization: Bearer "+tok, 20000)
	o.waitPlaying(id, tok, 2)
	o.transition(id, tok, "start")
	started := time.Now()
	waitFor(t, time.Second, "live on edge-1", func() bool {
		_, sp := e1.call("GET", e1.pub+"/api/v1/spaces/"+id, "", nil)
		return sp["state"] == "live"
	})

	// A join on either edge; its ticket plays on both edges.
	j := e1.join(id)
	if j["edge"] == nil || !strings.HasPrefix(j["ogg"].(string), "http") {
		t.Fatalf("join answer names no edge: %v", j)
	}
	for _, e := range []*env{e1, e2} {
		pcm := decodeLive(t, e.pub+"/live/"+id+".opus?t="+j["ticket"].(string), 4)
		if got := float64(len(pcm)) / 48000; got < 3.9 {
			t.Fatalf("%s: decoded %.2f s, want 4", e.pub, got)
		}
		assertTones(t, pcm, 440, 660)
	}
	// The stage lives on the origin; an edge serves it (and counts its
	// listeners into it once their load reports arrive).
	code, doc := e2.call("GET", e2.pub+"/stage/"+id+".json", "", nil)
	if on, _ := doc["on_stage"].([]any); code != http.StatusOK || len(on) != 2 {
		t.Fatalf("stage through edge-2: %d %v", code, doc)
	}
	// An edge that lost the bus refuses joins rather than admit listeners
	// it cannot feed, and its health says why.
	c.buses[1].Close()
	waitFor(t, 2*time.Second, "edge-2 refuses joins without the bus", func() bool {
		code, j := e2.call("POST", e2.pub+"/api/v1/spaces/"+id+"/join", "", nil)
		return code == http.StatusServiceUnavailable && j["code"] == "no_bus"
	})
	if code, h := e2.call("GET", e2.pub+"/healthz", "", nil); code != http.StatusServiceUnavailable || h["status"] != "no_bus" {
		t.Fatalf("healthz of an edge without the bus: %d %v", code, h)
	}

	o.transition(id, tok, "end")
	live := time.Since(started).Seconds()
	cancel()
	a.Wait()
	b.Wait()
	// The replay is the origin's recording, served through any edge.
	waitFor(t, 2*time.Second, "ended on edge-1", func() bool {
		_, sp := e1.call("GET", e1.pub+"/api/v1/spaces/"+id, "", nil)
		return sp["state"] == "ended"
	})
	if dur := probeDuration(t, e1.pub+"/replay/"+id+".opus"); math.Abs(dur-live) > 1.5 {
		t.Fatalf("replay through edge-1: %.2f s, live for %.2f s", dur, live)
	}
}

// One waiting line per space across edges: newcomers at either edge get
// places in the order they came, and a place drawn at one edge is served at
// the other.
func TestClusterOneWaitingLine(t *testing.T) {
	c := startClusterWith(t, 2, func(cfg *server.Config) {
		cfg.Gate.Admit = gate.AdmitConfig{StartRate: 0.2, MinRate: 0.2, MaxRate: 0.2, Burst: 1}
	})
	o, e1, e2 := c.origin, c.edges[0], c.edges[1]
	id, tok := o.space("one line")
	o.transition(id, tok, "start")
	waitFor(t, 2*time.Second, "live on both edges", func() bool {
		_, a := e1.call("GET", e1.pub+"/api/v1/spaces/"+id, "", nil)
		_, b := e2.call("GET", e2.pub+"/api/v1/spaces/"+id, "", nil)
		return a["state"] == "live" && b["state"] == "live"
	})
	time.Sleep(1500 * time.Millisecond) // the edges' first load reports pace the line
	var last float64
	var tokens []string
	for i := range 8 {
		e := []*env{e1, e2}[i%2]
		t0 := time.Now()
		code, j := e.call("POST", e.pub+"/api/v1/spaces/"+id+"/join", "", nil)
		t.Logf("join %d at edge-%d: %d %v after %v", i, i%2+1, code, j["position"], time.Since(t0))
		if code == http.StatusOK {
			continue // the line's banked second let one in
		}
		pos, _ := j["position"].(float64)
		if code != http.StatusAccepted {
			t.Fatalf("join %d at edge-%d: %d %v, want a place in line", i, i%2+1, code, j)
		}
		last = max(last, pos)
		tokens = append(tokens, j["queue_token"].(string))
	}
	// Two lines, one per edge, would put nobody further back than 4th.
	if len(tokens) < 6 || last < float64(len(tokens))-1 {
		t.Fatalf("%d of 8 joins waited, the last %vth in line: not one line across the edges", len(tokens), last)
	}
	// The first waiter comes back at the other edge, and is let in there
	// once its turn comes.
	waitFor(t, 15*time.Second, "the first waiter admitted at the other edge", func() bool {
		code, _ := e2.call("POST", e2.pub+"/api/v1/spaces/"+id+"/join?q="+tokens[0], "", nil)
		return code == http.StatusOK
	})
}
