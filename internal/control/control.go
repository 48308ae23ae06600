// Package control is the cluster's control plane: spaces, ticket keys and
// node load reports in JetStream KV, written by the origin and read by every edge.
package control

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/onair-live/onair/internal/store"
	"github.com/onair-live/onair/internal/ticket"
)

// Config configures a Plane.
type Config struct {
	// ClusterKey is the shared secret of the cluster: load reports are
	// HMAC-signed with it; a report with a bad MAC is counted and dropped.
	ClusterKey []byte
	// Replicas of each KV bucket (0: min(3, servers in the cluster)).
	Replicas int
	// NodeTTL: a node report older than this is gone (default 3 s).
	NodeTTL time.Duration
	Log     *slog.Logger
}

// Report is one node's registration and load, published every second.
type Report struct {
	Node, Role, PublicURL string
	At                    time.Time
	Listeners             map[string]int // by protocol: ogg, hls, whep
	CPU                   float64        // 0..1 of the node's cores
	OpenFiles, MaxFiles   int
	EgressBps             float64
	AdmitRate             float64 // the node's admission rate now (joins/s)
	Capacity              int     // listeners it takes at most (0: unbounded)
	Healthy               bool    // false: connected but refusing joins (e.g. no bus)
}

// Plane is a node's view of the control plane.
type Plane struct {
	nc  *nats.Conn
	cfg Config
}

// Open creates or binds the buckets and starts the watchers that keep the
// in-memory cache.
func Open(nc *nats.Conn, cfg Config) (*Plane, error) {
	return nil, errors.New("control: not implemented yet")
}

// Close stops the watchers.
func (p *Plane) Close() {}

// PutSpace writes sp, without its secrets.
func (p *Plane) PutSpace(sp store.Space) error { return errors.New("control: not implemented yet") }

// Space returns the space with id from the cache, or store.ErrNotFound.
func (p *Plane) Space(id string) (store.Space, error) { return store.Space{}, store.ErrNotFound }

// Spaces lists the known spaces in store.Spaces() order.
func (p *Plane) Spaces() ([]store.Space, error) { return nil, nil }

// OnSpace calls fn for every change seen and once per known space now.
func (p *Plane) OnSpace(fn func(store.Space)) {}

// PutKeys publishes the keyring.
func (p *Plane) PutKeys(kr *ticket.Keyring) error { return errors.New("control: not implemented yet") }

// Keys is the latest keyring seen, nil before the first.
func (p *Plane) Keys() *ticket.Keyring { return nil }

// OnKeys calls fn for every keyring seen (and now, if one is known).
func (p *Plane) OnKeys(fn func(*ticket.Keyring)) {}

// WaitReady returns once keys and the first spaces snapshot are loaded.
func (p *Plane) WaitReady(ctx context.Context) error {
	return errors.New("control: not implemented yet")
}

// Report publishes r, signed with the cluster key.
func (p *Plane) Report(r Report) error { return errors.New("control: not implemented yet") }

// Reports are the fresh, MAC-verified reports, sorted by Node.
func (p *Plane) Reports() []Report { return nil }

// Dropped counts reports and entries that were malformed, forged or foreign.
func (p *Plane) Dropped() uint64 { return 0 }
