// Package control is the cluster's control plane: spaces, ticket keys and
// node load reports in JetStream KV, written by the origin and read by every edge.
package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/onair-live/onair/internal/store"
	"github.com/onair-live/onair/internal/ticket"
)

// The buckets, and the subject load reports also travel on.
const (
	BucketSpaces = "onair_spaces" // space id → the space, without secrets
	BucketKeys   = "onair_keys"   // "ring" → the ticket keyring, encrypted
	BucketNodes  = "onair_nodes"  // node name → its latest load report
	keyRing      = "ring"
	// Load reports go on core NATS too: a KV write waits for its stream's
	// leader, which a dead NATS server can take seconds to replace, and
	// a node must not look gone to the selector meanwhile.
	nodeSubject = "onair.control.node."
)

// DefaultNodeTTL is how long a load report counts without a newer one.
const DefaultNodeTTL = 3 * time.Second

// Config configures a Plane.
type Config struct {
	// ClusterKey is the shared secret of the cluster (at least 16 bytes):
	// every entry and load report is HMAC-signed with a key derived from
	// it, the ticket keys are encrypted with another; an entry with a bad
	// MAC is counted and dropped.
	ClusterKey []byte
	// Replicas of each KV bucket when this plane creates it (0: as many as
	// the cluster places, at most 3). Buckets that exist are bound as
	// they are.
	Replicas int
	// NodeTTL: a node report older than this is gone (default 3 s). The
	// nodes' clocks must agree to well within it (NTP).
	NodeTTL time.Duration
	Log     *slog.Logger
	// Now is the node's clock: the time of its reports and of taking in
	// others' (time.Now if nil; tests set a skewed one).
	Now func() time.Time
}

// Plane is a node's view of the control plane: it writes through to the
// KV buckets and reads from a cache that watchers keep current.
type Plane struct {
	nc     *nats.Conn
	cfg    Config
	log    *slog.Logger
	seal   *sealer
	spaces jetstream.KeyValue
	keys   jetstream.KeyValue
	nodes  jetstream.KeyValue
	stop   context.CancelFunc
	wg     sync.WaitGroup
	sub    *nats.Subscription

	dropped   atomic.Uint64
	reporting atomic.Bool // a KV write of this node's report is in flight
	clocks    clockTally  // the peers' clocks, as their live reports show them

	mu         sync.Mutex
	spaceCache map[string]store.Space
	ring       *ticket.Keyring
	reports    map[string]seenReport
	spacesIn   bool          // the first spaces snapshot is loaded
	ready      chan struct{} // closed once keys and spaces are loaded

	cbMu    sync.Mutex // held while callbacks run, so each sees changes in order
	onSpace []func(store.Space)
	onKeys  []func(*ticket.Keyring)
}

// Open creates or binds the buckets (onair_spaces, onair_keys,
// onair_nodes) and starts following them into the in-memory cache.
// The NATS servers must have JetStream enabled.
func Open(nc *nats.Conn, cfg Config) (*Plane, error) {
	p, err := newPlane(cfg)
	if err != nil {
		return nil, err
	}
	p.nc = nc
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), openWait)
	defer cancel()
	for _, b := range []struct {
		kv  *jetstream.KeyValue
		cfg jetstream.KeyValueConfig
	}{
		{&p.spaces, jetstream.KeyValueConfig{Bucket: BucketSpaces, Description: "onair spaces", History: 1, Storage: jetstream.FileStorage}},
		{&p.keys, jetstream.KeyValueConfig{Bucket: BucketKeys, Description: "onair ticket keys", History: 1, Storage: jetstream.FileStorage}},
		{&p.nodes, jetstream.KeyValueConfig{Bucket: BucketNodes, Description: "onair node load reports", History: 1,
			Storage: jetstream.MemoryStorage, TTL: p.cfg.NodeTTL}},
	} {
		if *b.kv, err = p.bucketRetry(ctx, js, b.cfg); err != nil {
			return nil, err
		}
	}
	if err := p.start(js); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// newPlane checks cfg and makes a plane with an empty cache, not yet
// connected.
func newPlane(cfg Config) (*Plane, error) {
	seal, err := newSealer(cfg.ClusterKey)
	if err != nil {
		return nil, err
	}
	if cfg.NodeTTL <= 0 {
		cfg.NodeTTL = DefaultNodeTTL
	}
	if cfg.Replicas < 0 || cfg.Replicas > 5 {
		return nil, fmt.Errorf("control: %d replicas, want 0 (automatic) to 5", cfg.Replicas)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Plane{cfg: cfg, log: cfg.Log, seal: seal, spaceCache: map[string]store.Space{},
		reports: map[string]seenReport{}, ready: make(chan struct{})}, nil
}

// bucket binds a bucket, or creates it with the configured replicas; with
// automatic replicas it steps down from 3 until the cluster can place them.
func (p *Plane) bucket(ctx context.Context, js jetstream.JetStream, c jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, c.Bucket)
	if err == nil || !errors.Is(err, jetstream.ErrBucketNotFound) {
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) ||
			errors.Is(err, nats.ErrNoResponders) {
			return nil, fmt.Errorf("control: the NATS servers have no JetStream (start them with it): %w", err)
		}
		return kv, wrapErr(c.Bucket, err)
	}
	replicas := p.cfg.Replicas
	if replicas == 0 {
		replicas = 3
	}
	// The servers this client knows of (it learns a cluster's from the
	// one it reached): with that many, a placement refused means a peer's
	// JetStream is not in yet, not that the cluster is smaller.
	known := len(p.nc.Servers())
	for {
		c.Replicas = replicas
		kv, err = js.CreateKeyValue(ctx, c)
		if errors.Is(err, jetstream.ErrBucketExists) { // another node made it first
			kv, err = js.KeyValue(ctx, c.Bucket)
		}
		if placementErr(err) && p.cfg.Replicas == 0 && replicas > 1 && replicas <= known && !lone(err) {
			select {
			case <-ctx.Done():
				return nil, wrapErr(c.Bucket, err)
			case <-time.After(200 * time.Millisecond):
				continue
			}
		}
		if err == nil || p.cfg.Replicas != 0 || replicas == 1 || !placementErr(err) {
			if err == nil {
				p.log.Info("control bucket created", "bucket", c.Bucket, "replicas", replicas)
			}
			return kv, wrapErr(c.Bucket, err)
		}
		replicas--
	}
}

