// Package rtc sets up pion/webrtc for onair (Opus only, quick ICE failure
// detection) and keeps the WebRTC sessions that WHIP and WHEP open.
package rtc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// Config is the node's WebRTC network setup.
type Config struct {
	// UDPPortMin and UDPPortMax bound the ports ICE uses (0: any).
	UDPPortMin, UDPPortMax uint16
	// PublicIPs are announced as host candidates instead of the local ones
	// (a node behind 1:1 NAT).
	PublicIPs []string
}

// OpusCodec is the one codec onair negotiates.
var OpusCodec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
	SDPFmtpLine: "minptime=10;useinbandfec=1"}

// NewAPI returns a pion API that speaks Opus only, with pion's default
// interceptors (NACK, RTCP reports) and ICE timeouts short enough that a
// peer that vanishes is released within seconds.
func NewAPI(cfg Config) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: OpusCodec, PayloadType: 111},
		webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetICETimeouts(2*time.Second, 4*time.Second, 500*time.Millisecond)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	se.SetIncludeLoopbackCandidate(true)
	if cfg.UDPPortMin > 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.UDPPortMin, cfg.UDPPortMax); err != nil {
			return nil, err
		}
	}
	if len(cfg.PublicIPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{External: cfg.PublicIPs,
			AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace}); err != nil {
			return nil, err
		}
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// ErrBadOffer is an offer that is not usable SDP, or has no audio.
var ErrBadOffer = errors.New("bad SDP offer")

// CheckOffer rejects offers that cannot work before any state is made:
// not SDP, or no audio m-line.
func CheckOffer(sdp string) error {
	if !strings.HasPrefix(strings.TrimSpace(sdp), "v=0") {
		return fmt.Errorf("%w: not an SDP session description", ErrBadOffer)
	}
	if !strings.Contains(sdp, "\nm=audio ") {
		return fmt.Errorf("%w: no audio m-line", ErrBadOffer)
	}
	return nil
}

// AudioCanReceive reports whether the offer's first audio section accepts
// media from us: sendrecv (the default) or recvonly.
func AudioCanReceive(sdp string) bool {
	_, audio, ok := strings.Cut(sdp, "\nm=audio ")
	if !ok {
		return false
	}
	if i := strings.Index(audio, "\nm="); i >= 0 {
		audio = audio[:i]
	}
	return !strings.Contains(audio, "a=sendonly") && !strings.Contains(audio, "a=inactive")
}

// Answer applies the offer and returns the complete answer, ICE candidates
// included (WHIP/WHEP without trickle), within ctx.
func Answer(ctx context.Context, pc *webrtc.PeerConnection, offer string) (string, error) {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	return AnswerLocal(ctx, pc)
}

// AnswerLocal creates and sets the local answer to an applied offer and
// returns it with every ICE candidate gathered, within ctx.
func AnswerLocal(ctx context.Context, pc *webrtc.PeerConnection) (string, error) {
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return "", err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return pc.LocalDescription().SDP, nil
}

// Session is one open WebRTC session.
type Session struct {
	ID, Space string
	PC        *webrtc.PeerConnection
	closeOnce sync.Once
	onClose   []func()
	done      chan struct{}
}

// Done is closed when the session has been closed and released.
func (s *Session) Done() <-chan struct{} { return s.done }

// Sessions registers sessions by id and closes them; a session whose peer
// connection fails or closes removes itself.
type Sessions struct {
	mu sync.Mutex
	m  map[string]*Session
}

// NewSessions returns an empty registry.
func NewSessions() *Sessions { return &Sessions{m: make(map[string]*Session)} }

// Add registers a session for pc; onClose runs once when it ends.
func (r *Sessions) Add(space string, pc *webrtc.PeerConnection, onClose ...func()) *Session {
	s := &Session{ID: newID(), Space: space, PC: pc, onClose: onClose, done: make(chan struct{})}
	r.mu.Lock()
	r.m[s.ID] = s
	r.mu.Unlock()
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
			go r.Close(s.ID)
		}
	})
	return s
}

// Get returns the session with id in space, or nil.
func (r *Sessions) Get(space, id string) *Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.m[id]; s != nil && s.Space == space {
		return s
	}
	return nil
}

// Len is the number of open sessions.
func (r *Sessions) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.m)
}

// Close ends the session: the peer connection is closed and its hooks run.
// It reports whether the session was open.
func (r *Sessions) Close(id string) bool {
	r.mu.Lock()
	s := r.m[id]
	delete(r.m, id)
	r.mu.Unlock()
	if s == nil {
		return false
	}
	s.closeOnce.Do(func() {
		_ = s.PC.Close()
		for _, fn := range s.onClose {
			fn()
		}
		close(s.done)
	})
	return true
}

// CloseSpace ends every session of a space (the show ended).
func (r *Sessions) CloseSpace(space string) {
	for _, id := range r.ids(space) {
		r.Close(id)
	}
}

// CloseAll ends every session.
func (r *Sessions) CloseAll() {
	for _, id := range r.ids("") {
		r.Close(id)
	}
}

func (r *Sessions) ids(space string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for id, s := range r.m {
		if space == "" || s.Space == space {
			out = append(out, id)
		}
	}
	return out
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
