package natsnode

import (
	"context"
	"errors"
	"github.com/nats-io/nats.go/jetstream"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// Three servers routed on loopback form one cluster: a message published
// on one reaches a subscriber on another, and shutting one down leaves
// the other two routed.
func TestClusterOfThree(t *testing.T) {
	nodes, err := StartCluster(3, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, nd := range nodes {
			nd.Shutdown()
		}
	}()
	for _, nd := range nodes {
		if nd.Peers() != 2 || !strings.HasPrefix(nd.RouteURL(), "nats://127.0.0.1:") {
			t.Fatalf("%s: %d peers, route %q", nd.Name(), nd.Peers(), nd.RouteURL())
		}
	}
	sub, err := nats.Connect(nodes[2].ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	got := make(chan []byte, 1)
	if _, err := sub.Subscribe("x", func(m *nats.Msg) { got <- m.Data }); err != nil {
		t.Fatal(err)
	}
	if err := sub.Flush(); err != nil {
		t.Fatal(err)
	}
	pub, err := nats.Connect(nodes[0].ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	deadline := time.After(5 * time.Second)
	for done := false; !done; {
		if err := pub.Publish("x", []byte("hi")); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-got:
			done = string(m) == "hi"
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatal("no message across the cluster")
		}
	}
	nodes[1].Shutdown()
	nodes[1].Shutdown() // idempotent
	for _, nd := range []*Node{nodes[0], nodes[2]} {
		deadline := time.Now().Add(5 * time.Second)
		for nd.Peers() != 1 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if nd.Peers() != 1 {
			t.Fatalf("%s: %d peers after one of three went", nd.Name(), nd.Peers())
		}
	}
}

func TestLoneServerHasNoRoutePort(t *testing.T) {
	nd, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer nd.Shutdown()
	if nd.RouteURL() != "" || !strings.HasPrefix(nd.ClientURL(), "nats://127.0.0.1:") {
		t.Fatalf("route %q client %q", nd.RouteURL(), nd.ClientURL())
	}
}

func TestBadConfigIsAClearErrorAndStartsNothing(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for name, c := range map[string]struct {
		cfg  Config
		want string
	}{
		"no port":            {Config{Listen: "127.0.0.1"}, "nats listen address"},
		"bad port":           {Config{Listen: "127.0.0.1:99999"}, "bad port"},
		"routes, no cluster": {Config{Routes: []string{"nats://127.0.0.1:1"}}, "without a cluster listen"},
		"bad route":          {Config{ClusterListen: "127.0.0.1:0", Routes: []string{"http://x"}}, "want nats://host:port"},
		"client port taken":  {Config{Listen: taken.Addr().String()}, "address already in use"},
		"route port taken":   {Config{ClusterListen: taken.Addr().String()}, "nats cluster port"},
	} {
		start := time.Now()
		nd, err := Start(c.cfg)
		if err == nil {
			nd.Shutdown()
			t.Errorf("%s: started", name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want it to say %q", name, err, c.want)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: took %s to fail", name, d)
		}
	}
}

// With JetStream on, three servers hold a bucket with three replicas: it
// still takes writes and serves reads after one server goes.
func TestJetStreamClusterSurvivesOneServer(t *testing.T) {
	nodes, err := StartClusterWith(3, Config{JetStream: true, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, nd := range nodes {
			nd.Shutdown()
		}
	}()
	kv := func(nd *Node) jetstream.KeyValue {
		nc, err := nats.Connect(nd.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for { // a peer's JetStream may not be in yet: "no suitable peers" (10005)
			b, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "t", Replicas: 3})
			var apiErr *jetstream.APIError
			if err == nil || !errors.As(err, &apiErr) || apiErr.ErrorCode != 10005 || ctx.Err() != nil {
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	w, r := kv(nodes[0]), kv(nodes[2])
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := w.Put(ctx, "k", []byte("1")); err != nil {
		t.Fatal(err)
	}
	nodes[1].Shutdown()
	start := time.Now()
	for {
		if _, err := w.Put(ctx, "k", []byte("2")); err == nil {
			break
		} else if ctx.Err() != nil {
			t.Fatalf("no write within 20 s of a server going: %v", err)
		}
	}
	t.Logf("writes again %s after one of three servers went", time.Since(start))
	e, err := r.Get(ctx, "k")
	if err != nil || string(e.Value()) != "2" {
		t.Fatalf("read on another server: %v %q", err, e.Value())
	}
}

// JetStream needs a name, and routes when clustered; a lone server has it at once.
func TestJetStreamNeedsAName(t *testing.T) {
	if nd, err := Start(Config{JetStream: true}); err == nil {
		nd.Shutdown()
		t.Fatal("started a nameless JetStream server")
	} else if !strings.Contains(err.Error(), "server name") {
		t.Fatalf("error %q", err)
	}
	if nd, err := Start(Config{Name: "x", JetStream: true, StoreDir: t.TempDir(), ClusterListen: "127.0.0.1:0"}); err == nil {
		nd.Shutdown()
		t.Fatal("started a clustered JetStream server with no routes")
	} else if !strings.Contains(err.Error(), "needs routes") {
		t.Fatalf("error %q", err)
	}
	nd, err := Start(Config{Name: "alone", JetStream: true, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer nd.Shutdown()
	if err := nd.WaitJetStream(5 * time.Second); err != nil {
		t.Fatal(err)
	}
}
