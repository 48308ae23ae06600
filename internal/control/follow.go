package control

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Heartbeats of the consumers that follow the buckets: a follower that
// misses two notices within a second that its server (or the server
// holding its consumer) is gone, and starts again after the last entry it
// had. The library's KV watcher waits ten seconds or more for that.
const (
	followHeartbeat = 500 * time.Millisecond
	followExpiry    = 2 * time.Second
)

// follow calls apply with the latest entry of every key of bucket, then
// with every change, one at a time, and loaded once it has caught up
// with the bucket as it was.
func (p *Plane) follow(ctx context.Context, js jetstream.JetStream, bucket string,
	apply func(key string, put bool, value []byte), loaded func()) (jetstream.ConsumeContext, error) {
	cons, err := js.OrderedConsumer(ctx, "KV_"+bucket, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy})
	if err != nil {
		return nil, fmt.Errorf("control: follow %s: %w", bucket, err)
	}
	var once sync.Once
	caughtUp := func() { once.Do(loaded) }
	prefix := "$KV." + bucket + "."
	cc, err := cons.Consume(func(m jetstream.Msg) {
		h := m.Headers()
		put := h.Get("KV-Operation") == "" && h.Get(jetstream.MarkerReasonHeader) == ""
		apply(strings.TrimPrefix(m.Subject(), prefix), put, m.Data())
		if md, err := m.Metadata(); err == nil && md.NumPending == 0 {
			caughtUp()
		}
	}, jetstream.PullHeartbeat(followHeartbeat), jetstream.PullExpiry(followExpiry),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			p.log.Debug("control: following a bucket", "bucket", bucket, "err", err)
		}))
	if err != nil {
		return nil, fmt.Errorf("control: follow %s: %w", bucket, err)
	}
	// An empty bucket delivers nothing to say it is caught up.
	if info, err := cons.Info(ctx); err == nil && info.NumPending == 0 {
		caughtUp()
	}
	return cc, nil
}

// loadReports takes in the reports in the nodes bucket, so a node that
// starts knows the live nodes before their next report.
func (p *Plane) loadReports(ctx context.Context) {
	lister, err := p.nodes.ListKeys(ctx)
	if err != nil {
		p.log.Debug("control: listing node reports", "err", err)
		return
	}
	for key := range lister.Keys() {
		if e, err := p.nodes.Get(ctx, key); err == nil {
			p.applyReport(key, e.Value())
		}
	}
}