// openWait bounds Open: a cluster that has just started elects its
// JetStream leader within seconds, and requests sent before that go
// unanswered rather than refused.
const openWait = 30 * time.Second

// bucketRetry is bucket, asked again every 2 s until ctx ends, so a node
// that starts with its NATS servers waits for their JetStream leader.
func (p *Plane) bucketRetry(ctx context.Context, js jetstream.JetStream, c jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		kv, err := p.bucket(actx, js, c)
		cancel()
		var apiErr *jetstream.APIError
		// 10008: JetStream "temporarily unavailable"; 10005: a peer's
		// JetStream not in yet (bucket waits for it while it knows of it).
		settled := errors.As(err, &apiErr) && apiErr.ErrorCode != 10008 && apiErr.ErrorCode != 10005
		// A server without JetStream answers nobody at once (no
		// responders); a leaderless cluster answers nothing (a timeout).
		if err == nil || ctx.Err() != nil || settled || errors.Is(err, jetstream.ErrJetStreamNotEnabled) ||
			errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) || errors.Is(err, nats.ErrNoResponders) {
			return kv, err
		}
		p.log.Info("control: JetStream not ready, retrying", "bucket", c.Bucket, "err", err)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// lone: a server that is not clustered (one replica is all it takes).
func lone(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == 10074
}

// placementErr: the cluster has fewer servers than the replicas asked.
func placementErr(err error) bool {
	var apiErr *jetstream.APIError
	// 10005/10023: not enough servers for the replicas; 10074: a lone
	// server (no cluster) takes one replica only.
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == 10005 || apiErr.ErrorCode == 10023 || apiErr.ErrorCode == 10074)
}

func wrapErr(bucket string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("control: bucket %s: %w", bucket, err)
}

// start follows the spaces and keys buckets and subscribes to the load
// reports.
func (p *Plane) start(js jetstream.JetStream) error {
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	var err error
	if p.sub, err = p.nc.Subscribe(nodeSubject+"*", func(m *nats.Msg) {
		p.applyReport(m.Subject[len(nodeSubject):], m.Data, p.now())
	}); err != nil {
		return err
	}
	p.follow(ctx, js, BucketSpaces, p.applySpace, p.spacesLoaded)
	p.follow(ctx, js, BucketKeys, p.applyKeys, func() {})
	p.wg.Go(func() {
		lctx, lcancel := context.WithTimeout(ctx, p.cfg.NodeTTL)
		defer lcancel()
		p.loadReports(lctx)
	})
	return nil
}

// checkReady closes ready once both the keys and the spaces are in; the
// caller holds p.mu.
func (p *Plane) checkReady() {
	select {
	case <-p.ready:
	default:
		if p.ring != nil && p.spacesIn {
			close(p.ready)
		}
	}
}

// WaitReady returns once the ticket keys and the first snapshot of the
// spaces are loaded, or with ctx's error. Keys come only from PutKeys:
// the first origin of a new cluster puts its keys before it waits.
func (p *Plane) WaitReady(ctx context.Context) error {
	select {
	case <-p.ready:
		return nil
	case <-ctx.Done():
		p.mu.Lock()
		defer p.mu.Unlock()
		return fmt.Errorf("control: not ready (keys loaded: %t, spaces loaded: %t): %w", p.ring != nil, p.spacesIn, ctx.Err())
	}
}

// Close stops following the buckets; the NATS connection stays the caller's.
func (p *Plane) Close() {
	if p.sub != nil {
		_ = p.sub.Unsubscribe()
	}
	if p.stop != nil {
		p.stop()
	}
	p.wg.Wait()
}

// dropEntry counts an entry or report that is not trusted. It logs the
// 1st, 2nd, 4th, 8th... so a flood of forgeries cannot flood the log.
func (p *Plane) dropEntry(what string, err error) {
	n := p.dropped.Add(1)
	metricDropped.WithLabelValues(reasonOf(err)).Inc()
	if n&(n-1) == 0 {
		p.log.Warn("control: entry dropped", "entry", what, "err", err, "dropped", n)
	}
}

// Dropped counts the entries and reports that were malformed, forged or
// foreign.
func (p *Plane) Dropped() uint64 { return p.dropped.Load() }
