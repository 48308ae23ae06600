package server

import (
	"net/http"

	"github.com/onair-live/onair/internal/httpapi"
)

// handleHealth says whether the node can do its job: an edge that lost
// the bus cannot feed listeners, and says so (a load balancer drains it).
func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	if !s.busUp() {
		httpapi.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "no_bus", "role": string(s.cfg.Role),
			"error": "the program bus (NATS) is unreachable: joins are refused until it is back"})
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "role": string(s.cfg.Role)})
}
