package control

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/onair-live/onair/internal/bus"
)

// Two origins on different servers of a 3-server cluster: one takes the
// lease, the other stands by and names it. When the active one loses
// NATS, it steps down before the standby takes over (never two actives),
// and the standby takes over within the TTL and a half.
func TestLeaseOneActiveAndTakeover(t *testing.T) {
	nodes := jsCluster(t, 3)
	const ttl = time.Second
	ba, err := bus.DialNATS(bus.NATSConfig{URLs: []string{nodes[0].ClientURL()}})
	if err != nil {
		t.Fatal(err)
	}
	defer ba.Close()
	pa := open(t, ba.Conn(), Config{})
	pb := open(t, conn(t, nodes[2]), Config{})
	la, err := pa.OpenLease("origin-a", "http://a", ttl)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := pb.OpenLease("origin-b", "http://b", ttl)
	if err != nil {
		t.Fatal(err)
	}
	var actives atomic.Int32
	var lostAt, gainedAt atomic.Int64
	aGained := make(chan struct{})
	aDone := make(chan error, 1)
	go func() {
		aDone <- la.Run(context.Background(), func() { actives.Add(1); close(aGained) }, nil)
		actives.Add(-1)
		lostAt.Store(time.Now().UnixNano())
	}()
	<-aGained
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bGained := make(chan struct{})
	go func() {
		_ = lb.Run(ctx, func() {
			if actives.Add(1) != 1 {
				t.Error("two active origins at once")
			}
			gainedAt.Store(time.Now().UnixNano())
			close(bGained)
		}, nil)
	}()
	within(t, 2*time.Second, "the standby names the active origin", func() bool {
		h, ok := lb.Active()
		return ok && h.Node == "origin-a" && h.HostURL == "http://a"
	})
	time.Sleep(2 * ttl) // renewals keep it: the standby does not take over
	if lb.Mine() || !la.Mine() {
		t.Fatal("the lease moved while its holder renewed it")
	}

	killed := time.Now()
	ba.Close() // origin a is cut off: its renewals fail
	select {
	case err := <-aDone:
		if !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("the cut-off origin's Run returned %v, want ErrLeaseLost", err)
		}
	case <-time.After(2 * ttl):
		t.Fatal("the cut-off origin did not step down")
	}
	select {
	case <-bGained:
	case <-time.After(3 * ttl):
		t.Fatal("the standby did not take over")
	}
	if lostAt.Load() > gainedAt.Load() {
		t.Fatal("the standby took over before the cut-off origin stepped down")
	}
	took := time.Duration(gainedAt.Load() - killed.UnixNano())
	t.Logf("cut off → stepped down %s, → standby active %s (ttl %s)", time.Duration(lostAt.Load()-killed.UnixNano()), took, ttl)
	if took > ttl*3/2+500*time.Millisecond {
		t.Fatalf("takeover took %s, want within %s", took, ttl*3/2+500*time.Millisecond)
	}
	if h, ok := lb.Active(); !ok || h.Node != "origin-b" {
		t.Fatalf("after takeover the holder is %+v (%t)", h, ok)
	}
}

// A clean stop releases the lease: the standby takes over at once, not
// after the TTL.
func TestLeaseReleasedOnStop(t *testing.T) {
	nodes := jsCluster(t, 3)
	const ttl = 3 * time.Second
	la, err := open(t, conn(t, nodes[0]), Config{}).OpenLease("origin-a", "http://a", ttl)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := open(t, conn(t, nodes[1]), Config{}).OpenLease("origin-b", "http://b", ttl)
	if err != nil {
		t.Fatal(err)
	}
	actx, stopA := context.WithCancel(context.Background())
	aGained, aDone := make(chan struct{}), make(chan struct{})
	go func() { _ = la.Run(actx, func() { close(aGained) }, nil); close(aDone) }()
	<-aGained
	bctx, stopB := context.WithCancel(context.Background())
	defer stopB()
	bGained := make(chan struct{})
	go func() { _ = lb.Run(bctx, func() { close(bGained) }, nil) }()
	time.Sleep(200 * time.Millisecond)
	stopped := time.Now()
	stopA()
	<-aDone
	select {
	case <-bGained:
		t.Logf("released → standby active in %s", time.Since(stopped))
	case <-time.After(ttl * 2 / 3):
		t.Fatal("the standby waited for the TTL after a clean stop")
	}
}

// A lease shorter than the loop can keep is refused, as is a bad name.
func TestLeaseBadConfig(t *testing.T) {
	nodes := jsCluster(t, 1)
	p := open(t, conn(t, nodes[0]), Config{})
	if _, err := p.OpenLease("a", "http://a", 100*time.Millisecond); err == nil {
		t.Fatal("a 100 ms lease was accepted")
	}
	if _, err := p.OpenLease("a.b", "http://a", 0); err == nil {
		t.Fatal("a node name with a dot was accepted")
	}
}

