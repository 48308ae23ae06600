package server

import (
	"fmt"
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

// roleStandby is how a standing-by origin names itself in load reports.
const roleStandby = "standby"

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
