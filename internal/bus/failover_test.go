package bus

import (
	"testing"
	"time"

	"github.com/onair-live/onair/internal/program"
)

// A NATS server of three goes away mid-show: the subscriber that was on it
// reconnects to another and its longest silence stays within 2 s; what it
// missed is counted as a gap, not hidden.
func TestNATSServerKilledMidStream(t *testing.T) {
	t.Run("subscriber's server", func(t *testing.T) { killMidStream(t, 1) })
	t.Run("publisher's server", func(t *testing.T) { killMidStream(t, 0) })
}

// killMidStream runs a show from a publisher on server 0 to a subscriber
// on server 1, and shuts server victim down a second in.
func killMidStream(t *testing.T, victim int) {
	nodes := startCluster(t, 3)
	pub := dial(t, nodes[0])
	sub := dial(t, nodes[1])
	r := &rig{pub: pub, subs: []Bus{sub}}
	space := newSpace()
	c := subscribeAll(t, r, space)[0]
	before := sub.Stats()

	const frames = 150 // 3 s of show
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(program.FrameDuration)
		defer tick.Stop()
		for i := range uint64(frames) {
			if i == 50 {
				nodes[victim].Shutdown()
			}
			pub.Publish(space, frame(i))
			<-tick.C
		}
	}()
	<-done
	waitFor(t, "the last frame after the reconnect", func() bool {
		f, _, _ := c.got()
		return len(f) > 0 && f[len(f)-1].Seq == frames-1
	})
	for _, b := range []*NATS{pub, sub} {
		if got := b.Server(); got == nodes[victim].ClientURL() || got == "" {
			t.Fatalf("a bus is on %q after server %s was shut down", got, nodes[victim].ClientURL())
		}
	}
	f, at, _ := c.got()
	var longest time.Duration
	for i := 1; i < len(f); i++ {
		if f[i].Seq <= f[i-1].Seq {
			t.Fatalf("frame %d: seq %d after %d", i, f[i].Seq, f[i-1].Seq)
		}
		longest = max(longest, at[i].Sub(at[i-1]))
	}
	missing := uint64(frames - len(f))
	after := sub.Stats()
	t.Logf("server killed: longest silence %s, %d of %d frames missed, reconnected to %s", longest, missing, frames, sub.Server())
	if longest > 2*time.Second {
		t.Fatalf("the subscriber was silent %s (limit 2 s)", longest)
	}
	if lost := after.Lost - before.Lost; lost != missing {
		t.Fatalf("gap counter says %d lost, the collector misses %d", lost, missing)
	}
}
