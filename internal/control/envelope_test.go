package control

import (
	"testing"
	"time"

	"github.com/onair-live/onair/internal/store"
	"github.com/onair-live/onair/internal/ticket"
	"github.com/prometheus/client_golang/prometheus"
)

// Every entry parser takes any bytes under any key: an entry is either
// taken (and then is what a plane with the key wrote, under that key) or
// counted as dropped, never both, never a panic.
func FuzzEntries(f *testing.F) {
	p, err := newPlane(Config{ClusterKey: clusterKey})
	if err != nil {
		f.Fatal(err)
	}
	now := time.Now()
	sp := store.Space{ID: "abc", Title: "t", State: store.Live, StartsAt: now}
	space, _ := p.seal.wrap(BucketSpaces, "abc", sp, false)
	ring, _ := p.seal.wrap(BucketKeys, keyRing, wireRing{Current: wireKey(ticket.NewKey(3))}, true)
	rep, _ := p.seal.wrap(BucketNodes, "e1", Report{Node: "e1", At: now.Add(time.Hour)}, false)
	for _, seed := range []struct {
		key  string
		data []byte
	}{{"abc", space}, {keyRing, ring}, {"e1", rep}, {"x", []byte(`{"v":1}`)}, {"y", []byte("null")}} {
		f.Add(seed.key, seed.data)
	}
	f.Fuzz(func(t *testing.T, key string, data []byte) {
		// A plane of its own per input: a space an earlier input left under
		// the same key would otherwise read as this input's, taken.
		p, err := newPlane(Config{ClusterKey: clusterKey})
		if err != nil {
			t.Fatal(err)
		}
		before := p.Dropped()
		p.applySpace(key, true, data)
		got, err := p.Space(key)
		if taken := err == nil; taken == (p.Dropped() > before) {
			t.Fatalf("space under %q: taken %t, dropped %d→%d", key, taken, before, p.Dropped())
		} else if taken && (got.ID != key || got.HostTokenHash != "") {
			t.Fatalf("took space %+v under %q", got, key)
		}
		old := p.Keys()
		p.applyKeys(key, true, data)
		if kr := p.Keys(); kr != old {
			if cur, _ := kr.Keys(); key != keyRing || cur.ID != 3 {
				t.Fatalf("took keys %d under %q", cur.ID, key)
			}
		}
		p.applyReport(key, data, time.Time{}) // the seed's is from the future: stale, ignored, not dropped
		if len(p.Reports()) != 0 {
			t.Fatalf("took report under %q", key)
		}
	})
}

// Dropped entries show in onair_control_dropped_total by reason.
func TestDroppedMetric(t *testing.T) {
	p, err := newPlane(Config{ClusterKey: clusterKey})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := newPlane(Config{ClusterKey: []byte("yet another cluster key, foreign")})
	forged, _ := q.seal.wrap(BucketSpaces, "abc", store.Space{ID: "abc", State: store.Live}, false)
	moved, _ := p.seal.wrap(BucketNodes, "e1", Report{Node: "e2", At: time.Now()}, false)
	for _, c := range []struct {
		reason string
		apply  func()
	}{
		{reasonMalformed, func() { p.applySpace("abc", true, []byte("{")) }},
		{reasonVersion, func() { p.applySpace("abc", true, []byte(`{"v":9}`)) }},
		{reasonForged, func() { p.applySpace("abc", true, forged) }},
		{reasonForeign, func() { p.applyReport("e1", moved, time.Time{}) }},
	} {
		before, dropped := value(t, c.reason), p.Dropped()
		c.apply()
		if value(t, c.reason) != before+1 || p.Dropped() != dropped+1 {
			t.Errorf("%s: counter %v→%v, Dropped %d→%d", c.reason, before, value(t, c.reason), dropped, p.Dropped())
		}
	}
}

// value reads a dropped counter as /metrics would show it.
func value(t *testing.T, reason string) float64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "onair_control_dropped_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if l := m.GetLabel(); len(l) == 1 && l[0].GetValue() == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
