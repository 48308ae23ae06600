package edge

import (
	"net/http"
	"strings"
	"time"

	"github.com/onair-live/onair/internal/control"
	"github.com/onair-live/onair/internal/httpapi"
)

// The roles load reports name (server.Role): the edges a join may be sent
// to, and the origin that serves replays to edges.
const (
	roleEdge   = "edge"
	roleOrigin = "origin"
)

// edgeFresh is how recent an edge's load report must be for joins to be
// sent to it.
const edgeFresh = 2 * time.Second

// edges are the fresh reports of edges that take listeners now: a report
// comes every second, so one 2 s old is from an edge that may be gone
// (the plane keeps them 3 s, for the audience's count).
func (s *Edge) edges() []control.Report {
	var out []control.Report
	fresh := s.now().Add(-edgeFresh)
	for _, r := range s.plane.Reports() {
		if r.Role == roleEdge && r.Healthy && r.PublicURL != "" && r.At.After(fresh) {
			out = append(out, r)
		}
	}
	return out
}

// mediaBase chooses the edge a newcomer's media URLs point at: the one
// with the most headroom (control.Choose), this node when nothing is known
// of the others; alternates are the other edges, best first.
//
// A renewal stays here: it is a listener whose edge went away, and this
// edge is alive, while the others' reports may still show the dead one.
func (s *Edge) mediaBase(renewal bool) (base, node string, alternates []string) {
	base, node = s.cfg.PublicURL, s.nodeName()
	if s.plane == nil {
		return base, node, nil
	}
	s.rndMu.Lock()
	best, alts, ok := control.Choose(s.edges(), s.rnd)
	s.rndMu.Unlock()
	if !ok {
		return base, node, nil
	}
	if renewal {
		alternates = make([]string, 0, len(alts)+1)
		for _, r := range append([]control.Report{best}, alts...) {
			if r.Node != node {
				alternates = append(alternates, r.PublicURL)
			}
		}
		return base, node, alternates
	}
	for _, a := range alts {
		alternates = append(alternates, a.PublicURL)
	}
	metricRouted.WithLabelValues(map[bool]string{true: "self", false: "other"}[best.Node == node]).Inc()
	return strings.TrimRight(best.PublicURL, "/"), best.Node, alternates
}

// origins are the fresh reports of origins (their host URLs).
func (s *Edge) originURL() string {
	for _, r := range s.plane.Reports() {
		if r.Role == roleOrigin && r.PublicURL != "" {
			return r.PublicURL
		}
	}
	return ""
}

// refuseUnfed answers 503 when an edge has lost the bus: it could admit
// listeners but not feed them.
func (s *Edge) refuseUnfed(w http.ResponseWriter) bool {
	if s.busUp() {
		return false
	}
	w.Header().Set("Retry-After", "2")
	httpapi.WriteError(w, http.StatusServiceUnavailable, "no_bus", "this edge has lost the program bus (NATS); try another edge or again shortly")
	return true
}
