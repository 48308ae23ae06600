package line

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/onair-live/onair/internal/natsnode"
)

// benchServer is a loopback NATS server and a way to connect to it.
func benchServer(b *testing.B) func() *nats.Conn {
	nd, err := natsnode.Start(natsnode.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nd.Shutdown)
	return func() *nats.Conn {
		nc, err := nats.Connect(nd.ClientURL())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(nc.Close)
		return nc
	}
}

// benchLine is a keeper and an edge's client on one loopback NATS server.
func benchLine(b *testing.B) *Client {
	dial := benchServer(b)
	k, err := NewKeeper(dial(), KeeperConfig{Key: testKey, Capacity: func() (float64, bool) { return 1e6, false }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(k.Close)
	c, err := NewClient(dial(), ClientConfig{Key: testKey})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	return c
}

// BenchmarkDraw is the cost of a join's draw from the shared line: one
// request-reply to the keeper over loopback NATS, one at a time.
func BenchmarkDraw(b *testing.B) {
	c := benchLine(b)
	for b.Loop() {
		if c.Join("bench", time.Now()).Number&keptBit == 0 {
			b.Fatal("drawn locally")
		}
	}
}

// BenchmarkDrawParallel is the keeper's throughput with 32 joins per core
// at once.
func BenchmarkDrawParallel(b *testing.B) {
	c := benchLine(b)
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if c.Join("bench", time.Now()).Number&keptBit == 0 {
				b.Error("drawn locally")
				return
			}
		}
	})
}

// BenchmarkNATSRoundTrip is the floor under a draw: a request-reply of the
// same size to a responder that only echoes, on the same kind of server.
func BenchmarkNATSRoundTrip(b *testing.B) {
	dial := benchServer(b)
	echo := dial()
	if _, err := echo.Subscribe("bench.echo", func(m *nats.Msg) { _ = m.Respond(m.Data) }); err != nil {
		b.Fatal(err)
	}
	if err := echo.Flush(); err != nil {
		b.Fatal(err)
	}
	nc := dial()
	msg := make([]byte, replyLen)
	for b.Loop() {
		if _, err := nc.Request("bench.echo", msg, time.Second); err != nil {
			b.Fatal(err)
		}
	}
}
