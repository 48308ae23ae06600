package bus

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/natsnode"
	"github.com/onair-live/onair/internal/program"
)

// rig is a bus set-up the shared suite runs on: a publisher's bus and the
// subscribers' (the same in-process bus, or NATS clients on other servers).
type rig struct {
	pub  Bus
	subs []Bus
	// settle waits until a Join on every subscriber bus can see the
	// space's recent frames (NATS: the publisher's state interest has
	// reached the other servers).
	settle func(t *testing.T, space string)
}

// The suite: every case uses its own spaces, so they share one rig.
var suite = []struct {
	name string
	run  func(t *testing.T, r *rig)
}{
	{"OrderNoGaps", testOrderNoGaps},
	{"GapsCounted", testGapsCounted},
	{"MidShowJoin", testMidShowJoin},
	{"JoinWhileLive", testJoinWhileLive},
	{"JoinNotLive", testJoinNotLive},
	{"HundredSpaces", testHundredSpaces},
	{"CancelStops", testCancelStops},
}

func runSuite(t *testing.T, r *rig) {
	for _, c := range suite {
		t.Run(c.name, func(t *testing.T) { c.run(t, r) })
	}
}

func TestSuiteLocal(t *testing.T) {
	b := NewLocal()
	runSuite(t, &rig{pub: b, subs: []Bus{b, b}, settle: func(*testing.T, string) {}})
}

func TestSuiteNATSCluster(t *testing.T) {
	nodes := startCluster(t, 3)
	pub := dial(t, nodes[0])
	r := &rig{pub: pub, subs: []Bus{dial(t, nodes[1]), dial(t, nodes[2])}}
	r.settle = func(t *testing.T, space string) {
		for _, b := range r.subs {
			waitFor(t, "the publisher's state to be reachable", func() bool {
				st, err := b.(*NATS).Recent(space)
				return err == nil && len(st.Frames) > 0
			})
		}
	}
	runSuite(t, r)
}