// An origin restarted after kill -9 (its lease still in the bucket under
// its own name and host URL) takes it back at once; another name does not.
func TestLeaseTakenBackAfterRestart(t *testing.T) {
	nodes := jsCluster(t, 1)
	p := open(t, conn(t, nodes[0]), Config{})
	const ttl = 5 * time.Second
	first, err := p.OpenLease("origin-a", "http://a", ttl)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if !first.Take(ctx) {
		t.Fatal("the first origin did not take a free lease")
	}
	// The process dies without releasing; it restarts, and a stranger tries.
	stranger, _ := p.OpenLease("origin-b", "http://a", ttl)
	if stranger.Take(ctx) {
		t.Fatal("another node took a lease held under origin-a")
	}
	again, _ := p.OpenLease("origin-a", "http://a", ttl)
	if !again.Take(ctx) {
		t.Fatal("the restarted origin did not take its own lease back")
	}
	if err := first.renew(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("the dead process's renewal: %v, want ErrLeaseLost (its revision is stale)", err)
	}
}

// A lone origin (no standby seen) whose renewals fail keeps the show on
// air and its claim on the lease, rather than step down for nobody.
func TestLeaseLoneOriginRidesOutAFault(t *testing.T) {
	nodes := jsCluster(t, 1)
	const ttl = time.Second
	b, err := bus.DialNATS(bus.NATSConfig{URLs: []string{nodes[0].ClientURL()}})
	if err != nil {
		t.Fatal(err)
	}
	p := open(t, b.Conn(), Config{})
	l, err := p.OpenLease("origin-a", "http://a", ttl)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gained := make(chan struct{})
	go func() { done <- l.Run(ctx, func() { close(gained) }, func() bool { return false }) }()
	<-gained
	b.Close() // every renewal fails from now on
	select {
	case err := <-done:
		t.Fatalf("a lone origin stepped down (%v) with no standby to take over", err)
	case <-time.After(3 * ttl):
	}
	if !l.Mine() {
		t.Fatal("a lone origin let go of its lease")
	}
}

// A renewal that timed out here but was written there moved the lease's
// revision on: the next renewal finds its own take at the new revision and
// goes on, rather than step down for a rival that is not there.
func TestLeaseRenewalWrittenUnseen(t *testing.T) {
	nodes := jsCluster(t, 1)
	p := open(t, conn(t, nodes[0]), Config{})
	l, err := p.OpenLease("origin-a", "http://a", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if !l.Take(ctx) {
		t.Fatal("no lease taken")
	}
	// The renewal as it lands while its answer is lost.
	data, _ := p.seal.wrap(BucketLease, leaseKey, l.holder, false)
	if _, err := l.kv.Update(ctx, leaseKey, data, l.rev); err != nil {
		t.Fatal(err)
	}
	if err := l.renew(ctx); err != nil || !l.Mine() {
		t.Fatalf("renewal after an unseen one: %v, mine %v", err, l.Mine())
	}
	// Another take of the same name (a restart) is a rival, though.
	again, _ := p.OpenLease("origin-a", "http://a", 5*time.Second)
	if !again.Take(ctx) {
		t.Fatal("the restarted origin did not take its own lease back")
	}
	if err := l.renew(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("renewal after a restart's take: %v, want ErrLeaseLost", err)
	}
}

// A lone origin whose renewals stalled past the TTL (a slow election of
// the lease stream's leader) finds its entry expired: the server refuses
// the renewal as a wrong last sequence, and the origin takes the free
// lease again rather than step down for nobody. Had another origin taken
// it meanwhile, the renewal is lost.
func TestLeaseExpiredDuringAStallIsTakenBack(t *testing.T) {
	nodes := jsCluster(t, 1)
	p := open(t, conn(t, nodes[0]), Config{})
	const ttl = 500 * time.Millisecond
	l, err := p.OpenLease("origin-a", "http://a", ttl)
	if err != nil {
		t.Fatal(err)
	}
	l.rivals = func() bool { return false }
	ctx := context.Background()
	if !l.Take(ctx) {
		t.Fatal("the origin did not take a free lease")
	}
	time.Sleep(3 * ttl) // no renewal: the entry expires
	if _, err := l.kv.Get(ctx, leaseKey); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("the lease entry after its TTL: %v, want it expired", err)
	}
	if err := l.renew(ctx); err != nil || !l.Mine() {
		t.Fatalf("the renewal after the entry expired: %v (mine: %t), want the lease taken back", err, l.Mine())
	}
	if h, _ := l.readHolder(ctx); h.Node != "origin-a" {
		t.Fatalf("the lease is held by %+v after it was taken back", h)
	}

	time.Sleep(3 * ttl)
	other, _ := p.OpenLease("origin-b", "http://b", ttl)
	if !other.Take(ctx) {
		t.Fatal("another origin could not take the expired lease")
	}
	if err := l.renew(ctx); !errors.Is(err, ErrLeaseLost) || l.Mine() {
		t.Fatalf("the renewal after another origin took the lease: %v (mine: %t), want ErrLeaseLost", err, l.Mine())
	}
}
