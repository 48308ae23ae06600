package bus

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/program"
)

var _ Bus = (*Local)(nil)

func TestPublishWithoutSubscribersIsANoOp(t *testing.T) {
	b := NewLocal()
	b.Publish("nobody", program.Frame{Seq: 1})
	cancel := b.Subscribe("x", func(program.Frame) {})
	cancel()
	b.Publish("x", program.Frame{Seq: 2})
	b.mu.RLock()
	n := len(b.subs)
	b.mu.RUnlock()
	if n != 0 {
		t.Fatalf("%d spaces left in the subscription map after the last cancel", n)
	}
}

func TestEverySubscriberGetsEveryFrameOfItsSpaceOnly(t *testing.T) {
	b := NewLocal()
	var got [3][]program.Frame
	cancels := []func(){
		b.Subscribe("a", func(f program.Frame) { got[0] = append(got[0], f) }),
		b.Subscribe("a", func(f program.Frame) { got[1] = append(got[1], f) }),
		b.Subscribe("b", func(f program.Frame) { got[2] = append(got[2], f) }),
	}
	pkt := []byte{1, 2, 3}
	b.Publish("a", program.Frame{Seq: 0, Packet: pkt})
	b.Publish("b", program.Frame{Seq: 100})
	b.Publish("a", program.Frame{Seq: 1, End: true})
	if len(got[0]) != 2 || len(got[1]) != 2 || len(got[2]) != 1 {
		t.Fatalf("deliveries: %d %d %d", len(got[0]), len(got[1]), len(got[2]))
	}
	if got[2][0].Seq != 100 || got[0][1].Seq != 1 || !got[0][1].End {
		t.Fatalf("wrong frames: %+v / %+v", got[0], got[2])
	}
	// Frames are shared, not copied: every subscriber sees the same packet.
	if &got[0][0].Packet[0] != &pkt[0] || &got[1][0].Packet[0] != &pkt[0] {
		t.Fatal("the bus copied a packet")
	}
	// The same function subscribed twice is two subscriptions; cancelling
	// one leaves the other.
	var twice atomic.Int64
	fn := func(program.Frame) { twice.Add(1) }
	c1 := b.Subscribe("c", fn)
	c2 := b.Subscribe("c", fn)
	b.Publish("c", program.Frame{})
	c1()
	c1()
	b.Publish("c", program.Frame{})
	c2()
	b.Publish("c", program.Frame{})
	if n := twice.Load(); n != 3 {
		t.Fatalf("double subscription delivered %d, want 2+1", n)
	}
	for _, c := range cancels {
		c()
	}
}

// A cancel that returns means no delivery to that subscriber is running or
// will run, even with a publisher going at the same time.
func TestCancelStopsDeliveryAtOnce(t *testing.T) {
	b := NewLocal()
	stop := make(chan struct{})
	var pub sync.WaitGroup
	pub.Go(func() {
		for i := uint64(0); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			b.Publish("s", program.Frame{Seq: i})
		}
	})
	for range 200 {
		var cancelled, late atomic.Bool
		var calls atomic.Int64
		cancel := b.Subscribe("s", func(program.Frame) {
			calls.Add(1)
			if cancelled.Load() {
				late.Store(true)
			}
		})
		for calls.Load() == 0 {
			time.Sleep(10 * time.Microsecond)
		}
		cancel()
		cancelled.Store(true)
		time.Sleep(50 * time.Microsecond)
		if late.Load() {
			close(stop)
			pub.Wait()
			t.Fatal("a frame was delivered after cancel returned")
		}
		cancel() // idempotent, also while others publish
	}
	close(stop)
	pub.Wait()
}

// Per space, frames arrive in the order they were published, with many
// spaces published at once and subscribers coming and going.
func TestOrderPerSpaceUnderConcurrency(t *testing.T) {
	b := NewLocal()
	const spaces = 8
	const frames = 2000
	type sub struct {
		mu   sync.Mutex
		seqs []uint64
	}
	subs := make([][]*sub, spaces)
	var cancels []func()
	for s := range spaces {
		for range 3 {
			x := &sub{}
			subs[s] = append(subs[s], x)
			cancels = append(cancels, b.Subscribe(fmt.Sprint("space-", s), func(f program.Frame) {
				x.mu.Lock()
				x.seqs = append(x.seqs, f.Seq)
				x.mu.Unlock()
			}))
		}
	}
	// Churn: subscribers on the same spaces joining and leaving meanwhile.
	stop := make(chan struct{})
	var churn sync.WaitGroup
	churn.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			c := b.Subscribe(fmt.Sprint("space-", i%spaces), func(program.Frame) {})
			c()
		}
	})
	var wg sync.WaitGroup
	for s := range spaces {
		wg.Go(func() {
			for i := range frames {
				b.Publish(fmt.Sprint("space-", s), program.Frame{Seq: uint64(i)})
			}
		})
	}
	wg.Wait()
	close(stop)
	churn.Wait()
	for s := range spaces {
		for j, x := range subs[s] {
			if len(x.seqs) != frames {
				t.Fatalf("space %d sub %d got %d frames", s, j, len(x.seqs))
			}
			for i, q := range x.seqs {
				if q != uint64(i) {
					t.Fatalf("space %d sub %d: frame %d has seq %d", s, j, i, q)
				}
			}
		}
	}
	for _, c := range cancels {
		c()
	}
}
