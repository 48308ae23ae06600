package control

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Report is one node's registration and load, sent every second.
type Report struct {
	Node      string         `json:"node"`
	Role      string         `json:"role"`
	PublicURL string         `json:"public_url"`
	At        time.Time      `json:"at"`
	Listeners map[string]int `json:"listeners"` // by protocol: ogg, hls, whep
	CPU       float64        `json:"cpu"`       // 0..1 of the node's cores
	OpenFiles int            `json:"open_files"`
	MaxFiles  int            `json:"max_files"`
	EgressBps float64        `json:"egress_bps"`
	AdmitRate float64        `json:"admit_rate"` // the node's admission rate now (joins/s)
	Capacity  int            `json:"capacity"`   // listeners it takes at most (0: unbounded)
	Healthy   bool           `json:"healthy"`    // false: connected but refusing joins (e.g. no bus)
	// LineLocal: the edge admits from its own waiting line now (the
	// keeper's was silent), so its AdmitRate is not the shared lines'.
	LineLocal bool `json:"line_local,omitempty"`
	// Spaces counts the node's listeners per space (every protocol): the
	// origin's stage documents add them up into the audience's size.
	Spaces map[string]int `json:"spaces,omitempty"`
}

// Total is the node's listeners over every protocol.
func (r Report) Total() int {
	n := 0
	for _, c := range r.Listeners {
		n += c
	}
	return n
}

// check refuses a report no node would send.
func (r Report) check() error {
	finite := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) && f >= 0 }
	switch {
	case !validName(r.Node):
		return fmt.Errorf("node name %q: want 1 to 64 of a-z A-Z 0-9 - _", r.Node)
	case r.At.IsZero():
		return fmt.Errorf("node %s: report without a time", r.Node)
	case !finite(r.CPU) || !finite(r.EgressBps) || !finite(r.AdmitRate):
		return fmt.Errorf("node %s: cpu, egress or admit rate not a finite non-negative number", r.Node)
	case r.OpenFiles < 0 || r.MaxFiles < 0 || r.Capacity < 0:
		return fmt.Errorf("node %s: negative open files, max files or capacity", r.Node)
	case len(r.Listeners) > 16 || len(r.PublicURL) > 2048 || len(r.Role) > 16:
		return fmt.Errorf("node %s: report too large", r.Node)
	}
	for proto, n := range r.Listeners {
		if n < 0 || len(proto) > 16 {
			return fmt.Errorf("node %s: %d %q listeners", r.Node, n, proto)
		}
	}
	return nil
}

// seenReport is a report and when this node took it in.
type seenReport struct {
	r    Report
	seen time.Time
}

// Report publishes r (At now if zero), signed with the cluster key: on
// core NATS at once, and into the nodes bucket in the background for
// nodes that start later. An error means nobody will see it.
func (p *Plane) Report(r Report) error {
	if r.At.IsZero() {
		r.At = p.now()
	}
	if err := r.check(); err != nil {
		return fmt.Errorf("control: %w", err)
	}
	data, err := p.seal.wrap(BucketNodes, r.Node, r, false)
	if err != nil {
		return err
	}
	p.clocks.mu.Lock()
	p.clocks.self = r.Node
	p.clocks.mu.Unlock()
	p.applyReport(r.Node, data, time.Time{})
	if err := p.nc.Publish(nodeSubject+r.Node, data); err != nil {
		return fmt.Errorf("control: publish report: %w", err)
	}
	if p.reporting.CompareAndSwap(false, true) { // one write at a time; a slow one skips the next
		go func() {
			defer p.reporting.Store(false)
			ctx, cancel := context.WithTimeout(context.Background(), p.cfg.NodeTTL)
			defer cancel()
			if _, err := p.nodes.Put(ctx, r.Node, data); err != nil {
				p.log.Debug("control: load report not written to the bucket", "node", r.Node, "err", err)
			}
		}()
	}
	return nil
}

// applyReport takes in a report from the subject (received at recv) or
// the bucket (recv zero): verified, and newer than the one held for the
// node (the same report comes by both ways; an old one replayed does not
// bring a node back). A live report's clock is tallied even when it is
// stale: a peer whose clock is off is what the tally is for.
func (p *Plane) applyReport(key string, data []byte, recv time.Time) {
	var r Report
	err := p.seal.unwrap(BucketNodes, key, data, &r, false)
	if err == nil && r.Node != key {
		err = drop(reasonForeign, "report of %q under %q", r.Node, key)
	}
	if err == nil {
		if err = r.check(); err != nil {
			err = drop(reasonMalformed, "%v", err)
		}
	}
	if err != nil {
		p.dropEntry(BucketNodes+"/"+key, err)
		return
	}
	if !recv.IsZero() {
		p.clocks.note(r.Node, r.At, recv)
	}
	now := p.now()
	if p.stale(r, now) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.reports[key]; ok && !r.At.After(old.r.At) {
		return
	}
	p.reports[key] = seenReport{r: r, seen: now}
}

// stale: a report made longer than the TTL ago, or as far in the future.
func (p *Plane) stale(r Report, now time.Time) bool {
	age := now.Sub(r.At)
	return age >= p.cfg.NodeTTL || age <= -p.cfg.NodeTTL
}

// Reports are the fresh reports, MAC-verified and not expired, sorted by
// node: a report expires NodeTTL after it was made or taken in, whichever
// comes first.
func (p *Plane) Reports() []Report {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Report, 0, len(p.reports))
	for node, s := range p.reports {
		if p.stale(s.r, now) || now.Sub(s.seen) >= p.cfg.NodeTTL {
			delete(p.reports, node)
			continue
		}
		r := s.r
		r.Listeners = maps.Clone(r.Listeners)
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Report) int { return strings.Compare(a.Node, b.Node) })
	return out
}
