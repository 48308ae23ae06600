// Package whip takes speakers in over WebRTC (WHIP, RFC 9725): their Opus RTP
// enters the space's mixer, and each hears a mix-minus on the same connection.
package whip

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/onair-live/onair/internal/mix"
	"github.com/onair-live/onair/internal/ogg"
	"github.com/onair-live/onair/internal/program"
	"github.com/onair-live/onair/internal/rtc"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// Attach adds a speaker to a space's mixer with the given options.
type Attach func(opts mix.SpeakerOptions) (*mix.Speaker, error)

// Server holds the WHIP sessions of a node.
type Server struct {
	api      *webrtc.API
	sessions *rtc.Sessions
	log      *slog.Logger
}

// New returns a WHIP server on api.
func New(api *webrtc.API, log *slog.Logger) *Server {
	return &Server{api: api, sessions: rtc.NewSessions(), log: log}
}

// Sessions is the registry of open WHIP sessions.
func (s *Server) Sessions() *rtc.Sessions { return s.sessions }

// Publish answers a speaker's offer: the speaker's audio is mixed from the
// first packet, and the mix-minus is sent back when the offer can receive.
func (s *Server) Publish(ctx context.Context, space, name, offer string, attach Attach) (string, *rtc.Session, error) {
	if err := rtc.CheckOffer(offer); err != nil {
		return "", nil, err
	}
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", nil, err
	}
	ret, err := webrtc.NewTrackLocalStaticSample(rtc.OpusCodec, "audio", "onair-mix-minus")
	if err != nil {
		pc.Close()
		return "", nil, err
	}
	spk, err := attach(mix.SpeakerOptions{LowLatency: true, Return: func(pkt []byte) {
		_ = ret.WriteSample(media.Sample{Data: pkt, Duration: program.FrameDuration})
	}})
	if err != nil {
		pc.Close()
		return "", nil, err
	}
	rctx, cancel := context.WithCancel(context.Background())
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() == webrtc.RTPCodecTypeAudio {
			go s.read(rctx, tr, spk)
		}
	})
	answer, err := s.negotiate(ctx, pc, offer, ret)
	if err != nil {
		cancel()
		spk.Close()
		pc.Close()
		return "", nil, err
	}
	sess := s.sessions.Add(space, pc, cancel, spk.Close)
	go func() { // replaced by a newer connection, or the show ended
		select {
		case <-spk.Done():
			s.sessions.Close(sess.ID)
		case <-sess.Done():
		}
	}()
	return answer, sess, nil
}

func (s *Server) negotiate(ctx context.Context, pc *webrtc.PeerConnection, offer string, ret webrtc.TrackLocal) (string, error) {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", errors.Join(rtc.ErrBadOffer, err)
	}
	// The return track rides on the offer's audio transceiver when the
	// client can receive (a browser's sendrecv); a send-only encoder just
	// does not get it.
	if rtc.AudioCanReceive(offer) {
		if _, err := pc.AddTrack(ret); err != nil {
			return "", err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return rtc.AnswerLocal(ctx, pc)
}

// maxConceal bounds the loss a gap in RTP timestamps is concealed for: a
// longer gap is a pause (DTX, a muted mic), and the jitter buffer rebuffers.
const maxConceal = 5 * program.FrameSamples

// read pushes the speaker's RTP payloads into the mixer, concealing short
// losses (a nil packet decodes as packet-loss concealment).
func (s *Server) read(ctx context.Context, tr *webrtc.TrackRemote, spk *mix.Speaker) {
	var next uint32 // RTP timestamp expected next
	var started bool
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		samples, err := ogg.PacketSamples(pkt.Payload)
		if err != nil || !fresh(pkt, next, started) {
			continue // malformed, duplicate or late: drop
		}
		if started {
			if gap := pkt.Timestamp - next; gap > 0 && gap <= maxConceal {
				for range gap / program.FrameSamples {
					if spk.Push(ctx, nil, program.FrameSamples) != nil {
						return
					}
				}
			}
		}
		started, next = true, pkt.Timestamp+uint32(samples)
		if err := spk.Push(ctx, pkt.Payload, samples); err != nil {
			return
		}
	}
}

// fresh reports whether pkt is not older than the expected timestamp
// (serial-number arithmetic, so wrap-around is fine).
func fresh(pkt *rtp.Packet, next uint32, started bool) bool {
	return !started || int32(pkt.Timestamp-next) >= 0
}
