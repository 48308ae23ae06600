package control

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/onair-live/onair/internal/bus"
	"github.com/onair-live/onair/internal/natsnode"
	"github.com/onair-live/onair/internal/store"
	"github.com/onair-live/onair/internal/ticket"
)

var clusterKey = []byte("the cluster key of these tests!!")

// jsCluster starts n JetStream servers routed on loopback.
func jsCluster(t testing.TB, n int) []*natsnode.Node {
	t.Helper()
	nodes, err := natsnode.StartClusterWith(n, natsnode.Config{JetStream: true, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, nd := range nodes {
			nd.Shutdown()
		}
	})
	return nodes
}

// conn is a node's bus connection to one server, as a node holds it.
func conn(t testing.TB, nd *natsnode.Node) *nats.Conn {
	t.Helper()
	b, err := bus.DialNATS(bus.NATSConfig{URLs: []string{nd.ClientURL()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b.Conn()
}

func open(t testing.TB, nc *nats.Conn, cfg Config) *Plane {
	t.Helper()
	if cfg.ClusterKey == nil {
		cfg.ClusterKey = clusterKey
	}
	p, err := Open(nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func ready(t testing.TB, p *Plane) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
}

// within polls ok until it holds or d has passed, and says how long it took.
func within(t testing.TB, d time.Duration, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// spaceLog records what OnSpace delivered.
type spaceLog struct {
	mu  sync.Mutex
	got []store.Space
}

func (l *spaceLog) add(sp store.Space) { l.mu.Lock(); l.got = append(l.got, sp); l.mu.Unlock() }
func (l *spaceLog) states(id string) []store.State {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []store.State
	for _, sp := range l.got {
		if sp.ID == id {
			out = append(out, sp.State)
		}
	}
	return out
}

func newStore(t *testing.T) *store.Store {
	st, err := store.Open(filepath.Join(t.TempDir(), "onair.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// A space the origin creates and starts on server 1 is on an edge on
// server 3 within a second, each time, without its host token hash.
func TestSpaceVisibleOnEdgeWithinASecond(t *testing.T) {
	nodes := jsCluster(t, 3)
	st := newStore(t)
	origin := open(t, conn(t, nodes[0]), Config{})
	kr, _ := st.TicketKeys()
	if err := origin.PutKeys(kr); err != nil {
		t.Fatal(err)
	}
	edge := open(t, conn(t, nodes[2]), Config{})
	ready(t, edge)
	var seen spaceLog
	edge.OnSpace(seen.add)

	now := time.Now().UTC().Truncate(time.Second)
	sp, _, err := st.CreateSpace("Talk", now.Add(time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	if err := origin.PutSpace(sp); err != nil {
		t.Fatal(err)
	}
	took := within(t, time.Second, "created space on the edge", func() bool { _, err := edge.Space(sp.ID); return err == nil })
	t.Logf("created space visible on the edge after %s", took)
	sp, _ = st.UpdateSpace(sp.ID, func(s *store.Space) error { s.State, s.StartedAt = store.Live, now; return nil })
	if err := origin.PutSpace(sp); err != nil {
		t.Fatal(err)
	}
	took = within(t, time.Second, "started space on the edge", func() bool { got, _ := edge.Space(sp.ID); return got.State == store.Live })
	t.Logf("started space visible on the edge after %s", took)

	got, _ := edge.Space(sp.ID)
	if got.HostTokenHash != "" || got.Title != "Talk" || !got.StartedAt.Equal(now) {
		t.Fatalf("edge's copy %+v", got)
	}
	if states := seen.states(sp.ID); len(states) != 2 || states[0] != store.Scheduled || states[1] != store.Live {
		t.Fatalf("OnSpace saw %v", states)
	}
	var late spaceLog
	edge.OnSpace(late.add) // registered after: once per known space
	if states := late.states(sp.ID); len(states) != 1 || states[0] != store.Live {
		t.Fatalf("late OnSpace saw %v", states)
	}
	if _, err := edge.Space("nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown space: %v", err)
	}
	// A plane opened later starts from the snapshot, in store order.
	sp2, _, _ := st.CreateSpace("Earlier", now.Add(time.Minute), now)
	if err := origin.PutSpace(sp2); err != nil {
		t.Fatal(err)
	}
	late2 := open(t, conn(t, nodes[1]), Config{})
	ready(t, late2)
	list, _ := late2.Spaces()
	want, _ := st.Spaces()
	if len(list) != 2 || list[0].ID != want[0].ID || list[1].ID != want[1].ID {
		t.Fatalf("spaces %v, store order %v", list, want)
	}
}

// Keys published by the origin verify tickets on an edge; after a rotation
// a ticket of the kept older key still does, after the next (keep 1) it
// does not, and tickets of the new key do.
func TestTicketKeysAcrossCluster(t *testing.T) {
	nodes := jsCluster(t, 3)
	st := newStore(t)
	origin := open(t, conn(t, nodes[0]), Config{})
	edge := open(t, conn(t, nodes[2]), Config{})
	if edge.Keys() != nil {
		t.Fatal("keys before any were published")
	}
	var rings []*ticket.Keyring
	var mu sync.Mutex
	edge.OnKeys(func(kr *ticket.Keyring) { mu.Lock(); rings = append(rings, kr); mu.Unlock() })
	now := time.Now()
	publish := func(kr *ticket.Keyring, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if err := origin.PutKeys(kr); err != nil {
			t.Fatal(err)
		}
		cur, _ := kr.Keys()
		within(t, time.Second, "keys on the edge", func() bool {
			k := edge.Keys()
			if k == nil {
				return false
			}
			c, _ := k.Keys()
			return c.ID == cur.ID
		})
		tok, _, _ := kr.Issue("sp", time.Minute, now)
		return tok
	}
	verify := func(tok string) error { _, err := edge.Keys().Verify(tok, "sp", now); return err }

	t1 := publish(st.TicketKeys())
	ready(t, edge)
	if err := verify(t1); err != nil {
		t.Fatalf("ticket of the first key: %v", err)
	}
	t2 := publish(st.RotateTicketKeys(1))
	if err := verify(t1); err != nil {
		t.Fatalf("ticket signed before the rotation: %v", err)
	}
	t3 := publish(st.RotateTicketKeys(1))
	if err := verify(t1); !errors.Is(err, ticket.ErrUnknownKey) {
		t.Fatalf("ticket of a dropped key: %v", err)
	}
	for _, tok := range []string{t2, t3} {
		if err := verify(tok); err != nil {
			t.Fatalf("ticket of a kept key: %v", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(rings) != 3 {
		t.Fatalf("OnKeys called %d times, want 3", len(rings))
	}
}

// Load reports of two nodes: the one signed with another cluster key is
// dropped and counted; a report expires after the TTL.
func TestReportsSignedAndExpiring(t *testing.T) {
	nodes := jsCluster(t, 3)
	ttl := 500 * time.Millisecond
	origin := open(t, conn(t, nodes[0]), Config{NodeTTL: ttl})
	good := open(t, conn(t, nodes[1]), Config{NodeTTL: ttl})
	bad := open(t, conn(t, nodes[2]), Config{NodeTTL: ttl, ClusterKey: []byte("another cluster's key, not ours")})
	before := origin.Dropped()
	r := Report{Node: "edge-1", Role: "edge", PublicURL: "http://127.0.0.1:1", Listeners: map[string]int{"ogg": 5},
		CPU: 0.2, OpenFiles: 10, MaxFiles: 100, Capacity: 50, Healthy: true}
	if err := good.Report(r); err != nil {
		t.Fatal(err)
	}
	forged := r
	forged.Node = "edge-2"
	if err := bad.Report(forged); err != nil {
		t.Fatal(err)
	}
	within(t, time.Second, "the forged report dropped", func() bool { return origin.Dropped() > before })
	within(t, time.Second, "the good report", func() bool { return len(origin.Reports()) == 1 })
	got := origin.Reports()
	if got[0].Node != "edge-1" || got[0].Listeners["ogg"] != 5 || got[0].At.IsZero() {
		t.Fatalf("reports %+v", got)
	}
	if err := good.Report(Report{Node: "a.b"}); err == nil {
		t.Fatal("report with a dotted node name accepted")
	}
	within(t, 2*ttl, "the report to expire", func() bool { return len(origin.Reports()) == 0 })
	// A late-comer learns live nodes from the bucket, without waiting a report.
	if err := good.Report(r); err != nil {
		t.Fatal(err)
	}
	within(t, time.Second, "the report in the bucket", func() bool {
		e, err := good.nodes.Get(context.Background(), "edge-1")
		return err == nil && e.Revision() > 0
	})
	late := open(t, conn(t, nodes[2]), Config{NodeTTL: ttl})
	within(t, 200*time.Millisecond, "the late-comer's first reports", func() bool { return len(late.Reports()) == 1 })
}

// Entries that are not the plane's, written straight into its buckets,
// are counted and change nothing.
func TestForeignEntriesDropped(t *testing.T) {
	nodes := jsCluster(t, 1)
	nc := conn(t, nodes[0])
	p := open(t, nc, Config{})
	other := open(t, conn(t, nodes[0]), Config{ClusterKey: []byte("0123456789abcdef-other")})
	st := newStore(t)
	now := time.Now()
	sp, _, _ := st.CreateSpace("Real", now, now)
	if err := p.PutSpace(sp); err != nil {
		t.Fatal(err)
	}
	valid, _ := p.seal.wrap(BucketSpaces, sp.ID, sp, false)
	moved, _ := p.seal.wrap(BucketSpaces, "elsewhere", sp, false)
	notSpace, _ := p.seal.wrap(BucketSpaces, "x1", map[string]any{"id": "x1", "state": "dancing"}, false)
	js, _ := jetstream.New(nc)
	kv, _ := js.KeyValue(context.Background(), BucketSpaces)
	bad := map[string][]byte{
		"junk":      []byte("not json"),
		"v2":        []byte(`{"v":2,"body":"e30=","mac":"AA=="}`),
		"forged":    []byte(`{"v":1,"body":"e30=","mac":"AA=="}`),
		sp.ID:       moved, // another key's entry copied over a real one
		"x1":        notSpace,
		"otherhost": nil,
	}
	bad["otherhost"], _ = other.seal.wrap(BucketSpaces, "otherhost", sp, false)
	// The other plane's node reports are dropped too, so the count alone
	// does not say the bad entries were read: a valid space written after
	// them does, the bucket being read in order.
	within(t, time.Second, "the real space seen", func() bool { _, err := p.Space(sp.ID); return err == nil })
	before := p.Dropped()
	for k, v := range bad {
		if _, err := kv.Put(context.Background(), k, v); err != nil {
			t.Fatal(err)
		}
	}
	marker, _, _ := st.CreateSpace("After", now, now)
	if err := p.PutSpace(marker); err != nil {
		t.Fatal(err)
	}
	within(t, time.Second, "every bad entry read", func() bool { _, err := p.Space(marker.ID); return err == nil })
	if p.Dropped() < before+uint64(len(bad)) {
		t.Fatalf("%d entries dropped, want at least the %d bad ones", p.Dropped()-before, len(bad))
	}
	if got, err := p.Space(sp.ID); err != nil || got.Title != "Real" {
		t.Fatalf("real space after bad entries: %+v %v", got, err)
	}
	if list, _ := p.Spaces(); len(list) != 2 {
		t.Fatalf("bad entries cached: %+v", list)
	}
	if _, err := kv.Put(context.Background(), sp.ID, valid); err != nil { // a valid write still goes through
		t.Fatal(err)
	}
	if err := p.PutSpace(store.Space{ID: "no.dots"}); err == nil {
		t.Fatal("dotted space id accepted")
	}
	keys, _ := js.KeyValue(context.Background(), BucketKeys)
	before = p.Dropped()
	if _, err := keys.Put(context.Background(), keyRing, []byte(`{"v":1,"body":"AAAA","mac":"AA=="}`)); err != nil {
		t.Fatal(err)
	}
	within(t, time.Second, "forged keys counted", func() bool { return p.Dropped() > before })
	if p.Keys() != nil {
		t.Fatal("forged keys taken")
	}
}

// One of three NATS servers going, the one leading the spaces bucket and
// the edge's own, leaves the plane reading and writing within a bounded
// time.
func TestSurvivesOneServerOfThree(t *testing.T) {
	nodes := jsCluster(t, 3)
	st := newStore(t)
	open(t, conn(t, nodes[0]), Config{}).Close() // makes the buckets
	lead := slices.IndexFunc(nodes, func(nd *natsnode.Node) bool { return nd.LeadsStream("KV_" + BucketSpaces) })
	if lead < 0 {
		t.Fatal("no server leads the spaces bucket")
	}
	origin := open(t, conn(t, nodes[(lead+1)%3]), Config{})
	edge := open(t, conn(t, nodes[lead]), Config{})
	kr, _ := st.TicketKeys()
	if err := origin.PutKeys(kr); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sp, _, _ := st.CreateSpace("Talk", now, now)
	if err := origin.PutSpace(sp); err != nil {
		t.Fatal(err)
	}
	ready(t, edge)
	within(t, time.Second, "space on the edge", func() bool { _, err := edge.Space(sp.ID); return err == nil })

	for _, kv := range []jetstream.KeyValue{edge.spaces, edge.keys, edge.nodes} {
		if n := replicas(t, kv); n != 3 {
			t.Fatalf("%s: %d replicas in a cluster of three", kv.Bucket(), n)
		}
	}
	nodes[lead].Shutdown()
	start := time.Now()
	sp.State = store.Live
	if err := origin.PutSpace(sp); err != nil {
		t.Fatal(err)
	}
	t.Logf("the origin's write took %s after the bucket's leader went", time.Since(start))
	within(t, 10*time.Second, "the change on the edge after its server went", func() bool {
		got, _ := edge.Space(sp.ID)
		return got.State == store.Live
	})
	t.Logf("change seen on the edge %s after its NATS server went", time.Since(start))
	if err := edge.Report(Report{Node: "edge-1", Role: "edge", Healthy: true}); err != nil {
		t.Fatal(err)
	}
	within(t, 2*time.Second, "the edge's report on the origin", func() bool { return len(origin.Reports()) == 1 })
	if err := edge.PutSpace(sp); err != nil { // writes from the reconnected side too
		t.Fatal(err)
	}
}

func TestOpenRefusesBadSetups(t *testing.T) {
	lone, err := natsnode.Start(natsnode.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer lone.Shutdown()
	nc := conn(t, lone)
	if _, err := Open(nc, Config{ClusterKey: clusterKey}); err == nil || !strings.Contains(err.Error(), "no JetStream") {
		t.Fatalf("without JetStream: %v", err)
	}
	if _, err := Open(nc, Config{ClusterKey: []byte("short")}); err == nil {
		t.Fatal("short cluster key accepted")
	}
	if _, err := Open(nc, Config{ClusterKey: clusterKey, Replicas: -1}); err == nil {
		t.Fatal("negative replicas accepted")
	}
}

// On a lone server the buckets are made with one replica, and a plane
// with no keys published is not ready.
func TestLoneServerOneReplica(t *testing.T) {
	nodes := jsCluster(t, 1)
	p := open(t, conn(t, nodes[0]), Config{})
	if n := replicas(t, p.spaces); n != 1 {
		t.Fatalf("%d replicas on a lone server", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := p.WaitReady(ctx); err == nil {
		t.Fatal("ready without keys")
	}
}

func replicas(t *testing.T, kv jetstream.KeyValue) int {
	t.Helper()
	st, err := kv.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.(*jetstream.KeyValueBucketStatus).StreamInfo().Config.Replicas
}

// The nodes bucket keeps a report no longer than the default TTL.
func TestNodesBucketExpires(t *testing.T) {
	nodes := jsCluster(t, 1)
	p := open(t, conn(t, nodes[0]), Config{})
	st, err := p.nodes.Status(context.Background())
	if err != nil || st.TTL() != DefaultNodeTTL {
		t.Fatalf("nodes bucket TTL %v (%v), want %v", st.TTL(), err, DefaultNodeTTL)
	}
}
