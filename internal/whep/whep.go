// Package whep sends the program to listeners over WebRTC (WHEP): Opus RTP
// packetized once per space on a shared track, with a cap on sessions per node.
package whep

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/onair-live/onair/internal/bus"
	"github.com/onair-live/onair/internal/fanout"
	"github.com/onair-live/onair/internal/program"
	"github.com/onair-live/onair/internal/rtc"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// ErrFull means the node has as many WHEP listeners as it is allowed: the
// caller should steer the listener to HLS.
var ErrFull = errors.New("WebRTC listener capacity reached on this node")

var (
	metricSessions = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "onair_listeners", Help: fanout.ListenersHelp, ConstLabels: prometheus.Labels{"protocol": "whep"}})
	metricDropped = promauto.NewCounter(prometheus.CounterOpts{
		Name: "onair_whep_dropped_frames_total", Help: "Program frames a space's WHEP sender dropped because it fell behind."})
)

// Server holds the WHEP sessions and the per-space shared tracks of a node.
type Server struct {
	api      *webrtc.API
	bus      bus.Bus
	max      int
	log      *slog.Logger
	sessions *rtc.Sessions

	mu     sync.Mutex
	tracks map[string]*spaceTrack
}

// spaceTrack is one space's program as a WebRTC track: every listener's
// connection is bound to it, so a frame is packetized once for all.
type spaceTrack struct {
	track  *webrtc.TrackLocalStaticSample
	frames chan program.Frame
	cancel func()
	users  int
}

// New returns a WHEP server that admits at most max listeners.
func New(api *webrtc.API, b bus.Bus, max int, log *slog.Logger) *Server {
	return &Server{api: api, bus: b, max: max, log: log, sessions: rtc.NewSessions(), tracks: make(map[string]*spaceTrack)}
}

// Sessions is the registry of open WHEP sessions.
func (s *Server) Sessions() *rtc.Sessions { return s.sessions }

// Listeners counts the WHEP listeners of a space.
func (s *Server) Listeners(space string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tracks[space]; t != nil {
		return t.users
	}
	return 0
}

// Play answers a listener's offer with the space's program.
func (s *Server) Play(ctx context.Context, space, offer string) (string, *rtc.Session, error) {
	if err := rtc.CheckOffer(offer); err != nil {
		return "", nil, err
	}
	if s.sessions.Len() >= s.max {
		return "", nil, ErrFull
	}
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", nil, err
	}
	tr := s.acquire(space)
	release := func() { s.release(space, tr) }
	if _, err := pc.AddTrack(tr.track); err != nil {
		pc.Close()
		release()
		return "", nil, err
	}
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	answer, err := rtc.Answer(actx, pc, offer)
	if err != nil {
		pc.Close()
		release()
		return "", nil, err
	}
	metricSessions.Inc()
	sess := s.sessions.Add(space, pc, release, metricSessions.Dec)
	return answer, sess, nil
}

// acquire returns the space's shared track, subscribing on first use.
func (s *Server) acquire(space string) *spaceTrack {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tracks[space]
	if t == nil {
		track, _ := webrtc.NewTrackLocalStaticSample(rtc.OpusCodec, "audio", "onair-program")
		t = &spaceTrack{track: track, frames: make(chan program.Frame, 50)}
		t.cancel = s.bus.Subscribe(space, func(f program.Frame) {
			select {
			case t.frames <- f:
			default:
				metricDropped.Inc()
			}
		})
		go s.send(space, t)
		s.tracks[space] = t
	}
	t.users++
	return t
}

// send writes frames to the shared track off the bus goroutine, so the
// cost of many listeners never delays the mixer.
func (s *Server) send(space string, t *spaceTrack) {
	for f := range t.frames {
		if f.End {
			go s.sessions.CloseSpace(space)
			return
		}
		_ = t.track.WriteSample(media.Sample{Data: f.Packet, Duration: program.FrameDuration})
	}
}

func (s *Server) release(space string, t *spaceTrack) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.users--
	if t.users == 0 && s.tracks[space] == t {
		delete(s.tracks, space)
		t.cancel()
		close(t.frames)
	}
}
