package control

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The lease that makes one origin of several the active one: the holder of
// key "origin" in a bucket whose entries expire TTL after their last write.
// The active renews it (an update at the revision it wrote, so a lease
// someone else took is never renewed by mistake); a standby creates it
// once it has expired.
const (
	BucketLease     = "onair_lease"
	leaseKey        = "origin"
	DefaultLeaseTTL = 1500 * time.Millisecond
)

// Holder is who holds the lease, as the entry names it.
type Holder struct {
	Node    string    `json:"node"`
	HostURL string    `json:"host_url"` // where speakers and operators reach it
	Since   time.Time `json:"since"`
}

// Lease is one origin's part in the election. Run it; Active says who
// holds the lease as last seen.
type Lease struct {
	p   *Plane
	kv  jetstream.KeyValue
	me  Holder
	ttl time.Duration
	// rivals reports whether another origin may take the lease: nil is
	// always. Run sets it.
	rivals func() bool

	mu      sync.Mutex
	holder  Holder
	known   bool // holder is from an entry read (or written) within ttl
	mine    bool
	rev     uint64
	renewed time.Time // when the last renewal that took was sent
}

// OpenLease binds the lease bucket (creating it, replicated as the other
// buckets) for an origin named node, reached at hostURL. ttl 0 is
// DefaultLeaseTTL; the nodes' ttl must agree, and is the longest time the
// cluster goes without an active origin when one dies.
func (p *Plane) OpenLease(node, hostURL string, ttl time.Duration) (*Lease, error) {
	if !validName(node) {
		return nil, fmt.Errorf("control: node name %q: want 1 to 64 of a-z A-Z 0-9 - _", node)
	}
	if ttl == 0 {
		ttl = DefaultLeaseTTL
	}
	if ttl < 300*time.Millisecond {
		return nil, fmt.Errorf("control: lease of %s, want 300ms or more", ttl)
	}
	js, err := jetstream.New(p.nc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), openWait)
	defer cancel()
	kv, err := p.bucketRetry(ctx, js, jetstream.KeyValueConfig{Bucket: BucketLease, Description: "onair active origin",
		History: 1, TTL: ttl, Storage: jetstream.MemoryStorage})
	if err != nil {
		return nil, err
	}
	return &Lease{p: p, kv: kv, me: Holder{Node: node, HostURL: hostURL}, ttl: ttl}, nil
}

// Run takes part in the election until ctx ends or the lease is lost:
// it calls gained once this node holds the lease, and returns
// ErrLeaseLost once it can no longer be sure it does: its renewal refused
// (another origin wrote the lease), or none taken for 3/4 of the TTL while
// rivals says a standby is there to take over (the entry may have expired
// and the standby taken it). The caller must stop acting as the active
// origin then, before the TTL has passed. Without a rival a lone origin
// keeps its show on air through a NATS fault and goes on renewing; rivals
// nil means one may always be there.
func (l *Lease) Run(ctx context.Context, gained func(), rivals func() bool) error {
	l.rivals = rivals
	try := time.NewTicker(l.ttl / 6)
	defer try.Stop()
	for {
		if l.Mine() {
			if err := l.renew(ctx); err != nil {
				return err
			}
		} else if l.Take(ctx) {
			gained()
		}
		select {
		case <-ctx.Done():
			if l.Mine() {
				l.release()
			}
			return ctx.Err()
		case <-try.C:
		}
	}
}

// ErrLeaseLost: this node held the lease and cannot renew it.
var ErrLeaseLost = errors.New("control: the origin lease was lost")

// Take makes one attempt at the lease: it creates it if nobody holds it,
// else reads who does. A lease held under this node's own name and host
// URL is this node's from before a restart (two live origins cannot share
// a host URL), and is taken back at once rather than after its TTL.
// Run calls it; a node may call it once before Run to start active.
func (l *Lease) Take(ctx context.Context) bool {
	me := l.me
	me.Since = time.Now().UTC()
	data, err := l.p.seal.wrap(BucketLease, leaseKey, me, false)
	if err != nil {
		return false
	}
	sent := time.Now()
	cctx, cancel := context.WithTimeout(ctx, l.ttl/3)
	defer cancel()
	rev, err := l.kv.Create(cctx, leaseKey, data)
	if err != nil {
		gctx, cancel := context.WithTimeout(ctx, l.ttl/3)
		defer cancel()
		if h, hrev := l.readHolder(gctx); h.Node == me.Node && h.HostURL == me.HostURL {
			rev, err = l.kv.Update(gctx, leaseKey, data, hrev)
		}
	}
	if err == nil {
		l.mu.Lock()
		l.holder, l.known, l.mine, l.rev, l.renewed = me, true, true, rev, sent
		l.mu.Unlock()
		l.p.log.Info("origin lease taken: this origin is active", "node", me.Node)
		return true
	}
	return false
}

