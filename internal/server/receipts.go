package server

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/onair-live/onair/internal/space"
	"github.com/onair-live/onair/internal/telemetry"
)

// receiptsDir is where a node keeps its receipts: the log, its key, and
// the filter of networks seen listening in earlier shows.
func (s *Server) receiptsDir() string { return filepath.Join(s.cfg.DataDir, "receipts") }

// openTelemetry makes the node's collector before anything that counts
// into it (the gate, the fan-out, the spaces) is made.
func (s *Server) openTelemetry() error {
	seen, err := telemetry.OpenSeenBefore(filepath.Join(s.receiptsDir(), "seen-prefixes.bloom"))
	if err != nil {
		return err
	}
	s.tel = telemetry.New(s.nodeName(), s.sink, seen, s.log)
	s.cfg.Gate.Telemetry = s.tel
	return nil
}

// nodeName names the node in its records: --node-name, else the host name
// and public port.
func (s *Server) nodeName() string {
	if s.cfg.NodeName != "" {
		return s.cfg.NodeName
	}
	host, _ := os.Hostname()
	_, port, _ := net.SplitHostPort(s.cfg.Listen)
	return strings.TrimSuffix(host+":"+port, ":")
}

// fillSecond adds the node's state to a second's record: listeners by
// protocol, the fan-out's counters, the gate.
func (s *Server) fillSecond(r *telemetry.Record) {
	st := s.hub.Stats()
	oggs, hls, ll := s.hub.Counts()
	whep := int64(s.whep.Sessions().Len())
	l := &r.Listeners
	l.Ogg, l.HLS, l.LLHLS, l.WHEP = oggs, hls, ll, whep
	l.Total = oggs + hls + ll + whep
	l.Arrived = st.OggArrived.Swap(0) + st.HLSArrived.Swap(0)
	l.Departed = st.OggDeparted.Swap(0) + st.HLSDeparted.Swap(0)
	// WebRTC sessions come few and slowly: their net change is counted.
	if d := whep - s.lastWHEP.Swap(whep); d > 0 {
		l.Arrived += d
	} else {
		l.Departed -= d
	}
	r.Fanout = telemetry.Fanout{BytesOut: st.Bytes.Swap(0), HLSBytesOut: st.HLSBytes.Swap(0), Lag: st.Lag.Take(),
		StallsCut: st.Cut.Swap(0), SkippedPages: st.Skipped.Swap(0)}
	g := s.gate.Status()
	why, changed := s.gate.Reason()
	r.Gate = telemetry.GateState{Mode: string(g.Mode), UnderAttack: g.UnderAttack, Reason: why, Changed: changed,
		AdmitRate: g.AdmitRate, Waiting: g.Waiting, Difficulty: g.Difficulty, Capacity: g.Capacity}
}

// showEvent logs a show event; the end of a show also makes its listeners'
// networks "seen before" for later shows.
func (s *Server) showEvent(e space.Event) {
	ev := telemetry.Event{TMS: e.At.UnixMilli(), Space: e.Space, Event: e.Name, Speaker: e.Speaker, Detail: e.Detail}
	if !e.Scheduled.IsZero() {
		ev.ScheduledMS = e.Scheduled.UnixMilli()
		d := e.At.Sub(e.Scheduled).Milliseconds()
		ev.DelayMS = &d
	}
	s.tel.Event(ev)
	if e.Name == "end" {
		s.tel.Sources.EndShow(e.Space)
		if err := s.tel.Sources.Seen().Commit(); err != nil {
			s.log.Error("receipts: seen-before filter", "err", err)
		}
	}
}

// runTelemetry closes a record every second until the server stops.
func (s *Server) runTelemetry(ctx context.Context) {
	s.tel.OnSecond(s.fillSecond)
	s.tel.Run(ctx)
}
