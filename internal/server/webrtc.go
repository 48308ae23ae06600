package server

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/onair-live/onair/internal/mix"
	"github.com/onair-live/onair/internal/rtc"
	"github.com/onair-live/onair/internal/space"
	"github.com/onair-live/onair/internal/store"
	"github.com/onair-live/onair/internal/whep"
)

// maxSDP bounds an offer: real ones are a few kilobytes.
const maxSDP = 64 << 10

// readOffer reads an application/sdp body: 415 for another type, 413 when
// too large.
func readOffer(w http.ResponseWriter, r *http.Request) (string, bool) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/sdp" {
		writeError(w, http.StatusUnsupportedMediaType, "bad_content_type", "send the SDP offer as Content-Type: application/sdp")
		return "", false
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSDP))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "SDP offer over 64 KiB")
		return "", false
	}
	return string(b), true
}

func writeAnswer(w http.ResponseWriter, location, answer string) {
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", location)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// negotiationError answers a failed offer.
func negotiationError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, rtc.ErrBadOffer):
		writeError(w, http.StatusBadRequest, "bad_sdp", err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusServiceUnavailable, "ice", "could not gather ICE candidates in time")
	default:
		writeError(w, http.StatusInternalServerError, "webrtc", err.Error())
	}
}

// handleWHIP takes a speaker in over WebRTC (RFC 9725).
func (s *Server) handleWHIP(w http.ResponseWriter, r *http.Request) {
	sp, c, name, ok := s.requireSpeaker(w, r)
	if !ok {
		return
	}
	if sp.State == store.Ended {
		writeError(w, http.StatusConflict, "ended", "the space has ended")
		return
	}
	offer, ok := readOffer(w, r)
	if !ok {
		return
	}
	attach := func(o mix.SpeakerOptions) (*mix.Speaker, error) { return s.attachSpeaker(sp, c, name, o) }
	answer, sess, err := s.whip.Publish(r.Context(), sp.ID, name, offer, attach)
	switch {
	case errors.Is(err, space.ErrEnded), errors.Is(err, mix.ErrFull), errors.Is(err, errSeatTaken), errors.Is(err, errRevoked):
		speakerError(w, err)
	case err != nil:
		negotiationError(w, err)
	default:
		s.log.Info("WHIP speaker connected", "space", sp.ID, "speaker", name, "session", sess.ID)
		writeAnswer(w, "/whip/"+sp.ID+"/"+sess.ID, answer)
	}
}

// handleWHIPDelete ends a speaker's WHIP session: any token that may speak
// (the session id, known only to its speaker and the hosts, is the capability).
func (s *Server) handleWHIPDelete(w http.ResponseWriter, r *http.Request) {
	sp, _, ok := s.requireRole(w, r, store.RoleSpeaker, "leave the stage")
	if !ok {
		return
	}
	sess := s.whip.Sessions().Get(sp.ID, r.PathValue("session"))
	if sess == nil || !s.whip.Sessions().Close(sess.ID) {
		writeError(w, http.StatusNotFound, "no_session", "no such WHIP session")
		return
	}
	w.WriteHeader(http.StatusOK)
}

// handleNoTrickle answers PATCH: offers must carry their candidates.
func (s *Server) handleNoTrickle(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Allow", "DELETE")
	writeError(w, http.StatusMethodNotAllowed, "no_trickle", "trickle ICE is not supported: send an offer with all candidates")
}

// handleWHEP sends the program to a WebRTC listener (WHEP).
func (s *Server) handleWHEP(w http.ResponseWriter, r *http.Request) {
	whepCORS(w)
	id := r.PathValue("id")
	if _, ok := s.checkTicket(w, r, id); !ok {
		return
	}
	sp, ok := s.loadSpace(w, r)
	if !ok {
		return
	}
	if sp.State != store.Live {
		writeError(w, http.StatusConflict, string(sp.State), "WebRTC listening is open while the show is live (state: "+string(sp.State)+")")
		return
	}
	offer, ok := readOffer(w, r)
	if !ok {
		return
	}
	answer, sess, err := s.whep.Play(r.Context(), sp.ID, offer)
	switch {
	case errors.Is(err, whep.ErrFull):
		s.gate.CountFrom(r, "whep", "rejected", "capacity")
		w.Header().Set("Retry-After", "30")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"code": "whep_full",
			"error": "WebRTC listening is full on this node; listen over HLS instead",
			"hls":   s.cfg.PublicURL + "/hls/" + sp.ID + "/index.m3u8"})
	case err != nil:
		negotiationError(w, err)
	default:
		writeAnswer(w, "/whep/"+sp.ID+"/"+sess.ID, answer)
	}
}

// handleWHEPDelete ends a WHEP session; its id is the capability.
func (s *Server) handleWHEPDelete(w http.ResponseWriter, r *http.Request) {
	whepCORS(w)
	sess := s.whep.Sessions().Get(r.PathValue("id"), r.PathValue("session"))
	if sess == nil || !s.whep.Sessions().Close(sess.ID) {
		writeError(w, http.StatusNotFound, "no_session", "no such WHEP session")
		return
	}
	w.WriteHeader(http.StatusOK)
}

// handleWHEPOptions answers CORS preflights of players on other origins.
func (s *Server) handleWHEPOptions(w http.ResponseWriter, _ *http.Request) {
	whepCORS(w)
	w.Header().Set("Access-Control-Allow-Methods", "POST, DELETE, PATCH, OPTIONS")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
	w.Header().Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

func whepCORS(w http.ResponseWriter) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Expose-Headers", "Location")
}
