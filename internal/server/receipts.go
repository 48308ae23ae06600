package server

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/onair-live/onair/internal/receipts"
	"github.com/onair-live/onair/internal/space"
	"github.com/onair-live/onair/internal/telemetry"
)

// receiptsDir is where a node keeps its receipts: the log, its key, and
// the filter of networks seen listening in earlier shows.
func (s *Server) receiptsDir() string { return filepath.Join(s.cfg.DataDir, "receipts") }

// openTelemetry opens the receipts log and makes the node's collector,
// before anything that counts into it (the gate, the fan-out, the spaces).
func (s *Server) openTelemetry() error {
	seen, err := telemetry.OpenSeenBefore(filepath.Join(s.receiptsDir(), "seen-prefixes.bloom"))
	if err != nil {
		return err
	}
	var sink telemetry.Sink
	if !s.cfg.NoReceipts {
		if s.rlog, err = receipts.Open(s.receiptsDir(), s.origin(), s.log); err != nil {
			return fmt.Errorf("receipts log: %w", err)
		}
		for _, w := range s.cfg.Witnesses {
			if err := s.rlog.AddWitness(w.URL, w.Key); err != nil {
				s.rlog.Close()
				return fmt.Errorf("receipts witness %s: %w", w.URL, err)
			}
		}
		sink = s.rlog
	}
	s.tel = telemetry.New(s.nodeName(), sink, seen, s.log)
	s.tel.Now = s.now
	s.cfg.Gate.Telemetry = s.tel
	return nil
}

// now is the node's clock as its receipts and load reports tell it: the
// system's, shifted by Config.ClockOffset in tests.
func (s *Server) now() time.Time { return time.Now().Add(s.cfg.ClockOffset) }

// Witness is an independent party that cosigns this node's checkpoints.
type Witness struct{ URL, Key string }

// ReceiptsKey is the verifier key of the node's receipts log ("" when the
// log is off): anyone checks its checkpoints with it.
func (s *Server) ReceiptsKey() string {
	if s.rlog == nil {
		return ""
	}
	return s.rlog.VerifierKey()
}

// origin is the name in the log's checkpoints: onair/NODE, with anything a
// signed-note key name cannot hold (spaces, plus signs) made a dash.
func (s *Server) origin() string {
	return "onair/" + strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '+' {
			return '-'
		}
		return r
	}, s.nodeName())
}

// nodeName names the node in its records: --node-name, else the host name
// and public port.
func (s *Server) nodeName() string {
	if s.cfg.NodeName != "" {
		return s.cfg.NodeName
	}
	host, _ := os.Hostname()
	listen := s.cfg.Listen
	if !s.cfg.Role.listeners() { // an origin has no public port
		listen = s.cfg.HostListen
	}
	_, port, _ := net.SplitHostPort(listen)
	if port == "" || port == "0" { // a port picked at each start would rename the log
		return host
	}
	return host + ":" + port
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
	r.Mixer = telemetry.Mixer{Late: s.mixStats.Late.Take(), Skipped: s.mixStats.Skipped.Swap(0)}
	g := s.gate.Status()
	why, changed := s.gate.Reason()
	r.Gate = telemetry.GateState{Mode: string(g.Mode), UnderAttack: g.UnderAttack, Reason: why, Changed: changed,
		AdmitRate: g.AdmitRate, Waiting: g.Waiting, Difficulty: g.Difficulty, Capacity: g.Capacity}
	s.notePeers(r)
	s.noteSecond(r)
}

// showEvent logs a show event; the end of a show also makes its listeners'
// networks "seen before" for later shows.
func (s *Server) showEvent(e space.Event) {
	ev := telemetry.Event{TMS: e.At.Add(s.cfg.ClockOffset).UnixMilli(), Space: e.Space, Event: e.Name, Speaker: e.Speaker, Detail: e.Detail}
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
		s.checkpoint() // the show's end is signed at once, not up to 10 s later
	}
}

func (s *Server) checkpoint() {
	if s.rlog == nil {
		return
	}
	if err := s.rlog.Checkpoint(); err != nil {
		s.log.Error("receipts: checkpoint", "err", err)
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.rlog.PollWitnesses(ctx)
	}()
}

// runTelemetry closes a record every second until the server stops, and
// checkpoints the log every 10 s.
func (s *Server) runTelemetry(ctx context.Context) {
	s.tel.OnSecond(s.fillSecond)
	if s.rlog != nil {
		go s.rlog.Run(ctx)
	}
	s.tel.Run(ctx)
}

// closeLog closes the log of a server that failed to start.
func (s *Server) closeLog() {
	if s.rlog != nil {
		_ = s.rlog.Close()
	}
}

// closeReceipts records the last, partial second and signs the final
// checkpoint.
func (s *Server) closeReceipts() error {
	s.tel.Second(s.now().Unix())
	if s.rlog == nil {
		return nil
	}
	return s.rlog.Close()
}
