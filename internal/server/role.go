package server

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Role is what a node does in a deployment.
type Role string

// The roles. One process is RoleAll; past one machine, one active origin
// (and standbys) feeds many edges over NATS.
const (
	// RoleAll is the whole show in one process: host and public ports.
	RoleAll Role = "all"
	// RoleOrigin has the host port (spaces, ingest, WHIP, studio, control),
	// mixes and records, and keeps the stage; it never takes listeners.
	RoleOrigin Role = "origin"
	// RoleEdge has the public port (gate, join, Ogg, LL-HLS, WHEP, pages,
	// replay), fed by the origin over the bus; its other port serves only
	// /metrics and /healthz.
	RoleEdge Role = "edge"
)

// ParseRole reads a --role value.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAll, RoleOrigin, RoleEdge:
		return r, nil
	case "":
		return RoleAll, nil
	}
	return "", fmt.Errorf("role %q: want all, origin or edge", s)
}

// listeners reports whether the role takes listeners (a public port).
func (r Role) listeners() bool { return r != RoleOrigin }

// stage reports whether the role keeps spaces, the mix and the recording.
func (r Role) stage() bool { return r != RoleEdge }

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
	s.acc.Dir = s.plane
	return nil
}