func startCluster(t testing.TB, n int) []*natsnode.Node {
	t.Helper()
	nodes, err := natsnode.StartCluster(n, nil)
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

func dial(t testing.TB, nd *natsnode.Node) *NATS {
	t.Helper()
	b, err := DialNATS(NATSConfig{URLs: []string{nd.ClientURL()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

var spaceSeq struct {
	sync.Mutex
	n int
}

func newSpace() string {
	spaceSeq.Lock()
	defer spaceSeq.Unlock()
	spaceSeq.n++
	return fmt.Sprintf("sp%d-%d", time.Now().UnixNano()%1e6, spaceSeq.n)
}

func frame(seq uint64) program.Frame {
	return program.Frame{Seq: seq, PTS: seq * program.FrameSamples, Capture: time.Now(),
		Packet: []byte{0xf8, byte(seq), byte(seq >> 8), 0x55}}
}

// collector records what one subscription got.
type collector struct {
	mu     sync.Mutex
	frames []program.Frame
	at     []time.Time
	ends   int
}

func (c *collector) add(f program.Frame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.End {
		c.ends++
		return
	}
	c.frames = append(c.frames, f)
	c.at = append(c.at, time.Now())
}

func (c *collector) got() ([]program.Frame, []time.Time, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]program.Frame(nil), c.frames...), append([]time.Time(nil), c.at...), c.ends
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.frames)
}

func waitFor(t testing.TB, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// subscribeAll subscribes a collector on every subscriber bus and waits
// until each receives: End probes (not shows) until every collector has
// one, since on NATS a subscription takes a moment to reach the publisher.
func subscribeAll(t *testing.T, r *rig, space string) []*collector {
	t.Helper()
	var cs []*collector
	for _, b := range r.subs {
		c := &collector{}
		t.Cleanup(b.Subscribe(space, c.add))
		cs = append(cs, c)
	}
	waitFor(t, "subscriptions to reach the publisher", func() bool {
		r.pub.Publish(space, program.Frame{End: true})
		time.Sleep(2 * time.Millisecond)
		for _, c := range cs {
			if _, _, ends := c.got(); ends == 0 {
				return false
			}
		}
		return true
	})
	return cs
}

// statsOf sums the stats of distinct buses.
func statsOf(buses []Bus) Stats {
	var s Stats
	seen := map[Bus]bool{}
	for _, b := range buses {
		if seen[b] {
			continue
		}
		seen[b] = true
		x := b.Stats()
		s.Delivered += x.Delivered
		s.Gaps += x.Gaps
		s.Lost += x.Lost
		s.Dropped += x.Dropped
	}
	return s
}

// assertRun checks a collector holds exactly seqs from..to-1, in order,
// with their packets intact.
func assertRun(t *testing.T, who string, frames []program.Frame, from, to uint64) {
	t.Helper()
	if uint64(len(frames)) != to-from {
		t.Fatalf("%s: %d frames, want %d (%d..%d)", who, len(frames), to-from, from, to-1)
	}
	for i, f := range frames {
		want := from + uint64(i)
		if f.Seq != want || f.PTS != want*program.FrameSamples || !bytes.Equal(f.Packet, frame(want).Packet) {
			t.Fatalf("%s: frame %d is seq %d pts %d packet %x, want seq %d", who, i, f.Seq, f.PTS, f.Packet, want)
		}
	}
}

func testOrderNoGaps(t *testing.T, r *rig) {
	space := newSpace()
	cs := subscribeAll(t, r, space)
	before := statsOf(r.subs)
	const n = 500
	for i := range uint64(n) {
		r.pub.Publish(space, frame(i))
	}
	for i, c := range cs {
		waitFor(t, "every frame", func() bool { return c.count() >= n })
		f, _, _ := c.got()
		assertRun(t, fmt.Sprint("subscriber ", i), f, 0, n)
	}
	after := statsOf(r.subs)
	if after.Gaps != before.Gaps || after.Lost != before.Lost || after.Dropped != before.Dropped {
		t.Fatalf("gaps %d→%d lost %d→%d dropped %d→%d on a clean run", before.Gaps, after.Gaps,
			before.Lost, after.Lost, before.Dropped, after.Dropped)
	}
}

func testGapsCounted(t *testing.T, r *rig) {
	space := newSpace()
	cs := subscribeAll(t, r, space)
	before := statsOf(r.subs)
	for i := range uint64(30) {
		if i < 10 || i >= 15 && i != 20 {
			r.pub.Publish(space, frame(i))
		}
	}
	for _, c := range cs {
		waitFor(t, "the frames sent", func() bool { return c.count() >= 24 })
	}
	after := statsOf(r.subs)
	subs := uint64(len(r.subs))
	if g, l := after.Gaps-before.Gaps, after.Lost-before.Lost; g != 2*subs || l != 6*subs {
		t.Fatalf("counted %d gaps, %d lost; want %d and %d (holes 10-14 and 20 for %d subscribers)", g, l, 2*subs, 6*subs, subs)
	}
}

func testMidShowJoin(t *testing.T, r *rig) {
	space := newSpace()
	const sent = 400
	for i := range uint64(sent) {
		r.pub.Publish(space, frame(i))
	}
	r.settle(t, space)
	for i, b := range r.subs {
		c := &collector{}
		head, cancel := b.Join(space, c.add)
		t.Cleanup(cancel)
		if !bytes.Equal(head, DefaultHead()) {
			t.Fatalf("join %d: head %x, want the OpusHead %x", i, head, DefaultHead())
		}
		// The recent frames are there when Join returns: a player starts now.
		f, _, _ := c.got()
		assertRun(t, fmt.Sprint("join ", i, " at once"), f, sent-DefaultKeep, sent)
	}
	// And the live ones follow without a hole or a repeat.
	c := &collector{}
	_, cancel := r.subs[len(r.subs)-1].Join(space, c.add)
	defer cancel()
	for i := uint64(sent); i < sent+50; i++ {
		r.pub.Publish(space, frame(i))
	}
	waitFor(t, "the live frames after the recent ones", func() bool { return c.count() >= DefaultKeep+50 })
	f, _, _ := c.got()
	assertRun(t, "joined then live", f, sent-DefaultKeep, sent+50)
}

// Joins while the publisher keeps publishing: wherever the recent frames
// end and the live ones begin, the subscriber sees one unbroken run.
func testJoinWhileLive(t *testing.T, r *rig) {
	space := newSpace()
	r.pub.Publish(space, frame(0))
	r.settle(t, space)
	var sent atomic.Uint64
	sent.Store(1)
	stop := make(chan struct{})
	var pub sync.WaitGroup
	pub.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Microsecond):
			}
			r.pub.Publish(space, frame(sent.Load()))
			sent.Add(1)
		}
	})
	var cs []*collector
	for range 10 {
		for _, b := range r.subs {
			c := &collector{}
			_, cancel := b.Join(space, c.add)
			t.Cleanup(cancel)
			cs = append(cs, c)
		}
		time.Sleep(3 * time.Millisecond)
	}
	close(stop)
	pub.Wait()
	last := sent.Load() - 1
	for i, c := range cs {
		waitFor(t, "the last frame", func() bool {
			f, _, _ := c.got()
			return len(f) > 0 && f[len(f)-1].Seq == last
		})
		f, _, _ := c.got()
		assertRun(t, fmt.Sprint("join ", i), f, f[0].Seq, last+1)
	}
}

