package bus

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/program"
)

// benchRig is a publisher on server 0 and a subscriber on server 1 of a
// three-server loopback cluster, subscribed to spaces spaces.
func benchRig(b *testing.B, spaces int) (pub, sub *NATS, names []string, cs []*collector) {
	nodes := startCluster(b, 3)
	pub, sub = dial(b, nodes[0]), dial(b, nodes[1])
	for i := range spaces {
		names = append(names, fmt.Sprint("bench", i))
		c := &collector{}
		b.Cleanup(sub.Subscribe(names[i], c.add))
		cs = append(cs, c)
	}
	// Until every subscription has reached the publisher's server.
	waitFor(b, "subscriptions", func() bool {
		for i, c := range cs {
			if _, _, ends := c.got(); ends == 0 {
				pub.Publish(names[i], program.Frame{End: true})
				time.Sleep(time.Millisecond)
				return false
			}
		}
		return true
	})
	return pub, sub, names, cs
}

// BenchmarkNATSLatency: live spaces, each a frame every 20 ms as the
// mixers make them, origin and edge on different servers of the cluster;
// an op is a 20 ms tick. Independent mixers tick at staggered moments;
// "aligned" has all 100 publish at once, the worst case. Reports origin
// publish → edge receipt p50/p99 over the last 4096 frames.
// go test ./internal/bus -run '^$' -bench NATSLatency -benchtime 200x
func BenchmarkNATSLatency(b *testing.B) {
	b.Run("spaces=1", func(b *testing.B) { benchLatency(b, 1, false) })
	b.Run("spaces=100", func(b *testing.B) { benchLatency(b, 100, false) })
	b.Run("spaces=100-aligned", func(b *testing.B) { benchLatency(b, 100, true) })
}

func benchLatency(b *testing.B, spaces int, aligned bool) {
	pub, sub, names, cs := benchRig(b, spaces)
	b.ResetTimer()
	var wg sync.WaitGroup
	for i, space := range names {
		wg.Go(func() {
			if !aligned {
				time.Sleep(time.Duration(i) * program.FrameDuration / time.Duration(spaces))
			}
			tick := time.NewTicker(program.FrameDuration)
			defer tick.Stop()
			for seq := range uint64(b.N) {
				pub.Publish(space, frame(seq))
				<-tick.C
			}
		})
	}
	wg.Wait()
	waitFor(b, "every frame", func() bool {
		for _, c := range cs {
			if c.count() < b.N {
				return false
			}
		}
		return true
	})
	b.StopTimer()
	s := sub.Stats()
	if s.Gaps != 0 {
		b.Fatalf("%d gaps", s.Gaps)
	}
	b.ReportMetric(float64(s.LatencyP50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(s.LatencyP99.Microseconds()), "p99-µs")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkNATSThroughput: one space published as fast as a subscriber on
// another server takes it (at most 50,000 frames ahead); frames/s, bytes/s.
// go test ./internal/bus -run '^$' -bench NATSThroughput -benchtime 200000x
func BenchmarkNATSThroughput(b *testing.B) {
	pub, sub, names, cs := benchRig(b, 1)
	f := frame(0)
	f.Packet = make([]byte, 120) // a 48 kb/s, 20 ms Opus packet
	b.SetBytes(int64(len(appendFrame(nil, f, time.Now()))))
	b.ResetTimer()
	start := time.Now()
	for i := range uint64(b.N) {
		f.Seq = i
		pub.Publish(names[0], f)
		// Core NATS drops for a consumer that falls too far behind: keep
		// within a window, to measure what is sustained, not what is lost.
		for i%1000 == 0 && i > uint64(cs[0].count())+50000 {
			time.Sleep(time.Millisecond)
		}
	}
	waitFor(b, "every frame", func() bool { return cs[0].count() >= b.N })
	el := time.Since(start)
	b.StopTimer()
	if s := sub.Stats(); s.Gaps != 0 {
		b.Fatalf("%d gaps (%d frames lost)", s.Gaps, s.Lost)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "frames/s")
}
