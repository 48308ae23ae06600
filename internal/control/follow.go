package control

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// How a follower keeps up with a bucket. Its consumer's heartbeats come
// every half second, so two missed ones (its server gone, or the server
// holding the consumer) are noticed within a second; a new consumer is
// asked for with a short timeout, again and again. The library's ordered
// consumer does the same with a 10 s timeout per attempt, which a request
// lost in a server's going costs in full.
const (
	followHeartbeat = 500 * time.Millisecond
	followExpiry    = 2 * time.Second
	followAsk       = 2 * time.Second        // one consumer creation
	followRetry     = 100 * time.Millisecond // after a failed creation, doubling to followAsk
	followIdle      = 30 * time.Second       // a consumer nobody pulls goes
)

// follower calls apply with the latest entry of every key of a bucket,
// then with every change, one at a time and in order, across lost
// servers and consumers; loaded once it has caught up with the bucket.
type follower struct {
	p      *Plane
	js     jetstream.JetStream
	bucket string
	apply  func(key string, put bool, value []byte)
	loaded sync.Once
	onLoad func()

	restart chan struct{}

	// mu: a consumer stopped may still be handing over its last message
	// while the next one starts.
	mu                     sync.Mutex
	gen                    int // the consumer now, by number
	streamSeq, consumerSeq uint64
}

// follow starts a follower of bucket; it ends with ctx.
func (p *Plane) follow(ctx context.Context, js jetstream.JetStream, bucket string,
	apply func(key string, put bool, value []byte), loaded func()) {
	f := &follower{p: p, js: js, bucket: bucket, apply: apply, onLoad: loaded, restart: make(chan struct{}, 1)}
	p.wg.Go(func() { f.run(ctx) })
}

func (f *follower) run(ctx context.Context) {
	wait := followRetry
	for ctx.Err() == nil {
		cc, name, err := f.consume(ctx)
		if err != nil {
			f.p.log.Debug("control: following a bucket", "bucket", f.bucket, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			wait = min(2*wait, followAsk) // a cluster without JetStream is not asked 10 times a second
			continue
		}
		wait = followRetry
		select {
		case <-ctx.Done():
		case <-f.restart:
		}
		cc.Stop()
		go f.forget(name)
	}
}

// consume makes a consumer that starts after the last entry taken (the
// latest per key at first) and consumes it.
func (f *follower) consume(ctx context.Context) (jetstream.ConsumeContext, string, error) {
	f.mu.Lock()
	start := f.streamSeq
	f.mu.Unlock()
	cfg := jetstream.ConsumerConfig{DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy,
		FilterSubject: "$KV." + f.bucket + ".>", AckPolicy: jetstream.AckNonePolicy, MemoryStorage: true,
		Replicas: 1, InactiveThreshold: followIdle}
	if start > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, start+1
	}
	actx, cancel := context.WithTimeout(ctx, followAsk)
	defer cancel()
	cons, err := f.js.CreateConsumer(actx, "KV_"+f.bucket, cfg)
	if err != nil {
		return nil, "", err
	}
	select { // a restart asked of the consumer before is done
	case <-f.restart:
	default:
	}
	f.mu.Lock()
	f.gen++
	gen := f.gen
	f.consumerSeq = 0
	f.mu.Unlock()
	info := cons.CachedInfo()
	if info.NumPending == 0 {
		f.loaded.Do(f.onLoad)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { f.take(gen, m) }, jetstream.PullHeartbeat(followHeartbeat), jetstream.PullExpiry(followExpiry),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if errors.Is(err, jetstream.ErrNoHeartbeat) || errors.Is(err, jetstream.ErrConsumerDeleted) ||
				errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, nats.ErrNoResponders) {
				f.again()
			}
		}))
	if err != nil {
		go f.forget(info.Name)
		return nil, "", err
	}
	return cc, info.Name, nil
}

// take applies one entry; a message out of order (some lost on the way)
// starts a new consumer after the last one taken.
func (f *follower) take(gen int, m jetstream.Msg) {
	md, err := m.Metadata()
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil || gen != f.gen {
		return
	}
	if md.Sequence.Consumer != f.consumerSeq+1 {
		f.again()
		return
	}
	f.consumerSeq = md.Sequence.Consumer
	if md.Sequence.Stream <= f.streamSeq {
		return // already taken, by a consumer before
	}
	f.streamSeq = md.Sequence.Stream
	h := m.Headers()
	put := h.Get("KV-Operation") == "" && h.Get(jetstream.MarkerReasonHeader) == ""
	f.apply(strings.TrimPrefix(m.Subject(), "$KV."+f.bucket+"."), put, m.Data())
	if md.NumPending == 0 {
		f.loaded.Do(f.onLoad)
	}
}

func (f *follower) again() {
	select {
	case f.restart <- struct{}{}:
	default:
	}
}

// forget deletes a consumer given up on; if its server is gone, the
// inactivity threshold takes it later.
func (f *follower) forget(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), followAsk)
	defer cancel()
	_ = f.js.DeleteConsumer(ctx, "KV_"+f.bucket, name)
}

// loadReports takes in the reports in the nodes bucket, so a node that
// starts knows the live nodes before their next report.
func (p *Plane) loadReports(ctx context.Context) {
	entries, err := snapshot(ctx, p.nodes, ">")
	if err != nil {
		p.log.Debug("control: reading node reports", "err", err)
		return
	}
	for _, e := range entries {
		p.applyReport(e.Key(), e.Value(), time.Time{})
	}
}
