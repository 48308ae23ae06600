package verdict

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onair-live/onair/internal/receipts"
	"github.com/onair-live/onair/internal/telemetry"
)

// node is one node of a made-up cluster: its clock's offset from true time
// (ms), and whom it hears.
type node struct {
	name   string
	offset float64
	hears  []string
}

// clusterLog writes the node's real receipts log in dir: n seconds of
// records by its own clock from true second t0, a join surge at true
// seconds [surge, surge+5), each second's peers' reports received 2 ms
// after they were sent (plus jitter), and, for the origin, a show start.
func clusterLog(t *testing.T, dir string, me node, all map[string]node, t0 int64, n int, surge int64) string {
	t.Helper()
	path := filepath.Join(dir, me.name)
	l, err := receipts.Open(path, "onair/"+me.name, nil)
	if err != nil {
		t.Fatal(err)
	}
	shift := int64(math.Round(me.offset / 1000))
	if me.name == "origin" {
		ev := telemetry.Event{V: 1, Kind: "event", TMS: (t0+1)*1000 + int64(me.offset), Node: me.name, Space: "sp", Event: "start"}
		ev.T = ev.TMS / 1000
		appendJSON(t, l, ev)
	}
	for i := range n {
		r := telemetry.Record{V: 1, Kind: "second", T: t0 + int64(i) + shift, Requests: map[string]telemetry.Outcomes{}}
		r.Node.Name = me.name
		r.Requests["join"] = telemetry.Outcomes{Passed: 1}
		if tt := t0 + int64(i); tt >= surge && tt < surge+5 && me.name != "origin" {
			r.Requests["join"] = telemetry.Outcomes{Passed: 300}
			r.Joins.Admitted = 300
		}
		r.Peers = map[string]telemetry.PeerClock{}
		for _, p := range me.hears {
			travel := 2 + float64(i%7) // ms
			r.Peers[p] = telemetry.PeerClock{Reports: 1, MinMS: travel + me.offset - all[p].offset}
		}
		appendJSON(t, l, r)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func appendJSON(t *testing.T, l *receipts.Log, v any) {
	b, _ := json.Marshal(v)
	if _, err := l.Append(b); err != nil {
		t.Fatal(err)
	}
}

func gatherCluster(t *testing.T, nodes ...node) *Gathered {
	t.Helper()
	dir := t.TempDir()
	all := map[string]node{}
	for _, n := range nodes {
		all[n.name] = n
	}
	var q Query
	for _, n := range nodes {
		q.Sources = append(q.Sources, clusterLog(t, dir, n, all, t0, 120, t0+60))
	}
	g, err := Gather(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func clockOf(t *testing.T, g *Gathered, name string) Clock {
	t.Helper()
	for _, c := range g.Clocks {
		if c.Node == name {
			return c
		}
	}
	t.Fatalf("no clock for %s in %+v", name, g.Clocks)
	return Clock{}
}

// An edge whose clock is 5.3 s ahead: its skew is found within its bound
// (2 ms of travel each way: ±2 ms), its seconds are moved back, the
// surge's onset is where it truly was, and the verdict warns of the skew.
func TestSkewedEdgeIsLinedUp(t *testing.T) {
	g := gatherCluster(t,
		node{name: "origin", hears: []string{"edge"}},
		node{name: "edge", offset: 5300.4, hears: []string{"origin"}})
	c := clockOf(t, g, "edge")
	if !c.Known || c.Reference != "origin" || math.Abs(c.SkewMS-5300.4) > c.BoundMS || c.BoundMS > 2.01 || c.ShiftS != 5 {
		t.Fatalf("edge clock %+v, want +5300.4 ms within ±2 ms, moved 5 s", c)
	}
	if len(g.Report.Windows) != 1 || g.Report.Windows[0].Onset != t0+60 {
		t.Fatalf("windows %+v, want one with its onset at %d", g.Report.Windows, t0+60)
	}
	notes := g.ClockNotes()
	if len(notes) != 1 || !strings.Contains(notes[0], "edge: clock +5.300 s") {
		t.Fatalf("notes %q", notes)
	}
	if r := clockOf(t, g, "origin"); !r.Known || r.SkewMS != 0 || r.ShiftS != 0 {
		t.Fatalf("origin %+v", r)
	}
}

// A clock behind, by a fraction of a second: known, moved by nothing, no
// warning.
func TestSmallSkewMovesNothing(t *testing.T) {
	g := gatherCluster(t,
		node{name: "origin", hears: []string{"edge"}},
		node{name: "edge", offset: -300, hears: []string{"origin"}})
	if c := clockOf(t, g, "edge"); !c.Known || math.Abs(c.SkewMS+300) > c.BoundMS || c.ShiftS != 0 {
		t.Fatalf("edge clock %+v", c)
	}
	if n := g.ClockNotes(); len(n) != 0 {
		t.Fatalf("notes %q", n)
	}
}

// The origin hears only edge1, edge2 only edge1: edge2 is reached through
// edge1, the skews and bounds added; and a node heard one way only is
// unknown, saying which way.
func TestSkewThroughAnotherNode(t *testing.T) {
	g := gatherCluster(t,
		node{name: "origin", hears: []string{"edge1", "edge3"}},
		node{name: "edge1", offset: 1500, hears: []string{"origin", "edge2"}},
		node{name: "edge2", offset: -4000, hears: []string{"edge1"}},
		node{name: "edge3", offset: 2000},
	)
	c := clockOf(t, g, "edge2")
	if !c.Known || math.Abs(c.SkewMS+4000) > c.BoundMS || c.BoundMS > 4.01 || c.ShiftS != -4 || !strings.Contains(c.How, ", then edge1↔edge2") {
		t.Fatalf("edge2 %+v", c)
	}
	c = clockOf(t, g, "edge3")
	if c.Known || !strings.Contains(c.How, "only origin's receipts of edge3's") {
		t.Fatalf("edge3 %+v", c)
	}
	if n := g.ClockNotes(); len(n) != 3 {
		t.Fatalf("notes %q", n)
	}
}

// Logs with no cross-node evidence (one process each, or older logs): the
// skew is unknown and the verdict says it merged by each node's clock.
func TestNoEvidenceSaysSkewUnknown(t *testing.T) {
	g := gatherCluster(t, node{name: "origin"}, node{name: "edge", offset: 3000})
	c := clockOf(t, g, "edge")
	if c.Known || c.ShiftS != 0 || !strings.Contains(c.How, "skew unknown") {
		t.Fatalf("edge %+v", c)
	}
	notes := g.ClockNotes()
	if len(notes) != 1 || !strings.Contains(notes[0], "merged by its own clock") {
		t.Fatalf("notes %q", notes)
	}
}

// One log alone needs no lining up and warns of nothing.
func TestOneLogNoClockNotes(t *testing.T) {
	g := gatherCluster(t, node{name: "edge", offset: 3000})
	if n := g.ClockNotes(); len(n) != 0 || len(g.Clocks) != 1 || !g.Clocks[0].Known {
		t.Fatalf("notes %q clocks %+v", n, g.Clocks)
	}
}

// Paths: with every pair heard both ways, the tightest path wins, and a
// node reached only through another adds that one's skew.
func TestEstimateClocksPath(t *testing.T) {
	rec := func(peers map[string]float64) Entry {
		r := telemetry.Record{Kind: "second", Peers: map[string]telemetry.PeerClock{}}
		for p, ms := range peers {
			r.Peers[p] = telemetry.PeerClock{Reports: 1, MinMS: ms}
		}
		return Entry{Record: r}
	}
	// true offsets: o 0, a +1000, b +3000; travel 1 ms except o↔b 50 ms.
	logs := []*Log{
		{Node: "o", Events: []telemetry.Event{{Event: "start"}}, Entries: []Entry{rec(map[string]float64{"a": 1 - 1000, "b": 50 - 3000})}},
		{Node: "a", Entries: []Entry{rec(map[string]float64{"o": 1 + 1000, "b": 1 + 1000 - 3000})}},
		{Node: "b", Entries: []Entry{rec(map[string]float64{"o": 50 + 3000, "a": 1 + 3000 - 1000})}},
	}
	cs := EstimateClocks(logs)
	if cs[2].Node != "b" || !cs[2].Known || cs[2].SkewMS != 3000 || cs[2].BoundMS != 2 || !strings.Contains(cs[2].How, "then") {
		t.Fatalf("b %+v", cs[2])
	}
	if cs[1].SkewMS != 1000 || cs[1].BoundMS != 1 {
		t.Fatalf("a %+v", cs[1])
	}
}

// A clock stepped during the logs makes the two ways disagree: unknown.
func TestSteppedClockIsUnknown(t *testing.T) {
	e := func(p string, ms float64) Entry {
		return Entry{Record: telemetry.Record{Kind: "second", Peers: map[string]telemetry.PeerClock{p: {Reports: 1, MinMS: ms}}}}
	}
	logs := []*Log{{Node: "o", Entries: []Entry{e("a", -5000)}}, {Node: "a", Entries: []Entry{e("o", 1)}}}
	if c := EstimateClocks(logs)[1]; c.Known || !strings.Contains(c.How, "disagree") {
		t.Fatalf("%+v", c)
	}
}

// FuzzClocks reads any two entries as two nodes' records (peers and all)
// and estimates their clocks: nothing panics, every skew found is finite
// and within what the entries could say.
func FuzzClocks(f *testing.F) {
	f.Add([]byte(`{"kind":"second","t":1,"node":{"name":"a"},"peers":{"b":{"reports":1,"min_ms":-4998.3}}}`),
		[]byte(`{"kind":"second","t":6,"node":{"name":"b"},"peers":{"a":{"reports":1,"min_ms":5002.3}}}`))
	f.Add([]byte(`{"kind":"second","t":1,"peers":{"b":{"reports":-1,"min_ms":1e308}}}`), []byte(`{"kind":"second","peers":null}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		la, lb := &Log{Node: "a", BadFrom: -1}, &Log{Node: "b", BadFrom: -1}
		named := false
		la.add(0, a, &named)
		named = false
		lb.add(0, b, &named)
		if la.Node == lb.Node {
			lb.Node += "'"
		}
		cs := EstimateClocks([]*Log{la, lb})
		if len(cs) != 2 || !cs[0].Known || cs[0].SkewMS != 0 {
			t.Fatalf("reference %+v", cs)
		}
		for _, c := range cs {
			if math.IsNaN(c.SkewMS) || math.IsInf(c.SkewMS, 0) || c.BoundMS < 0 || math.IsNaN(c.BoundMS) {
				t.Fatalf("clock %+v", c)
			}
		}
		_ = ClockNotes(cs)
		la.align(cs[0])
		lb.align(cs[1])
	})
}