func testJoinNotLive(t *testing.T, r *rig) {
	space := newSpace()
	c := &collector{}
	start := time.Now()
	head, cancel := r.subs[0].Join(space, c.add)
	defer cancel()
	if head != nil || c.count() != 0 {
		t.Fatalf("join of a space never published: head %x, %d frames", head, c.count())
	}
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Fatalf("join of a space nobody publishes waited %s: it should know at once", d)
	}
	// A show that ended leaves nothing to join onto.
	r.pub.Publish(space, frame(0))
	r.settle(t, space)
	r.pub.Publish(space, program.Frame{Seq: 1, End: true})
	waitFor(t, "the end to drop the recent frames", func() bool {
		c2 := &collector{}
		h, cancel := r.subs[0].Join(space, c2.add)
		cancel()
		return h == nil && c2.count() == 0
	})
}

func testHundredSpaces(t *testing.T, r *rig) {
	const spaces, frames = 100, 50
	names := make([]string, spaces)
	cs := make([][]*collector, spaces)
	for i := range names {
		names[i] = newSpace()
		cs[i] = subscribeAll(t, r, names[i])
	}
	before := statsOf(r.subs)
	var wg sync.WaitGroup
	for _, space := range names {
		wg.Go(func() {
			tick := time.NewTicker(program.FrameDuration)
			defer tick.Stop()
			for i := range uint64(frames) {
				r.pub.Publish(space, frame(i))
				<-tick.C
			}
		})
	}
	wg.Wait()
	for i := range names {
		for j, c := range cs[i] {
			waitFor(t, "every space's frames", func() bool { return c.count() >= frames })
			f, _, _ := c.got()
			assertRun(t, fmt.Sprintf("space %d subscriber %d", i, j), f, 0, frames)
		}
	}
	if after := statsOf(r.subs); after.Gaps != before.Gaps {
		t.Fatalf("%d gaps over 100 live spaces", after.Gaps-before.Gaps)
	}
}

func testCancelStops(t *testing.T, r *rig) {
	space := newSpace()
	var mu sync.Mutex
	cancelled, late, calls := false, false, 0
	cancel := r.subs[0].Subscribe(space, func(program.Frame) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		late = late || cancelled
	})
	stop := make(chan struct{})
	var pub sync.WaitGroup
	pub.Go(func() {
		for i := uint64(0); ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			r.pub.Publish(space, frame(i))
		}
	})
	waitFor(t, "a delivery", func() bool { mu.Lock(); defer mu.Unlock(); return calls > 0 })
	cancel()
	mu.Lock()
	cancelled = true
	mu.Unlock()
	time.Sleep(50 * time.Millisecond)
	cancel()
	close(stop)
	pub.Wait()
	mu.Lock()
	defer mu.Unlock()
	if late {
		t.Fatal("a frame was delivered after cancel returned")
	}
}
