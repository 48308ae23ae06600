package server

import (
	"context"
	"errors"
	"sync"
	"syscall"

	"github.com/nats-io/nats.go"
	"github.com/onair-live/onair/internal/bus"
	"github.com/onair-live/onair/internal/control"
	"github.com/onair-live/onair/internal/line"
	"github.com/onair-live/onair/internal/origin"
	"github.com/onair-live/onair/internal/telemetry"
)

// cluster is a node's part in a deployment of several: its NATS
// connection (the bus's), the control plane, and the loops that keep them.
// Zero on one process.
type cluster struct {
	nc       *nats.Conn
	plane    *control.Plane
	reports  chan control.Report // the latest second's report, for the sender
	stopOnce sync.Once
	stops    []func()
}

// joinCluster connects the control plane when the node is one of several.
// Origin and edge need the NATS bus; a whole node on NATS (--role all with
// --nats) publishes its program there and needs nothing more.
func (s *Server) joinCluster() error {
	nb, clustered := s.bus.(*bus.NATS)
	if s.cfg.Role == RoleAll {
		return nil
	}
	if !clustered {
		return errors.New("--role " + string(s.cfg.Role) + " needs the NATS bus: add --nats URL or --nats embedded")
	}
	if len(s.cfg.ClusterKey) < 16 {
		return errors.New("--role " + string(s.cfg.Role) + " needs the cluster key (--cluster-key, 16 bytes or more, the same on every node)")
	}
	s.nc = nb.Conn()
	p, err := control.Open(s.nc, control.Config{ClusterKey: s.cfg.ClusterKey, Log: s.log, Now: s.now})
	if err != nil {
		return err
	}
	s.plane = p
	if s.cfg.Role == RoleEdge {
		// One waiting line per space, kept by the origin; queue tokens and
		// challenges signed with the cluster's key hold at every edge.
		cl, err := line.NewClient(s.nc, line.ClientConfig{Key: s.cfg.ClusterKey, Fallback: s.cfg.Gate.Admit, Log: s.log})
		if err != nil {
			p.Close()
			return err
		}
		s.stops = append(s.stops, cl.Close)
		s.cfg.Gate.Line, s.cfg.Gate.TokenKey = cl, s.cfg.ClusterKey
	}
	s.reports = make(chan control.Report, 1)
	return nil
}

func (s *Server) leaveCluster() {
	s.stopOnce.Do(func() {
		for _, stop := range s.stops {
			stop()
		}
		if s.org != nil {
			s.org.Close()
		}
		if s.plane != nil {
			s.plane.Close()
		}
	})
}

// runCluster starts the role's loops: an origin publishes its spaces and
// keys and answers edges' requests; every node reports its load.
func (s *Server) runCluster(ctx context.Context) {
	if s.plane == nil {
		return
	}
	if s.cfg.Role == RoleOrigin {
		s.org.RunElection(ctx) // the origin's loops once it holds the lease
	}
	go s.sendReports(ctx)
}

// sendReports publishes each second's load report (made by the telemetry
// second, so both say the same) without holding up that second.
func (s *Server) sendReports(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-s.reports:
			if err := s.plane.Report(r); err != nil {
				s.log.Debug("cluster: load report", "err", err)
			}
		}
	}
}

// noteSecond turns a telemetry second into this node's load report.
func (s *Server) noteSecond(r *telemetry.Record) {
	if s.plane == nil {
		return
	}
	l := r.Listeners
	rep := control.Report{Node: s.nodeName(), Role: string(s.cfg.Role), PublicURL: s.cfg.PublicURL, At: s.now(),
		Listeners: map[string]int{"ogg": int(l.Ogg), "hls": int(l.HLS + l.LLHLS), "whep": int(l.WHEP)},
		CPU:       r.Node.CPU, OpenFiles: r.Node.OpenFiles, MaxFiles: maxFiles(),
		EgressBps: float64(r.Fanout.BytesOut+r.Fanout.HLSBytesOut) * 8, AdmitRate: r.Gate.AdmitRate,
		Capacity: r.Gate.Capacity, Healthy: s.busUp(), Spaces: map[string]int{}}
	if l, ok := s.cfg.Gate.Line.(interface{ Local() bool }); ok {
		rep.LineLocal = l.Local()
	}
	for _, id := range s.hub.Spaces() {
		if n := s.listeners(id); n > 0 {
			rep.Spaces[id] = int(n)
		}
	}
	if s.cfg.Role == RoleOrigin {
		rep.PublicURL = s.cfg.HostURL // where edges fetch replays
		if !s.Active() {
			rep.Role = origin.RoleStandby // not where edges fetch them
		}
	}
	select {
	case <-s.reports: // an unsent older one is stale now
	default:
	}
	s.reports <- rep
}

// notePeers puts in the second's record what the other nodes' load
// reports showed of their clocks: the evidence the verdict aligns the
// nodes' logs by.
func (s *Server) notePeers(r *telemetry.Record) {
	if s.plane == nil {
		return
	}
	for node, pc := range s.plane.TakeClocks() {
		if r.Peers == nil {
			r.Peers = map[string]telemetry.PeerClock{}
		}
		r.Peers[node] = telemetry.PeerClock{Reports: pc.Reports, MinMS: float64(pc.Min.Microseconds()) / 1000}
	}
}

// busUp reports whether the node can be fed: always on one process.
func (s *Server) busUp() bool {
	if s.nc == nil {
		return true
	}
	return s.nc.IsConnected()
}

func maxFiles() int {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) != nil {
		return 0
	}
	return int(rl.Cur)
}
