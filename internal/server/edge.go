package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/onair-live/onair/internal/forward"
	"github.com/onair-live/onair/internal/httpapi"
)

// What only an edge runs: it keeps no store; spaces and ticket keys come
// from the control plane, the stage from the origin (forward.go), replays
// through the origin's host port.

// edgeReady bounds an edge's wait at start for the cluster's keys: an
// origin must have published them once (they persist in the KV).
const edgeReady = 10 * time.Second

func (s *Server) openEdge() error {
	ctx, cancel := context.WithTimeout(context.Background(), edgeReady)
	defer cancel()
	if err := s.plane.WaitReady(ctx); err != nil {
		return errors.New("edge: no ticket keys in the cluster's control plane after 10 s: start the origin first (" + err.Error() + ")")
	}
	s.SetKeys(s.plane.Keys())
	s.plane.OnKeys(s.SetKeys)
	s.Dir = s.plane
	return nil
}

// onOrigin serves a stage route here on a node that keeps the stage, and
// hands it to the origin on an edge.
func (s *Server) onOrigin(h func(http.ResponseWriter, *http.Request)) func(http.ResponseWriter, *http.Request) {
	if s.cfg.Role.stage() {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) { forward.Send(s.nc, w, r) }
}

// replayHandler serves replays from the recording here, or on an edge from
// the origin that made it (its host port, which serves them to edges).
func (s *Server) replayHandler(h func(http.ResponseWriter, *http.Request)) func(http.ResponseWriter, *http.Request) {
	if s.cfg.Role.stage() {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
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
}
