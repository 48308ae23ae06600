package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/onair-live/onair/internal/forward"
	"github.com/onair-live/onair/internal/gate"
	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/line"
)

// What only an origin of a cluster runs: it publishes its spaces and
// ticket keys to the control plane and keeps the stage for every edge.

// spaceSyncEvery is how often the origin compares its spaces with what it
// last published: a change reaches every edge's cache within about this
// plus the KV watch's delay, well inside the second promised.
const spaceSyncEvery = 200 * time.Millisecond

func (s *Server) startOrigin(ctx context.Context) error {
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

// rotateKeys makes a new ticket signing key every period, keeping the three
// before it for tickets still in use (a ticket lives minutes; an HLS
// player's, hours: access.HLSGrace), and ships the keyring to the edges.
func (s *Server) rotateKeys(ctx context.Context, period time.Duration) {
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
func (s *Server) syncSpaces(ctx context.Context) {
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
// to the origin (forward.go): gated and ticket-checked there already, and
// answered here by the handlers one process uses.
func (s *Server) stageRoutes() http.Handler {
	mux := http.NewServeMux()
	s.stageHandlers(mux.HandleFunc)
	mux.HandleFunc("/", httpapi.NotFound)
	return mux
}

// stageHandlers registers the stage's public routes with reg.
func (s *Server) stageHandlers(reg func(string, func(http.ResponseWriter, *http.Request))) {
	reg("GET /stage/{file}", s.handleStage)
	reg("POST /api/v1/spaces/{id}/hands", s.handleRaise)
	reg("POST /api/v1/spaces/{id}/react", s.handleReact)
	reg("GET /api/v1/spaces/{id}/hands/{key}", s.handleHand)
	reg("DELETE /api/v1/spaces/{id}/hands/{key}", s.handleLower)
}
