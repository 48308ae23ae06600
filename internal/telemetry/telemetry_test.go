package telemetry

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestTallyCountsConcurrently(t *testing.T) {
	var ty Tally
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				ty.Add(Decision{"join", "rejected", fmt.Sprint("r", (g+i)%3)}, 1)
			}
		}()
	}
	wg.Wait()
	c := ty.Take()
	if n := c.Sum("join", "rejected", ""); n != 8000 {
		t.Fatalf("counted %d, want 8000", n)
	}
	if by := c.ByReason("join", "rejected"); len(by) != 3 || by["r0"]+by["r1"]+by["r2"] != 8000 {
		t.Fatalf("by reason %v", by)
	}
	if c := ty.Take(); len(c) != 0 {
		t.Fatalf("second take not empty: %v", c)
	}
}

func TestHistQuantiles(t *testing.T) {
	var h Hist
	for i := range 100 {
		h.Observe(time.Duration(i+1) * 10 * time.Millisecond) // 10 ms .. 1 s
	}
	q := h.Take()
	if q.N != 100 || q.P50 < 500 || q.P50 > 525 || q.P99 < 975 || q.P99 > 1000 || q.Max != 1000 {
		t.Fatalf("quantiles %+v", q)
	}
	h.Observe(3 * time.Hour)
	if q := h.Take(); q.Max != 120_000 || q.N != 1 {
		t.Fatalf("overflow %+v", q)
	}
}

func TestPrefixKeyRoundTrip(t *testing.T) {
	for _, p := range []string{"127.4.5.0/24", "10.0.0.0/24", "2001:db8:1::/48", "::/48"} {
		pf := netip.MustParsePrefix(p)
		if got := keyPrefix(prefixKey(pf)); got != pf {
			t.Errorf("%s came back as %s", pf, got)
		}
	}
	a, b := prefixKey(netip.MustParsePrefix("1.2.3.0/24")), prefixKey(netip.MustParsePrefix("::102:300/48"))
	if a == b {
		t.Fatal("an IPv4 and an IPv6 network share a key")
	}
}

func src(i int) (netip.Addr, netip.Prefix) {
	a := netip.AddrFrom4([4]byte{127, byte(i >> 16), byte(i >> 8), byte(i)})
	p, _ := a.Prefix(24)
	return a, p
}

func TestSourcesCountsRatesTopAndSeenBefore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seen.bloom")
	seen, err := OpenSeenBefore(path)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSources(seen)
	// An earlier show: 10 networks listen.
	for i := range 10 {
		_, p := src(i << 8)
		s.Listened(p)
	}
	if err := seen.Commit(); err != nil {
		t.Fatal(err)
	}
	reopened, err := OpenSeenBefore(path)
	if err != nil {
		t.Fatal(err)
	}
	s = NewSources(reopened)
	// This second: 300 addresses in 20 networks join, half of them seen
	// before; one address makes 500 requests, the rest one each.
	for i := range 300 {
		a, p := src((i%20)<<8 | i/20)
		s.JoinAttempt(a, p)
		s.ShowJoin("sp", a, p)
		s.Request(a, p)
	}
	hot, hotP := src(99 << 8)
	for range 500 {
		s.Request(hot, hotP)
	}
	r := s.Take()
	if r.JoinAddrs != 300 || r.JoinPrefixes != 20 || r.SeenBefore != 10 || r.SeenBeforeShr != 0.5 || !r.Exact {
		t.Fatalf("joins: %+v", r)
	}
	if r.PerSource.Max != 500 || r.PerSource.P50 != 1 || r.RequestSources < 295 {
		t.Fatalf("rates: %+v from %d sources", r.PerSource, r.RequestSources)
	}
	if len(r.Top) == 0 || r.Top[0].Prefix != "127.0.99.0/24" || r.Top[0].Requests != 500 {
		t.Fatalf("top: %+v", r.Top)
	}
	sh := r.Shows["sp"]
	if sh.Addrs < 294 || sh.Addrs > 306 || sh.Prefixes != 20 {
		t.Fatalf("show sources %+v", sh)
	}
	if r := s.Take(); r.JoinAddrs != 0 || r.PerSource.Max != 0 || len(r.Top) != 0 {
		t.Fatalf("the next second kept counts: %+v", r)
	}
}

func TestSeenBeforeRefusesACorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seen.bloom")
	if err := os.WriteFile(path, []byte("not a filter"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenSeenBefore(path); err == nil {
		t.Fatal("a corrupt filter was taken for an empty one")
	}
}

func TestFlowsCompletion(t *testing.T) {
	var f Flows
	t0 := time.Unix(1_800_000_000, 0)
	for i := range 10 {
		f.Issued(t0)
		if i < 7 {
			f.Started(t0, t0.Add(2*time.Second))
		}
	}
	f.Left(30 * time.Second)
	var last FlowsRecord
	for s := t0.Unix(); s <= t0.Unix()+flowWindow; s++ {
		last = f.take(s)
		if s == t0.Unix() && (last.Issued != 10 || last.Started != 7 || last.Left[1] != 1) {
			t.Fatalf("second 0: %+v", last)
		}
	}
	if last.Cohort != t0.Unix() || last.CohortN != 10 || last.Completion != 0.7 {
		t.Fatalf("completion: %+v", last)
	}
}

type sinkFunc func([]byte) (int64, error)

func (f sinkFunc) Append(b []byte) (int64, error) { return f(b) }

func TestCollectorRecord(t *testing.T) {
	var got [][]byte
	c := New("node-a", sinkFunc(func(b []byte) (int64, error) { got = append(got, b); return int64(len(got)), nil }), nil, nil)
	c.Tally.Add(Decision{"join", "admitted", "direct"}, 3)
	c.Tally.Add(Decision{"join", "admitted", "queue"}, 2)
	c.Tally.Add(Decision{"join", "rejected", "rate_ip"}, 7)
	c.Tally.Add(Decision{"pow", "rejected", "bad_solution"}, 1)
	c.Tally.Add(Decision{"conn", "rejected", "per_ip"}, 4)
	c.Tally.Add(Decision{"ticket", "rejected", "forged"}, 5)
	c.Tally.Add(Decision{"media", "passed", "budget"}, 9)
	c.OnSecond(func(r *Record) { r.Listeners.Ogg = 42 })
	c.Second(1_800_000_000)
	c.Event(Event{Space: "sp", Event: "start"})
	if len(got) != 2 {
		t.Fatalf("%d entries", len(got))
	}
	var r Record
	if err := json.Unmarshal(got[0], &r); err != nil {
		t.Fatal(err)
	}
	if r.Kind != "second" || r.T != 1_800_000_000 || r.Node.Name != "node-a" || r.Joins.Admitted != 5 || r.Joins.FromQueue != 2 ||
		r.Joins.Rejected["rate_ip"] != 7 || r.Joins.Rejected["pow_bad_solution"] != 1 || r.Conns.Refused["per_ip"] != 4 ||
		r.Tickets["forged"] != 5 || r.Requests["media"].Passed != 9 || r.Requests["join"].Rejected != 7 || r.Listeners.Ogg != 42 ||
		r.Decisions["join/admitted/queue"] != 2 {
		t.Fatalf("record %s", got[0])
	}
	var e Event
	if err := json.Unmarshal(got[1], &e); err != nil || e.Kind != "event" || e.Node != "node-a" || e.T == 0 {
		t.Fatalf("event %s (%v)", got[1], err)
	}
}
