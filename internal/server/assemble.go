package server

import (
	"net/http"

	"github.com/onair-live/onair/internal/edge"
	"github.com/onair-live/onair/internal/origin"
)

// assemble makes the role's halves over the node's shared parts: an origin
// where the role keeps the stage, an edge where it takes listeners; in one
// process (--role all) the edge serves the stage and the replays of the
// origin beside it directly, with no bus between them.
func (s *Server) assemble() {
	if s.cfg.Role.stage() {
		s.org = origin.New(origin.Config{PublicURL: s.cfg.PublicURL, HostURL: s.cfg.HostURL, Clustered: s.clusteredOrigin(),
			ClusterKey: s.cfg.ClusterKey, Gate: s.cfg.Gate, LeaseTTL: s.cfg.LeaseTTL},
			origin.Node{Log: s.log, Access: s.acc, Store: s.st, Spaces: s.mgr, WHIP: s.whip, Gate: s.gate,
				Telemetry: s.tel, Receipts: s.rlog, ReceiptsDir: s.receiptsDir(), NC: s.nc, Plane: s.plane,
				AdminHash: s.admin, Ctx: s.ctx, Listeners: s.listeners, NodeName: s.nodeName, Health: s.handleHealth})
	}
	if s.pubLn == nil {
		return
	}
	n := edge.Node{Log: s.log, Access: s.acc, Hub: s.hub, WHEP: s.whep, Gate: s.gate, Receipts: s.rlog,
		NC: s.nc, Plane: s.plane, Listeners: s.listeners, NodeName: s.nodeName, BusUp: s.busUp,
		Health: s.handleHealth, Now: s.now}
	if s.org != nil {
		n.Stage = s.org
	}
	s.edg = edge.New(edge.Config{PublicURL: s.cfg.PublicURL, TicketTTL: s.cfg.TicketTTL, WHEPMax: s.cfg.WHEPMax,
		Bitrate: s.cfg.Bitrate, Alternates: s.cfg.Alternates}, n)
}

// hostRoutes is the host port of an origin, or an edge's ops port.
func (s *Server) hostRoutes() http.Handler {
	if s.org == nil {
		return s.edg.OpsRoutes()
	}
	return s.org.Routes()
}

// clusteredOrigin: an origin of a cluster, which waits for the lease
// before it takes its shows on.
func (s *Server) clusteredOrigin() bool { return s.cfg.Role == RoleOrigin && s.plane != nil }

// Active reports whether this node does what an active origin does: always
// on one process; for a clustered origin, while it holds the lease.
func (s *Server) Active() bool { return s.org == nil || s.org.Active() }

// Fenced is closed when this origin was active and lost its lease: it must
// stop mixing at once (another origin takes over), without ending its
// shows; `onair serve` exits. Never closed on other nodes.
func (s *Server) Fenced() <-chan struct{} {
	if s.org == nil {
		return nil
	}
	return s.org.Fenced()
}
