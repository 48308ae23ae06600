package gate

import (
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestTicketReplayedFromManyNetworks(t *testing.T) {
	g := New(Config{}, nil)
	until := time.Now().Add(time.Hour)
	from := func(addr string) bool {
		r := httptest.NewRequest("GET", "/live/x.opus", nil)
		r.RemoteAddr = addr + ":1234"
		return g.TicketFrom(r, 42, until)
	}
	// The join's network, then three more (Wi-Fi, mobile data, IPv6).
	for _, a := range []string{"198.51.100.7", "198.51.100.8", "203.0.113.9", "192.0.2.1", "2001:db8:1:2::1"} {
		if !from(a) {
			t.Fatalf("%s refused", a)
		}
	}
	if from("192.0.3.1") || from("2001:db8:2::1") {
		t.Fatal("a fifth network was let in")
	}
	if !from("198.51.100.200") || !from("2001:db8:1:ffff::9") {
		t.Fatal("the listener's own networks were refused after a replay")
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.3.1:1"
	if !g.TicketFrom(r, 43, until) {
		t.Fatal("another ticket was refused")
	}
}

func TestReplayGuardIsBounded(t *testing.T) {
	var g replayGuard
	now := time.Now()
	p := netip.MustParsePrefix("192.0.2.0/24")
	for id := range uint64(3 * replayKeys) {
		g.use(id, p, now.Add(time.Hour), now, true)
	}
	n := 0
	for i := range g.shards {
		n += len(g.shards[i].m)
	}
	if n > replayKeys || n < replayKeys/2 {
		t.Fatalf("%d tickets remembered, bound %d", n, replayKeys)
	}
	// Expired entries go first.
	var e replayGuard
	for id := range uint64(replayKeys) {
		e.use(id, p, now.Add(-time.Second), now, true)
	}
	if ok, _, _ := e.use(1<<40, p, now.Add(time.Hour), now, true); !ok {
		t.Fatal("a new ticket was refused")
	}
	n = 0
	for i := range e.shards {
		n += len(e.shards[i].m)
	}
	if n > replayKeys-replayKeys/64+1 {
		t.Fatalf("expired entries were not evicted: %d", n)
	}
}

func BenchmarkTicketFrom(b *testing.B) {
	g := New(Config{}, nil)
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "198.51.100.7:1234"
	until := time.Now().Add(time.Hour)
	b.RunParallel(func(pb *testing.PB) {
		id := uint64(0)
		for pb.Next() {
			id++
			g.TicketFrom(r, id%100000, until)
		}
	})
}