// readHolder reads the lease entry to name the active origin, and returns
// it with its revision.
func (l *Lease) readHolder(ctx context.Context) (Holder, uint64) {
	e, err := l.kv.Get(ctx, leaseKey)
	var h Holder
	var rev uint64
	if err == nil {
		rev = e.Revision()
		if err = l.p.seal.unwrap(BucketLease, leaseKey, e.Value(), &h, false); err != nil {
			l.p.dropEntry(BucketLease+"/"+leaseKey, err)
		}
	}
	if err != nil {
		l.p.log.Debug("origin lease: holder unknown", "err", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.holder, l.known = h, err == nil
	return h, rev
}

// renew rewrites the lease at the revision this node last wrote.
func (l *Lease) renew(ctx context.Context) error {
	l.mu.Lock()
	me, rev, renewed := l.holder, l.rev, l.renewed
	l.mu.Unlock()
	data, err := l.p.seal.wrap(BucketLease, leaseKey, me, false)
	if err != nil {
		return err
	}
	sent := time.Now()
	cctx, cancel := context.WithTimeout(ctx, l.ttl/4)
	next, err := l.kv.Update(cctx, leaseKey, data, rev)
	cancel()
	if err == nil {
		l.mu.Lock()
		l.rev, l.renewed = next, sent
		l.mu.Unlock()
		return nil
	}
	var apiErr *jetstream.APIError
	refused := errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		errors.Is(err, jetstream.ErrKeyNotFound)
	late := time.Since(renewed) >= l.ttl*3/4 && (l.rivals == nil || l.rivals())
	// The server refuses a renewal as a wrong last sequence when another
	// origin wrote the lease, but also when this origin's own renewal
	// landed after its caller gave up on the answer (a loaded server), and
	// when renewals stalled past the TTL (a stream leader elected slowly:
	// seconds on nats-server 2.9) and the entry expired. The entry tells
	// them apart; one that cannot be read yet is looked at next time.
	if refused && !late {
		mine, unsure := l.settle(ctx, me, data)
		if mine {
			return nil
		}
		if unsure {
			l.p.log.Warn("origin lease: renewal refused, the entry not readable yet; retrying", "err", err)
			return nil
		}
	}
	if refused || late {
		l.mu.Lock()
		l.mine, l.known = false, false
		l.mu.Unlock()
		l.p.log.Error("origin lease lost: stepping down", "node", me.Node, "err", err, "since_renewal", time.Since(renewed))
		return fmt.Errorf("%w: %v", ErrLeaseLost, err)
	}
	l.p.log.Warn("origin lease: renewal failed, retrying", "err", err)
	return nil
}

// settle looks at the lease entry after a renewal was refused: this
// origin's own write (the same holder, down to the moment it took the
// lease; a restart of the same origin takes it anew) is renewed at its
// revision, a lease expired with nobody taking it is created again (Create
// takes only a lease nobody holds); mine says the lease is still this
// origin's, unsure that the entry could not be read or written.
func (l *Lease) settle(ctx context.Context, me Holder, data []byte) (mine, unsure bool) {
	cctx, cancel := context.WithTimeout(ctx, l.ttl/4)
	defer cancel()
	e, err := l.kv.Get(cctx, leaseKey)
	var rev uint64
	sent := time.Now()
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		rev, err = l.kv.Create(cctx, leaseKey, data)
		if err == nil {
			l.p.log.Warn("origin lease expired while its renewals stalled; taken again (no other origin had taken it)")
		}
	case err != nil:
		return false, true
	default:
		var h Holder
		if l.p.seal.unwrap(BucketLease, leaseKey, e.Value(), &h, false) != nil ||
			h.Node != me.Node || h.HostURL != me.HostURL || !h.Since.Equal(me.Since) {
			return false, false // another origin's
		}
		if rev, err = l.kv.Update(cctx, leaseKey, data, e.Revision()); err == nil {
			l.p.log.Warn("origin lease: a renewal landed after its answer was given up on; renewed at its revision")
		}
	}
	if errors.Is(err, jetstream.ErrKeyExists) {
		return false, false // taken by another origin just now
	}
	if err != nil {
		return false, true
	}
	l.mu.Lock()
	l.rev, l.renewed = rev, sent
	l.mu.Unlock()
	return true, false
}

// release deletes the lease this node holds (a clean shutdown), so a
// standby takes over without waiting for the TTL.
func (l *Lease) release() {
	l.mu.Lock()
	rev := l.rev
	l.mine, l.known = false, false
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), l.ttl/3)
	defer cancel()
	if err := l.kv.Delete(ctx, leaseKey, jetstream.LastRevision(rev)); err != nil {
		l.p.log.Warn("origin lease: release", "err", err)
	}
}

// Mine reports whether this node holds the lease.
func (l *Lease) Mine() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mine
}

// Active is the lease's holder as last seen; false when nobody is known
// to hold it.
func (l *Lease) Active() (Holder, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.holder, l.known
}
