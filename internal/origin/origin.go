// Package origin is what an origin runs: the host port (spaces, ingest,
// WHIP, the studio, Icecast sources), the mix and recording, and the stage.
package origin

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/onair-live/onair/internal/access"
	"github.com/onair-live/onair/internal/control"
	"github.com/onair-live/onair/internal/forward"
	"github.com/onair-live/onair/internal/gate"
	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/line"
	"github.com/onair-live/onair/internal/receipts"
	"github.com/onair-live/onair/internal/space"
	"github.com/onair-live/onair/internal/store"
	"github.com/onair-live/onair/internal/telemetry"
	"github.com/onair-live/onair/internal/whip"
)

// Config is what `onair serve` sets of the host port and the stage.
type Config struct {
	PublicURL string // base URL listeners reach the public port (an edge) at
	HostURL   string // base URL speakers reach the host port at
	// Clustered is an origin of a cluster (--role origin): no public port
	// beside it, its shows taken on with the KV lease (standby.go).
	Clustered  bool
	ClusterKey []byte        // signs the waiting line's tokens
	Gate       gate.Config   // the public port's pipeline: its admit floor paces the one line
	LeaseTTL   time.Duration // 0: control.DefaultLeaseTTL
}

// Node is what the origin shares with the rest of its process, made once
// by the server: the store and the shows, the gate, the receipts, the
// cluster's connection.
type Node struct {
	Log         *slog.Logger
	Access      *access.Checker
	Store       *store.Store
	Spaces      *space.Manager
	WHIP        *whip.Server
	Gate        *gate.Gate
	Telemetry   *telemetry.Collector
	Receipts    *receipts.Log // nil when off
	ReceiptsDir string
	NC          *nats.Conn     // nil on one process
	Plane       *control.Plane // nil on one process
	AdminHash   string         // SHA-256 of the admin key
	// Ctx ends at shutdown: it wakes ingest handlers still waiting.
	Ctx context.Context
	// Listeners counts a space's audience: on this node's public port, or
	// on every edge of the cluster.
	Listeners func(space string) int64
	NodeName  func() string
	Health    http.HandlerFunc
}

// Origin is the host port's handlers, the stage, and what they need.
type Origin struct {
	cfg Config
	*access.Checker
	log         *slog.Logger
	st          *store.Store
	mgr         *space.Manager
	whip        *whip.Server
	gate        *gate.Gate
	tel         *telemetry.Collector
	rlog        *receipts.Log
	receiptsDir string
	nc          *nats.Conn
	plane       *control.Plane
	admin       string
	ctx         context.Context
	listeners   func(string) int64
	nodeName    func() string
	health      http.HandlerFunc
	vod         vodCache
	stage       *onStage  // who is on stage, with which token
	stageDocs   stageDocs // the latest stage document of each space
	hands       *hands    // raised hands, per space
	reactions   *reactions
	elect       election // clustered: active or standing by (standby.go)
	stops       []func()
}

// New makes the origin.
func New(cfg Config, n Node) *Origin {
	return &Origin{cfg: cfg, Checker: n.Access, log: n.Log, st: n.Store, mgr: n.Spaces, whip: n.WHIP, gate: n.Gate,
		tel: n.Telemetry, rlog: n.Receipts, receiptsDir: n.ReceiptsDir, nc: n.NC, plane: n.Plane, admin: n.AdminHash,
		ctx: n.Ctx, listeners: n.Listeners, nodeName: n.NodeName, health: n.Health,
		stage: newOnStage(), hands: newHands(), reactions: newReactions()}
}

// Close stops the loops an active origin of a cluster runs.
func (s *Origin) Close() {
	for _, stop := range s.stops {
		stop()
	}
}

// What only an origin of a cluster runs: it publishes its spaces and
// ticket keys to the control plane and keeps the stage for every edge.

// spaceSyncEvery is how often the origin compares its spaces with what it
// last published: a change reaches every edge's cache within about this
// plus the KV watch's delay, well inside the second promised.
const spaceSyncEvery = 200 * time.Millisecond

func (s *Origin) startOrigin(ctx context.Context) error {
	if err := s.plane.PutKeys(s.Keys()); err != nil {
		return err
	}
	stop, err := forward.Answer(s.nc, s.stageRoutes())
	if err != nil {
		return err
	}
	s.stops = append(s.stops, stop)
	// The one waiting line of each space, paced by the edges' admit rates.
	// Its floor is the origin's own gate floor (--admit-rate-max bounds each
	// edge; the line's ceiling is their sum).
	k, err := line.NewKeeper(s.nc, line.KeeperConfig{Key: s.cfg.ClusterKey, Capacity: line.EdgeCapacity(s.plane.Reports),
		Admit: gate.AdmitConfig{MinRate: s.cfg.Gate.Admit.MinRate}, Log: s.log})
	if err != nil {
		return err
	}
	s.stops = append(s.stops, k.Close)
	go s.syncSpaces(ctx)
	return nil
}

// RotateKeys makes a new ticket signing key every period, keeping the three
// before it for tickets still in use (a ticket lives minutes; an HLS
// player's, hours: access.HLSGrace), and ships the keyring to the edges.
func (s *Origin) RotateKeys(ctx context.Context, period time.Duration) {
	if period <= 0 || s.st == nil {
		return
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !s.Active() { // a standby takes the active origin's keys over
			continue
		}
		kr, err := s.st.RotateTicketKeys(3)
		if err != nil {
			s.log.Error("rotate ticket keys", "err", err)
			continue
		}
		s.SetKeys(kr)
		if s.plane != nil {
			if err := s.plane.PutKeys(kr); err != nil {
				s.log.Error("cluster: publish rotated ticket keys", "err", err)
			}
		}
		cur, _ := kr.Keys()
		s.log.Info("ticket signing key rotated", "key_id", cur.ID)
	}
}

// syncSpaces publishes every space that changed since it last did: one
// loop over the store instead of a hook on every path that writes it.
func (s *Origin) syncSpaces(ctx context.Context) {
	sent := map[string][]byte{}
	t := time.NewTicker(spaceSyncEvery)
	defer t.Stop()
	for {
		spaces, err := s.st.Spaces()
		if err != nil {
			s.log.Error("cluster: list spaces", "err", err)
		}
		for _, sp := range spaces {
			b, _ := json.Marshal(sp)
			if bytes.Equal(sent[sp.ID], b) {
				continue
			}
			if err := s.plane.PutSpace(sp); err != nil {
				s.log.Warn("cluster: publish space", "space", sp.ID, "err", err)
				continue
			}
			sent[sp.ID] = b
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// stageRoutes are the public requests about the stage that an edge hands
// to the origin (internal/forward): gated and ticket-checked there already, and
// answered here by the handlers one process uses.
func (s *Origin) stageRoutes() http.Handler {
	mux := http.NewServeMux()
	s.StageHandlers(mux.HandleFunc)
	mux.HandleFunc("/", httpapi.NotFound)
	return mux
}

// StageHandlers registers the stage's public routes with reg.
func (s *Origin) StageHandlers(reg func(string, func(http.ResponseWriter, *http.Request))) {
	reg(forward.RouteStage, s.handleStage)
	reg(forward.RouteRaise, s.handleRaise)
	reg(forward.RouteReact, s.handleReact)
	reg(forward.RouteHand, s.handleHand)
	reg(forward.RouteLower, s.handleLower)
}
