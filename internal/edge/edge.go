// Package edge is what an edge runs: the public port (gate, join, Ogg,
// LL-HLS, WHEP, listener pages, replays) over the program bus.
package edge

import (
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/onair-live/onair/internal/access"
	"github.com/onair-live/onair/internal/control"
	"github.com/onair-live/onair/internal/fanout"
	"github.com/onair-live/onair/internal/forward"
	"github.com/onair-live/onair/internal/gate"
	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/receipts"
	"github.com/onair-live/onair/internal/whep"
)

// What only an edge runs: it keeps no store; spaces and ticket keys come
// from the control plane, the stage from the origin (internal/forward),
// replays through the origin's host port. In one process (--role all) the
// same edge serves the stage and the replays of the origin beside it.

// Config is what `onair serve` sets of the public port.
type Config struct {
	PublicURL string // base URL listeners reach the public port at
	TicketTTL time.Duration
	WHEPMax   int // most WebRTC listeners on this node
	Bitrate   int // the program's bit/s (0: the mixer's default)
	// Alternates lists the base URLs of other edges that carry a space,
	// for join responses and redundant HLS pathways (nil: none).
	Alternates func(space string) []string
}

// Node is what the edge shares with the rest of its process, made once by
// the server: the fan-out, the gate, the ticket keys, the cluster's
// connection.
type Node struct {
	Log       *slog.Logger
	Access    *access.Checker
	Hub       *fanout.Hub
	WHEP      *whep.Server
	Gate      *gate.Gate
	Receipts  *receipts.Log      // nil when off
	NC        *nats.Conn         // nil on one process
	Plane     *control.Plane     // nil on one process
	Listeners func(string) int64 // a space's listeners on this node
	NodeName  func() string
	BusUp     func() bool
	Health    http.HandlerFunc
	Now       func() time.Time // the node's clock, as its load reports tell it
	// Stage is the origin in the same process (--role all), nil on an edge
	// of a cluster, which hands stage requests to the origin over NATS.
	Stage Stage
}

// Stage is what the public port serves of an origin in its own process.
type Stage interface {
	StageHandlers(reg func(string, func(http.ResponseWriter, *http.Request)))
	HandleReplay(w http.ResponseWriter, r *http.Request)
	HandleReplayHLS(w http.ResponseWriter, r *http.Request)
}

// Edge is the public port's handlers and what they need.
type Edge struct {
	cfg Config
	*access.Checker
	log       *slog.Logger
	hub       *fanout.Hub
	whep      *whep.Server
	gate      *gate.Gate
	rlog      *receipts.Log
	nc        *nats.Conn
	plane     *control.Plane
	listeners func(string) int64
	nodeName  func() string
	busUp     func() bool
	health    http.HandlerFunc
	now       func() time.Time
	local     Stage
	rndMu     sync.Mutex
	rnd       *rand.Rand
}

// New makes the public port's edge.
func New(cfg Config, n Node) *Edge {
	return &Edge{cfg: cfg, Checker: n.Access, log: n.Log, hub: n.Hub, whep: n.WHEP, gate: n.Gate, rlog: n.Receipts,
		nc: n.NC, plane: n.Plane, listeners: n.Listeners, nodeName: n.NodeName, busUp: n.BusUp, health: n.Health,
		now: n.Now, local: n.Stage, rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
}

// stageRoutes registers the stage's public routes: the origin's handlers
// in one process, handed to the origin on an edge.
func (s *Edge) stageRoutes(mux *http.ServeMux) {
	if s.local != nil {
		s.local.StageHandlers(mux.HandleFunc)
		return
	}
	for _, p := range forward.Routes {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { forward.Send(s.nc, w, r) })
	}
}

// replayHandlers serve replays from the recording of the origin in this
// process, or on an edge from the origin that made it (its host port,
// which serves them to edges).
func (s *Edge) replayHandlers() (opus, hls func(http.ResponseWriter, *http.Request)) {
	if s.local != nil {
		return s.local.HandleReplay, s.local.HandleReplayHLS
	}
	return s.replayProxy, s.replayProxy
}

// replayProxy hands a replay request to the active origin's host port.
func (s *Edge) replayProxy(w http.ResponseWriter, r *http.Request) {
	base := s.originURL()
	u, err := url.Parse(base)
	if base == "" || err != nil {
		w.Header().Set("Retry-After", "5")
		httpapi.WriteError(w, http.StatusServiceUnavailable, "no_origin", "no origin is reachable for the replay; try again")
		return
	}
	p := httputil.NewSingleHostReverseProxy(u)
	p.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
		s.log.Warn("replay proxy", "origin", base, "err", err)
		httpapi.WriteError(w, http.StatusBadGateway, "no_origin", "the origin did not answer for the replay")
	}
	p.ServeHTTP(w, r)
}
