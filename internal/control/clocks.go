package control

import (
	"sync"
	"time"
)

// PeerClock is what one second's load reports from a peer say of its
// clock: how many came live over the bus, and the least of (this node's
// clock on receipt − the report's At, by the peer's clock). That is the
// report's travel time plus how far this clock is ahead of the peer's; two
// nodes' figures for each other bound the offset (internal/verdict).
type PeerClock struct {
	Reports int64
	Min     time.Duration
}

// maxPeers bounds the peers tallied in a second (only MAC-verified
// reports of the cluster's own nodes are, but a cluster may be large).
const maxPeers = 256

// clockTally gathers PeerClocks until the second is taken.
type clockTally struct {
	mu    sync.Mutex
	self  string // this node's own reports come back from NATS: not a peer
	peers map[string]PeerClock
}

func (c *clockTally) note(node string, at, recv time.Time) {
	d := recv.Sub(at)
	c.mu.Lock()
	defer c.mu.Unlock()
	if node == c.self {
		return
	}
	pc, ok := c.peers[node]
	if !ok && len(c.peers) >= maxPeers {
		return
	}
	if c.peers == nil {
		c.peers = map[string]PeerClock{}
	}
	if !ok || d < pc.Min {
		pc.Min = d
	}
	pc.Reports++
	c.peers[node] = pc
}

// TakeClocks returns the peers' clocks as their live load reports showed
// them since the last call (nil if none came), and starts over.
func (p *Plane) TakeClocks() map[string]PeerClock {
	p.clocks.mu.Lock()
	defer p.clocks.mu.Unlock()
	out := p.clocks.peers
	p.clocks.peers = nil
	return out
}

// now is the node's clock (Config.Now, else time.Now).
func (p *Plane) now() time.Time {
	if p.cfg.Now != nil {
		return p.cfg.Now()
	}
	return time.Now()
}
